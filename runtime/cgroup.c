/* Per-run cgroups: probe, create, attach, OOM check, destroy, stale sweep.
 *
 * Layout: <the supervisor's own cgroup>/nsrun/nsrun-<pid>-<n> in each
 * hierarchy used (v1: memory and pids; v2: one dir). Nesting under our own
 * cgroup keeps the run inside whatever limits the supervisor itself lives
 * under (a container's). Each run's cgroup goes with the run; the empty
 * "nsrun" parent stays, made by the first run, like a service manager's
 * slice: making and removing it cost every run ~0.1 ms of CPU (a memory
 * cgroup is costly to create), and the guard, which removes a run's
 * cgroup, could not remove a parent in a hierarchy root anyway (it acts
 * from the sandbox's user namespace; /sys/fs/cgroup/pids is 0555). */
#include "resources.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "caps.h"
#include "cleanup.h"

#define DESTROY_DEADLINE_NS (2 * 1000000000LL)

/* ---------- small file helpers ---------- */

static int write_at(const char *dir, const char *file, const char *text)
{
	char path[600];
	_cleanup_close_ int fd = -1;
	size_t len = strlen(text);

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* cgroupfs takes each write(2) as one command: never split it. */
	if (write(fd, text, len) != (ssize_t)len)
		return -errno;
	return 0;
}

static ssize_t read_at(const char *dir, const char *file, char *buf, size_t len)
{
	char path[600];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	memset(buf, 0, len); /* callers scan it as text, whatever happens */
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

/* Whole small proc file into a malloc'd string (mountinfo can be long). */
static char *slurp(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 8192, len = 0;
	char *buf, *nbuf;
	ssize_t n;

	if (fd < 0 || !(buf = malloc(cap)))
		return NULL;
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 2) {
			if (cap >= (8u << 20) || !(nbuf = realloc(buf, cap * 2)))
				break;
			buf = nbuf;
			cap *= 2;
		}
	}
	buf[len] = '\0';
	return buf;
}

/* word in a list separated by spaces, commas or newlines */
static bool has_word(const char *list, const char *word)
{
	size_t wl = strlen(word);

	for (const char *s = list; (s = strstr(s, word)); s += wl)
		if ((s == list || strchr(" ,\n", s[-1])) && (!s[wl] || strchr(" ,\n", s[wl])))
			return true;
	return false;
}


/* ---------- probe ---------- */

struct hier {
	bool found;
	char mnt[256];	/* mount point */
	char root[256]; /* the hierarchy path mounted there (container mounts) */
	char own[256];	/* this process's cgroup path in that hierarchy */
};

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++, d++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] && s[3]) {
			*d = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
			s += 3;
		} else {
			*d = *s;
		}
	}
	*d = '\0';
}

static void parse_mountinfo(const char *text, struct hier *v2, struct hier *mem, struct hier *pids)
{
	char line[1024];

	for (const char *s = text; *s;) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		char root[256], mnt[256], fstype[32], opts[512];
		const char *sep;

		snprintf(line, sizeof(line), "%.*s", (int)n, s);
		s += n + (nl ? 1 : 0);
		sep = strstr(line, " - ");
		if (!sep || sscanf(line, "%*s %*s %*s %255s %255s", root, mnt) != 2 ||
		    sscanf(sep + 3, "%31s %*s %511s", fstype, opts) != 2)
			continue;
		unescape(root);
		unescape(mnt);
		struct hier *h = NULL;
		if (!strcmp(fstype, "cgroup2"))
			h = v2;
		else if (!strcmp(fstype, "cgroup") && has_word(opts, "memory"))
			h = mem;
		else if (!strcmp(fstype, "cgroup") && has_word(opts, "pids"))
			h = pids;
		if (!h || h->found) /* the first mount of a hierarchy wins */
			continue;
		h->found = true;
		snprintf(h->mnt, sizeof(h->mnt), "%s", mnt);
		snprintf(h->root, sizeof(h->root), "%s", root);
	}
}

/* /proc/self/cgroup: "ID:controller,list:/path"; "0::/path" is v2. */
static void parse_self_cgroup(const char *text, struct hier *v2, struct hier *mem,
			      struct hier *pids)
{
	char line[1024], ctls[256], path[256];

	for (const char *s = text; *s;) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);

		snprintf(line, sizeof(line), "%.*s", (int)n, s);
		s += n + (nl ? 1 : 0);
		ctls[0] = '\0';
		if (sscanf(line, "%*[0-9]::%255[^\n]", path) == 1)
			snprintf(v2->own, sizeof(v2->own), "%s", path);
		else if (sscanf(line, "%*[0-9]:%255[^:]:%255[^\n]", ctls, path) == 2) {
			if (has_word(ctls, "memory"))
				snprintf(mem->own, sizeof(mem->own), "%s", path);
			if (has_word(ctls, "pids"))
				snprintf(pids->own, sizeof(pids->own), "%s", path);
		}
	}
}

/* The directory of this process's cgroup: mount point + (own - mount root).
 * False when the process sits outside the mounted part of the hierarchy. */
static bool own_dir(const struct hier *h, char *out, size_t len)
{
	const char *rel = h->own;
	size_t rl = strlen(h->root);

	if (!h->own[0])
		return false;
	if (strcmp(h->root, "/") != 0) {
		if (strncmp(h->own, h->root, rl) != 0 || (h->own[rl] != '/' && h->own[rl] != '\0'))
			return false;
		rel += rl;
	}
	snprintf(out, len, "%s%s", h->mnt, strcmp(rel, "/") ? rel : "");
	return true;
}

