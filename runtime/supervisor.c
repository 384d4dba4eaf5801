/* DESIGN §3 steps 1, 2, 4 and the supervise loop. */
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "cleanup.h"
#include "sync.h"
#include "timing.h"

#define SETUP_TIMEOUT_MS 15000
#define SLIRP_READY_TIMEOUT_MS 5000
#define KILL_GRACE_MS 3000	/* after a forwarded SIGTERM, before SIGKILL */
#define DRAIN_MS 2000		/* output still flowing after init died */
#define CHUNK 65536

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int write_proc_file(pid_t pid, const char *name, const char *text, struct nsrun_err *err)
{
	char path[64];
	_cleanup_close_ int fd = -1;
	size_t len = strlen(text);

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
		if (errno == EPERM && geteuid() == 0)
			return nsrun_err_set(err, "userns", errno,
					     "writing %s (a root supervisor needs CAP_SETUID and "
					     "CAP_SETGID to map the sandbox's ids: keep them, or run "
					     "nsrun as a non-root user)", path);
		return nsrun_err_set(err, "userns", errno, "writing %s", path);
	}
	return 0;
}

/* sync 1 prerequisites: the one id of the command mapped to itself. */
static int write_maps(const struct plan *plan, pid_t pid, struct nsrun_err *err)
{
	char map[64];

	if (plan->deny_setgroups && write_proc_file(pid, "setgroups", "deny", err) < 0)
		return -1;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)plan->map_uid, (unsigned)plan->map_uid);
	if (write_proc_file(pid, "uid_map", map, err) < 0)
		return -1;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)plan->map_gid, (unsigned)plan->map_gid);
	return write_proc_file(pid, "gid_map", map, err);
}

static unsigned long netns_inode(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) == 0 ? (unsigned long)st.st_ino : 0;
}

/* clone3 with a pidfd, so signals and waits can never hit a recycled pid;
 * clone + pidfd_open on kernels without clone3. */
static pid_t clone_child(unsigned long flags, int *pidfd, int cgroup_fd, bool *born_in_cgroup)
{
	struct clone_args args;
	pid_t pid;

	memset(&args, 0, sizeof(args));
	args.flags = flags | CLONE_PIDFD;
	args.pidfd = (unsigned long)pidfd;
	args.exit_signal = SIGCHLD;
	if (cgroup_fd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (unsigned long)cgroup_fd;
	}
	pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (pid < 0 && cgroup_fd >= 0 && (errno == E2BIG || errno == EINVAL)) {
		/* a kernel without CLONE_INTO_CGROUP (< 5.7): attach later */
		args.flags &= ~(unsigned long)CLONE_INTO_CGROUP;
		args.cgroup = 0;
		pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
		cgroup_fd = -1;
	}
	if (pid >= 0 && cgroup_fd >= 0)
		*born_in_cgroup = true;
	if (pid < 0 && errno == ENOSYS) {
		pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
		if (pid > 0)
			*pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	}
	return pid;
}

struct stream {
	int src;	/* pipe read end, -1 when closed */
	int dst;	/* relay target (1 or 2), -1 when capturing */
	bool dst_is_pipe;
	bool dst_broken;
	char **cap_buf;
	size_t *cap_len;
	size_t cap_alloc;
};

struct sv {
	const struct plan *plan;
	const struct supervise_opts *opts;
	struct run_result *res;
	struct report *rep;
	pid_t pid;
	int pidfd;
	bool born_in_cgroup;	/* no cgroup_run_attach needed */
	bool cg_ready;		/* the run cgroup and its guard exist */
	int mntns_fd;		/* the sandbox's first mount namespace, until the guard holds it */
	int userns_fd;		/* the sandbox's user namespace, for the netns helper */
	int netns_sock;		/* the netns helper's end of its socket to the child */
	struct netns_maker maker;
	struct cgroup_run *cg;
	int64_t t0;
	int sync_fd;
	struct stream streams[2];
	int64_t total_out;
	bool init_exited;
	struct netns_slirp slirp; /* .pid > 0 while ours to reap */
	int64_t kill_at;	/* grace deadline after a forwarded signal, 0 = none */
	bool init_exited_by_kill; /* we sent SIGKILL: stop relaying to a stalled reader */
	int sigfd, timerfd;
	int64_t drain_until;
};

