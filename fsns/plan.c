/* Planning the filesystem layer: every mount the child will make, in the
 * order it makes them. Pure apart from stat/lstat/realpath/readlink of host
 * paths; bad input (a missing bind source, a relative path) is found here,
 * before anything is spawned. */
#include <errno.h>
#include <stddef.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsns.h"
#include "runtime/caps.h"
#include "runtime/inputs.h"
#include "runtime/policy.h"
#include "runtime/report.h"

/* The host trees every program needs: bound read-only when they are
 * directories, recreated when they are merged-/usr symlinks. */
static const char *const base_paths[] = {"/usr",   "/bin",   "/sbin",  "/lib",
					 "/lib64", "/lib32", "/libx32"};

/* Where the new root is assembled: an existing host dir that a tmpfs covers
 * inside our private mount namespace only (nothing is created on the
 * host). Sources under it are opened before it is covered. */
static const char *const staging_dirs[] = {"/tmp",   "/mnt", "/run", "/var/tmp",
					   "/media", "/srv", "/opt", "/home"};

/* Paths a bind must not land on: they are the sandbox's own (/proc, /dev)
 * or must stay absent (/sys). */
static const char *const reserved_dests[] = {"/proc", "/dev", "/sys"};

struct bind_ok {
	char src[PATH_MAX]; /* resolved */
	char dest[256];	    /* normalised */
	bool rw;
	bool is_dir;
	bool same;     /* DEST names the path SRC was given as */
	bool internal; /* nsrun's own (the --script-file) */
};

void fsns_plan_clear(struct fsns_plan *plan)
{
	memset(plan, 0, offsetof(struct fsns_plan, steps));
}

