/* netns/maker.c: the network namespace made beside the sandbox. A forked
 * "sandbox" sits in a user namespace of its own; the maker must hand back a
 * fresh netns owned by exactly that user namespace, with lo up, and
 * netns_child_enter must refuse the supervisor's own netns. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netns/netns.h"

static pid_t sandbox = -1;
static int go[2] = {-1, -1};

static void stop_sandbox(void)
{
	if (sandbox > 0) {
		kill(sandbox, SIGKILL);
		waitpid(sandbox, NULL, 0);
	}
	sandbox = -1;
}

/* A child in a new user namespace that waits until killed; its
 * /proc/<pid>/ns/user, opened while it is dumpable. */
static int start_sandbox(void)
{
	char path[64], c;
	int fd;

	cr_assert_eq(pipe(go), 0);
	sandbox = fork();
	cr_assert_geq(sandbox, 0);
	if (sandbox == 0) {
		close(go[0]);
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(1);
		if (write(go[1], "u", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(go[1]);
	if (read(go[0], &c, 1) != 1)
		cr_skip_test("no user namespaces here");
	close(go[0]);
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)sandbox);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	return fd;
}

/* The maker sends to one end of a socket pair; the sandbox's end back. */
static int start_maker(int userns, struct netns_maker *m, struct nsrun_err *err)
{
	int sp[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
	cr_assert_eq(netns_maker_start(userns, sp[1], m, err), 0, "%s", err->detail);
	close(sp[1]);
	return sp[0];
}

static unsigned long ino_of(int fd)
{
	struct stat st;

	cr_assert_eq(fstat(fd, &st), 0);
	return (unsigned long)st.st_ino;
}

static unsigned long own_netns_ino(void)
{
	struct stat st;

	cr_assert_eq(stat("/proc/self/ns/net", &st), 0);
	return (unsigned long)st.st_ino;
}

Test(netns_maker, makes_a_netns_owned_by_the_sandbox, .fini = stop_sandbox)
{
	struct netns_maker m;
	struct nsrun_err err = {0};
	int userns = start_sandbox(), net, owner;

	int sock = start_maker(userns, &m, &err);

	net = netns_maker_take_from(sock, 5000, &err);
	close(sock);
	netns_maker_reap(&m);
	cr_assert_geq(net, 0, "%s: %s", err.stage, err.detail);
	cr_assert_neq(ino_of(net), own_netns_ino(), "the supervisor's own netns came back");
	owner = ioctl(net, NS_GET_USERNS);
	cr_assert_geq(owner, 0, "NS_GET_USERNS: %s", strerror(errno));
	cr_assert_eq(ino_of(owner), ino_of(userns), "the netns is not owned by the sandbox's userns");

	/* entered from a process (a fork, so this one keeps its netns): lo
	 * is up there, and the supervisor's netns is refused */
	pid_t p = fork();
	cr_assert_geq(p, 0);
	if (p == 0) {
		struct nsrun_err e = {0};
		int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		struct ifreq ifr;
		int s;

		if (netns_child_enter(self, own_netns_ino(), &e) != -EPERM)
			_exit(10);
		if (netns_child_enter(net, own_netns_ino(), &e) < 0)
			_exit(11);
		s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		memset(&ifr, 0, sizeof(ifr));
		memcpy(ifr.ifr_name, "lo", 3);
		if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0 || !(ifr.ifr_flags & IFF_UP))
			_exit(12);
		_exit(0);
	}
	int st;
	cr_assert_eq(waitpid(p, &st, 0), p);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "child status %#x (10: own netns accepted, 11: enter failed, 12: lo down)", st);
	close(owner);
	close(net);
	close(userns);
}

/* A helper that cannot do its job says why; nothing hangs. */
Test(netns_maker, failure_has_a_reason)
{
	struct netns_maker m;
	struct nsrun_err err = {0};
	int notns = open("/dev/null", O_RDONLY | O_CLOEXEC);

	int sock = start_maker(notns, &m, &err);

	cr_assert_lt(netns_maker_take_from(sock, 5000, &err), 0);
	close(sock);
	netns_maker_reap(&m);
	cr_assert(strstr(err.detail, "user namespace"), "reason: %s: %s", err.stage, err.detail);
	close(notns);
}

/* A helper that dies before it sends anything: the sandbox's end sees EOF
 * at once and says so, rather than waiting out its timeout. */
Test(netns_maker, a_dead_helper_is_an_error_not_a_hang)
{
	struct netns_maker m;
	struct nsrun_err err = {0};
	int userns = start_sandbox(), sock = start_maker(userns, &m, &err);

	netns_maker_reap(&m); /* SIGKILL, most likely before it sent */
	int fd = netns_maker_take_from(sock, 60000, &err);

	if (fd >= 0) {
		/* it was quicker than the kill: then the fd is a netns */
		cr_assert_eq(ioctl(fd, NS_GET_NSTYPE), CLONE_NEWNET);
		close(fd);
	} else {
		cr_assert_eq(fd, -EPIPE, "%d: %s: %s", fd, err.stage, err.detail);
		cr_assert(strstr(err.detail, "without sending"), "reason: %s", err.detail);
	}
	close(sock);
	close(userns);
	stop_sandbox();
}
