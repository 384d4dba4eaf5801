/* Live probes for nftables and tun (BACKGROUND: only an actual attempt tells
 * the truth; a container's seccomp profile or a 0600 /dev/net/tun make the
 * sysctls lie). Each runs in a forked child that first unshares a user and a
 * network namespace, so nothing it does can land in the host's. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "../runtime/cleanup.h"
#include "netns_int.h"

#define PROBE_TIMEOUT_MS 3000

struct probe_result {
	int ok;
	char reason[400];
};

static int write_file(const char *path, const char *text)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(text);

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		return -errno;
	return 0;
}

/* In the forked child: a user namespace that maps our own ids (as the
 * sandbox does) and a fresh netns; proven fresh by its inode. */
static int enter_fresh_netns(struct probe_result *res)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	unsigned long before, after;
	char map[64];
	int r;

	before = netns_current_ino(NULL);
	if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0) {
		snprintf(res->reason, sizeof(res->reason),
			 "unshare(CLONE_NEWUSER|CLONE_NEWNET): %s", strerror(errno));
		return -1;
	}
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	r = write_file("/proc/self/uid_map", map);
	if (r == 0)
		r = write_file("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	if (r == 0)
		r = write_file("/proc/self/gid_map", map);
	if (r < 0) {
		snprintf(res->reason, sizeof(res->reason), "writing the probe's id maps: %s",
			 strerror(-r));
		return -1;
	}
	after = netns_current_ino(NULL);
	if (!before || !after || before == after) {
		snprintf(res->reason, sizeof(res->reason),
			 "cannot prove the probe left the host's network namespace");
		return -1;
	}
	return 0;
}

static void probe_nft(struct probe_result *res)
{
	/* The real ruleset's shape (hash sets, masked lookups, reject, jump),
	 * so that a kernel lacking e.g. nft_reject_inet fails here and not at
	 * run time. */
	struct cidr allow[2];
	struct netns_plan plan = {
	    .new_netns = true,
	    .egress = true,
	    .block_special = true,
	    .ipv6 = true,
	    .mtu = NETNS_MTU,
	};
	struct nsrun_err err = {0};
	int r;

	cidr_parse("192.0.2.0/24", &allow[0], NULL, 0);
	cidr_parse("2001:db8::/32", &allow[1], NULL, 0);
	if (netns_plan_set_allowlist(&plan, allow, 2, &err) < 0) {
		nsrun_err_format(&err, res->reason, sizeof(res->reason));
		return;
	}
	/* No delete: the netns dies with this child and takes the table with
	 * it, asynchronously; an explicit delete waits out an RCU grace period
	 * (~10 ms, most of the probe's cost). */
	r = netns_nft_commit(&plan, &err);
	netns_plan_free(&plan);
	if (r < 0) {
		nsrun_err_format(&err, res->reason, sizeof(res->reason));
		return;
	}
	res->ok = 1;
}

static void probe_tun(struct probe_result *res)
{
	_cleanup_close_ int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	struct ifreq ifr;

	if (fd < 0) {
		if (errno == ENOENT)
			snprintf(res->reason, sizeof(res->reason),
				 "/dev/net/tun is missing: egress through slirp4netns needs it; on "
				 "a host load the tun module (modprobe tun); give a container the "
				 "device (docker/podman --device /dev/net/tun; Kubernetes: a device "
				 "plugin or a hostPath CharDevice volume)");
		else
			snprintf(res->reason, sizeof(res->reason),
				 "opening /dev/net/tun from a user namespace: %s (make it mode "
				 "0666, as distributions ship it)", strerror(errno));
		return;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", NETNS_TAP_NAME);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		snprintf(res->reason, sizeof(res->reason), "TUNSETIFF on /dev/net/tun: %s",
			 strerror(errno));
		return;
	}
	/* Closing a non-persistent tap unregisters it synchronously (~20 ms
	 * of RCU waits in our exit); a persistent one is left to the dying
	 * netns, which cleans it up in the background. */
	ioctl(fd, TUNSETPERSIST, 1);
	res->ok = 1;
}

static bool probe_run(void (*fn)(struct probe_result *), const char *name, char *reason, size_t len)
{
	struct probe_result res = {0};
	int fds[2];
	pid_t pid;
	ssize_t n = -1;

	if (pipe2(fds, O_CLOEXEC) < 0) {
		snprintf(reason, len, "%s probe: pipe: %s", name, strerror(errno));
		return false;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(reason, len, "%s probe: fork: %s", name, strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return false;
	}
	if (pid == 0) {
		close(fds[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (enter_fresh_netns(&res) == 0)
			fn(&res);
		n = write(fds[1], &res, sizeof(res));
		_exit(n == (ssize_t)sizeof(res) ? 0 : 1);
	}
	close(fds[1]);
	struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
	int pr;
	do
		pr = poll(&pfd, 1, PROBE_TIMEOUT_MS);
	while (pr < 0 && errno == EINTR);
	if (pr > 0)
		n = read(fds[0], &res, sizeof(res));
	close(fds[0]);
	if (pr <= 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(res)) {
		snprintf(reason, len, "%s probe %s", name, pr == 0 ? "timed out" : "died");
		return false;
	}
	res.reason[sizeof(res.reason) - 1] = '\0';
	if (!res.ok)
		snprintf(reason, len, "%s", res.reason);
	else if (len)
		reason[0] = '\0';
	return res.ok;
}

bool netns_probe_nftables(char *reason, size_t len)
{
	return probe_run(probe_nft, "nftables", reason, len);
}

bool netns_probe_tun(char *reason, size_t len)
{
	return probe_run(probe_tun, "tun", reason, len);
}
