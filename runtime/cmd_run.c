/* nsrun run / nsrun script: plan, refuse or supervise, then report. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "commands.h"
#include "plan.h"
#include "policy_json.h"
#include "supervisor.h"
#include "timing.h"

/* One line; a reason shared by several layers is said once, naming them. */
static void refusal_text(const struct report *rep, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "refused (onUnavailable: fail):");
	bool said[REPORT_MAX_ITEMS] = {false};

	for (size_t i = 0; i < rep->n_downgrades && n < len; i++) {
		if (said[i])
			continue;
		n += (size_t)snprintf(buf + n, len - n, "%s %s", i ? ";" : "",
				      layer_name(rep->downgrades[i].layer));
		for (size_t j = i + 1; j < rep->n_downgrades && n < len; j++) {
			if (!said[j] && !strcmp(rep->downgrades[j].text, rep->downgrades[i].text)) {
				said[j] = true;
				n += (size_t)snprintf(buf + n, len - n, ", %s",
						      layer_name(rep->downgrades[j].layer));
			}
		}
		if (n < len)
			n += (size_t)snprintf(buf + n, len - n, ": %s", rep->downgrades[i].text);
	}
}

static json_t *report_json_with_run(const struct report *rep, const struct policy *p,
				    const struct run_result *res)
{
	json_t *o = report_to_json(rep, p);

	if (res)
		json_object_set_new(o, "timings", json_pack("{s:I}", "durationMs",
							   (json_int_t)res->duration_ms));
	return o;
}

static void write_report(const struct cli *c, const struct report *rep, const struct policy *p,
			 const struct run_result *res)
{
	json_t *o;
	char *text;

	if (!c->report_path && c->report_fd < 0)
		return;
	o = report_json_with_run(rep, p, res);
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!text)
		return;
	if (c->report_path) {
		FILE *f = fopen(c->report_path, "we");

		if (!f || fprintf(f, "%s\n", text) < 0)
			fprintf(stderr, "nsrun: --report %s: %s\n", c->report_path, strerror(errno));
		if (f)
			fclose(f);
	} else {
		dprintf(c->report_fd, "%s\n", text);
	}
	free(text);
}

static char *signal_name(int sig, char *buf, size_t len)
{
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev)
		snprintf(buf, len, "SIG%s", abbrev);
	else
		snprintf(buf, len, "%d", sig);
	return buf;
}

/* One line per notable outcome, on the supervisor's stderr (run only). */
static void explain(const struct cli *c, const struct policy *p, const struct run_result *res)
{
	char msg[640];

	if (res->setup_failed) {
		nsrun_err_format(&res->err, msg, sizeof(msg));
		fprintf(stderr, "nsrun: %s\n", msg);
	} else if (res->exec_failed) {
		fprintf(stderr, "nsrun: exec: %s: %s\n", c->in.argv[0], strerror(res->err.errnum));
	}
	if (res->timed_out)
		fprintf(stderr, "nsrun: timed out after %lld ms; the sandbox was killed\n",
			(long long)c->in.timeout_ms);
	if (res->output_truncated)
		fprintf(stderr, "nsrun: output exceeded maxOutputBytes (%lld bytes); the sandbox was killed\n",
			(long long)p->res.max_output_bytes);
	if (res->oom)
		fprintf(stderr, "nsrun: out of memory: the sandbox exceeded memoryBytes (%lld bytes) and was killed\n",
			(long long)p->res.memory_bytes);
	if (res->slirp_died)
		fprintf(stderr, "nsrun: slirp4netns exited during the run; egress was lost\n");
	/* Never a silent end: the sandbox's init died without saying why. */
	if (!res->have_status && !res->setup_failed && !res->exec_failed && !res->timed_out &&
	    !res->output_truncated && !res->forwarded_signal) {
		if (res->init_killed_by)
			fprintf(stderr, "nsrun: sandbox: its init was killed by signal %d from outside\n",
				res->init_killed_by);
		else
			fprintf(stderr, "nsrun: sandbox: its init exited before reporting the command's "
					"status\n");
	}
}

static int print_script_result(const struct policy *p, const struct report *rep,
			       const struct run_result *res, const char *error)
{
	json_t *o = json_object();
	char sig[32];
	int code = -1, r;

	if (res && res->have_status && !res->timed_out) {
		if (WIFEXITED(res->wait_status))
			code = WEXITSTATUS(res->wait_status);
		else if (WIFSIGNALED(res->wait_status))
			code = 128 + WTERMSIG(res->wait_status);
	} else if (res && res->exec_failed) {
		code = res->exit_code;
	} else if (res && res->output_truncated && !res->timed_out) {
		code = 128 + SIGKILL;
	}
	json_object_set_new(o, "exitCode", json_integer(code));
	if (res && res->have_status && WIFSIGNALED(res->wait_status))
		json_object_set_new(o, "signal",
				    json_string(signal_name(WTERMSIG(res->wait_status), sig, sizeof(sig))));
	else if (res && (res->timed_out || res->output_truncated) && !res->have_status)
		json_object_set_new(o, "signal", json_string("SIGKILL"));
	else
		json_object_set_new(o, "signal", json_null());
	json_object_set_new(o, "stdout", json_stringn(res && res->out ? res->out : "",
						      res ? res->out_len : 0));
	json_object_set_new(o, "stderr", json_stringn(res && res->errbuf ? res->errbuf : "",
						      res ? res->err_len : 0));
	json_object_set_new(o, "timedOut", json_boolean(res && res->timed_out));
	json_object_set_new(o, "outputTruncated", json_boolean(res && res->output_truncated));
	json_object_set_new(o, "oom", json_boolean(res && res->oom));
	json_object_set_new(o, "durationMs", json_integer(res ? res->duration_ms : 0));
	json_object_set_new(o, "error", error ? json_string(error) : json_null());
	json_object_set_new(o, "sandbox", report_json_with_run(rep, p, res));
	/* Streamed, not built as one string: escaped output can be six times
	 * the captured bytes (a NUL is \u0000). */
	r = json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	json_decref(o);
	if (r < 0 || putchar('\n') == EOF || fflush(stdout) == EOF) {
		fprintf(stderr, "nsrun: script: could not write the result\n");
		return 125;
	}
	return 0;
}

