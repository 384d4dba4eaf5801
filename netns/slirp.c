/* The slirp4netns helper, the one process nsrun may start (SPEC).
 *
 * Handshake, over descriptors we own (the shell launcher's FIFO + `read`
 * line protocol hung, BACKGROUND): --ready-fd is a pipe whose single byte
 * (no newline) says tap0 exists; --exit-fd is a pipe whose write end only we
 * hold, so slirp4netns exits when we close it or when we die. A pidfd lets
 * the supervisor see it die mid-run and lets stop() signal it without a pid
 * reuse race. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "netns_int.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define SLIRP_LOG_SIZE 4096
#define SLIRP_STOP_GRACE_MS 500
/* The fds slirp4netns gets: 0-2 stdio, then these. */
#define SLIRP_EXIT_FD 3
#define SLIRP_READY_FD 4

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* slirp4netns's stderr goes to a memfd sealed at 4 KiB: a chatty or
 * long-lived helper can neither block on a full pipe nor fill memory, and a
 * failure still has its own words to show. */
static int log_memfd(void)
{
	int fd =
	    (int)syscall(SYS_memfd_create, "nsrun-slirp4netns", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -1;
	if (ftruncate(fd, SLIRP_LOG_SIZE) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The helper's last words, one line, for an error message. */
static void log_tail(const struct netns_slirp *s, char *out, size_t len)
{
	char buf[SLIRP_LOG_SIZE + 1];
	ssize_t n;
	size_t end, start;

	out[0] = '\0';
	if (s->log_fd < 0 || (n = pread(s->log_fd, buf, SLIRP_LOG_SIZE, 0)) <= 0)
		return;
	buf[n] = '\0';
	end = strlen(buf);
	while (end > 0 && (buf[end - 1] == '\n' || buf[end - 1] == ' '))
		end--;
	buf[end] = '\0';
	start = end;
	while (start > 0 && buf[start - 1] != '\n')
		start--;
	if (end > start)
		snprintf(out, len, ": \"%.160s\"", buf + start);
}

static void close_from(int lowest)
{
	if (syscall(SYS_close_range, lowest, ~0U, 0) == 0)
		return;
	for (long fd = lowest, max = sysconf(_SC_OPEN_MAX); fd < (max > 0 ? max : 65536); fd++)
		close((int)fd);
}

/* In the forked child: only async-signal-safe calls until execve. */
static void __attribute__((noreturn)) exec_slirp(pid_t parent, const char *path, char *const argv[],
						 int exit_r, int ready_w, int log, int devnull,
						 bool own_mount_ns)
{
	static char *const envp[] = {NULL}; /* no secrets of the caller's env */
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigset_t none;

	/* Dies with the supervisor, even by SIGKILL; if it already died before
	 * prctl, we have been reparented and must not run alone. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(127);
	/* Lift everything above the target numbers first, so that no dup2
	 * below overwrites a descriptor it still needs. */
	exit_r = fcntl(exit_r, F_DUPFD_CLOEXEC, 10);
	ready_w = fcntl(ready_w, F_DUPFD_CLOEXEC, 10);
	log = fcntl(log >= 0 ? log : devnull, F_DUPFD_CLOEXEC, 10);
	devnull = fcntl(devnull, F_DUPFD_CLOEXEC, 10);
	if (exit_r < 0 || ready_w < 0 || log < 0 || devnull < 0 || dup2(devnull, 0) < 0 ||
	    dup2(devnull, 1) < 0 || dup2(log, 2) < 0 || dup2(exit_r, SLIRP_EXIT_FD) < 0 ||
	    dup2(ready_w, SLIRP_READY_FD) < 0)
		_exit(127);
	close_from(SLIRP_READY_FD + 1);
	/* The supervisor blocks signals for its signalfd and ignores SIGPIPE:
	 * both would survive execve and make the helper unkillable by TERM. */
	for (int sig = 1; sig < 32; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Out of the caller's terminal session: a ^C is nsrun's to handle. */
	setsid();
	/* slirp4netns's --enable-sandbox unshares a mount namespace, makes only
	 * "/" private (not recursively) and detaches the old root: that umount
	 * propagated to the host and removed its shared mounts (every
	 * /run/netns/<name>). A private mount namespace of its own first. */
	if (own_mount_ns && (unshare(CLONE_NEWNS) < 0 ||
			     mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0))
		_exit(127);
	execve(path, argv, envp);
	_exit(127);
}

int netns_slirp_start(const struct netns_plan *plan, const char *slirp_path, pid_t child_pid,
		      struct netns_slirp *s, struct nsrun_err *err)
{
	char pid_arg[24], mtu_arg[24], exit_arg[24], ready_arg[24];
	char *argv[16];
	int ready[2] = {-1, -1}, exitp[2] = {-1, -1}, devnull = -1, n = 0, saved;
	pid_t parent = getpid(), pid;

	*s = (struct netns_slirp)NETNS_SLIRP_INIT;
	if (!slirp_path || slirp_path[0] != '/')
		return nsrun_err_set(err, "slirp4netns", EINVAL, "needs an absolute path, got '%s'",
				     slirp_path ? slirp_path : "");
	if (child_pid <= 0)
		return nsrun_err_set(err, "slirp4netns", EINVAL, "no child pid to attach to");

	snprintf(pid_arg, sizeof(pid_arg), "%d", (int)child_pid);
	snprintf(mtu_arg, sizeof(mtu_arg), "--mtu=%u", plan->mtu ? plan->mtu : NETNS_MTU);
	snprintf(exit_arg, sizeof(exit_arg), "--exit-fd=%d", SLIRP_EXIT_FD);
	snprintf(ready_arg, sizeof(ready_arg), "--ready-fd=%d", SLIRP_READY_FD);
	argv[n++] = (char *)slirp_path;
	/* 10.0.2.2 would otherwise be the host's (the world's) 127.0.0.1. */
	argv[n++] = "--disable-host-loopback";
	if (plan->slirp_sandbox)
		argv[n++] = "--enable-sandbox";
	argv[n++] = "--enable-seccomp";
	argv[n++] = mtu_arg;
	argv[n++] = exit_arg;
	argv[n++] = ready_arg;
	if (!plan->allow_dns)
		argv[n++] = "--disable-dns";
	if (plan->ipv6)
		argv[n++] = "--enable-ipv6";
	argv[n++] = pid_arg;
	argv[n++] = NETNS_TAP_NAME;
	argv[n] = NULL;

	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(exitp, O_CLOEXEC) < 0 ||
	    (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
		saved = errno;
		goto fail_errno;
	}
	s->log_fd = log_memfd();
	pid = fork();
	if (pid < 0) {
		saved = errno;
		goto fail_errno;
	}
	if (pid == 0)
		exec_slirp(parent, slirp_path, argv, exitp[0], ready[1], s->log_fd, devnull,
			   plan->slirp_sandbox);

	s->pid = pid;
	/* Race-free: an unreaped child's pid cannot be reused. */
	s->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	s->exit_fd = exitp[1];
	s->ready_fd = ready[0];
	close(exitp[0]);
	close(ready[1]);
	close(devnull);
	return 0;

fail_errno:
	close_fd(&ready[0]);
	close_fd(&ready[1]);
	close_fd(&exitp[0]);
	close_fd(&exitp[1]);
	close_fd(&devnull);
	close_fd(&s->log_fd);
	return nsrun_err_set(err, "slirp4netns", saved, "starting %s", slirp_path);
}

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Reaps the helper if it is gone or goes within wait_ms; true when reaped. */
static bool slirp_reap(struct netns_slirp *s, int wait_ms, int *status)
{
	siginfo_t si;
	int r;

	if (s->pid <= 0)
		return true;
	if (s->pidfd >= 0) {
		struct pollfd p = {.fd = s->pidfd, .events = POLLIN};
		long deadline = now_ms() + wait_ms;

		while (poll(&p, 1, (int)(deadline - now_ms() > 0 ? deadline - now_ms() : 0)) < 0 &&
		       errno == EINTR)
			;
		memset(&si, 0, sizeof(si));
		r = waitid((idtype_t)P_PIDFD, (id_t)s->pidfd, &si, WEXITED | WNOHANG);
		if (r < 0 && errno != ECHILD)
			return false;
		if (r == 0 && si.si_pid == 0)
			return false; /* still running */
		if (status)
			*status =
			    r == 0 ? (si.si_code == CLD_EXITED ? si.si_status << 8 : si.si_status)
				   : 0;
	} else {
		for (long deadline = now_ms() + wait_ms;;) {
			r = waitpid(s->pid, status, WNOHANG);
			if (r != 0 || now_ms() >= deadline)
				break;
			usleep(5000);
		}
		if (r == 0)
			return false;
	}
	s->pid = 0;
	return true;
}

static void describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "was killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, len, "exited");
}

int netns_slirp_wait_ready(struct netns_slirp *s, int timeout_ms, struct nsrun_err *err)
{
	struct pollfd p = {.fd = s->ready_fd, .events = POLLIN};
	long deadline = now_ms() + timeout_ms;
	char tail[200], how[64], byte;
	int pr, status = 0;
	ssize_t n;

	if (s->pid <= 0 || s->ready_fd < 0)
		return nsrun_err_set(err, "slirp4netns", ECHILD, "not running");
	do {
		long left = deadline - now_ms();
		pr = poll(&p, 1, left > 0 ? (int)left : 0);
	} while (pr < 0 && errno == EINTR);
	if (pr < 0)
		return nsrun_err_set(err, "slirp4netns", errno, "waiting for tap0");
	if (pr == 0) {
		log_tail(s, tail, sizeof(tail));
		return nsrun_err_set(err, "slirp4netns", ETIMEDOUT,
				     "tap0 not attached within %d ms%s", timeout_ms, tail);
	}
	do
		n = read(s->ready_fd, &byte, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1)
		return 0;
	/* EOF: every writer is gone, i.e. slirp4netns died before it was ready. */
	snprintf(how, sizeof(how), "exited");
	if (slirp_reap(s, 1000, &status))
		describe_status(status, how, sizeof(how));
	log_tail(s, tail, sizeof(tail));
	return nsrun_err_set(err, "slirp4netns", ECHILD, "%s before attaching tap0%s", how, tail);
}

void netns_slirp_stop(struct netns_slirp *s)
{
	/* EOF on --exit-fd is slirp4netns's clean shutdown. */
	close_fd(&s->exit_fd);
	if (s->pid > 0 && !slirp_reap(s, SLIRP_STOP_GRACE_MS, NULL)) {
		if (s->pidfd < 0 || syscall(SYS_pidfd_send_signal, s->pidfd, SIGKILL, NULL, 0) < 0)
			kill(s->pid, SIGKILL);
		slirp_reap(s, 5000, NULL);
		s->pid = 0;
	}
	s->pid = 0;
	close_fd(&s->ready_fd);
	close_fd(&s->log_fd);
	close_fd(&s->pidfd);
}

void netns_slirp_kill(struct netns_slirp *s)
{
	close_fd(&s->exit_fd);
	if (s->pid > 0) {
		if (s->pidfd < 0 || syscall(SYS_pidfd_send_signal, s->pidfd, SIGKILL, NULL, 0) < 0)
			kill(s->pid, SIGKILL);
		/* Its exit takes ~30 ms in the kernel (closing tap0); a killed
		 * helper holds nothing, so it is reaped if already gone and
		 * otherwise left to our parent once the supervisor exits. */
		waitpid(s->pid, NULL, WNOHANG);
	}
	s->pid = 0;
	close_fd(&s->ready_fd);
	close_fd(&s->log_fd);
	close_fd(&s->pidfd);
}
