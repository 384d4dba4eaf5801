/* fsns_child_setup for real, in a throw-away user+mount+pid namespace: a
 * child unshares, maps its own uid/gid to themselves, forks the pid 1 of the
 * new pid namespace, which builds the root and checks it from inside. Never
 * mounts anything in the machine's own namespace: the setup makes / private
 * before its first mount, and the tests that make a submount first do the
 * same themselves. */
#include <criterion/criterion.h>

#include "unit_util.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsns/fsns.h"
#include "runtime/caps.h"
#include "runtime/inputs.h"
#include "runtime/policy.h"
#include "runtime/report.h"

/* Inside the sandbox Criterion's asserts cannot report (we are a grandchild
 * in other namespaces): print and fail with an exit code instead. */
#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: check failed: %s (errno: %s)\n", __FILE__,         \
				__LINE__, #c, strerror(errno));                                    \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

static char *argv_true[] = {"/bin/true", NULL};
static struct fsns_plan plan;
static struct policy pol;
static struct run_inputs in;
static char tmpdir[64];
static bool legacy;
static unsigned detach_delay_us;

static void setup(void)
{
	memset(&in, 0, sizeof(in));
	in.argv = argv_true;
	in.sandbox_uid_env = in.sandbox_gid_env = -1;
	legacy = false;
	detach_delay_us = 0;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fsns-child-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	chmod(tmpdir, 0755);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", tmpdir);
}

TestSuite(fsns_child, .init = setup, .fini = teardown);

static void make_plan(const char *mode)
{
	struct host_caps caps;
	struct report rep;
	struct nsrun_err err = {0};
	char over[128];

	snprintf(over, sizeof(over), "{\"filesystem\":{\"mode\":\"%s\"}}", mode);
	cr_assert_eq(policy_from_texts(NULL, 0, over, strlen(over), &pol, &err), 0, "%s",
		     err.detail);
	caps_all_ok(&caps, geteuid() == 0);
	report_init(&rep);
	cr_assert_eq(fsns_plan(&pol, &caps, &in, getuid(), getgid(), &plan, &rep, &err), 0, "%s",
		     err.detail);
	report_free(&rep);
	policy_free(&pol);
}


static int map_self(uid_t uid, gid_t gid)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	if (unit_write_file("/proc/self/uid_map", buf) < 0)
		return -1;
	if (unit_write_file("/proc/self/setgroups", "deny") < 0 && errno != ENOENT)
		return -1;
	snprintf(buf, sizeof(buf), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	return unit_write_file("/proc/self/gid_map", buf);
}

typedef int (*body_fn)(void);
typedef int (*pre_fn)(void);

/* Runs pre (in the new namespaces, before the setup), fsns_child_setup and
 * body as pid 1 of a fresh pid namespace. When expect_fail, the setup must
 * fail and body gets to look at the error through last_err. */
static struct nsrun_err last_err;

static int in_sandbox(pre_fn pre, body_fn body, bool expect_fail)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	pid_t pid;
	int st;

	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		pid_t init;

		if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID) < 0) {
			perror("unshare");
			_exit(90);
		}
		if (map_self(uid, gid) < 0) {
			perror("uid/gid map");
			_exit(91);
		}
		/* unshare(CLONE_NEWPID) puts our children, not us, in the new
		 * pid namespace: the fork below is its pid 1. */
		init = fork();
		if (init == 0) {
			int r;

			if (pre && pre() != 0)
				_exit(92);
			fsns_mount_force_legacy(legacy);
			fsns_detach_delay_for_tests(detach_delay_us);
			r = fsns_child_setup(&plan, &last_err);
			if (r == 0)
				r = fsns_child_seal(&plan, uid, gid, &last_err);
			if (expect_fail != (r < 0)) {
				fprintf(stderr, "fsns_child_setup: %d %s: %s: %s\n", r,
					last_err.stage, last_err.detail, strerror(last_err.errnum));
				_exit(93);
			}
			_exit(body() ? 1 : 0);
		}
		if (init < 0 || waitpid(init, &st, 0) != init)
			_exit(94);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The command runs with no capabilities at all (privilege layer); drop
 * them here the same way to test what it can do. */
