/* The allowlist's interval sets: sorted and merged ranges, encoded the way
 * the kernel's rbtree set backend wants them, chunked into messages. */
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <libnftnl/set.h>

#include "netns_int.h"

/* nftables' datatype ids, so that `nft list` prints addresses. */
#define NFT_TYPE_IPADDR 7
#define NFT_TYPE_IP6ADDR 8
/* Elements per NEWSETELEM message: the element list is one netlink
 * attribute, whose length is 16 bits, so a set is split over several
 * messages (1024 IPv6 elements are ~37 KiB). */
#define NFT_ELEMS_PER_MSG 1024
#define NFT_ELEM_MSG_ROOM ((NFT_ELEMS_PER_MSG + 2) * 64 + NFT_MSG_ROOM)

const struct nft_set_def nft_set_allow4 = {"allow4", AF_INET, 4, NFT_TYPE_IPADDR, 1};
const struct nft_set_def nft_set_allow6 = {"allow6", AF_INET6, 16, NFT_TYPE_IP6ADDR, 2};

/* ---- intervals ---------------------------------------------------------- */

struct range {
	uint8_t first[16], last[16];
};

/* cidr_range zero-fills past an IPv4 address, so 16 bytes compare both. */
static int range_cmp(const void *a, const void *b)
{
	return memcmp(((const struct range *)a)->first, ((const struct range *)b)->first, 16);
}

/* addr + 1; false when addr was the last address of the family. */
static bool addr_inc(uint8_t *addr, unsigned alen)
{
	for (unsigned i = alen; i-- > 0;)
		if (++addr[i] != 0)
			return true;
	return false;
}

static bool addr_is_zero(const uint8_t *addr, unsigned alen)
{
	for (unsigned i = 0; i < alen; i++)
		if (addr[i])
			return false;
	return true;
}

/* Sorted, disjoint, non-adjacent ranges: the kernel's rbtree set refuses
 * overlapping intervals, and allowlists overlap all the time. */
static int build_ranges(const struct netns_plan *plan, const struct nft_set_def *sd,
			struct range **out, size_t *n_out)
{
	struct range *r = calloc(plan->n_allow ? plan->n_allow : 1, sizeof(*r));
	size_t n = 0, m = 0;

	if (!r)
		return -ENOMEM;
	for (size_t i = 0; i < plan->n_allow; i++)
		if (plan->allow[i].family == sd->family) {
			cidr_range(&plan->allow[i], r[n].first, r[n].last);
			n++;
		}
	qsort(r, n, sizeof(*r), range_cmp);
	for (size_t i = 0; i < n; i++) {
		if (m > 0) {
			uint8_t next[16];

			memcpy(next, r[m - 1].last, 16);
			/* Overlapping or adjacent to the previous one: extend it. */
			if (!addr_inc(next, sd->alen) || memcmp(r[i].first, next, sd->alen) <= 0) {
				if (memcmp(r[i].last, r[m - 1].last, sd->alen) > 0)
					memcpy(r[m - 1].last, r[i].last, 16);
				continue;
			}
		}
		r[m++] = r[i];
	}
	*out = r;
	*n_out = m;
	return 0;
}

int nft_push_set(struct nft_batch *b, const struct nft_set_def *sd)
{
	struct nftnl_set *s = nftnl_set_alloc();
	char *buf = nft_batch_reserve(b, NFT_MSG_ROOM);
	struct nlmsghdr *nlh;
	char what[64];

	if (!s || !buf) {
		if (s)
			nftnl_set_free(s);
		return -ENOMEM;
	}
	nftnl_set_set_str(s, NFTNL_SET_TABLE, NFT_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, sd->name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_INTERVAL);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, sd->key_type);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, sd->alen);
	nftnl_set_set_u32(s, NFTNL_SET_ID, sd->id);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWSET, NFPROTO_INET, NLM_F_CREATE | NLM_F_ACK,
				    nft_batch_seq(b));
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	snprintf(what, sizeof(what), "set %s", sd->name);
	return nft_batch_push(b, what);
}

struct elem_chunk {
	struct nftnl_set *s;
	size_t count, first_index;
};

static int chunk_flush(struct nft_batch *b, const struct nft_set_def *sd, struct elem_chunk *c)
{
	char *buf;
	struct nlmsghdr *nlh;
	char what[64];
	int r;

	if (!c->s)
		return 0;
	buf = nft_batch_reserve(b, NFT_ELEM_MSG_ROOM);
	if (!buf)
		return -ENOMEM;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWSETELEM, NFPROTO_INET, NLM_F_CREATE | NLM_F_ACK,
				    nft_batch_seq(b));
	nftnl_set_elems_nlmsg_build_payload(nlh, c->s);
	snprintf(what, sizeof(what), "set %s elements %zu..%zu", sd->name, c->first_index,
		 c->first_index + c->count - 1);
	r = nft_batch_push(b, what);
	nftnl_set_free(c->s);
	c->first_index += c->count;
	c->s = NULL;
	c->count = 0;
	return r;
}

static int chunk_add(const struct nft_set_def *sd, struct elem_chunk *c, const uint8_t *key,
		     bool interval_end)
{
	struct nftnl_set_elem *e;

	if (!c->s) {
		c->s = nftnl_set_alloc();
		if (!c->s)
			return -ENOMEM;
		nftnl_set_set_str(c->s, NFTNL_SET_TABLE, NFT_TABLE);
		nftnl_set_set_str(c->s, NFTNL_SET_NAME, sd->name);
		nftnl_set_set_u32(c->s, NFTNL_SET_ID, sd->id);
	}
	e = nftnl_set_elem_alloc();
	if (!e)
		return -ENOMEM;
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, sd->alen);
	if (interval_end)
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
	nftnl_set_elem_add(c->s, e);
	c->count++;
	return 0;
}

/* Interval encoding of the kernel's rbtree set: a start element per range
 * and an INTERVAL_END element at last+1 (none when the range runs to the top
 * of the address space); like nft, an END at address 0 opens the set when
 * the first range starts above 0. */
int nft_push_elements(struct nft_batch *b, const struct netns_plan *plan,
		      const struct nft_set_def *sd)
{
	struct elem_chunk c = {0};
	struct range *rs;
	size_t n;
	int r;

	r = build_ranges(plan, sd, &rs, &n);
	if (r < 0)
		return r;
	if (n > 0 && !addr_is_zero(rs[0].first, sd->alen)) {
		uint8_t zero[16] = {0};
		r = chunk_add(sd, &c, zero, true);
	}
	for (size_t i = 0; r == 0 && i < n; i++) {
		uint8_t end[16];

		r = chunk_add(sd, &c, rs[i].first, false);
		memcpy(end, rs[i].last, 16);
		if (r == 0 && addr_inc(end, sd->alen))
			r = chunk_add(sd, &c, end, true);
		/* Flush between ranges only: a start whose end sat in the next
		 * transaction would briefly allow everything above it. */
		if (r == 0 && c.count >= NFT_ELEMS_PER_MSG)
			r = chunk_flush(b, sd, &c);
	}
	if (r == 0)
		r = chunk_flush(b, sd, &c);
	if (c.s) /* libnftnl's free functions are not NULL-safe */
		nftnl_set_free(c.s);
	free(rs);
	return r;
}
