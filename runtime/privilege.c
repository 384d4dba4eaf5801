/* The command process's privilege drop. It runs inside the sandbox's user
 * namespace, where the process holds every capability of that namespace,
 * and leaves it with none, for good: no capability in any set, locked
 * securebits, the target ids, no supplementary groups, no_new_privs.
 * Capabilities are handled with raw capget/capset: no libcap. */
#include "privilege.h"

#include <errno.h>
#include <grp.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/securebits.h>

#include "seccomp/seccomp.h"

#define STAGE "privilege"

/* Every securebit we set, each with its lock:
 * - NOROOT: uid 0 (and setuid-root files) confer no capabilities on exec;
 * - NO_SETUID_FIXUP: id changes leave the capability sets alone, so the
 *   order of setresuid and capset below cannot leave caps behind by
 *   accident (we clear them ourselves, and verify);
 * - KEEP_CAPS locked off: PR_SET_KEEPCAPS can no longer be turned on;
 * - NO_CAP_AMBIENT_RAISE: nothing can refill the ambient set.
 * Locked bits cannot be changed back, even with CAP_SETPCAP. */
#define SECBITS_WANTED                                                               \
	(SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |               \
	 SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |                      \
	 SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED)

/* The highest capability the running kernel knows. Probed with
 * PR_CAPBSET_READ (EINVAL past the last one) rather than read from
 * /proc/sys/kernel/cap_last_cap, which the sandbox's /proc may mask; by
 * bisection, 6 calls where a scan took 42 (every call here is on the way
 * to the command's execve). */
static int cap_last(void)
{
	int lo = 0, hi = 63; /* CAP_CHOWN (0) always exists */

	while (lo < hi) {
		int mid = (lo + hi + 1) / 2;

		if (prctl(PR_CAPBSET_READ, mid, 0, 0, 0) < 0)
			hi = mid - 1;
		else
			lo = mid;
	}
	return lo;
}

static int drop_bounding(int last, struct nsrun_err *err)
{
	for (int c = 0; c <= last; c++) {
		/* Dropping a dropped one is fine with CAP_SETPCAP; without it
		 * (EPERM), an already dropped one keeps this idempotent. */
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) == 0)
			continue;
		if (errno != EPERM || prctl(PR_CAPBSET_READ, c, 0, 0, 0) != 0)
			return nsrun_err_set(err, STAGE, errno, "dropping bounding capability %d", c);
	}
	return 0;
}

static int lock_securebits(struct nsrun_err *err)
{
	int cur = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);

	if (cur < 0)
		return nsrun_err_set(err, STAGE, errno, "PR_GET_SECUREBITS");
	if ((cur & SECBITS_WANTED) == SECBITS_WANTED)
		return 0;
	/* KEEP_CAPS itself is left clear: locked off. */
	if (prctl(PR_SET_SECUREBITS, (cur & ~SECBIT_KEEP_CAPS) | SECBITS_WANTED, 0, 0, 0) < 0)
		return nsrun_err_set(err, STAGE, errno, "locking securebits");
	return 0;
}

static int caps_get(struct __user_cap_data_struct data[2])
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };

	return (int)syscall(SYS_capget, &hdr, data);
}

static int caps_clear(struct nsrun_err *err)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2] = { { 0 } };

	/* Ambient first: it must be a subset of permitted and inheritable,
	 * and an error here is clearer than the kernel trimming it silently.
	 * EINVAL: a kernel before 4.3 has no ambient set to clear. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return nsrun_err_set(err, STAGE, errno, "clearing the ambient capabilities");
	if (syscall(SYS_capset, &hdr, data) < 0)
		return nsrun_err_set(err, STAGE, errno, "capset to empty sets");
	return 0;
}

static int set_ids(const struct priv_plan *p, struct nsrun_err *err)
{
	/* gid first: changing it needs CAP_SETGID, which a uid change could
	 * take away were NO_SETUID_FIXUP not set. */
	if (setresgid(p->gid, p->gid, p->gid) < 0)
		return nsrun_err_set(err, STAGE, errno, "setresgid(%u)", (unsigned)p->gid);
	if (setresuid(p->uid, p->uid, p->uid) < 0)
		return nsrun_err_set(err, STAGE, errno, "setresuid(%u)", (unsigned)p->uid);
	return 0;
}

/* Trust but verify: a silent partial failure (a kernel that ignores a bit,
 * a libc that did not apply an id to every set) must not reach execve. */
