/* One nftables ruleset commit over nfnetlink: BATCH_BEGIN, the messages,
 * BATCH_END, in ONE sendmsg so the kernel applies all of it or none of it;
 * then every ACK is read and every nlmsgerr turned into an errno (the
 * nftables project's mnl.c discipline; bwrap drops them).
 *
 * Size: 10,000 CIDRs per family are ~440 KB of set elements, and the
 * kernel wants a batch in one skb, which netlink caps at the socket's
 * send buffer (2 x net.core.wmem_max without CAP_NET_ADMIN in the initial
 * namespace, i.e. 416 KiB on a default host: the stock `nft` fails there
 * with "Message too long", BACKGROUND). So the buffer grows as needed and,
 * only when it must, set elements after the skeleton are split over further
 * transactions (see nft_batch_send). */
#include <errno.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>

#include "netns_int.h"

/* A batch message never needs more than this (set elements are chunked). */
#define NFT_BATCH_HDR_ROOM 256
#define NFT_ACK_TIMEOUT_MS 5000

struct nft_msg_info {
	uint32_t seq;
	size_t off, len;
	char what[64];
};

struct nft_batch {
	char *buf; /* the messages, without BATCH_BEGIN/END */
	size_t len, cap;
	size_t reserved; /* room promised by the last nft_batch_reserve */
	uint32_t seq;	 /* sequence number of the next message */
	struct nft_msg_info *msgs;
	size_t n_msgs, cap_msgs;
	size_t split_from; /* messages before this go in the first transaction */
	size_t max_tx;	   /* test hook: cap on one transaction, 0 = socket's */
	/* between nft_batch_send_head and nft_batch_send_rest: */
	struct mnl_socket *nl;
	size_t budget;
	size_t sent; /* messages sent so far */
};

static int batch_grow(struct nft_batch *b, size_t need)
{
	size_t cap = b->cap ? b->cap : (size_t)64 * 1024;
	char *p;

	if (b->len + need <= b->cap)
		return 0;
	while (cap < b->len + need)
		cap *= 2;
	p = realloc(b->buf, cap);
	if (!p)
		return -ENOMEM;
	b->buf = p;
	b->cap = cap;
	return 0;
}

struct nft_batch *nft_batch_new(void)
{
	struct nft_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	/* Any start works; time keeps replies of an old socket apart. */
	b->seq = (uint32_t)time(NULL);
	b->split_from = SIZE_MAX;
	return b;
}

static void close_socket(struct nft_batch *b);

void nft_batch_free(struct nft_batch *b)
{
	if (!b)
		return;
	close_socket(b);
	free(b->buf);
	free(b->msgs);
	free(b);
}

char *nft_batch_reserve(struct nft_batch *b, size_t max)
{
	if (batch_grow(b, max) < 0)
		return NULL;
	/* libmnl expects zeroed padding between attributes. */
	memset(b->buf + b->len, 0, max);
	b->reserved = max;
	return b->buf + b->len;
}

uint32_t nft_batch_seq(const struct nft_batch *b)
{
	return b->seq;
}

void nft_batch_allow_split(struct nft_batch *b)
{
	b->split_from = b->n_msgs;
}

void nft_batch_set_max_transaction(struct nft_batch *b, size_t bytes)
{
	b->max_tx = bytes;
}

int nft_batch_push(struct nft_batch *b, const char *what)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)(b->buf + b->len);
	struct nft_msg_info *m;

	/* An overrun here would already have written past the reservation:
	 * abort rather than send a corrupt batch. */
	if (nlh->nlmsg_len > b->reserved)
		abort();
	if (b->n_msgs == b->cap_msgs) {
		size_t cap = b->cap_msgs ? b->cap_msgs * 2 : 64;

		m = realloc(b->msgs, cap * sizeof(*m));
		if (!m)
			return -ENOMEM;
		b->msgs = m;
		b->cap_msgs = cap;
	}
	m = &b->msgs[b->n_msgs++];
	m->seq = nlh->nlmsg_seq;
	m->off = b->len;
	m->len = NLMSG_ALIGN(nlh->nlmsg_len);
	snprintf(m->what, sizeof(m->what), "%s", what);
	b->len += m->len;
	b->reserved = 0;
	b->seq++;
	return 0;
}

/* The messages [first, end) of one transaction, and its BEGIN's seq. */
struct nft_tx {
	size_t first, end;
	uint32_t begin_seq;
};