static bool host_has_swap(void)
{
	char buf[256];
	ssize_t n = read_at("/proc", "swaps", buf, sizeof(buf));

	/* a header line, then one line per swap area */
	return n > 0 && strchr(buf, '\n') && strchr(buf, '\n')[1] != '\0';
}

static void explain_mkdir(struct cap_check *c, const char *dir, int e)
{
	if (e == EACCES || e == EPERM)
		cap_check_no(c, "no write access to %s", dir);
	else if (e == EROFS)
		cap_check_no(c, "%s is mounted read-only", dir);
	else
		cap_check_no(c, "cannot create a cgroup in %s: %s", dir, strerror(e));
}

/* Set by cgroup_probe's caller: false under onUnavailable "fail", where the
 * run's own mkdir is the live test (a failure refuses it, and the refusal is
 * explained by a live probe then), saving ~0.3 ms per run. */
static bool probe_live = true;

/* Without the live test: the controls are assumed to work; the swap caveat
 * comes from the files of the cgroup <dir> will be made in. */
static void assume_create(const char *dir, struct cap_check *const *checks, size_t n,
			  bool *swap_ok, const char *swap_file)
{
	char path[700], *slash;

	for (size_t i = 0; i < n; i++)
		cap_check_ok(checks[i]);
	if (!swap_ok)
		return;
	snprintf(path, sizeof(path), "%s", dir);
	if ((slash = strrchr(path, '/')))
		snprintf(slash + 1, sizeof(path) - (size_t)(slash + 1 - path), "%s", swap_file);
	*swap_ok = access(path, F_OK) == 0;
}

/* The live test: make <dir> (the "nsrun" parent) and a probe cgroup in it,
 * check each control file opens for writing, remove both again. The probe
 * is named like a run cgroup so a probe killed midway is swept later. */
static void probe_create(const char *dir, const char *subtree, struct cap_check *const *checks,
			 const char *const *files, size_t n, bool *swap_ok, const char *swap_file)
{
	char probe[600], path[700];
	bool made_dir;
	int e;

	if (!probe_live) {
		assume_create(dir, checks, n, swap_ok, swap_file);
		return;
	}
	made_dir = mkdir(dir, 0755) == 0;
	if (!made_dir && errno != EEXIST) {
		e = errno;
		for (size_t i = 0; i < n; i++)
			explain_mkdir(checks[i], dir, e);
		return;
	}
	if (subtree && write_at(dir, "cgroup.subtree_control", subtree) < 0) {
		e = errno;
		for (size_t i = 0; i < n; i++)
			cap_check_no(checks[i], "cannot enable %s in %s: %s", subtree, dir, strerror(e));
		goto out;
	}
	snprintf(probe, sizeof(probe), "%s/nsrun-%d-probe", dir, (int)getpid());
	/* A concurrent run may remove the empty parent between our two
	 * mkdirs (ENOENT): make it again rather than report a false gap. */
	for (int tries = 0; tries < 3 && mkdir(probe, 0755) < 0 && errno == ENOENT; tries++)
		made_dir = mkdir(dir, 0755) == 0 || made_dir;
	if (access(probe, F_OK) < 0) {
		e = errno;
		for (size_t i = 0; i < n; i++)
			explain_mkdir(checks[i], dir, e);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", probe, files[i]);
		int fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0) {
			cap_check_no(checks[i], "cannot write %s: %s", path, strerror(errno));
			continue;
		}
		close(fd);
		cap_check_ok(checks[i]);
	}
	if (swap_ok) {
		snprintf(path, sizeof(path), "%s/%s", probe, swap_file);
		*swap_ok = access(path, F_OK) == 0;
	}
	rmdir(probe);
out:
	if (made_dir)
		rmdir(dir);
}

static void swap_caveat(struct cap_check *c, bool swap_file_present, const char *what)
{
	if (c->ok && !swap_file_present && host_has_swap())
		snprintf(c->reason, sizeof(c->reason),
			 "swap is not capped: the host has swap and %s is missing (swap accounting "
			 "off; boot with swapaccount=1)",
			 what);
}

/* <base>/nsrun into a caps dir field; false when it does not fit (a cut
 * path would name some other cgroup). */
static bool set_run_parent(char *dst, size_t len, const char *base, struct cap_check *c)
{
	int n = snprintf(dst, len, "%s/nsrun", base);

	if (n < 0 || (size_t)n >= len) {
		dst[0] = '\0';
		cap_check_no(c, "cgroup path too long: %s", base);
		return false;
	}
	return true;
}

