/* Network planning: policy x host capabilities -> plumbing + report. Pure.
 *
 * The rule for gaps (BACKGROUND: never a silent black hole, never a silent
 * open door): every gap is a downgrade whose text says what to install or
 * change, and the fallback plumbing never opens more than the policy asked.
 * If egress cannot be plumbed we keep the fresh netns with only lo, which
 * blocks more than requested; only a host where no netns can be made at all
 * leaves the command on the host's network, and the downgrade says so. */
#include "netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/caps.h"
#include "../runtime/policy.h"
#include "../runtime/report.h"

static const char *const blocked_ranges[] = {"169.254.0.0/16", "fe80::/10", "fc00::/7"};

static void set_egress(struct report *rep, const char *what)
{
	snprintf(rep->egress, sizeof(rep->egress), "%s", what);
}

_Static_assert(POLICY_MAX_ALLOW <= NETNS_MAX_ALLOW, "a valid policy must fit the filter");

/* The policy's entries, grouped for the filter in plan->allow. */
static int plan_allowlist(const struct policy *p, struct netns_plan *plan, struct nsrun_err *err)
{
	size_t n = p->net_allow_len;

	if (n > NETNS_MAX_ALLOW)
		return nsrun_err_set(err, "policy", EINVAL, "network.allow: at most %d entries",
				     NETNS_MAX_ALLOW);
	/* The policy parser made these with cidr_parse; what the filter relies
	 * on is checked again, cheaply, so the plan stays correct on its own
	 * (tests, fuzzers, future callers). */
	for (size_t i = 0; i < n; i++) {
		const struct cidr *c = &p->net_allow[i];

		if ((c->family != AF_INET || c->prefix > 32) &&
		    (c->family != AF_INET6 || c->prefix > 128))
			return nsrun_err_set(err, "policy", EINVAL,
					     "network.allow[%zu]: not an IPv4 or IPv6 CIDR", i);
	}
	return netns_plan_set_allowlist(plan, p->net_allow, n, err);
}

int netns_plan_set_allowlist(struct netns_plan *plan, const struct cidr *allow, size_t n,
			     struct nsrun_err *err)
{
	netns_allow_free(&plan->allow);
	if (netns_allow_group(allow, n, &plan->allow) < 0)
		return nsrun_err_set(err, "netns", ENOMEM, "allowlist of %zu entries", n);
	for (size_t i = 0; i < plan->allow.n_sets; i++)
		if (plan->allow.sets[i].family == AF_INET6)
			plan->ipv6 = true;
	return 0;
}

static bool allowlist_contains(const struct netns_plan *plan, int family, const char *addr)
{
	uint8_t a[16];

	if (inet_pton(family, addr, a) != 1)
		return false;
	return netns_allow_contains(&plan->allow, family, a);
}

/* Facts worth telling the policy author about their allowlist (entries in
 * the policy's order, so "first" is the first they wrote). */
static void note_allowlist(const struct netns_plan *plan, const struct cidr *allow, size_t n,
			   struct report *rep)
{
	struct cidr blocked[sizeof(blocked_ranges) / sizeof(blocked_ranges[0])];
	size_t overlapping = 0;
	char first[CIDR_FORMAT_LEN] = "";

	for (size_t b = 0; b < sizeof(blocked) / sizeof(blocked[0]); b++)
		cidr_parse(blocked_ranges[b], &blocked[b], NULL, 0);
	for (size_t i = 0; plan->block_special && i < n; i++) {
		for (size_t b = 0; b < sizeof(blocked) / sizeof(blocked[0]); b++) {
			if (allow[i].family == blocked[b].family &&
			    cidr_overlaps(&allow[i], &blocked[b])) {
				if (!overlapping++)
					cidr_format(&allow[i], first, sizeof(first));
				break;
			}
		}
	}
	if (overlapping)
		report_note(
		    rep, LAYER_NETWORK,
		    "%zu network.allow entries (first: %s) overlap 169.254.0.0/16, fe80::/10 or "
		    "fc00::/7, which stay blocked (denyLinkLocalAndMetadata)",
		    overlapping, first);
	if (allowlist_contains(plan, AF_INET, NETNS_GATEWAY4))
		report_note(rep, LAYER_NETWORK,
			    "%s is slirp4netns's alias for the host's loopback, which stays "
			    "unreachable (--disable-host-loopback)",
			    NETNS_GATEWAY4);
}

