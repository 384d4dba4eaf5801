/* Sealing the mount tree. Mounts made inside the sandbox's own user
 * namespace are not locked: anything holding CAP_SYS_ADMIN there could
 * remount /usr read-write or lift a mask. The kernel locks a mount's flags
 * (and mounts over others) when a mount namespace is copied into a less
 * privileged user namespace, so the last set-up step moves into a nested
 * user + mount namespace: every mount built so far becomes MNT_LOCKED with
 * its read-only/nosuid/nodev/noexec flags locked, whatever capabilities the
 * command could ever regain in the nested namespace. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <string.h>
#include <linux/mount.h>
#include <unistd.h>

#include "fsns.h"
#include "runtime/cleanup.h"

static int write_self(const char *name, const char *text, struct nsrun_err *err)
{
	_cleanup_close_ int fd = -1;
	char path[64];
	size_t len = strlen(text);

	snprintf(path, sizeof(path), "/proc/self/%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		return nsrun_err_set(err, "fsns", errno, "seal: writing %s", path);
	return 0;
}

int fsns_child_seal(const struct fsns_plan *plan, uid_t uid, gid_t gid, struct nsrun_err *err)
{
	char map[64];
	int r;

	/* Without a procfs of our own (a degraded run) there is no way to
	 * write the nested maps; the planner already reported that gap. */
	if (!plan->fresh_proc)
		return fsns_old_root_wait(err);
	/* EPERM while the old root is still on "/" (the kernel sees a chroot):
	 * once its detach is done, the second try is the answer. */
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
		int e = errno;

		if (e != EPERM || !fsns_old_root_pending())
			return nsrun_err_set(err, "fsns", e, "seal: unshare a nested user+mount namespace");
		if (fsns_old_root_wait(err) < 0)
			return -1;
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
			return nsrun_err_set(err, "fsns", errno,
					     "seal: unshare a nested user+mount namespace");
	}
	/* After an id change the process is not dumpable, which makes its
	 * /proc/self files root's: dumpable only while the maps are written. */
	prctl(PR_SET_DUMPABLE, 1);
	/* The writer has no CAP_SETGID in the parent namespace, so the kernel
	 * wants setgroups denied first; the groups were cleared before. */
	r = write_self("setgroups", "deny", err);
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	if (r == 0)
		r = write_self("uid_map", map, err);
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	if (r == 0)
		r = write_self("gid_map", map, err);
	prctl(PR_SET_DUMPABLE, 0);
	if (r < 0)
		return r;
	if (plan->limit_userns) {
		r = fsns_limit_userns("/proc", plan);
		if (r < 0)
			return nsrun_err_set(err, "fsns", -r, "set user.max_user_namespaces to 0");
	}
	r = fsns_mount_attr("/proc", false,
			    MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
	if (r < 0)
		return nsrun_err_set(err, "fsns", -r, "remount /proc read-only");
	return 0;
}