static void probe_v1(struct host_caps *caps, const struct hier *mem, const struct hier *pids)
{
	char base[512];
	bool swap = true;

	if (!mem->found)
		cap_check_no(&caps->cgroup_memory, "no cgroup v1 memory hierarchy is mounted");
	else if (!own_dir(mem, base, sizeof(base)))
		cap_check_no(&caps->cgroup_memory,
		       "this process's memory cgroup %s is outside the mounted "
		       "hierarchy %s",
		       mem->own, mem->mnt);
	else if (set_run_parent(caps->cgroup_memory_dir, sizeof(caps->cgroup_memory_dir), base,
				&caps->cgroup_memory)) {
		probe_create(caps->cgroup_memory_dir, NULL,
			     (struct cap_check *[]){&caps->cgroup_memory},
			     (const char *[]){"memory.limit_in_bytes"}, 1, &swap,
			     "memory.memsw.limit_in_bytes");
		swap_caveat(&caps->cgroup_memory, swap, "memory.memsw.limit_in_bytes");
	}
	if (!pids->found)
		cap_check_no(&caps->cgroup_pids, "no cgroup v1 pids hierarchy is mounted");
	else if (!own_dir(pids, base, sizeof(base)))
		cap_check_no(&caps->cgroup_pids,
		       "this process's pids cgroup %s is outside the mounted "
		       "hierarchy %s",
		       pids->own, pids->mnt);
	else if (set_run_parent(caps->cgroup_pids_dir, sizeof(caps->cgroup_pids_dir), base,
				&caps->cgroup_pids)) {
		probe_create(caps->cgroup_pids_dir, NULL,
			     (struct cap_check *[]){&caps->cgroup_pids},
			     (const char *[]){"pids.max"}, 1, NULL, NULL);
	}
}

/* A parent we may create run cgroups in although we do not live in it: a
 * subtree delegated to us (systemd chowns it to the user; for root it marks
 * it with the trusted.delegate xattr). Writability alone says nothing for
 * root, who may write anywhere, including cgroups systemd owns. */
static bool delegated(const char *dir)
{
	struct stat st;

	if (geteuid() == 0)
		return getxattr(dir, "trusted.delegate", NULL, 0) >= 0;
	return stat(dir, &st) == 0 && st.st_uid == geteuid() && access(dir, W_OK) == 0;
}

/* cgroup v2: a cgroup with processes in it cannot hand controllers to its
 * children (no-internal-processes rule), and we live in ours. So runs go
 * under our own cgroup only when its subtree_control already has (or takes)
 * the controllers (the root cgroup, or an empty delegated one), else under
 * its parent when that is delegated to us (we sit in a leaf of it). */
static void probe_v2(struct host_caps *caps, const struct hier *v2)
{
	char base[512], parent[512], ctls[512] = "", sub[512] = "", want[32] = "";
	bool mem, pids, swap = true;
	struct cap_check *checks[2];
	const char *files[2];
	size_t n = 0;

	if (!v2->found || !own_dir(v2, base, sizeof(base))) {
		cap_check_no(&caps->cgroup_memory,
		       "this process's cgroup v2 %s is outside the mounted "
		       "hierarchy",
		       v2->own);
		cap_check_no(&caps->cgroup_pids, "%s", caps->cgroup_memory.reason);
		return;
	}
	read_at(base, "cgroup.controllers", ctls, sizeof(ctls));
	mem = has_word(ctls, "memory");
	pids = has_word(ctls, "pids");
	if (!mem)
		cap_check_no(&caps->cgroup_memory, "the memory controller is not enabled for %s", base);
	if (!pids)
		cap_check_no(&caps->cgroup_pids, "the pids controller is not enabled for %s", base);
	if (!mem && !pids)
		return;
	snprintf(want, sizeof(want), "%s%s%s", mem ? "+memory" : "", mem && pids ? " " : "",
		 pids ? "+pids" : "");
	read_at(base, "cgroup.subtree_control", sub, sizeof(sub));
	snprintf(parent, sizeof(parent), "%s", base);
	if ((mem && !has_word(sub, "memory")) || (pids && !has_word(sub, "pids"))) {
		char *slash = strrchr(parent, '/');

		if (write_at(base, "cgroup.subtree_control", want) == 0)
			; /* the root cgroup, or an empty one we own */
		else if (slash && (size_t)(slash - parent) >= strlen(v2->mnt) &&
			 (*slash = '\0', delegated(parent)))
			; /* runs become siblings of our own leaf cgroup */
		else {
			if (mem)
				cap_check_no(&caps->cgroup_memory,
				       "%s holds processes, so cgroup v2 gives its children no "
				       "controllers, and its parent is not delegated to this user",
				       base);
			if (pids)
				cap_check_no(&caps->cgroup_pids, "%s",
				       caps->cgroup_memory.reason[0]
					   ? caps->cgroup_memory.reason
					   : "cgroup v2 parent not delegated");
			return;
		}
	}
	if (mem) {
		checks[n] = &caps->cgroup_memory;
		files[n++] = "memory.max";
	}
	if (pids) {
		checks[n] = &caps->cgroup_pids;
		files[n++] = "pids.max";
	}
	if (!set_run_parent(caps->cgroup_memory_dir, sizeof(caps->cgroup_memory_dir), parent,
			    &caps->cgroup_memory)) {
		cap_check_no(&caps->cgroup_pids, "%s", caps->cgroup_memory.reason);
		return;
	}
	memcpy(caps->cgroup_pids_dir, caps->cgroup_memory_dir, sizeof(caps->cgroup_pids_dir));
	probe_create(caps->cgroup_memory_dir, want, checks, files, n, mem ? &swap : NULL,
		     "memory.swap.max");
	swap_caveat(&caps->cgroup_memory, swap, "memory.swap.max");
}