static const char *batch_what(const struct nft_batch *b, const struct nft_tx *tx, uint32_t seq)
{
	if (seq == tx->begin_seq)
		return "batch commit";
	for (size_t i = tx->first; i < tx->end; i++)
		if (b->msgs[i].seq == seq)
			return b->msgs[i].what;
	return "batch";
}

struct ext_ack {
	const char *msg;
};

static int ext_ack_attr(const struct nlattr *attr, void *data)
{
	struct ext_ack *ea = data;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		ea->msg = mnl_attr_get_str(attr);
	return MNL_CB_OK;
}

/* One nlmsgerr: 0 for an ACK, -errno (with *err naming the message) else. */
static int handle_nlmsgerr(const struct nft_batch *b, const struct nft_tx *tx,
			   const struct nlmsghdr *nlh, struct nsrun_err *err)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	struct ext_ack ea = {0};
	unsigned off;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
		return nsrun_err_set(err, "netns", EBADMSG, "nftables: truncated netlink error");
	if (e->error == 0)
		return 0;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		off = sizeof(*e);
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
		if (mnl_nlmsg_size(off) <= nlh->nlmsg_len)
			mnl_attr_parse(nlh, off, ext_ack_attr, &ea);
	}
	return nsrun_err_set(err, "netns", -e->error, "nftables: %s%s%s",
			     batch_what(b, tx, e->msg.nlmsg_seq), ea.msg ? ": " : "",
			     ea.msg ? ea.msg : "");
}

static long ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Every message asked for an ACK; a failing one also gets an error. The
 * kernel processes the batch inside sendmsg, so all replies are queued by
 * the time we read; the timeout only guards against a kernel bug. */
static int read_acks(struct mnl_socket *nl, const struct nft_batch *b, const struct nft_tx *tx,
		     struct nsrun_err *err)
{
	char buf[16384] __attribute__((aligned(4)));
	struct pollfd pfd = {.fd = mnl_socket_get_fd(nl), .events = POLLIN};
	size_t want = tx->end - tx->first, acked = 0;
	struct timespec t0;
	int first_error = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (acked < want) {
		/* After an error, drain only what is already queued. */
		long left = first_error ? 0 : NFT_ACK_TIMEOUT_MS - ms_since(&t0);
		int pr = poll(&pfd, 1, left > 0 ? (int)left : 0);
		ssize_t n;
		int left_bytes;

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return first_error ? first_error
					   : nsrun_err_set(err, "netns", errno, "nftables: poll");
		if (pr == 0) {
			if (first_error)
				return first_error;
			return nsrun_err_set(err, "netns", ETIMEDOUT,
					     "nftables: %zu of %zu ACKs after %d ms", acked, want,
					     NFT_ACK_TIMEOUT_MS);
		}
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* ENOBUFS: ACKs were dropped, so success cannot be proven. */
			return first_error
				   ? first_error
				   : nsrun_err_set(err, "netns", errno, "nftables: reading ACKs");
		}
		left_bytes = (int)n;
		for (const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		     mnl_nlmsg_ok(nlh, left_bytes); nlh = mnl_nlmsg_next(nlh, &left_bytes)) {
			int r;

			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;
			r = handle_nlmsgerr(b, tx, nlh, first_error ? NULL : err);
			if (r < 0 && !first_error)
				first_error = r;
			else if (r == 0)
				acked++;
		}
	}
	return first_error;
}

/* BEGIN + messages + END in ONE sendmsg: the kernel applies one skb's batch
 * atomically, and aborts a batch whose END is not in the same skb. */
static int send_tx(struct mnl_socket *nl, struct nft_batch *b, struct nft_tx *tx,
		   struct nsrun_err *err)
{
	char begin[NFT_BATCH_HDR_ROOM] __attribute__((aligned(4))) = {0};
	char end[NFT_BATCH_HDR_ROOM] __attribute__((aligned(4))) = {0};
	struct nlmsghdr *bh, *eh;
	size_t off = b->msgs[tx->first].off;
	size_t len = b->msgs[tx->end - 1].off + b->msgs[tx->end - 1].len - off;
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	struct iovec iov[3];
	struct msghdr msg = {
	    .msg_name = &kernel, .msg_namelen = sizeof(kernel), .msg_iov = iov, .msg_iovlen = 3};
	ssize_t sent;