static void kill_sandbox(struct sv *sv)
{
	sv->init_exited_by_kill = true;
	if (sv->init_exited)
		return;
	if (sv->pidfd >= 0)
		syscall(SYS_pidfd_send_signal, sv->pidfd, SIGKILL, NULL, 0);
	else
		kill(sv->pid, SIGKILL);
	if (!sv->plan->sandboxed)
		kill(-sv->pid, SIGKILL); /* its process group */
}

static void on_timer(struct sv *sv, int timerfd);
static void on_signal(struct sv *sv, int sigfd);

/* Relays to our stdout/stderr without ever blocking the supervisor: a
 * reader that stalls must not stop the timeout or a forwarded signal. On a
 * pipe, POLLOUT guarantees room for one page, so writes go a page at a time. */
static void write_all(struct sv *sv, struct stream *s, const char *buf, size_t n)
{
	while (n > 0 && !s->dst_broken) {
		struct pollfd p[3] = {{s->dst, POLLOUT, 0}, {sv->sigfd, POLLIN, 0},
				      {sv->timerfd, POLLIN, 0}};
		size_t chunk = s->dst_is_pipe && n > 4096 ? 4096 : n;
		ssize_t w;

		int wait_ms = sv->kill_at ? (int)(sv->kill_at - now_ms()) : -1;

		if (poll(p, sv->timerfd >= 0 ? 3 : 2, sv->kill_at && wait_ms < 0 ? 0 : wait_ms) < 0) {
			if (errno == EINTR)
				continue;
			s->dst_broken = true;
			return;
		}
		if (sv->kill_at && now_ms() >= sv->kill_at) {
			kill_sandbox(sv); /* the grace after a forwarded signal is over */
			sv->kill_at = 0;
		}
		if (p[1].revents)
			on_signal(sv, sv->sigfd);
		if (sv->timerfd >= 0 && p[2].revents)
			on_timer(sv, sv->timerfd);
		if (sv->res->timed_out || sv->init_exited_by_kill) {
			/* The sandbox is being killed: what is left goes nowhere. */
			s->dst_broken = true;
			return;
		}
		if (!(p[0].revents & (POLLOUT | POLLERR | POLLHUP)))
			continue;
		w = write(s->dst, buf, chunk);
		if (w < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (w <= 0) {
			/* The reader went away: keep counting, stop writing. */
			s->dst_broken = true;
			return;
		}
		buf += w;
		n -= (size_t)w;
	}
}

static void capture(struct stream *s, const char *buf, size_t n)
{
	if (*s->cap_len + n + 1 > s->cap_alloc) {
		size_t want = s->cap_alloc ? s->cap_alloc : 4096;
		char *nb;

		while (want < *s->cap_len + n + 1)
			want *= 2;
		nb = realloc(*s->cap_buf, want);
		if (!nb)
			return;
		*s->cap_buf = nb;
		s->cap_alloc = want;
	}
	memcpy(*s->cap_buf + *s->cap_len, buf, n);
	*s->cap_len += n;
	(*s->cap_buf)[*s->cap_len] = '\0';
}

static void close_stream(struct stream *s)
{
	if (s->src >= 0)
		close(s->src);
	s->src = -1;
}

/* Output is bounded while it is read (BACKGROUND): past maxOutputBytes the
 * sandbox is killed and nothing more is buffered. */
static void pump(struct sv *sv, struct stream *s)
{
	char buf[CHUNK];
	ssize_t n = read(s->src, buf, sizeof(buf));
	int64_t room;
	size_t take;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close_stream(s);
		return;
	}
	room = sv->plan->max_output < 0 ? n : sv->plan->max_output - sv->total_out;
	take = room < n ? (size_t)(room > 0 ? room : 0) : (size_t)n;
	if (take) {
		if (s->dst >= 0)
			write_all(sv, s, buf, take);
		else
			capture(s, buf, take);
		sv->total_out += (int64_t)take;
	}
	if (take < (size_t)n) {
		sv->res->output_truncated = true;
		kill_sandbox(sv);
		close_stream(&sv->streams[0]);
		close_stream(&sv->streams[1]);
	}
}