static void probe_hiers(struct host_caps *caps, struct hier *v2, struct hier *mem,
			struct hier *pids)
{
	caps->cgroup_version = 0;
	caps->cgroup_memory_dir[0] = caps->cgroup_pids_dir[0] = '\0';
	cap_check_no(&caps->cgroup_memory, "no cgroup filesystem is mounted");
	cap_check_no(&caps->cgroup_pids, "no cgroup filesystem is mounted");
	/* Hybrid hosts bind memory and pids to v1; the v2 tree then holds none
	 * of them, so v1 wins whenever a v1 controller we need is mounted. */
	if (mem->found || pids->found) {
		caps->cgroup_version = 1;
		probe_v1(caps, mem, pids);
	} else if (v2->found) {
		caps->cgroup_version = 2;
		probe_v2(caps, v2);
	}
}

void cgroup_probe_from(struct host_caps *caps, const char *mountinfo, const char *self_cgroup,
		       bool live)
{
	struct hier v2 = {0}, mem = {0}, pids = {0};

	probe_live = live;
	parse_mountinfo(mountinfo ? mountinfo : "", &v2, &mem, &pids);
	parse_self_cgroup(self_cgroup ? self_cgroup : "", &v2, &mem, &pids);
	probe_hiers(caps, &v2, &mem, &pids);
}

static bool is_fs(const char *path, long type)
{
	struct statfs st;

	return statfs(path, &st) == 0 && (long)st.f_type == type;
}

static void at_standard_place(struct hier *h, const char *mnt)
{
	h->found = true;
	snprintf(h->mnt, sizeof(h->mnt), "%s", mnt);
	snprintf(h->root, sizeof(h->root), "/");
}

/* The hierarchies where systemd and every distribution mount them, found
 * with a few statfs calls instead of generating and parsing all of
 * /proc/self/mountinfo (~0.1 ms). False, and the caller parses mountinfo,
 * on any other layout, and when a mount's root may not be the hierarchy's
 * root (a container without a cgroup namespace): there our own cgroup's
 * directory is not where it would be. */
static bool standard_layout(const char *self_cgroup, struct hier *v2, struct hier *mem,
			    struct hier *pids)
{
	struct hier *all[] = {v2, mem, pids};
	char dir[600];
	struct stat st;

