/* fsns_plan: the mount steps for each mode, bind input checking and the
 * /proc downgrade, with fake host capabilities. */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsns/fsns.h"
#include "runtime/caps.h"
#include "runtime/inputs.h"
#include "runtime/policy.h"
#include "runtime/report.h"

static char *argv_true[] = {"/bin/true", NULL};
static struct fsns_plan plan; /* ~170 KiB: not on the stack */
static struct policy pol;
static struct host_caps caps;
static struct run_inputs in;
static struct report rep;
static struct nsrun_err err;
static char tmpdir[64];
static bool loaded;

static void load(const char *over)
{
	struct nsrun_err e = {0};

	if (loaded)
		policy_free(&pol);
	loaded = true;

	cr_assert_eq(policy_from_texts(NULL, 0, over, over ? strlen(over) : 0, &pol, &e), 0, "%s",
		     e.detail);
}

static void setup(void)
{
	memset(&in, 0, sizeof(in));
	memset(&err, 0, sizeof(err));
	in.argv = argv_true;
	in.sandbox_uid_env = in.sandbox_gid_env = -1;
	caps_all_ok(&caps, true);
	report_init(&rep);
	load("{\"filesystem\":{\"mode\":\"scratch-plus-ro\"}}");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fsns-plan-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[128];

	policy_free(&pol);
	loaded = false;
	report_free(&rep);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(fsns_plan, .init = setup, .fini = teardown);

static int run_plan(void)
{
	return fsns_plan(&pol, &caps, &in, 4242, 4343, &plan, &rep, &err);
}

static const struct fsns_step *find(enum fsns_step_kind kind, const char *dest)
{
	for (size_t i = 0; i < plan.n_steps; i++)
		if (plan.steps[i].kind == kind && strcmp(plan.steps[i].dest, dest) == 0)
			return &plan.steps[i];
	return NULL;
}

static long index_of(enum fsns_step_kind kind, const char *dest)
{
	const struct fsns_step *s = find(kind, dest);

	return s ? s - plan.steps : -1;
}

static const struct fsns_step *find_dest(const char *dest)
{
	for (size_t i = 0; i < plan.n_steps; i++)
		if (strcmp(plan.steps[i].dest, dest) == 0)
			return &plan.steps[i];
	return NULL;
}

static bool has_item(const struct report_item *items, size_t n, const char *frag)
{
	for (size_t i = 0; i < n; i++)
		if (items[i].layer == LAYER_FILESYSTEM && strstr(items[i].text, frag))
			return true;
	return false;
}

static void add_bind(const char *src, const char *dest, bool rw)
{
	in.binds[in.n_binds].src = src;
	in.binds[in.n_binds].dest = dest;
	in.binds[in.n_binds].rw = rw;
	in.n_binds++;
}

static void make_file(const char *path)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	fclose(f);
}

