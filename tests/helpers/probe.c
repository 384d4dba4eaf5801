/* probe: attacks a sandbox from the inside, one attack per subcommand.
 *
 *   probe ATTACK     prints one line "ATTACK: blocked errno=EPERM ..." or
 *                    "CHECK: ok ..." and exits 0 when the sandbox held;
 *                    prints "NAME: FAIL ..." and exits 1 when it did not;
 *                    exits 2 on a usage error.
 *
 * Standalone on purpose (libc only, statically linkable): it is bound into
 * sandboxes, where nothing of the build tree exists. The errno is printed
 * so that tests can tell the seccomp filter (EPERM before the kernel looks
 * at the arguments) from other layers. Every attack uses arguments that do
 * no harm if it succeeds, and undoes what it can. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/netlink.h>
#include <linux/perf_event.h>
#include <linux/userfaultfd.h>

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#define X32_SYSCALL_BIT 0x40000000L

static const char *cur; /* the subcommand, prefix of every line */

static const char *ename(int e)
{
	static char buf[16];
	const char *n = strerrorname_np(e);

	if (n)
		return n;
	snprintf(buf, sizeof(buf), "%d", e);
	return buf;
}

static void line(const char *verdict, const char *fmt, va_list ap)
{
	printf("%s: %s", cur, verdict);
	if (fmt && *fmt) {
		putchar(' ');
		vprintf(fmt, ap);
	}
	putchar('\n');
	fflush(stdout);
}

/* The attack failed: the sandbox held. */
static __attribute__((format(printf, 1, 2))) int blocked(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	line("blocked", fmt, ap);
	va_end(ap);
	return 0;
}

/* A property check passed. */
static __attribute__((format(printf, 1, 2))) int ok(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	line("ok", fmt, ap);
	va_end(ap);
	return 0;
}

/* The attack worked or a check failed: the sandbox did not hold. */
static __attribute__((format(printf, 1, 2))) int failed(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	line("FAIL", fmt, ap);
	va_end(ap);
	return 1;
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "probe: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return 2;
}

static int attack_unshare_user(void)
{
	if (unshare(CLONE_NEWUSER) == 0)
		return failed("unshare(CLONE_NEWUSER) succeeded");
	return blocked("errno=%s", ename(errno));
}

static int attack_clone_ns(void)
{
	long r = syscall(SYS_clone, CLONE_NEWNS | CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);

	if (r == 0)
		_exit(0);
	if (r > 0) {
		waitpid((pid_t)r, NULL, 0);
		return failed("clone(CLONE_NEWNS|CLONE_NEWUSER) succeeded");
	}
	return blocked("errno=%s", ename(errno));
}

static int attack_mount(void)
{
	char dir[256];
	const char *tmp = getenv("TMPDIR");
	long fd;
	int e;

	/* The new mount API first: a file system context on its own does
	 * nothing until attached, so success costs nothing. */
	fd = syscall(SYS_fsopen, "tmpfs", 0);
	if (fd >= 0) {
		close((int)fd);
		return failed("fsopen(tmpfs) succeeded");
	}
	snprintf(dir, sizeof(dir), "%s/probe-mnt.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return usage_error("no writable directory for the mount target (%s)", strerror(errno));
	if (mount("probe", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k") == 0) {
		umount2(dir, MNT_DETACH);
		rmdir(dir);
		return failed("mount(tmpfs) succeeded");
	}
	e = errno;
	rmdir(dir);
	return blocked("errno=%s", ename(e));
}

static int attack_ptrace_traceme(void)
{
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0)
		return failed("PTRACE_TRACEME succeeded");
	return blocked("errno=%s", ename(errno));
}

static int attack_ptrace_parent(void)
{
	pid_t pid = getppid();

	if (pid <= 0) /* parent outside our pid namespace */
		pid = 1;
	if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) == 0) {
		waitpid(pid, NULL, __WALL);
		ptrace(PTRACE_DETACH, pid, NULL, NULL);
		return failed("PTRACE_ATTACH to pid %d succeeded", (int)pid);
	}
	return blocked("errno=%s pid=%d", ename(errno), (int)pid);
}

