/* DESIGN §3 steps 3, 5 and 6, on the sandbox side. Every step reports
 * {stage, errno, detail} to the supervisor before the child gives up. */
#include "child.h"
#include "timing.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "sync.h"

#define SYNC_TIMEOUT_MS 15000

static __attribute__((noreturn)) void child_fail(int sync_fd, const struct nsrun_err *err)
{
	sync_send(sync_fd, SYNC_ERROR, 0, err);
	_exit(125);
}

/* Closes every fd from 3 up but a and b (-1: none). */
static void close_others(int a, int b)
{
	const int keep[2] = {a < b ? a : b, a < b ? b : a};
	int from = 3;

	for (int i = 0; i < 2; i++) {
		if (keep[i] < from)
			continue;
		if (keep[i] > from)
			syscall(SYS_close_range, from, keep[i] - 1, 0);
		from = keep[i] + 1;
	}
	syscall(SYS_close_range, from, ~0U, 0);
}

static int setup_stdio(const struct child_ctx *ctx, struct nsrun_err *err)
{
	int fds[3] = {ctx->stdin_fd, ctx->stdout_fd, ctx->stderr_fd};

	for (int i = 0; i < 3; i++) {
		if (fds[i] == i) {
			/* Already in place: only make sure it survives exec. */
			int fl = fcntl(i, F_GETFD);

			if (fl >= 0)
				fcntl(i, F_SETFD, fl & ~FD_CLOEXEC);
			continue;
		}
		if (fds[i] >= 0 && dup2(fds[i], i) < 0)
			return nsrun_err_set(err, "stdio", errno, "dup2 fd %d", i);
	}
	return 0;
}

/* Resolves argv[0] through the curated PATH the way a shell does: 127 when
 * nothing is found, 126 when something is found but cannot be executed. */
static int exec_command(char *const *argv, char *const *envp)
{
	const char *path = "/usr/local/bin:/usr/bin:/bin";
	char buf[4096];
	int saw_eacces = 0;

	if (strchr(argv[0], '/')) {
		execve(argv[0], argv, envp);
		return errno;
	}
	for (char *const *e = envp; *e; e++)
		if (strncmp(*e, "PATH=", 5) == 0)
			path = *e + 5;
	while (*path) {
		size_t len = strcspn(path, ":");

		if (len == 0)
			snprintf(buf, sizeof(buf), "./%s", argv[0]);
		else
			snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, path, argv[0]);
		execve(buf, argv, envp);
		/* EACCES from an unsearchable PATH dir is "not found", as in a
		 * shell; only a file that exists makes it "not executable". */
		if (errno == EACCES) {
			if (access(buf, F_OK) == 0)
				saw_eacces = 1;
		} else if (errno != ENOENT && errno != ENOTDIR && errno != ENAMETOOLONG)
			return errno;
		path += len;
		if (*path == ':')
			path++;
	}
	return saw_eacces ? EACCES : ENOENT;
}

/* Only an ignored disposition survives execve (handlers are reset by it),
 * so only those need resetting. Which ones are ignored is read by init
 * while it waits for the supervisor's go (64 sigaction queries, ~10 us,
 * off the critical path and with no /proc needed); the command, which
 * shares init's memory until it execs (vfork), resets them. */
static uint64_t ignored_signals;

static void note_ignored_signals(void)
{
	for (int sig = 1; sig < NSIG && sig <= 64; sig++) {
		struct sigaction sa;

		if (sig != SIGKILL && sig != SIGSTOP && sigaction(sig, NULL, &sa) == 0 &&
		    sa.sa_handler == SIG_IGN)
			ignored_signals |= 1ULL << (sig - 1);
	}
}

static void reset_ignored_signals(void)
{
	for (int sig = 1; sig < NSIG && sig <= 64; sig++)
		if (ignored_signals & (1ULL << (sig - 1)))
			signal(sig, SIG_DFL);
}

/* The command process: the last steps before execve, in the order that
 * keeps each one possible (ids before caps, seccomp last). */
