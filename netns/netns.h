/* The network layer (SPEC §6): deny (lo only), egress allowlist through an
 * in-process nftables filter + slirp4netns, and the metadata block. */
#ifndef NSRUN_NETNS_H
#define NSRUN_NETNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../runtime/err.h"
#include "cidr.h"

struct policy;
struct host_caps;
struct report;

/* slirp4netns's fixed layout (its defaults; we never pass --cidr). */
#define NETNS_TAP_NAME "tap0"
#define NETNS_TAP_ADDR4 "10.0.2.100"
#define NETNS_GATEWAY4 "10.0.2.2"
#define NETNS_DNS4 "10.0.2.3"
#define NETNS_TAP_ADDR6 "fd00::100"
#define NETNS_GATEWAY6 "fd00::2"
#define NETNS_MTU 65520
/* The shared libraries this build loads on first use instead of at start-up
 * (cmake/static.cmake, NSRUN_MNL_LAZY): ldd does not list them, so an image
 * built from ldd's list must add them (`nsrun --version` names them). */
#ifdef NSRUN_MNL_LAZY
#define NETNS_LIBS_LOADED_LATER "libmnl.so.0"
#else
#define NETNS_LIBS_LOADED_LATER ""
#endif
/* More entries than this is a policy error: the filter's set elements are
 * sent in one netlink batch that has to fit in memory and a socket buffer.
 * The policy parser refuses more already (POLICY_MAX_ALLOW, the same). */
#define NETNS_MAX_ALLOW 65536

/* One group of the allowlist: every entry of one family and prefix length,
 * loaded as one nftables hash set (netns/allow.c says why). */
struct netns_allow_set {
	int family;	 /* AF_INET or AF_INET6 */
	unsigned prefix; /* every entry of the group has this prefix length */
	size_t offset;	 /* its network addresses: addrs + offset, 4 or 16 bytes each */
	size_t count;
};

/* The allowlist without the entries another entry already covers (nor
 * duplicates), grouped: IPv4 before IPv6, shorter prefixes first, ascending
 * addresses within a group. */
struct netns_allow {
	uint8_t *addrs;	  /* every group's addresses, packed */
	size_t n_entries; /* in all groups */
	struct netns_allow_set *sets;
	size_t n_sets;
};

/* Pure: *out from n entries in any order. 0 or -ENOMEM (*out empty then). */
int netns_allow_group(const struct cidr *in, size_t n, struct netns_allow *out);
void netns_allow_free(struct netns_allow *a);
/* Entry i of group set, as a struct cidr. */
void netns_allow_entry(const struct netns_allow *a, size_t set, size_t i, struct cidr *out);
/* True when an entry covers addr (4 or 16 bytes, by family). */
bool netns_allow_contains(const struct netns_allow *a, int family, const uint8_t *addr);

struct netns_plan {
	bool new_netns;	    /* false only for unrestricted without the block */
	bool egress;	    /* slirp4netns + nft filter + tap0 */
	bool policy_accept; /* unrestricted+block: accept all but the blocked ranges */
	bool block_special; /* drop 169.254/16, fe80::/10, fc00::/7 first */
	bool allow_dns;	    /* slirp's DNS 10.0.2.3 is allowlisted */
	bool ipv6;	    /* IPv6 egress wanted: slirp4netns --enable-ipv6, fd00::100 */
	/* slirp4netns --enable-sandbox (its own mount ns, caps dropped). Only
	 * for a root supervisor: rootless, slirp4netns's sandbox seteuid(0)s in
	 * the child's user namespace, which maps no uid 0 (the command keeps
	 * the supervisor's uid), so it would die; --enable-seccomp stays. */
	bool slirp_sandbox;
	unsigned mtu;
	struct netns_allow allow; /* the allowlist as the filter holds it (owned) */
};

/* Pure: decides the plumbing from the policy and host capabilities, records
 * downgrades/notes (with what to install or change). A degraded network
 * layer never opens more than the policy asked: when egress cannot be
 * plumbed the sandbox keeps a fresh netns with only lo (and the report says
 * so); only when no netns can be made at all does it share the host's. */
int netns_plan(const struct policy *p, const struct host_caps *caps, struct netns_plan *plan,
	       struct report *rep, struct nsrun_err *err);
void netns_plan_free(struct netns_plan *plan);
/* Sets plan->allow from n parsed entries (and plan->ipv6 when one is IPv6):
 * what netns_plan does, for callers that build a plan by hand (the probe,
 * tests). 0 or -ENOMEM with *err. */
