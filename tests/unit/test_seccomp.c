/* The seccomp layer: the shape of the compiled BPF program, the table, and
 * the filter's behaviour in a forked child that installs it for real. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>
#include <sched.h>

#include "seccomp/seccomp.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#define NR_OPEN_TREE_ATTR 467
#define X32_SYSCALL_BIT 0x40000000L

static struct seccomp_prog prog;

static void compile(void)
{
	struct nsrun_err e = { 0 };
	int r = nsrun_seccomp_compile(&prog, &e);

	cr_assert_eq(r, 0, "compile: %s: %s", e.stage, e.detail);
}

static void release(void)
{
	nsrun_seccomp_free(&prog);
}

static bool has_insn(unsigned short code, uint32_t k)
{
	for (unsigned i = 0; i < prog.len; i++)
		if (prog.filter[i].code == code && prog.filter[i].k == k)
			return true;
	return false;
}

TestSuite(seccomp_bpf, .init = compile, .fini = release);

Test(seccomp_bpf, non_empty_and_ends_in_a_return)
{
	cr_assert_gt(prog.len, 4);
	cr_assert_leq(prog.len, BPF_MAXINSNS);
	cr_assert_eq(BPF_CLASS(prog.filter[prog.len - 1].code), BPF_RET);
}

Test(seccomp_bpf, starts_with_the_arch_check)
{
	cr_assert_eq(prog.filter[0].code, BPF_LD | BPF_W | BPF_ABS);
	cr_assert_eq(prog.filter[0].k, offsetof(struct seccomp_data, arch));
	cr_assert_eq(prog.filter[1].code, BPF_JMP | BPF_JEQ | BPF_K);
#ifdef __x86_64__
	cr_assert_eq(prog.filter[1].k, AUDIT_ARCH_X86_64);
	/* No second architecture (i386) is accepted anywhere. */
	cr_assert_not(has_insn(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386));
	/* x32 numbers (nr >= 0x40000000 on the x86_64 arch) are filtered. */
	cr_assert(has_insn(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT));
#endif
	/* The arch mismatch jumps to a KILL_PROCESS return. */
	const struct sock_filter *j = &prog.filter[1];
	const struct sock_filter *bad = &prog.filter[2 + j->jf];
	cr_assert_eq(bad->code, BPF_RET | BPF_K);
	cr_assert_eq(bad->k, SECCOMP_RET_KILL_PROCESS);
}