struct fsns_step *fsns_plan_add(struct fsns_plan *plan, enum fsns_step_kind kind, const char *src,
				const char *dest)
{
	struct fsns_step *s;

	if (plan->n_steps >= FSNS_MAX_STEPS) {
		plan->overflow = true;
		s = &plan->steps[FSNS_MAX_STEPS - 1];
	} else {
		s = &plan->steps[plan->n_steps++];
	}
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	snprintf(s->src, sizeof(s->src), "%s", src ? src : "");
	snprintf(s->dest, sizeof(s->dest), "%s", dest ? dest : "");
	return s;
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* An absolute path without ".", ".." or empty components, no trailing "/".
 * Returns 0 or -errno; out gets the normalised form. */
static int normalise(const char *in, char *out, size_t len)
{
	size_t w = 0;
	const char *p = in;

	if (!in || in[0] != '/')
		return -EINVAL;
	while (*p) {
		size_t n;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return -EINVAL;
		if (w + 1 + n >= len)
			return -ENAMETOOLONG;
		out[w++] = '/';
		memcpy(out + w, p, n);
		w += n;
		p += n;
	}
	out[w] = '\0';
	return w ? 0 : -EINVAL; /* "/" itself is never a destination */
}

/* SRC[:DEST] of --bind/--ro-bind (already split by the CLI) and --scratch:
 * both absolute, the source existing, the destination not reserved. */
static int check_bind(const char *label, const char *src, const char *dest, bool rw,
		      struct bind_ok *b, struct nsrun_err *err)
{
	char what[600];
	struct stat st;
	int r;

	if (!src)
		src = "";
	if (!dest)
		dest = src;
	/* "bind SRC -> DEST" names both sides; scratch and interpreter have one. */
	if (strcmp(label, "bind") == 0)
		snprintf(what, sizeof(what), "bind %s -> %s", src, dest);
	else
		snprintf(what, sizeof(what), "%s %s", label, src);
	if (src[0] != '/' || dest[0] != '/')
		return nsrun_err_set(err, "fsns", 0, "%s: paths must be absolute", what);
	if (stat(src, &st) < 0 || !realpath(src, b->src))
		return nsrun_err_set(err, "fsns", errno, "%s", what);
	if (strlen(b->src) >= sizeof(((struct fsns_step *)0)->src))
		return nsrun_err_set(err, "fsns", ENAMETOOLONG, "%s", what);
	r = normalise(dest, b->dest, sizeof(b->dest));
	if (r == -EINVAL)
		return nsrun_err_set(err, "fsns", 0,
				     "%s: the destination must be an absolute path below / "
				     "without . or ..",
				     what);
	if (r < 0)
		return nsrun_err_set(err, "fsns", -r, "%s", what);
	for (size_t i = 0; i < sizeof(reserved_dests) / sizeof(reserved_dests[0]); i++)
		if (under(b->dest, reserved_dests[i]))
			return nsrun_err_set(err, "fsns", 0, "%s: %s belongs to the sandbox", what,
					     reserved_dests[i]);
	b->rw = rw;
	b->is_dir = S_ISDIR(st.st_mode);
	{
		char given[256];

		b->same = normalise(src, given, sizeof(given)) == 0 && strcmp(given, b->dest) == 0;
	}
	return 0;
}

static void record_ns(const char *path, uint64_t *dev, uint64_t *ino)
{
	struct stat st;

	if (stat(path, &st) == 0) {
		*dev = st.st_dev;
		*ino = st.st_ino;
	}
}

static int pick_staging(struct fsns_plan *plan, struct nsrun_err *err)
{
	struct stat st;

	for (size_t i = 0; i < sizeof(staging_dirs) / sizeof(staging_dirs[0]); i++) {
		if (lstat(staging_dirs[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			snprintf(plan->staging, sizeof(plan->staging), "%s", staging_dirs[i]);
			return 0;
		}
	}
	return nsrun_err_set(
	    err, "fsns", ENOENT,
	    "no directory to build the new root on (looked for /tmp, /mnt, /run, ...)");
}

/* base_dirs collects the trees bound as directories: an interpreter under
 * one of them needs no bind of its own. */
static void plan_base(struct fsns_plan *plan, const char **base_dirs, size_t *n_base)
{
	for (size_t i = 0; i < sizeof(base_paths) / sizeof(base_paths[0]); i++) {
		const char *path = base_paths[i];
		char target[256];
		struct stat st;
		ssize_t n;

		if (lstat(path, &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			/* Merged /usr: /bin -> usr/bin. The link itself, not a second
			 * bind of the same tree. */
			n = readlink(path, target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = '\0';
			fsns_plan_add(plan, FSNS_SYMLINK, target, path);
		} else if (S_ISDIR(st.st_mode)) {
			fsns_plan_add(plan, FSNS_BIND, path, path)->mode = S_IFDIR;
			base_dirs[(*n_base)++] = path;
		}
	}
}

static void add_bind(struct fsns_plan *plan, const struct bind_ok *b)
{
	struct fsns_step *s = fsns_plan_add(plan, FSNS_BIND, b->src, b->dest);

	s->rw = b->rw;
	s->mode = b->is_dir ? S_IFDIR : S_IFREG;
}

/* SPEC §2: scratch-plus-ro "adds the --ro-bind trees", so scratch-only
 * leaves them out (one note lists them); --bind applies in both modes. */
static void plan_user_binds(struct fsns_plan *plan, const struct policy *p, const struct bind_ok *b,
			    size_t n, struct report *rep)
{
	char skipped[200] = "";
	size_t n_skipped = 0, used = 0;

	for (size_t i = 0; i < n; i++) {
		if (!b[i].rw && !b[i].internal && p->fs_mode == FS_MODE_SCRATCH_ONLY) {
			if (used < sizeof(skipped))
				used += (size_t)snprintf(skipped + used, sizeof(skipped) - used,
							 "%s%s", n_skipped ? ", " : "", b[i].dest);
			n_skipped++;
			continue;
		}
		add_bind(plan, &b[i]);
	}
	if (n_skipped)
		report_note(rep, LAYER_FILESYSTEM,
			    "filesystem.mode scratch-only: %zu --ro-bind tree(s) left out (%s); "
			    "use scratch-plus-ro to add them",
			    n_skipped, skipped);
}

/* script --interpreter: already a realpath. Outside the base trees (a node
 * in /root/.nvm or /opt) it is bound read-only at its own path. */
static int plan_interpreter(struct fsns_plan *plan, const char *interp, const char **base_dirs,
			    size_t n_base, struct nsrun_err *err)
{
	struct bind_ok ib;
	int r;

	if (!interp)
		return 0;
	for (size_t i = 0; i < n_base; i++)
		if (under(interp, base_dirs[i]))
			return 0;
	for (size_t i = 0; i < plan->n_steps; i++) {
		const struct fsns_step *s = &plan->steps[i];

		if (s->kind == FSNS_BIND && strcmp(s->src, s->dest) == 0 && under(interp, s->dest))
			return 0;
	}
	r = check_bind("interpreter", interp, interp, false, &ib, err);
	if (r < 0)
		return r;
	add_bind(plan, &ib);
	return 0;
}

static size_t depth(const char *path)
{
	size_t d = 0;

	for (; *path; path++)
		d += *path == '/';
	return d;
}

/* A mount hides whatever an earlier one put below its destination: parents
 * go first (--ro-bind /data after --scratch /data/s would hide the scratch
 * dir). Stable, so equal depths keep the command line's order. */
static void sort_by_depth(struct fsns_plan *plan, size_t first)
{
	for (size_t i = first + 1; i < plan->n_steps; i++) {
		struct fsns_step tmp = plan->steps[i];
		size_t j = i;

		for (; j > first && depth(plan->steps[j - 1].dest) > depth(tmp.dest); j--)
			plan->steps[j] = plan->steps[j - 1];
		plan->steps[j] = tmp;
	}
}

static void plan_resolv_text(struct fsns_plan *plan, const struct policy *p)
{
	bool egress = (p->net_mode == NET_MODE_ALLOWLIST && p->net_allow_len > 0) ||
		      p->net_mode == NET_MODE_UNRESTRICTED;

	/* slirp4netns answers DNS on 10.0.2.3; whether the filter lets it
	 * through is the network layer's decision. With no name server listed
	 * glibc asks 127.0.0.1, which fails at once in a loopback-only netns. */
	if (egress)
		snprintf(plan->resolv_conf, sizeof(plan->resolv_conf), "nameserver 10.0.2.3\n");
	else
		snprintf(plan->resolv_conf, sizeof(plan->resolv_conf),
			 "# nsrun: network.mode deny, no name server\n");
}

/* off: the host tree as is (its own permissions apply), but never the
 * host's /proc: a fresh, masked, read-only procfs of the sandbox's pid
 * namespace replaces it. Binds add nothing a path does not already reach,
 * and nothing may be created on the host for a different destination. An
 * internal bind (the script file) is skipped: the caller runs it from its
 * source path, which the host tree shows as is. */
static int plan_off(struct fsns_plan *plan, const struct host_caps *caps,
		    const struct run_inputs *in, const struct bind_ok *b, size_t n,
		    struct report *rep, struct nsrun_err *err)
{
	size_t n_user = 0;

	for (size_t i = 0; i < n; i++) {
		if (b[i].internal)
			continue;
		if (!b[i].same)
			return nsrun_err_set(err, "fsns", 0,
					     "bind %s -> %s: a different destination needs "
					     "filesystem.mode scratch-only or scratch-plus-ro",
					     in->binds[i].src, in->binds[i].dest);
		n_user++;
	}
	if (n_user)
		report_note(rep, LAYER_FILESYSTEM,
			    "filesystem.mode off: --bind/--ro-bind add nothing, the host paths are "
			    "visible as they are");
	report_note(
	    rep, LAYER_FILESYSTEM,
	    "filesystem.mode off: the host filesystem is visible with the host's permissions; "
	    "only /proc is replaced");
	if (caps->procfs.ok) {
		plan->fresh_proc = true;
		fsns_plan_proc(plan);
	} else {
		report_note(rep, LAYER_FILESYSTEM,
			    "no fresh /proc, the host's stays (filesystem.mode off): %s",
			    caps->procfs.reason);
	}
	return 0;
}

int fsns_plan(const struct policy *p, const struct host_caps *caps, const struct run_inputs *in,
	      uid_t owner_uid, gid_t owner_gid, struct fsns_plan *plan, struct report *rep,
	      struct nsrun_err *err)
{
	struct bind_ok *binds = NULL, scratch = {0};
	const char *base_dirs[8];
	size_t n_base = 0, n = in->n_binds, first_bind;
	uint64_t cap;
	int r = 0;

	fsns_plan_clear(plan);
	plan->owner_uid = owner_uid;
	plan->owner_gid = owner_gid;
	if (!p->enabled)
		return 0;

	/* Bad input is bad input in every mode: check it all first. */
	if (n > INPUTS_MAX_BINDS)
		return nsrun_err_set(err, "fsns", E2BIG, "more than %d binds", INPUTS_MAX_BINDS);
	binds = calloc(n + 1, sizeof(*binds));
	if (!binds)
		return nsrun_err_set(err, "fsns", ENOMEM, "planning");
	for (size_t i = 0; i < n && r == 0; i++) {
		r = check_bind("bind", in->binds[i].src, in->binds[i].dest, in->binds[i].rw,
			       &binds[i], err);
		binds[i].internal = in->binds[i].internal;
	}
	if (r == 0 && in->scratch_dir) {
		r = check_bind("scratch", in->scratch_dir, in->scratch_dir, true, &scratch, err);
		if (r == 0 && !scratch.is_dir)
			r = nsrun_err_set(err, "fsns", ENOTDIR, "scratch %s", in->scratch_dir);
		else if (r == 0)
			snprintf(plan->cwd, sizeof(plan->cwd), "%s", scratch.dest);
	}
	if (r < 0)
		goto out;

	record_ns("/proc/self/ns/mnt", &plan->sup_mntns_dev, &plan->sup_mntns_ino);
	record_ns("/proc/self/ns/user", &plan->sup_userns_dev, &plan->sup_userns_ino);
	plan->limit_userns = true;
	cap = p->res.max_file_size_bytes > 0 ? (uint64_t)p->res.max_file_size_bytes
					     : FSNS_DEFAULT_TMP_SIZE;
	plan->tmp_size = plan->scratch_size = cap;
	plan->root_size = FSNS_ROOT_SIZE;
	plan_resolv_text(plan, p);

	if (p->fs_mode == FS_MODE_OFF) {
		r = plan_off(plan, caps, in, binds, n, rep, err);
		goto out;
	}

	plan->new_root = true;
	r = pick_staging(plan, err);
	if (r < 0)
		goto out;
	plan_base(plan, base_dirs, &n_base);
	r = fsns_plan_etc(plan, p, in, rep);
	if (r < 0) {
		r = nsrun_err_set(err, "fsns", -r, "planning /etc");
		goto out;
	}
	/* /tmp before any bind: a --scratch or bind destination below /tmp
	 * then lands in the fresh tmpfs, not under it. */
	{
		struct fsns_step *t = fsns_plan_add(plan, FSNS_TMPFS, NULL, "/tmp");

		t->rw = true;
		t->mode = 01777;
		t->size = plan->tmp_size;
	}
	first_bind = plan->n_steps;
	if (in->scratch_dir) {
		add_bind(plan, &scratch);
	} else {
		struct fsns_step *t = fsns_plan_add(plan, FSNS_TMPFS, NULL, "/scratch");

		t->rw = true;
		t->owned = true;
		t->mode = 0700;
		t->size = plan->scratch_size;
		snprintf(plan->cwd, sizeof(plan->cwd), "/scratch");
	}
	plan_user_binds(plan, p, binds, n, rep);
	r = plan_interpreter(plan, in->interpreter, base_dirs, n_base, err);
	if (r < 0)
		goto out;
	sort_by_depth(plan, first_bind);
	fsns_plan_dev(plan);
	if (caps->procfs.ok) {
		plan->fresh_proc = true;
		fsns_plan_proc(plan);
	} else {
		report_downgrade(
		    rep, LAYER_FILESYSTEM,
		    "no fresh /proc, so the sandbox has none (the host's is never bound "
		    "instead; user.max_user_namespaces is set only if the host's "
		    "/proc/sys is writable): %s",
		    caps->procfs.reason);
	}
	if (plan->overflow)
		r = nsrun_err_set(err, "fsns", E2BIG, "more than %d mount steps", FSNS_MAX_STEPS);
out:
	free(binds);
	return r;
}