static int attack_keyctl(void)
{
	int e;

	if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "nsrun-probe") >= 0)
		return failed("keyctl(JOIN_SESSION_KEYRING) succeeded");
	e = errno;
	if (syscall(SYS_add_key, "user", "nsrun-probe", "x", 1, KEY_SPEC_PROCESS_KEYRING) >= 0)
		return failed("add_key succeeded");
	return blocked("errno=%s add_key=%s", ename(e), ename(errno));
}

static int attack_bpf(void)
{
	union bpf_attr a;
	long fd;

	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_ARRAY;
	a.key_size = 4;
	a.value_size = 4;
	a.max_entries = 1;
	fd = syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof(a));
	if (fd >= 0) {
		close((int)fd);
		return failed("bpf(BPF_MAP_CREATE) succeeded");
	}
	return blocked("errno=%s", ename(errno));
}

static int attack_perf(void)
{
	struct perf_event_attr a;
	long fd;

	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_SOFTWARE;
	a.size = sizeof(a);
	a.config = PERF_COUNT_SW_TASK_CLOCK;
	a.disabled = 1;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	fd = syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd >= 0) {
		close((int)fd);
		return failed("perf_event_open succeeded");
	}
	return blocked("errno=%s", ename(errno));
}

static int attack_userfaultfd(void)
{
	long fd = syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
	int e = errno;

	if (fd < 0 && e == EINVAL) /* a kernel before 5.11 */
		fd = syscall(SYS_userfaultfd, O_CLOEXEC), e = errno;
	if (fd >= 0) {
		close((int)fd);
		return failed("userfaultfd succeeded");
	}
	return blocked("errno=%s", ename(e));
}

static int attack_io_uring(void)
{
	struct io_uring_params p;
	long fd;

	memset(&p, 0, sizeof(p));
	fd = syscall(SYS_io_uring_setup, 1, &p);
	if (fd >= 0) {
		close((int)fd);
		return failed("io_uring_setup succeeded");
	}
	return blocked("errno=%s", ename(errno));
}

/* Docker's "shocker": open the file system's root by a forged handle
 * (inode 2), which bypasses the mount tree entirely. */
static int attack_open_by_handle(void)
{
	union {
		struct file_handle h;
		char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	} u;
	int mnt_id, mfd, fd, name_e = 0;
	uint32_t ino = 2;

	memset(&u, 0, sizeof(u));
	u.h.handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(AT_FDCWD, "/", &u.h, &mnt_id, 0) < 0) {
		name_e = errno;
		u.h.handle_bytes = 8;
		u.h.handle_type = 1; /* FILEID_INO32_GEN */
		memcpy(u.h.f_handle, &ino, sizeof(ino));
	}
	mfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = open_by_handle_at(mfd, &u.h, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return failed("open_by_handle_at succeeded");
	}
	return blocked("errno=%s name_to_handle_at=%s", ename(errno), name_e ? ename(name_e) : "ok");
}

static int attack_init_module(void)
{
	int e;

	if (syscall(SYS_finit_module, -1, "", 0) == 0)
		return failed("finit_module succeeded");
	e = errno;
	if (syscall(SYS_init_module, NULL, 0, "") == 0)
		return failed("init_module succeeded");
	if (syscall(SYS_delete_module, "nsrun_probe_none", O_NONBLOCK) == 0)
		return failed("delete_module succeeded");
	return blocked("errno=%s", ename(e));
}

static int attack_kexec(void)
{
	int e;

	/* 1000 segments is over the kernel's limit: harmless if it got that far. */
	if (syscall(SYS_kexec_load, 0, 1000, NULL, 0) == 0)
		return failed("kexec_load succeeded");
	e = errno;
	if (syscall(SYS_kexec_file_load, -1, -1, 0, "", 0) == 0)
		return failed("kexec_file_load succeeded");
	return blocked("errno=%s kexec_file_load=%s", ename(e), ename(errno));
}

