/* Applying the planned rlimits in the command process, before exec. */
#include "resources.h"

#include <errno.h>
#include <sys/resource.h>

static const char *rlimit_name(int resource)
{
	switch (resource) {
	case RLIMIT_CPU:
		return "RLIMIT_CPU";
	case RLIMIT_NOFILE:
		return "RLIMIT_NOFILE";
	case RLIMIT_FSIZE:
		return "RLIMIT_FSIZE";
	case RLIMIT_CORE:
		return "RLIMIT_CORE";
	case RLIMIT_NPROC:
		return "RLIMIT_NPROC";
	default:
		return "rlimit";
	}
}

static int apply_one(const struct res_rlimit *want, struct nsrun_err *err)
{
	struct rlimit rl = {.rlim_cur = want->soft, .rlim_max = want->hard}, cur;

	if (setrlimit(want->resource, &rl) == 0)
		return 0;
	/* Raising a hard limit needs CAP_SYS_RESOURCE in the initial user
	 * namespace, which the sandbox never has (and RLIMIT_NOFILE is also
	 * bounded by fs.nr_open). The host's lower hard limit is then the
	 * stricter cap, so clamping keeps the promise. */
	if (errno == EPERM && getrlimit(want->resource, &cur) == 0 &&
	    cur.rlim_max != RLIM_INFINITY && want->hard > cur.rlim_max) {
		rl.rlim_max = cur.rlim_max;
		if (rl.rlim_cur > rl.rlim_max)
			rl.rlim_cur = rl.rlim_max;
		if (setrlimit(want->resource, &rl) == 0)
			return 0;
	}
	return nsrun_err_set(err, "resources", errno, "setrlimit %s %llu/%llu",
			     rlimit_name(want->resource), (unsigned long long)want->soft,
			     (unsigned long long)want->hard);
}

int rlimits_apply(const struct res_plan *p, struct nsrun_err *err)
{
	for (size_t i = 0; i < p->n_rlimits; i++) {
		int r = apply_one(&p->rlimits[i], err);

		if (r < 0)
			return r;
	}
	return 0;
}
