/* priv_child_drop in a real user namespace: a forked child unshares one,
 * gets its maps written (by the parent, as a root supervisor would, or by
 * itself, as rootless), drops, and checks /proc/self/status. */
#include <criterion/criterion.h>

#include "unit_util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/privilege.h"
#include "seccomp/seccomp.h"

#define NOBODY 65534

enum maps {
	MAPS_ROOT_SUPERVISOR, /* parent writes "N N 1": only the target id, not 0 */
	MAPS_ZERO_TOO,	      /* parent writes 0 and N: setresuid 0 -> N must not matter */
	MAPS_SELF,	      /* the child maps its own id, setgroups denied (rootless) */
};


static int write_maps(pid_t pid, const char *line)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
	if (unit_write_file(path, line) < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)pid);
	return unit_write_file(path, line);
}

/* Returns 0 when every capability set is empty, NoNewPrivs is 1 and the
 * ids are uid:gid (and, when want_no_groups, Groups is empty). */
static int check_status(uid_t uid, gid_t gid, bool want_no_groups, int want_seccomp)
{
	static const char *const zero[] = { "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:" };
	char line[512], want[128];
	int bad = 0, seen = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return 90;
	while (fgets(line, sizeof(line), f)) {
		for (size_t i = 0; i < 5; i++) {
			if (strncmp(line, zero[i], strlen(zero[i])) == 0) {
				seen++;
				if (strtoull(line + strlen(zero[i]), NULL, 16) != 0) {
					fprintf(stderr, "not empty: %s", line);
					bad = 91;
				}
			}
		}
		if (strncmp(line, "NoNewPrivs:", 11) == 0 && atoi(line + 11) != 1)
			fprintf(stderr, "%s", line), bad = 92;
		if (strncmp(line, "Seccomp:", 8) == 0 && atoi(line + 8) != want_seccomp)
			fprintf(stderr, "%s", line), bad = 93;
		snprintf(want, sizeof(want), "Uid:\t%u\t%u\t%u\t%u\n", uid, uid, uid, uid);
		if (strncmp(line, "Uid:", 4) == 0 && strcmp(line, want) != 0)
			fprintf(stderr, "%s", line), bad = 94;
		snprintf(want, sizeof(want), "Gid:\t%u\t%u\t%u\t%u\n", gid, gid, gid, gid);
		if (strncmp(line, "Gid:", 4) == 0 && strcmp(line, want) != 0)
			fprintf(stderr, "%s", line), bad = 95;
		if (want_no_groups && strncmp(line, "Groups:", 7) == 0 &&
		    strspn(line + 7, " \t\n") != strlen(line + 7))
			fprintf(stderr, "%s", line), bad = 96;
	}
	fclose(f);
	return seen == 5 ? bad : 97;
}

struct run {
	enum maps maps;
	struct priv_plan plan;
	bool install_seccomp;
	int want_r;	 /* expected return of the drop */
	const char *want_detail; /* substring of the error detail, when want_r < 0 */
};

static int child_body(const struct run *run, int from_parent, int to_parent)
{
	struct seccomp_prog prog = { 0 };
	struct nsrun_err err = { 0 };
	gid_t extra[] = { 1, 2, 3 };
	char c = 0;
	int r;

	if (run->install_seccomp && nsrun_seccomp_compile(&prog, &err) < 0)
		return 80;
	if (run->maps == MAPS_SELF && geteuid() == 0) {
		/* Become an unprivileged user first, as a rootless supervisor is. */
		if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
		    setresuid(NOBODY, NOBODY, NOBODY) < 0)
			return 81;
		/* The id change made us non-dumpable: our /proc files would be
		 * root's and uid_map unwritable. */
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	} else if (run->maps != MAPS_SELF && setgroups(3, extra) < 0) {
		return 82; /* groups for clear_groups to remove */
	}
	if (unshare(CLONE_NEWUSER) < 0) {
		fprintf(stderr, "unshare: %s\n", strerror(errno));
		return 83;
	}
	if (run->maps == MAPS_SELF) {
		char line[64];

		snprintf(line, sizeof(line), "%u %u 1\n", run->plan.uid, run->plan.uid);
		if (unit_write_file("/proc/self/setgroups", "deny") < 0 ||
		    unit_write_file("/proc/self/uid_map", line) < 0)
			return 84;
		snprintf(line, sizeof(line), "%u %u 1\n", run->plan.gid, run->plan.gid);
		if (unit_write_file("/proc/self/gid_map", line) < 0)
			return 85;
	} else {
		/* sync: namespace made; wait for the maps. */
		if (write(to_parent, "u", 1) != 1 || read(from_parent, &c, 1) != 1 || c != 'm')
			return 86;
	}

	r = run->install_seccomp ? priv_child_drop_and_filter(&run->plan, &prog, &err)
				 : priv_child_drop(&run->plan, &err);
	if (r != run->want_r) {
		fprintf(stderr, "drop returned %d: %s: %s (%s)\n", r, err.stage, err.detail,
			strerror(err.errnum));
		return 87;
	}
	if (r < 0)
		return run->want_detail && !strstr(err.detail, run->want_detail) ? 88 : 0;
	if (run->install_seccomp && (unshare(CLONE_NEWUSER) == 0 || errno != EPERM))
		return 89;
	return check_status(run->plan.uid, run->plan.gid, run->plan.clear_groups,
			    run->install_seccomp ? 2 : 0);
}