static int attack_clock_settime(void)
{
	struct timespec ts;

	/* Setting the clock to what it reads: no jump if it went through. */
	clock_gettime(CLOCK_REALTIME, &ts);
	if (clock_settime(CLOCK_REALTIME, &ts) == 0)
		return failed("clock_settime succeeded");
	return blocked("errno=%s", ename(errno));
}

static int attack_swapon(void)
{
	int e;

	if (syscall(SYS_swapon, "/nonexistent-nsrun-probe", 0) == 0)
		return failed("swapon succeeded");
	e = errno;
	if (syscall(SYS_swapoff, "/nonexistent-nsrun-probe") == 0)
		return failed("swapoff succeeded");
	return blocked("errno=%s", ename(e));
}

static int attack_nfnetlink(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER), e, rt;

	if (fd >= 0) {
		close(fd);
		return failed("socket(AF_NETLINK, NETLINK_NETFILTER) succeeded");
	}
	e = errno;
	/* For contrast: route netlink is allowed (ip, getaddrinfo use it). */
	rt = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (rt >= 0)
		close(rt);
	return blocked("errno=%s route=%s", ename(e), rt >= 0 ? "ok" : ename(errno));
}

static int read_long(const char *path, long *v)
{
	char buf[64];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	*v = strtol(buf, NULL, 10);
	return 0;
}

/* SPEC §6: user namespaces are impossible twice over, by seccomp and by the
 * sandbox's own user.max_user_namespaces = 0. */
static int attack_userns_sysctl(void)
{
	static const char path[] = "/proc/sys/user/max_user_namespaces";
	char value[32];
	long v = -1;
	int r, fd, werr = 0, uerr;

	r = read_long(path, &v);
	if (r == 0)
		snprintf(value, sizeof(value), "%ld", v);
	else
		snprintf(value, sizeof(value), "unreadable(%s)", ename(-r));
	if (r == 0 && v != 0)
		return failed("value=%s: max_user_namespaces is not 0", value);

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "10\n", 3) == 3) {
			close(fd);
			if (read_long(path, &v) == 0 && v != 0)
				return failed("value=%ld after writing 10", v);
		} else {
			werr = errno;
			close(fd);
		}
	} else {
		werr = errno;
	}
	if (unshare(CLONE_NEWUSER) == 0)
		return failed("value=%s unshare(CLONE_NEWUSER) succeeded", value);
	uerr = errno;
	if (!werr)
		return failed("value=%s write did not fail (unshare errno=%s)", value, ename(uerr));
	return blocked("value=%s write=%s unshare=%s", value, ename(werr), ename(uerr));
}

/* TIOCSTI pushes input into a terminal: the classic way out of a sandbox
 * that shares the caller's tty (CVE-2017-5226). Tried on fds 0-2 whatever
 * they are (seccomp must answer EPERM before the tty layer looks), with
 * garbage in the upper half of the request number, and on /dev/tty. */
static int attack_tiocsti(void)
{
	char c = ' ', detail[200];
	int e0 = 0, fd, off = 0;

	for (int i = 0; i < 3; i++) {
		int e;

		if (ioctl(i, TIOCSTI, &c) == 0)
			return failed("TIOCSTI on fd %d succeeded%s", i, isatty(i) ? " (a tty)" : "");
		e = errno; /* before isatty() overwrites it */
		if (i == 0)
			e0 = e;
		off += snprintf(detail + off, sizeof(detail) - (size_t)off, " fd%d=%s%s", i,
				ename(e), isatty(i) ? "(tty)" : "");
	}
	if (syscall(SYS_ioctl, 0, 0x100000000UL | TIOCSTI, &c) == 0)
		return failed("TIOCSTI with upper bits on fd 0 succeeded");
	off += snprintf(detail + off, sizeof(detail) - (size_t)off, " hi=%s", ename(errno));
	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0) {
		if (ioctl(fd, TIOCSTI, &c) == 0) {
			close(fd);
			return failed("TIOCSTI on /dev/tty succeeded");
		}
		snprintf(detail + off, sizeof(detail) - (size_t)off, " tty=%s", ename(errno));
		close(fd);
	} else {
		snprintf(detail + off, sizeof(detail) - (size_t)off, " tty=open:%s", ename(errno));
	}
	return blocked("errno=%s%s", ename(e0), detail);
}

