#include "sync.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int sync_send_fds(int fd, int type, int value, const struct nsrun_err *err, const int *fds,
		  int n_fds)
{
	struct sync_msg m;
	union {
		char buf[CMSG_SPACE(sizeof(int) * SYNC_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (n_fds < 0 || n_fds > SYNC_MAX_FDS)
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	m.type = type;
	m.value = value;
	if (err)
		m.err = *err;
	if (n_fds > 0) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n_fds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)n_fds);
	}
	for (;;) {
		ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);

		if (n == (ssize_t)sizeof(m))
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 ? -errno : -EIO;
	}
}

int sync_send(int fd, int type, int value, const struct nsrun_err *err)
{
	return sync_send_fds(fd, type, value, err, NULL, 0);
}

/* The descriptors of an SCM_RIGHTS message into fds (up to max, the rest
 * closed); how many into *n_fds. */
static void take_fds(struct msghdr *mh, int *fds, int max, int *n_fds)
{
	int got = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int f;

			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (got < max)
				fds[got++] = f;
			else
				close(f);
		}
	}
	if (n_fds)
		*n_fds = got;
}

int sync_recv_fds(int fd, struct sync_msg *msg, int timeout_ms, int *fds, int *n_fds)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	union {
		char buf[CMSG_SPACE(sizeof(int) * SYNC_MAX_FDS)];
		struct cmsghdr align;
	} ctl;

	int max = fds && n_fds ? *n_fds : 0;

	if (max > SYNC_MAX_FDS)
		max = SYNC_MAX_FDS;
	if (n_fds)
		*n_fds = 0;
	for (;;) {
		struct iovec iov = {.iov_base = msg, .iov_len = sizeof(*msg)};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = ctl.buf,
				    .msg_controllen = sizeof(ctl.buf)};
		int r = poll(&p, 1, timeout_ms);
		ssize_t n;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
		/* A peer that exits with a message of ours unread leaves
		 * ECONNRESET on the socket, reported once, BEFORE the messages
		 * it sent us (its set-up error among them): read on. */
		if (n < 0 && (errno == EINTR || errno == ECONNRESET))
			continue;
		if (n < 0)
			return -errno;
		take_fds(&mh, fds, max, n_fds);
		if (n == 0)
			return -EPIPE;
		if (n != (ssize_t)sizeof(*msg))
			return -EPROTO;
		msg->err.stage[sizeof(msg->err.stage) - 1] = '\0';
		msg->err.detail[sizeof(msg->err.detail) - 1] = '\0';
		return 0;
	}
}

int sync_recv(int fd, struct sync_msg *msg, int timeout_ms)
{
	return sync_recv_fds(fd, msg, timeout_ms, NULL, NULL);
}

int sync_expect_fds(int fd, int type, int timeout_ms, int *fds, int *n_fds, int *value,
		    struct nsrun_err *err)
{
	struct sync_msg m = {0};
	int r = sync_recv_fds(fd, &m, timeout_ms, fds, n_fds);

	if (r == -ETIMEDOUT)
		return nsrun_err_set(err, "sync", ETIMEDOUT, "no answer from the other side after %d ms",
				     timeout_ms);
	if (r == -EPIPE)
		return nsrun_err_set(err, "sync", EPIPE, "the other side exited during set-up");
	if (r < 0)
		return nsrun_err_set(err, "sync", -r, "reading the sync socket");
	if (m.type == SYNC_ERROR) {
		*err = m.err;
		return m.err.errnum > 0 ? -m.err.errnum : -EINVAL;
	}
	if (m.type != type)
		return nsrun_err_set(err, "sync", EPROTO, "expected sync message %d, got %d", type,
				     m.type);
	if (value)
		*value = m.value;
	return 0;
}

int sync_expect(int fd, int type, int timeout_ms, struct nsrun_err *err)
{
	int none = 0;

	return sync_expect_fds(fd, type, timeout_ms, NULL, &none, NULL, err);
}
