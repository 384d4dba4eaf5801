/* The supervisor <-> sandbox-init channel: one SOCK_SEQPACKET socketpair,
 * fixed-size messages, numbered sync points (crun's idea). */
#ifndef NSRUN_SYNC_H
#define NSRUN_SYNC_H

#include "err.h"

enum sync_type {
	SYNC_GO = 1,		/* sync 1, supervisor -> child: maps written */
	SYNC_CGROUP_JOINED,	/* sync 1b, supervisor -> child: in the run's cgroup */
	SYNC_FILTER_LOADED,	/* sync 2, child -> supervisor: nft filter committed */
	SYNC_TAP_READY,		/* sync 3, supervisor -> child: slirp4netns attached tap0 */
	SYNC_RUNNING,		/* sync 4, child -> supervisor: the command was exec'd */
	SYNC_ERROR,		/* child -> supervisor: a set-up step failed (err) */
	SYNC_EXEC_FAILED,	/* child -> supervisor: execve failed (err.errnum) */
	SYNC_STATUS,		/* child -> supervisor: the command's wait status */
};

struct sync_msg {
	int type;
	int value; /* SYNC_STATUS: wait status */
	struct nsrun_err err;
};

int sync_send(int fd, int type, int value, const struct nsrun_err *err);
/* Waits up to timeout_ms (-1 = forever). Returns 0, -ETIMEDOUT, -EPIPE on
 * EOF, or -errno. */
int sync_recv(int fd, struct sync_msg *msg, int timeout_ms);
/* Receives and checks the type; a SYNC_ERROR is copied into *err. */
int sync_expect(int fd, int type, int timeout_ms, struct nsrun_err *err);

#endif