Test(fsns_plan, confined_root_has_base_etc_tmp_scratch_dev_proc)
{
	const struct fsns_step *s;

	cr_assert_eq(run_plan(), 0, "%s", err.detail);
	cr_assert(plan.new_root);
	cr_assert(plan.fresh_proc);
	cr_assert(plan.limit_userns);
	cr_assert_eq(rep.n_downgrades, 0);
	cr_assert_str_eq(plan.staging, "/tmp");
	cr_assert_str_eq(plan.cwd, "/scratch");
	cr_assert_eq(plan.owner_uid, 4242);
	cr_assert_eq(plan.owner_gid, 4343);

	s = find(FSNS_BIND, "/usr");
	cr_assert_not_null(s);
	cr_assert_not(s->rw, "/usr is read-only");
	cr_assert_eq(s->mode, S_IFDIR);

	/* Merged /usr: the links are recreated, not bound a second time. */
	const char *links[] = {"/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"};
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		struct stat st;
		char target[256];
		ssize_t n;

		if (lstat(links[i], &st) < 0) {
			cr_assert_null(find_dest(links[i]), "%s is absent on the host", links[i]);
			continue;
		}
		if (S_ISLNK(st.st_mode)) {
			s = find(FSNS_SYMLINK, links[i]);
			cr_assert_not_null(s, "%s", links[i]);
			n = readlink(links[i], target, sizeof(target) - 1);
			target[n > 0 ? n : 0] = '\0';
			cr_assert_str_eq(s->src, target);
		} else {
			cr_assert_not_null(find(FSNS_BIND, links[i]), "%s", links[i]);
		}
	}

	cr_assert_not_null(find(FSNS_DIR, "/etc"));
	cr_assert_not_null(find(FSNS_COPY, "/etc/passwd"));
	cr_assert_not_null(find(FSNS_COPY, "/etc/group"));
	cr_assert_null(find_dest("/etc/shadow"));
	s = find(FSNS_HOSTS, "/etc/hosts");
	cr_assert_not_null(s);
	cr_assert(strstr(plan.hosts, "127.0.0.1\tlocalhost"));
	cr_assert(strstr(plan.hosts, "::1\tlocalhost"));
	cr_assert_not_null(find(FSNS_RESOLV, "/etc/resolv.conf"));

	s = find(FSNS_TMPFS, "/tmp");
	cr_assert_not_null(s);
	cr_assert(s->rw);
	cr_assert_eq(s->mode, 01777);
	cr_assert_eq(s->size, 268435456ull, "maxFileSizeBytes of the default profile");
	cr_assert_not(s->owned);
	s = find(FSNS_TMPFS, "/scratch");
	cr_assert_not_null(s);
	cr_assert(s->rw && s->owned);
	cr_assert_eq(s->mode, 0700);

	const char *devs[] = {"/dev/null",   "/dev/zero",    "/dev/full",
			      "/dev/random", "/dev/urandom", "/dev/tty"};
	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++)
		cr_assert_not_null(find(FSNS_DEV_BIND, devs[i]), "%s", devs[i]);
	cr_assert_not_null(find(FSNS_DEVPTS, "/dev/pts"));
	cr_assert_str_eq(find(FSNS_SYMLINK, "/dev/ptmx")->src, "pts/ptmx");
	cr_assert_str_eq(find(FSNS_SYMLINK, "/dev/fd")->src, "/proc/self/fd");
	cr_assert_str_eq(find(FSNS_SYMLINK, "/dev/stderr")->src, "/proc/self/fd/2");
	s = find(FSNS_TMPFS, "/dev/shm");
	cr_assert(s && s->rw && s->noexec && s->mode == 01777 && s->size > 0);

	cr_assert_not_null(find(FSNS_PROC, "/proc"));
	s = find(FSNS_MASK, "/proc/kcore");
	cr_assert(s && s->mode == S_IFREG && strcmp(s->src, "/dev/null") == 0);
	s = find(FSNS_MASK, "/proc/acpi");
	cr_assert(s && s->mode == S_IFDIR);
	cr_assert_not_null(find(FSNS_MASK, "/proc/keys"));
	cr_assert_not_null(find(FSNS_MASK, "/proc/timer_list"));

	for (size_t i = 0; i < plan.n_steps; i++)
		cr_assert_neq(strncmp(plan.steps[i].dest, "/sys", 4), 0, "no /sys at all");
	cr_assert_neq(plan.sup_mntns_ino, 0u, "the supervisor's mount ns is recorded");
	cr_assert_neq(plan.sup_userns_ino, 0u);
}

Test(fsns_plan, order_tmp_before_binds_dev_before_proc_masks_last)
{
	add_bind(tmpdir, "/tmp/inside", true);
	cr_assert_eq(run_plan(), 0, "%s", err.detail);
	cr_assert_lt(index_of(FSNS_TMPFS, "/tmp"), index_of(FSNS_BIND, "/tmp/inside"));
	cr_assert_lt(index_of(FSNS_DEV_BIND, "/dev/null"), index_of(FSNS_PROC, "/proc"));
	cr_assert_lt(index_of(FSNS_PROC, "/proc"), index_of(FSNS_MASK, "/proc/kcore"));
	cr_assert_eq(plan.steps[plan.n_steps - 1].kind, FSNS_MASK);
}