	if (is_fs("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC)) {
		at_standard_place(v2, "/sys/fs/cgroup");
	} else if (is_fs("/sys/fs/cgroup", TMPFS_MAGIC)) {
		if (is_fs("/sys/fs/cgroup/memory", CGROUP_SUPER_MAGIC))
			at_standard_place(mem, "/sys/fs/cgroup/memory");
		if (is_fs("/sys/fs/cgroup/pids", CGROUP_SUPER_MAGIC))
			at_standard_place(pids, "/sys/fs/cgroup/pids");
		if (is_fs("/sys/fs/cgroup/unified", CGROUP2_SUPER_MAGIC))
			at_standard_place(v2, "/sys/fs/cgroup/unified");
	}
	if (!v2->found && !mem->found && !pids->found)
		return false;
	parse_self_cgroup(self_cgroup, v2, mem, pids);
	for (size_t i = 0; i < 3; i++) {
		if (!all[i]->found || !strcmp(all[i]->own, "/"))
			continue;
		snprintf(dir, sizeof(dir), "%s%s", all[i]->mnt, all[i]->own);
		if (!all[i]->own[0] || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
			return false;
	}
	return true;
}

void cgroup_probe(struct host_caps *caps, bool live)
{
	_cleanup_free_ char *cg = slurp("/proc/self/cgroup");
	struct hier v2 = {0}, mem = {0}, pids = {0};

	if (!live && cg && standard_layout(cg, &v2, &mem, &pids)) {
		probe_live = false;
		probe_hiers(caps, &v2, &mem, &pids);
		return;
	}
	_cleanup_free_ char *mi = slurp("/proc/self/mountinfo");

	cgroup_probe_from(caps, mi, cg, live);
}

/* ---------- per-run lifecycle ---------- */

void cgroup_run_init(struct cgroup_run *cg)
{
	memset(cg, 0, sizeof(*cg));
	cg->v2_dirfd = -1;
	cg->guard_fd = -1;
}

static long long boottime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* The time part is a boot-clock ms no earlier than now, unique within the
 * process: the sweep compares it with a live pid's start time. */
void cgroup_run_name(char *buf, size_t len)
{
	static long long last;
	long long ms = boottime_ms();

	if (ms <= last)
		ms = last + 1;
	last = ms;
	snprintf(buf, len, "nsrun-%d-%lld", (int)getpid(), ms);
}

/* mkdir <dir>/<name>, making <dir> when it is not there yet. */
static int make_run_dir(const char *dir, const char *subtree, const char *name, char *out,
			size_t len)
{
	int r = -ENOENT;

	snprintf(out, len, "%s/%s", dir, name);
	/* The "nsrun" parent is there already but for the first run: v1 goes
	 * straight to the run's mkdir. v2 (subtree) makes sure the parent
	 * hands the controllers down first. ENOENT again: a sweep of an older
	 * nsrun removed the parent meanwhile. */
	for (int tries = 0; tries < 3 && r == -ENOENT; tries++) {
		if ((subtree || tries > 0) && mkdir(dir, 0755) < 0 && errno != EEXIST) {
			r = -errno;
			break;
		}
		if (subtree && (r = write_at(dir, "cgroup.subtree_control", subtree)) < 0)
			continue;
		r = mkdir(out, 0755) == 0 ? 0 : -errno;
	}
	if (r < 0)
		out[0] = '\0';
	return r;
}

static int set_limit(const char *dir, const char *file, int64_t v, bool optional,
		     struct nsrun_err *err)
{
	char buf[32];
	int r;

	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	r = write_at(dir, file, buf);
	if (r == -ENOENT && optional)
		return 0;
	return r < 0 ? nsrun_err_set(err, "resources", -r, "cgroup %s/%s = %s", dir, file, buf) : 0;
}

static int create_v1(const struct res_plan *p, const struct host_caps *caps, struct cgroup_run *cg,
		     struct nsrun_err *err)
{
	char limit[32];
	int r;

	if (p->memory_bytes >= 0) {
		r = make_run_dir(caps->cgroup_memory_dir, NULL, cg->name, cg->memory_path,
				 sizeof(cg->memory_path));
		if (r < 0)
			return nsrun_err_set(err, "resources", -r, "cgroup mkdir %s/%s",
					     caps->cgroup_memory_dir, cg->name);
		/* memsw (memory+swap) must stay >= the memory limit, so memory
		 * first. Without swap accounting there is no memsw file: then at
		 * least keep this cgroup from swapping (swappiness 0), best effort. */
		if ((r = set_limit(cg->memory_path, "memory.limit_in_bytes", p->memory_bytes, false,
				   err)) < 0)
			return r;
		snprintf(limit, sizeof(limit), "%lld", (long long)p->memory_bytes);
		r = write_at(cg->memory_path, "memory.memsw.limit_in_bytes", limit);
		if (r == -ENOENT)
			write_at(cg->memory_path, "memory.swappiness", "0");
		else if (r < 0)
			return nsrun_err_set(err, "resources", -r, "cgroup %s/%s = %s",
					     cg->memory_path, "memory.memsw.limit_in_bytes", limit);
	}
	if (p->pids_max >= 0) {
		r = make_run_dir(caps->cgroup_pids_dir, NULL, cg->name, cg->pids_path,
				 sizeof(cg->pids_path));
		if (r < 0)
			return nsrun_err_set(err, "resources", -r, "cgroup mkdir %s/%s",
					     caps->cgroup_pids_dir, cg->name);
		if ((r = set_limit(cg->pids_path, "pids.max", p->pids_max, false, err)) < 0)
			return r;
	}
	return 0;
}

static int create_v2(const struct res_plan *p, const struct host_caps *caps, struct cgroup_run *cg,
		     struct nsrun_err *err)
{
	char subtree[32];
	int r;

	snprintf(subtree, sizeof(subtree), "%s%s%s", p->memory_bytes >= 0 ? "+memory" : "",
		 p->memory_bytes >= 0 && p->pids_max >= 0 ? " " : "",
		 p->pids_max >= 0 ? "+pids" : "");
	r = make_run_dir(caps->cgroup_memory_dir, subtree, cg->name, cg->v2_path,
			 sizeof(cg->v2_path));
	if (r < 0)
		return nsrun_err_set(err, "resources", -r, "cgroup mkdir %s/%s",
				     caps->cgroup_memory_dir, cg->name);
	if (p->memory_bytes >= 0) {
		/* memory.swap.max 0: memoryBytes caps memory+swap, as memsw on v1.
		 * oom.group: an OOM kills the whole sandbox at once rather than
		 * leaving a half-dead process tree behind. */
		if ((r = set_limit(cg->v2_path, "memory.max", p->memory_bytes, false, err)) < 0 ||
		    (r = set_limit(cg->v2_path, "memory.swap.max", 0, true, err)) < 0 ||
		    (r = set_limit(cg->v2_path, "memory.oom.group", 1, true, err)) < 0)
			return r;
	}
	if (p->pids_max >= 0 &&
	    (r = set_limit(cg->v2_path, "pids.max", p->pids_max, false, err)) < 0)
		return r;
	cg->v2_dirfd = open(cg->v2_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cg->v2_dirfd < 0)
		return nsrun_err_set(err, "resources", errno, "open %s", cg->v2_path);
	return 0;
}

int cgroup_run_name_paths(const struct res_plan *p, const struct host_caps *caps,
			  struct cgroup_run *cg)
{
	cgroup_run_init(cg);
	if (!p->cgroup)
		return 0;
	cgroup_run_name(cg->name, sizeof(cg->name));
	cg->version = p->cgroup_version;
	if (cg->version == 2) {
		snprintf(cg->v2_path, sizeof(cg->v2_path), "%s/%s", caps->cgroup_memory_dir,
			 cg->name);
		return 0;
	}
	if (p->memory_bytes >= 0)
		snprintf(cg->memory_path, sizeof(cg->memory_path), "%s/%s",
			 caps->cgroup_memory_dir, cg->name);
	if (p->pids_max >= 0)
		snprintf(cg->pids_path, sizeof(cg->pids_path), "%s/%s", caps->cgroup_pids_dir,
			 cg->name);
	return 0;
}

int cgroup_run_make(const struct res_plan *p, const struct host_caps *caps, struct cgroup_run *cg,
		    struct nsrun_err *err)
{
	int r;

	if (cg->version == 0)
		return 0;
	r = cg->version == 2 ? create_v2(p, caps, cg, err) : create_v1(p, caps, cg, err);
	if (r < 0)
		cgroup_run_destroy(cg);
	return r;
}

int cgroup_run_create(const struct res_plan *p, const struct host_caps *caps,
		      struct cgroup_run *cg, struct nsrun_err *err)
{
	cgroup_run_name_paths(p, caps, cg);
	return cgroup_run_make(p, caps, cg, err);
}

int cgroup_run_attach(const struct cgroup_run *cg, pid_t pid, struct nsrun_err *err)
{
	const char *paths[] = {cg->memory_path, cg->pids_path, cg->v2_path};
	char buf[32];

	snprintf(buf, sizeof(buf), "%d\n", (int)pid);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		int r;

		if (!paths[i][0])
			continue;
		/* v1 "tasks" moves one thread and so skips the global
		 * cgroup_threadgroup_rwsem that a cgroup.procs write takes (an
		 * RCU grace period, 10-15 ms measured); v2 has no such file. */
		r = write_at(paths[i], i < 2 ? "tasks" : "cgroup.procs", buf);
		if (r < 0)
			return nsrun_err_set(err, "resources", -r, "attach pid %d to %s", (int)pid,
					     paths[i]);
	}
	return 0;
}

int cgroup_run_open_tasks(const struct cgroup_run *cg, int *fds, int max, struct nsrun_err *err)
{
	const char *paths[] = {cg->memory_path, cg->pids_path};
	int n = 0;

	for (size_t i = 0; i < 2; i++) {
		char path[600];

		if (!paths[i][0])
			continue;
		if (n == max) {
			nsrun_err_set(err, "resources", E2BIG, "too many cgroup hierarchies");
			goto fail;
		}
		snprintf(path, sizeof(path), "%s/tasks", paths[i]);
		fds[n] = open(path, O_WRONLY | O_CLOEXEC);
		if (fds[n] < 0) {
			nsrun_err_set(err, "resources", errno, "open %s", path);
			goto fail;
		}
		n++;
	}
	return n;
fail:
	while (n > 0)
		close(fds[--n]);
	return -1;
}

int cgroup_join_self(const int *fds, int n, struct nsrun_err *err)
{
	for (int i = 0; i < n; i++)
		if (write(fds[i], "0", 1) != 1)
			return nsrun_err_set(err, "resources", errno,
					     "moving into the run cgroup (v1 tasks file %d of %d)", i + 1, n);
	return 0;
}

static long long read_key(const char *dir, const char *file, const char *key)
{
	char buf[1024];
	size_t kl = strlen(key);

	if (!dir[0] || read_at(dir, file, buf, sizeof(buf)) < 0)
		return -1;
	for (const char *s = buf; s; s = strchr(s, '\n'), s = s ? s + 1 : NULL)
		if (!strncmp(s, key, kl) && s[kl] == ' ')
			return strtoll(s + kl + 1, NULL, 10);
	return -1;
}

bool cgroup_run_oom_killed(const struct cgroup_run *cg)
{
	/* v1: memory.oom_control's oom_kill counter (kernel >= 4.13); v2:
	 * memory.events. Both count kills, not mere limit hits: page cache
	 * reclaimed at the limit (memory.failcnt) is no OOM. */
	if (cg->version == 2)
		return read_key(cg->v2_path, "memory.events", "oom_kill") > 0;
	return read_key(cg->memory_path, "memory.oom_control", "oom_kill") > 0;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* SIGKILL what is left in a cgroup. A pid read from cgroup.procs may be
 * reused by the time we signal it, so we pin it with a pidfd and signal only
 * if /proc/<pid>/cgroup still names this run. */
static void kill_procs(const char *path, const char *name)
{
	char buf[4096], pc[64], own[2048], needle[80];

	if (read_at(path, "cgroup.procs", buf, sizeof(buf)) <= 0)
		return;
	snprintf(needle, sizeof(needle), "/%s\n", name);
	for (char *s = buf, *end; *s; s = end) {
		long pid = strtol(s, &end, 10);
		_cleanup_close_ int pfd = -1;

		if (end == s)
			break;
		if (pid <= 0 || pid == getpid())
			continue;
		pfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
		snprintf(pc, sizeof(pc), "/proc/%ld", pid);
		if (pfd < 0 || read_at(pc, "cgroup", own, sizeof(own)) < 0 || !strstr(own, needle))
			continue;
		syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
	}
}

static void remove_run_dir(char *path, const char *name, bool v2)
{
	long long deadline = now_ns() + DESTROY_DEADLINE_NS;
	useconds_t delay = 50;

	if (!path[0])
		return;
	/* Empty (the usual end of a run: its pid namespace is gone): removed
	 * at once. Otherwise cgroup.kill (5.14+) kills the whole tree
	 * atomically, forks in flight included; v1 (or older v2) has to chase
	 * the pids. */
	if (rmdir(path) == 0 || errno != EBUSY)
		goto out;
	if (!v2 || write_at(path, "cgroup.kill", "1") < 0)
		kill_procs(path, name);
	while (rmdir(path) < 0 && errno == EBUSY && now_ns() < deadline) {
		/* Killed tasks leave the cgroup a moment after their exit. */
		usleep(delay);
		delay = delay < 20000 ? delay * 2 : delay;
		kill_procs(path, name);
	}
out:
	/* The "nsrun" parent stays for the next run (see the top). */
	path[0] = '\0';
}

static void remove_all(struct cgroup_run *cg)
{
	remove_run_dir(cg->v2_path, cg->name, true);
	remove_run_dir(cg->memory_path, cg->name, false);
	remove_run_dir(cg->pids_path, cg->name, false);
}

/* The guard's argv is the supervisor's (fork, no exec), script text and
 * all: overwrite it in place so ps shows what it is and a `pgrep -f` for
 * the script's text does not find it. */
static void guard_title(void)
{
	static const char title[] = "nsrun: cgroup guard";
	char buf[2048], *s;
	unsigned long start = 0, end = 0;
	ssize_t n = read_at("/proc/self", "stat", buf, sizeof(buf));

	prctl(PR_SET_NAME, "nsrun-guard");
	/* arg_start and arg_end are fields 48 and 49; the comm in field 2 may
	 * hold spaces, so count from its closing parenthesis (field 3 on) */
	if (n <= 0 || !(s = strrchr(buf, ')')))
		return;
	for (int field = 3; field <= 49 && (s = strchr(s + 1, ' ')); field++) {
		if (field == 48)
			start = strtoul(s + 1, NULL, 10);
		else if (field == 49)
			end = strtoul(s + 1, NULL, 10);
	}
	if (start && end > start + sizeof(title)) {
		memset((void *)start, 0, end - start);
		memcpy((void *)start, title, sizeof(title));
	}
}

/* One byte from the supervisor; an 'h' carries a descriptor to hold (kept
 * open, so never closed here: the guard's exit drops it). */
static ssize_t read_guard_msg(int sock, char *c)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = c, .iov_len = 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			    .msg_controllen = sizeof(ctl.buf)};
	ssize_t n;

