/* Network planning: every mode and every downgrade path, on fake hosts. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netns/netns.h"
#include "runtime/caps.h"
#include "runtime/policy.h"
#include "runtime/report.h"

struct fixture {
	struct policy p;
	struct host_caps caps;
	struct netns_plan plan;
	struct report rep;
	struct nsrun_err err;
	struct cidr allow[8];
};

static struct fixture f;

static void setup(void)
{
	memset(&f, 0, sizeof(f));
	f.p.enabled = true;
	f.p.on_unavailable = ON_UNAVAILABLE_FAIL;
	f.p.net_mode = NET_MODE_ALLOWLIST;
	f.p.deny_link_local_and_metadata = true;
	f.p.net_allow = f.allow;
	caps_all_ok(&f.caps, false);
	report_init(&f.rep);
}

static void teardown(void)
{
	netns_plan_free(&f.plan);
	report_free(&f.rep);
}

static void allow(const char *entry)
{
	cr_assert_eq(cidr_parse(entry, &f.allow[f.p.net_allow_len++], NULL, 0), 0, "%s", entry);
}

static int plan(void)
{
	return netns_plan(&f.p, &f.caps, &f.plan, &f.rep, &f.err);
}

static void expect_downgrade(const char *part)
{
	for (size_t i = 0; i < f.rep.n_downgrades; i++)
		if (f.rep.downgrades[i].layer == LAYER_NETWORK &&
		    strstr(f.rep.downgrades[i].text, part))
			return;
	cr_assert_fail("no network downgrade mentions '%s' (%zu downgrades, first: %s)", part,
		       f.rep.n_downgrades, f.rep.n_downgrades ? f.rep.downgrades[0].text : "-");
}

static bool has_note(const char *part)
{
	for (size_t i = 0; i < f.rep.n_notes; i++)
		if (f.rep.notes[i].layer == LAYER_NETWORK && strstr(f.rep.notes[i].text, part))
			return true;
	return false;
}

static void expect_lo_only_fallback(void)
{
	/* Long probe reasons must not push the guidance out of the text. */
	for (size_t i = 0; i < f.rep.n_downgrades; i++)
		cr_assert(strlen(f.rep.downgrades[i].text) < REPORT_TEXT_LEN - 1,
			  "downgrade text truncated: %s", f.rep.downgrades[i].text);
	cr_assert(f.plan.new_netns, "a gap in egress must not leave the fresh netns");
	cr_assert_not(f.plan.egress);
	cr_assert_not(f.plan.policy_accept, "never an open door");
	cr_assert_str_eq(f.rep.egress, "none");
	cr_assert_not(f.rep.enforced[LAYER_NETWORK]);
	expect_downgrade("loopback only");
}

TestSuite(netns_plan, .init = setup, .fini = teardown);

Test(netns_plan, deny_is_lo_only_without_egress_caps)
{
	f.p.net_mode = NET_MODE_DENY;
	f.caps.slirp4netns.ok = f.caps.tun.ok = f.caps.nftables.ok = false;
	cr_assert_eq(plan(), 0);
	cr_assert(f.plan.new_netns);
	cr_assert_not(f.plan.egress);
	cr_assert_eq(f.rep.n_downgrades, 0);
	cr_assert(f.rep.enforced[LAYER_NETWORK]);
	cr_assert_str_eq(f.rep.egress, "none");
}

Test(netns_plan, empty_allowlist_is_deny)
{
	f.caps.slirp4netns.ok = f.caps.tun.ok = f.caps.nftables.ok = false;
	cr_assert_eq(plan(), 0);
	cr_assert(f.plan.new_netns);
	cr_assert_not(f.plan.egress);
	cr_assert_eq(f.rep.n_downgrades, 0);
	cr_assert_str_eq(f.rep.egress, "none");
}

Test(netns_plan, deny_ignores_allow_entries_with_a_note)
{
	f.p.net_mode = NET_MODE_DENY;
	allow("10.0.0.1");
	cr_assert_eq(plan(), 0);
	cr_assert_not(f.plan.egress);
	cr_assert(has_note("ignored"));
}

