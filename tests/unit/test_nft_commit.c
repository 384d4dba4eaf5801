/* The network layer's apply side, in fresh user+net namespaces made by each
 * test (never the host's): the netns interlock, lo up, the nftables batch
 * with 1 and 10,000+10,000 CIDRs, tap0 set-up, and what the filter does to
 * real connects on a tap device we hold ourselves (no slirp4netns needed). */
#include <arpa/inet.h>
#include <criterion/criterion.h>

#include "unit_util.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "netns/netns.h"
#include "netns/netns_int.h"

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

#define SKIP_CODE 77

static unsigned long ino_of_self_net(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) == 0 ? (unsigned long)st.st_ino : 0;
}


/* Runs fn in a forked child inside new user+net namespaces; returns its
 * exit code (SKIP_CODE when namespaces are unavailable). */
static int in_fresh_netns(int (*fn)(unsigned long host_ino, void *arg), void *arg)
{
	unsigned long host_ino = ino_of_self_net();
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		char map[64];
		uid_t uid = getuid();
		gid_t gid = getgid();

		if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
			_exit(SKIP_CODE);
		/* Mapped to 0 inside so that the nft/ip oracles we exec keep
		 * their capabilities (execve drops them for a non-zero uid);
		 * the code under test does not care, it needs only the caps. */
		snprintf(map, sizeof(map), "0 %u 1", uid);
		if (unit_write_file("/proc/self/uid_map", map) < 0 ||
		    unit_write_file("/proc/self/setgroups", "deny") < 0)
			_exit(2);
		snprintf(map, sizeof(map), "0 %u 1", gid);
		if (unit_write_file("/proc/self/gid_map", map) < 0)
			_exit(2);
		if (ino_of_self_net() == host_ino)
			_exit(3); /* never go on in the host's netns */
		_exit(fn(host_ino, arg));
	}
	cr_assert_gt(pid, 0);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st), "child died: status %d", st);
	return WEXITSTATUS(st);
}

static void expect_ok(int (*fn)(unsigned long, void *), void *arg)
{
	int code = in_fresh_netns(fn, arg);

	if (code == SKIP_CODE)
		cr_skip_test("no user+net namespaces or /dev/net/tun here");
	cr_assert_eq(code, 0, "in-namespace check failed (code %d), see stderr", code);
}

static bool have_nft(void)
{
	return access("/usr/sbin/nft", X_OK) == 0;
}

/* nft (the binary) is only a test oracle here; nsrun never runs it. */
static int sh(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool lo_is_up(void)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool up;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	up = fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP);
	if (fd >= 0)
		close(fd);
	return up;
}

struct allow_set {
	char **entries;
	size_t n;
};

static struct netns_plan plan_from(const struct allow_set *a, bool accept, bool ipv6)
{
	struct netns_plan p = {
	    .new_netns = true,
	    .egress = true,
	    .policy_accept = accept,
	    .block_special = true,
	    .ipv6 = ipv6,
	    .mtu = NETNS_MTU,
	};
	struct cidr *c = calloc(a->n ? a->n : 1, sizeof(*c));
	struct nsrun_err err = {0};

	for (size_t i = 0; i < a->n; i++) {
		char why[128];

		if (cidr_parse(a->entries[i], &c[i], why, sizeof(why)) < 0) {
			fprintf(stderr, "bad test entry %s: %s\n", a->entries[i], why);
			abort();
		}
	}
	if (netns_plan_set_allowlist(&p, c, a->n, &err) < 0)
		abort();
	free(c);
	return p;
}

/* `nft get element` on a hash set: true when key is one of its elements. */
static bool set_has(const char *set, const char *key)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "nft get element inet nsrun %s '{ %s }' >/dev/null 2>&1", set,
		 key);
	return sh(cmd) == 0;
}

/* ---- the interlock -------------------------------------------------------- */