/* The guard keeps the sandbox's mount namespace (that of pid, opened now,
 * or fd) until after we exit: its teardown then costs neither the seal
 * (which leaves the first namespace) nor the sandbox's exit. Best effort:
 * without a guard, or for a rootless supervisor once the child changed ids
 * (not dumpable), the kernel tears it down in place as before. */
static void guard_hold_mntns(struct sv *sv, const struct cgroup_run *cg, int fd)
{
	char path[64];

	if (fd < 0 && cg->guard_fd >= 0) {
		snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)sv->pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd >= 0) {
		cgroup_run_guard_hold(cg, fd);
		close(fd);
	}
}

/* Reads what the pipes hold now, without waiting for their end. */
static void drain_now(struct sv *sv)
{
	for (int i = 0; i < 2; i++) {
		struct stream *st = &sv->streams[i];

		while (st->src >= 0) {
			struct pollfd p = {st->src, POLLIN, 0};

			if (poll(&p, 1, 0) <= 0 || !p.revents)
				break;
			pump(sv, st);
		}
	}
}

static void finish_early(struct sv *sv)
{
	drain_now(sv);
	close_stream(&sv->streams[0]);
	close_stream(&sv->streams[1]);
	/* init is on its way out; make sure of it, and leave its reaping to
	 * whoever inherits it */
	kill_sandbox(sv);
	sv->init_exited = true;
	sv->drain_until = now_ms();
	timing_mark("sandbox done (alone)");
}

static void on_sync(struct sv *sv)
{
	struct sync_msg m;
	int r = sync_recv(sv->sync_fd, &m, 0);

	if (r == -ETIMEDOUT || r == -EINTR)
		return;
	if (r < 0) {
		close(sv->sync_fd);
		sv->sync_fd = -1;
		return;
	}
	switch (m.type) {
	case SYNC_RUNNING:
		timing_mark("command exec'd");
		sv->res->started = true;
		/* the sealed namespace, the one the sandbox exits in */
		if (sv->cg_ready && sv->plan->sandboxed)
			guard_hold_mntns(sv, sv->cg, -1);
		break;
	case SYNC_EXEC_FAILED:
		sv->res->exec_failed = true;
		sv->res->err = m.err;
		break;
	case SYNC_ERROR:
		sv->res->setup_failed = true;
		sv->res->err = m.err;
		kill_sandbox(sv);
		break;
	case SYNC_STATUS:
	case SYNC_STATUS_ALONE:
		sv->res->have_status = true;
		sv->res->wait_status = m.value;
		/* With a pid namespace, init alone with the reaped command is
		 * the whole sandbox, and it only exits now: what the command
		 * wrote is in the pipes already, so the run is over without
		 * waiting out init's exit (~0.15 ms: its mm and namespaces). */
		if (m.type == SYNC_STATUS_ALONE && sv->plan->sandboxed &&
		    (sv->plan->clone_flags & CLONE_NEWPID))
			finish_early(sv);
		break;
	default:
		break;
	}
}

static void on_init_exit(struct sv *sv);

static void slirp_exited(struct sv *sv)
{
	sv->slirp.pid = -1;
	/* Dying during set-up is a set-up failure, reported as such. */
	sv->res->slirp_died = sv->res->started;
}

/* As pid 1 of a container (tini's job) every orphan of the container is
 * ours to reap; otherwise only slirp4netns (init is reaped via its pidfd). */