int netns_plan_set_allowlist(struct netns_plan *plan, const struct cidr *allow, size_t n,
			     struct nsrun_err *err);

/* Child, step 1 (in its fresh netns, before any interface but lo exists):
 * checks the netns is not the supervisor's (supervisor_netns_ino), brings lo
 * up and, for egress, commits the whole nftables filter as one batch.
 * A no-op when !plan->new_netns. */
int netns_child_setup_early(const struct netns_plan *plan, unsigned long supervisor_netns_ino,
			    struct nsrun_err *err);

/* Child, instead of creating its netns (netns/maker.c): checks that fd is
 * a network namespace other than the supervisor's, enters it, and
 * remembers it as verified for netns_child_setup_tap. */
int netns_child_enter(int fd, unsigned long supervisor_netns_ino, struct nsrun_err *err);

/* Supervisor side: a helper that makes the sandbox's netns (owned by the
 * sandbox's user namespace, lo up) while the sandbox builds its root, and
 * sends it (or SYNC_ERROR) straight to the sandbox over a socket. */
struct netns_maker {
	pid_t pid;
	int pidfd;
};
/* userns_fd: the sandbox's /proc/<pid>/ns/user, opened while it was still
 * dumpable; sock: the helper's end of a SOCK_SEQPACKET pair whose other
 * end the sandbox reads with netns_maker_take_from. Forks the helper. */
int netns_maker_start(int userns_fd, int sock, struct netns_maker *m, struct nsrun_err *err);
/* Kills (if still there) and reaps the helper. Idempotent. */
void netns_maker_reap(struct netns_maker *m);
/* The helper's work as a job for another forked process (the cgroup guard:
 * cgroup_run_guard_job); it closes job->sock when done. */
struct netns_maker_job {
	int userns_fd;
	int sock;
};
void netns_maker_job(void *job, int guard_sock);
/* The netns fd (>= 0), or -errno with *err (the helper's own reason, or
 * that it sent nothing). */
int netns_maker_take_from(int sock, int timeout_ms, struct nsrun_err *err);

/* Child, step 1b (after saying "filter loaded", while slirp4netns starts):
 * the allowlist's set elements, whose kernel insertion is most of an egress
 * set-up with a long list (10,000 CIDRs: ~3 ms). */
int netns_child_fill_allowlist(struct nsrun_err *err);

/* Child, step 2 (after slirp4netns attached tap0): address 10.0.2.100/24,
 * MTU, up, default route via 10.0.2.2 (and fd00::100/64 via fd00::2 when
 * plan->ipv6), all over netlink. Refuses unless netns_child_setup_early
 * verified this very netns in this process. */
int netns_child_setup_tap(const struct netns_plan *plan, struct nsrun_err *err);

/* Supervisor side: the slirp4netns helper. */
struct netns_slirp {
	pid_t pid;
	int pidfd;    /* pollable: readable once slirp4netns exited (egress lost) */
	int exit_fd;  /* write end: closing it makes slirp4netns exit */
	int ready_fd; /* read end of --ready-fd */
	int log_fd;   /* a 4 KiB sealed memfd holding slirp4netns's stderr */
};

#define NETNS_SLIRP_INIT                                                                           \
	{                                                                                          \
		.pid = 0, .pidfd = -1, .exit_fd = -1, .ready_fd = -1, .log_fd = -1                 \
	}

/* Starts slirp4netns for child_pid's netns (the child's userns is joined by
 * slirp4netns itself: a PID target makes it setns /proc/PID/ns/user first).
 * The helper dies with the supervisor (PDEATHSIG) and when exit_fd is
 * closed. All of *s is valid for netns_slirp_stop even on failure. */
int netns_slirp_start(const struct netns_plan *plan, const char *slirp_path, pid_t child_pid,
		      struct netns_slirp *s, struct nsrun_err *err);
/* Waits up to timeout_ms for the ready byte. -ETIMEDOUT / -ECHILD with *err. */
int netns_slirp_wait_ready(struct netns_slirp *s, int timeout_ms, struct nsrun_err *err);
/* Closes exit_fd, waits briefly, SIGKILLs if needed, reaps. Idempotent. */
void netns_slirp_stop(struct netns_slirp *s);
/* Once the sandbox is gone: SIGKILL without waiting for the exit to finish. */
void netns_slirp_kill(struct netns_slirp *s);

/* Probes for caps_probe (each forks a short-lived child in fresh user+net
 * namespaces; nothing touches the host's namespaces). */
bool netns_probe_nftables(char *reason, size_t len);
bool netns_probe_tun(char *reason, size_t len);

#endif