Test(netns_plan, allowlist_plumbs_egress)
{
	allow("10.200.1.2");
	allow("192.0.2.0/24");
	cr_assert_eq(plan(), 0);
	cr_assert(f.plan.new_netns);
	cr_assert(f.plan.egress);
	cr_assert_not(f.plan.policy_accept);
	cr_assert(f.plan.block_special);
	cr_assert_not(f.plan.allow_dns);
	cr_assert_not(f.plan.ipv6);
	cr_assert_eq(f.plan.mtu, 65520);
	cr_assert_eq(f.plan.allow.n_entries, 2);
	cr_assert_eq(f.plan.allow.n_sets, 2);
	cr_assert_eq(f.plan.allow.sets[0].prefix, 24);
	cr_assert_eq(f.plan.allow.sets[1].prefix, 32);
	cr_assert_eq(f.rep.n_downgrades, 0);
	cr_assert(f.rep.enforced[LAYER_NETWORK]);
	cr_assert_str_eq(f.rep.egress, "slirp4netns");
	cr_assert_not(f.plan.slirp_sandbox, "rootless: no uid 0 for slirp4netns's sandbox");
	cr_assert(has_note("--enable-sandbox"));
}

Test(netns_plan, allowlist_ipv6_entry_enables_ipv6)
{
	allow("2001:db8::/32");
	cr_assert_eq(plan(), 0);
	cr_assert(f.plan.egress);
	cr_assert(f.plan.ipv6);
}

Test(netns_plan, dns_only_when_allowlisted)
{
	allow("10.0.2.3");
	cr_assert_eq(plan(), 0);
	cr_assert(f.plan.allow_dns);
}

Test(netns_plan, dns_when_covered_by_a_wider_entry)
{
	allow("10.0.0.0/8");
	cr_assert_eq(plan(), 0);
	cr_assert(f.plan.allow_dns);
}

Test(netns_plan, block_off_when_not_requested)
{
	f.p.deny_link_local_and_metadata = false;
	allow("169.254.169.254");
	cr_assert_eq(plan(), 0);
	cr_assert(f.plan.egress);
	cr_assert_not(f.plan.block_special);
	cr_assert_not(has_note("stay blocked"));
}

Test(netns_plan, allowlisted_metadata_stays_blocked_with_a_note)
{
	allow("169.254.169.254");
	allow("fd00:ec2::254");
	cr_assert_eq(plan(), 0);
	cr_assert(f.plan.block_special);
	cr_assert(has_note("stay blocked"));
}

Test(netns_plan, host_loopback_alias_note)
{
	allow("10.0.2.2");
	cr_assert_eq(plan(), 0);
	cr_assert(has_note("host's loopback"));
}

Test(netns_plan, unrestricted_without_block_is_host_network)
{
	f.p.net_mode = NET_MODE_UNRESTRICTED;
	f.p.deny_link_local_and_metadata = false;
	f.caps.netns.ok = f.caps.slirp4netns.ok = false;
	cr_assert_eq(plan(), 0);
	cr_assert_not(f.plan.new_netns);
	cr_assert_not(f.plan.egress);
	cr_assert_eq(f.rep.n_downgrades, 0);
	cr_assert(f.rep.enforced[LAYER_NETWORK]);
	cr_assert_str_eq(f.rep.egress, "host");
}

Test(netns_plan, unrestricted_with_block_filters_metadata_only)
{
	f.p.net_mode = NET_MODE_UNRESTRICTED;
	cr_assert_eq(plan(), 0);
	cr_assert(f.plan.new_netns);
	cr_assert(f.plan.egress);
	cr_assert(f.plan.policy_accept);
	cr_assert(f.plan.block_special);
	cr_assert(f.plan.allow_dns);
	cr_assert(f.plan.ipv6);
	cr_assert_eq(f.plan.allow.n_entries, 0);
	cr_assert_str_eq(f.rep.egress, "slirp4netns");
	cr_assert_eq(f.rep.n_downgrades, 0);
}

