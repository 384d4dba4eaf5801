/* Internals of the network layer shared between the netns/ sources. Not for other
 * layers: they use netns.h. */
#ifndef NSRUN_NETNS_INT_H
#define NSRUN_NETNS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netns.h"

/* nft_batch.c: one nfnetlink batch, sent with one sendmsg, every ACK read. */
struct nft_batch;

struct nft_batch *nft_batch_new(void);
void nft_batch_free(struct nft_batch *b);
/* Room for one message of at most max bytes: build it at the returned
 * address with nft_batch_seq() as its sequence number, then push it. NULL on
 * ENOMEM. */
char *nft_batch_reserve(struct nft_batch *b, size_t max);
uint32_t nft_batch_seq(const struct nft_batch *b);
/* Adds the message built at the reserved place; what names it in errors. */
int nft_batch_push(struct nft_batch *b, const char *what);
/* Messages pushed from now on may go in a later transaction when the whole
 * does not fit one socket buffer (set elements after the skeleton). */
void nft_batch_allow_split(struct nft_batch *b);
/* Test hook: caps a transaction's size to exercise the split path. */
void nft_batch_set_max_transaction(struct nft_batch *b, size_t bytes);
/* Sends the batch (BEGIN ... END in one sendmsg), reads every ACK. 0 or
 * -errno with *err. */
int nft_batch_send(struct nft_batch *b, struct nsrun_err *err);
/* The same in two steps: the skeleton (everything before the split mark,
 * one transaction), then, later, the rest (the set elements). Between the
 * two the socket stays open in the batch. */
int nft_batch_send_head(struct nft_batch *b, struct nsrun_err *err);
int nft_batch_send_rest(struct nft_batch *b, struct nsrun_err *err);

/* libmnl is ready to call: a no-op where it is linked; where it is loaded
 * on first use (lazy/mnl_lazy.c, NSRUN_MNL_LAZY) the load, with an error
 * naming why it failed. Every nft entry point calls it first. */
#ifdef NSRUN_MNL_LAZY
int netns_mnl_ready(struct nsrun_err *err);
#else
static inline int netns_mnl_ready(struct nsrun_err *err)
{
	(void)err;
	return 0;
}
#endif

/* nft.c: the filter in two steps. The skeleton (table, chains, rules, empty
 * sets: everything dropped but lo) is committed now; *rest holds the set
 * elements for netns_nft_commit_rest, which sends and frees them. */
int netns_nft_commit_skeleton(const struct netns_plan *plan, struct nft_batch **rest,
			      struct nsrun_err *err);
int netns_nft_commit_rest(struct nft_batch *rest, struct nsrun_err *err);

/* nft.c, nft_set.c */
#define NFT_TABLE "nsrun"
#define NFT_MSG_ROOM 4096 /* room for any message but set elements */

/* One allowlist set (a group of netns/allow.c) as the messages name it. */
struct nft_set_def {
	char name[16]; /* allow4_24, allow6_64 */
	int family;
	unsigned alen, prefix;
	uint32_t key_type;
	uint32_t id;	     /* refers to the set inside the transaction that makes it */
	size_t offset, count; /* its elements in netns_allow.addrs */
};

void nft_set_def_of(const struct netns_allow *a, size_t i, struct nft_set_def *sd);
int nft_push_set(struct nft_batch *b, const struct nft_set_def *sd);
int nft_push_elements(struct nft_batch *b, const struct netns_allow *a,
		      const struct nft_set_def *sd);
/* Elements per NEWSETELEM message for an address length. */
size_t nft_elems_per_msg(unsigned alen);

int netns_nft_commit(const struct netns_plan *plan, struct nsrun_err *err);
/* Same, with each transaction capped at max_transaction bytes (0 = the
 * socket's limit): lets tests exercise the split path on any host. */
int netns_nft_commit_split(const struct netns_plan *plan, size_t max_transaction,
			   struct nsrun_err *err);
/* Deletes table inet nsrun (the probe cleans up after itself). */
int netns_nft_delete(struct nsrun_err *err);

/* link.c */
int netns_link_lo_up(struct nsrun_err *err);
int netns_link_tap_setup(const struct netns_plan *plan, struct nsrun_err *err);

/* child.c: the inode of /proc/self/ns/net, 0 with *err on failure. */
unsigned long netns_current_ino(struct nsrun_err *err);

#endif