static __attribute__((noreturn)) void command_main(const struct child_ctx *ctx, int exec_fd)
{
	const struct plan *plan = ctx->plan;
	struct nsrun_err err = {0};
	sigset_t none;
	int e;

	/* The command starts with default dispositions: an ignored SIGINT or
	 * SIGPIPE inherited from the caller (a background job, the supervisor's
	 * own SIGPIPE) would otherwise survive exec, and the shell could not
	 * even trap the signals nsrun forwards. */
	reset_ignored_signals();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	timing_now("cmd: forked");
	if (plan->sandboxed) {
		if (setsid() < 0)
			child_fail(ctx->sync_fd, &(struct nsrun_err){"privilege", errno, "setsid"});
	}
	if (rlimits_apply(&plan->res, &err) < 0)
		child_fail(ctx->sync_fd, &err);
	if (plan->sandboxed) {
		if (priv_child_drop(&plan->priv, &err) < 0)
			child_fail(ctx->sync_fd, &err);
		timing_now("cmd: priv dropped");
		if (ctx->seccomp && nsrun_seccomp_install(ctx->seccomp, &err) < 0)
			child_fail(ctx->sync_fd, &err);
	}
	/* Whatever set-up opened (netlink sockets, ...) must not reach the
	 * command: the only fds it gets are 0, 1 and 2. */
	timing_now("cmd: before exec");
	syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
	e = exec_command(plan->argv, plan->envp);
	if (write(exec_fd, &e, sizeof(e)) < 0) {
		/* nothing left to tell anyone */
	}
	_exit(e == ENOENT ? 127 : 126);
}

/* The command process, as posix_spawn makes one: vfork, so init's page
 * tables are not copied (a fork cost ~0.15 ms of every run). Sharing the
 * memory is safe because init is suspended until the command execs or
 * exits, the command never returns from here (command_main is noreturn)
 * and only changes per-process state (its fd table, signal dispositions,
 * ids, caps, seccomp filter, session). vfork rather than clone(CLONE_VM)
 * on a stack of our own: the sanitizers know vfork. */
static pid_t spawn_command(const struct child_ctx *ctx, int *pipefd)
{
	/* init is meant to wait here: it has nothing else to do meanwhile */
	pid_t pid = vfork(); // NOLINT(clang-analyzer-security.insecureAPI.vfork)

	if (pid == 0) {
		/* more than exec/_exit after vfork, knowingly: see above */
		close(pipefd[0]); // NOLINT(clang-analyzer-unix.Vfork)
		command_main(ctx, pipefd[1]);
	}
	return pid;
}

/* The old root's detach helper (fsns/root.c) is ours, not the command's,
 * and by now only sleeps out an RCU grace period. Under SCHED_FIFO that
 * can outlast the command: the kernel thread that ends it has a normal
 * priority and waits for a CPU with no real-time task (0.1-0.6 ms after
 * the command's exit in 5 of 13 traced runs). The sandbox's own /proc
 * lists what its pid namespace holds: if that is init and the helper, the
 * command left nothing behind. Any other /proc (not fresh) answers no. */
