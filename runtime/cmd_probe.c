/* nsrun probe (SPEC §5): what this host can enforce, live, and what the
 * given policy would get here, with guidance in plain words. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "plan.h"
#include "policy_json.h"

static json_t *check_json(const struct cap_check *c)
{
	json_t *o = json_pack("{s:b}", "available", c->ok);

	if (!c->ok)
		json_object_set_new(o, "reason", json_string(c->reason));
	return o;
}

static void add_guidance(json_t *g, const char *text)
{
	size_t i;
	json_t *v;

	json_array_foreach(g, i, v)
		if (strcmp(json_string_value(v), text) == 0)
			return;
	json_array_append_new(g, json_string(text));
}

int cmd_probe(const struct policy *p, const struct cli *c)
{
	static char *const argv[] = {"/bin/true", NULL};
	struct run_inputs in = c->in;
	struct host_caps caps;
	struct plan plan;
	struct report rep;
	struct nsrun_err err = {0};
	json_t *o, *egress, *cg, *guidance = json_array();
	const struct cap_check *checks[] = {&caps.userns, &caps.netns, &caps.procfs, &caps.nftables,
					    &caps.tun, &caps.slirp4netns, &caps.seccomp,
					    &caps.cgroup_memory, &caps.cgroup_pids};
	bool enforceable;
	char *text;

	caps_probe(&caps, CAPS_ALL);
	in.argv = argv;
	if (plan_make(p, &caps, &in, &plan, &rep, &err) < 0) {
		char msg[640];

		nsrun_err_format(&err, msg, sizeof(msg));
		fprintf(stderr, "nsrun: %s\n", msg);
		plan_free(&plan);
		json_decref(guidance);
		return 2;
	}
	enforceable = rep.n_downgrades == 0;

	o = json_object();
	json_object_set_new(o, "platform", json_string("linux"));
	json_object_set_new(o, "kernel", json_string(caps.kernel));
	json_object_set_new(o, "supervisorEuidIsRoot", json_boolean(caps.euid_is_root));
	json_object_set_new(o, "userNamespaces", check_json(&caps.userns));
	json_object_set_new(o, "netNamespaces", check_json(&caps.netns));
	json_object_set_new(o, "procfs", check_json(&caps.procfs));
	json_object_set_new(o, "nftables", check_json(&caps.nftables));
	egress = json_pack("{s:b, s:o, s:o}", "available", caps.slirp4netns.ok && caps.tun.ok,
			   "slirp4netns", check_json(&caps.slirp4netns), "tun", check_json(&caps.tun));
	if (caps.slirp4netns.ok)
		json_object_set_new(egress, "path", json_string(caps.slirp4netns_path));
	json_object_set_new(o, "rootlessEgress", egress);
	json_object_set_new(o, "seccomp", check_json(&caps.seccomp));
	json_object_set_new(o, "landlock", check_json(&caps.landlock));
	cg = json_pack("{s:i, s:o, s:o}", "version", caps.cgroup_version, "memory",
		       check_json(&caps.cgroup_memory), "pids", check_json(&caps.cgroup_pids));
	json_object_set_new(o, "cgroup", cg);
	json_object_set_new(o, "policy", report_to_json(&rep, p));
	json_object_set_new(o, "enforceable", json_boolean(enforceable));
	for (size_t i = 0; i < rep.n_downgrades; i++)
		add_guidance(guidance, rep.downgrades[i].text);
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		if (!checks[i]->ok)
			add_guidance(guidance, checks[i]->reason);
	json_object_set_new(o, "guidance", guidance);

	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (text)
		puts(text);
	free(text);
	plan_free(&plan);
	report_free(&rep);
	return enforceable ? 0 : 1;
}