Test(netns_plan, no_slirp4netns)
{
	allow("10.200.1.2");
	f.caps.slirp4netns.ok = false;
	snprintf(f.caps.slirp4netns.reason, sizeof(f.caps.slirp4netns.reason),
		 "slirp4netns not found in PATH: install it (apt-get install slirp4netns)");
	cr_assert_eq(plan(), 0);
	expect_lo_only_fallback();
	expect_downgrade("install");
	expect_downgrade("slirp4netns");
}

Test(netns_plan, no_tun)
{
	allow("10.200.1.2");
	f.caps.tun.ok = false;
	snprintf(f.caps.tun.reason, sizeof(f.caps.tun.reason),
		 "opening /dev/net/tun from a user namespace: Permission denied");
	cr_assert_eq(plan(), 0);
	expect_lo_only_fallback();
	expect_downgrade("/dev/net/tun");
	expect_downgrade("Permission denied"); /* the probe's reason, with its advice */
}

Test(netns_plan, no_nftables)
{
	allow("10.200.1.2");
	f.caps.nftables.ok = false;
	snprintf(f.caps.nftables.reason, sizeof(f.caps.nftables.reason), "netns: nftables: EPERM");
	cr_assert_eq(plan(), 0);
	expect_lo_only_fallback();
	expect_downgrade("nftables in a user namespace");
}

Test(netns_plan, unrestricted_block_without_egress_never_opens_the_door)
{
	f.p.net_mode = NET_MODE_UNRESTRICTED;
	f.caps.nftables.ok = false;
	cr_assert_eq(plan(), 0);
	expect_lo_only_fallback();
	cr_assert_not(f.plan.allow_dns);
}

Test(netns_plan, every_gap_is_listed)
{
	allow("10.200.1.2");
	f.caps.slirp4netns.ok = f.caps.tun.ok = f.caps.nftables.ok = false;
	memset(f.caps.slirp4netns.reason, 'x', sizeof(f.caps.slirp4netns.reason) - 1);
	memset(f.caps.tun.reason, 'y', sizeof(f.caps.tun.reason) - 1);
	memset(f.caps.nftables.reason, 'z', sizeof(f.caps.nftables.reason) - 1);
	cr_assert_eq(plan(), 0);
	cr_assert_eq(f.rep.n_downgrades, 3);
	expect_lo_only_fallback();
}

Test(netns_plan, no_netns_with_deny)
{
	f.p.net_mode = NET_MODE_DENY;
	f.caps.netns.ok = false;
	snprintf(f.caps.netns.reason, sizeof(f.caps.netns.reason),
		 "clone(CLONE_NEWNET) failed: EPERM");
	cr_assert_eq(plan(), 0);
	cr_assert_not(f.plan.new_netns);
	cr_assert_not(f.plan.egress);
	cr_assert_str_eq(f.rep.egress, "host");
	cr_assert_not(f.rep.enforced[LAYER_NETWORK]);
	expect_downgrade("host's network");
	expect_downgrade("CLONE_NEWNET");
}

Test(netns_plan, no_netns_with_allowlist)
{
	allow("10.200.1.2");
	f.caps.netns.ok = false;
	memset(f.caps.netns.reason, 'x', sizeof(f.caps.netns.reason) - 1);
	cr_assert_eq(plan(), 0);
	cr_assert_lt(strlen(f.rep.downgrades[0].text), REPORT_TEXT_LEN - 1, "truncated");
	expect_downgrade("seccomp profile");
	cr_assert_not(f.plan.new_netns);
	cr_assert_not(f.plan.egress);
	cr_assert_str_eq(f.rep.egress, "host");
	expect_downgrade("no network namespace");
}

Test(netns_plan, root_host_same_decisions)
{
	caps_all_ok(&f.caps, true);
	allow("10.200.1.2");
	cr_assert_eq(plan(), 0);
	cr_assert(f.plan.egress);
	cr_assert(f.plan.slirp_sandbox);
	cr_assert_not(has_note("--enable-sandbox"));
	cr_assert_eq(f.rep.n_downgrades, 0);
}

