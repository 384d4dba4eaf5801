/* fsns_child_setup: builds the sandbox's root in the child, which is in a
 * fresh user+mount+pid namespace with every capability there and the
 * command's uid/gid as its own.
 *
 *   / private (nothing propagates back to the host)
 *   -> sources the staging tmpfs will cover are opened first
 *   -> tmpfs on the staging dir (e.g. /tmp) -> the steps, in plan order
 *   -> the root tmpfs remounted read-only
 *   -> pivot_root(".", ".") + umount2(".", MNT_DETACH) (under SCHED_FIFO
 *      in a helper, see detach_old_root): the old root is gone from the
 *      namespace, so no path, /proc/<pid>/root or ".." can reach it
 *   -> chdir(cwd). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fsns.h"
#include "runtime/timing.h"
#include "runtime/cleanup.h"

#define FD_SKIP (-2) /* an optional source that is not there */

static const char *kind_verb(enum fsns_step_kind k)
{
	switch (k) {
	case FSNS_TMPFS:
		return "mount tmpfs at";
	case FSNS_DEVPTS:
		return "mount devpts at";
	case FSNS_DIR:
		return "mkdir";
	default:
		return "set up";
	}
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* Once the staging tmpfs is mounted, paths below it name the tmpfs; a
 * source there (a --scratch in /tmp) is reached through an fd opened now. */
static int preopen(const struct fsns_plan *plan, int *fds, struct nsrun_err *err)
{
	for (size_t i = 0; i < plan->n_steps; i++) {
		const struct fsns_step *s = &plan->steps[i];
		int flags = O_CLOEXEC;

		if (s->kind == FSNS_COPY)
			flags |= O_RDONLY | O_NOCTTY;
		else if (s->kind == FSNS_BIND)
			flags |= O_PATH;
		else
			continue;
		if (!under(s->src, plan->staging))
			continue;
		fds[i] = open(s->src, flags);
		if (fds[i] < 0) {
			if (s->optional && (errno == ENOENT || errno == EACCES)) {
				fds[i] = FD_SKIP;
				continue;
			}
			return nsrun_err_set(err, "fsns", errno, "%s %s -> %s",
					     s->kind == FSNS_COPY ? "copy" : "bind", s->src,
					     s->dest);
		}
	}
	return 0;
}

static void close_fds(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static int apply_tmpfs(const char *path, const struct fsns_plan *plan, const struct fsns_step *s)
{
	unsigned long flags = MS_NOSUID | MS_NODEV;
	char opts[160];
	int n;

	n = snprintf(opts, sizeof(opts), "mode=%04o", s->mode);
	if (s->size)
		n += snprintf(opts + n, sizeof(opts) - (size_t)n, ",size=%llu",
			      (unsigned long long)s->size);
	/* uid=/gid= are read in the mounter's user namespace: the owner ids
	 * are the mapped ones, never 0 (which is not mapped). */
	if (s->owned)
		snprintf(opts + n, sizeof(opts) - (size_t)n, ",uid=%u,gid=%u",
			 (unsigned)plan->owner_uid, (unsigned)plan->owner_gid);
	if (s->noexec)
		flags |= MS_NOEXEC;
	if (!s->rw)
		flags |= MS_RDONLY;
	return mount("tmpfs", path, "tmpfs", flags, opts) < 0 ? -errno : 0;
}

/* --bind/--ro-bind/base trees (recursive: submounts come along and are
 * made read-only too) and device nodes (one file, no nodev). */
static int apply_bind(const struct fsns_root *root, const char *path, const struct fsns_step *s,
		      int src_fd, struct nsrun_err *err)
{
	bool dev = s->kind == FSNS_DEV_BIND;
	unsigned long long attrs;
	_cleanup_close_ int dest = -1;
	int r;

	if (src_fd == FD_SKIP)
		return 0;
	r = fsns_mkpath(root, s->dest, S_ISDIR(s->mode) ? FSNS_NODE_DIR : FSNS_NODE_FILE,
			dev ? NULL : &dest);
	if (r < 0)
		return nsrun_err_set(err, "fsns", -r, "bind %s -> %s", s->src, s->dest);
	if (dev)
		attrs = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC;
	else if (s->rw)
		attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
	else
		attrs = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
	if (dev)
		r = fsns_bind_file(s->src, path, attrs);
	else
		r = fsns_bind(src_fd, s->src, dest, path, true, attrs);
	if (r < 0 && s->optional && (r == -ENOENT || r == -EACCES))
		return 0;
	if (r < 0)
		return nsrun_err_set(err, "fsns", -r, "bind %s -> %s", s->src, s->dest);
	return 0;
}

static int apply_symlink(const struct fsns_root *root, const struct fsns_step *s,
			 struct nsrun_err *err)
{
	const char *base = strrchr(s->dest, '/');
	int dir = fsns_parent_dir(root, s->dest), r = dir < 0 ? dir : 0;

	if (r == 0 && symlinkat(s->src, dir, base ? base + 1 : s->dest) < 0)
		r = -errno;
	if (r < 0)
		return nsrun_err_set(err, "fsns", -r, "symlink %s -> %s", s->dest, s->src);
	return 0;
}

static int apply_step(const struct fsns_root *root, const struct fsns_plan *plan,
		      const struct fsns_step *s, int src_fd, struct nsrun_err *err)
{
	char path[512];
	int r = 0;

	snprintf(path, sizeof(path), "%s%s", root->prefix, s->dest);
	/* With the host's root in place only /proc is ever mounted over; a
	 * plan asking for more is a bug, and mkdir on the host is never ok. */
	if (!root->prefix[0] && s->kind != FSNS_PROC && s->kind != FSNS_MASK && s->kind != FSNS_RO)
		return nsrun_err_set(err, "fsns", 0, "refusing to change the host's %s", s->dest);
	/* a mount here may cover the cached parent directory */
	if (s->kind != FSNS_SYMLINK && s->kind != FSNS_COPY && s->kind != FSNS_HOSTS &&
	    s->kind != FSNS_RESOLV && s->kind != FSNS_DIR)
		fsns_parent_forget(root, s->dest);
	switch (s->kind) {
	case FSNS_BIND:
	case FSNS_DEV_BIND:
		return apply_bind(root, path, s, src_fd, err);
	case FSNS_SYMLINK:
		return apply_symlink(root, s, err);
	case FSNS_COPY:
		return src_fd == FD_SKIP ? 0 : fsns_apply_copy(root, s, src_fd, err);
	case FSNS_HOSTS:
		return fsns_apply_write(root, s->dest, plan->hosts, err);
	case FSNS_RESOLV:
		return fsns_apply_write(root, s->dest, plan->resolv_conf, err);
	case FSNS_PROC:
		return fsns_apply_proc(root, plan, s, err);
	case FSNS_MASK:
		return fsns_apply_mask(root, s, err);
	case FSNS_RO:
		r = fsns_bind(-1, path, -1, path, true,
			      MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
		if (r < 0)
			return nsrun_err_set(err, "fsns", -r, "remount %s read-only", s->dest);
		return 0;
	case FSNS_DIR:
	case FSNS_TMPFS:
	case FSNS_DEVPTS:
		r = fsns_mkpath(root, s->dest, FSNS_NODE_DIR, NULL);
		if (r == 0 && s->kind == FSNS_TMPFS)
			r = apply_tmpfs(path, plan, s);
		/* ptys are made by the kernel, not through the mount: ro is fine */
		else if (r == 0 && s->kind == FSNS_DEVPTS &&
			 mount("devpts", path, "devpts", MS_NOSUID | MS_NOEXEC | MS_RDONLY,
			       "newinstance,ptmxmode=0666,mode=620") < 0)
			r = -errno;
		break;
	}
	if (r < 0)
		return nsrun_err_set(err, "fsns", -r, "%s %s", kind_verb(s->kind), s->dest);
	return 0;
}

static int apply_steps(const char *prefix, const struct fsns_plan *plan, const int *fds,
		       struct nsrun_err *err)
{
	_cleanup_close_ int fd = open(prefix[0] ? prefix : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct fsns_parent_cache cache = {.fd = -1};
	struct fsns_root root = {.prefix = prefix, .fd = fd, .parent = &cache};

	int r = 0;

	if (fd < 0)
		return nsrun_err_set(err, "fsns", errno, "open %s", prefix[0] ? prefix : "/");
	for (size_t i = 0; i < plan->n_steps && r == 0; i++) {
		r = apply_step(&root, plan, &plan->steps[i], fds ? fds[i] : -1, err);
		timing_detail(plan->steps[i].dest);
	}
	fsns_parent_forget(&root, NULL);
	return r;
}

/* Under SCHED_FIFO/RR the old root's detach is a helper's: umount2 returns
 * only after an RCU grace period (~0.1-0.25 ms), which nothing here needs
 * to wait for. The mounts leave the namespace at once; the helper then
 * sleeps out the grace period while we go on. Nothing may run in the
 * sandbox before they are gone: the seal's unshare(CLONE_NEWUSER) refuses
 * (EPERM) while the old root is still stacked on "/", and then waits for
 * the helper (fsns_old_root_wait); without a seal, so does fsns_child_seal.
 * Under CFS a forked helper gets no CPU until we block (the seal then
 * waited for it: +0.1 ms a run, bench without --rt), so there we detach
 * ourselves. */
static pid_t detach_helper = -1;
static unsigned detach_delay_us;

void fsns_detach_delay_for_tests(unsigned usec)
{
	detach_delay_us = usec;
}

#if defined(__x86_64__)
/* The helper shares our memory (no page tables to copy, none to tear down
 * at its exit: -0.1 ms a run against a fork, A/B under SCHED_FIFO), so it
 * must not touch errno or anything else of libc's, nor the sanitizers'
 * per-thread state: raw syscalls, uninstrumented. */
#define NO_SANITIZE __attribute__((no_sanitize("address", "undefined")))

static NO_SANITIZE long raw_syscall2(long n, long a, long b)
{
	long r;

	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return r;
}

static NO_SANITIZE int detach_helper_main(void *arg)
{
	struct timespec delay = {.tv_sec = detach_delay_us / 1000000,
				 .tv_nsec = (long)(detach_delay_us % 1000000) * 1000};
	long r;

	(void)arg;
	if (detach_delay_us)
		raw_syscall2(SYS_nanosleep, (long)&delay, 0);
	r = raw_syscall2(SYS_umount2, (long)".", MNT_DETACH);
	return r < 0 ? (int)-r : 0;
}

static char detach_stack[16384] __attribute__((aligned(16)));

static pid_t start_detach_helper(void)
{
	pid_t pid = clone(detach_helper_main, detach_stack + sizeof(detach_stack), CLONE_VM | SIGCHLD,
			  NULL);

	return pid >= 0 || errno != EINVAL ? pid : fork(); /* valgrind refuses CLONE_VM alone */
}
#else
static pid_t start_detach_helper(void)
{
	return fork();
}
#endif

static int detach_old_root(struct nsrun_err *err)
{
	int policy = sched_getscheduler(0);
	pid_t pid = -1;

	if (policy == SCHED_FIFO || policy == SCHED_RR || detach_delay_us)
		pid = start_detach_helper();
	if (pid == 0) {
		if (detach_delay_us)
			usleep(detach_delay_us);
		_exit(umount2(".", MNT_DETACH) == 0 ? 0 : errno);
	}
	if (pid > 0) {
		detach_helper = pid;
		/* The detach itself is quick: let it happen now, on this CPU,
		 * rather than once we block (a runnable helper of equal
		 * priority waits for that, and the seal for the helper). */
		sched_yield();
		return 0;
	}
	if (umount2(".", MNT_DETACH) < 0)
		return nsrun_err_set(err, "fsns", errno, "detach the old root");
	return 0;
}

bool fsns_old_root_pending(void)
{
	return detach_helper > 0;
}

pid_t fsns_old_root_pid(void)
{
	return detach_helper;
}

void fsns_old_root_reaped(pid_t pid)
{
	if (pid > 0 && pid == detach_helper)
		detach_helper = -1;
}

int fsns_old_root_wait(struct nsrun_err *err)
{
	pid_t w;
	int st = 0;

	if (detach_helper <= 0)
		return 0;
	do
		w = waitpid(detach_helper, &st, 0);
	while (w < 0 && errno == EINTR);
	detach_helper = -1;
	if (w < 0)
		return nsrun_err_set(err, "fsns", errno, "waiting for the old root's detach");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return nsrun_err_set(err, "fsns", WIFEXITED(st) ? WEXITSTATUS(st) : 0,
				     "detach the old root");
	return 0;
}

static int enter_root(const struct fsns_plan *plan, struct nsrun_err *err)
{
	/* Mount points, /etc and /dev are ours; nothing may change them.
	 * Read-only before the pivot, by the staging path: the detach may
	 * still be under way once we return. */
	int r = fsns_mount_attr(plan->staging, false,
				MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);

	if (r < 0)
		return nsrun_err_set(err, "fsns", -r, "remount / read-only");
	/* pivot_root(".", ".") stacks the old root on the new one; detaching
	 * the top of "." then drops the old root from the namespace for good
	 * (no oldroot dir is left behind to find). */
	if (chdir(plan->staging) < 0)
		return nsrun_err_set(err, "fsns", errno, "chdir %s", plan->staging);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return nsrun_err_set(err, "fsns", errno, "pivot_root to the new root");
	timing_now("pivoted");
	if (detach_old_root(err) < 0)
		return -1;
	timing_now("old root detaching");
	if (chdir("/") < 0)
		return nsrun_err_set(err, "fsns", errno, "chdir /");
	return 0;
}

static int build_root(const struct fsns_plan *plan, struct nsrun_err *err)
{
	int fds[FSNS_MAX_STEPS];
	char opts[64];
	int r;

	for (size_t i = 0; i < FSNS_MAX_STEPS; i++)
		fds[i] = -1;
	r = preopen(plan, fds, err);
	if (r == 0) {
		snprintf(opts, sizeof(opts), "mode=0755,size=%llu",
			 (unsigned long long)plan->root_size);
		if (mount("tmpfs", plan->staging, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
			r = nsrun_err_set(err, "fsns", errno, "mount tmpfs for the new root on %s",
					  plan->staging);
	}
	timing_now("staging tmpfs");
	if (r == 0)
		r = apply_steps(plan->staging, plan, fds, err);
	/* Host fds must not outlive the old root (an open dir is a way back). */
	close_fds(fds, plan->n_steps);
	if (r == 0)
		r = enter_root(plan, err);
	timing_now("root entered");
	return r;
}

int fsns_child_setup(const struct fsns_plan *plan, struct nsrun_err *err)
{
	mode_t old_umask;
	int r = 0;

	if (!plan->new_root && !plan->fresh_proc && !plan->limit_userns && !plan->cwd[0])
		return 0; /* policy disabled */
	if ((plan->new_root || plan->fresh_proc) &&
	    fsns_ns_is("mnt", plan->sup_mntns_dev, plan->sup_mntns_ino) == 1)
		return nsrun_err_set(
		    err, "fsns", 0, "refusing to mount: still in the supervisor's mount namespace");
	if ((plan->new_root || plan->fresh_proc) &&
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return nsrun_err_set(err, "fsns", errno, "make / private");
	/* Made files and dirs get exactly the modes the plan says. */
	old_umask = umask(022);
	/* Without a fresh procfs the planner recorded a downgrade; the limit
	 * is still worth having when the host /proc/sys lets us write it. */
	if (plan->limit_userns && !plan->fresh_proc)
		(void)fsns_limit_userns("/proc", plan);
	if (plan->new_root)
		r = build_root(plan, err);
	else
		r = apply_steps("", plan, NULL, err);
	umask(old_umask);
	if (r < 0)
		return r;
	if (plan->cwd[0] && chdir(plan->cwd) < 0)
		return nsrun_err_set(err, "fsns", errno, "chdir %s", plan->cwd);
	return 0;
}
