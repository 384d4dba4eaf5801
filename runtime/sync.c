#include "sync.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

int sync_send(int fd, int type, int value, const struct nsrun_err *err)
{
	struct sync_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.value = value;
	if (err)
		m.err = *err;
	for (;;) {
		ssize_t n = send(fd, &m, sizeof(m), MSG_NOSIGNAL);

		if (n == (ssize_t)sizeof(m))
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 ? -errno : -EIO;
	}
}

int sync_recv(int fd, struct sync_msg *msg, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	for (;;) {
		int r = poll(&p, 1, timeout_ms);
		ssize_t n;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		n = recv(fd, msg, sizeof(*msg), 0);
		/* A peer that exits with a message of ours unread leaves
		 * ECONNRESET on the socket, reported once, BEFORE the messages
		 * it sent us (its set-up error among them): read on. */
		if (n < 0 && (errno == EINTR || errno == ECONNRESET))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		if (n != (ssize_t)sizeof(*msg))
			return -EPROTO;
		msg->err.stage[sizeof(msg->err.stage) - 1] = '\0';
		msg->err.detail[sizeof(msg->err.detail) - 1] = '\0';
		return 0;
	}
}

int sync_expect(int fd, int type, int timeout_ms, struct nsrun_err *err)
{
	struct sync_msg m = {0};
	int r = sync_recv(fd, &m, timeout_ms);

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
	return 0;
}