static void reap_children(struct sv *sv)
{
	pid_t w;
	int st;

	if (getpid() != 1) {
		/* never waitpid(0): that reaps init (same process group) behind
		 * its pidfd once netns_slirp_wait_ready reaped the helper */
		if (sv->slirp.pid > 0 && waitpid(sv->slirp.pid, NULL, WNOHANG) == sv->slirp.pid)
			slirp_exited(sv);
		/* Without a pidfd (pre-5.3 kernels) SIGCHLD is the only news. */
		if (sv->pidfd < 0 && !sv->init_exited)
			on_init_exit(sv);
		return;
	}
	while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
		if (w == sv->pid) {
			if (WIFSIGNALED(st))
				sv->res->init_killed_by = WTERMSIG(st);
			sv->init_exited = true;
			sv->drain_until = now_ms() + DRAIN_MS;
		} else if (sv->slirp.pid > 0 && w == sv->slirp.pid) {
			slirp_exited(sv);
		}
	}
}

static void on_signal(struct sv *sv, int sigfd)
{
	struct signalfd_siginfo si;

	while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			reap_children(sv);
			continue;
		}
		/* Forward to the sandbox's init, which passes it to the command;
		 * a second signal, or the grace period running out, kills. */
		if (sv->res->forwarded_signal) {
			kill_sandbox(sv);
			continue;
		}
		sv->res->forwarded_signal = (int)si.ssi_signo;
		if (sv->pidfd >= 0)
			syscall(SYS_pidfd_send_signal, sv->pidfd, si.ssi_signo, NULL, 0);
		else if (!sv->init_exited)
			kill(sv->pid, (int)si.ssi_signo);
		if (!sv->plan->sandboxed)
			kill(-sv->pid, (int)si.ssi_signo);
		sv->kill_at = now_ms() + KILL_GRACE_MS;
	}
}

static void on_init_exit(struct sv *sv)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)sv->pid, &si, WEXITED | WNOHANG) == 0 && si.si_pid == sv->pid) {
		if (si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED)
			sv->res->init_killed_by = si.si_status;
		sv->init_exited = true;
		sv->drain_until = now_ms() + DRAIN_MS;
		timing_mark("sandbox exited");
	}
}

static void on_timer(struct sv *sv, int timerfd)
{
	uint64_t ticks;

	if (read(timerfd, &ticks, sizeof(ticks)) > 0 && !sv->init_exited) {
		sv->res->timed_out = true;
		kill_sandbox(sv);
	}
}

static int poll_timeout(const struct sv *sv)
{
	int64_t now = now_ms(), t = -1;

	if (sv->kill_at)
		t = sv->kill_at - now;
	if (sv->init_exited && (t < 0 || sv->drain_until - now < t))
		t = sv->drain_until - now;
	return t < 0 ? (sv->kill_at || sv->init_exited ? 0 : -1) : (int)t;
}

static void supervise(struct sv *sv, int sigfd, int timerfd)
{
	for (;;) {
		struct pollfd p[6];
		int n = 0, i_sync = -1, i_out[2] = {-1, -1}, i_pid = -1, i_sig, i_tmr = -1;

		if (sv->init_exited && sv->streams[0].src < 0 && sv->streams[1].src < 0)
			break;
		if (sv->init_exited && now_ms() >= sv->drain_until)
			break;
		if (sv->kill_at && now_ms() >= sv->kill_at) {
			kill_sandbox(sv);
			sv->kill_at = 0;
		}
		if (sv->sync_fd >= 0)
			p[i_sync = n++] = (struct pollfd){sv->sync_fd, POLLIN, 0};
		for (int s = 0; s < 2; s++)
			if (sv->streams[s].src >= 0)
				p[i_out[s] = n++] = (struct pollfd){sv->streams[s].src, POLLIN, 0};
		if (!sv->init_exited && sv->pidfd >= 0)
			p[i_pid = n++] = (struct pollfd){sv->pidfd, POLLIN, 0};
		p[i_sig = n++] = (struct pollfd){sigfd, POLLIN, 0};
		if (timerfd >= 0)
			p[i_tmr = n++] = (struct pollfd){timerfd, POLLIN, 0};
		if (poll(p, n, poll_timeout(sv)) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		/* Status first, so an init exit never loses the message. */
		if (i_sync >= 0 && p[i_sync].revents)
			on_sync(sv);
		for (int s = 0; s < 2; s++)
			if (i_out[s] >= 0 && p[i_out[s]].revents && sv->streams[s].src >= 0)
				pump(sv, &sv->streams[s]);
		if (p[i_sig].revents)
			on_signal(sv, sigfd);
		if (i_tmr >= 0 && p[i_tmr].revents)
			on_timer(sv, timerfd);
		if (i_pid >= 0 && p[i_pid].revents)
			on_init_exit(sv);
	}
	/* A status message sent just before init exited may still be queued. */
	while (sv->sync_fd >= 0 && !sv->res->have_status) {
		struct pollfd p = {sv->sync_fd, POLLIN, 0};

		if (poll(&p, 1, 0) <= 0)
			break;
		on_sync(sv);
	}
}

static int arm_timer(int64_t ms)
{
	struct itimerspec its = {0};
	int fd;

	if (ms <= 0)
		return -1;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0)
		return -1;
	its.it_value.tv_sec = ms / 1000;
	its.it_value.tv_nsec = (ms % 1000) * 1000000;
	timerfd_settime(fd, 0, &its, NULL);
	return fd;
}

