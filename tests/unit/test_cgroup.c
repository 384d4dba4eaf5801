/* cgroup layer: the probe against fake trees (any user), and real run
 * cgroups (root only): an OOM kill at the memory cap, the pids cap, destroy
 * killing leftovers, the stale sweep. Every cgroup made here is removed,
 * also when an assertion fails (fini hooks). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "runtime/caps.h"
#include "runtime/resources.h"

#define MIB (1024 * 1024)

static struct cgroup_run run;
static bool gone_or_zombie(pid_t pid);
static pid_t kids[4];

static void cleanup_run(void)
{
	for (size_t i = 0; i < sizeof(kids) / sizeof(kids[0]); i++)
		if (kids[i] > 0) {
			kill(kids[i], SIGKILL);
			waitpid(kids[i], NULL, 0);
			kids[i] = 0;
		}
	cgroup_run_destroy(&run);
}

static void setup_run(void)
{
	cgroup_run_init(&run);
}

/* Skips unless root on a host where the probe finds a usable cgroup. */
static void need_cgroups(struct host_caps *caps)
{
	if (geteuid() != 0)
		cr_skip_test("not root: run cgroups need root (or a delegated v2 subtree)");
	memset(caps, 0, sizeof(*caps));
	caps->euid_is_root = true;
	cgroup_probe(caps, true);
	if (!caps->cgroup_memory.ok || !caps->cgroup_pids.ok)
		cr_skip_test("no usable memory/pids cgroup: %s / %s", caps->cgroup_memory.reason,
			     caps->cgroup_pids.reason);
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* A child that waits for a byte on fd, then runs fn. */
static pid_t spawn_waiting(int *go_fd, void (*fn)(void))
{
	int p[2];
	pid_t pid;
	char c;

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(90);
		fn();
		_exit(0);
	}
	close(p[0]);
	*go_fd = p[1];
	return pid;
}

static void go(int fd)
{
	cr_assert_eq(write(fd, "g", 1), 1);
	close(fd);
}

static void hog_200mib(void)
{
	for (int i = 0; i < 200; i++) {
		char *m =
		    mmap(NULL, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (m == MAP_FAILED)
			_exit(91);
		memset(m, 1, MIB);
	}
	_exit(0); /* reaching here means the cap did not hold */
}

Test(cgroup_live, probe_fills_caps_and_leaves_nothing)
{
	struct host_caps caps;

	need_cgroups(&caps);
	cr_assert(caps.cgroup_version == 1 || caps.cgroup_version == 2);
	cr_assert(strstr(caps.cgroup_memory_dir, "/nsrun"), "%s", caps.cgroup_memory_dir);
	cr_assert(strstr(caps.cgroup_pids_dir, "/nsrun"), "%s", caps.cgroup_pids_dir);
	/* the probe cgroup is gone, and so is the "nsrun" dir unless a
	 * concurrent run holds it */
	char probe[600];
	snprintf(probe, sizeof(probe), "%s/nsrun-%d-probe", caps.cgroup_memory_dir, (int)getpid());
	cr_assert(!exists(probe));
}

Test(cgroup_live, oom_at_64mib, .init = setup_run, .fini = cleanup_run)
{
	struct host_caps caps;
	struct res_plan plan = {.cgroup = true, .memory_bytes = 64 * MIB, .pids_max = 64};
	struct nsrun_err err = {0};
	char mem[512], pids[512];
	int fd, st;

	need_cgroups(&caps);
	plan.cgroup_version = caps.cgroup_version;
	cr_assert_eq(cgroup_run_create(&plan, &caps, &run, &err), 0, "%s", err.detail);
	cr_assert(strncmp(run.name, "nsrun-", 6) == 0);
	snprintf(mem, sizeof(mem), "%s", run.version == 2 ? run.v2_path : run.memory_path);
	snprintf(pids, sizeof(pids), "%s", run.version == 2 ? run.v2_path : run.pids_path);
	cr_assert(exists(mem) && exists(pids));
	cr_assert(!cgroup_run_oom_killed(&run));

	kids[0] = spawn_waiting(&fd, hog_200mib);
	cr_assert_eq(cgroup_run_attach(&run, kids[0], &err), 0, "%s", err.detail);
	cr_assert_eq(cgroup_run_guard(&run, &err), 0, "%s", err.detail);
	pid_t guard = run.guard_pid;
	cr_assert_gt(guard, 0);
	go(fd);
	cr_assert_eq(waitpid(kids[0], &st, 0), kids[0]);
	kids[0] = 0;
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "hog status %#x: not OOM-killed", st);
	cr_assert(cgroup_run_oom_killed(&run));

	cgroup_run_destroy(&run);
	cr_assert(!exists(mem), "%s left behind", mem);
	/* destroy told the guard it is done: it exits on its own (not waited
	 * for, so it may still be on its way out) */
	for (int i = 0; i < 200 && !gone_or_zombie(guard); i++)
		usleep(10000);
	cr_assert(gone_or_zombie(guard), "guard %d still running", (int)guard);
	waitpid(guard, NULL, 0);
	cr_assert(!exists(pids), "%s left behind", pids);
	cr_assert_eq(run.version, 0);
}