	do
		n = recvmsg(sock, &mh, 0);
	while (n < 0 && errno == EINTR);
	return n;
}

static void sweep_run_parents(const struct cgroup_run *cg);

static __attribute__((noreturn)) void guard_main(struct cgroup_run *cg, int fd, pid_t supervisor)
{
	sigset_t all;
	char c = 0;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int sock = fcntl(fd, F_DUPFD, 3); /* off 0..2, which become /dev/null */
	/* The supervisor's death is seen through a pidfd, not only as EOF on
	 * the socket: a process the supervisor forks later inherits its end
	 * of the socket until it execs. */
	int pfd = (int)syscall(SYS_pidfd_open, supervisor, 0);
	struct cgroup_run sweep_from;
	struct pollfd pf[2];

	/* Only SIGKILL may stop it: it outlives the supervisor on purpose,
	 * and a ^C to the supervisor's process group must not reach it. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	setsid();
	guard_title();
	/* Holding the caller's stdout or the sandbox's pipes open would keep
	 * their readers from seeing EOF. */
	for (int i = 0; i < 3 && null >= 0; i++)
		dup2(null, i);
	if (sock < 0)
		_exit(1);
	sock = dup2(sock, 3);
	pfd = pfd >= 0 ? dup2(pfd, 4) : -1;
	syscall(SYS_close_range, 5, ~0U, 0);
	pf[0] = (struct pollfd){.fd = sock, .events = POLLIN};
	pf[1] = (struct pollfd){.fd = pfd, .events = POLLIN};
	/* pidfd_open ran after the fork: the supervisor may be gone already */
	while (getppid() == supervisor) {
		while (poll(pf, pfd >= 0 ? 2 : 1, -1) < 0 && errno == EINTR)
			;
		if (!(pf[0].revents & (POLLIN | POLLHUP)) || read_guard_msg(sock, &c) != 1)
			break;
		if (c == 'd')
			_exit(0); /* destroy did the work and waits for us: no sweep */
		if (c == 'r')
			break; /* released: the run is over, remove it for the supervisor */
	}
	sweep_from = *cg; /* remove_all clears the paths */
	remove_all(cg);
	sweep_run_parents(&sweep_from);
	_exit(0);
}