Test(fsns_plan, scratch_plus_ro_applies_ro_and_rw_binds)
{
	char file[128];
	const struct fsns_step *s;

	snprintf(file, sizeof(file), "%s/f", tmpdir);
	make_file(file);
	add_bind(tmpdir, NULL, false);
	add_bind(file, "/opt/data/f", false);
	add_bind("/usr/share", "//srv///share/", true);
	cr_assert_eq(run_plan(), 0, "%s", err.detail);
	s = find(FSNS_BIND, tmpdir);
	cr_assert(s && !s->rw && s->mode == S_IFDIR, "DEST defaults to SRC");
	s = find(FSNS_BIND, "/opt/data/f");
	cr_assert(s && !s->rw && s->mode == S_IFREG);
	cr_assert_str_eq(s->src, file);
	s = find(FSNS_BIND, "/srv/share");
	cr_assert(s && s->rw, "a normalised destination");
}

Test(fsns_plan, scratch_only_leaves_out_ro_binds_with_a_note)
{
	load("{\"filesystem\":{\"mode\":\"scratch-only\"}}");
	add_bind("/usr/share", "/ro", false);
	add_bind(tmpdir, "/rw", true);
	cr_assert_eq(run_plan(), 0, "%s", err.detail);
	cr_assert_null(find(FSNS_BIND, "/ro"));
	cr_assert_not_null(find(FSNS_BIND, "/rw"));
	cr_assert(has_item(rep.notes, rep.n_notes, "/ro"));
	cr_assert_eq(rep.n_downgrades, 0);
}

Test(fsns_plan, missing_source_is_enoent_naming_the_bind)
{
	char msg[600];

	add_bind("/opt/nsrun-no-such-dir", NULL, false);
	cr_assert_eq(run_plan(), -ENOENT);
	cr_assert_str_eq(err.stage, "fsns");
	cr_assert_eq(err.errnum, ENOENT);
	nsrun_err_format(&err, msg, sizeof(msg));
	cr_assert_str_eq(msg, "fsns: bind /opt/nsrun-no-such-dir -> /opt/nsrun-no-such-dir: "
			      "No such file or directory");
}

Test(fsns_plan, missing_source_is_an_error_in_every_mode)
{
	load("{\"filesystem\":{\"mode\":\"off\"}}");
	add_bind("/opt/nsrun-no-such-dir", NULL, true);
	cr_assert_eq(run_plan(), -ENOENT);
}

Test(fsns_plan, relative_or_dotted_or_reserved_destinations_are_refused)
{
	const char *bad[] = {"opt/x", "/opt/../etc", "/./x", "/", "/proc/x", "/dev", "/sys/kernel"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		in.n_binds = 0;
		memset(&err, 0, sizeof(err));
		add_bind(tmpdir, bad[i], false);
		cr_assert_eq(run_plan(), -EINVAL, "%s", bad[i]);
		cr_assert_str_eq(err.stage, "fsns");
		cr_assert(strstr(err.detail, bad[i]), "%s: %s", bad[i], err.detail);
	}
	in.n_binds = 0;
	add_bind("relative/src", "/x", false);
	cr_assert_eq(run_plan(), -EINVAL);
	cr_assert(strstr(err.detail, "absolute"), "%s", err.detail);
}

Test(fsns_plan, interpreter_outside_the_base_is_bound_read_only)
{
	char node[128];
	const struct fsns_step *s;

	snprintf(node, sizeof(node), "%s/node", tmpdir);
	make_file(node);
	in.interpreter = node;
	load("{\"filesystem\":{\"mode\":\"scratch-only\"}}");
	cr_assert_eq(run_plan(), 0, "%s", err.detail);
	s = find(FSNS_BIND, node);
	cr_assert_not_null(s, "bound even under scratch-only");
	cr_assert_str_eq(s->src, node);
	cr_assert_not(s->rw);
	cr_assert_eq(s->mode, S_IFREG);
}