static int refuse_same_netns(unsigned long host_ino, void *arg)
{
	struct netns_plan p = {.new_netns = true};
	struct nsrun_err err = {0};
	int r;

	(void)host_ino;
	(void)arg;
	/* Pretend our own (fresh) netns is the supervisor's: must refuse. */
	r = netns_child_setup_early(&p, ino_of_self_net(), &err);
	CHECK(r == -EPERM, "same-netns check returned %d (%s)", r, err.detail);
	CHECK(strstr(err.detail, "supervisor's network namespace"), "detail: %s", err.detail);
	CHECK(!lo_is_up(), "lo was touched although the check failed");
	r = netns_child_setup_early(&p, 0, &err);
	CHECK(r < 0, "an unknown supervisor inode was accepted");
	return 0;
}

Test(nft_commit, refuses_the_supervisors_netns)
{
	expect_ok(refuse_same_netns, NULL);
}

static int tap_needs_early(unsigned long host_ino, void *arg)
{
	struct netns_plan p = {.new_netns = true, .egress = true, .mtu = NETNS_MTU};
	struct nsrun_err err = {0};

	(void)host_ino;
	(void)arg;
	CHECK(netns_child_setup_tap(&p, &err) == -EPERM, "tap set-up ran unverified");
	return 0;
}

Test(nft_commit, tap_setup_requires_the_early_check)
{
	expect_ok(tap_needs_early, NULL);
}

static int deny_lo_only(unsigned long host_ino, void *arg)
{
	struct netns_plan p = {.new_netns = true};
	struct nsrun_err err = {0};

	(void)arg;
	CHECK(netns_child_setup_early(&p, host_ino, &err) == 0, "setup: %s", err.detail);
	CHECK(lo_is_up(), "lo is not up");
	if (have_nft())
		CHECK(sh("test -z \"$(nft list tables)\"") == 0, "deny loaded a ruleset");
	return 0;
}

Test(nft_commit, deny_brings_lo_up_only)
{
	expect_ok(deny_lo_only, NULL);
}

/* ---- commits -------------------------------------------------------------- */

