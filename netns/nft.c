/* The sandbox's egress filter, built with libnftnl and committed as one
 * nfnetlink batch (nft_batch.c); the sets' elements come from nft_set.c.
 * Equivalent nft syntax, for reading:
 *
 *   table inet nsrun {
 *     # one hash set per (family, prefix length) in the allowlist, e.g.
 *     set allow4_24 { type ipv4_addr; size 2; elements = { 192.0.2.0, 198.51.100.0 } }
 *     set allow4_32 { type ipv4_addr; size 1; elements = { 203.0.113.7 } }
 *     set allow6_48 { type ipv6_addr; size 1; elements = { 2001:db8:1:: } }
 *     chain refuse {
 *       meta l4proto tcp reject with tcp reset     # connect() fails at once
 *       reject with icmpx admin-prohibited         # UDP sendto(): EPERM
 *     }
 *     chain output {
 *       type filter hook output priority 0; policy drop;  # accept: unrestricted
 *       oif "lo" accept                 # also carries the rejects' own ICMP
 *       icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept  # ipv6 only
 *       ip daddr 169.254.0.0/16 jump refuse        # denyLinkLocalAndMetadata,
 *       ip6 daddr fe80::/10 jump refuse            # before any accept, so no
 *       ip6 daddr fc00::/7 jump refuse             # allow entry can reopen them
 *       ip daddr & 255.255.255.0 @allow4_24 accept # allowlist only: a rule
 *       ip daddr @allow4_32 accept                 # per set
 *       ip6 daddr & ffff:ffff:ffff:: @allow6_48 accept
 *       jump refuse
 *     }
 *   }
 *
 * Only the output hook is filtered: replies arrive on input and need no
 * conntrack, so the ruleset needs no nf_conntrack either. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>

#include "netns_int.h"

#define NFT_CHAIN_OUT "output"
#define NFT_CHAIN_REFUSE "refuse"
#define LOOPBACK_IFINDEX 1 /* the kernel gives lo index 1 in every netns */

/* ---- messages ------------------------------------------------------------ */

static int push_table(struct nft_batch *b, uint16_t type, uint16_t flags)
{
	struct nftnl_table *t = nftnl_table_alloc();
	char *buf = nft_batch_reserve(b, NFT_MSG_ROOM);
	struct nlmsghdr *nlh;

	if (!t || !buf) {
		if (t)
			nftnl_table_free(t);
		return -ENOMEM;
	}
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFT_TABLE);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nlh = nftnl_nlmsg_build_hdr(buf, type, NFPROTO_INET, flags | NLM_F_ACK, nft_batch_seq(b));
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	return nft_batch_push(b, "table inet " NFT_TABLE);
}

static int push_chain(struct nft_batch *b, const char *name, bool base, bool policy_accept)
{
	struct nftnl_chain *ch = nftnl_chain_alloc();
	char *buf = nft_batch_reserve(b, NFT_MSG_ROOM);
	struct nlmsghdr *nlh;
	char what[64];

	if (!ch || !buf) {
		if (ch)
			nftnl_chain_free(ch);
		return -ENOMEM;
	}
	nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, NFT_TABLE);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_u32(ch, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	if (base) {
		nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, "filter");
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, NF_INET_LOCAL_OUT);
		nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, 0);
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY, policy_accept ? NF_ACCEPT : NF_DROP);
	}
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWCHAIN, NFPROTO_INET, NLM_F_CREATE | NLM_F_ACK,
				    nft_batch_seq(b));
	nftnl_chain_nlmsg_build_payload(nlh, ch);
	nftnl_chain_free(ch);
	snprintf(what, sizeof(what), "chain %s", name);
	return nft_batch_push(b, what);
}

/* ---- rules --------------------------------------------------------------- */

/* Collects expressions; an allocation failure is remembered, not crashed on. */
struct rb {
	struct nftnl_rule *r;
	bool oom;
};

static struct nftnl_expr *rb_new(struct rb *b, const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	if (!e)
		b->oom = true;
	return e;
}

static void rb_add(struct rb *b, struct nftnl_expr *e)
{
	if (e)
		nftnl_rule_add_expr(b->r, e);
}

