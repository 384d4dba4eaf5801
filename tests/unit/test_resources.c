/* resources_plan (pure: every field, absent fields, each downgrade and note)
 * and rlimits_apply (in a forked child). */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/caps.h"
#include "runtime/policy.h"
#include "runtime/report.h"
#include "runtime/resources.h"

#define MIB (1024 * 1024)

static struct policy pol;
static struct host_caps caps;
static struct report rep;
static struct res_plan plan;

static void base(void)
{
	memset(&pol, 0, sizeof(pol));
	pol.enabled = true;
	pol.on_unavailable = ON_UNAVAILABLE_FAIL;
	pol.res = (struct policy_resources){POLICY_UNSET, POLICY_UNSET, POLICY_UNSET,
					    POLICY_UNSET, POLICY_UNSET, POLICY_UNSET};
	pol.priv_uid = pol.priv_gid = POLICY_UNSET;
	caps_all_ok(&caps, true);
	report_init(&rep);
}

static void all_fields(void)
{
	pol.res.cpu_seconds = 60;
	pol.res.memory_bytes = 512 * MIB;
	pol.res.max_open_files = 1024;
	pol.res.max_processes = 256;
	pol.res.max_output_bytes = 5 * MIB;
	pol.res.max_file_size_bytes = 256 * MIB;
}

static const struct res_rlimit *find(int resource)
{
	for (size_t i = 0; i < plan.n_rlimits; i++)
		if (plan.rlimits[i].resource == resource)
			return &plan.rlimits[i];
	return NULL;
}

static void expect_rlimit(int resource, rlim_t soft, rlim_t hard)
{
	const struct res_rlimit *r = find(resource);

	cr_assert(r, "rlimit %d not planned", resource);
	cr_assert_eq(r->soft, soft, "rlimit %d soft %llu", resource, (unsigned long long)r->soft);
	cr_assert_eq(r->hard, hard, "rlimit %d hard %llu", resource, (unsigned long long)r->hard);
}

static const char *note_with(const char *needle)
{
	for (size_t i = 0; i < rep.n_notes; i++)
		if (rep.notes[i].layer == LAYER_RESOURCES && strstr(rep.notes[i].text, needle))
			return rep.notes[i].text;
	return NULL;
}

static const char *downgrade_with(const char *needle)
{
	for (size_t i = 0; i < rep.n_downgrades; i++)
		if (rep.downgrades[i].layer == LAYER_RESOURCES &&
		    strstr(rep.downgrades[i].text, needle))
			return rep.downgrades[i].text;
	return NULL;
}

static void run_plan(void)
{
	cr_assert_eq(resources_plan(&pol, &caps, &plan, &rep), 0);
	/* never, whatever the policy: RLIMIT_AS kills Node/Bun at start and
	 * RLIMIT_DATA is no whole-sandbox cap (RESOURCES.md) */
	cr_assert_null(find(RLIMIT_AS));
	cr_assert_null(find(RLIMIT_DATA));
}

TestSuite(resources_plan, .init = base);

Test(resources_plan, every_field)
{
	all_fields();
	run_plan();
	expect_rlimit(RLIMIT_CORE, 0, 0);
	expect_rlimit(RLIMIT_CPU, 60, 60 + RES_CPU_GRACE_SECONDS);
	expect_rlimit(RLIMIT_NOFILE, 1024, 1024);
	expect_rlimit(RLIMIT_FSIZE, 256 * MIB, 256 * MIB);
	expect_rlimit(RLIMIT_NPROC, 256, 256);
	cr_assert_eq(plan.n_rlimits, 5);
	cr_assert(plan.cgroup);
	cr_assert_eq(plan.cgroup_version, 1);
	cr_assert_eq(plan.memory_bytes, 512 * MIB);
	cr_assert_eq(plan.pids_max, 256 + RES_PIDS_SLACK);
	cr_assert_eq(plan.max_output_bytes, 5 * MIB);
	cr_assert_eq(rep.n_downgrades, 0);
	cr_assert(rep.enforced[LAYER_RESOURCES]);
	cr_assert(note_with("RLIMIT_NPROC 256"));
	cr_assert(note_with("own user namespace (this run only)"));
	cr_assert(note_with("pids.max 264"));
	cr_assert(note_with("cpuSeconds: RLIMIT_CPU per process"));
}