Test(netns_plan, invalid_entry_is_an_error)
{
	allow("10.0.0.1");
	allow("10.0.0.0/8");
	f.allow[1].prefix = 33; /* cidr_parse never makes one: a hand-built policy */
	cr_assert_eq(plan(), -EINVAL);
	cr_assert(strstr(f.err.detail, "network.allow[1]"), "%s", f.err.detail);
	cr_assert(strstr(f.err.detail, "not an IPv4 or IPv6 CIDR"), "%s", f.err.detail);
	cr_assert_null(f.plan.allow.addrs);
}

Test(netns_plan, too_many_entries_is_an_error)
{
	struct cidr *many = calloc(NETNS_MAX_ALLOW + 2, sizeof(*many));

	cr_assert_not_null(many);
	for (size_t i = 0; i <= NETNS_MAX_ALLOW; i++)
		cidr_parse("10.0.0.1", &many[i], NULL, 0);
	f.p.net_allow = many;
	f.p.net_allow_len = NETNS_MAX_ALLOW + 1;
	cr_assert_eq(plan(), -EINVAL);
	cr_assert(strstr(f.err.detail, "at most"), "%s", f.err.detail);
	free(many);
}

Test(netns_plan, free_is_idempotent)
{
	allow("10.0.0.1");
	cr_assert_eq(plan(), 0);
	netns_plan_free(&f.plan);
	netns_plan_free(&f.plan);
	cr_assert_null(f.plan.allow.addrs);
}

/* ---- the allowlist grouped for the filter (netns/allow.c) ----------------- */

static bool cidr_mask_equal(const struct cidr *c)
{
	struct cidr m = *c;

	cidr_mask(&m);
	return memcmp(&m, c, sizeof(m)) == 0;
}

static struct cidr C(const char *text)
{
	struct cidr c;

	cr_assert_eq(cidr_parse(text, &c, NULL, 0), 0, "%s", text);
	return c;
}

/* Entry i counting through every group in order. */
static struct cidr entry_at(const struct netns_allow *a, size_t i)
{
	struct cidr c;

	cr_assert_lt(i, a->n_entries);
	for (size_t s = 0; s < a->n_sets; s++) {
		if (i < a->sets[s].count) {
			netns_allow_entry(a, s, i, &c);
			return c;
		}
		i -= a->sets[s].count;
	}
	cr_assert_fail("entry %zu is in no group", i);
	return c;
}

static void expect_cidr(const struct netns_allow *a, size_t i, const char *text)
{
	char got[CIDR_FORMAT_LEN];
	struct cidr c = entry_at(a, i);

	cidr_format(&c, got, sizeof(got));
	cr_assert_str_eq(got, text, "entry %zu", i);
}

Test(netns_allow, groups_by_family_and_prefix_with_sorted_addresses)
{
	struct cidr in[] = {C("2001:db8::/48"), C("198.51.100.0/24"), C("10.0.0.7"),
			    C("192.0.2.0/24"),	C("2001:db8:1::/48"), C("10.0.0.3"),
			    C("::1")};
	struct netns_allow a;

	cr_assert_eq(netns_allow_group(in, sizeof(in) / sizeof(in[0]), &a), 0);
	cr_assert_eq(a.n_entries, 7);
	cr_assert_eq(a.n_sets, 4);
	cr_assert_eq(a.sets[0].family, AF_INET);
	cr_assert_eq(a.sets[0].prefix, 24);
	cr_assert_eq(a.sets[0].offset, 0);
	cr_assert_eq(a.sets[0].count, 2);
	cr_assert_eq(a.sets[1].prefix, 32);
	cr_assert_eq(a.sets[1].offset, 8, "4 bytes an IPv4 address");
	cr_assert_eq(a.sets[1].count, 2);
	cr_assert_eq(a.sets[2].family, AF_INET6);
	cr_assert_eq(a.sets[2].prefix, 48);
	cr_assert_eq(a.sets[2].offset, 16);
	cr_assert_eq(a.sets[2].count, 2);
	cr_assert_eq(a.sets[3].prefix, 128);
	cr_assert_eq(a.sets[3].offset, 48, "16 bytes an IPv6 address");
	expect_cidr(&a, 0, "192.0.2.0/24");
	expect_cidr(&a, 1, "198.51.100.0/24");
	expect_cidr(&a, 2, "10.0.0.3/32");
	expect_cidr(&a, 3, "10.0.0.7/32");
	expect_cidr(&a, 4, "2001:db8::/48");
	expect_cidr(&a, 5, "2001:db8:1::/48");
	expect_cidr(&a, 6, "::1/128");
	netns_allow_free(&a);
	cr_assert_null(a.addrs);
	cr_assert_eq(a.n_sets, 0);
}

