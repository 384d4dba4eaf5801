/* The filesystem layer (SPEC §6): a fresh tmpfs root entered with
 * pivot_root, read-only base binds, minimal /etc, /proc, /dev, /tmp. */
#ifndef NSRUN_FSNS_H
#define NSRUN_FSNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../runtime/err.h"

struct policy;
struct host_caps;
struct run_inputs;
struct report;

enum fsns_step_kind {
	FSNS_TMPFS,	/* dest, size, mode, ro after filling */
	FSNS_BIND,	/* src -> dest, rw or ro, recursive */
	FSNS_DEV_BIND,	/* a device node bound from the host /dev */
	FSNS_SYMLINK,	/* target(src) at dest */
	FSNS_COPY,	/* copy a small host file (src) into dest */
	FSNS_WRITE,	/* write generated text (data) into dest */
	FSNS_DIR,	/* mkdir -p dest */
	FSNS_PROC,	/* fresh procfs at dest */
	FSNS_DEVPTS,	/* private devpts at dest */
	FSNS_MASK,	/* hide dest (a file: /dev/null over it; a dir: empty ro tmpfs) */
	FSNS_RO,	/* remount dest read-only (recursive), e.g. /proc/sys */
};

struct fsns_step {
	enum fsns_step_kind kind;
	char src[256];
	char dest[256];
	char data[512];
	bool rw;
	bool optional; /* a missing source is skipped, not an error */
	uint64_t size; /* tmpfs size in bytes, 0 = kernel default */
	unsigned mode;
};

#define FSNS_MAX_STEPS 160

struct fsns_plan {
	bool new_root;		/* scratch-only / scratch-plus-ro */
	bool fresh_proc;	/* always true when enabled */
	uint64_t tmp_size;	/* /tmp cap */
	uint64_t scratch_size;	/* default /scratch tmpfs cap */
	char cwd[256];		/* the scratch dir inside */
	uid_t owner_uid;	/* owner of scratch / tmp (the command's ids) */
	gid_t owner_gid;
	struct fsns_step steps[FSNS_MAX_STEPS];
	size_t n_steps;
};

/* Pure apart from lstat()/realpath() of host paths: builds the mount steps
 * and records downgrades/notes. Returns 0, or -errno with *err for bad input
 * (missing --bind source, relative dest, ...). */
int fsns_plan(const struct policy *p, const struct host_caps *caps, const struct run_inputs *in,
	      uid_t owner_uid, gid_t owner_gid, struct fsns_plan *plan, struct report *rep,
	      struct nsrun_err *err);

/* In the child (new user+mount+pid ns, full caps there): makes the mount
 * tree private, walks the steps, pivot_roots, detaches the old root and
 * chdirs to plan->cwd. Also sets the sandbox's user.max_user_namespaces to 0.
 * On failure fills *err (stage "fsns") and returns -errno. */
int fsns_child_setup(const struct fsns_plan *plan, struct nsrun_err *err);

#endif
