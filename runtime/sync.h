/* The supervisor <-> sandbox-init channel: one SOCK_SEQPACKET socketpair,
 * fixed-size messages, numbered sync points (crun's idea). */
#ifndef NSRUN_SYNC_H
#define NSRUN_SYNC_H

#include "err.h"

enum sync_type {
	SYNC_GO = 1,		/* sync 1, supervisor -> child: maps written */
	SYNC_CGROUP_JOINED,	/* sync 1b, supervisor -> child: in the run's cgroup, or
				 * (v1) the run cgroups' "tasks" files to move into */
	SYNC_FILTER_LOADED,	/* sync 2, child -> supervisor: nft filter committed */
	SYNC_TAP_READY,		/* sync 3, supervisor -> child: slirp4netns attached tap0 */
	SYNC_RUNNING,		/* sync 4, child -> supervisor: the command was exec'd */
	SYNC_ERROR,		/* child -> supervisor: a set-up step failed (err) */
	SYNC_EXEC_FAILED,	/* child -> supervisor: execve failed (err.errnum) */
	SYNC_STATUS,		/* child -> supervisor: the command's wait status */
	SYNC_NETNS,		/* netns helper -> supervisor: the namespace it made */
	SYNC_STATUS_ALONE,	/* the same, and nothing else runs in the sandbox: init,
				 * which exits next, was left alone with it */
};

struct sync_msg {
	int type;
	int value; /* SYNC_STATUS: wait status */
	struct nsrun_err err;
};

/* Most descriptors one message carries (SCM_RIGHTS). */
#define SYNC_MAX_FDS 4

int sync_send(int fd, int type, int value, const struct nsrun_err *err);
int sync_send_fds(int fd, int type, int value, const struct nsrun_err *err, const int *fds,
		  int n_fds);
/* Waits up to timeout_ms (-1 = forever). Returns 0, -ETIMEDOUT, -EPIPE on
 * EOF, or -errno. */
int sync_recv(int fd, struct sync_msg *msg, int timeout_ms);
/* The same, taking up to *n_fds passed descriptors (O_CLOEXEC) into fds;
 * *n_fds out. Descriptors beyond that are closed. */
int sync_recv_fds(int fd, struct sync_msg *msg, int timeout_ms, int *fds, int *n_fds);
/* Receives and checks the type; a SYNC_ERROR is copied into *err. */
int sync_expect(int fd, int type, int timeout_ms, struct nsrun_err *err);
/* The same, taking passed descriptors as sync_recv_fds does and the
 * message's value into *value (when not NULL). */
int sync_expect_fds(int fd, int type, int timeout_ms, int *fds, int *n_fds, int *value,
		    struct nsrun_err *err);

#endif
