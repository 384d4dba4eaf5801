/* The privilege drop of the command process (SPEC §6 "Privilege"), run just
 * before the seccomp install and execve, inside the sandbox's user
 * namespace where the process still holds every capability. */
#ifndef NSRUN_PRIVILEGE_H
#define NSRUN_PRIVILEGE_H

#include <stdbool.h>
#include <sys/types.h>

#include "err.h"

struct priv_plan {
	bool enabled;	   /* false: leave the process as it is (privilege layer off) */
	bool set_ids;	   /* switch to uid/gid (real, effective and saved) */
	uid_t uid;	   /* ids as seen inside the sandbox's user namespace */
	gid_t gid;
	bool clear_groups; /* setgroups(0): only where setgroups is allowed (not rootless) */
	bool drop_caps;	   /* empty every capability set and lock the securebits */
	bool no_new_privs;
	bool seccomp;	   /* the caller installs the filter next (needs no_new_privs) */
};

/* Applies the plan, then verifies the result: ids, groups, every capability
 * set (bounding and ambient included), securebits, no_new_privs. Any
 * mismatch is an error: the command must not run half-dropped.
 * Order: groups, bounding set, securebits, gid, uid, ambient, capset,
 * no_new_privs. Returns 0 or -errno with err filled (stage "privilege"). */
int priv_child_drop(const struct priv_plan *p, struct nsrun_err *err);

struct seccomp_prog;
/* priv_child_drop, then, when p->seccomp, nsrun_seccomp_install(prog): the
 * last two steps before execve, in the only order that works. */
int priv_child_drop_and_filter(const struct priv_plan *p, const struct seccomp_prog *prog,
			       struct nsrun_err *err);

#endif