/* What the missing pieces of egress are, with what to do about each. */
static size_t egress_gaps(const struct host_caps *caps, struct report *rep, const char *fallback)
{
	size_t gaps = 0;

	if (!caps->slirp4netns.ok) {
		gaps++;
		report_downgrade(rep, LAYER_NETWORK, "egress needs slirp4netns: %.120s; %s",
				 caps->slirp4netns.reason, fallback);
	}
	if (!caps->tun.ok) {
		gaps++;
		report_downgrade(
		    rep, LAYER_NETWORK,
		    "egress needs /dev/net/tun from a user namespace: %.380s; %s",
		    caps->tun.reason, fallback);
	}
	if (!caps->nftables.ok) {
		gaps++;
		report_downgrade(
		    rep, LAYER_NETWORK,
		    "the egress filter needs nftables in a user namespace: %.100s; needs "
		    "CONFIG_NF_TABLES and NFT_REJECT_INET, and NETLINK_NETFILTER sockets "
		    "allowed by the container's seccomp profile; %s",
		    caps->nftables.reason, fallback);
	}
	return gaps;
}

static int plan_egress(const struct policy *p, const struct host_caps *caps,
		       struct netns_plan *plan, struct report *rep)
{
	bool allowlist = p->net_mode == NET_MODE_ALLOWLIST && p->net_allow_len > 0;
	bool unrestricted = p->net_mode == NET_MODE_UNRESTRICTED;

	if (!caps->netns.ok) {
		report_downgrade(
		    rep, LAYER_NETWORK,
		    "no network namespace can be made (%.80s): the command shares the host's "
		    "network, unfiltered; allow user namespaces (user.max_user_namespaces > 0) "
		    "and clone/unshare in the container's seccomp profile",
		    caps->netns.reason);
		set_egress(rep, "host");
		return 0;
	}
	plan->new_netns = true;
	set_egress(rep, "none");
	if (!allowlist && !unrestricted)
		return 0; /* deny, or an empty allowlist: lo only */

	plan->block_special = p->deny_link_local_and_metadata;
	plan->policy_accept = unrestricted;
	plan->ipv6 = plan->ipv6 || unrestricted;
	plan->allow_dns = unrestricted || allowlist_contains(plan, AF_INET, NETNS_DNS4);
	if (egress_gaps(caps, rep,
			"the sandbox gets loopback only (nothing beyond it is reachable)") > 0) {
		plan->egress = false;
		plan->policy_accept = false;
		plan->allow_dns = false;
		plan->ipv6 = false;
		return 0;
	}
	plan->egress = true;
	plan->slirp_sandbox = caps->euid_is_root;
	set_egress(rep, "slirp4netns");
	if (!plan->slirp_sandbox)
		report_note(
		    rep, LAYER_NETWORK,
		    "rootless: slirp4netns runs with --enable-seccomp but without "
		    "--enable-sandbox, which needs uid 0 mapped in the sandbox's user namespace");
	if (unrestricted)
		report_note(rep, LAYER_NETWORK,
			    "egress through slirp4netns; everything but 169.254.0.0/16, fe80::/10 "
			    "and fc00::/7 is reachable");
	else
		report_note(
		    rep, LAYER_NETWORK,
		    "egress through slirp4netns; an nftables filter of %zu allowlist entries "
		    "is loaded before tap0 exists; DNS via %s is %s",
		    p->net_allow_len, NETNS_DNS4, plan->allow_dns ? "on" : "off");
	note_allowlist(plan, p->net_allow, allowlist ? p->net_allow_len : 0, rep);
	return 0;
}

int netns_plan(const struct policy *p, const struct host_caps *caps, struct netns_plan *plan,
	       struct report *rep, struct nsrun_err *err)
{
	bool allowlist = p->net_mode == NET_MODE_ALLOWLIST && p->net_allow_len > 0;
	bool unrestricted = p->net_mode == NET_MODE_UNRESTRICTED;
	int r;

	memset(plan, 0, sizeof(*plan));
	plan->mtu = NETNS_MTU;

	if (!p->enabled || (unrestricted && !p->deny_link_local_and_metadata)) {
		/* The host's network as is: nothing to enforce, nothing to plumb. */
		set_egress(rep, "host");
		return 0;
	}
	if (p->net_mode == NET_MODE_DENY && p->net_allow_len > 0)
		report_note(rep, LAYER_NETWORK, "network.allow is ignored in mode deny");
	if (unrestricted && p->net_allow_len > 0)
		report_note(rep, LAYER_NETWORK, "network.allow is ignored in mode unrestricted");
	if (allowlist) {
		r = plan_allowlist(p, plan, err);
		if (r < 0) {
			netns_plan_free(plan);
			return r;
		}
	}
	return plan_egress(p, caps, plan, rep);
}

void netns_plan_free(struct netns_plan *plan)
{
	netns_allow_free(&plan->allow);
}
