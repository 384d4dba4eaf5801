/* The supervisor: clone, maps, cgroup, slirp4netns, then one poll loop over
 * the output pipes, the sync socket, a pidfd, a signalfd and a timerfd. */
#ifndef NSRUN_SUPERVISOR_H
#define NSRUN_SUPERVISOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caps.h"
#include "err.h"
#include "plan.h"
#include "report.h"

struct run_result {
	bool started;		/* the command was exec'd */
	bool setup_failed;	/* err holds why: exit 125 */
	bool exec_failed;	/* err holds why: exit 126/127 */
	struct nsrun_err err;
	bool have_status;
	int wait_status;	/* the command's, when have_status */
	bool timed_out;
	bool output_truncated;
	bool oom;
	bool slirp_died;
	int forwarded_signal;	/* a signal the supervisor got and passed on */
	int init_killed_by;	/* the sandbox's init died of this signal (0: it exited) */
	int64_t duration_ms;
	/* Captured output (capture mode only). */
	char *out, *errbuf;
	size_t out_len, err_len;
	int exit_code;		/* SPEC §1 exit code of nsrun run */
};

struct supervise_opts {
	bool capture;		/* buffer stdout/stderr instead of relaying */
	int stdin_fd;		/* the command's stdin */
};

/* Runs the plan to completion. Always fills *res (exit_code included). */
void supervisor_run(const struct plan *plan, const struct host_caps *caps,
		    const struct supervise_opts *opts, struct report *rep, struct run_result *res);
void run_result_free(struct run_result *res);

#endif
