/* What a run brings besides the policy: CLI options and the caller's env. */
#ifndef NSRUN_INPUTS_H
#define NSRUN_INPUTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INPUTS_MAX_BINDS 64
#define INPUTS_MAX_ENV 128

struct bind_spec {
	const char *src;  /* as given */
	const char *dest; /* inside path; == src when no ":DEST" */
	bool rw;
	bool internal; /* nsrun's own (the --script-file): applied in every confined mode */
};

struct run_inputs {
	char *const *argv;		/* the command; argv[0] non-NULL */
	const char *scratch_dir;	/* absolute, existing; NULL = fresh tmpfs at /scratch */
	struct bind_spec binds[INPUTS_MAX_BINDS];
	size_t n_binds;
	const char *env_overrides[INPUTS_MAX_ENV]; /* "KEY=VALUE" */
	size_t n_env_overrides;
	char *const *caller_env;	/* the supervisor's environ */
	int64_t timeout_ms;		/* 0 = none */
	const char *interpreter;	/* script --interpreter, resolved by the caller (realpath) */
	bool host_etc;			/* bind the host's whole /etc read-only */
	bool capture;			/* script mode: stdin /dev/null, output captured */
	/* The ids a root supervisor drops to when the policy names none
	 * (NSRUN_SANDBOX_UID/_GID); -1 = unset. */
	int64_t sandbox_uid_env, sandbox_gid_env;
};

#endif
