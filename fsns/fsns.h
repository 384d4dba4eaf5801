/* The filesystem layer (SPEC §6): a fresh tmpfs root entered with
 * pivot_root, read-only base binds, minimal /etc, /proc, /dev, /tmp.
 * Design notes: fsns/README.md. */
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

/* The sandbox's hostname as /etc/hosts names it (the supervisor sets the
 * UTS name; keep the two in step). */
#define FSNS_HOSTNAME "nsrun"

/* Size caps of the tmpfs mounts when the policy sets no maxFileSizeBytes. */
#define FSNS_DEFAULT_TMP_SIZE (64ull << 20)
#define FSNS_ROOT_SIZE (8ull << 20) /* the new root: /etc copies, mount points */
#define FSNS_COPY_MAX (1u << 20)    /* bigger /etc files are bound, not copied */

enum fsns_step_kind {
	FSNS_TMPFS,    /* fresh tmpfs at dest: size, mode, rw, noexec, owned */
	FSNS_BIND,     /* src -> dest, recursive; read-only unless rw; always nosuid,nodev */
	FSNS_DEV_BIND, /* a device node bound from the host /dev (ro,nosuid,noexec) */
	FSNS_SYMLINK,  /* symlink at dest whose target is src */
	FSNS_COPY,     /* copy a small host file (src) into dest */
	FSNS_HOSTS,    /* write the plan's hosts text into dest */
	FSNS_RESOLV,   /* write plan->resolv_conf into dest */
	FSNS_DIR,      /* mkdir -p dest */
	FSNS_PROC,     /* fresh procfs at dest, user.max_user_namespaces=0, then ro */
	FSNS_DEVPTS,   /* private devpts instance at dest */
	FSNS_MASK,     /* hide dest: a file gets src (/dev/null) bound over it, a dir an
			* empty ro tmpfs; an entry this kernel lacks is skipped */
	FSNS_RO,       /* bind dest onto itself and make it ro (recursive) */
};

struct fsns_step {
	enum fsns_step_kind kind;
	char src[256];
	char dest[256]; /* the path inside the sandbox */
	bool rw;
	bool noexec;   /* FSNS_TMPFS */
	bool owned;    /* FSNS_TMPFS: uid=/gid= the plan's owner */
	bool optional; /* a missing source is skipped, not an error */
	uint64_t size; /* tmpfs size in bytes, 0 = kernel default */
	unsigned mode; /* TMPFS/DIR: permission bits; BIND/MASK: S_IFDIR or S_IFREG */
};

#define FSNS_MAX_STEPS 160

struct fsns_plan {
	bool new_root;	 /* scratch-only / scratch-plus-ro */
	bool fresh_proc; /* a fresh procfs replaces /proc */
	/* Set the sandbox user namespace's user.max_user_namespaces to 0. A
	 * failure is fatal when fresh_proc (we own a writable /proc/sys then),
	 * best effort otherwise (the planner recorded that as a downgrade). */
	bool limit_userns;
	char staging[64]; /* host dir (in the private ns) the new root is built on */
	uint64_t root_size;
	uint64_t tmp_size;     /* /tmp and /dev/shm cap */
	uint64_t scratch_size; /* default /scratch tmpfs cap */
	char cwd[256];	       /* the scratch dir inside; "" = keep the inherited cwd */
	uid_t owner_uid;       /* owner of scratch (the command's ids) */
	gid_t owner_gid;
	/* The supervisor's mount and user namespaces: the child refuses to
	 * mount anything in the former or to write the userns limit in the
	 * latter. 0 = unknown (no /proc at plan time). */
	uint64_t sup_mntns_dev, sup_mntns_ino;
	uint64_t sup_userns_dev, sup_userns_ino;
	/* /etc/resolv.conf text for FSNS_RESOLV. The planner sets it from the
	 * network mode; the supervisor may replace it before the spawn. */
	char resolv_conf[512];
	char hosts[512]; /* FSNS_HOSTS text */
	size_t n_steps;
	bool overflow; /* more steps than FSNS_MAX_STEPS were asked for */
	/* Last: fsns_plan_clear leaves it alone, each step is zeroed when
	 * fsns_plan_add hands it out. */
	struct fsns_step steps[FSNS_MAX_STEPS];
};

/* An empty plan: every field zero but the step array, which is not
 * touched (fsns_plan_add zeroes each step it hands out). */
void fsns_plan_clear(struct fsns_plan *plan);

/* Pure apart from lstat()/stat()/realpath() of host paths: builds the mount
 * steps and records downgrades/notes. Returns 0, or -errno with *err for bad
 * input (missing --bind source, relative dest, ...), stage "fsns", detail
 * "bind SRC -> DEST". */
int fsns_plan(const struct policy *p, const struct host_caps *caps, const struct run_inputs *in,
	      uid_t owner_uid, gid_t owner_gid, struct fsns_plan *plan, struct report *rep,
	      struct nsrun_err *err);

/* In the child (new user+mount+pid ns, full caps there, fsuid = owner):
 * makes the mount tree private, walks the steps, pivot_roots, detaches the
 * old root and chdirs to plan->cwd. Also sets the sandbox's
 * user.max_user_namespaces to 0. On failure fills *err (stage "fsns") and
 * returns -errno. */
int fsns_child_setup(const struct fsns_plan *plan, struct nsrun_err *err);

