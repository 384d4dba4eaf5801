#include <criterion/criterion.h>
#include <sched.h>
#include <string.h>

#include "runtime/plan.h"

static char *argv_true[] = {"/bin/true", NULL};

static void load(const char *over, struct policy *p)
{
	struct nsrun_err e = {0};

	cr_assert_eq(policy_from_texts(NULL, 0, over, over ? strlen(over) : 0, p, &e), 0, "%s",
		     e.detail);
}

static void inputs(struct run_inputs *in)
{
	memset(in, 0, sizeof(*in));
	in->argv = argv_true;
	in->sandbox_uid_env = in->sandbox_gid_env = -1;
}

static bool has_item(const struct report_item *items, size_t n, enum layer l, const char *frag)
{
	for (size_t i = 0; i < n; i++)
		if (items[i].layer == l && strstr(items[i].text, frag))
			return true;
	return false;
}

Test(plan, default_policy_on_a_capable_root_host_is_fully_enforced)
{
	struct policy p;
	struct host_caps caps;
	struct run_inputs in;
	struct plan plan;
	struct report rep;
	struct nsrun_err e = {0};

	load(NULL, &p);
	caps_all_ok(&caps, true);
	inputs(&in);
	cr_assert_eq(plan_make(&p, &caps, &in, &plan, &rep, &e), 0, "%s", e.detail);
	cr_assert_eq(rep.n_downgrades, 0, "%s", rep.n_downgrades ? rep.downgrades[0].text : "");
	cr_assert_not(plan.refuse);
	cr_assert(plan.sandboxed);
	for (int l = 0; l < LAYER_COUNT; l++)
		cr_assert(rep.enforced[l], "layer %s", layer_name(l));
	cr_assert(plan.clone_flags & CLONE_NEWUSER);
	cr_assert(plan.clone_flags & CLONE_NEWPID);
	cr_assert(plan.clone_flags & CLONE_NEWNS);
	cr_assert(plan.clone_flags & CLONE_NEWNET, "empty allowlist is deny: a fresh netns");
	cr_assert_eq(plan.map_uid, 65534, "root without ids drops to nobody");
	cr_assert(has_item(rep.notes, rep.n_notes, LAYER_PRIVILEGE, "65534:65534"));
	cr_assert(plan.priv.clear_groups);
	cr_assert(plan.priv.seccomp);
	plan_free(&plan);
	policy_free(&p);
}

Test(plan, root_takes_policy_ids_then_env_ids)
{
	struct policy p;
	struct host_caps caps;
	struct run_inputs in;
	struct plan plan;
	struct report rep;
	struct nsrun_err e = {0};

	caps_all_ok(&caps, true);
	inputs(&in);
	in.sandbox_uid_env = 4000;
	in.sandbox_gid_env = 4001;
	load(NULL, &p);
	cr_assert_eq(plan_make(&p, &caps, &in, &plan, &rep, &e), 0);
	cr_assert_eq(plan.map_uid, 4000);
	cr_assert_eq(plan.map_gid, 4001);
	plan_free(&plan);
	policy_free(&p);
	load("{\"privilege\":{\"uid\":65532,\"gid\":65533}}", &p);
	cr_assert_eq(plan_make(&p, &caps, &in, &plan, &rep, &e), 0);
	cr_assert_eq(plan.map_uid, 65532);
	cr_assert_eq(plan.map_gid, 65533);
	plan_free(&plan);
	policy_free(&p);
}

Test(plan, rootless_runs_as_itself_with_setgroups_denied)
{
	struct policy p;
	struct host_caps caps;
	struct run_inputs in;
	struct plan plan;
	struct report rep;
	struct nsrun_err e = {0};

	caps_all_ok(&caps, false);
	inputs(&in);
	load("{\"privilege\":{\"uid\":5000}}", &p);
	cr_assert_eq(plan_make(&p, &caps, &in, &plan, &rep, &e), 0);
	cr_assert_eq(plan.map_uid, 1000);
	cr_assert(plan.deny_setgroups);
	cr_assert_not(plan.priv.clear_groups);
	cr_assert(has_item(rep.notes, rep.n_notes, LAYER_PRIVILEGE, "root supervisor only"));
	cr_assert_not(has_item(rep.notes, rep.n_notes, LAYER_PRIVILEGE, "supplementary"));
	plan_free(&plan);
	caps.n_supp_groups = 2;
	cr_assert_eq(plan_make(&p, &caps, &in, &plan, &rep, &e), 0);
	cr_assert(has_item(rep.notes, rep.n_notes, LAYER_PRIVILEGE, "2 supplementary group(s) cannot be dropped"));
	plan_free(&plan);
	policy_free(&p);
}