Test(seccomp_bpf, has_the_expected_returns)
{
	cr_assert(has_insn(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	cr_assert(has_insn(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM));
	cr_assert(has_insn(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS));
	cr_assert(has_insn(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
}

/* seccomp/README.md renders the table: it must name every syscall in it. */
Test(seccomp_table, rows_are_complete_and_documented)
{
	char path[512], *dir, *doc;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s", __FILE__);
	dir = strstr(path, "tests/unit/test_seccomp.c");
	cr_assert_not_null(dir, "built from %s", __FILE__);
	strcpy(dir, "seccomp/README.md");
	f = fopen(path, "r");
	cr_assert_not_null(f, "open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	doc = calloc(1, (size_t)n + 1);
	cr_assert_eq(fread(doc, 1, (size_t)n, f), (size_t)n);
	fclose(f);

	cr_assert_gt(nsrun_seccomp_table_doc_len, 40);
	for (size_t i = 0; i < nsrun_seccomp_table_doc_len; i++) {
		const struct seccomp_rule_doc *r = &nsrun_seccomp_table_doc[i];
		char needle[64];

		cr_assert(r->syscall && *r->syscall && r->action && *r->action && r->reason &&
			  *r->reason, "row %zu", i);
		cr_assert(r->errnum == EPERM || r->errnum == ENOSYS, "%s", r->syscall);
		cr_assert_leq(r->n_conds, SECCOMP_RULE_MAX_CONDS);
		snprintf(needle, sizeof(needle), "`%s`", r->syscall);
		cr_assert_not_null(strstr(doc, needle), "README.md lacks %s", needle);
	}
	free(doc);
}

Test(seccomp_install, refuses_without_no_new_privs_and_without_a_program)
{
	struct seccomp_prog empty = { 0 };
	struct nsrun_err e = { 0 };

	cr_assert_eq(nsrun_seccomp_install(&empty, &e), -EINVAL);
	compile();
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0)
		cr_assert_eq(nsrun_seccomp_install(&prog, &e), -EPERM);
	release();
}

/* Runs fn in a forked child that installs the filter first; returns the
 * wait status. fn returns 0 when everything was as expected, else a line
 * number that the parent reports. */
static int run_filtered(int (*fn)(void))
{
	struct rlimit no_core = { 0, 0 };
	struct nsrun_err e = { 0 };
	int status;
	pid_t pid;

	compile();
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		setrlimit(RLIMIT_CORE, &no_core); /* SIGSYS would dump core */
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
			_exit(200);
		if (nsrun_seccomp_install(&prog, &e) != 0)
			_exit(201);
		_exit(fn());
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	release();
	return status;
}

static void assert_passes(int (*fn)(void))
{
	int st = run_filtered(fn);

	cr_assert(WIFEXITED(st), "child killed by signal %d", WTERMSIG(st));
	cr_assert_eq(WEXITSTATUS(st), 0, "check at line %d failed (200/201: install)",
		     WEXITSTATUS(st));
}

/* 0 when ret is -1 with errno want, else the caller's line (mod 256). */
#define EXPECT_ERR(call, want)                                                   \
	do {                                                                     \
		errno = 0;                                                       \
		long ret_ = (long)(call);                                        \
		if (ret_ != -1 || errno != (want)) {                             \
			fprintf(stderr, "line %d: %s = %ld errno %d, want %d\n", \
				__LINE__, #call, ret_, errno, (want));           \
			return __LINE__ % 200 + 1;                               \
		}                                                                \
	} while (0)
#define EXPECT_OK(call)                                                              \
	do {                                                                         \
		errno = 0;                                                           \
		long ret_ = (long)(call);                                            \
		if (ret_ < 0) {                                                      \
			fprintf(stderr, "line %d: %s = %ld errno %d\n", __LINE__, #call, \
				ret_, errno);                                        \
			return __LINE__ % 200 + 1;                                   \
		}                                                                    \
	} while (0)

static void *thread_fn(void *arg)
{
	return arg;
}

static int ordinary_calls(void)
{
	int p[2], n;
	pid_t pid;
	pthread_t t;

	EXPECT_OK(getpid());
	EXPECT_OK(pipe(p));
	EXPECT_OK(ioctl(p[0], FIONREAD, &n));
	EXPECT_OK(write(p[1], "x", 1));
	/* fork() is clone(2) without namespace flags. */
	pid = fork();
	if (pid == 0)
		_exit(0);
	EXPECT_OK(pid);
	EXPECT_OK(waitpid(pid, NULL, 0));
	/* glibc creates threads with clone3 and falls back to clone on ENOSYS. */
	if (pthread_create(&t, NULL, thread_fn, NULL) != 0)
		return __LINE__ % 200 + 1;
	pthread_join(t, NULL);
	EXPECT_OK(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
	EXPECT_OK(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	/* The read-only personality query and harmless personas. */
	EXPECT_OK(personality(0xffffffff));
	EXPECT_OK(personality(PER_LINUX));
	EXPECT_OK(personality(PER_LINUX | UNAME26));
	EXPECT_OK(personality(PER_LINUX));
	return 0;
}

Test(seccomp_filter, ordinary_programs_work)
{
	assert_passes(ordinary_calls);
}

static int namespaces_denied(void)
{
	static const unsigned long flags[] = { CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS,
					       CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID,
					       CLONE_NEWNET };

	EXPECT_ERR(unshare(CLONE_NEWUSER), EPERM);
	EXPECT_ERR(unshare(CLONE_NEWNET), EPERM);
	EXPECT_ERR(setns(-1, 0), EPERM);
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		EXPECT_ERR(syscall(SYS_clone, flags[i] | SIGCHLD, 0, 0, 0, 0), EPERM);
	EXPECT_ERR(syscall(SYS_clone, CLONE_NEWUSER | CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0), EPERM);
	EXPECT_ERR(syscall(SYS_clone3, NULL, 0), ENOSYS);
	return 0;
}

Test(seccomp_filter, namespaces_are_denied_and_clone3_is_enosys)
{
	assert_passes(namespaces_denied);
}

/* Each call is given arguments that make it fail harmlessly, with an errno
 * other than EPERM, should the filter not catch it (the tests run as root). */
struct denied_call {
	const char *name;
	long nr;
	long a[6];
};
#define S(x) ((long)(x))

static const struct denied_call denied_calls[] = {
	{ "mount", SYS_mount, { S("none"), S("/nonexistent-nsrun"), S("tmpfs"), 0, 0 } },
	{ "umount2", SYS_umount2, { S("/nonexistent-nsrun"), 0 } },
	{ "pivot_root", SYS_pivot_root, { S("/nonexistent-a"), S("/nonexistent-b") } },
	{ "chroot", SYS_chroot, { S("/nonexistent-nsrun") } },
	{ "fsopen", SYS_fsopen, { S("nsrun-no-such-fs"), 0 } },
	{ "fsconfig", SYS_fsconfig, { -1, 0, 0, 0, 0 } },
	{ "fsmount", SYS_fsmount, { -1, 0, 0 } },
	{ "fspick", SYS_fspick, { -1, S("/nonexistent-nsrun"), 0 } },
	{ "move_mount", SYS_move_mount, { -1, S(""), -1, S(""), 0 } },
	{ "open_tree", SYS_open_tree, { -1, S("/nonexistent-nsrun"), 0 } },
	{ "open_tree_attr", NR_OPEN_TREE_ATTR, { -1, S("/nonexistent-nsrun"), 0, 0, 0 } },
	{ "mount_setattr", SYS_mount_setattr, { -1, S("/nonexistent-nsrun"), 0, 0, 0 } },
	{ "keyctl", SYS_keyctl, { 0 /* GET_KEYRING_ID */, -3 /* session */, 0 } },
	{ "add_key", SYS_add_key, { 0, 0, 0, 0, 0 } },
	{ "request_key", SYS_request_key, { 0, 0, 0, 0 } },
	{ "bpf", SYS_bpf, { -1, 0, 0 } },
	{ "perf_event_open", SYS_perf_event_open, { 0, 0, -1, -1, 0 } },
	{ "userfaultfd", SYS_userfaultfd, { 0x7fff0000 } },
	{ "io_uring_setup", SYS_io_uring_setup, { 0, 0 } },
	{ "io_uring_enter", SYS_io_uring_enter, { -1, 0, 0, 0, 0, 0 } },
	{ "io_uring_register", SYS_io_uring_register, { -1, 0, 0, 0 } },
	{ "ptrace", SYS_ptrace, { 0 /* TRACEME */ } },
	{ "process_vm_readv", SYS_process_vm_readv, { 0, 0, 0, 0, 0, 0 } },
	{ "process_vm_writev", SYS_process_vm_writev, { 0, 0, 0, 0, 0, 0 } },
	{ "pidfd_getfd", SYS_pidfd_getfd, { -1, 0, 0 } },
	{ "init_module", SYS_init_module, { 0, 0, S("") } },
	{ "finit_module", SYS_finit_module, { -1, S(""), 0 } },
	{ "delete_module", SYS_delete_module, { S("nsrun_no_such_module"), O_NONBLOCK } },
	{ "kexec_load", SYS_kexec_load, { 0, 1000, 0, 0 } },
	{ "kexec_file_load", SYS_kexec_file_load, { -1, -1, 0, S(""), 0 } },
	{ "reboot", SYS_reboot, { 0, 0, 0, 0 } },
	{ "swapon", SYS_swapon, { S("/nonexistent-nsrun"), 0 } },
	{ "swapoff", SYS_swapoff, { S("/nonexistent-nsrun") } },
	{ "acct", SYS_acct, { S("/nonexistent-nsrun/x") } },
	{ "quotactl", SYS_quotactl, { 0, 0, 0, 0 } },
	{ "quotactl_fd", SYS_quotactl_fd, { -1, 0, 0, 0 } },
	{ "lookup_dcookie", SYS_lookup_dcookie, { 0, 0, 0 } },
	{ "syslog", SYS_syslog, { 10 /* SIZE_BUFFER */, 0, 0 } },
	{ "uselib", SYS_uselib, { S("/nonexistent-nsrun") } },
	{ "clock_settime", SYS_clock_settime, { 0, 0 } },
	{ "settimeofday", SYS_settimeofday, { 0, 0 } },
	{ "open_by_handle_at", SYS_open_by_handle_at, { -1, 0, 0 } },
	{ "name_to_handle_at", SYS_name_to_handle_at, { AT_FDCWD, S("/"), 0, 0, 0 } },
	{ "ioctl TIOCSTI", SYS_ioctl, { -1, TIOCSTI, S("x") } },
	{ "ioctl TIOCSTI, upper bits set", SYS_ioctl, { -1, (long)(0x100000000ull | TIOCSTI), S("x") } },
	{ "ioctl TIOCLINUX", SYS_ioctl, { -1, TIOCLINUX, 0 } },
	{ "ioctl TIOCSETD", SYS_ioctl, { -1, TIOCSETD, 0 } },
	{ "socket netfilter", SYS_socket, { AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER } },
	{ "socket netfilter, upper bits", SYS_socket,
	  { (long)(0x700000000ull | AF_NETLINK), SOCK_DGRAM, (long)(0x100000000ull | NETLINK_NETFILTER) } },
	{ "socket vsock", SYS_socket, { AF_VSOCK, SOCK_STREAM, 0 } },
	{ "personality ADDR_NO_RANDOMIZE", SYS_personality, { ADDR_NO_RANDOMIZE } },
	{ "personality MMAP_PAGE_ZERO", SYS_personality, { MMAP_PAGE_ZERO } },
	{ "personality READ_IMPLIES_EXEC|junk", SYS_personality, { READ_IMPLIES_EXEC | 0xf0000000L } },
	{ "personality all but one bit", SYS_personality, { 0xfffffffeL } },
};

static int denied_calls_fail(void)
{
	int fails = 0;

	for (size_t i = 0; i < sizeof(denied_calls) / sizeof(denied_calls[0]); i++) {
		const struct denied_call *c = &denied_calls[i];
		long r;

		errno = 0;
		r = syscall(c->nr, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5]);
		if (r != -1 || errno != EPERM) {
			fprintf(stderr, "%s: returned %ld errno %d (%s), want EPERM\n", c->name, r,
				errno, strerror(errno));
			fails++;
		}
	}
	return fails;
}

Test(seccomp_filter, denied_syscalls_return_eperm)
{
	assert_passes(denied_calls_fail);
}

static int int80_getpid(void)
{
#ifdef __x86_64__
	long r;

	/* i386 getpid is 20; the arch check must kill before it runs. */
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
	return r == getpid() ? 0 : 1;
#else
	return 0;
#endif
}

static int x32_getpid(void)
{
	syscall(X32_SYSCALL_BIT | SYS_getpid);
	return 0;
}

/* personality(2) against its rule, value by value: EPERM exactly when the
 * low 32 bits (all the kernel reads) have a dangerous bit and are not the
 * query 0xffffffff, whatever the upper 32 bits hold. Single bits, all-but-one
 * bits, and 4,000 pseudo-random values, each also with junk above bit 31. */
static int personality_matches_its_rule(void)
{
	const uint32_t dangerous = ADDR_NO_RANDOMIZE | MMAP_PAGE_ZERO | ADDR_COMPAT_LAYOUT | READ_IMPLIES_EXEC;
	uint32_t vals[64 + 4000 + 2], x = 12345;
	size_t n = 0;

	for (int b = 0; b < 32; b++) {
		vals[n++] = 1u << b;
		vals[n++] = ~(1u << b);
	}
	for (int i = 0; i < 4000; i++) {
		x = x * 1103515245u + 12345u;
		/* every other value with a dangerous bit, so both sides are hit */
		vals[n++] = i % 2 ? x : (x | (dangerous & (1u << (16 + i % 7))));
	}
	vals[n++] = 0;
	vals[n++] = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		for (int junk = 0; junk < 2; junk++) {
			unsigned long arg = vals[i] | (junk ? 0xdead000000000000ul : 0);
			bool deny = (vals[i] & dangerous) && vals[i] != 0xffffffffu;
			long r;

			errno = 0;
			r = syscall(SYS_personality, arg);
			if (deny != (r == -1 && errno == EPERM)) {
				fprintf(stderr, "personality(%#lx) = %ld errno %d, want %s\n", arg, r,
					errno, deny ? "EPERM" : "allowed");
				return __LINE__ % 200 + 1;
			}
			syscall(SYS_personality, 0ul); /* back to PER_LINUX */
		}
	}
	return 0;
}

Test(seccomp_filter, personality_matches_its_rule)
{
	assert_passes(personality_matches_its_rule);
}

Test(seccomp_filter, foreign_abis_are_killed)
{
#ifndef __x86_64__
	cr_skip_test("x86_64 only");
#endif
	int st;

	/* Control: without the filter int 0x80 must work, else the kernel has
	 * no ia32 emulation and the case is moot. */
	pid_t pid = fork();
	if (pid == 0)
		_exit(int80_getpid());
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		cr_skip_test("kernel without ia32 emulation");

	st = run_filtered(int80_getpid);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "int 0x80: status %#x", st);
	st = run_filtered(x32_getpid);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "x32: status %#x", st);
}

Test(seccomp_prebuilt, equals_a_fresh_compile)
{
	struct seccomp_prog fresh, pre;
	struct nsrun_err err = {0};

	cr_assert_eq(nsrun_seccomp_compile(&fresh, &err), 0, "%s", err.detail);
	nsrun_seccomp_prebuilt(&pre);
	cr_assert_eq(pre.len, fresh.len, "the build-time filter is stale: rebuild");
	cr_assert_eq(memcmp(pre.filter, fresh.filter, fresh.len * sizeof(*fresh.filter)), 0,
		     "the build-time filter differs from the table");
	nsrun_seccomp_free(&fresh);
}