/* ---- internal to the fsns/ sources (one header per layer) ---- */

/* Planning pieces (plan.c appends; etc.c, dev.c, proc.c describe). Never
 * NULL: past FSNS_MAX_STEPS it sets plan->overflow and fsns_plan fails. */
struct fsns_step *fsns_plan_add(struct fsns_plan *plan, enum fsns_step_kind kind, const char *src,
				const char *dest);
int fsns_plan_etc(struct fsns_plan *plan, const struct policy *p, const struct run_inputs *in,
		  struct report *rep);
void fsns_plan_dev(struct fsns_plan *plan);
void fsns_plan_proc(struct fsns_plan *plan);

/* Applying pieces. Steps apply below a root: the staging dir the new root
 * is built on, or the host's own root (prefix "", off mode), where nothing
 * may ever be created. */
/* The directory the last file was created in: consecutive /etc entries
 * share it, which saves two syscalls each. Dropped by any mount that could
 * cover it (fsns_parent_forget). */
struct fsns_parent_cache {
	char path[256];
	int fd; /* -1: empty */
};

struct fsns_root {
	const char *prefix; /* prepended to a step's dest to get a path now */
	int fd;		    /* O_PATH fd of prefix, or of "/" */
	struct fsns_parent_cache *parent; /* NULL: no caching */
};

/* An O_PATH fd of dest's parent directory below root, made on demand;
 * borrowed from the cache (do not close it), or -errno. */
int fsns_parent_dir(const struct fsns_root *root, const char *dest);
/* Before a mount at path: forget the cached directory if the mount could
 * cover it (path is that directory or one above it). NULL: always. */
void fsns_parent_forget(const struct fsns_root *root, const char *path);
int fsns_apply_copy(const struct fsns_root *root, const struct fsns_step *s, int src_fd,
		    struct nsrun_err *err);
int fsns_apply_write(const struct fsns_root *root, const char *dest, const char *text,
		     struct nsrun_err *err);
int fsns_apply_proc(const struct fsns_root *root, const struct fsns_plan *plan,
		    const struct fsns_step *s, struct nsrun_err *err);
int fsns_apply_mask(const struct fsns_root *root, const struct fsns_step *s, struct nsrun_err *err);
int fsns_limit_userns(const char *proc, const struct fsns_plan *plan);

/* The old root's detach, left to a helper process by fsns_child_setup:
 * whether it is still to be reaped, its pid (-1 if none), telling that
 * some wait reaped pid (forgotten if it was the helper, whose pid may then
 * be reused), and waiting for it (an error if it failed). */
bool fsns_old_root_pending(void);
pid_t fsns_old_root_pid(void);
void fsns_old_root_reaped(pid_t pid);
int fsns_old_root_wait(struct nsrun_err *err);
/* The last set-up step in the child, after the network is configured:
 * moves into a nested user+mount namespace (uid/gid mapped to themselves)
 * so every mount is locked, sets that namespace's user.max_user_namespaces
 * to 0 and makes /proc read-only. */
int fsns_child_seal(const struct fsns_plan *plan, uid_t uid, gid_t gid, struct nsrun_err *err);
/* Is the calling process in the namespace (dev, ino) names? -1 unknown. */
int fsns_ns_is(const char *nsname, uint64_t dev, uint64_t ino);

/* Low-level mount helpers (mount.c); all return 0 or -errno. */
enum fsns_node {
	FSNS_NODE_NONE,	  /* the last component must exist */
	FSNS_NODE_DIR,	  /* ... or is made a directory */
	FSNS_NODE_FILE,	  /* ... or is made an empty file */
	FSNS_NODE_PARENT, /* stop at (and return) the parent of the last one */
};
/* Walks dest below root without following symlinks, creating missing
 * components (0755 dirs; the last one as node) unless root->prefix is ""
 * (the host: nothing is ever created there). Returns an O_PATH fd of the
 * last component (of its parent for FSNS_NODE_PARENT) in *fd_out (may be
 * NULL). A symlink on the way is -ELOOP. */
int fsns_mkpath(const struct fsns_root *root, const char *dest, enum fsns_node node, int *fd_out);
/* Bind src (src_fd >= 0: that O_PATH fd, src ignored) onto dest_fd (or
 * dest_path when dest_fd < 0), then set attrs (MOUNT_ATTR_*; 0 = keep)
 * recursively when recursive. dest_path must name the same place. */
int fsns_bind(int src_fd, const char *src, int dest_fd, const char *dest_path, bool recursive,
	      unsigned long long attrs);
/* A single node (a device, a /proc mask) from src onto dest, both paths of
 * our own making: mount(2) and a setattr, two syscalls. open_tree would
 * cost a detached mount namespace, and tearing one down when the target is
 * missing (a /proc entry this kernel lacks) waits for an RCU grace period. */
int fsns_bind_file(const char *src, const char *dest, unsigned long long attrs);
/* Sets MOUNT_ATTR_* on the mount at path (and below when recursive). */
int fsns_mount_attr(const char *path, bool recursive, unsigned long long attrs);
/* Tests: take the mount(2)-only path (kernels without mount_setattr). */
void fsns_mount_force_legacy(bool on);
/* Tests: the old root's detach is a helper's whatever the scheduling
 * policy, and the helper sleeps this long first. */
void fsns_detach_delay_for_tests(unsigned usec);

#endif
