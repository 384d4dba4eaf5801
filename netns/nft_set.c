/* The allowlist's sets: one plain hash set per (family, prefix length) group
 * of netns/allow.c, each CIDR one element (its network address), and the
 * element messages built straight into the batch. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>

#include "netns_int.h"

/* nftables' datatype ids, so that `nft list` prints addresses. */
#define NFT_TYPE_IPADDR 7
#define NFT_TYPE_IP6ADDR 8

void nft_set_def_of(const struct netns_allow *a, size_t i, struct nft_set_def *sd)
{
	const struct netns_allow_set *s = &a->sets[i];

	memset(sd, 0, sizeof(*sd));
	sd->family = s->family;
	sd->alen = s->family == AF_INET ? 4 : 16;
	sd->prefix = s->prefix;
	sd->key_type = s->family == AF_INET ? NFT_TYPE_IPADDR : NFT_TYPE_IP6ADDR;
	sd->id = (uint32_t)i + 1;
	sd->offset = s->offset;
	sd->count = s->count;
	snprintf(sd->name, sizeof(sd->name), "allow%c_%u", s->family == AF_INET ? '4' : '6',
		 s->prefix);
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
	/* No flags: a plain hash set. Its size is exact (the group holds no
	 * duplicates), which also lets the kernel pick its fixed-size hash
	 * table over the resizable one: 3 ms instead of 11 for 10,000. */
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, 0);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, sd->key_type);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, sd->alen);
	nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, (uint32_t)sd->count);
	nftnl_set_set_u32(s, NFTNL_SET_ID, sd->id);
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWSET, NFPROTO_INET, NLM_F_CREATE | NLM_F_ACK,
				    nft_batch_seq(b));
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	snprintf(what, sizeof(what), "set %s", sd->name);
	return nft_batch_push(b, what);
}

/* One element: LIST_ELEM { KEY { DATA_VALUE addr } }, three attribute
 * headers and the address (4-aligned for both families). */
static size_t elem_size(unsigned alen)
{
	return 3 * MNL_ATTR_HDRLEN + MNL_ALIGN(alen);
}

/* The element list is one netlink attribute, whose length is 16 bits; half
 * of that (2,048 IPv4 or 1,170 IPv6 elements) keeps every message well below
 * any socket's limit, and the message count hardly matters to the kernel:
 * the per-element work is all of it. */
#define NFT_ELEM_LIST_BYTES 32768

size_t nft_elems_per_msg(unsigned alen)
{
	return NFT_ELEM_LIST_BYTES / elem_size(alen);
}

/* The element list written directly: every element has the same three
 * headers, so one template is copied and the address put behind it (five
 * libmnl calls an element cost 0.2 ms for 10,000; libnftnl objects 1.4). */
static void put_elements(struct nlmsghdr *nlh, const uint8_t *addrs, size_t k, unsigned alen)
{
	size_t esize = elem_size(alen);
	struct nlattr hdr[3] = {
	    {.nla_len = (uint16_t)esize, .nla_type = NFTA_LIST_ELEM | NLA_F_NESTED},
	    {.nla_len = (uint16_t)(esize - MNL_ATTR_HDRLEN),
	     .nla_type = NFTA_SET_ELEM_KEY | NLA_F_NESTED},
	    {.nla_len = (uint16_t)(MNL_ATTR_HDRLEN + alen), .nla_type = NFTA_DATA_VALUE},
	};
	char *at = mnl_nlmsg_get_payload_tail(nlh);

	for (size_t i = 0; i < k; i++, at += esize) {
		memcpy(at, hdr, sizeof(hdr));
		memcpy(at + sizeof(hdr), addrs + i * alen, alen);
	}
	nlh->nlmsg_len += (uint32_t)(k * esize);
}

int nft_push_elements(struct nft_batch *b, const struct netns_allow *a,
		      const struct nft_set_def *sd)
{
	size_t per_msg = nft_elems_per_msg(sd->alen);

	for (size_t done = 0; done < sd->count;) {
		size_t k = sd->count - done < per_msg ? sd->count - done : per_msg;
		char *buf = nft_batch_reserve(b, k * elem_size(sd->alen) + NFT_MSG_ROOM);
		struct nlattr *list;
		struct nlmsghdr *nlh;
		char what[64];
		int r;

		if (!buf)
			return -ENOMEM;
		nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWSETELEM, NFPROTO_INET,
					    NLM_F_CREATE | NLM_F_ACK, nft_batch_seq(b));
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, NFT_TABLE);
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, sd->name);
		mnl_attr_put_u32(nlh, NFTA_SET_ELEM_LIST_SET_ID, htonl(sd->id));
		list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
		put_elements(nlh, a->addrs + sd->offset + done * sd->alen, k, sd->alen);
		mnl_attr_nest_end(nlh, list);
		snprintf(what, sizeof(what), "set %s elements %zu..%zu", sd->name, done,
			 done + k - 1);
		if ((r = nft_batch_push(b, what)) < 0)
			return r;
		done += k;
	}
	return 0;
}