static bool only_the_helper_besides_init(bool fresh_proc)
{
	pid_t helper = fsns_old_root_pid();
	bool other = false;
	struct dirent *e;
	DIR *d;

	if (!fresh_proc || helper <= 0 || !(d = opendir("/proc")))
		return false;
	while (!other && (e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		other = *end == '\0' && end != e->d_name && pid != 1 && pid != helper;
	}
	closedir(d);
	return !other;
}

/* ECHILD: no child left, so (init being every orphan's reaper) no process
 * but us, or none but us and the detach helper. */
static bool only_init_left(bool fresh_proc)
{
	struct nsrun_err err;

	for (;;) {
		pid_t w = waitpid(-1, NULL, WNOHANG);

		if (w > 0) {
			fsns_old_root_reaped(w);
			continue;
		}
		if (w == 0 && fsns_old_root_pending()) {
			if (only_the_helper_besides_init(fresh_proc))
				return true;
			(void)fsns_old_root_wait(&err);
			continue;
		}
		return w < 0 && errno == ECHILD;
	}
}

static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

/* pid 1 of the sandbox: forks the command, forwards signals to it, reaps
 * every orphan, and reports the command's status. When it exits the kernel
 * kills whatever is left in the pid namespace. */
static __attribute__((noreturn)) void init_main(const struct child_ctx *ctx)
{
	sigset_t set;
	int pipefd[2], e = 0;
	pid_t cmd;
	ssize_t n;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&set, forwarded[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		child_fail(ctx->sync_fd, &(struct nsrun_err){"init", errno, "pipe"});
	cmd = spawn_command(ctx, pipefd);
	if (cmd < 0)
		child_fail(ctx->sync_fd, &(struct nsrun_err){"init", errno, "fork"});
	close(pipefd[1]);
	/* EOF means execve succeeded (the pipe was CLOEXEC). */
	do
		n = read(pipefd[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	if (n == (ssize_t)sizeof(e))
		sync_send(ctx->sync_fd, SYNC_EXEC_FAILED, 0,
			  &(struct nsrun_err){"exec", e, ""});
	else
		sync_send(ctx->sync_fd, SYNC_RUNNING, 0, NULL);
	timing_now("init: exec seen");

	for (;;) {
		siginfo_t si;
		int st;
		pid_t w;

		if (sigwaitinfo(&set, &si) < 0)
			continue;
		if (si.si_signo != SIGCHLD) {
			kill(cmd, si.si_signo);
			continue;
		}
		while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
			fsns_old_root_reaped(w);
			if (w == cmd) {
				bool alone = only_init_left(ctx->plan->fs.fresh_proc);

				timing_now("init: command reaped");
				sync_send(ctx->sync_fd, alone ? SYNC_STATUS_ALONE : SYNC_STATUS, st, NULL);
				_exit(0);
			}
		}
	}
}

/* The supervisor may have died before PDEATHSIG was armed: then the socket
 * is already hung up and the child must not go on alone. */
static void arm_parent_death(int sync_fd)
{
	struct pollfd p = {.fd = sync_fd, .events = 0};

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR)))
		_exit(125);
}

/* Sync 1b: in the run's cgroup, put there by the supervisor or (v1) moving
 * ourselves through the "tasks" files it passes along (the message's value
 * says how many). */
static int join_cgroup(const struct child_ctx *ctx, struct nsrun_err *err)
{
	int fds[SYNC_MAX_FDS], n = SYNC_MAX_FDS, n_cg = 0, r;

	r = sync_expect_fds(ctx->sync_fd, SYNC_CGROUP_JOINED, SYNC_TIMEOUT_MS, fds, &n, &n_cg,
			    err);
	if (r == 0 && n_cg != n)
		r = nsrun_err_set(err, "sync", EPROTO, "sync 1b: %d descriptors, %d for the cgroup",
				  n, n_cg);
	if (r == 0)
		r = cgroup_join_self(fds, n_cg, err);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	return r;
}

/* The network namespace the supervisor's helper made for us, straight from
 * it (netns/maker.c). */
static int enter_handed_netns(const struct child_ctx *ctx, struct nsrun_err *err)
{
	int fd = netns_maker_take_from(ctx->netns_sock, SYNC_TIMEOUT_MS, err), r;

	close(ctx->netns_sock);
	if (fd < 0)
		return fd;
	r = netns_child_enter(fd, ctx->supervisor_netns_ino, err);
	close(fd);
	return r;
}

static void seal(const struct child_ctx *ctx)
{
	struct nsrun_err err = {0};

	if (fsns_child_seal(&ctx->plan->fs, ctx->plan->map_uid, ctx->plan->map_gid, &err) < 0)
		child_fail(ctx->sync_fd, &err);
	timing_now("child: sealed");
}

