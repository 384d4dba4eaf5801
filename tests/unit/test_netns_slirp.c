/* The slirp4netns helper's lifecycle: ready handshake, timeout, early death
 * with its own last words, descriptor and signal hygiene, clean stop. Fake
 * helpers are small shell scripts; the real one attaches tap0 to a child in
 * fresh user+net namespaces (never the host's). */
#include <criterion/criterion.h>

#include "unit_util.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "netns/netns.h"

static char dir[] = "/tmp/nsrun-slirp-test.XXXXXX";

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	chmod(dir, 0755);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0) {
		/* best effort: the dir may already be gone */
	}
}

TestSuite(slirp, .init = setup, .fini = teardown);

static char *script(const char *name, const char *body)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	chmod(path, 0755);
	return path;
}

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static struct netns_plan egress_plan(void)
{
	/* What netns_plan decides: slirp4netns's sandbox for a root supervisor. */
	return (struct netns_plan){
	    .new_netns = true, .egress = true, .mtu = NETNS_MTU, .slirp_sandbox = geteuid() == 0};
}

static void expect_gone(pid_t pid)
{
	cr_assert_eq(kill(pid, 0), -1, "helper %d still exists", pid);
	cr_assert_eq(errno, ESRCH);
}

Test(slirp, never_ready_times_out_and_stop_kills)
{
	struct netns_plan p = egress_plan();
	struct netns_slirp s;
	struct nsrun_err err = {0};
	pid_t pid;
	long t0;

	/* Ignores TERM and exit-fd EOF: only SIGKILL ends it. */
	cr_assert_eq(netns_slirp_start(&p, script("hang", "trap '' TERM; exec sleep 100"), getpid(),
				       &s, &err),
		     0, "%s", err.detail);
	pid = s.pid;
	t0 = now_ms();
	cr_assert_eq(netns_slirp_wait_ready(&s, 200, &err), -ETIMEDOUT);
	cr_assert_geq(now_ms() - t0, 190);
	cr_assert(strstr(err.detail, "within 200 ms"), "%s", err.detail);
	t0 = now_ms();
	netns_slirp_stop(&s);
	cr_assert_lt(now_ms() - t0, 3000);
	expect_gone(pid);
	cr_assert_eq(s.pid, 0);
	cr_assert_eq(s.exit_fd, -1);
	netns_slirp_stop(&s); /* idempotent */
}

Test(slirp, early_death_is_echild_with_its_words)
{
	struct netns_plan p = egress_plan();
	struct netns_slirp s;
	struct nsrun_err err = {0};

	cr_assert_eq(
	    netns_slirp_start(&p, script("die", "echo 'open(\"/dev/net/tun\"): boom' >&2; exit 3"),
			      getpid(), &s, &err),
	    0);
	cr_assert_eq(netns_slirp_wait_ready(&s, 5000, &err), -ECHILD);
	cr_assert(strstr(err.detail, "status 3"), "%s", err.detail);
	cr_assert(strstr(err.detail, "boom"), "%s", err.detail);
	netns_slirp_stop(&s);
}

Test(slirp, ready_byte_then_clean_exit_on_exit_fd)
{
	struct netns_plan p = egress_plan();
	struct netns_slirp s;
	struct nsrun_err err = {0};
	pid_t pid;
	long t0;

	/* Like slirp4netns: one byte, no newline, then wait for EOF on fd 3. */
	cr_assert_eq(netns_slirp_start(&p,
				       script("ok", "printf 1 >&4; exec 4>&-; cat <&3 >/dev/null"),
				       getpid(), &s, &err),
		     0);
	pid = s.pid;
	cr_assert_eq(netns_slirp_wait_ready(&s, 5000, &err), 0, "%s", err.detail);
	t0 = now_ms();
	netns_slirp_stop(&s);
	cr_assert_lt(now_ms() - t0, 400, "exit-fd EOF did not end the helper");
	expect_gone(pid);
}

