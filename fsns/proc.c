/* /proc: a fresh procfs of the sandbox's own pid namespace (the child is
 * its pid 1, so it may mount one), never the host's. It is made read-only
 * as a whole -- /proc/sys, sysrq-trigger, irq, bus, fs and every
 * /proc/<pid>/ file at once, one remount instead of a bind+remount pair per
 * entry -- and the entries that leak kernel state are masked as runc does:
 * /dev/null over files, an empty read-only tmpfs over directories. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsns.h"
#include "runtime/cleanup.h"

static const char *const masked_files[] = {
    "kcore", /* physical memory as an ELF core */
    "keys",  /* every key the kernel holds that the reader may see */
    "latency_stats", "timer_list", "timer_stats", "sched_debug", /* kernel pointers, timing */
    "interrupts", /* per-CPU interrupt counts: a keystroke/network side channel */
};
static const char *const masked_dirs[] = {"acpi", "asound", "scsi"};

void fsns_plan_proc(struct fsns_plan *plan)
{
	char path[64];

	fsns_plan_add(plan, FSNS_PROC, NULL, "/proc");
	for (size_t i = 0; i < sizeof(masked_files) / sizeof(masked_files[0]); i++) {
		snprintf(path, sizeof(path), "/proc/%s", masked_files[i]);
		fsns_plan_add(plan, FSNS_MASK, "/dev/null", path)->mode = S_IFREG;
	}
	for (size_t i = 0; i < sizeof(masked_dirs) / sizeof(masked_dirs[0]); i++) {
		snprintf(path, sizeof(path), "/proc/%s", masked_dirs[i]);
		fsns_plan_add(plan, FSNS_MASK, NULL, path)->mode = S_IFDIR;
	}
}

int fsns_ns_is(const char *nsname, uint64_t dev, uint64_t ino)
{
	char path[64];
	struct stat st;

	if (ino == 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/self/ns/%s", nsname);
	if (stat(path, &st) < 0)
		return -1;
	return st.st_dev == dev && st.st_ino == ino;
}

/* user.max_user_namespaces is per user namespace: 0 in the sandbox's own
 * means nothing inside can make another (where it would hold every
 * capability again), whatever the seccomp filter says. The value is that of
 * the writer's user namespace whichever procfs is written through. */
int fsns_limit_userns(const char *proc, const struct fsns_plan *plan)
{
	_cleanup_close_ int fd = -1;
	char path[96];

	/* Never the host's own setting: in the supervisor's user namespace
	 * (the initial one, typically) this write would disable user
	 * namespaces for the whole machine. */
	if (fsns_ns_is("user", plan->sup_userns_dev, plan->sup_userns_ino) != 0)
		return -EPERM;
	snprintf(path, sizeof(path), "%s/sys/user/max_user_namespaces", proc);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, "0", 1) != 1)
		return errno ? -errno : -EIO;
	return 0;
}

int fsns_apply_proc(const struct fsns_root *root, const struct fsns_plan *plan,
		    const struct fsns_step *s, struct nsrun_err *err)
{
	char path[512];
	int r;

	snprintf(path, sizeof(path), "%s%s", root->prefix, s->dest);
	r = fsns_mkpath(root, s->dest, FSNS_NODE_DIR, NULL);
	if (r < 0)
		return nsrun_err_set(err, "fsns", -r, "mkdir %s", s->dest);
	/* Fail-closed: when this is refused there is no fallback to the
	 * host's /proc (SPEC §6). */
	if (mount("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		/* The kernel refuses a procfs that would show more than the
		 * visible one: a runtime masks /proc paths (runc's maskedPaths). */
		if (errno == EPERM)
			return nsrun_err_set(
			    err, "fsns", EPERM,
			    "mount proc at %s (this host or container masks /proc "
			    "paths; run it with an unmasked /proc: Kubernetes "
			    "securityContext.procMount: Unmasked, Docker --security-opt "
			    "systempaths=unconfined, or no runc maskedPaths/readonlyPaths)",
			    s->dest);
		return nsrun_err_set(err, "fsns", errno, "mount proc at %s", s->dest);
	}
	(void)plan;
	/* The user-namespace limit and the read-only remount come later, in
	 * fsns_child_seal: writing its own id maps needs /proc writable. */
	return 0;
}

int fsns_apply_mask(const struct fsns_root *root, const struct fsns_step *s, struct nsrun_err *err)
{
	char path[512], src[512];
	int r = 0;

	snprintf(path, sizeof(path), "%s%s", root->prefix, s->dest);
	if (S_ISDIR(s->mode)) {
		if (mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "mode=0555,size=4k") < 0)
			r = -errno;
	} else {
		/* /dev/null (ours, or the host's when the root is not replaced):
		 * reads are empty, writes vanish. A device node ignores the
		 * mount's ro, so nodev is left off: it would make reads EACCES. */
		snprintf(src, sizeof(src), "%s%s", root->prefix, s->src);
		r = fsns_bind_file(src, path,
				   MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
	}
	if (r == -ENOENT)
		return 0; /* this kernel has no such entry */
	if (r < 0)
		return nsrun_err_set(err, "fsns", -r, "mask %s", s->dest);
	return 0;
}