	tx->begin_seq = b->seq;
	bh = nftnl_batch_begin(begin, b->seq++);
	eh = nftnl_batch_end(end, b->seq++);
	iov[0] = (struct iovec){begin, NLMSG_ALIGN(bh->nlmsg_len)};
	iov[1] = (struct iovec){b->buf + off, len};
	iov[2] = (struct iovec){end, NLMSG_ALIGN(eh->nlmsg_len)};
	do
		sent = sendmsg(mnl_socket_get_fd(nl), &msg, 0);
	while (sent < 0 && errno == EINTR);
	if (sent < 0)
		return nsrun_err_set(err, "netns", errno, "nftables: sending a batch of %zu bytes",
				     len + iov[0].iov_len + iov[2].iov_len);
	return read_acks(nl, b, tx, err);
}

/* The largest transaction this socket takes (net.core.wmem_max bounds it
 * for anyone without CAP_NET_ADMIN in the initial namespace). */
static size_t tx_budget(struct mnl_socket *nl, size_t want, size_t test_cap)
{
	int fd = mnl_socket_get_fd(nl);
	int v = want > (size_t)(1 << 29) ? 1 << 29 : (int)want;
	socklen_t vl = sizeof(v);
	size_t budget;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &vl) < 0 || v < 4096)
		v = 4096;
	/* netlink_sendmsg refuses len > sk_sndbuf - 32; keep BEGIN/END room. */
	budget = (size_t)v - 32 - (size_t)2 * NFT_BATCH_HDR_ROOM;
	if (test_cap && test_cap < budget)
		budget = test_cap;
	return budget;
}

static int open_socket(struct nft_batch *b, struct nsrun_err *err)
{
	int one = 1;

	b->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!b->nl)
		return nsrun_err_set(err, "netns", errno, "nftables: netlink socket");
	/* Extended ACKs say which attribute the kernel refused; CAP_ACK stops
	 * it from echoing a 40 KiB element message back with each error. */
	mnl_socket_setsockopt(b->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(b->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_bind(b->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return nsrun_err_set(err, "netns", errno, "nftables: netlink bind");
	b->budget = tx_budget(b->nl, b->len + (size_t)4 * NFT_BATCH_HDR_ROOM, b->max_tx);
	return 0;
}

static void close_socket(struct nft_batch *b)
{
	if (b->nl)
		mnl_socket_close(b->nl);
	b->nl = NULL;
}

/* Sends messages [b->sent, upto) in as few transactions as the socket
 * buffer allows; the skeleton (before split_from) must fit one. */
static int send_upto(struct nft_batch *b, size_t upto, struct nsrun_err *err)
{
	struct nft_tx tx = {.first = b->sent, .end = b->sent};
	int r = 0;

	while (r == 0 && tx.end < upto) {
		size_t size = 0;

		tx.first = tx.end;
		while (tx.end < upto && size + b->msgs[tx.end].len <= b->budget)
			size += b->msgs[tx.end++].len;
		if (tx.end == tx.first ||
		    (tx.first == 0 && tx.end < b->split_from && tx.end < b->n_msgs)) {
			r = nsrun_err_set(
			    err, "netns", EMSGSIZE,
			    "nftables: %s does not fit a %zu-byte socket buffer (raise "
			    "net.core.wmem_max)",
			    b->msgs[tx.end].what, b->budget);
			break;
		}
		r = send_tx(b->nl, b, &tx, err);
		if (r == 0)
			b->sent = tx.end;
	}
	return r;
}

int nft_batch_send_head(struct nft_batch *b, struct nsrun_err *err)
{
	size_t head = b->split_from < b->n_msgs ? b->split_from : b->n_msgs;
	int r;

	if (b->n_msgs == 0)
		return 0;
	r = b->nl ? 0 : open_socket(b, err);
	if (r == 0)
		r = send_upto(b, head, err);
	if (r < 0 || b->sent == b->n_msgs)
		close_socket(b);
	return r;
}

int nft_batch_send_rest(struct nft_batch *b, struct nsrun_err *err)
{
	int r;

	if (b->sent == b->n_msgs)
		return 0;
	r = b->nl ? 0 : open_socket(b, err);
	if (r == 0)
		r = send_upto(b, b->n_msgs, err);
	close_socket(b);
	return r;
}

/* Usually one transaction. When the allowlist outgrows the socket buffer,
 * the messages after split_from (set elements only) follow in further
 * transactions: by then the filter already drops everything not yet
 * listed, and no interface but lo exists, so each one only widens the
 * allowlist towards its final content. */
int nft_batch_send(struct nft_batch *b, struct nsrun_err *err)
{
	int r = 0;

	if (b->n_msgs == 0)
		return 0;
	r = open_socket(b, err);
	if (r == 0)
		r = send_upto(b, b->n_msgs, err);
	close_socket(b);
	return r;
}
