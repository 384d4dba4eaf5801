#include "plan.h"

#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <string.h>

#include "env.h"

/* A root supervisor with no configured ids drops to nobody. */
#define NOBODY_ID 65534

unsigned plan_caps_needed(const struct policy *p)
{
	unsigned what = CAPS_BASIC;

	if (!p->enabled)
		return what;
	what |= CAPS_NS | CAPS_SECCOMP;
	if (p->res.memory_bytes != POLICY_UNSET || p->res.max_processes != POLICY_UNSET)
		what |= CAPS_CGROUP;
	if ((p->net_mode == NET_MODE_ALLOWLIST && p->net_allow_len > 0) ||
	    (p->net_mode == NET_MODE_UNRESTRICTED && p->deny_link_local_and_metadata))
		what |= CAPS_EGRESS;
	/* Under fail, a failing namespace step refuses the run anyway, so the
	 * run is its own probe (BACKGROUND: live, never a sysctl) and saves a
	 * clone per run. Under degrade the planner must know beforehand. */
	if (p->on_unavailable == ON_UNAVAILABLE_FAIL)
		what |= CAPS_ASSUME_LIVE;
	return what;
}

/* SPEC §6 identity rules: rootless runs as itself; a root supervisor drops
 * to the policy's ids, else NSRUN_SANDBOX_UID/GID, else nobody. */
static void plan_identity(const struct policy *p, const struct host_caps *caps,
			  const struct run_inputs *in, struct plan *plan, struct report *rep)
{
	uid_t uid;
	gid_t gid;

	if (!caps->euid_is_root) {
		uid = caps->uid;
		gid = caps->gid;
		if (p->priv_uid != POLICY_UNSET || p->priv_gid != POLICY_UNSET)
			report_note(rep, LAYER_PRIVILEGE,
				    "privilege.uid/gid apply to a root supervisor only; rootless, the "
				    "command runs as the supervisor's own uid %u", (unsigned)uid);
		report_note(rep, LAYER_PRIVILEGE,
			    "rootless: the command runs as the supervisor's uid %u mapped to itself; "
			    "setgroups is denied in the sandbox",
			    (unsigned)uid);
		/* The kernel only lets an unprivileged gid_map be written with
		 * setgroups denied, so the caller's groups cannot be shed. */
		if (caps->n_supp_groups > 0)
			report_note(rep, LAYER_PRIVILEGE,
				    "rootless: the supervisor's %d supplementary group(s) cannot be dropped "
				    "(they show as 65534 inside and still grant file access); run nsrun "
				    "as a user without supplementary groups",
				    caps->n_supp_groups);
	} else if (p->priv_mode == PRIV_MODE_INHERIT) {
		uid = 0;
		gid = 0;
		report_downgrade(rep, LAYER_PRIVILEGE,
				 "privilege.mode inherit under a root supervisor: the command would "
				 "run as host root (uid 0); use drop-to-uid");
	} else {
		bool defaulted = false;

		if (p->priv_uid != POLICY_UNSET)
			uid = (uid_t)p->priv_uid;
		else if (in->sandbox_uid_env > 0)
			uid = (uid_t)in->sandbox_uid_env;
		else
			uid = NOBODY_ID, defaulted = true;
		if (p->priv_gid != POLICY_UNSET)
			gid = (gid_t)p->priv_gid;
		else if (in->sandbox_gid_env > 0)
			gid = (gid_t)in->sandbox_gid_env;
		else
			gid = NOBODY_ID, defaulted = true;
		if (defaulted)
			report_note(rep, LAYER_PRIVILEGE,
				    "no uid/gid configured (privilege.uid/gid or NSRUN_SANDBOX_UID/_GID): "
				    "the command runs as %u:%u", (unsigned)uid, (unsigned)gid);
	}
	plan->map_uid = uid;
	plan->map_gid = gid;
	plan->deny_setgroups = !caps->euid_is_root;

	plan->priv.enabled = true;
	plan->priv.set_ids = true;
	plan->priv.uid = uid;
	plan->priv.gid = gid;
	plan->priv.clear_groups = caps->euid_is_root;
	plan->priv.drop_caps = true;
	plan->priv.no_new_privs = true;
	plan->priv.seccomp = caps->seccomp.ok;
	if (!caps->seccomp.ok)
		report_downgrade(rep, LAYER_PRIVILEGE, "seccomp: %s", caps->seccomp.reason);
}

static void plan_disabled(const struct run_inputs *in, struct plan *plan, struct report *rep)
{
	for (int i = 0; i < LAYER_COUNT; i++)
		rep->enforced[i] = false;
	report_note(rep, LAYER_PRIVILEGE, "policy disabled (enabled: false): nothing is enforced");
	plan->sandboxed = false;
	plan->envp = env_curate(in->caller_env, in->env_overrides, in->n_env_overrides, false,
				NULL, NULL, rep);
}

int plan_make(const struct policy *p, const struct host_caps *caps, const struct run_inputs *in,
	      struct plan *plan, struct report *rep, struct nsrun_err *err)
{
	int r;

	memset(plan, 0, offsetof(struct plan, fs));
	fsns_plan_clear(&plan->fs);
	report_init(rep);
	plan->argv = in->argv;
	plan->timeout_ms = in->timeout_ms;
	plan->max_output = p->res.max_output_bytes;
	if (!p->enabled) {
		plan_disabled(in, plan, rep);
		return plan->envp ? 0 : nsrun_err_set(err, "plan", ENOMEM, "environment");
	}

	plan->sandboxed = true;
	plan->clone_flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC |
			    CLONE_NEWUTS | CLONE_NEWCGROUP;
	if (!caps->userns.ok) {
		/* Without a user namespace there is no sandbox to build: every
		 * layer is a downgrade and, under degrade, the command runs
		 * directly with rlimits and the curated environment. */
		plan->sandboxed = false;
		for (int l = 0; l < LAYER_COUNT; l++)
			report_downgrade(rep, (enum layer)l, "no user namespace: %s", caps->userns.reason);
	}
	plan_identity(p, caps, in, plan, rep);

	r = fsns_plan(p, caps, in, plan->map_uid, plan->map_gid, &plan->fs, rep, err);
	if (r < 0)
		return r;
	r = netns_plan(p, caps, &plan->net, rep, err);
	if (r < 0)
		return r;
	if (plan->net.new_netns)
		plan->clone_flags |= CLONE_NEWNET;
	r = resources_plan(p, caps, &plan->res, rep);
	if (r < 0)
		return nsrun_err_set(err, "resources", -r, "planning");

	plan->envp = env_curate(in->caller_env, in->env_overrides, in->n_env_overrides, true,
				plan->fs.new_root ? plan->fs.cwd : NULL,
				plan->fs.new_root ? "/tmp" : NULL, rep);
	if (!plan->envp)
		return nsrun_err_set(err, "plan", ENOMEM, "environment");
	plan->refuse = p->on_unavailable == ON_UNAVAILABLE_FAIL && rep->n_downgrades > 0;
	return 0;
}

void plan_free(struct plan *plan)
{
	env_free(plan->envp);
	plan->envp = NULL;
	netns_plan_free(&plan->net);
}
