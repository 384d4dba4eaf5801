#include "env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* What a script may see of the supervisor: never database URLs or keys. */
static const char *const passed[] = {"PATH", "HOME",	 "USER",     "LANG",	 "LC_ALL",
				     "LC_CTYPE", "TZ", "TMPDIR", "HOSTNAME", "SHELL"};
#define N_PASSED (sizeof(passed) / sizeof(passed[0]))

static const char *const denied_exact[] = {"LD_PRELOAD",   "LD_LIBRARY_PATH", "LD_AUDIT",
					   "NODE_OPTIONS", "BUN_INSTALL",     "PATH"};
static const char *const denied_prefix[] = {"DYLD_", "BUN_CONFIG_"};

#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"

bool env_key_denied(const char *key)
{
	for (size_t i = 0; i < sizeof(denied_exact) / sizeof(denied_exact[0]); i++)
		if (strcmp(key, denied_exact[i]) == 0)
			return true;
	for (size_t i = 0; i < sizeof(denied_prefix) / sizeof(denied_prefix[0]); i++)
		if (strncmp(key, denied_prefix[i], strlen(denied_prefix[i])) == 0)
			return true;
	return false;
}

const char *env_override_invalid(const char *kv)
{
	const char *eq = strchr(kv, '=');

	if (!eq)
		return "expected KEY=VALUE";
	if (eq == kv)
		return "empty KEY";
	for (const char *p = kv; p < eq; p++)
		if (!(*p == '_' || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (p > kv && *p >= '0' && *p <= '9')))
			return "KEY must match [A-Za-z_][A-Za-z0-9_]*";
	return NULL;
}

/* Index of KEY in the slot table, or -1. Slots are keyed by "KEY=". */
static int find_slot(char **slots, size_t n, const char *kv, size_t keylen)
{
	for (size_t i = 0; i < n; i++)
		if (slots[i] && strncmp(slots[i], kv, keylen) == 0 && slots[i][keylen] == '=')
			return (int)i;
	return -1;
}

static void put(char **slots, size_t *n, const char *kv)
{
	size_t keylen = strcspn(kv, "=");
	int i = find_slot(slots, *n, kv, keylen);
	char *copy = strdup(kv);

	if (!copy)
		return;
	if (i >= 0) {
		free(slots[i]);
		slots[i] = copy;
	} else {
		slots[(*n)++] = copy;
	}
}

static void put_kv(char **slots, size_t *n, const char *key, const char *value)
{
	size_t len = strlen(key) + strlen(value) + 2;
	char *kv = malloc(len);

	if (!kv)
		return;
	snprintf(kv, len, "%s=%s", key, value);
	put(slots, n, kv);
	free(kv);
}

char **env_curate(char *const *caller_env, const char *const *overrides, size_t n_overrides,
		  bool denylist, const char *home, const char *tmpdir, struct report *rep)
{
	char **slots = calloc(N_PASSED + n_overrides + 4, sizeof(char *));
	size_t n = 0;

	if (!slots)
		return NULL;
	for (char *const *e = caller_env; e && *e; e++) {
		size_t keylen = strcspn(*e, "=");

		for (size_t i = 0; i < N_PASSED; i++)
			if (strlen(passed[i]) == keylen && strncmp(*e, passed[i], keylen) == 0 &&
			    (*e)[keylen] == '=')
				put(slots, &n, *e);
	}
	if (find_slot(slots, n, "PATH=", 4) < 0)
		put(slots, &n, "PATH=" DEFAULT_PATH);
	for (size_t i = 0; i < n_overrides; i++) {
		char key[256];
		size_t keylen = strcspn(overrides[i], "=");

		if (keylen >= sizeof(key))
			keylen = sizeof(key) - 1;
		memcpy(key, overrides[i], keylen);
		key[keylen] = '\0';
		if (denylist && env_key_denied(key)) {
			if (rep)
				report_dropped_env(rep, key);
			continue;
		}
		put(slots, &n, overrides[i]);
	}
	if (home)
		put_kv(slots, &n, "HOME", home);
	if (tmpdir)
		put_kv(slots, &n, "TMPDIR", tmpdir);
	slots[n] = NULL;
	return slots;
}

void env_free(char **env)
{
	for (char **e = env; e && *e; e++)
		free(*e);
	free(env);
}