int cgroup_run_guard(struct cgroup_run *cg, struct nsrun_err *err)
{
	return cgroup_run_guard_job(cg, NULL, NULL, err);
}

int cgroup_run_guard_job(struct cgroup_run *cg, cgroup_guard_job job, void *arg,
			 struct nsrun_err *err)
{
	int sp[2];
	pid_t pid, self = getpid();

	if (cg->version == 0 || cg->guard_fd >= 0)
		return 0;
	/* A socket, not a pipe: "done" goes out with MSG_NOSIGNAL, so a guard
	 * that is gone already cannot SIGPIPE the supervisor. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return nsrun_err_set(err, "resources", errno, "cgroup guard socket");
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(sp[0]);
		close(sp[1]);
		return nsrun_err_set(err, "resources", e, "forking the cgroup guard");
	}
	if (pid == 0) {
		close(sp[1]);
		if (job)
			job(arg, sp[0]);
		guard_main(cg, sp[0], self);
	}
	close(sp[0]);
	cg->guard_fd = sp[1];
	cg->guard_pid = pid;
	return 0;
}

int cgroup_run_guard_hold(const struct cgroup_run *cg, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	char h = 'h';
	struct iovec iov = {.iov_base = &h, .iov_len = 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			    .msg_controllen = sizeof(ctl.buf)};
	struct cmsghdr *c;

	if (cg->guard_fd < 0 || fd < 0)
		return -EBADF;
	memset(&ctl, 0, sizeof(ctl));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(cg->guard_fd, &mh, MSG_NOSIGNAL) == 1 ? 0 : -errno;
}

/* Tells the guard "done". Not waited for: its exit (tearing down a copy of
 * our address space) took ~0.15 ms of every run, and it holds nothing of
 * the run any more: the cgroup is gone, it lives in a session of its own
 * with /dev/null for stdio, and whoever inherits it reaps it. */
static void stop_guard(struct cgroup_run *cg)
{
	if (send(cg->guard_fd, "d", 1, MSG_NOSIGNAL) != 1) {
		/* gone already (killed): nothing to tell */
	}
	close(cg->guard_fd);
	cg->guard_fd = -1;
}

void cgroup_run_destroy(struct cgroup_run *cg)
{
	if (cg->version == 0)
		return;
	if (cg->v2_dirfd >= 0)
		close(cg->v2_dirfd);
	remove_all(cg);
	if (cg->guard_fd >= 0)
		stop_guard(cg);
	cgroup_run_init(cg);
}

void cgroup_run_release(struct cgroup_run *cg)
{
	if (cg->version == 0)
		return;
	/* A pid 1 supervisor takes its guard with it when it exits (the
	 * kernel kills its pid namespace): then remove the cgroup now. */
	if (cg->guard_fd < 0 || getpid() == 1 ||
	    send(cg->guard_fd, "r", 1, MSG_NOSIGNAL) != 1) {
		cgroup_run_destroy(cg);
		return;
	}
	close(cg->guard_fd);
	if (cg->v2_dirfd >= 0)
		close(cg->v2_dirfd);
	cgroup_run_init(cg);
}

/* Start time of a live pid, boot-clock ms (truncated to the tick: never
 * later than the true start); -1 when unknown. */
static long long start_ms(long pid)
{
	char dir[32], buf[1024], *s;
	unsigned long long ticks = 0;
	long hz = sysconf(_SC_CLK_TCK);
	ssize_t n;

	snprintf(dir, sizeof(dir), "/proc/%ld", pid);
	n = read_at(dir, "stat", buf, sizeof(buf));
	if (n <= 0 || hz <= 0 || !(s = strrchr(buf, ')')))
		return -1;
	/* starttime is field 22; the comm (field 2) may hold anything, so count
	 * from its closing parenthesis */
	for (int field = 3; field <= 22 && (s = strchr(s + 1, ' ')); field++)
		if (field == 22)
			ticks = strtoull(s + 1, NULL, 10);
	return ticks ? (long long)(ticks * 1000 / (unsigned long long)hz) : -1;
}

/* Whether nsrun-<pid>-<ms> outlived its supervisor: the pid is gone, or
 * (the pid reused: pid_max may be 32768) the live process with it started
 * after the name was made, which its maker never does (cgroup_run_name). A
 * name younger than 2 s is left alone: it is most likely a run in flight,
 * and a later run sweeps it if not. EPERM means alive (another uid). */
static bool owner_gone(long pid, long long name_ms)
{
	long long started;

	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return true;
	if (name_ms < 0 || name_ms > boottime_ms() - 2000)
		return false;
	started = start_ms(pid);
	return started > name_ms;
}

static void sweep_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char *end, *end2;
		long pid;
		long long name_ms;

