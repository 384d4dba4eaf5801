/* The resource layer (SPEC §6 Resources): rlimits set in the command process
 * before exec, and one cgroup per run (memory + pids) made by the supervisor.
 *
 *   resources_plan()      pure: policy x host caps -> res_plan + report
 *   cgroup_probe()        live host check, once per process (caps.c calls it)
 *   cgroup_sweep_stale()  removes empty run cgroups of dead supervisors (the
 *                         guard does it for its hierarchies after each run)
 *   cgroup_run_create()   v2: before the clone (clone3 with
 *                         CLONE_INTO_CGROUP and cg.v2_dirfd); v1: after
 *                         it, while the child builds its root
 *   cgroup_run_open_tasks() / cgroup_join_self()  v1: the child moves
 *                         itself in, before it forks
 *   cgroup_run_guard()    between naming the cgroup and making it
 *   rlimits_apply()       command process, before exec
 *   cgroup_run_oom_killed(), cgroup_run_destroy()  supervisor, after reaping
 *
 * No RLIMIT_AS (it breaks Node/Bun, BACKGROUND) and no RLIMIT_DATA fallback
 * (measured unsound, runtime/RESOURCES.md): without a memory cgroup the
 * memory cap is a reported downgrade. */
#ifndef NSRUN_RESOURCES_H
#define NSRUN_RESOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "err.h"

struct policy;
struct host_caps;
struct report;

#define RES_MAX_RLIMITS 8
/* pids.max = maxProcesses + this: the sandbox's init and the set-up steps
 * run under other ids than the command, so RLIMIT_NPROC does not count them
 * but the pids controller does. */
#define RES_PIDS_SLACK 8
/* RLIMIT_CPU hard = soft + this, so SIGXCPU (catchable) comes before SIGKILL. */
#define RES_CPU_GRACE_SECONDS 1

struct res_rlimit {
	int resource; /* RLIMIT_* */
	rlim_t soft, hard;
};

struct res_plan {
	struct res_rlimit rlimits[RES_MAX_RLIMITS];
	size_t n_rlimits;
	bool cgroup;		  /* make a per-run cgroup (memory and/or pids) */
	int cgroup_version;	  /* 1 or 2 when cgroup */
	int64_t memory_bytes;	  /* cgroup memory (and swap) cap; -1 none */
	int64_t pids_max;	  /* cgroup pids cap; -1 none */
	int64_t max_output_bytes; /* enforced by the supervisor's relay; -1 none */
};

/* Pure. Fills *plan and records downgrades/notes under LAYER_RESOURCES.
 * Reads caps->userns.ok (RLIMIT_NPROC is only per-run inside the run's own
 * user namespace) and caps->cgroup_*. A cap_check that is ok but carries a
 * reason holds a caveat (e.g. swap not capped) that becomes a note.
 * Returns 0 (no failure mode today; -errno reserved). */
int resources_plan(const struct policy *p, const struct host_caps *caps, struct res_plan *plan,
		   struct report *rep);

/* In the command process before exec: setrlimit for every planned limit.
 * A hard limit above the current one (not raisable without host
 * CAP_SYS_RESOURCE) is clamped down to it: stricter, never looser. */
int rlimits_apply(const struct res_plan *p, struct nsrun_err *err);

/* ---- cgroups ---- */

struct cgroup_run {
	int version;	       /* 0: nothing made; 1: v1 dirs; 2: v2 dir */
	char name[64];	       /* nsrun-<supervisor pid>-<boot-clock ms> */
	char memory_path[512]; /* v1 memory run cgroup, "" if none */
	char pids_path[512];   /* v1 pids run cgroup, "" if none */
	char v2_path[512];     /* v2 run cgroup, "" if none */
	int v2_dirfd;	       /* O_PATH|O_DIRECTORY fd of v2_path for clone3
				* CLONE_INTO_CGROUP; -1 unless v2 */
	int guard_fd;	       /* our end of the guard's socket; -1 none */
	pid_t guard_pid;       /* the guard (cgroup_run_guard), 0 none */
};

/* Makes *cg safe to destroy before (or without) a create. */
void cgroup_run_init(struct cgroup_run *cg);

/* "nsrun-<pid>-<boot-clock ms>", the only names cgroup_sweep_stale() will
 * remove (the ms unique within the process, never before now). */
void cgroup_run_name(char *buf, size_t len);

/* Creates <dir>/<name> in each hierarchy the plan needs (the parent "nsrun"
 * dir is made on first use and stays, empty, between runs) and writes
 * the limits, named by cgroup_run_name(). Nothing to do (plan->cgroup
 * false) returns 0 with cg->version 0. On error nothing is left behind. */
int cgroup_run_create(const struct res_plan *p, const struct host_caps *caps,
		      struct cgroup_run *cg, struct nsrun_err *err);

/* cgroup_run_create in two steps, for a guard forked in between: the names
 * and paths alone (no syscall but the clock), then the mkdirs and limits.
 * A supervisor killed after a mkdir then always has a guard to remove the
 * dir; one killed before it leaves nothing (the guard's rmdir of a path
 * never made is harmless). cgroup_run_make on error destroys what it made
 * and stops the guard. */