/* Once the netns helper has its copy: the child then sees EOF if the
 * helper dies, or if none was started. */
static void close_netns_sock(struct sv *sv)
{
	if (sv->netns_sock >= 0)
		close(sv->netns_sock);
	sv->netns_sock = -1;
}

/* The run cgroup, and the guard that removes it if we get killed (and,
 * once the run is over, the empty cgroups of supervisors that were killed
 * with their guard). */
static int cgroup_ready(struct sv *sv, const struct host_caps *caps, struct cgroup_run *cg,
			struct nsrun_err *err)
{
	cgroup_run_name_paths(&sv->plan->res, caps, cg);
	/* The guard before the mkdirs: killed between the two, we would leave
	 * the cgroup to a sweep that cannot tell a reused pid from ours. One
	 * fork for two jobs: the guard makes the netns first. */
	if (sv->userns_fd >= 0) {
		struct netns_maker_job job = {.userns_fd = sv->userns_fd, .sock = sv->netns_sock};
		int r = cgroup_run_guard_job(cg, netns_maker_job, &job, err);

		close(sv->userns_fd);
		sv->userns_fd = -1;
		close_netns_sock(sv);
		if (r < 0)
			return -1;
		/* The netns is the longest chain of the set-up (~0.45 ms) and
		 * the cgroup is wanted only once the root is built: the guard
		 * gets the CPU first. Without this, with both CPUs busy (the
		 * child builds its root on the other), the guard waited for
		 * our mkdirs and the child for the netns (-0.05-0.08 ms a run,
		 * A/B over 300 runs, SCHED_FIFO and not). */
		sched_yield();
	} else if (cgroup_run_guard(cg, err) < 0) {
		return -1;
	}
	if (cgroup_run_make(&sv->plan->res, caps, cg, err) < 0)
		return -1;
	sv->cg_ready = true;
	timing_mark("cgroup created");
	if (sv->mntns_fd >= 0) {
		guard_hold_mntns(sv, cg, sv->mntns_fd);
		sv->mntns_fd = -1;
	}
	return 0;
}

/* DESIGN §3 steps 2 and 4, from the outside. */
static int parent_setup(struct sv *sv, const struct host_caps *caps, struct cgroup_run *cg,
			struct nsrun_err *err)
{
	const struct plan *plan = sv->plan;
	bool egress = plan->sandboxed && plan->net.egress;
	int r;

