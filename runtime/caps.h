/* Host capabilities, probed live once per process (BACKGROUND: a sysctl can
 * say "allowed" while a seccomp profile blocks the clone). */
#ifndef NSRUN_CAPS_H
#define NSRUN_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define CAPS_REASON_LEN 512

struct cap_check {
	bool ok;
	char reason[CAPS_REASON_LEN]; /* why not, in plain words, when !ok */
};

void cap_check_ok(struct cap_check *c);
void cap_check_no(struct cap_check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct host_caps {
	bool euid_is_root;
	uid_t uid;
	gid_t gid;
	int n_supp_groups;	     /* supplementary groups other than gid */
	char kernel[128];

	struct cap_check userns;     /* clone(CLONE_NEWUSER|...) works */
	struct cap_check netns;      /* a net namespace can be made in it */
	struct cap_check procfs;     /* a fresh procfs mounts in a new pid ns */
	struct cap_check nftables;   /* a ruleset loads in a fresh netns */
	struct cap_check tun;        /* /dev/net/tun opens from inside */
	struct cap_check slirp4netns; /* found and executable */
	char slirp4netns_path[256];
	struct cap_check seccomp;
	struct cap_check landlock;

	int cgroup_version;	     /* 0 none, 1 v1 (hybrid), 2 unified */
	struct cap_check cgroup_memory;
	struct cap_check cgroup_pids;
	char cgroup_memory_dir[256]; /* parent dir where a per-run cgroup is made */
	char cgroup_pids_dir[256];
};

/* What to probe: the cheap ones are always done, the rest on demand. */
enum caps_what {
	CAPS_BASIC = 0,
	CAPS_NS = 1 << 0,	/* userns, netns, procfs */
	CAPS_EGRESS = 1 << 1,	/* nftables, tun, slirp4netns */
	CAPS_CGROUP = 1 << 2,
	CAPS_SECCOMP = 1 << 3,
	CAPS_ALL = 0x7f,
	/* Take userns/netns/procfs (and nftables/tun with CAPS_EGRESS) as
	 * available without probing: for fail-closed runs, where the real
	 * set-up is the live test and its failure refuses the run. */
	CAPS_ASSUME_LIVE = 0x80,
};

void caps_probe(struct host_caps *caps, unsigned what);

/* The operator-facing reason a clone(CLONE_NEWUSER) failed with errno e. */
void caps_explain_userns(int e, char *buf, size_t len);

/* A host where everything works: the start point of unit tests. */
void caps_all_ok(struct host_caps *caps, bool root);

#endif