static void rb_meta(struct rb *b, uint32_t key)
{
	struct nftnl_expr *e = rb_new(b, "meta");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	}
	rb_add(b, e);
}

static void rb_cmp_eq(struct rb *b, const void *data, uint32_t len)
{
	struct nftnl_expr *e = rb_new(b, "cmp");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
		nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	}
	rb_add(b, e);
}

static void rb_payload(struct rb *b, uint32_t base, uint32_t offset, uint32_t len)
{
	struct nftnl_expr *e = rb_new(b, "payload");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	}
	rb_add(b, e);
}

static void rb_mask(struct rb *b, const uint8_t *mask, uint32_t len)
{
	struct nftnl_expr *e = rb_new(b, "bitwise");
	uint8_t zero[16] = {0};

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
	}
	rb_add(b, e);
}

static void rb_lookup(struct rb *b, const struct nft_set_def *sd)
{
	struct nftnl_expr *e = rb_new(b, "lookup");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
		nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, sd->name);
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, sd->id);
	}
	rb_add(b, e);
}

static void rb_verdict(struct rb *b, int verdict, const char *chain)
{
	struct nftnl_expr *e = rb_new(b, "immediate");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
		if (chain)
			nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
	}
	rb_add(b, e);
}

static void rb_reject(struct rb *b, uint32_t type, uint8_t code)
{
	struct nftnl_expr *e = rb_new(b, "reject");

	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, type);
		nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, code);
	}
	rb_add(b, e);
}

static void rb_nfproto(struct rb *b, int family)
{
	uint8_t proto = family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;

	rb_meta(b, NFT_META_NFPROTO);
	rb_cmp_eq(b, &proto, 1);
}

static void rb_l4proto(struct rb *b, uint8_t proto)
{
	rb_meta(b, NFT_META_L4PROTO);
	rb_cmp_eq(b, &proto, 1);
}

/* Loads the destination address of an IPv4/IPv6 packet into reg 1. */
static void rb_daddr(struct rb *b, int family)
{
	rb_nfproto(b, family);
	if (family == AF_INET)
		rb_payload(b, NFT_PAYLOAD_NETWORK_HEADER, 16, 4);
	else
		rb_payload(b, NFT_PAYLOAD_NETWORK_HEADER, 24, 16);
}