	if (plan->sandboxed && write_maps(plan, sv->pid, err) < 0)
		return -1;
	/* sync 1 */
	if (sync_send(sv->sync_fd, SYNC_GO, 0, NULL) < 0)
		return nsrun_err_set(err, "sync", EPIPE, "the sandbox exited before set-up");
	timing_mark("go sent");
	/* sync 2: the filter is in before any interface but lo exists (the
	 * child loads it before sync 1). slirp4netns starts first: its own
	 * start-up takes milliseconds, the cgroup work below overlaps it. */
	if (egress) {
		r = sync_expect(sv->sync_fd, SYNC_FILTER_LOADED, SETUP_TIMEOUT_MS, err);
		if (r < 0)
			return r;
		r = netns_slirp_start(&plan->net, caps->slirp4netns_path, sv->pid, &sv->slirp, err);
		if (r < 0)
			return r;
	}
	/* The child's network namespace, made beside it (netns/maker.c): by
	 * the cgroup guard when one is forked now (cgroup_ready), else by a
	 * helper of its own. */
	if (sv->userns_fd >= 0 && !(plan->res.cgroup && !sv->cg_ready)) {
		r = netns_maker_start(sv->userns_fd, sv->netns_sock, &sv->maker, err);
		close(sv->userns_fd);
		sv->userns_fd = -1;
		close_netns_sock(sv);
		if (r < 0)
			return r;
	}
	/* v2: born in the cgroup (CLONE_INTO_CGROUP). v1: the cgroup is made
	 * now, on this CPU, while the child builds its root on the other, and
	 * the child moves itself in at sync 1b, before it forks anything. */
	if (plan->res.cgroup && !sv->cg_ready && cgroup_ready(sv, caps, cg, err) < 0)
		return -1;
	close_netns_sock(sv);
	{
		int fds[SYNC_MAX_FDS], n = 0;

		if (plan->res.cgroup && cg->version == 1) {
			n = cgroup_run_open_tasks(cg, fds, SYNC_MAX_FDS, err);
			if (n < 0)
				return -1;
		} else if (plan->res.cgroup && !sv->born_in_cgroup &&
			   cgroup_run_attach(cg, sv->pid, err) < 0) {
			return -1;
		}
		r = sync_send_fds(sv->sync_fd, SYNC_CGROUP_JOINED, n, NULL, fds, n);
		while (n > 0)
			close(fds[--n]);
	}
	if (r < 0)
		return nsrun_err_set(err, "sync", EPIPE, "the sandbox exited during set-up");
	if (!egress)
		return 0;
	r = netns_slirp_wait_ready(&sv->slirp, SLIRP_READY_TIMEOUT_MS, err);
	if (r < 0)
		return r;
	/* sync 3 */
	if (sync_send(sv->sync_fd, SYNC_TAP_READY, 0, NULL) < 0)
		return nsrun_err_set(err, "sync", EPIPE, "the sandbox exited during network set-up");
	return 0;
}

/* Once set-up has forked all it forks, the supervisor only waits and
 * relays: it stays on the CPU it is on. Woken wherever a CPU was free, it
 * ended up with its mm lazily loaded on both, and its exit then had to
 * interrupt the other (usually idle) CPU to flush it: ~0.1 ms of every run
 * on a 2-vCPU VM (A/B, 4 x 400 runs, SCHED_FIFO and not). Its children
 * never see the narrowed mask: none is forked after this, and the old mask
 * is back before supervisor_run returns. */
static bool stay_on_this_cpu(cpu_set_t *saved)
{
	cpu_set_t one;
	int cpu = sched_getcpu();

	if (cpu < 0 || sched_getaffinity(0, sizeof(*saved), saved) < 0 || CPU_COUNT(saved) < 2)
		return false;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	return sched_setaffinity(0, sizeof(one), &one) == 0;
}

static int compute_exit(const struct run_result *res)
{
	if (res->setup_failed)
		return 125;
	if (res->exec_failed)
		return res->err.errnum == ENOENT ? 127 : 126;
	if (res->timed_out)
		return 124;
	if (res->have_status) {
		if (WIFEXITED(res->wait_status))
			return WEXITSTATUS(res->wait_status);
		if (WIFSIGNALED(res->wait_status))
			return 128 + WTERMSIG(res->wait_status);
	}
	if (res->output_truncated)
		return 128 + SIGKILL;
	if (res->forwarded_signal)
		return 128 + SIGKILL;
	/* Killed from outside: the sandbox died of that signal. */
	if (res->init_killed_by)
		return 128 + res->init_killed_by;
	return 125;
}