Test(fsns_plan, interpreter_under_usr_needs_no_bind)
{
	char sh[PATH_MAX];

	cr_assert_not_null(realpath("/bin/sh", sh));
	in.interpreter = sh;
	cr_assert_eq(run_plan(), 0, "%s", err.detail);
	cr_assert_null(find(FSNS_BIND, sh));
}

Test(fsns_plan, no_fresh_procfs_is_a_downgrade_and_never_the_host_proc)
{
	caps.procfs.ok = false;
	snprintf(caps.procfs.reason, sizeof(caps.procfs.reason), "masked /proc paths");
	cr_assert_eq(run_plan(), 0, "%s", err.detail);
	cr_assert_not(plan.fresh_proc);
	cr_assert(has_item(rep.downgrades, rep.n_downgrades, "masked /proc paths"));
	cr_assert_not(rep.enforced[LAYER_FILESYSTEM]);
	cr_assert_null(find_dest("/proc"), "no /proc at all, and no bind of the host's");
	for (size_t i = 0; i < plan.n_steps; i++)
		if (plan.steps[i].kind == FSNS_BIND)
			cr_assert_neq(strncmp(plan.steps[i].src, "/proc", 5), 0);
}

Test(fsns_plan, off_mode_keeps_the_host_tree_but_replaces_proc)
{
	load("{\"filesystem\":{\"mode\":\"off\"}}");
	add_bind("/usr", NULL, false);
	in.scratch_dir = tmpdir;
	cr_assert_eq(run_plan(), 0, "%s", err.detail);
	cr_assert_not(plan.new_root);
	cr_assert(plan.fresh_proc);
	cr_assert_str_eq(plan.cwd, tmpdir);
	for (size_t i = 0; i < plan.n_steps; i++)
		cr_assert(plan.steps[i].kind == FSNS_PROC || plan.steps[i].kind == FSNS_MASK,
			  "step %zu kind %d", i, plan.steps[i].kind);
	cr_assert_not_null(find(FSNS_PROC, "/proc"));
	cr_assert(has_item(rep.notes, rep.n_notes, "--bind"));
	cr_assert_eq(rep.n_downgrades, 0);
}

Test(fsns_plan, off_mode_without_procfs_is_a_note_and_a_moved_bind_is_refused)
{
	load("{\"filesystem\":{\"mode\":\"off\"}}");
	caps.procfs.ok = false;
	cr_assert_eq(run_plan(), 0, "%s", err.detail);
	cr_assert_eq(plan.n_steps, 0u);
	cr_assert_eq(rep.n_downgrades, 0);
	cr_assert(has_item(rep.notes, rep.n_notes, "/proc"));

	add_bind("/usr", "/elsewhere", false);
	cr_assert_eq(run_plan(), -EINVAL);
	cr_assert(strstr(err.detail, "bind /usr -> /elsewhere"), "%s", err.detail);
}

Test(fsns_plan, scratch_dir_is_bound_rw_and_is_the_cwd)
{
	const struct fsns_step *s;
	char file[128];

	in.scratch_dir = tmpdir;
	cr_assert_eq(run_plan(), 0, "%s", err.detail);
	s = find(FSNS_BIND, tmpdir);
	cr_assert(s && s->rw && s->mode == S_IFDIR);
	cr_assert_str_eq(plan.cwd, tmpdir);
	cr_assert_null(find(FSNS_TMPFS, "/scratch"));

	snprintf(file, sizeof(file), "%s/f", tmpdir);
	make_file(file);
	in.scratch_dir = file;
	cr_assert_eq(run_plan(), -ENOTDIR);
	in.scratch_dir = "/nsrun-no-such-scratch";
	cr_assert_eq(run_plan(), -ENOENT);
	cr_assert(strstr(err.detail, "scratch /nsrun-no-such-scratch"), "%s", err.detail);
}