/* A fail-closed run skips the namespace probes (the run is its own live
 * test). When it is refused or its set-up fails, probe for real once, so
 * the refusal and the report name every gap with its guidance. */
static void replan_with_live_probes(const struct policy *p, const struct cli *c, unsigned what,
				    struct host_caps *caps, struct plan *plan, struct report *rep)
{
	struct plan plan2;
	struct report rep2;
	struct nsrun_err err = {0};

	caps_probe(caps, what & ~(unsigned)CAPS_ASSUME_LIVE);
	if (plan_make(p, caps, &c->in, &plan2, &rep2, &err) < 0) {
		plan_free(&plan2);
		report_free(&rep2);
		return;
	}
	plan_free(plan);
	report_free(rep);
	*plan = plan2;
	*rep = rep2;
}

/* cause: the set-up failure the live probes explain, or NULL. One line. */
static int refuse(const struct policy *p, const struct cli *c, const struct report *rep,
		  const struct nsrun_err *cause)
{
	char msg[4096], why[640] = "";
	size_t n = 0;

	if (cause) {
		nsrun_err_format(cause, why, sizeof(why));
		n = (size_t)snprintf(msg, sizeof(msg), "%s; ", why);
	}
	refusal_text(rep, msg + n, sizeof(msg) - n);
	if (c->cmd == CMD_SCRIPT)
		return print_script_result(p, rep, NULL, msg);
	fprintf(stderr, "nsrun: %s\n", msg);
	write_report(c, rep, p, NULL);
	return 125;
}

int cmd_run(const struct policy *p, const struct cli *c)
{
	struct host_caps caps;
	struct plan plan;
	struct report rep;
	struct run_result res;
	struct nsrun_err err = {0};
	struct supervise_opts opts = {.capture = c->in.capture, .stdin_fd = 0};
	_cleanup_close_ int devnull = -1;
	unsigned what = plan_caps_needed(p);
	char msg[4096];
	int code;

	caps_probe(&caps, what);
	timing_mark("caps probed");
	if (plan_make(p, &caps, &c->in, &plan, &rep, &err) < 0) {
		nsrun_err_format(&err, msg, sizeof(msg));
		fprintf(stderr, "nsrun: %s\n", msg);
		plan_free(&plan);
		report_free(&rep);
		return 2;
	}
	timing_mark("planned");
	if (plan.refuse) {
		if (what & CAPS_ASSUME_LIVE)
			replan_with_live_probes(p, c, what, &caps, &plan, &rep);
		code = refuse(p, c, &rep, NULL);
		plan_free(&plan);
		report_free(&rep);
		return code;
	}
	if (c->in.capture) {
		devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		opts.stdin_fd = devnull;
	}
	supervisor_run(&plan, &caps, &opts, &rep, &res);
	timing_mark("supervised");
	if (res.setup_failed && !res.started && (what & CAPS_ASSUME_LIVE)) {
		bool had_cgroup = plan.res.cgroup;

		replan_with_live_probes(p, c, what, &caps, &plan, &rep);
		if (rep.n_downgrades > 0) {
			/* The live probes explain the failure: it is a refusal. */
			code = refuse(p, c, &rep, &res.err);
			run_result_free(&res);
			plan_free(&plan);
			report_free(&rep);
			return code;
		}
		/* The cgroup was assumed (a read-only cgroupfs in a container,
		 * say) and the live plan holds the caps without it (maxProcesses
		 * by RLIMIT_NPROC): the command never started, so run it once
		 * more, now as planned from the live probes. */
		if (had_cgroup && !plan.res.cgroup) {
			run_result_free(&res);
			supervisor_run(&plan, &caps, &opts, &rep, &res);
		}
	}
	if (c->cmd == CMD_SCRIPT) {
		const char *error = NULL;

		if (res.setup_failed || res.exec_failed) {
			nsrun_err_format(&res.err, msg, sizeof(msg));
			error = msg;
		}
		code = print_script_result(p, &rep, &res, error);
	} else {
		explain(c, p, &res);
		write_report(c, &rep, p, &res);
		code = res.exit_code;
	}
	run_result_free(&res);
	plan_free(&plan);
	report_free(&rep);
	return code;
}

int cmd_policy(const struct policy *p)
{
	char *text = policy_to_json_text(p, true);

	if (!text)
		return 125;
	puts(text);
	free(text);
	return 0;
}
