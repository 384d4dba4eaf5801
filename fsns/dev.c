/* The minimal /dev of SPEC §6. Device nodes cannot be made with mknod in a
 * user namespace (and a tmpfs mounted there is implicitly nodev), so the
 * host's nodes are bound one by one; each bind is its own mount, which is
 * what keeps them usable below a nodev root. /dev itself is a directory of
 * the root tmpfs and so read-only with it: no separate tmpfs to mount and
 * remount (bwrap uses one; it costs two syscalls and buys nothing here). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fsns.h"

static const char *const dev_nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};

static const struct {
	const char *target, *name;
} dev_links[] = {
    {"pts/ptmx", "/dev/ptmx"},		{"/proc/self/fd", "/dev/fd"},
    {"/proc/self/fd/0", "/dev/stdin"},	{"/proc/self/fd/1", "/dev/stdout"},
    {"/proc/self/fd/2", "/dev/stderr"},
};

void fsns_plan_dev(struct fsns_plan *plan)
{
	struct fsns_step *s;
	char path[32];

	fsns_plan_add(plan, FSNS_DIR, NULL, "/dev")->mode = 0755;
	for (size_t i = 0; i < sizeof(dev_nodes) / sizeof(dev_nodes[0]); i++) {
		snprintf(path, sizeof(path), "/dev/%s", dev_nodes[i]);
		s = fsns_plan_add(plan, FSNS_DEV_BIND, path, path);
		s->mode = S_IFREG;
		/* A host (or container) without one leaves it out; /dev/null also
		 * masks /proc entries, so that one is required. */
		s->optional = strcmp(dev_nodes[i], "null") != 0;
	}
	/* A private instance: the sandbox sees none of the host's ptys, and
	 * ptmxmode=0666 lets the unprivileged command open its own. No gid=:
	 * the tty group is not mapped in the user namespace. Read-only is fine:
	 * pty nodes are made by the kernel, not through the mount. */
	fsns_plan_add(plan, FSNS_DEVPTS, NULL, "/dev/pts");
	for (size_t i = 0; i < sizeof(dev_links) / sizeof(dev_links[0]); i++)
		fsns_plan_add(plan, FSNS_SYMLINK, dev_links[i].target, dev_links[i].name);
	s = fsns_plan_add(plan, FSNS_TMPFS, NULL, "/dev/shm");
	s->rw = true;
	s->noexec = true;
	s->mode = 01777;
	s->size = plan->tmp_size;
}