		if (strncmp(de->d_name, "nsrun-", 6) != 0)
			continue;
		pid = strtol(de->d_name + 6, &end, 10);
		if (end == de->d_name + 6 || *end != '-' || pid <= 0)
			continue;
		name_ms = strtoll(end + 1, &end2, 10);
		if (end2 == end + 1 || *end2)
			name_ms = -1; /* a probe's: "nsrun-<pid>-probe" */
		/* A supervisor of another pid namespace sharing this dir could
		 * look gone and lose its empty cgroup between create and
		 * attach: its attach then fails and the run is refused, so the
		 * worst case is a failed run, never an uncapped one. */
		if (!owner_gone(pid, name_ms))
			continue;
		/* rmdir fails on a cgroup that still has processes: only empty
		 * ones go, leftovers are for whoever owns them. */
		unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

/* The guard's sweep, once its run is over (off every run's critical path:
 * ~65 us at the start of a run, where it used to be): the hierarchies that
 * run used. */
static void sweep_run_parents(const struct cgroup_run *cg)
{
	const char *paths[] = {cg->v2_path, cg->memory_path, cg->pids_path};
	char done[3][512];
	int n = 0;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const char *slash = strrchr(paths[i], '/');
		size_t len = slash ? (size_t)(slash - paths[i]) : 0;
		bool seen = false;

		if (len == 0 || len >= sizeof(done[0]))
			continue;
		memcpy(done[n], paths[i], len);
		done[n][len] = '\0';
		for (int j = 0; j < n; j++)
			seen = seen || strcmp(done[j], done[n]) == 0;
		if (!seen)
			sweep_dir(done[n++]);
	}
}

void cgroup_sweep_stale(const struct host_caps *caps)
{
	if (caps->cgroup_memory.ok && caps->cgroup_memory_dir[0])
		sweep_dir(caps->cgroup_memory_dir);
	if (caps->cgroup_pids.ok && caps->cgroup_pids_dir[0] &&
	    strcmp(caps->cgroup_pids_dir, caps->cgroup_memory_dir) != 0)
		sweep_dir(caps->cgroup_pids_dir);
}