static int drop_caps(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	return (int)syscall(SYS_capset, &h, d);
}

static int expect_errno(int r, int e)
{
	return r < 0 && errno == e;
}

static int read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return (int)n;
}

/* Every mount of the sandbox is read-only except the writable ones. */
static int mounts_are_ro_except(const char *const *rw, size_t n_rw)
{
	char line[1024], mp[512], opts[256];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int bad = 0;

	if (!f)
		return 1;
	while (fgets(line, sizeof(line), f)) {
		bool allowed = false;

		if (sscanf(line, "%*s %*s %*s %*s %511s %255s", mp, opts) != 2)
			continue;
		if (strncmp(opts, "ro", 2) == 0 && (opts[2] == ',' || opts[2] == '\0'))
			continue;
		for (size_t i = 0; i < n_rw; i++)
			allowed |= strcmp(mp, rw[i]) == 0;
		if (!allowed) {
			fprintf(stderr, "writable mount: %s", line);
			bad = 1;
		}
		if (!strstr(opts, "nosuid")) {
			fprintf(stderr, "suid mount: %s", line);
			bad = 1;
		}
	}
	fclose(f);
	return bad;
}

static int body_scratch_only(void)
{
	struct statfs sf;
	struct stat root, up, st;
	char buf[256], cwd[256];
	int fd;

	CHECK(statfs("/", &sf) == 0 && sf.f_type == TMPFS_MAGIC);
	CHECK(expect_errno(open("/usr/nsrun-probe", O_CREAT | O_WRONLY, 0644), EROFS));
	CHECK(expect_errno(mkdir("/usr/lib/nsrun-probe", 0755), EROFS));
	CHECK(expect_errno(open("/etc/nsrun-probe", O_CREAT | O_WRONLY, 0644), EROFS));
	CHECK(expect_errno(open("/etc/passwd", O_WRONLY), EROFS));
	CHECK(expect_errno(mkdir("/nsrun-probe", 0755), EROFS));
	CHECK(expect_errno(mkdir("/dev/nsrun-probe", 0755), EROFS));
	CHECK(read_small("/etc/passwd", buf, sizeof(buf)) > 0);
	CHECK(read_small("/etc/hosts", buf, sizeof(buf)) > 0 && strstr(buf, "localhost"));
	CHECK(expect_errno(access("/etc/shadow", F_OK), ENOENT));
	CHECK(expect_errno(access("/sys", F_OK), ENOENT));
	CHECK(expect_errno(access("/work", F_OK), ENOENT));
	CHECK(expect_errno(access(tmpdir, F_OK), ENOENT)); /* the host's /tmp is not ours */
	CHECK(access("/bin/sh", X_OK) == 0);

	/* Our own pid namespace and procfs, read-only. */
	CHECK(readlink("/proc/self", buf, sizeof(buf)) == 1 && buf[0] == '1');
	CHECK(expect_errno(open("/proc/sys/user/max_user_namespaces", O_WRONLY), EROFS));
	CHECK(access("/proc/sysrq-trigger", F_OK) < 0 ||
	      expect_errno(open("/proc/sysrq-trigger", O_WRONLY), EROFS));
	CHECK(read_small("/proc/sys/user/max_user_namespaces", buf, sizeof(buf)) > 0 &&
	      buf[0] == '0');
	CHECK(read_small("/proc/keys", buf, sizeof(buf)) == 0);
	CHECK(access("/proc/kcore", F_OK) < 0 || read_small("/proc/kcore", buf, sizeof(buf)) == 0);

	/* No way back to the host's root. */
	CHECK(stat("/", &root) == 0 && stat("/..", &up) == 0 && root.st_ino == up.st_ino);
	CHECK(stat("/proc/1/root/..", &up) == 0 && root.st_ino == up.st_ino &&
	      root.st_dev == up.st_dev);
	CHECK(expect_errno(access("/proc/1/root/work", F_OK), ENOENT));
	{
		char via[128];

		snprintf(via, sizeof(via), "/proc/1/root/..%s", tmpdir);
		CHECK(expect_errno(access(via, F_OK), ENOENT));
	}

	/* Writable: /tmp, the scratch dir (cwd), /dev/shm; devices work. */
	CHECK(getcwd(cwd, sizeof(cwd)) && strcmp(cwd, "/scratch") == 0);
	CHECK((fd = open("/tmp/x", O_CREAT | O_WRONLY, 0644)) >= 0 && write(fd, "x", 1) == 1);
	close(fd);
	CHECK((fd = open("here", O_CREAT | O_WRONLY, 0644)) >= 0);
	close(fd);
	CHECK(stat("/scratch", &st) == 0 && (st.st_mode & 07777) == 0700 && st.st_uid == getuid());
	CHECK(stat("/tmp", &st) == 0 && (st.st_mode & 07777) == 01777);
	CHECK((fd = open("/dev/shm/x", O_CREAT | O_WRONLY, 0644)) >= 0);
	close(fd);
	CHECK((fd = open("/dev/null", O_WRONLY)) >= 0 && write(fd, "x", 1) == 1);
	close(fd);
	CHECK((fd = open("/dev/ptmx", O_RDWR | O_NOCTTY)) >= 0);
	close(fd);
	CHECK(readlink("/dev/fd", buf, sizeof(buf)) > 0);
	CHECK(expect_errno(mknod("/tmp/null2", S_IFCHR | 0666, makedev(1, 3)), EPERM));

	static const char *const rw[] = {"/tmp", "/scratch", "/dev/shm"};
	CHECK(mounts_are_ro_except(rw, 3) == 0);

	/* What the command can do: no capabilities, so no remount and no
	 * unmount of a mask; and no user namespace to get them back in. */
	CHECK(drop_caps() == 0);
	CHECK(expect_errno(mount(NULL, "/usr", NULL, MS_REMOUNT | MS_BIND, NULL), EPERM));
	CHECK(expect_errno(mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND, NULL), EPERM));
	CHECK(expect_errno(umount2("/proc/keys", MNT_DETACH), EPERM));
	CHECK(unshare(CLONE_NEWUSER) < 0 && (errno == ENOSPC || errno == EPERM));
	return 0;
}