Test(netns_allow, covered_entries_and_duplicates_are_dropped)
{
	struct cidr in[] = {C("10.1.2.3"),	 C("10.0.0.0/8"),     C("10.1.0.0/16"),
			    C("10.0.0.0/8"),	 C("11.0.0.0/8"),     C("10.255.255.255"),
			    C("192.0.2.5"),	 C("192.0.2.5/32"),   C("2001:db8::/32"),
			    C("2001:db8:1::/48"), C("2001:db9::/48"), C("0.0.0.0/1"),
			    C("128.0.0.0/2"),	 C("127.0.0.1")};
	struct netns_allow a;

	cr_assert_eq(netns_allow_group(in, sizeof(in) / sizeof(in[0]), &a), 0);
	/* 0/1 covers every 10.x and 11/8 and 127.0.0.1; 128/2 covers 192.0.2.5
	 * (192 = 0b11000000 is not in 128/2: 128..191): it stays. */
	cr_assert_eq(a.n_entries, 5, "%zu", a.n_entries);
	expect_cidr(&a, 0, "0.0.0.0/1");
	expect_cidr(&a, 1, "128.0.0.0/2");
	expect_cidr(&a, 2, "192.0.2.5/32");
	expect_cidr(&a, 3, "2001:db8::/32");
	expect_cidr(&a, 4, "2001:db9::/48");
	cr_assert_eq(a.n_sets, 5);
	netns_allow_free(&a);
}

Test(netns_allow, empty_and_everything)
{
	struct cidr in[] = {C("0.0.0.0/0"), C("1.2.3.4"), C("::/0"), C("::")};
	struct netns_allow a;

	cr_assert_eq(netns_allow_group(in, 0, &a), 0);
	cr_assert_eq(a.n_entries, 0);
	cr_assert_eq(a.n_sets, 0);
	netns_allow_free(&a);
	cr_assert_eq(netns_allow_group(in, 4, &a), 0);
	cr_assert_eq(a.n_entries, 2);
	cr_assert_eq(a.n_sets, 2);
	cr_assert_eq(a.sets[0].prefix, 0);
	cr_assert_eq(a.sets[1].family, AF_INET6);
	cr_assert_eq(a.sets[1].prefix, 0);
	netns_allow_free(&a);
}

/* A random allowlist: what the groups match is exactly what the entries
 * cover, and no kept entry is covered by another. */