static int commit_and_check(unsigned long host_ino, void *arg)
{
	const struct allow_set *a = arg;
	struct netns_plan p = plan_from(a, false, false);
	struct nsrun_err err = {0};
	struct timespec t0, t1;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = netns_child_setup_early(&p, host_ino, &err);
	/* the skeleton alone: the allow sets exist, and are empty */
	if (r == 0 && have_nft() && a->n > 0)
		CHECK(sh("nft list set inet nsrun allow4_32 2>/dev/null | grep -q elements") != 0 &&
			  sh("nft list sets | grep -q allow") == 0,
		      "the skeleton is not an empty allowlist");
	if (r == 0)
		r = netns_child_fill_allowlist(&err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(r == 0, "commit of %zu entries: %s: %s", a->n, err.detail, strerror(err.errnum));
	fprintf(stderr, "committed %zu entries in %ld ms\n", a->n,
		(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
	CHECK(lo_is_up(), "lo is not up");
	if (!have_nft())
		return 0;
	CHECK(sh("nft list chain inet nsrun output | grep -q 'policy drop'") == 0,
	      "no drop policy");
	CHECK(sh("nft list chain inet nsrun output | grep -q 'ip daddr 169.254.0.0/16 jump "
		 "refuse'") == 0,
	      "no metadata block");
	CHECK(sh("nft list chain inet nsrun output | grep -q 'ip daddr.* @allow4_[0-9]* accept'") ==
		  0,
	      "no allow rule");
	CHECK(sh("nft list chain inet nsrun refuse | grep -q 'tcp reset'") == 0, "no tcp reset");
	return 0;
}

Test(nft_commit, one_entry)
{
	char *e[] = {"10.200.1.2"};
	struct allow_set a = {e, 1};

	expect_ok(commit_and_check, &a);
}

static int commit_many(unsigned long host_ino, void *arg)
{
	(void)arg;
	/* 10,000 IPv4 and 10,000 IPv6 disjoint, non-adjacent entries: 40,000+
	 * interval elements, over a megabyte in one batch. */
	size_t n = 20000;
	char **e = calloc(n, sizeof(*e));
	struct allow_set a = {e, n};

	for (size_t i = 0; i < 10000; i++) {
		if (asprintf(&e[i], "10.%zu.%zu.0/25", i / 256, i % 256) < 0 ||
		    asprintf(&e[10000 + i], "2001:db8:%zx::/48", 2 * i) < 0)
			return 9;
	}
	if (commit_and_check(host_ino, &a))
		return 1;
	if (!have_nft())
		return 0;
	CHECK(set_has("allow4_25", "10.39.15.0"), "10.39.15.0/25 not in the set");
	CHECK(!set_has("allow4_25", "10.39.15.128"), "10.39.15.128 is in the set");
	CHECK(set_has("allow6_48", "2001:db8:4e1e::"), "2001:db8:4e1e::/48 not in the set");
	CHECK(!set_has("allow6_48", "2001:db8:4e1f::"), "2001:db8:4e1f:: is in the set");
	CHECK(sh("nft list chain inet nsrun output | grep -q 'ip daddr & 255.255.255.128 == "
		 "@allow4_25 accept'") == 0,
	      "no masked lookup for the /25s");
	return 0;
}

Test(nft_commit, ten_thousand_entries_per_family, .timeout = 60)
{
	expect_ok(commit_many, NULL);
}

/* A host with the default net.core.wmem_max takes ~416 KiB per batch: the
 * set elements then follow the closed skeleton in further transactions. */
static int commit_split(unsigned long host_ino, void *arg)
{
	size_t n = 20000;
	char **e = calloc(n, sizeof(*e));
	struct allow_set a = {e, n};
	struct netns_plan p;
	struct nsrun_err err = {0};
	int r;

	(void)arg;
	(void)host_ino;
	for (size_t i = 0; i < 10000; i++)
		if (asprintf(&e[i], "10.%zu.%zu.0/25", i / 256, i % 256) < 0 ||
		    asprintf(&e[10000 + i], "2001:db8:%zx::/48", 2 * i) < 0)
			return 9;
	p = plan_from(&a, false, false);
	r = netns_nft_commit_split(&p, 64 * 1024, &err);
	CHECK(r == 0, "split commit: %s: %s", err.detail, strerror(err.errnum));
	if (have_nft()) {
		CHECK(set_has("allow4_25", "10.39.15.0"), "10.39.15.0 not in the set");
		CHECK(set_has("allow6_48", "2001:db8:4e1e::"), "2001:db8:4e1e:: not in the set");
		CHECK(!set_has("allow6_48", "2001:db8:4e1f::"), "2001:db8:4e1f:: is in the set");
		CHECK(sh("test $(nft list set inet nsrun allow4_25 | grep -Eo "
			 "'10\\.[0-9]+\\.[0-9]+\\.0\\b' | wc -l) -eq 10000") == 0,
		      "allow4_25 does not hold 10000 elements");
		CHECK(sh("test $(nft list set inet nsrun allow6_48 | grep -Eo '2001:db8:[0-9a-f:]*' "
			 "| wc -l) -eq 10000") == 0,
		      "allow6_48 does not hold 10000 elements");
	}
	/* A skeleton that cannot fit one transaction is an error, not a
	 * half-loaded filter. */
	r = netns_nft_commit_split(&p, 600, &err);
	CHECK(r == -EMSGSIZE, "tiny transactions: %d (%s)", r, err.detail);
	return 0;
}

Test(nft_commit, split_over_transactions_when_the_socket_is_small, .timeout = 60)
{
	expect_ok(commit_split, NULL);
}

static int commit_overlapping(unsigned long host_ino, void *arg)
{
	char *e[] = {"10.0.0.0/8", "10.1.0.0/16",  "10.1.2.3",	      "11.0.0.0/8",
		     "12.0.0.0/9", "12.128.0.0/9", "255.255.255.255", "255.255.255.0/24",
		     "0.0.0.0/32", "::/0",	   "2001:db8::/32",   "ffff::1",
		     "10.0.0.0/8"};
	struct allow_set a = {e, sizeof(e) / sizeof(e[0])};

	(void)arg;
	if (commit_and_check(host_ino, &a))
		return 1;
	if (!have_nft())
		return 0;
	/* Covered entries (10.1.0.0/16, 10.1.2.3, 255.255.255.255, 2001:db8::/32,
	 * ffff::1) and the duplicate 10/8 are not loaded: their sets do not
	 * exist or lack them. */
	CHECK(set_has("allow4_8", "10.0.0.0") && set_has("allow4_8", "11.0.0.0"), "10/8, 11/8");
	CHECK(set_has("allow4_9", "12.0.0.0") && set_has("allow4_9", "12.128.0.0"), "the /9s");
	CHECK(set_has("allow4_24", "255.255.255.0"), "top of the address space lost");
	CHECK(set_has("allow4_32", "0.0.0.0"), "0.0.0.0/32 lost");
	CHECK(!set_has("allow4_32", "10.1.2.3"), "a covered entry was loaded");
	CHECK(!set_has("allow4_32", "255.255.255.255"), "a covered entry was loaded");
	CHECK(set_has("allow6_0", "::"), "::/0 lost");
	CHECK(sh("nft list sets | grep -Eq 'allow4_16|allow6_32|allow6_128'") != 0,
	      "a set of covered entries only");
	return 0;
}

Test(nft_commit, overlapping_and_edge_entries)
{
	expect_ok(commit_overlapping, NULL);
}

/* The kernel's refusal comes back as its errno, naming the message. */
static int kernel_errors_become_errno(unsigned long host_ino, void *arg)
{
	char *e[] = {"10.200.1.2"};
	struct allow_set a = {e, 1};
	struct netns_plan p = plan_from(&a, false, false);
	struct nsrun_err err = {0};
	int r;

	(void)arg;
	(void)host_ino;
	CHECK(netns_nft_commit(&p, &err) == 0, "first commit: %s", err.detail);
	r = netns_nft_commit(&p, &err);
	CHECK(r == -EEXIST, "second commit returned %d (%s)", r, err.detail);
	CHECK(err.errnum == EEXIST, "errnum %d", err.errnum);
	CHECK(strstr(err.detail, "table inet nsrun"), "detail: %s", err.detail);
	CHECK(netns_nft_delete(&err) == 0, "delete: %s", err.detail);
	r = netns_nft_delete(&err);
	CHECK(r == -ENOENT, "deleting a missing table returned %d (%s)", r, err.detail);
	return 0;
}

Test(nft_commit, kernel_errors_become_errno)
{
	expect_ok(kernel_errors_become_errno, NULL);
}

static int commit_unrestricted(unsigned long host_ino, void *arg)
{
	struct allow_set none = {NULL, 0};
	struct netns_plan p = plan_from(&none, true, true);
	struct nsrun_err err = {0};

	(void)arg;
	CHECK(netns_child_setup_early(&p, host_ino, &err) == 0, "commit: %s", err.detail);
	CHECK(netns_child_fill_allowlist(&err) == 0, "fill: %s", err.detail);
	if (have_nft()) {
		CHECK(sh("nft list chain inet nsrun output | grep -q 'policy accept'") == 0,
		      "no accept policy");
		CHECK(sh("nft list chain inet nsrun output | grep -q 'fc00::/7 jump refuse'") == 0,
		      "no fc00::/7 block");
		CHECK(sh("nft list sets | grep -q allow4") != 0, "unrestricted has allow sets");
	}
	return 0;
}

Test(nft_commit, unrestricted_blocks_only_special_ranges)
{
	expect_ok(commit_unrestricted, NULL);
}

/* ---- the filter at work, on a tap we hold --------------------------------- */

static int open_tap(void)
{
	struct ifreq ifr = {0};
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -1;
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "tap0");
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static long ms_between(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
}

/* Non-blocking TCP connect: 0 when still pending after wait_ms (the SYN was
 * let through and waits for a neighbour), else the socket error. */
static int tcp_try(int family, const char *addr, int wait_ms, long *elapsed)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	struct timespec t0, t1;
	int fd, e = 0, r;
	socklen_t el = sizeof(e);

	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(80);
		inet_pton(AF_INET, addr, &s4->sin_addr);
		len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(80);
		inet_pton(AF_INET6, addr, &s6->sin6_addr);
		len = sizeof(*s6);
	}
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = connect(fd, (struct sockaddr *)&ss, len);
	if (r < 0 && errno != EINPROGRESS) {
		e = errno;
	} else {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		if (poll(&p, 1, wait_ms) > 0)
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*elapsed = ms_between(&t0, &t1);
	close(fd);
	return e;
}

static int udp_send(int family, const char *addr)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int fd, e = 0;

	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(53);
		inet_pton(AF_INET, addr, &s4->sin_addr);
		len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(53);
		inet_pton(AF_INET6, addr, &s6->sin6_addr);
		len = sizeof(*s6);
	}
	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sendto(fd, "x", 1, 0, (struct sockaddr *)&ss, len) < 0)
		e = errno;
	close(fd);
	return e;
}