/* An i386 syscall through int 0x80: the filter's arch check must kill us
 * with SIGSYS (the harness checks the signal). Surviving is the failure. */
static int attack_int80(void)
{
#ifdef __x86_64__
	long r;

	__asm__ volatile("int $0x80" : "=a"(r) : "a"(20L /* i386 getpid */) : "memory");
	return failed("survived an i386 syscall (returned %ld)", r);
#else
	return ok("not x86_64, nothing to test");
#endif
}

static int attack_x32(void)
{
#ifdef __x86_64__
	long r = syscall(X32_SYSCALL_BIT | SYS_getpid);

	return failed("survived an x32 syscall (returned %ld errno=%s)", r, ename(errno));
#else
	return ok("not x86_64, nothing to test");
#endif
}

static int attack_setuid0(void)
{
	int e;

	if (getuid() == 0 || geteuid() == 0)
		return failed("already uid 0");
	if (setuid(0) == 0)
		return failed("setuid(0) succeeded");
	e = errno;
	if (setgid(0) == 0)
		return failed("setgid(0) succeeded");
	return blocked("errno=%s setgid=%s", ename(e), ename(errno));
}

static int attack_capset(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];
	int e;

	memset(d, 0xff, sizeof(d));
	if (syscall(SYS_capset, &h, d) == 0)
		return failed("capset to full sets succeeded");
	e = errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_ADMIN, 0, 0) == 0)
		return failed("raising ambient CAP_NET_ADMIN succeeded");
	return blocked("errno=%s ambient=%s", ename(e), ename(errno));
}

static int check_status(void)
{
	static const char *const zero[] = { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb" };
	char l[512], bad[256] = "";
	int seen = 0, nnp = -1, sec = -1;
	size_t off = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return failed("cannot read /proc/self/status: %s", strerror(errno));
	while (fgets(l, sizeof(l), f)) {
		char *colon = strchr(l, ':');

		if (!colon)
			continue;
		*colon = 0;
		for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++) {
			if (strcmp(l, zero[i]) != 0)
				continue;
			seen++;
			if (strtoull(colon + 1, NULL, 16) != 0)
				off += (size_t)snprintf(bad + off, sizeof(bad) - off, " %s=%llx", l,
							strtoull(colon + 1, NULL, 16));
		}
		if (strcmp(l, "NoNewPrivs") == 0)
			nnp = atoi(colon + 1);
		if (strcmp(l, "Seccomp") == 0)
			sec = atoi(colon + 1);
	}
	fclose(f);
	if (seen != 5 || off || nnp != 1 || sec != 2)
		return failed("caps_seen=%d%s NoNewPrivs=%d Seccomp=%d", seen, bad, nnp, sec);
	return ok("caps=0 NoNewPrivs=1 Seccomp=2");
}

static int check_fds(void)
{
	char list[512] = "", path[64], target[256];
	size_t off = 0;
	int n = 0, dfd;
	struct dirent *e;
	DIR *d = opendir("/proc/self/fd");

	if (!d)
		return failed("cannot list /proc/self/fd: %s", strerror(errno));
	dfd = dirfd(d);
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);
		ssize_t len;

		if (e->d_name[0] == '.' || fd <= 2 || fd == dfd)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		len = readlink(path, target, sizeof(target) - 1);
		target[len > 0 ? len : 0] = 0;
		off += (size_t)snprintf(list + off, sizeof(list) - off, " %d->%s", fd, target);
		if (off >= sizeof(list))
			off = sizeof(list) - 1;
		n++;
	}
	closedir(d);
	if (n)
		return failed("open fds above 2:%s", list);
	return ok("only 0-2 open");
}