Test(fsns_plan, tmpfs_caps_default_without_max_file_size)
{
	pol.res.max_file_size_bytes = POLICY_UNSET;
	cr_assert_eq(run_plan(), 0, "%s", err.detail);
	cr_assert_eq(plan.tmp_size, FSNS_DEFAULT_TMP_SIZE);
	cr_assert_eq(find(FSNS_TMPFS, "/scratch")->size, FSNS_DEFAULT_TMP_SIZE);
	cr_assert_eq(find(FSNS_TMPFS, "/dev/shm")->size, FSNS_DEFAULT_TMP_SIZE);
}

Test(fsns_plan, host_etc_binds_the_whole_etc)
{
	in.host_etc = true;
	cr_assert_eq(run_plan(), 0, "%s", err.detail);
	cr_assert_not_null(find(FSNS_BIND, "/etc"));
	cr_assert_null(find(FSNS_COPY, "/etc/passwd"));
	cr_assert(has_item(rep.notes, rep.n_notes, "host_etc"));
}

Test(fsns_plan, resolv_conf_follows_the_network_mode)
{
	cr_assert_eq(run_plan(), 0, "%s", err.detail);
	cr_assert_null(strstr(plan.resolv_conf, "nameserver"), "deny: no name server");

	load("{\"network\":{\"mode\":\"allowlist\",\"allow\":[\"192.0.2.1\"]}}");
	cr_assert_eq(run_plan(), 0, "%s", err.detail);
	cr_assert_str_eq(plan.resolv_conf, "nameserver 10.0.2.3\n");

	load("{\"network\":{\"mode\":\"unrestricted\",\"denyLinkLocalAndMetadata\":false}}");
	cr_assert_eq(run_plan(), 0, "%s", err.detail);
	cr_assert_null(find(FSNS_RESOLV, "/etc/resolv.conf"), "the host's resolver as is");
}

Test(fsns_plan, disabled_policy_plans_nothing)
{
	load("{\"enabled\":false}");
	cr_assert_eq(run_plan(), 0);
	cr_assert_eq(plan.n_steps, 0u);
	cr_assert_not(plan.new_root || plan.fresh_proc || plan.limit_userns);
}

Test(fsns_plan, internal_bind_applies_under_scratch_only_and_is_skipped_under_off)
{
	char script[128];

	snprintf(script, sizeof(script), "%s/check.mjs", tmpdir);
	make_file(script);
	in.binds[0] = (struct bind_spec){
	    .src = script, .dest = "/run/nsrun/script/check.mjs", .internal = true};
	in.n_binds = 1;
	load("{\"filesystem\":{\"mode\":\"scratch-only\"}}");
	cr_assert_eq(run_plan(), 0, "%s", err.detail);
	cr_assert_not_null(find(FSNS_BIND, "/run/nsrun/script/check.mjs"), "nsrun's own bind");
	cr_assert_not(has_item(rep.notes, rep.n_notes, "left out"));

	report_init(&rep);
	load("{\"filesystem\":{\"mode\":\"off\"}}");
	cr_assert_eq(run_plan(), 0, "%s", err.detail);
	cr_assert_null(find_dest("/run/nsrun/script/check.mjs"));
	cr_assert_not(has_item(rep.notes, rep.n_notes, "--bind"));
}

Test(fsns_plan, parents_are_mounted_before_what_lies_below_them)
{
	char sub[128];

	snprintf(sub, sizeof(sub), "%s/s", tmpdir);
	cr_assert_eq(mkdir(sub, 0755), 0);
	in.scratch_dir = sub;
	add_bind(tmpdir, "/data/a/b", false);
	add_bind(tmpdir, NULL, false);
	add_bind(tmpdir, "/data", true);
	cr_assert_eq(run_plan(), 0, "%s", err.detail);
	cr_assert_lt(index_of(FSNS_BIND, "/data"), index_of(FSNS_BIND, "/data/a/b"));
	cr_assert_lt(index_of(FSNS_BIND, tmpdir), index_of(FSNS_BIND, sub),
		     "--ro-bind of the parent before the --scratch below it");
	cr_assert_lt(index_of(FSNS_TMPFS, "/tmp"), index_of(FSNS_BIND, tmpdir));
}