static int filter_at_work(unsigned long host_ino, void *arg)
{
	char *e[] = {"10.200.1.0/24", "169.254.169.254", "2001:db8:1::/48", "fd00:ec2::254"};
	struct allow_set a = {e, 4};
	struct netns_plan p = plan_from(&a, false, true);
	struct nsrun_err err = {0};
	long ms;
	int tap, r;

	(void)arg;
	CHECK(netns_child_setup_early(&p, host_ino, &err) == 0, "commit: %s", err.detail);
	/* slirp4netns's part, played by us: create tap0 after the filter. */
	tap = open_tap();
	if (tap < 0)
		return SKIP_CODE;
	/* tap0 exists while the allowlist still fills: never configured then */
	CHECK(netns_child_setup_tap(&p, &err) == -EPERM && strstr(err.detail, "allowlist"),
	      "tap0 configured before the allowlist was complete (%s)", err.detail);
	CHECK(netns_child_fill_allowlist(&err) == 0, "fill: %s", err.detail);
	CHECK(netns_child_setup_tap(&p, &err) == 0, "tap: %s: %s", err.detail,
	      strerror(err.errnum));
	CHECK(sh("ip -4 addr show dev tap0 | grep -q '10.0.2.100/24'") == 0, "no 10.0.2.100/24");
	CHECK(sh("ip -4 route | grep -q 'default via 10.0.2.2 dev tap0'") == 0, "no default route");
	CHECK(sh("ip link show tap0 | grep -q 'mtu 65520'") == 0, "wrong MTU");
	CHECK(sh("ip -6 addr show dev tap0 | grep -q 'fd00::100/64'") == 0, "no fd00::100/64");
	CHECK(sh("ip -6 route | grep -q 'default via fd00::2 dev tap0'") == 0,
	      "no v6 default route");

	/* Allowed: the SYN passes the filter and waits for slirp's MAC. */
	r = tcp_try(AF_INET, "10.200.1.7", 300, &ms);
	CHECK(r == 0, "allowed 10.200.1.7: %s", strerror(r));
	r = tcp_try(AF_INET6, "2001:db8:1::7", 300, &ms);
	CHECK(r == 0, "allowed 2001:db8:1::7: %s", strerror(r));
	/* Blocked: refused at once, not by timeout. */
	r = tcp_try(AF_INET, "10.200.2.7", 2000, &ms);
	CHECK(r == ECONNREFUSED && ms < 1000, "10.200.2.7: %s after %ld ms", strerror(r), ms);
	r = tcp_try(AF_INET, "169.254.169.254", 2000, &ms);
	CHECK(r == ECONNREFUSED && ms < 1000, "metadata: %s after %ld ms", strerror(r), ms);
	r = tcp_try(AF_INET6, "fd00:ec2::254", 2000, &ms);
	CHECK(r == ECONNREFUSED && ms < 1000, "v6 metadata: %s after %ld ms", strerror(r), ms);
	r = tcp_try(AF_INET6, "2001:db8:2::7", 2000, &ms);
	CHECK(r == ECONNREFUSED && ms < 1000, "2001:db8:2::7: %s after %ld ms", strerror(r), ms);
	r = udp_send(AF_INET, "10.200.2.7");
	CHECK(r == EPERM, "udp to a blocked host: %s", strerror(r));
	r = udp_send(AF_INET, "169.254.169.254");
	CHECK(r == EPERM, "udp to metadata: %s", strerror(r));
	r = udp_send(AF_INET, "10.200.1.7");
	CHECK(r == 0, "udp to an allowed host: %s", strerror(r));
	r = udp_send(AF_INET, "10.0.2.3");
	CHECK(r == EPERM, "udp to slirp's DNS without allowing it: %s", strerror(r));
	close(tap);
	return 0;
}

