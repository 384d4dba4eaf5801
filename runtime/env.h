/* Environment curation (SPEC §6): only a fixed set reaches the command. */
#ifndef NSRUN_ENV_H
#define NSRUN_ENV_H

#include <stdbool.h>
#include <stddef.h>

struct report;

/* Is KEY (no '=') on the override denylist? */
bool env_key_denied(const char *key);

/* Checks "KEY=VALUE" syntax of an --env argument; returns a reason or NULL. */
const char *env_override_invalid(const char *kv);

/* Builds the command's environment (NULL-terminated, caller frees with
 * env_free). caller_env: the supervisor's environ; overrides: --env values;
 * denylist: false only when the policy is disabled; home/tmpdir: forced
 * values under filesystem confinement (NULL = keep). Dropped override keys
 * are added to the report. */
char **env_curate(char *const *caller_env, const char *const *overrides, size_t n_overrides,
		  bool denylist, const char *home, const char *tmpdir, struct report *rep);
void env_free(char **env);

#endif