static void run_case(const struct run *run)
{
	int down[2], up[2], st;
	char c;
	pid_t pid;

	if (run->maps != MAPS_SELF && geteuid() != 0)
		cr_skip_test("writing another process's maps needs root");
	cr_assert_eq(pipe2(down, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(up, O_CLOEXEC), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(child_body(run, down[0], up[1]));
	close(down[0]);
	close(up[1]);
	if (run->maps != MAPS_SELF) {
		cr_assert_eq(read(up[0], &c, 1), 1, "child did not make its namespace");
		if (run->maps == MAPS_ROOT_SUPERVISOR)
			cr_assert_eq(write_maps(pid, "65534 65534 1\n"), 0, "maps: %s",
				     strerror(errno));
		else
			cr_assert_eq(write_maps(pid, "0 0 1\n65534 65534 1\n"), 0, "maps: %s",
				     strerror(errno));
		cr_assert_eq(write(down[1], "m", 1), 1);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	close(down[1]);
	close(up[0]);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 83 && run->maps == MAPS_SELF)
		cr_skip_test("unprivileged user namespaces are not available here");
	cr_assert(WIFEXITED(st), "child killed by signal %d", WTERMSIG(st));
	cr_assert_eq(WEXITSTATUS(st), 0, "child failed with %d (see stderr)", WEXITSTATUS(st));
}

#define FULL_DROP(u, g, groups)                                                             \
	{ .enabled = true, .set_ids = true, .uid = (u), .gid = (g), .clear_groups = (groups), \
	  .drop_caps = true, .no_new_privs = true, .seccomp = false }

Test(privilege, root_supervisor_maps_only_the_target_id)
{
	struct run run = { .maps = MAPS_ROOT_SUPERVISOR, .plan = FULL_DROP(NOBODY, NOBODY, true) };

	run_case(&run);
}

Test(privilege, uid_0_mapped_too_still_ends_with_nothing)
{
	struct run run = { .maps = MAPS_ZERO_TOO, .plan = FULL_DROP(NOBODY, NOBODY, true) };

	run_case(&run);
}

Test(privilege, rootless_self_map_without_setgroups)
{
	uid_t u = geteuid() == 0 ? NOBODY : geteuid();
	gid_t g = geteuid() == 0 ? NOBODY : getegid();
	struct run run = { .maps = MAPS_SELF, .plan = FULL_DROP(u, g, false) };

	run_case(&run);
}

Test(privilege, then_the_seccomp_filter)
{
	struct run run = { .maps = MAPS_ROOT_SUPERVISOR, .plan = FULL_DROP(NOBODY, NOBODY, true),
			   .install_seccomp = true };

	run.plan.seccomp = true;
	run_case(&run);
}

Test(privilege, an_unmapped_target_uid_is_an_error)
{
	struct run run = { .maps = MAPS_ROOT_SUPERVISOR, .plan = FULL_DROP(1234, NOBODY, true),
			   .want_r = -EINVAL, .want_detail = "setresuid(1234)" };

	run_case(&run);
}

Test(privilege, disabled_plan_is_a_no_op)
{
	struct priv_plan p = { .enabled = false, .drop_caps = true, .set_ids = true, .uid = 1 };
	struct nsrun_err err = { 0 };

	cr_assert_eq(priv_child_drop(&p, &err), 0);
}

Test(privilege, seccomp_without_no_new_privs_is_refused_before_anything)
{
	struct priv_plan p = FULL_DROP(NOBODY, NOBODY, true);
	struct nsrun_err err = { 0 };

	p.no_new_privs = false;
	p.seccomp = true;
	cr_assert_eq(priv_child_drop(&p, &err), -EINVAL);
	cr_assert_str_eq(err.stage, "privilege");
	cr_assert_neq(getuid() == NOBODY && geteuid() == NOBODY, true, "ids changed");
}
