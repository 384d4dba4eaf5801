/* Live host-capability probes. Each namespace probe is a real clone into
 * fresh namespaces (a sysctl can say yes while a seccomp profile says no);
 * nothing here touches the host's own namespaces. */
#include "caps.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "netns/netns.h"
#include "resources.h"

static void explain_userns(struct cap_check *c, int e);

void cap_check_ok(struct cap_check *c)
{
	c->ok = true;
	c->reason[0] = '\0';
}

void cap_check_no(struct cap_check *c, const char *fmt, ...)
{
	va_list ap;

	c->ok = false;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
}

static long read_long_file(const char *path, long dflt)
{
	char buf[32] = "";
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0)
		return dflt;
	return strtol(buf, NULL, 10);
}

void caps_explain_userns(int e, char *buf, size_t len)
{
	struct cap_check c;

	explain_userns(&c, e);
	snprintf(buf, len, "%s", c.reason);
}

/* Why a user namespace could not be made, in words an operator can act on. */
static void explain_userns(struct cap_check *c, int e)
{
	if (read_long_file("/proc/sys/user/max_user_namespaces", 1) == 0)
		cap_check_no(c, "user namespaces are disabled: user.max_user_namespaces=0 on the host (for a "
			  "container: on its node); run `sysctl -w user.max_user_namespaces=15000` there");
	else if (read_long_file("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", 0) == 1)
		cap_check_no(c, "AppArmor restricts unprivileged user namespaces "
			  "(kernel.apparmor_restrict_unprivileged_userns=1, Ubuntu 23.10+); run "
			  "`sysctl -w kernel.apparmor_restrict_unprivileged_userns=0` or give nsrun an "
			  "AppArmor profile with the 'userns' permission");
	else if (read_long_file("/proc/sys/kernel/unprivileged_userns_clone", 1) == 0)
		cap_check_no(c, "unprivileged user namespaces are disabled: "
			  "run `sysctl -w kernel.unprivileged_userns_clone=1`");
	else if (e == EPERM || e == ENOSYS)
		cap_check_no(c, "clone(CLONE_NEWUSER) is refused (%s): the container runtime's seccomp "
			  "profile most likely blocks it (the Docker/containerd default does); run the "
			  "container with scripts/container/seccomp-nsrun.json (docker --security-opt "
			  "seccomp=FILE; Kubernetes seccompProfile type Localhost)",
		       strerror(e));
	else
		cap_check_no(c, "clone(CLONE_NEWUSER) failed: %s", strerror(e));
}

/* Raw clone with fork semantics: the child continues here on a copy of the
 * stack, which is all a probe needs. */
static pid_t clone_fork(unsigned long flags)
{
	return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
}

static int wait_code(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* In a fresh user+pid+mount namespace: can a new procfs be mounted? Fails
 * when the runtime masks /proc paths (the kernel refuses a procfs that would
 * reveal more than the one that is visible). */
static int probe_proc_child(void)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return 10;
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return errno == EPERM ? 11 : 12;
	return 0;
}

static void probe_namespaces(struct host_caps *caps)
{
	unsigned long base = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS;
	pid_t pid;
	int code;

	pid = clone_fork(base | CLONE_NEWNET);
	if (pid == 0)
		_exit(probe_proc_child());
	if (pid > 0) {
		cap_check_ok(&caps->userns);
		cap_check_ok(&caps->netns);
		code = wait_code(pid);
	} else {
		int e = errno;

		pid = clone_fork(base);
		if (pid < 0) {
			explain_userns(&caps->userns, e);
			cap_check_no(&caps->netns, "no user namespace to make it in");
			cap_check_no(&caps->procfs, "no user namespace to mount it in");
			return;
		}
		if (pid == 0)
			_exit(probe_proc_child());
		cap_check_ok(&caps->userns);
		cap_check_no(&caps->netns, "clone(CLONE_NEWNET) in a user namespace failed: %s",
		       strerror(e));
		code = wait_code(pid);
	}
	if (code == 0)
		cap_check_ok(&caps->procfs);
	else if (code == 11)
		cap_check_no(&caps->procfs,
		       "a fresh /proc cannot be mounted: this host or container masks /proc paths "
		       "(the host's /proc is never bound instead); run the container with an unmasked "
		       "/proc: Docker --security-opt systempaths=unconfined, Podman --security-opt "
		       "unmask=ALL, Kubernetes securityContext.procMount: Unmasked (needs hostUsers: "
		       "false), or remove runc's maskedPaths/readonlyPaths");
	else if (read_long_file("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", 0) == 1)
		/* Ubuntu's restriction lets the clone succeed but leaves the new
		 * namespace without capabilities: the first mount fails. */
		cap_check_no(&caps->procfs,
		       "AppArmor restricts unprivileged user namespaces "
		       "(kernel.apparmor_restrict_unprivileged_userns=1): the namespace has no "
		       "capabilities; run `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0` or "
		       "give nsrun an AppArmor profile with the 'userns' permission");
	else
		cap_check_no(&caps->procfs, "mounting a fresh /proc failed (probe code %d)", code);
}

