#include <criterion/criterion.h>
#include <string.h>

#include "runtime/env.h"
#include "runtime/report.h"

static const char *get(char **env, const char *key)
{
	size_t n = strlen(key);

	for (char **e = env; *e; e++)
		if (strncmp(*e, key, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

Test(env, only_the_curated_keys_pass)
{
	char *caller[] = {"PATH=/usr/bin", "HOME=/root", "DATABASE_URL=postgres://secret",
			  "SIGNING_KEY=xyz", "LANG=C.UTF-8", "LD_PRELOAD=/evil.so", NULL};
	char **env = env_curate(caller, NULL, 0, true, NULL, NULL, NULL);

	cr_assert_str_eq(get(env, "PATH"), "/usr/bin");
	cr_assert_str_eq(get(env, "HOME"), "/root");
	cr_assert_str_eq(get(env, "LANG"), "C.UTF-8");
	cr_assert_null(get(env, "DATABASE_URL"));
	cr_assert_null(get(env, "SIGNING_KEY"));
	cr_assert_null(get(env, "LD_PRELOAD"));
	env_free(env);
}

Test(env, denylisted_overrides_are_dropped_and_reported)
{
	char *caller[] = {"PATH=/usr/bin", NULL};
	const char *over[] = {"LD_PRELOAD=/x.so", "LD_LIBRARY_PATH=/x", "LD_AUDIT=/a", "DYLD_INSERT_LIBRARIES=x",
			      "NODE_OPTIONS=--require=/x", "BUN_INSTALL=/b", "BUN_CONFIG_REGISTRY=x",
			      "PATH=/tmp", "GREETING=hi"};
	struct report rep;
	char **env;

	report_init(&rep);
	env = env_curate(caller, over, 9, true, "/scratch", "/tmp", &rep);
	cr_assert_str_eq(get(env, "GREETING"), "hi");
	cr_assert_str_eq(get(env, "PATH"), "/usr/bin");
	cr_assert_null(get(env, "LD_PRELOAD"));
	cr_assert_null(get(env, "NODE_OPTIONS"));
	cr_assert_null(get(env, "BUN_CONFIG_REGISTRY"));
	cr_assert_str_eq(get(env, "HOME"), "/scratch");
	cr_assert_str_eq(get(env, "TMPDIR"), "/tmp");
	cr_assert_eq(rep.n_dropped_env, 8);
	cr_assert_str_eq(rep.dropped_env[0], "LD_PRELOAD");
	cr_assert_str_eq(rep.dropped_env[7], "PATH");
	report_free(&rep);
	env_free(env);
}

Test(env, disabled_policy_has_no_denylist)
{
	char *caller[] = {NULL};
	const char *over[] = {"LD_PRELOAD=/x.so"};
	char **env = env_curate(caller, over, 1, false, NULL, NULL, NULL);

	cr_assert_str_eq(get(env, "LD_PRELOAD"), "/x.so");
	cr_assert_not_null(get(env, "PATH"), "a default PATH is provided");
	env_free(env);
}

Test(env, override_syntax)
{
	cr_assert_null(env_override_invalid("A=b"));
	cr_assert_null(env_override_invalid("A_1="));
	cr_assert_not_null(env_override_invalid("novalue"));
	cr_assert_not_null(env_override_invalid("=x"));
	cr_assert_not_null(env_override_invalid("1A=x"));
	cr_assert_not_null(env_override_invalid("A-B=x"));
}
