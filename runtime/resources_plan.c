/* Pure planning of the resource layer: which rlimits, which cgroup limits,
 * and what the report says about them. No syscalls. */
#include "resources.h"

#include <string.h>

#include "caps.h"
#include "policy.h"
#include "report.h"

static void add_rlimit(struct res_plan *plan, int resource, int64_t soft, int64_t hard)
{
	struct res_rlimit *r;

	if (plan->n_rlimits >= RES_MAX_RLIMITS)
		return; /* cannot happen: at most 5 are planned */
	r = &plan->rlimits[plan->n_rlimits++];
	r->resource = resource;
	r->soft = (rlim_t)soft;
	r->hard = (rlim_t)hard;
}

/* memoryBytes: only a cgroup is a cap on the whole sandbox. RLIMIT_AS would
 * kill Node/Bun at start and RLIMIT_DATA is per process and blind to tmpfs
 * and shared memory (RESOURCES.md), so without a cgroup this is a downgrade. */
static void plan_memory(const struct policy *p, const struct host_caps *caps, struct res_plan *plan,
			struct report *rep)
{
	if (p->res.memory_bytes == POLICY_UNSET)
		return;
	if (!caps->cgroup_memory.ok) {
		report_downgrade(
		    rep, LAYER_RESOURCES,
		    "memoryBytes: no writable memory cgroup (%s); to enforce it run nsrun "
		    "as root, or in a delegated cgroup v2 subtree with the memory "
		    "controller (systemd Delegate=yes)",
		    caps->cgroup_memory.reason);
		return;
	}
	plan->cgroup = true;
	plan->memory_bytes = p->res.memory_bytes;
	if (caps->cgroup_memory.reason[0])
		report_note(rep, LAYER_RESOURCES, "memoryBytes: %s", caps->cgroup_memory.reason);
}

/* maxProcesses: RLIMIT_NPROC counts per (user namespace, uid), so in the
 * run's own user namespace it contains this run alone; outside one it would
 * count every process of that uid on the host, siblings and supervisor
 * included, so then only the pids cgroup may carry it. */
static void plan_processes(const struct policy *p, const struct host_caps *caps,
			   struct res_plan *plan, struct report *rep)
{
	int64_t n = p->res.max_processes;

	if (n == POLICY_UNSET)
		return;
	if (caps->cgroup_pids.ok) {
		plan->cgroup = true;
		plan->pids_max = n + RES_PIDS_SLACK;
	}
	if (caps->userns.ok) {
		add_rlimit(plan, RLIMIT_NPROC, n, n);
		if (caps->cgroup_pids.ok)
			report_note(
			    rep, LAYER_RESOURCES,
			    "maxProcesses: RLIMIT_NPROC %lld, counted in the run's own user "
			    "namespace (this run only), and pids.max %lld on the run's cgroup",
			    (long long)n, (long long)plan->pids_max);
		else
			report_note(
			    rep, LAYER_RESOURCES,
			    "maxProcesses: RLIMIT_NPROC %lld, counted in the run's own user "
			    "namespace (this run only); no pids cgroup (%s)",
			    (long long)n, caps->cgroup_pids.reason);
	} else if (caps->cgroup_pids.ok) {
		report_note(
		    rep, LAYER_RESOURCES,
		    "maxProcesses: pids.max %lld on the run's cgroup only; RLIMIT_NPROC not "
		    "set (without a user namespace it would count the uid's processes on "
		    "the whole host)",
		    (long long)plan->pids_max);
	} else {
		report_downgrade(
		    rep, LAYER_RESOURCES,
		    "maxProcesses: no user namespace for RLIMIT_NPROC to count in and no "
		    "pids cgroup (%s)",
		    caps->cgroup_pids.reason);
	}
}

int resources_plan(const struct policy *p, const struct host_caps *caps, struct res_plan *plan,
		   struct report *rep)
{
	const struct policy_resources *r = &p->res;

	memset(plan, 0, sizeof(*plan));
	plan->memory_bytes = -1;
	plan->pids_max = -1;
	plan->max_output_bytes = r->max_output_bytes;
	if (!p->enabled)
		return 0;

	/* Core dumps would write the sandbox's memory to disk, past
	 * maxFileSizeBytes' intent and into the host's core_pattern handler. */
	add_rlimit(plan, RLIMIT_CORE, 0, 0);
	if (r->cpu_seconds != POLICY_UNSET) {
		add_rlimit(plan, RLIMIT_CPU, r->cpu_seconds,
			   r->cpu_seconds + RES_CPU_GRACE_SECONDS);
		report_note(
		    rep, LAYER_RESOURCES,
		    "cpuSeconds: RLIMIT_CPU per process (SIGXCPU at %lld s, SIGKILL at %lld s "
		    "of CPU); each process of the run has its own budget, the wall-clock "
		    "timeout bounds the whole run",
		    (long long)r->cpu_seconds, (long long)r->cpu_seconds + RES_CPU_GRACE_SECONDS);
	}
	if (r->max_open_files != POLICY_UNSET)
		add_rlimit(plan, RLIMIT_NOFILE, r->max_open_files, r->max_open_files);
	if (r->max_file_size_bytes != POLICY_UNSET)
		add_rlimit(plan, RLIMIT_FSIZE, r->max_file_size_bytes, r->max_file_size_bytes);
	plan_processes(p, caps, plan, rep);
	plan_memory(p, caps, plan, rep);
	if (plan->cgroup)
		plan->cgroup_version = caps->cgroup_version;
	return 0;
}