static int check_groups(void)
{
	gid_t g[256], me = getgid();
	char list[512] = "";
	size_t off = 0;
	int n = getgroups(256, g), bad = 0;

	if (n < 0)
		return failed("getgroups: %s", strerror(errno));
	for (int i = 0; i < n; i++) {
		if (off < sizeof(list))
			off += (size_t)snprintf(list + off, sizeof(list) - off, " %u", (unsigned)g[i]);
		if (g[i] != me)
			bad = 1;
	}
	if (bad)
		return failed("gid=%u supplementary groups:%s", (unsigned)me, list);
	return ok("gid=%u groups:%s", (unsigned)me, n ? list : " none");
}

static int check_uid(void)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;

	getresuid(&r, &e, &s);
	getresgid(&rg, &eg, &sg);
	if (!r || !e || !s)
		return failed("uid=%u euid=%u suid=%u", (unsigned)r, (unsigned)e, (unsigned)s);
	return ok("uid=%u euid=%u suid=%u gid=%u egid=%u", (unsigned)r, (unsigned)e, (unsigned)s,
		  (unsigned)rg, (unsigned)eg);
}

static const struct {
	const char *name;
	int (*fn)(void);
	const char *what;
} subcommands[] = {
	{ "unshare-user", attack_unshare_user, "unshare(CLONE_NEWUSER)" },
	{ "clone-ns", attack_clone_ns, "raw clone with CLONE_NEWNS|CLONE_NEWUSER" },
	{ "mount", attack_mount, "fsopen, then mount a tmpfs" },
	{ "ptrace-traceme", attack_ptrace_traceme, "PTRACE_TRACEME" },
	{ "ptrace-parent", attack_ptrace_parent, "PTRACE_ATTACH to the parent" },
	{ "keyctl", attack_keyctl, "join a session keyring, add a key" },
	{ "bpf", attack_bpf, "create a BPF map" },
	{ "perf", attack_perf, "perf_event_open on ourselves" },
	{ "userfaultfd", attack_userfaultfd, "create a userfaultfd" },
	{ "io-uring", attack_io_uring, "io_uring_setup" },
	{ "open-by-handle", attack_open_by_handle, "open / by a forged handle (shocker)" },
	{ "init-module", attack_init_module, "finit_module, init_module, delete_module" },
	{ "kexec", attack_kexec, "kexec_load, kexec_file_load" },
	{ "clock-settime", attack_clock_settime, "set the clock to its own value" },
	{ "swapon", attack_swapon, "swapon, swapoff" },
	{ "nfnetlink", attack_nfnetlink, "socket(AF_NETLINK, NETLINK_NETFILTER)" },
	{ "userns-sysctl", attack_userns_sysctl, "max_user_namespaces is 0 and stays 0" },
	{ "tiocsti", attack_tiocsti, "TIOCSTI on fds 0-2 and /dev/tty" },
	{ "int80", attack_int80, "i386 syscall: must die by SIGSYS" },
	{ "x32", attack_x32, "x32 syscall: must die by SIGSYS" },
	{ "setuid0", attack_setuid0, "setuid(0), setgid(0)" },
	{ "capset", attack_capset, "raise capabilities" },
	{ "status", check_status, "all capability sets 0, NoNewPrivs 1, Seccomp 2" },
	{ "fds", check_fds, "no fd above 2 is open" },
	{ "groups", check_groups, "no supplementary group but the primary gid" },
	{ "uid", check_uid, "no id is 0" },
};
#define N_SUB (sizeof(subcommands) / sizeof(subcommands[0]))

int main(int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "list") == 0) {
		FILE *out = argc == 2 ? stdout : stderr;

		fprintf(out, "usage: probe SUBCOMMAND\n");
		for (size_t i = 0; i < N_SUB; i++)
			fprintf(out, "  %-15s %s\n", subcommands[i].name, subcommands[i].what);
		return argc == 2 ? 0 : 2;
	}
	for (size_t i = 0; i < N_SUB; i++) {
		if (strcmp(argv[1], subcommands[i].name) == 0) {
			cur = subcommands[i].name;
			return subcommands[i].fn();
		}
	}
	return usage_error("unknown subcommand %s (try: probe list)", argv[1]);
}