static void fork_until_refused(void)
{
	int n = 0;

	for (;;) {
		pid_t p = fork();

		if (p < 0)
			_exit(errno == EAGAIN ? (n > 100 ? 100 : n) : 92);
		if (p == 0) {
			pause();
			_exit(0);
		}
		n++;
	}
}

Test(cgroup_live, pids_cap_and_destroy_kills_leftovers, .init = setup_run, .fini = cleanup_run)
{
	struct host_caps caps;
	struct res_plan plan = {.cgroup = true, .memory_bytes = -1, .pids_max = 10};
	struct nsrun_err err = {0};
	char path[512];
	int fd, st;

	need_cgroups(&caps);
	plan.cgroup_version = caps.cgroup_version;
	cr_assert_eq(cgroup_run_create(&plan, &caps, &run, &err), 0, "%s", err.detail);
	cr_assert_eq(run.memory_path[0], '\0', "no memory cgroup was asked for");
	snprintf(path, sizeof(path), "%s", run.version == 2 ? run.v2_path : run.pids_path);

	kids[0] = spawn_waiting(&fd, fork_until_refused);
	cr_assert_eq(cgroup_run_attach(&run, kids[0], &err), 0, "%s", err.detail);
	go(fd);
	cr_assert_eq(waitpid(kids[0], &st, 0), kids[0]);
	kids[0] = 0;
	/* 10 tasks in all: the forker and 9 children, which now linger as
	 * orphans in the cgroup for destroy to kill. */
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 9, "status %#x", st);
	cgroup_run_destroy(&run);
	cr_assert(!exists(path), "%s left behind", path);
}

/* /proc/<pid>/stat's starttime in boot-clock ms, written out here again so
 * the test does not take the sweep's word for it. */
static long long started_ms(pid_t pid)
{
	char path[64], buf[1024], *s;
	FILE *f;
	size_t n;
	int field = 2;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	s = strrchr(buf, ')');
	cr_assert_not_null(s);
	while (field < 22 && (s = strchr(s + 1, ' ')))
		field++;
	cr_assert_not_null(s);
	return strtoll(s + 1, NULL, 10) * 1000 / sysconf(_SC_CLK_TCK);
}

static long long boot_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Each name in a fresh dir, one sweep, then whether it is still there. */
static bool survives_sweep(const struct host_caps *caps, const char *name)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/%s", caps->cgroup_memory_dir, name);
	mkdir(caps->cgroup_memory_dir, 0755);
	cr_assert_eq(mkdir(path, 0755), 0, "%s: %s", path, strerror(errno));
	cgroup_sweep_stale(caps);
	if (!exists(path))
		return false;
	rmdir(path);
	return true;
}