Test(resources_plan, absent_fields_mean_no_caps)
{
	run_plan();
	/* core dumps are off whatever the policy says */
	expect_rlimit(RLIMIT_CORE, 0, 0);
	cr_assert_eq(plan.n_rlimits, 1);
	cr_assert_not(plan.cgroup);
	cr_assert_eq(plan.memory_bytes, -1);
	cr_assert_eq(plan.pids_max, -1);
	cr_assert_eq(plan.max_output_bytes, POLICY_UNSET);
	cr_assert_eq(rep.n_downgrades, 0);
	cr_assert_eq(rep.n_notes, 0);
	cr_assert(rep.enforced[LAYER_RESOURCES]);
}

Test(resources_plan, only_memory_makes_a_memory_only_cgroup)
{
	pol.res.memory_bytes = 64 * MIB;
	run_plan();
	cr_assert(plan.cgroup);
	cr_assert_eq(plan.memory_bytes, 64 * MIB);
	cr_assert_eq(plan.pids_max, -1);
	cr_assert_null(find(RLIMIT_NPROC));
}

Test(resources_plan, no_memory_cgroup_is_a_downgrade_with_guidance)
{
	caps_all_ok(&caps, false);
	caps.cgroup_memory.ok = false;
	snprintf(caps.cgroup_memory.reason, sizeof(caps.cgroup_memory.reason),
		 "no write access to /sys/fs/cgroup/memory/nsrun");
	all_fields();
	run_plan();
	const char *d = downgrade_with("memoryBytes: no writable memory cgroup");
	cr_assert(d, "no memory downgrade");
	cr_assert(strstr(d, "(no write access to /sys/fs/cgroup/memory/nsrun)"), "%s", d);
	cr_assert(strstr(d, "as root"), "%s", d);
	cr_assert(strstr(d, "Delegate=yes"), "%s", d);
	cr_assert_not(rep.enforced[LAYER_RESOURCES]);
	cr_assert_eq(plan.memory_bytes, -1);
	/* the rest still applies: the pids cgroup and every rlimit */
	cr_assert(plan.cgroup);
	cr_assert_eq(plan.pids_max, 256 + RES_PIDS_SLACK);
	cr_assert_eq(plan.n_rlimits, 5);
	cr_assert_eq(rep.n_downgrades, 1);
}

Test(resources_plan, no_cgroup_at_all)
{
	caps.cgroup_version = 0;
	caps.cgroup_memory.ok = caps.cgroup_pids.ok = false;
	strcpy(caps.cgroup_memory.reason, "no cgroup filesystem is mounted");
	strcpy(caps.cgroup_pids.reason, "no cgroup filesystem is mounted");
	all_fields();
	run_plan();
	cr_assert_not(plan.cgroup);
	cr_assert(downgrade_with("memoryBytes"));
	/* maxProcesses still holds through RLIMIT_NPROC in the user namespace */
	expect_rlimit(RLIMIT_NPROC, 256, 256);
	cr_assert_null(downgrade_with("maxProcesses"));
	cr_assert(note_with("no pids cgroup (no cgroup filesystem is mounted)"));
}

Test(resources_plan, swap_caveat_becomes_a_note)
{
	snprintf(
	    caps.cgroup_memory.reason, sizeof(caps.cgroup_memory.reason),
	    "swap is not capped: the host has swap and memory.memsw.limit_in_bytes is missing");
	pol.res.memory_bytes = 64 * MIB;
	run_plan();
	cr_assert(note_with("memoryBytes: swap is not capped"));
	cr_assert_eq(rep.n_downgrades, 0);
	cr_assert(plan.cgroup);
}

Test(resources_plan, no_user_namespace_uses_pids_cgroup_only)
{
	caps.userns.ok = false;
	pol.res.max_processes = 64;
	run_plan();
	/* RLIMIT_NPROC outside a user namespace would count the uid's processes
	 * host-wide and throttle siblings and the supervisor */
	cr_assert_null(find(RLIMIT_NPROC));
	cr_assert_eq(plan.pids_max, 64 + RES_PIDS_SLACK);
	cr_assert(note_with("RLIMIT_NPROC not set"));
	cr_assert_eq(rep.n_downgrades, 0);
}