/* The seal: even holding every capability of the command's namespace, the
 * mounts cannot be made writable, unmasked or unmounted (MNT_LOCKED). */
static int body_locked_with_caps(void)
{
	CHECK(expect_errno(mount(NULL, "/usr", NULL, MS_REMOUNT | MS_BIND, NULL), EPERM));
	CHECK(expect_errno(mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND, NULL), EPERM));
	CHECK(expect_errno(mount(NULL, "/proc", NULL, MS_REMOUNT | MS_BIND, NULL), EPERM));
	CHECK(umount2("/proc/keys", MNT_DETACH) < 0);
	CHECK(umount2("/usr", MNT_DETACH) < 0);
	CHECK(expect_errno(open("/proc/sys/user/max_user_namespaces", O_WRONLY), EROFS));
	CHECK(unshare(CLONE_NEWUSER) < 0 && errno == ENOSPC);
	return 0;
}

Test(fsns_child, sealed_mounts_stay_locked_with_capabilities)
{
	make_plan("scratch-only");
	cr_assert_eq(in_sandbox(NULL, body_locked_with_caps, false), 0);
}

Test(fsns_child, scratch_only_root_is_confined)
{
	make_plan("scratch-only");
	cr_assert_eq(in_sandbox(NULL, body_scratch_only, false), 0);
}

Test(fsns_child, scratch_only_root_is_confined_with_mount2_only)
{
	legacy = true;
	make_plan("scratch-only");
	cr_assert_eq(in_sandbox(NULL, body_scratch_only, false), 0);
}

/* The old root's detach is a helper's (fsns/root.c); a slow one must hold
 * back the seal, or without a seal the end of the set-up: the sandbox never
 * runs with the host's root still stacked on "/". 50 ms makes the helper
 * surely late. */
static int count_root_mounts(void)
{
	char line[1024], mp[512];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %*s %*s %511s", mp) == 1 && strcmp(mp, "/") == 0)
			n++;
	fclose(f);
	return n;
}