Test(cgroup_live, sweep_removes_only_dead_owners, .init = setup_run, .fini = cleanup_run)
{
	struct host_caps caps;
	char name[128];
	long long child_ms, init_ms;
	pid_t pid, child;

	need_cgroups(&caps);
	pid = fork();
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0); /* a pid that is now dead */
	child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	kids[0] = child;
	child_ms = started_ms(child);

	snprintf(name, sizeof(name), "nsrun-%d-%lld", (int)pid, boot_ms() - 60000);
	cr_assert(!survives_sweep(&caps, name), "a dead supervisor's cgroup was not swept");
	/* a pid reused by a process younger than the name: its maker is gone */
	snprintf(name, sizeof(name), "nsrun-%d-%lld", (int)child, child_ms - 60000);
	cr_assert(!survives_sweep(&caps, name), "a reused pid's stale cgroup was not swept");
	/* the same, the name under 2 s old: most likely a run in flight */
	snprintf(name, sizeof(name), "nsrun-%d-%lld", (int)child, child_ms - 100);
	cr_assert(survives_sweep(&caps, name), "a 2 s young cgroup was swept");
	/* a live supervisor's own: made after it started */
	cgroup_run_name(name, sizeof(name));
	cr_assert(survives_sweep(&caps, name), "a live supervisor's cgroup was swept");
	init_ms = started_ms(1);
	if (boot_ms() - init_ms > 5000) {
		snprintf(name, sizeof(name), "nsrun-1-%lld", init_ms + 1000);
		cr_assert(survives_sweep(&caps, name),
			  "the cgroup of a live process older than its name was swept");
	}
	snprintf(name, sizeof(name), "nsrun-%d-probe", (int)getpid());
	cr_assert(survives_sweep(&caps, name), "a live supervisor's probe was swept");
	snprintf(name, sizeof(name), "not-nsrun-%d", (int)pid);
	cr_assert(survives_sweep(&caps, name), "a cgroup nsrun did not name was swept");
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	kids[0] = 0;
	rmdir(caps.cgroup_memory_dir);
}

static bool in_run(pid_t pid, const char *name)
{
	char path[64], buf[2048], needle[80];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	snprintf(needle, sizeof(needle), "/%s\n", name);
	return strstr(buf, needle) != NULL;
}

static long long us_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

/* The supervisor moves its freshly cloned, single-threaded child into the
 * run cgroup while the child builds its root: on v1 by the child's thread
 * ("tasks"), which skips the global lock a cgroup.procs write takes, so the
 * move costs microseconds, not an RCU grace period; the supervisor itself
 * never enters the run cgroup. */
Test(cgroup_live, attach_cloned_child, .init = setup_run, .fini = cleanup_run)
{
	struct host_caps caps;
	struct res_plan plan = {.cgroup = true, .memory_bytes = 64 * MIB, .pids_max = 16};
	struct nsrun_err err = {0};
	long long t0, t1;
	int st;

	need_cgroups(&caps);
	plan.cgroup_version = caps.cgroup_version;
	cr_assert_eq(cgroup_run_create(&plan, &caps, &run, &err), 0, "%s", err.detail);
	kids[0] = fork();
	if (kids[0] == 0) {
		alarm(30);
		pause();
		_exit(0);
	}
	t0 = us_now();
	cr_assert_eq(cgroup_run_attach(&run, kids[0], &err), 0, "%s", err.detail);
	t1 = us_now();
	cr_log_info("attach: %lld us", t1 - t0);
	cr_assert(in_run(kids[0], run.name), "the child is not in the run cgroup");
	cr_assert_not(in_run(getpid(), run.name), "the supervisor moved too");
	/* a process that is gone cannot be attached: an error, not a hang */
	cr_assert_lt(cgroup_run_attach(&run, 0x3ffffff0, &err), 0);
	/* destroy kills the child, not us */
	cgroup_run_destroy(&run);
	cr_assert_eq(waitpid(kids[0], &st, 0), kids[0]);
	kids[0] = 0;
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	cr_assert_not(in_run(getpid(), "nsrun"));
}

static bool gone_or_zombie(pid_t pid)
{
	char path[64], buf[256], *rp;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	rp = fgets(buf, sizeof(buf), f);
	fclose(f);
	rp = rp ? strrchr(buf, ')') : NULL;
	return !rp || rp[2] == 'Z';
}

/* release hands the removal to the guard: the supervisor returns at once,
 * the empty cgroup goes within moments, and the guard exits. */
