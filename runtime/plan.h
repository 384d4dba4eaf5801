/* The plan: everything the child and supervisor will do, decided before
 * anything is spawned (DESIGN §1). plan_make is pure apart from lstat of
 * host paths by the filesystem planner. */
#ifndef NSRUN_PLAN_H
#define NSRUN_PLAN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "caps.h"
#include "err.h"
#include "fsns/fsns.h"
#include "inputs.h"
#include "netns/netns.h"
#include "policy.h"
#include "privilege.h"
#include "report.h"
#include "resources.h"

struct plan {
	bool sandboxed;		/* false: enabled:false or no user namespace (degrade) */
	unsigned long clone_flags;
	/* The one id mapped into the user namespace, to itself. */
	uid_t map_uid;
	gid_t map_gid;
	bool deny_setgroups;	/* rootless: the kernel demands it for gid_map */
	struct netns_plan net;
	struct res_plan res;
	struct priv_plan priv;
	char **envp;		/* owned */
	char *const *argv;
	int64_t timeout_ms;
	int64_t max_output;	/* -1: no cap */
	bool refuse;		/* fail-closed: a downgrade under onUnavailable=fail */
	/* Last, and its step array last in it: plan_make zeroes everything
	 * before that array only, so a run touches (page-faults in) just the
	 * steps it uses of the ~90 KiB. */
	struct fsns_plan fs;
};

/* What caps_probe must check for this policy. */
unsigned plan_caps_needed(const struct policy *p);

/* Returns 0, or -errno with *err for bad run inputs (exit 2). A refusal is
 * not an error: plan->refuse is set and the report lists why. */
int plan_make(const struct policy *p, const struct host_caps *caps, const struct run_inputs *in,
	      struct plan *plan, struct report *rep, struct nsrun_err *err);
void plan_free(struct plan *plan);

#endif