Test(netns_allow, matches_exactly_what_the_entries_cover)
{
	size_t n = 3000;
	struct cidr *in = calloc(n, sizeof(*in)), *kept;
	struct netns_allow a;
	unsigned seed = 12345;

	cr_assert_not_null(in);
	for (size_t i = 0; i < n; i++) {
		bool v6 = rand_r(&seed) % 4 == 0;

		in[i].family = v6 ? AF_INET6 : AF_INET;
		/* A small address space so that entries nest often. */
		in[i].addr[0] = v6 ? 0x20 : 10;
		in[i].addr[1] = (uint8_t)(rand_r(&seed) % 4);
		in[i].addr[2] = (uint8_t)(rand_r(&seed) % 8);
		in[i].addr[3] = (uint8_t)rand_r(&seed);
		in[i].prefix = v6 ? 16 + rand_r(&seed) % 113 : 8 + rand_r(&seed) % 25;
		cidr_mask(&in[i]);
	}
	cr_assert_eq(netns_allow_group(in, n, &a), 0);
	cr_assert_lt(a.n_entries, n);
	kept = calloc(a.n_entries, sizeof(*kept));
	cr_assert_not_null(kept);
	for (size_t i = 0; i < a.n_entries; i++) {
		kept[i] = entry_at(&a, i);
		cr_assert_eq(cidr_mask_equal(&kept[i]), true, "host bits set in entry %zu", i);
	}
	for (size_t i = 0; i < a.n_entries; i++)
		for (size_t j = 0; j < a.n_entries; j++)
			cr_assert(i == j || !cidr_overlaps(&kept[i], &kept[j]),
				  "kept entries %zu and %zu overlap", i, j);
	for (size_t s = 0, at = 0; s < a.n_sets; s++)
		for (size_t i = 0; i < a.sets[s].count; i++, at++) {
			cr_assert_eq(kept[at].family, a.sets[s].family);
			cr_assert_eq(kept[at].prefix, a.sets[s].prefix);
			cr_assert(i == 0 || memcmp(kept[at - 1].addr, kept[at].addr, 16) < 0,
				  "group %zu not ascending", s);
		}
	for (size_t k = 0; k < 20000; k++) {
		bool v6 = k % 2;
		int family = v6 ? AF_INET6 : AF_INET;
		uint8_t addr[16] = {v6 ? 0x20 : 10, (uint8_t)(rand_r(&seed) % 4),
				    (uint8_t)(rand_r(&seed) % 8), (uint8_t)rand_r(&seed),
				    (uint8_t)rand_r(&seed)};
		bool want = false;

		for (size_t i = 0; i < n && !want; i++)
			want = cidr_contains(&in[i], addr, family);
		cr_assert_eq(netns_allow_contains(&a, family, addr), want, "probe %zu", k);
	}
	netns_allow_free(&a);
	free(kept);
	free(in);
}

static int cidr_cmp(const void *pa, const void *pb)
{
	const struct cidr *a = pa, *b = pb;
	int c = a->family - b->family;

	if (!c)
		c = memcmp(a->addr, b->addr, 16);
	return c ? c : (int)a->prefix - (int)b->prefix;
}

/* Already sorted input skips the radix sort: both ways give the same. */
Test(netns_allow, sorted_and_shuffled_input_give_the_same_groups)
{
	size_t n = 5000;
	struct cidr *in = calloc(n, sizeof(*in));
	struct netns_allow a, b;
	unsigned seed = 99;

	cr_assert_not_null(in);
	for (size_t i = 0; i < n; i++) {
		bool v6 = i % 3 == 0;

		in[i].family = v6 ? AF_INET6 : AF_INET;
		for (unsigned k = 0; k < (v6 ? 16u : 4u); k++)
			in[i].addr[k] = (uint8_t)(k < 2 ? rand_r(&seed) % 3 : rand_r(&seed));
		in[i].prefix = v6 ? rand_r(&seed) % 129 : 8 + rand_r(&seed) % 25;
		cidr_mask(&in[i]);
	}
	cr_assert_eq(netns_allow_group(in, n, &a), 0);
	qsort(in, n, sizeof(*in), cidr_cmp);
	cr_assert_eq(netns_allow_group(in, n, &b), 0);
	cr_assert_eq(a.n_entries, b.n_entries);
	cr_assert_eq(a.n_sets, b.n_sets);
	cr_assert_eq(memcmp(a.sets, b.sets, a.n_sets * sizeof(*a.sets)), 0);
	cr_assert_eq(memcmp(a.addrs, b.addrs, b.sets[b.n_sets - 1].offset + 16 * b.sets[b.n_sets - 1].count), 0);
	netns_allow_free(&a);
	netns_allow_free(&b);
	free(in);
}