Test(cgroup_live, release_lets_the_guard_remove, .init = setup_run, .fini = cleanup_run)
{
	struct host_caps caps;
	struct res_plan plan = {.cgroup = true, .memory_bytes = 64 * MIB, .pids_max = 16};
	struct nsrun_err err = {0};
	char mem[512];
	pid_t guard;
	int i;

	need_cgroups(&caps);
	plan.cgroup_version = caps.cgroup_version;
	cr_assert_eq(cgroup_run_create(&plan, &caps, &run, &err), 0, "%s", err.detail);
	cr_assert_eq(cgroup_run_guard(&run, &err), 0, "%s", err.detail);
	guard = run.guard_pid;
	snprintf(mem, sizeof(mem), "%s", run.version == 2 ? run.v2_path : run.memory_path);
	cgroup_run_release(&run);
	cr_assert_eq(run.version, 0);
	for (i = 0; i < 300 && exists(mem); i++)
		usleep(10000);
	cr_assert(!exists(mem), "%s still there 3 s after release", mem);
	for (i = 0; i < 300 && !gone_or_zombie(guard); i++)
		usleep(10000);
	cr_assert(gone_or_zombie(guard), "the guard did not exit");
	waitpid(guard, NULL, 0);
}

static void answer_job(void *arg, int sock)
{
	char msg[32];
	int n = snprintf(msg, sizeof(msg), "job %d ran in %d", *(int *)arg, (int)getpid());

	if (write(sock, msg, (size_t)n) != n)
		_exit(3);
}

/* The guard's first job runs in the guard's own process and answers on the
 * guard socket; the guard then guards as ever (release removes the run). */
Test(cgroup_live, guard_runs_a_job_first, .init = setup_run, .fini = cleanup_run)
{
	struct host_caps caps;
	struct res_plan plan = {.cgroup = true, .memory_bytes = 64 * MIB, .pids_max = 16};
	struct nsrun_err err = {0};
	char got[64] = "", want[64], mem[512];
	int arg = 42, i;
	ssize_t n;
	pid_t guard;

	need_cgroups(&caps);
	plan.cgroup_version = caps.cgroup_version;
	cr_assert_eq(cgroup_run_create(&plan, &caps, &run, &err), 0, "%s", err.detail);
	cr_assert_eq(cgroup_run_guard_job(&run, answer_job, &arg, &err), 0, "%s", err.detail);
	guard = run.guard_pid;
	n = read(run.guard_fd, got, sizeof(got) - 1);
	cr_assert_gt(n, 0);
	got[n] = '\0';
	snprintf(want, sizeof(want), "job 42 ran in %d", (int)guard);
	cr_assert_str_eq(got, want);
	snprintf(mem, sizeof(mem), "%s", run.version == 2 ? run.v2_path : run.memory_path);
	cgroup_run_release(&run);
	for (i = 0; i < 300 && exists(mem); i++)
		usleep(10000);
	cr_assert(!exists(mem), "%s still there after release", mem);
	for (i = 0; i < 300 && !gone_or_zombie(guard); i++)
		usleep(10000);
	cr_assert(gone_or_zombie(guard), "the guard did not exit");
	waitpid(guard, NULL, 0);
}

/* SPEC §6: supervisor SIGKILL leaves no cgroup and no process behind. A
 * forked "supervisor" makes a run cgroup with a sleeper in it, then dies by
 * SIGKILL without destroy: the guard must clean up. */
Test(cgroup_live, guard_cleans_up_after_supervisor_sigkill, .init = setup_run, .fini = cleanup_run)
{
	struct host_caps caps;
	struct res_plan plan = {.cgroup = true, .memory_bytes = 64 * MIB, .pids_max = 16};
	struct cgroup_run copy;
	pid_t sup, sleeper = 0;
	int p[2];

	need_cgroups(&caps);
	plan.cgroup_version = caps.cgroup_version;
	cr_assert_eq(pipe(p), 0);
	sup = fork();
	cr_assert_geq(sup, 0);
	if (sup == 0) {
		struct nsrun_err err = {0};
		struct cgroup_run cg;
		pid_t kid;

		close(p[0]);
		if (cgroup_run_create(&plan, &caps, &cg, &err) < 0)
			_exit(1);
		kid = fork();
		if (kid == 0) {
			alarm(30); /* never outlive the test */
			pause();
			_exit(0);
		}
		if (cgroup_run_attach(&cg, kid, &err) < 0 || cgroup_run_guard(&cg, &err) < 0)
			_exit(2);
		if (write(p[1], &cg, sizeof(cg)) != sizeof(cg) ||
		    write(p[1], &kid, sizeof(kid)) != sizeof(kid))
			_exit(3);
		pause();
		_exit(4);
	}
	close(p[1]);
	kids[0] = sup;
	cr_assert_eq(read(p[0], &copy, sizeof(copy)), (ssize_t)sizeof(copy), "supervisor failed");
	cr_assert_eq(read(p[0], &sleeper, sizeof(sleeper)), (ssize_t)sizeof(sleeper));
	close(p[0]);
	/* if the guard fails, fini's destroy cleans up with this copy */
	run = copy;
	run.guard_fd = -1;
	run.v2_dirfd = -1;
	kids[1] = sleeper;

	cr_assert_eq(kill(sup, SIGKILL), 0);
	waitpid(sup, NULL, 0);
	kids[0] = 0;
	const char *path = copy.version == 2 ? copy.v2_path : copy.memory_path;
	for (int i = 0;
	     i < 300 && (exists(path) || exists(copy.pids_path) || !gone_or_zombie(sleeper)); i++)
		usleep(10000);
	cr_assert(!exists(path), "%s left behind after supervisor SIGKILL", path);
	cr_assert(!copy.pids_path[0] || !exists(copy.pids_path), "%s left behind", copy.pids_path);
	cr_assert(gone_or_zombie(sleeper), "sandbox process %d survived its supervisor",
		  (int)sleeper);
	for (int i = 0; i < 100 && !gone_or_zombie(copy.guard_pid); i++)
		usleep(10000);
	cr_assert(gone_or_zombie(copy.guard_pid), "the guard %d did not exit", (int)copy.guard_pid);
	kids[1] = 0;
	cgroup_run_init(&run);
}