int cgroup_run_name_paths(const struct res_plan *p, const struct host_caps *caps,
			  struct cgroup_run *cg);
int cgroup_run_make(const struct res_plan *p, const struct host_caps *caps, struct cgroup_run *cg,
		    struct nsrun_err *err);

/* Starts the guard, between cgroup_run_name_paths and cgroup_run_make (v1:
 * after the clone too, so the sandbox's init is the supervisor's first
 * child and does not inherit the guard's socket). The guard is a fork of
 * this process (no exec) in its own session, all signals blocked, every fd
 * closed but a socket to us and a pidfd of us, titled "nsrun: cgroup guard" (comm "nsrun-guard"). It waits;
 * cgroup_run_destroy() tells it "done" and reaps it. If the supervisor dies
 * first (even by SIGKILL) the guard kills whatever is left in the run
 * cgroup and removes it (SPEC §6: nothing left behind). ~0.1-0.3 ms.
 * Without it, a SIGKILLed supervisor's empty cgroups wait for the sweep of
 * a later run's guard, which it does once it released or outlived its run.
 * No-op when nothing is to be made. */
int cgroup_run_guard(struct cgroup_run *cg, struct nsrun_err *err);

/* The same, the guard first running job(arg, sock) in its own process, sock
 * being its end of the guard socket, for the job's answer to the caller
 * (who reads it from cg->guard_fd). One fork serves both: the supervisor's
 * other CPU has less to do while the sandbox builds its root. */
typedef void (*cgroup_guard_job)(void *arg, int sock);
int cgroup_run_guard_job(struct cgroup_run *cg, cgroup_guard_job job, void *arg,
			 struct nsrun_err *err);

/* Hands the guard a descriptor to keep open until it exits (after destroy):
 * the sandbox's mount namespaces, so that tearing them down (every mount
 * unmounted, an RCU grace period waited out) happens in the guard after we
 * are gone, not in the sandbox's set-up or exit. The caller keeps its fd. */
int cgroup_run_guard_hold(const struct cgroup_run *cg, int fd);

/* Moves pid into the run cgroup(s) from outside: the fallback of v2
 * kernels without CLONE_INTO_CGROUP. On v1 pid must be single-threaded
 * ("tasks" moves one thread) and slow: see cgroup_run_open_tasks. */
int cgroup_run_attach(const struct cgroup_run *cg, pid_t pid, struct nsrun_err *err);

/* v1, the fast way in: the supervisor opens the run cgroups' "tasks" files
 * (fds, up to max; returns how many or -1) and passes them to its child,
 * which writes "0" to each (cgroup_join_self). Moving oneself, the calling
 * thread only, is the one migration the kernel does without the global
 * cgroup_threadgroup_rwsem: ~10 us where cgroup_run_attach of the same
 * child waits 5-30 ms for an RCU grace period. The kernel checks the
 * opener's credentials (5.16+), or for a self-move the mover's own. */
int cgroup_run_open_tasks(const struct cgroup_run *cg, int *fds, int max, struct nsrun_err *err);
int cgroup_join_self(const int *fds, int n, struct nsrun_err *err);

/* True when the kernel OOM-killed a process of this run (memory cap hit). */
bool cgroup_run_oom_killed(const struct cgroup_run *cg);

/* For a run whose every process is gone (the sandbox's init exited, taking
 * its pid namespace with it): the guard removes the empty cgroup(s) while
 * we finish, ~0.15 ms off every run; it exits once done. Without a guard,
 * or as pid 1 (whose exit kills the guard), this is cgroup_run_destroy. */
void cgroup_run_release(struct cgroup_run *cg);

/* Kills whatever is left in the run cgroup(s) (v2 cgroup.kill, else SIGKILL
 * through pidfds), removes them and the parent dir when it is empty. Bounded
 * wait (a few ms normally, 2 s worst case). Idempotent. */
void cgroup_run_destroy(struct cgroup_run *cg);

/* Cheap (one readdir per hierarchy; a /proc read per name older than 2 s
 * whose pid is alive): removes empty nsrun-<pid>-<ms> cgroups whose
 * supervisor is gone: its pid no longer exists, or the process that has it
 * now started after the name was made. Left by a supervisor SIGKILLed
 * together with its guard (a whole service's cgroup killed). Every guard
 * does the same for its own hierarchies once its run is over. */
void cgroup_sweep_stale(const struct host_caps *caps);

/* Once per process: cgroup version, and whether this process can make a
 * child cgroup with memory / pids limits. live: by a mkdir + rmdir of a
 * probe cgroup (~0.3 ms); else the controls are assumed to work once the
 * hierarchy and our place in it are found (fail-closed runs, whose own
 * cgroup creation is the test). Fills caps->cgroup_*. */
void cgroup_probe(struct host_caps *caps, bool live);

/* The same from given /proc/self/mountinfo and /proc/self/cgroup texts, so
 * tests can point it at a fake cgroup tree. */
void cgroup_probe_from(struct host_caps *caps, const char *mountinfo, const char *self_cgroup,
		       bool live);

#endif