Test(resources_plan, no_user_namespace_no_pids_cgroup_is_a_downgrade)
{
	caps.userns.ok = false;
	caps.cgroup_pids.ok = false;
	strcpy(caps.cgroup_pids.reason, "no cgroup v1 pids hierarchy is mounted");
	pol.res.max_processes = 64;
	run_plan();
	cr_assert_null(find(RLIMIT_NPROC));
	cr_assert_eq(plan.pids_max, -1);
	cr_assert(downgrade_with("maxProcesses: no user namespace"));
	cr_assert_not(rep.enforced[LAYER_RESOURCES]);
}

Test(resources_plan, cgroup_v2_version_carried)
{
	caps.cgroup_version = 2;
	pol.res.memory_bytes = 64 * MIB;
	run_plan();
	cr_assert_eq(plan.cgroup_version, 2);
}

Test(resources_plan, disabled_policy_plans_nothing)
{
	all_fields();
	pol.enabled = false;
	run_plan();
	cr_assert_eq(plan.n_rlimits, 0);
	cr_assert_not(plan.cgroup);
	cr_assert_eq(rep.n_notes + rep.n_downgrades, 0);
}

/* ---- rlimits_apply, in a child so the test process keeps its limits ---- */

static int apply_in_child(const struct res_plan *p, int (*check)(void), bool drop_root)
{
	pid_t pid = fork();
	int st;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct nsrun_err err = {0};
		struct rlimit low = {100, 100};

		/* a safety net: never outlive the test */
		alarm(10);
		if (setrlimit(RLIMIT_NOFILE, &low) < 0)
			_exit(10);
		/* without CAP_SYS_RESOURCE, as the sandboxed command is */
		if (drop_root && geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
			_exit(11);
		if (rlimits_apply(p, &err) < 0) {
			fprintf(stderr, "%s: %s\n", err.detail, strerror(err.errnum));
			_exit(12);
		}
		_exit(check());
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return st;
}

static int check_limits(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_CORE, &r) || r.rlim_cur != 0 || r.rlim_max != 0)
		return 20;
	if (getrlimit(RLIMIT_FSIZE, &r) || r.rlim_cur != 1 * MIB || r.rlim_max != 1 * MIB)
		return 21;
	if (getrlimit(RLIMIT_NPROC, &r) || r.rlim_cur != 4000 || r.rlim_max != 4000)
		return 22;
	/* asked 1024 with a hard limit of 100 and no CAP_SYS_RESOURCE:
	 * clamped to the stricter 100, not a failure */
	if (getrlimit(RLIMIT_NOFILE, &r) || r.rlim_cur != 100 || r.rlim_max != 100)
		return 23;
	return 0;
}

Test(rlimits, apply_sets_and_clamps, .init = base)
{
	all_fields();
	pol.res.max_file_size_bytes = 1 * MIB;
	pol.res.max_processes = 4000;
	run_plan();
	int st = apply_in_child(&plan, check_limits, true);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
}

/* Bounded: if RLIMIT_CPU did not act, give up after 5 s of wall clock
 * rather than spin on as an orphan. */
static int spin(void)
{
	time_t end = time(NULL) + 5;

	while (time(NULL) < end)
		;
	return 40;
}

Test(rlimits, cpu_seconds_ends_in_sigxcpu, .init = base, .timeout = 15)
{
	pol.res.cpu_seconds = 1;
	run_plan();
	int st = apply_in_child(&plan, spin, false);
	cr_assert(WIFSIGNALED(st), "status %#x", st);
	cr_assert_eq(WTERMSIG(st), SIGXCPU, "killed by %d, not SIGXCPU first", WTERMSIG(st));
}

static int write_2mib(void)
{
	static char buf[64 * 1024];
	char path[] = "/tmp/nsrun-fsize.XXXXXX";
	int fd = mkstemp(path);
	long total = 0;
	ssize_t n;

	if (fd < 0)
		return 30;
	unlink(path);
	signal(SIGXFSZ, SIG_IGN); /* then write(2) says EFBIG */
	while (total < 2 * MIB && (n = write(fd, buf, sizeof(buf))) > 0)
		total += n;
	return total == 1 * MIB && errno == EFBIG ? 0 : 31;
}

Test(rlimits, file_size_cap_is_efbig, .init = base)
{
	pol.res.max_file_size_bytes = 1 * MIB;
	run_plan();
	int st = apply_in_child(&plan, write_2mib, false);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
}