static void child_setup(const struct child_ctx *ctx)
{
	const struct plan *plan = ctx->plan;
	struct nsrun_err err = {0};
	int r;

	/* Before sync 1, while the supervisor writes our maps: these need only
	 * the capabilities we hold in our new namespaces, not mapped ids. The
	 * network comes first: its namespace check reads the host's /proc (a
	 * degraded run may have no fresh one), and slirp4netns then starts
	 * while the root is being built. */
	if ((plan->clone_flags & CLONE_NEWNET) && !ctx->netns_handed_over &&
	    unshare(CLONE_NEWNET) < 0)
		child_fail(ctx->sync_fd,
			   &(struct nsrun_err){"netns", errno, "unshare a network namespace"});
	if (sethostname("nsrun", 5) < 0)
		child_fail(ctx->sync_fd, &(struct nsrun_err){"uts", errno, "sethostname"});
	if (plan->net.new_netns && !ctx->netns_handed_over) {
		if (netns_child_setup_early(&plan->net, ctx->supervisor_netns_ino, &err) < 0)
			child_fail(ctx->sync_fd, &err);
		/* sync 2: the filter is in; only now may tap0 appear. Its
		 * allowlist fills in while slirp4netns starts (tap0 is set up
		 * only after, and the command runs later still). */
		if (plan->net.egress) {
			sync_send(ctx->sync_fd, SYNC_FILTER_LOADED, 0, NULL);
			if (netns_child_fill_allowlist(&err) < 0)
				child_fail(ctx->sync_fd, &err);
		}
	}
	timing_now("child: net early");
	note_ignored_signals();
	/* sync 1: the supervisor wrote our maps. */
	r = sync_expect(ctx->sync_fd, SYNC_GO, SYNC_TIMEOUT_MS, &err);
	if (r < 0)
		_exit(125);
	timing_now("child: go");
	/* Take the mapped ids now so that files and tmpfs mounts we create are
	 * owned by the command's ids; the caps of the namespace stay. */
	if (plan->priv.clear_groups && setgroups(0, NULL) < 0)
		child_fail(ctx->sync_fd, &(struct nsrun_err){"privilege", errno, "setgroups"});
	if (setresgid(plan->map_gid, plan->map_gid, plan->map_gid) < 0 ||
	    setresuid(plan->map_uid, plan->map_uid, plan->map_uid) < 0)
		child_fail(ctx->sync_fd, &(struct nsrun_err){"privilege", errno, "setresuid"});
	/* After the id change: a credential change clears PDEATHSIG. */
	arm_parent_death(ctx->sync_fd);
	if (fsns_child_setup(&plan->fs, &err) < 0)
		child_fail(ctx->sync_fd, &err);
	timing_now("child: root built");
	if (ctx->netns_handed_over && enter_handed_netns(ctx, &err) < 0)
		child_fail(ctx->sync_fd, &err);
	/* Sealed while the supervisor still makes the cgroup, unless tap0 is
	 * yet to be set up: that takes the capabilities over the netns that
	 * the seal's nested user namespace does not have. */
	bool tap = plan->net.new_netns && plan->net.egress;

	if (!tap)
		seal(ctx);
	/* sync 1b: in the run's cgroup before anything is forked. */
	if (join_cgroup(ctx, &err) < 0)
		child_fail(ctx->sync_fd, &err);
	/* Moved there after the clone (cgroup v1): a cgroup namespace of its
	 * own again, so the sandbox sees the run cgroup as its root ("/") and
	 * not the supervisor's cgroup path. */
	if (plan->res.cgroup && (plan->clone_flags & CLONE_NEWCGROUP) &&
	    unshare(CLONE_NEWCGROUP) < 0)
		child_fail(ctx->sync_fd, &(struct nsrun_err){"resources", errno, "unshare cgroup namespace"});
	timing_now("child: cgroup joined");
	if (tap) {
		/* sync 3: slirp4netns attached tap0. */
		if (sync_expect(ctx->sync_fd, SYNC_TAP_READY, SYNC_TIMEOUT_MS, &err) < 0)
			child_fail(ctx->sync_fd, &err);
		if (netns_child_setup_tap(&plan->net, &err) < 0)
			child_fail(ctx->sync_fd, &err);
		seal(ctx);
	}
	arm_parent_death(ctx->sync_fd);
}

void child_main(const struct child_ctx *ctx)
{
	struct nsrun_err err = {0};

	if (setup_stdio(ctx, &err) < 0)
		child_fail(ctx->sync_fd, &err);
	close_others(ctx->sync_fd, ctx->netns_handed_over ? ctx->netns_sock : -1);
	if (ctx->plan->sandboxed)
		child_setup(ctx);
	else {
		struct nsrun_err e2 = {0};

		/* No pid namespace: a process group is what the supervisor kills. */
		setpgid(0, 0);
		note_ignored_signals();
		/* sync 1 and 1b here too: in the cgroup before anything runs. */
		if (sync_expect(ctx->sync_fd, SYNC_GO, SYNC_TIMEOUT_MS, &e2) < 0)
			_exit(125);
		if (join_cgroup(ctx, &e2) < 0)
			child_fail(ctx->sync_fd, &e2);
		arm_parent_death(ctx->sync_fd);
	}
	init_main(ctx);
}