static int verify(const struct priv_plan *p, int last, struct nsrun_err *err)
{
	if (p->set_ids) {
		uid_t r, e, s;
		gid_t rg, eg, sg;

		if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0)
			return nsrun_err_set(err, STAGE, errno, "reading back the ids");
		if (r != p->uid || e != p->uid || s != p->uid || rg != p->gid || eg != p->gid ||
		    sg != p->gid)
			return nsrun_err_set(err, STAGE, EPERM,
					     "ids are %u/%u/%u:%u/%u/%u, want %u:%u", (unsigned)r,
					     (unsigned)e, (unsigned)s, (unsigned)rg, (unsigned)eg,
					     (unsigned)sg, (unsigned)p->uid, (unsigned)p->gid);
	}
	if (p->clear_groups && getgroups(0, NULL) != 0)
		return nsrun_err_set(err, STAGE, EPERM, "supplementary groups remain");
	if (p->drop_caps) {
		struct __user_cap_data_struct d[2];

		if (caps_get(d) < 0)
			return nsrun_err_set(err, STAGE, errno, "capget");
		/* Ambient needs no check of its own: the kernel keeps it a
		 * subset of permitted and inheritable, both read empty here. */
		for (int i = 0; i < 2; i++)
			if (d[i].effective || d[i].permitted || d[i].inheritable)
				return nsrun_err_set(err, STAGE, EPERM, "capabilities remain after capset");
		for (int c = 0; c <= last; c++)
			if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) != 0)
				return nsrun_err_set(err, STAGE, EPERM, "bounding capability %d remains", c);
		if ((prctl(PR_GET_SECUREBITS, 0, 0, 0, 0) & SECBITS_WANTED) != SECBITS_WANTED)
			return nsrun_err_set(err, STAGE, EPERM, "securebits did not stick");
	}
	if (p->no_new_privs && prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return nsrun_err_set(err, STAGE, EPERM, "no_new_privs did not stick");
	return 0;
}

int priv_child_drop(const struct priv_plan *p, struct nsrun_err *err)
{
	int last = -1, r;

	if (!p->enabled)
		return 0;
	/* Without no_new_privs, installing a filter needs CAP_SYS_ADMIN, and
	 * we are about to drop it: refuse the plan rather than fail later. */
	if (p->seccomp && !p->no_new_privs)
		return nsrun_err_set(err, STAGE, EINVAL, "a seccomp filter needs no_new_privs");

	/* Needs CAP_SETGID; under a rootless supervisor setgroups is denied
	 * in the namespace and the plan does not ask. */
	/* Skipped when already empty: after the mount seal setgroups is
	 * denied in the command's namespace. */
	if (p->clear_groups && getgroups(0, NULL) != 0 && setgroups(0, NULL) < 0)
		return nsrun_err_set(err, STAGE, errno, "setgroups(0)");

	if (p->drop_caps) {
		/* Both need CAP_SETPCAP, so they come before anything that
		 * could lose it. */
		last = cap_last();
		r = drop_bounding(last, err);
		if (r < 0)
			return r;
		r = lock_securebits(err);
		if (r < 0)
			return r;
	}
	if (p->set_ids) {
		r = set_ids(p, err);
		if (r < 0)
			return r;
	}
	if (p->drop_caps) {
		r = caps_clear(err);
		if (r < 0)
			return r;
	}
	/* PR_SET_DUMPABLE is left alone on purpose. Under a root supervisor
	 * the id change (here, or earlier in the sandbox's init, whose mm
	 * flags a fork inherits) already made the process non-dumpable:
	 * commit_creds applies suid_dumpable when euid/egid change. Rootless,
	 * nothing in the sandbox but its init shares the uid, and ptrace is
	 * denied by seccomp. And execve of a readable, non-setid binary sets
	 * dumpable back to 1 anyway, which the command needs for its own
	 * /proc/self entries to be owned by it; a 0 here would buy nothing. */
	if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return nsrun_err_set(err, STAGE, errno, "PR_SET_NO_NEW_PRIVS");
	return verify(p, last, err);
}

int priv_child_drop_and_filter(const struct priv_plan *p, const struct seccomp_prog *prog,
			       struct nsrun_err *err)
{
	int r = priv_child_drop(p, err);

	if (r < 0 || !p->enabled || !p->seccomp)
		return r;
	return nsrun_seccomp_install(prog, err);
}