static bool find_in_path(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (!path || !*path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *save = NULL, *dir = strtok_r(buf, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		if (*dir != '/')
			continue; /* a relative PATH entry is a hijack waiting to happen */
		snprintf(out, len, "%s/%s", dir, name);
		if (access(out, X_OK) == 0)
			return true;
	}
	out[0] = '\0';
	return false;
}

static void probe_egress(struct host_caps *caps, bool what_assumed)
{
	const char *forced = getenv("NSRUN_SLIRP4NETNS");

	if (forced && *forced) {
		snprintf(caps->slirp4netns_path, sizeof(caps->slirp4netns_path), "%s", forced);
		if (forced[0] == '/' && access(forced, X_OK) == 0)
			cap_check_ok(&caps->slirp4netns);
		else
			cap_check_no(&caps->slirp4netns, "NSRUN_SLIRP4NETNS=%s is not an executable absolute path",
			       forced);
	} else if (find_in_path("slirp4netns", caps->slirp4netns_path,
				sizeof(caps->slirp4netns_path))) {
		cap_check_ok(&caps->slirp4netns);
	} else {
		cap_check_no(&caps->slirp4netns,
		       "slirp4netns not found in PATH: install it (apt-get install slirp4netns)");
	}
	if (what_assumed)
		return;
	if (!caps->netns.ok) {
		cap_check_no(&caps->nftables, "no network namespace to load a ruleset in");
		cap_check_no(&caps->tun, "no network namespace to create tap0 in");
		return;
	}
	caps->nftables.ok = netns_probe_nftables(caps->nftables.reason, sizeof(caps->nftables.reason));
	caps->tun.ok = netns_probe_tun(caps->tun.reason, sizeof(caps->tun.reason));
}

static void probe_seccomp(struct host_caps *caps)
{
	unsigned int action = SECCOMP_RET_KILL_PROCESS;
	long v;

	if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0)
		cap_check_ok(&caps->seccomp);
	else
		cap_check_no(&caps->seccomp, "seccomp filters are unavailable (%s): the kernel needs "
				       "CONFIG_SECCOMP_FILTER", strerror(errno));
	v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (v >= 1)
		cap_check_ok(&caps->landlock);
	else
		cap_check_no(&caps->landlock, "Landlock unavailable: %s", strerror(errno));
}

static int count_supp_groups(gid_t primary)
{
	gid_t groups[256];
	int n = getgroups(256, groups), other = 0;

	for (int i = 0; i < n; i++)
		other += groups[i] != primary;
	return other;
}

void caps_probe(struct host_caps *caps, unsigned what)
{
	struct utsname u;

	memset(caps, 0, sizeof(*caps));
	caps->uid = getuid();
	caps->gid = getgid();
	caps->euid_is_root = geteuid() == 0;
	caps->n_supp_groups = count_supp_groups(caps->gid);
	if (uname(&u) == 0)
		snprintf(caps->kernel, sizeof(caps->kernel), "%s %s %s", u.sysname, u.release, u.machine);
	cap_check_no(&caps->userns, "not probed");
	cap_check_no(&caps->netns, "not probed");
	cap_check_no(&caps->procfs, "not probed");
	cap_check_no(&caps->nftables, "not probed");
	cap_check_no(&caps->tun, "not probed");
	cap_check_no(&caps->slirp4netns, "not probed");
	cap_check_no(&caps->seccomp, "not probed");
	cap_check_no(&caps->landlock, "not probed");
	cap_check_no(&caps->cgroup_memory, "not probed");
	cap_check_no(&caps->cgroup_pids, "not probed");
	bool assumed = what & CAPS_ASSUME_LIVE;

	if (assumed) {
		/* Fail-closed runs skip the namespace probes: the run itself is
		 * the live test, and any failure refuses it (exit 125). */
		cap_check_ok(&caps->userns);
		cap_check_ok(&caps->netns);
		cap_check_ok(&caps->procfs);
		if (what & CAPS_EGRESS) {
			cap_check_ok(&caps->nftables);
			cap_check_ok(&caps->tun);
		}
		what &= ~CAPS_NS;
	} else if (what & (CAPS_NS | CAPS_EGRESS)) {
		probe_namespaces(caps);
	}
	if (what & CAPS_EGRESS)
		probe_egress(caps, assumed);
	if (what & CAPS_SECCOMP)
		probe_seccomp(caps);
	if (what & CAPS_CGROUP)
		cgroup_probe(caps, !assumed);
}

void caps_all_ok(struct host_caps *caps, bool root)
{
	memset(caps, 0, sizeof(*caps));
	caps->euid_is_root = root;
	caps->uid = root ? 0 : 1000;
	caps->gid = root ? 0 : 1000;
	snprintf(caps->kernel, sizeof(caps->kernel), "Linux test x86_64");
	cap_check_ok(&caps->userns);
	cap_check_ok(&caps->netns);
	cap_check_ok(&caps->procfs);
	cap_check_ok(&caps->nftables);
	cap_check_ok(&caps->tun);
	cap_check_ok(&caps->slirp4netns);
	snprintf(caps->slirp4netns_path, sizeof(caps->slirp4netns_path), "/usr/bin/slirp4netns");
	cap_check_ok(&caps->seccomp);
	cap_check_ok(&caps->landlock);
	caps->cgroup_version = 1;
	cap_check_ok(&caps->cgroup_memory);
	cap_check_ok(&caps->cgroup_pids);
	snprintf(caps->cgroup_memory_dir, sizeof(caps->cgroup_memory_dir), "/sys/fs/cgroup/memory/nsrun");
	snprintf(caps->cgroup_pids_dir, sizeof(caps->cgroup_pids_dir), "/sys/fs/cgroup/pids/nsrun");
}