void supervisor_run(const struct plan *plan, const struct host_caps *caps,
		    const struct supervise_opts *opts, struct report *rep, struct run_result *res)
{
	struct seccomp_prog prog = {0};
	struct cgroup_run cg;
	struct sv sv;
	struct child_ctx ctx;
	sigset_t mask, old;
	int sp[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1}, nsk[2] = {-1, -1};
	_cleanup_close_ int sigfd = -1;
	_cleanup_close_ int timerfd = -1;
	int64_t t0 = now_ms();
	cpu_set_t cpus;
	bool pinned = false;

	memset(res, 0, sizeof(*res));
	memset(&sv, 0, sizeof(sv));
	memset(&cg, 0, sizeof(cg));
	sv.plan = plan;
	sv.opts = opts;
	sv.res = res;
	sv.rep = rep;
	sv.pidfd = -1;
	sv.sync_fd = -1;
	sv.mntns_fd = -1;
	sv.userns_fd = -1;
	sv.netns_sock = -1;
	sv.maker = (struct netns_maker){.pid = -1, .pidfd = -1};
	sv.cg = &cg;
	sv.slirp = (struct netns_slirp)NETNS_SLIRP_INIT;

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	sigprocmask(SIG_BLOCK, &mask, &old);
	signal(SIGPIPE, SIG_IGN);
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

	if (plan->sandboxed && plan->priv.seccomp)
		nsrun_seccomp_prebuilt(&prog);
	sv.t0 = t0;
	/* v2 clones straight into the cgroup, so it must exist first */
	if (plan->res.cgroup && plan->res.cgroup_version == 2) {
		if (cgroup_ready(&sv, caps, &cg, &res->err) < 0)
			goto setup_failed;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0 ||
	    pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		nsrun_err_set(&res->err, "supervisor", errno, "creating pipes");
		goto setup_failed;
	}

	ctx = (struct child_ctx){.plan = plan,
				 .seccomp = prog.filter ? &prog : NULL,
				 .sync_fd = sp[1],
				 .stdin_fd = opts->stdin_fd,
				 .stdout_fd = out[1],
				 .stderr_fd = errp[1],
				 .supervisor_netns_ino = netns_inode(),
				 /* egress runs load their filter before slirp4netns
				  * starts, as early as the child can: their own netns */
				 .netns_handed_over = plan->sandboxed && plan->net.new_netns &&
						      !plan->net.egress,
				 .netns_sock = -1};
	if (ctx.netns_handed_over) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, nsk) < 0) {
			nsrun_err_set(&res->err, "supervisor", errno, "socketpair for the netns");
			goto setup_failed;
		}
		ctx.netns_sock = nsk[1];
	}
	/* The network namespace is the child's first act, not the clone's: it
	 * is most of the clone's cost (~0.33 ms), and made by the child it
	 * overlaps our writing the maps (DESIGN: the child owns its set-up). */
	sv.pid = clone_child(plan->sandboxed ? plan->clone_flags & ~(unsigned long)CLONE_NEWNET : 0, &sv.pidfd,
			     sv.cg_ready && cg.version == 2 ? cg.v2_dirfd : -1, &sv.born_in_cgroup);
	if (sv.pid < 0) {
		int e = errno;
		char why[CAPS_REASON_LEN];

		if (plan->sandboxed) {
			caps_explain_userns(e, why, sizeof(why));
			nsrun_err_set(&res->err, "clone", 0, "creating the sandbox namespaces: %s", why);
		} else {
			nsrun_err_set(&res->err, "clone", e, "creating the sandbox");
		}
		goto setup_failed;
	}
	if (sv.pid == 0)
		child_main(&ctx);
	timing_mark("cloned");
	if (ctx.netns_handed_over) {
		char path[64];

		/* now, while the child is still dumpable (before its id change) */
		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)sv.pid);
		sv.userns_fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (plan->res.cgroup && plan->sandboxed && (plan->clone_flags & CLONE_NEWNS)) {
		char path[64];

		/* now, while the child is still dumpable (before its id change) */
		snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)sv.pid);
		sv.mntns_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (sv.cg_ready) {
			guard_hold_mntns(&sv, &cg, sv.mntns_fd);
			sv.mntns_fd = -1;
		}
	}
	close(sp[1]);
	close(out[1]);
	close(errp[1]);
	if (nsk[1] >= 0)
		close(nsk[1]);
	sp[1] = out[1] = errp[1] = nsk[1] = -1;
	sv.netns_sock = nsk[0];
	nsk[0] = -1;
	sv.sync_fd = sp[0];
	sv.streams[0] = (struct stream){.src = out[0], .dst = opts->capture ? -1 : 1,
					.cap_buf = &res->out, .cap_len = &res->out_len};
	sv.streams[1] = (struct stream){.src = errp[0], .dst = opts->capture ? -1 : 2,
					.cap_buf = &res->errbuf, .cap_len = &res->err_len};
	timerfd = arm_timer(plan->timeout_ms);
	sv.sigfd = sigfd;
	sv.timerfd = timerfd;
	for (int i = 0; i < 2; i++) {
		struct stat st;

		sv.streams[i].dst_is_pipe = sv.streams[i].dst >= 0 && fstat(sv.streams[i].dst, &st) == 0 &&
					    (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
	}

	if (parent_setup(&sv, caps, &cg, &res->err) < 0) {
		res->setup_failed = true;
		kill_sandbox(&sv);
	}
	timing_mark("maps written, go");
	pinned = stay_on_this_cpu(&cpus);
	supervise(&sv, sigfd, timerfd);
	if (!sv.init_exited) {
		kill_sandbox(&sv);
		waitpid(sv.pid, NULL, 0);
	}
	close_stream(&sv.streams[0]);
	close_stream(&sv.streams[1]);
	if (sv.sync_fd >= 0)
		close(sv.sync_fd);
	if (sv.pidfd >= 0)
		close(sv.pidfd);
	if (sv.mntns_fd >= 0)
		close(sv.mntns_fd);
	if (sv.userns_fd >= 0)
		close(sv.userns_fd);
	close_netns_sock(&sv);
	netns_maker_reap(&sv.maker);
	if (sv.slirp.pid > 0 || sv.slirp.exit_fd >= 0)
		netns_slirp_kill(&sv.slirp);
	timing_mark("output drained");
	if (sv.cg_ready) {
		res->oom = cgroup_run_oom_killed(&cg);
		/* with a pid namespace, init's exit left nothing running */
		if (plan->sandboxed && sv.init_exited && (plan->clone_flags & CLONE_NEWPID))
			cgroup_run_release(&cg);
		else
			cgroup_run_destroy(&cg);
		timing_mark("cgroup removed");
	}
	if (res->slirp_died)
		report_note(rep, LAYER_NETWORK, "slirp4netns exited during the run: egress was lost");
	if (pinned)
		sched_setaffinity(0, sizeof(cpus), &cpus);
	sigprocmask(SIG_SETMASK, &old, NULL);
	res->duration_ms = now_ms() - t0;
	res->exit_code = compute_exit(res);
	return;

setup_failed:
	res->setup_failed = true;
	for (int i = 0; i < 2; i++) {
		if (sp[i] >= 0)
			close(sp[i]);
		if (out[i] >= 0)
			close(out[i]);
		if (errp[i] >= 0)
			close(errp[i]);
		if (nsk[i] >= 0)
			close(nsk[i]);
	}
	if (sv.cg_ready)
		cgroup_run_destroy(&cg);
	sigprocmask(SIG_SETMASK, &old, NULL);
	res->duration_ms = now_ms() - t0;
	res->exit_code = 125;
}

void run_result_free(struct run_result *res)
{
	free(res->out);
	free(res->errbuf);
	res->out = res->errbuf = NULL;
}