static int body_one_root(void)
{
	struct statfs sf;

	CHECK(count_root_mounts() == 1);
	CHECK(statfs("/", &sf) == 0 && sf.f_type == TMPFS_MAGIC);
	CHECK(expect_errno(access("/work", F_OK), ENOENT));
	return 0;
}

Test(fsns_child, a_late_old_root_detach_holds_back_the_seal)
{
	detach_delay_us = 50000;
	make_plan("scratch-only");
	cr_assert_eq(in_sandbox(NULL, body_one_root, false), 0);
}

Test(fsns_child, a_late_old_root_detach_holds_back_an_unsealed_setup)
{
	detach_delay_us = 50000;
	make_plan("scratch-only");
	plan.fresh_proc = false; /* no seal: as a run without its own procfs */
	cr_assert_eq(in_sandbox(NULL, body_one_root, false), 0);
}

/* A --ro-bind tree with a submount, and a --scratch dir, both below /tmp
 * (the staging dir): sources opened before it is covered. */
static char ro_src[96], scratch_src[96];

static int pre_submount(void)
{
	char sub[128];

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return 1;
	snprintf(sub, sizeof(sub), "%s/sub", ro_src);
	return mount("tmpfs", sub, "tmpfs", 0, "size=1m") < 0;
}

static int body_binds(void)
{
	char path[160], cwd[160];
	int fd;

	CHECK(getcwd(cwd, sizeof(cwd)) && strcmp(cwd, scratch_src) == 0);
	CHECK((fd = open("from-inside", O_CREAT | O_WRONLY, 0644)) >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/file", ro_src);
	CHECK(access(path, R_OK) == 0);
	CHECK(expect_errno(open(path, O_WRONLY), EROFS));
	snprintf(path, sizeof(path), "%s/sub/new", ro_src);
	CHECK(expect_errno(open(path, O_CREAT | O_WRONLY, 0644), EROFS));
	CHECK(access("/mnt/alias/file", R_OK) == 0);
	CHECK(expect_errno(open("/mnt/alias/sub/new", O_CREAT | O_WRONLY, 0644), EROFS));
	return 0;
}

static void binds_case(void)
{
	char path[160];
	FILE *f;

	snprintf(ro_src, sizeof(ro_src), "%s/ro", tmpdir);
	snprintf(scratch_src, sizeof(scratch_src), "%s/scratch", tmpdir);
	cr_assert_eq(mkdir(ro_src, 0755), 0);
	snprintf(path, sizeof(path), "%s/sub", ro_src);
	cr_assert_eq(mkdir(path, 0755), 0);
	cr_assert_eq(mkdir(scratch_src, 0755), 0);
	snprintf(path, sizeof(path), "%s/file", ro_src);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fclose(f);
	in.binds[0] = (struct bind_spec){.src = ro_src, .dest = ro_src};
	in.binds[1] = (struct bind_spec){.src = ro_src, .dest = "/mnt/alias"};
	in.n_binds = 2;
	in.scratch_dir = scratch_src;
	make_plan("scratch-plus-ro");
	cr_assert_eq(in_sandbox(pre_submount, body_binds, false), 0);
	snprintf(path, sizeof(path), "%s/from-inside", scratch_src);
	cr_assert_eq(access(path, F_OK), 0, "the scratch dir is the host's");
}

Test(fsns_child, ro_binds_are_ro_with_submounts_and_scratch_is_rw)
{
	binds_case();
}

Test(fsns_child, ro_binds_are_ro_with_submounts_with_mount2_only)
{
	legacy = true;
	binds_case();
}

static int body_off(void)
{
	char buf[64];

	CHECK(access("/work", F_OK) == 0 || access("/usr", F_OK) == 0); /* the host tree */
	CHECK(readlink("/proc/self", buf, sizeof(buf)) == 1 && buf[0] == '1');
	CHECK(expect_errno(open("/proc/sys/user/max_user_namespaces", O_WRONLY), EROFS));
	CHECK(read_small("/proc/keys", buf, sizeof(buf)) == 0);
	CHECK(read_small("/proc/sys/user/max_user_namespaces", buf, sizeof(buf)) > 0 &&
	      buf[0] == '0');
	return 0;
}

Test(fsns_child, off_mode_still_gets_a_fresh_masked_proc)
{
	make_plan("off");
	cr_assert_eq(in_sandbox(NULL, body_off, false), 0);
}

static char gone[96];

static int body_missing_source(void)
{
	char expect[256];

	snprintf(expect, sizeof(expect), "bind %s -> %s", gone, gone);
	CHECK(strcmp(last_err.stage, "fsns") == 0);
	CHECK(last_err.errnum == ENOENT);
	CHECK(strcmp(last_err.detail, expect) == 0);
	return 0;
}

Test(fsns_child, a_source_gone_at_run_time_names_the_bind)
{
	snprintf(gone, sizeof(gone), "%s/gone", tmpdir);
	cr_assert_eq(mkdir(gone, 0755), 0);
	in.binds[0] = (struct bind_spec){.src = gone, .dest = gone, .rw = true};
	in.n_binds = 1;
	make_plan("scratch-only");
	cr_assert_eq(rmdir(gone), 0);
	cr_assert_eq(in_sandbox(NULL, body_missing_source, true), 0);
}

/* The guards, tested by pretending that the namespaces we are in are the
 * supervisor's: nothing is mounted in the real one even if they broke. */
static int pre_fake_supervisor_mntns(void)
{
	struct stat st;

	if (stat("/proc/self/ns/mnt", &st) < 0)
		return 1;
	plan.sup_mntns_dev = st.st_dev;
	plan.sup_mntns_ino = st.st_ino;
	return 0;
}

static int body_refused_mnt(void)
{
	CHECK(strstr(last_err.detail, "supervisor's mount namespace") != NULL);
	return 0;
}

Test(fsns_child, refuses_to_mount_in_the_supervisors_mount_namespace)
{
	make_plan("scratch-only");
	cr_assert_eq(in_sandbox(pre_fake_supervisor_mntns, body_refused_mnt, true), 0);
}

/* The limit is written from the sealed (nested) namespace; the guard must
 * still refuse when that namespace is the supervisor's. */
static int body_refused_userns(void)
{
	struct stat st;

	CHECK(stat("/proc/self/ns/user", &st) == 0);
	plan.sup_userns_dev = st.st_dev;
	plan.sup_userns_ino = st.st_ino;
	CHECK(fsns_limit_userns("/proc", &plan) == -EPERM);
	return 0;
}

Test(fsns_child, refuses_to_limit_userns_in_the_supervisors_user_namespace)
{
	make_plan("scratch-only");
	cr_assert_eq(in_sandbox(NULL, body_refused_userns, false), 0);
}

/* The parent-directory cache of the root build: consecutive files in one
 * directory share a lookup, and a mount that could cover that directory
 * (at it, or above it) drops it, so nothing is ever written through a
 * directory a mount has hidden. */
Test(fsns_child, parent_dir_cache_is_dropped_by_covering_mounts)
{
	char dir[] = "/tmp/nsrun-pcache-XXXXXX", sub[64];
	struct fsns_parent_cache cache = {.fd = -1};
	struct fsns_root root = {.prefix = dir, .parent = &cache};
	int a, b;

	cr_assert(mkdtemp(dir));
	root.fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	snprintf(sub, sizeof(sub), "%s/etc", dir);
	cr_assert_eq(mkdir(sub, 0755), 0);
	a = fsns_parent_dir(&root, "/etc/passwd");
	cr_assert_geq(a, 0);
	cr_assert_str_eq(cache.path, "/etc");
	b = fsns_parent_dir(&root, "/etc/group");
	cr_assert_eq(a, b, "a second file in /etc looked its directory up again");
	fsns_parent_forget(&root, "/etc/ssl"); /* below: /etc stays visible */
	fsns_parent_forget(&root, "/etcetera"); /* a sibling */
	cr_assert_eq(cache.fd, a);
	fsns_parent_forget(&root, "/etc"); /* a mount on it covers it */
	cr_assert_eq(cache.fd, -1);
	cr_assert_geq(fsns_parent_dir(&root, "/etc/hosts"), 0);
	fsns_parent_forget(&root, "/"); /* above everything */
	cr_assert_eq(cache.fd, -1);
	close(root.fd);
	rmdir(sub);
	rmdir(dir);
}