static int rule_begin(struct rb *b, const char *chain)
{
	b->oom = false;
	b->r = nftnl_rule_alloc();
	if (!b->r)
		return -ENOMEM;
	nftnl_rule_set_str(b->r, NFTNL_RULE_TABLE, NFT_TABLE);
	nftnl_rule_set_str(b->r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(b->r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	return 0;
}

static int rule_push(struct nft_batch *nb, struct rb *b, const char *what)
{
	char *buf = b->oom ? NULL : nft_batch_reserve(nb, NFT_MSG_ROOM);
	struct nlmsghdr *nlh;
	int r = -ENOMEM;

	if (buf) {
		nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWRULE, NFPROTO_INET,
					    NLM_F_APPEND | NLM_F_CREATE | NLM_F_ACK,
					    nft_batch_seq(nb));
		nftnl_rule_nlmsg_build_payload(nlh, b->r);
		r = nft_batch_push(nb, what);
	}
	nftnl_rule_free(b->r);
	b->r = NULL;
	return r;
}

static int rules_refuse(struct nft_batch *nb)
{
	struct rb b;
	int r;

	/* A TCP reset costs nothing and is never rate-limited; the ICMP error
	 * for everything else is, by the kernel's global ICMP budget. */
	if ((r = rule_begin(&b, NFT_CHAIN_REFUSE)) < 0)
		return r;
	rb_l4proto(&b, IPPROTO_TCP);
	rb_reject(&b, NFT_REJECT_TCP_RST, 0);
	if ((r = rule_push(nb, &b, "rule 'meta l4proto tcp reject with tcp reset'")) < 0)
		return r;
	if ((r = rule_begin(&b, NFT_CHAIN_REFUSE)) < 0)
		return r;
	rb_reject(&b, NFT_REJECT_ICMPX_UNREACH, NFT_REJECT_ICMPX_ADMIN_PROHIBITED);
	return rule_push(nb, &b, "rule 'reject with icmpx admin-prohibited'");
}

static int rule_oif_lo(struct nft_batch *nb)
{
	uint32_t lo = LOOPBACK_IFINDEX;
	struct rb b;
	int r;

	if ((r = rule_begin(&b, NFT_CHAIN_OUT)) < 0)
		return r;
	rb_meta(&b, NFT_META_OIF);
	rb_cmp_eq(&b, &lo, sizeof(lo));
	rb_verdict(&b, NF_ACCEPT, NULL);
	return rule_push(nb, &b, "rule 'oif lo accept'");
}

/* IPv6 needs neighbour discovery with slirp's router (to fe80::/10 and
 * solicited-node multicast): without it no IPv6 packet leaves at all. ND is
 * link-scoped and carries no payload to a service. */
static int rule_nd(struct nft_batch *nb, uint8_t icmp_type)
{
	struct rb b;
	int r;

	if ((r = rule_begin(&b, NFT_CHAIN_OUT)) < 0)
		return r;
	rb_nfproto(&b, AF_INET6);
	rb_l4proto(&b, IPPROTO_ICMPV6);
	rb_payload(&b, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1);
	rb_cmp_eq(&b, &icmp_type, 1);
	rb_verdict(&b, NF_ACCEPT, NULL);
	return rule_push(nb, &b, "rule 'icmpv6 type nd accept'");
}

static int rule_block(struct nft_batch *nb, const char *range)
{
	struct cidr c;
	uint8_t first[16], last[16], mask[16];
	unsigned alen;
	char what[64];
	struct rb b;
	int r;

	if (cidr_parse(range, &c, NULL, 0) < 0)
		return -EINVAL;
	alen = c.family == AF_INET ? 4 : 16;
	cidr_range(&c, first, last);
	for (unsigned i = 0; i < alen; i++)
		mask[i] = (uint8_t) ~(first[i] ^ last[i]);
	if ((r = rule_begin(&b, NFT_CHAIN_OUT)) < 0)
		return r;
	rb_daddr(&b, c.family);
	rb_mask(&b, mask, alen);
	rb_cmp_eq(&b, c.addr, alen);
	rb_verdict(&b, NFT_JUMP, NFT_CHAIN_REFUSE);
	snprintf(what, sizeof(what), "rule '%s daddr %s jump refuse'",
		 c.family == AF_INET ? "ip" : "ip6", range);
	return rule_push(nb, &b, what);
}

/* daddr & MASK @allowF_LEN accept: the mask makes each CIDR of the group one
 * exact-match element (a /32 or /128 needs no mask). */
static int rule_allow_set(struct nft_batch *nb, const struct nft_set_def *sd)
{
	struct cidr all = {.family = sd->family, .prefix = sd->prefix};
	uint8_t first[16], mask[16];
	char what[64];
	struct rb b;
	int r;

	if ((r = rule_begin(&b, NFT_CHAIN_OUT)) < 0)
		return r;
	rb_daddr(&b, sd->family);
	if (sd->prefix < sd->alen * 8) {
		cidr_range(&all, first, mask); /* last address of 0/LEN: the host bits */
		for (unsigned i = 0; i < sd->alen; i++)
			mask[i] = (uint8_t)~mask[i];
		rb_mask(&b, mask, sd->alen);
	}
	rb_lookup(&b, sd);
	rb_verdict(&b, NF_ACCEPT, NULL);
	snprintf(what, sizeof(what), "rule 'daddr @%s accept'", sd->name);
	return rule_push(nb, &b, what);
}

static int rule_jump_refuse(struct nft_batch *nb)
{
	struct rb b;
	int r;

	if ((r = rule_begin(&b, NFT_CHAIN_OUT)) < 0)
		return r;
	rb_verdict(&b, NFT_JUMP, NFT_CHAIN_REFUSE);
	return rule_push(nb, &b, "rule 'jump refuse'");
}

/* ---- the ruleset ---------------------------------------------------------- */

static int build_ruleset(struct nft_batch *b, const struct netns_plan *plan)
{
	static const char *const blocked[] = {"169.254.0.0/16", "fe80::/10", "fc00::/7"};
	bool sets = !plan->policy_accept;
	const struct netns_allow *a = &plan->allow;
	struct nft_set_def sd;
	int r;

	/* EXCL: in a fresh netns the table cannot exist; if it does, we are
	 * not where we think we are. */
	if ((r = push_table(b, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL)) < 0)
		return r;
	for (size_t i = 0; sets && i < a->n_sets; i++) {
		nft_set_def_of(a, i, &sd);
		if ((r = nft_push_set(b, &sd)) < 0)
			return r;
	}
	if ((r = push_chain(b, NFT_CHAIN_REFUSE, false, false)) < 0 || (r = rules_refuse(b)) < 0)
		return r;
	if ((r = push_chain(b, NFT_CHAIN_OUT, true, plan->policy_accept)) < 0 ||
	    (r = rule_oif_lo(b)) < 0)
		return r;
	if (plan->ipv6 && ((r = rule_nd(b, 135)) < 0 || (r = rule_nd(b, 136)) < 0))
		return r;
	for (size_t i = 0; plan->block_special && i < sizeof(blocked) / sizeof(blocked[0]); i++)
		if ((r = rule_block(b, blocked[i])) < 0)
			return r;
	for (size_t i = 0; sets && i < a->n_sets; i++) {
		nft_set_def_of(a, i, &sd);
		if ((r = rule_allow_set(b, &sd)) < 0)
			return r;
	}
	if (sets && (r = rule_jump_refuse(b)) < 0)
		return r;
	/* The skeleton above is complete and closed (empty sets, drop); what
	 * follows only fills the allowlist, one independent element at a
	 * time, so it may be cut anywhere into further transactions. */
	nft_batch_allow_split(b);
	for (size_t i = 0; sets && i < a->n_sets; i++) {
		nft_set_def_of(a, i, &sd);
		if ((r = nft_push_elements(b, a, &sd)) < 0)
			return r;
	}
	return 0;
}

int netns_nft_commit_split(const struct netns_plan *plan, size_t max_transaction,
			   struct nsrun_err *err)
{
	struct nft_batch *b;
	int r;

	if ((r = netns_mnl_ready(err)) < 0)
		return r;
	b = nft_batch_new();
	if (!b)
		return nsrun_err_set(err, "netns", ENOMEM, "nftables batch");
	nft_batch_set_max_transaction(b, max_transaction);
	r = build_ruleset(b, plan);
	if (r < 0)
		r = nsrun_err_set(err, "netns", -r, "building the nftables ruleset");
	else
		r = nft_batch_send(b, err);
	nft_batch_free(b);
	return r;
}

int netns_nft_commit(const struct netns_plan *plan, struct nsrun_err *err)
{
	return netns_nft_commit_split(plan, 0, err);
}

int netns_nft_commit_skeleton(const struct netns_plan *plan, struct nft_batch **rest,
			      struct nsrun_err *err)
{
	struct nft_batch *b;
	int r;

	*rest = NULL;
	if ((r = netns_mnl_ready(err)) < 0)
		return r;
	b = nft_batch_new();
	if (!b)
		return nsrun_err_set(err, "netns", ENOMEM, "nftables batch");
	r = build_ruleset(b, plan);
	if (r < 0)
		r = nsrun_err_set(err, "netns", -r, "building the nftables ruleset");
	else
		r = nft_batch_send_head(b, err);
	if (r == 0)
		*rest = b;
	else
		nft_batch_free(b);
	return r;
}

int netns_nft_commit_rest(struct nft_batch *rest, struct nsrun_err *err)
{
	int r = nft_batch_send_rest(rest, err);

	nft_batch_free(rest);
	return r;
}

int netns_nft_delete(struct nsrun_err *err)
{
	struct nft_batch *b;
	int r;

	if ((r = netns_mnl_ready(err)) < 0)
		return r;
	b = nft_batch_new();
	if (!b)
		return nsrun_err_set(err, "netns", ENOMEM, "nftables batch");
	r = push_table(b, NFT_MSG_DELTABLE, 0);
	if (r < 0)
		r = nsrun_err_set(err, "netns", -r, "building the nftables batch");
	else
		r = nft_batch_send(b, err);
	nft_batch_free(b);
	return r;
}