/* ---- the probe's decisions, against fake trees (no root needed) ---- */

static char tmp[256];

static void mkdirs(const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	for (char *s = path + strlen(tmp) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(path, 0755);
		*s = '/';
	}
	mkdir(path, 0755);
}

static void put(const char *rel, const char *text)
{
	char path[512], dir[512];
	FILE *f;

	snprintf(dir, sizeof(dir), "%s", rel);
	if (strrchr(dir, '/')) {
		*strrchr(dir, '/') = '\0';
		mkdirs(dir);
	}
	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	f = fopen(path, "w");
	cr_assert(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

/* Pre-creates the probe cgroup with its control files: a real cgroupfs
 * makes them on mkdir, a plain directory does not. */
static void fake_probe_dir(const char *nsrun_dir_rel, const char *const *files)
{
	char rel[512];

	snprintf(rel, sizeof(rel), "%s/nsrun-%d-probe", nsrun_dir_rel, (int)getpid());
	mkdirs(rel);
	for (; *files; files++) {
		char f[600];

		snprintf(f, sizeof(f), "%s/%s", rel, *files);
		put(f, "max\n");
	}
}

static void fake_init(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/nsrun-cgtest.XXXXXX");
	cr_assert(mkdtemp(tmp));
}

static void fake_fini(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", tmp);
}

static void probe_fake(struct host_caps *caps, const char *mountinfo_fmt, const char *self)
{
	char mi[2048];

	snprintf(mi, sizeof(mi), mountinfo_fmt, tmp, tmp, tmp);
	memset(caps, 0, sizeof(*caps));
	caps->euid_is_root = geteuid() == 0;
	cgroup_probe_from(caps, mi, self, true);
}

Test(cgroup_probe, hybrid_uses_v1_under_own_cgroup, .init = fake_init, .fini = fake_fini)
{
	struct host_caps caps;
	char want[512];

	mkdirs("memory/svc/a");
	mkdirs("pids");
	fake_probe_dir("memory/svc/a/nsrun", (const char *[]){"memory.limit_in_bytes", NULL});
	fake_probe_dir("pids/nsrun", (const char *[]){"pids.max", NULL});
	probe_fake(&caps,
		   "30 25 0:26 / %s/memory rw,relatime shared:9 - cgroup cgroup rw,memory\n"
		   "31 25 0:27 / %s/pids rw,relatime shared:10 - cgroup cgroup rw,pids\n"
		   "32 25 0:28 / %s/unified rw,relatime shared:11 - cgroup2 cgroup2 rw\n",
		   "9:pids:/\n4:memory:/svc/a\n1:name=systemd:/\n0::/\n");
	cr_assert_eq(caps.cgroup_version, 1);
	cr_assert(caps.cgroup_memory.ok, "%s", caps.cgroup_memory.reason);
	cr_assert(caps.cgroup_pids.ok, "%s", caps.cgroup_pids.reason);
	snprintf(want, sizeof(want), "%s/memory/svc/a/nsrun", tmp);
	cr_assert_str_eq(caps.cgroup_memory_dir, want);
	snprintf(want, sizeof(want), "%s/pids/nsrun", tmp);
	cr_assert_str_eq(caps.cgroup_pids_dir, want);
}

Test(cgroup_probe, v1_container_mount_root, .init = fake_init, .fini = fake_fini)
{
	struct host_caps caps;
	char want[512];

	/* docker without a cgroup namespace: the mount shows /docker/abc at
	 * the mount point, /proc/self/cgroup the full path */
	mkdirs("memory");
	fake_probe_dir("memory/nsrun", (const char *[]){"memory.limit_in_bytes", NULL});
	probe_fake(&caps, "30 25 0:26 /docker/abc %s/memory rw - cgroup cgroup rw,memory\n",
		   "4:memory:/docker/abc\n");
	cr_assert(caps.cgroup_memory.ok, "%s", caps.cgroup_memory.reason);
	snprintf(want, sizeof(want), "%s/memory/nsrun", tmp);
	cr_assert_str_eq(caps.cgroup_memory_dir, want);
	cr_assert(!caps.cgroup_pids.ok);
	cr_assert(strstr(caps.cgroup_pids.reason, "no cgroup v1 pids hierarchy"), "%s",
		  caps.cgroup_pids.reason);

	/* a process outside the mounted subtree gets a reason, not a wrong dir */
	probe_fake(&caps, "30 25 0:26 /docker/abc %s/memory rw - cgroup cgroup rw,memory\n",
		   "4:memory:/docker/abcdef\n");
	cr_assert(!caps.cgroup_memory.ok);
	cr_assert(strstr(caps.cgroup_memory.reason, "outside the mounted"), "%s",
		  caps.cgroup_memory.reason);
}

Test(cgroup_probe, v2_own_cgroup_with_controllers, .init = fake_init, .fini = fake_fini)
{
	struct host_caps caps;
	char want[512];

	mkdirs("cg/app");
	put("cg/app/cgroup.controllers", "cpu io memory pids\n");
	put("cg/app/cgroup.subtree_control", "memory pids\n");
	put("cg/app/nsrun/cgroup.subtree_control", "");
	fake_probe_dir("cg/app/nsrun",
		       (const char *[]){"memory.max", "pids.max", "memory.swap.max", NULL});
	probe_fake(&caps, "40 25 0:30 / %s/cg rw - cgroup2 cgroup2 rw,nsdelegate\n", "0::/app\n");
	cr_assert_eq(caps.cgroup_version, 2);
	cr_assert(caps.cgroup_memory.ok, "%s", caps.cgroup_memory.reason);
	cr_assert(caps.cgroup_pids.ok, "%s", caps.cgroup_pids.reason);
	snprintf(want, sizeof(want), "%s/cg/app/nsrun", tmp);
	cr_assert_str_eq(caps.cgroup_memory_dir, want);
	cr_assert_str_eq(caps.cgroup_pids_dir, want);
}

Test(cgroup_probe, v2_missing_controller_has_reason, .init = fake_init, .fini = fake_fini)
{
	struct host_caps caps;

	mkdirs("cg/app");
	put("cg/app/cgroup.controllers", "cpu io pids\n");
	put("cg/app/cgroup.subtree_control", "pids\n");
	put("cg/app/nsrun/cgroup.subtree_control", "");
	fake_probe_dir("cg/app/nsrun", (const char *[]){"pids.max", NULL});
	probe_fake(&caps, "40 25 0:30 / %s/cg rw - cgroup2 cgroup2 rw\n", "0::/app\n");
	cr_assert(!caps.cgroup_memory.ok);
	cr_assert(strstr(caps.cgroup_memory.reason, "memory controller is not enabled"), "%s",
		  caps.cgroup_memory.reason);
	cr_assert(caps.cgroup_pids.ok, "%s", caps.cgroup_pids.reason);
}

Test(cgroup_probe, v2_delegated_parent, .init = fake_init, .fini = fake_fini)
{
	struct host_caps caps;
	char want[512], path[512];

	/* we sit in leaf user/app; the delegated parent enables the
	 * controllers; our own cgroup.subtree_control refuses them (a real
	 * cgroupfs says EBUSY; here it is a directory: EISDIR, even for root) */
	mkdirs("cg/user/app/cgroup.subtree_control");
	put("cg/user/app/cgroup.controllers", "memory pids\n");
	put("cg/user/nsrun/cgroup.subtree_control", "");
	fake_probe_dir("cg/user/nsrun",
		       (const char *[]){"memory.max", "pids.max", "memory.swap.max", NULL});
	snprintf(path, sizeof(path), "%s/cg/user", tmp);
	/* root may write any cgroup, so for root delegation is systemd's mark */
	if (geteuid() == 0 && setxattr(path, "trusted.delegate", "1", 1, 0) < 0)
		cr_skip_test("no trusted xattrs on %s: %s", tmp, strerror(errno));
	probe_fake(&caps, "40 25 0:30 / %s/cg rw - cgroup2 cgroup2 rw\n", "0::/user/app\n");
	cr_assert(caps.cgroup_memory.ok, "%s", caps.cgroup_memory.reason);
	snprintf(want, sizeof(want), "%s/cg/user/nsrun", tmp);
	cr_assert_str_eq(caps.cgroup_memory_dir, want);

	/* not delegated: a reason that says what to change */
	if (geteuid() == 0)
		removexattr(path, "trusted.delegate");
	else
		chmod(path, 0555);
	probe_fake(&caps, "40 25 0:30 / %s/cg rw - cgroup2 cgroup2 rw\n", "0::/user/app\n");
	chmod(path, 0755);
	cr_assert(!caps.cgroup_memory.ok);
	cr_assert(strstr(caps.cgroup_memory.reason, "not delegated"), "%s",
		  caps.cgroup_memory.reason);
}

/* onUnavailable "fail": the run's own mkdir is the test, so the probe
 * makes nothing (here it could not: the parent is not writable) and only
 * locates the hierarchy. */
Test(cgroup_probe, assumed_probe_makes_nothing, .init = fake_init, .fini = fake_fini)
{
	struct host_caps caps;
	char mi[2048], path[512], want[512];
	struct stat st;

	mkdirs("memory/svc/a");
	mkdirs("pids");
	put("memory/svc/a/memory.memsw.limit_in_bytes", "");
	snprintf(path, sizeof(path), "%s/memory/svc/a", tmp);
	chmod(path, 0555);
	snprintf(mi, sizeof(mi),
		 "30 25 0:26 / %s/memory rw - cgroup cgroup rw,memory\n"
		 "31 25 0:27 / %s/pids rw - cgroup cgroup rw,pids\n",
		 tmp, tmp);
	memset(&caps, 0, sizeof(caps));
	cgroup_probe_from(&caps, mi, "9:pids:/\n4:memory:/svc/a\n", false);
	chmod(path, 0755);
	cr_assert(caps.cgroup_memory.ok && caps.cgroup_pids.ok);
	snprintf(want, sizeof(want), "%s/memory/svc/a/nsrun", tmp);
	cr_assert_str_eq(caps.cgroup_memory_dir, want);
	cr_assert(stat(want, &st) < 0 && errno == ENOENT, "the assumed probe made %s", want);
	/* the swap file was found next to where runs go: no caveat */
	cr_assert(!strstr(caps.cgroup_memory.reason, "swap"), "%s", caps.cgroup_memory.reason);
}

/* The assumed probe finds the hierarchies by statfs at their standard
 * places, not from mountinfo: on this host it must land on exactly what
 * the mountinfo-based live probe finds. */
Test(cgroup_probe, assumed_probe_agrees_with_mountinfo)
{
	struct host_caps live, fast;

	memset(&live, 0, sizeof(live));
	memset(&fast, 0, sizeof(fast));
	live.euid_is_root = fast.euid_is_root = geteuid() == 0;
	cgroup_probe(&live, true);
	cgroup_probe(&fast, false);
	cr_log_info("live: v%d %s | %s; assumed: v%d %s | %s", live.cgroup_version,
		    live.cgroup_memory_dir, live.cgroup_pids_dir, fast.cgroup_version,
		    fast.cgroup_memory_dir, fast.cgroup_pids_dir);
	cr_assert_eq(fast.cgroup_version, live.cgroup_version);
	if (live.cgroup_memory.ok)
		cr_assert_str_eq(fast.cgroup_memory_dir, live.cgroup_memory_dir);
	if (live.cgroup_pids.ok)
		cr_assert_str_eq(fast.cgroup_pids_dir, live.cgroup_pids_dir);
}

Test(cgroup_probe, no_cgroupfs)
{
	struct host_caps caps = {0};

	cgroup_probe_from(&caps, "22 1 0:21 / /proc rw - proc proc rw\n", "0::/\n", true);
	cr_assert_eq(caps.cgroup_version, 0);
	cr_assert(!caps.cgroup_memory.ok && !caps.cgroup_pids.ok);
	cr_assert(caps.cgroup_memory.reason[0]);
}

Test(cgroup_probe, live_probe_is_fast)
{
	struct host_caps caps;
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < 10; i++)
		cgroup_probe(&caps, true);
	clock_gettime(CLOCK_MONOTONIC, &b);
	long us = ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec)) / 10000;
	cr_log_info("cgroup_probe: %ld us (version %d, memory %s, pids %s)", us,
		    caps.cgroup_version, caps.cgroup_memory.ok ? "ok" : caps.cgroup_memory.reason,
		    caps.cgroup_pids.ok ? "ok" : caps.cgroup_pids.reason);
	/* generous: speed belongs to benchmarks; this only catches a probe
	 * that sleeps or scans */
	cr_assert_lt(us, 20000);
}