/* Reads /proc/PID/FILE into buf (NUL-separated files come out with NULs). */
static size_t slurp(pid_t pid, const char *file, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, len - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

Test(slirp, helper_gets_only_its_fds_no_env_no_blocked_signals)
{
	struct netns_plan p = egress_plan();
	struct netns_slirp s;
	struct nsrun_err err = {0};
	sigset_t block, old;
	char body[512], path[300], buf[4096], link[64];
	size_t n;
	int stray = open("/dev/null", O_RDONLY); /* not CLOEXEC: must still not leak */
	DIR *d;
	struct dirent *de;
	bool fd3 = false, fd4 = false;

	setenv("NSRUN_TEST_SECRET", "hunter2", 1);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	snprintf(path, sizeof(path), "%s/args", dir);
	snprintf(body, sizeof(body), "echo \"$*\" > %s; printf 1 >&4; exec sleep 100", path);
	cr_assert_eq(netns_slirp_start(&p, script("facts", body), 4242, &s, &err), 0);
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(stray);
	cr_assert_eq(netns_slirp_wait_ready(&s, 5000, &err), 0, "%s", err.detail);
	/* Look at the helper itself once it is the final program (sleep). */
	for (int i = 0; i < 200; i++) {
		slurp(s.pid, "comm", buf, sizeof(buf));
		if (strcmp(buf, "sleep\n") == 0)
			break;
		usleep(10000);
	}
	cr_assert_str_eq(buf, "sleep\n");

	slurp(s.pid, "status", buf, sizeof(buf));
	cr_assert(strstr(buf, "SigBlk:\t0000000000000000"), "signals blocked in the helper");
	cr_assert(strstr(buf, "SigIgn:\t0000000000000000"), "signals ignored in the helper");
	n = slurp(s.pid, "environ", buf, sizeof(buf));
	cr_assert_null(memmem(buf, n, "hunter2", 7), "the caller's environment leaked");
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)s.pid);
	d = opendir(path);
	cr_assert_not_null(d);
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		fd3 |= fd == 3;
		fd4 |= fd == 4;
		cr_assert(fd <= 4, "stray fd %d in the helper", fd);
	}
	closedir(d);
	cr_assert(fd3 && fd4, "exit/ready fds missing");
	snprintf(path, sizeof(path), "/proc/%d/fd/0", (int)s.pid);
	n = (size_t)readlink(path, link, sizeof(link) - 1);
	link[n < sizeof(link) ? n : 0] = '\0';
	cr_assert_str_eq(link, "/dev/null");
	netns_slirp_stop(&s);

	snprintf(path, sizeof(path), "%s/args", dir);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	cr_assert(strstr(buf, "--disable-host-loopback"), "%s", buf);
	if (geteuid() == 0)
		cr_assert(strstr(buf, "--enable-sandbox"), "%s", buf);
	else
		cr_assert_null(strstr(buf, "--enable-sandbox"), "%s", buf);
	cr_assert(strstr(buf, "--enable-seccomp"), "%s", buf);
	cr_assert(strstr(buf, "--mtu=65520"), "%s", buf);
	cr_assert(strstr(buf, "--exit-fd=3 --ready-fd=4"), "%s", buf);
	cr_assert(strstr(buf, "--disable-dns"), "%s", buf);
	cr_assert_null(strstr(buf, "--configure"), "%s", buf);
	cr_assert_null(strstr(buf, "--enable-ipv6"), "%s", buf);
	cr_assert(strstr(buf, "4242 tap0"), "%s", buf);
	unsetenv("NSRUN_TEST_SECRET");
}

Test(slirp, relative_path_is_refused)
{
	struct netns_plan p = egress_plan();
	struct netns_slirp s;
	struct nsrun_err err = {0};

	cr_assert_eq(netns_slirp_start(&p, "slirp4netns", getpid(), &s, &err), -EINVAL);
	cr_assert_eq(s.pid, 0);
	netns_slirp_stop(&s);
}

/* ---- the real slirp4netns --------------------------------------------------- */


Test(slirp, real_helper_attaches_tap0_to_a_fresh_netns)
{
	char why[256];
	const char *path = "/usr/bin/slirp4netns";
	int go[2], done[2];
	struct netns_plan p = egress_plan();
	struct netns_slirp s;
	struct nsrun_err err = {0};
	pid_t child, helper;
	char c = 0;
	int st;

	if (access(path, X_OK) != 0)
		cr_skip_test("no slirp4netns");
	if (!netns_probe_tun(why, sizeof(why)))
		cr_skip_test("tun unusable here: %s", why);
	cr_assert_eq(pipe(go), 0);
	cr_assert_eq(pipe(done), 0);
	child = fork();
	if (child == 0) {
		char map[64];

		close(go[1]);
		close(done[0]);
		if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
			_exit(2);
		snprintf(map, sizeof(map), "%u %u 1", getuid(), getuid());
		unit_write_file("/proc/self/uid_map", map);
		unit_write_file("/proc/self/setgroups", "deny");
		snprintf(map, sizeof(map), "%u %u 1", getgid(), getgid());
		unit_write_file("/proc/self/gid_map", map);
		if (write(done[1], "u", 1) != 1) /* namespaces ready */
			_exit(3);
		if (read(go[0], &c, 1) != 1) /* tap ready */
			_exit(4);
		_exit(if_nametoindex("tap0") > 0 ? 0 : 5);
	}
	close(go[0]);
	close(done[1]);
	cr_assert_eq(read(done[0], &c, 1), 1);
	cr_assert_eq(netns_slirp_start(&p, path, child, &s, &err), 0, "%s", err.detail);
	helper = s.pid;
	cr_assert_eq(netns_slirp_wait_ready(&s, 5000, &err), 0, "%s: %s", err.detail,
		     strerror(err.errnum));
	cr_assert_eq(write(go[1], "t", 1), 1);
	cr_assert_eq(waitpid(child, &st, 0), child);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "tap0 missing in the child (status %d)",
		  st);
	netns_slirp_stop(&s);
	expect_gone(helper);
}
