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

struct netns_plan {
	bool new_netns;		/* false only for unrestricted without the block */
	bool egress;		/* slirp4netns + nft filter + tap0 */
	bool policy_accept;	/* unrestricted+block: accept all but the blocked ranges */
	bool block_special;	/* drop 169.254/16, fe80::/10, fc00::/7 first */
	bool allow_dns;		/* slirp's DNS 10.0.2.3 is allowlisted */
	unsigned mtu;
	struct cidr *allow;	/* parsed allowlist (owned) */
	size_t n_allow;
};

/* Pure: decides the plumbing from the policy and host capabilities, records
 * downgrades/notes (with what to install or change). */
int netns_plan(const struct policy *p, const struct host_caps *caps, struct netns_plan *plan,
	       struct report *rep, struct nsrun_err *err);
void netns_plan_free(struct netns_plan *plan);

/* Child, step 1 (in its fresh netns, before any interface but lo exists):
 * checks the netns is not the supervisor's (supervisor_netns_ino), brings lo
 * up and, for egress, commits the whole nftables filter as one batch. */
int netns_child_setup_early(const struct netns_plan *plan, unsigned long supervisor_netns_ino,
			    struct nsrun_err *err);

/* Child, step 2 (after slirp4netns attached tap0): address 10.0.2.100/24,
 * MTU, up, default route via 10.0.2.2, all over netlink. */
int netns_child_setup_tap(const struct netns_plan *plan, struct nsrun_err *err);

/* Supervisor side: the slirp4netns helper. */
struct netns_slirp {
	pid_t pid;
	int exit_fd;	/* write end: closing it makes slirp4netns exit */
	int ready_fd;	/* read end of --ready-fd */
};

/* Starts slirp4netns for child_pid's netns (the child's userns is joined by
 * slirp4netns itself). The helper dies with the supervisor (PDEATHSIG) and
 * when exit_fd is closed. */
int netns_slirp_start(const struct netns_plan *plan, const char *slirp_path, pid_t child_pid,
		      struct netns_slirp *s, struct nsrun_err *err);
/* Waits up to timeout_ms for the ready byte. -ETIMEDOUT / -ECHILD with *err. */
int netns_slirp_wait_ready(struct netns_slirp *s, int timeout_ms, struct nsrun_err *err);
/* Closes exit_fd, waits briefly, SIGKILLs if needed, reaps. Idempotent. */
void netns_slirp_stop(struct netns_slirp *s);

/* Probes for caps_probe (each forks a short-lived child in fresh user+net
 * namespaces; nothing touches the host's namespaces). */
bool netns_probe_nftables(char *reason, size_t len);
bool netns_probe_tun(char *reason, size_t len);

#endif