/* A run's cgroup goes with the run; the empty "nsrun" parent stays for the
 * next one (made by the first run: creating a memory cgroup per run cost
 * ~0.1 ms, and the guard cannot remove a parent in a 0555 hierarchy root). */
Test(cgroup_live, run_cgroup_goes_parent_stays, .init = setup_run, .fini = cleanup_run)
{
	struct host_caps caps;
	struct res_plan plan = {.cgroup = true, .memory_bytes = 64 * MIB, .pids_max = 64};
	struct nsrun_err err = {0};
	char mem[512], pids[512];

	need_cgroups(&caps);
	plan.cgroup_version = caps.cgroup_version;
	cr_assert_eq(cgroup_run_create(&plan, &caps, &run, &err), 0, "%s", err.detail);
	snprintf(mem, sizeof(mem), "%s", run.version == 2 ? run.v2_path : run.memory_path);
	snprintf(pids, sizeof(pids), "%s", run.version == 2 ? run.v2_path : run.pids_path);
	cr_assert(exists(mem) && exists(pids), "%s %s", mem, pids);
	cgroup_run_destroy(&run);
	cr_assert_not(exists(mem), "%s", mem);
	cr_assert_not(exists(pids), "%s", pids);
	cr_assert(exists(caps.cgroup_memory_dir), "%s", caps.cgroup_memory_dir);
	cr_assert(exists(caps.cgroup_pids_dir), "%s", caps.cgroup_pids_dir);
	cr_assert_eq(cgroup_run_create(&plan, &caps, &run, &err), 0, "%s", err.detail);
}