Test(nft_commit, filter_refuses_fast_and_lets_allowed_through)
{
	expect_ok(filter_at_work, NULL);
}

/* One set per (family, prefix length): each matches its own CIDRs through
 * its mask, and only those. */
static int groups_at_work(unsigned long host_ino, void *arg)
{
	char *e[] = {"10.0.0.0/8",	 "10.1.2.3",	     "192.0.2.0/25",   "198.51.100.7",
		     "203.0.113.0/31",	 "2001:db8:1::/48", "2001:db8:2::1",  "2001:db8:3::/127",
		     "169.254.0.0/16"};
	struct allow_set a = {e, sizeof(e) / sizeof(e[0])};
	struct netns_plan p = plan_from(&a, false, true);
	const struct {
		int family;
		const char *addr;
		int want; /* 0: let through, EPERM: refused */
	} cases[] = {
	    {AF_INET, "10.255.0.1", 0},	       {AF_INET, "11.0.0.1", EPERM},
	    {AF_INET, "9.255.255.255", EPERM}, {AF_INET, "192.0.2.127", 0},
	    {AF_INET, "192.0.2.128", EPERM},   {AF_INET, "198.51.100.7", 0},
	    {AF_INET, "198.51.100.6", EPERM},  {AF_INET, "203.0.113.1", 0},
	    {AF_INET, "203.0.113.2", EPERM},   {AF_INET, "169.254.1.1", EPERM},
	    {AF_INET6, "2001:db8:1:ffff::1", 0}, {AF_INET6, "2001:db8:2::1", 0},
	    {AF_INET6, "2001:db8:2::2", EPERM},  {AF_INET6, "2001:db8:3::1", 0},
	    {AF_INET6, "2001:db8:3::2", EPERM},  {AF_INET6, "2001:db8:4::", EPERM},
	};
	struct nsrun_err err = {0};
	int tap;

	(void)arg;
	CHECK(netns_child_setup_early(&p, host_ino, &err) == 0, "commit: %s", err.detail);
	CHECK(netns_child_fill_allowlist(&err) == 0, "fill: %s", err.detail);
	tap = open_tap();
	if (tap < 0)
		return SKIP_CODE;
	CHECK(netns_child_setup_tap(&p, &err) == 0, "tap: %s", err.detail);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = udp_send(cases[i].family, cases[i].addr);

		CHECK(r == cases[i].want, "udp to %s: %s, want %s", cases[i].addr, strerror(r),
		      strerror(cases[i].want));
	}
	close(tap);
	netns_plan_free(&p);
	return 0;
}

Test(nft_commit, every_prefix_group_matches_its_cidrs_only)
{
	expect_ok(groups_at_work, NULL);
}
