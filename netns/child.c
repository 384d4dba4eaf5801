/* The child's side of the network layer, and the interlock that keeps it
 * out of the host's namespace (SPEC §6: before a ruleset is committed or a
 * link touched, the netns must be provably not the supervisor's). */
#include <errno.h>
#include <sched.h>
#include <sys/stat.h>

#include "netns_int.h"

/* The netns that netns_child_setup_early checked, in this process. Not
 * option state: a safety latch, so that tap set-up cannot run in a netns
 * that nobody compared with the supervisor's. */
static unsigned long verified_netns_ino;
/* The allowlist's set elements, committed after the skeleton; tap0 is not
 * configured while any are pending. */
static struct nft_batch *pending_elements;

int netns_child_fill_allowlist(struct nsrun_err *err)
{
	struct nft_batch *b = pending_elements;

	pending_elements = NULL;
	return b ? netns_nft_commit_rest(b, err) : 0;
}

unsigned long netns_current_ino(struct nsrun_err *err)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st) < 0) {
		nsrun_err_set(err, "netns", errno, "stat /proc/self/ns/net");
		return 0;
	}
	return (unsigned long)st.st_ino;
}

int netns_child_setup_early(const struct netns_plan *plan, unsigned long supervisor_netns_ino,
			    struct nsrun_err *err)
{
	unsigned long ino;
	int r;

	if (!plan->new_netns)
		return 0;
	ino = netns_current_ino(err);
	if (!ino)
		return err ? -err->errnum : -EIO;
	if (!supervisor_netns_ino)
		return nsrun_err_set(
		    err, "netns", EINVAL,
		    "the supervisor's netns inode is unknown: refusing to configure a "
		    "network namespace that cannot be told apart from the host's");
	if (ino == supervisor_netns_ino)
		return nsrun_err_set(
		    err, "netns", EPERM,
		    "still in the supervisor's network namespace (inode %lu): refusing "
		    "to touch links or nftables",
		    ino);
	verified_netns_ino = ino;

	/* The filter first: no interface but lo exists yet, so no packet can
	 * ever pass an unloaded filter (BACKGROUND). Its skeleton, that is:
	 * the allowlist's elements follow in netns_child_fill_allowlist, while
	 * slirp4netns starts; until then the filter drops more, never less. */
	if (plan->egress) {
		r = netns_nft_commit_skeleton(plan, &pending_elements, err);
		if (r < 0)
			return r;
	}
	return netns_link_lo_up(err);
}

int netns_child_enter(int fd, unsigned long supervisor_netns_ino, struct nsrun_err *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return nsrun_err_set(err, "netns", errno, "fstat of the network namespace");
	if (!supervisor_netns_ino || (unsigned long)st.st_ino == supervisor_netns_ino)
		return nsrun_err_set(err, "netns", EPERM,
				     "the network namespace handed over is the supervisor's "
				     "(or cannot be told apart from it): refusing it");
	if (setns(fd, CLONE_NEWNET) < 0)
		return nsrun_err_set(err, "netns", errno, "entering the network namespace");
	verified_netns_ino = (unsigned long)st.st_ino;
	return 0;
}

int netns_child_setup_tap(const struct netns_plan *plan, struct nsrun_err *err)
{
	unsigned long ino;

	if (!plan->new_netns || !plan->egress)
		return 0;
	ino = netns_current_ino(err);
	if (!ino)
		return err ? -err->errnum : -EIO;
	if (!verified_netns_ino || ino != verified_netns_ino)
		return nsrun_err_set(
		    err, "netns", EPERM,
		    "tap0 set-up in a network namespace that was not verified first");
	if (pending_elements)
		return nsrun_err_set(err, "netns", EPERM,
				     "tap0 set-up before the allowlist is complete");
	return netns_link_tap_setup(plan, err);
}