/* memoryBytes caps memory + swap: on v1 memory.memsw.limit_in_bytes holds
 * the cap too (it was set, then reset to unlimited by a probe for the
 * file; a host without swap could not tell), on v2 memory.swap.max is 0. */
Test(cgroup_live, swap_is_capped_with_memory, .init = setup_run, .fini = cleanup_run)
{
	struct host_caps caps;
	struct res_plan plan = {.cgroup = true, .memory_bytes = 64 * MIB, .pids_max = 64};
	struct nsrun_err err = {0};
	char path[700], buf[64] = "";
	FILE *f;

	need_cgroups(&caps);
	plan.cgroup_version = caps.cgroup_version;
	cr_assert_eq(cgroup_run_create(&plan, &caps, &run, &err), 0, "%s", err.detail);
	if (run.version == 2)
		snprintf(path, sizeof(path), "%s/memory.swap.max", run.v2_path);
	else
		snprintf(path, sizeof(path), "%s/memory.memsw.limit_in_bytes", run.memory_path);
	if (!exists(path))
		cr_skip_test("no swap accounting on this host: %s", path);
	f = fopen(path, "r");
	cr_assert(f && fgets(buf, sizeof(buf), f), "%s", path);
	fclose(f);
	cr_assert_eq(strtoll(buf, NULL, 10), run.version == 2 ? 0 : 64 * MIB, "%s = %s", path, buf);
}
