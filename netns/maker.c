/* The sandbox's network namespace, made beside it rather than by it.
 *
 * Creating a netns is the costliest namespace (~0.33 ms of CPU: every
 * pernet subsystem, its sysctl tables). Made by the sandbox's own init it
 * is serial with building the root; made by a short-lived helper on the
 * supervisor's side, it overlaps that work on the other CPU:
 *
 *   supervisor: socketpair, one end to the child -> clone (no
 *     CLONE_NEWNET) -> opens the child's user ns -> maps, sync 1 -> fork
 *     helper (it inherits the other end; ours is closed) -> cgroup
 *   helper: setns(child's user ns) -> unshare(CLONE_NEWNET) -> lo up ->
 *     sends /proc/self/ns/net to the child (SCM_RIGHTS) -> exits
 *   child: builds its root meanwhile -> takes the fd (EOF: the helper
 *     died) -> setns(fd) after checking it is not the supervisor's netns
 *     (netns_child_enter) -> seals, while the supervisor still makes the
 *     cgroup: straight to the child, the netns waits for no relay
 *
 * The netns is owned by the sandbox's user namespace, exactly as if the
 * child had unshared it. Only runs without egress use it: an egress filter
 * must be loaded before slirp4netns starts, as early as possible. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netns_int.h"
#include "runtime/sync.h"
#include "runtime/timing.h"

/* In a process of its own (it moves that process into the sandbox's user
 * and network namespaces for good): answers on sock with SYNC_NETNS and
 * the namespace's fd, or SYNC_ERROR. 0, or -1 when it failed. */
static int make_netns(int userns_fd, int sock)
{
	struct nsrun_err err = {0};
	int fd, r;

	timing_now("maker: forked");
	if (setns(userns_fd, CLONE_NEWUSER) < 0)
		nsrun_err_set(&err, "netns", errno, "entering the sandbox's user namespace");
	else if (unshare(CLONE_NEWNET) < 0)
		nsrun_err_set(&err, "netns", errno, "creating the network namespace");
	else if (timing_now("maker: netns unshared"), netns_link_lo_up(&err) == 0 &&
		 (fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) >= 0) {
		r = sync_send_fds(sock, SYNC_NETNS, 0, NULL, &fd, 1);
		close(fd);
		return r < 0 ? -1 : 0;
	} else if (!err.stage[0])
		nsrun_err_set(&err, "netns", errno, "open /proc/self/ns/net");
	sync_send(sock, SYNC_ERROR, 0, &err);
	return -1;
}

void netns_maker_job(void *arg, int guard_sock)
{
	struct netns_maker_job *job = arg;

	(void)guard_sock;
	make_netns(job->userns_fd, job->sock);
	close(job->sock);
}

int netns_maker_take_from(int sock, int timeout_ms, struct nsrun_err *err)
{
	int fd = -1, n = 1, r;

	r = sync_expect_fds(sock, SYNC_NETNS, timeout_ms, &fd, &n, NULL, err);
	if (r < 0) {
		if (n == 1)
			close(fd);
		if (r == -EPIPE)
			nsrun_err_set(err, "netns", EPIPE,
				      "the netns helper exited without sending a namespace");
		return r;
	}
	if (n != 1)
		return nsrun_err_set(err, "netns", EPROTO, "the netns helper sent no namespace");
	return fd;
}

static __attribute__((noreturn)) void maker_main(int userns_fd, int sock)
{
	/* gone with the supervisor, and never left running after it */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	_exit(make_netns(userns_fd, sock) < 0);
}

int netns_maker_start(int userns_fd, int sock, struct netns_maker *m, struct nsrun_err *err)
{
	pid_t pid;

	m->pid = -1;
	m->pidfd = -1;
	pid = fork();
	if (pid < 0)
		return nsrun_err_set(err, "netns", errno, "forking the netns helper");
	if (pid == 0)
		maker_main(userns_fd, sock);
	m->pid = pid;
	/* signalled and reaped through this only: a SIGCHLD handler of the
	 * caller may reap the helper first, and its pid be reused */
	m->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	return 0;
}

void netns_maker_reap(struct netns_maker *m)
{
	siginfo_t si;

	if (m->pidfd >= 0) {
		syscall(SYS_pidfd_send_signal, m->pidfd, SIGKILL, NULL, 0);
		/* ECHILD when someone else reaped it already */
		waitid(P_PIDFD, (id_t)m->pidfd, &si, WEXITED);
		close(m->pidfd);
	}
	m->pidfd = -1;
	m->pid = -1;
}