Test(plan, inherit_under_root_is_a_downgrade_and_refused)
{
	struct policy p;
	struct host_caps caps;
	struct run_inputs in;
	struct plan plan;
	struct report rep;
	struct nsrun_err e = {0};

	caps_all_ok(&caps, true);
	inputs(&in);
	load("{\"privilege\":{\"mode\":\"inherit\"}}", &p);
	cr_assert_eq(plan_make(&p, &caps, &in, &plan, &rep, &e), 0);
	cr_assert(has_item(rep.downgrades, rep.n_downgrades, LAYER_PRIVILEGE, "host root"));
	cr_assert_not(rep.enforced[LAYER_PRIVILEGE]);
	cr_assert(plan.refuse);
	plan_free(&plan);
	policy_free(&p);
}

Test(plan, inherit_rootless_is_not_a_downgrade)
{
	struct policy p;
	struct host_caps caps;
	struct run_inputs in;
	struct plan plan;
	struct report rep;
	struct nsrun_err e = {0};

	caps_all_ok(&caps, false);
	inputs(&in);
	load("{\"privilege\":{\"mode\":\"inherit\"}}", &p);
	cr_assert_eq(plan_make(&p, &caps, &in, &plan, &rep, &e), 0);
	cr_assert_not(report_has_downgrade(&rep, LAYER_PRIVILEGE));
	plan_free(&plan);
	policy_free(&p);
}

Test(plan, no_seccomp_downgrades_privilege)
{
	struct policy p;
	struct host_caps caps;
	struct run_inputs in;
	struct plan plan;
	struct report rep;
	struct nsrun_err e = {0};

	caps_all_ok(&caps, true);
	caps.seccomp.ok = false;
	strcpy(caps.seccomp.reason, "no CONFIG_SECCOMP_FILTER");
	inputs(&in);
	load("{\"onUnavailable\":\"degrade\"}", &p);
	cr_assert_eq(plan_make(&p, &caps, &in, &plan, &rep, &e), 0);
	cr_assert(has_item(rep.downgrades, rep.n_downgrades, LAYER_PRIVILEGE, "seccomp"));
	cr_assert_not(plan.refuse, "degrade runs with the rest");
	cr_assert_not(plan.priv.seccomp);
	plan_free(&plan);
	policy_free(&p);
}

Test(plan, no_user_namespace_downgrades_every_layer)
{
	struct policy p;
	struct host_caps caps;
	struct run_inputs in;
	struct plan plan;
	struct report rep;
	struct nsrun_err e = {0};

	caps_all_ok(&caps, false);
	caps.userns.ok = false;
	strcpy(caps.userns.reason, "blocked by seccomp");
	inputs(&in);
	load(NULL, &p);
	cr_assert_eq(plan_make(&p, &caps, &in, &plan, &rep, &e), 0);
	for (int l = 0; l < LAYER_COUNT; l++)
		cr_assert(report_has_downgrade(&rep, l), "layer %s", layer_name(l));
	cr_assert(plan.refuse);
	cr_assert_not(plan.sandboxed);
	plan_free(&plan);
	policy_free(&p);
}

Test(plan, disabled_policy_enforces_nothing_and_never_refuses)
{
	struct policy p;
	struct host_caps caps;
	struct run_inputs in;
	struct plan plan;
	struct report rep;
	struct nsrun_err e = {0};

	caps_all_ok(&caps, false);
	caps.userns.ok = false;
	inputs(&in);
	load("{\"enabled\":false}", &p);
	cr_assert_eq(plan_make(&p, &caps, &in, &plan, &rep, &e), 0);
	cr_assert_not(plan.refuse);
	cr_assert_not(plan.sandboxed);
	for (int l = 0; l < LAYER_COUNT; l++)
		cr_assert_not(rep.enforced[l]);
	plan_free(&plan);
	policy_free(&p);
}

Test(plan, caps_needed_follow_the_policy)
{
	struct policy p;

	load("{\"network\":{\"mode\":\"deny\"},\"resources\":{\"memoryBytes\":null,\"maxProcesses\":null}}", &p);
	cr_assert_not(plan_caps_needed(&p) & CAPS_EGRESS);
	cr_assert_not(plan_caps_needed(&p) & CAPS_CGROUP);
	policy_free(&p);
	load("{\"network\":{\"allow\":[\"10.0.0.1\"]}}", &p);
	cr_assert(plan_caps_needed(&p) & CAPS_EGRESS);
	cr_assert(plan_caps_needed(&p) & CAPS_CGROUP);
	policy_free(&p);
	load("{\"network\":{\"mode\":\"unrestricted\",\"denyLinkLocalAndMetadata\":false}}", &p);
	cr_assert_not(plan_caps_needed(&p) & CAPS_EGRESS);
	policy_free(&p);
}

Test(plan, fail_closed_runs_are_their_own_namespace_probe)
{
	struct policy p;

	load(NULL, &p);
	cr_assert(plan_caps_needed(&p) & CAPS_ASSUME_LIVE);
	policy_free(&p);
	load("{\"onUnavailable\":\"degrade\"}", &p);
	cr_assert_not(plan_caps_needed(&p) & CAPS_ASSUME_LIVE, "degrade must know beforehand");
	cr_assert(plan_caps_needed(&p) & CAPS_NS);
	policy_free(&p);
}
