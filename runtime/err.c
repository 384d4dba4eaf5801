#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int nsrun_err_set(struct nsrun_err *e, const char *stage, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (e) {
		snprintf(e->stage, sizeof(e->stage), "%s", stage);
		e->errnum = errnum;
		va_start(ap, fmt);
		vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
		va_end(ap);
	}
	return errnum > 0 ? -errnum : -EINVAL;
}

int nsrun_err_wrap(struct nsrun_err *e, const char *fmt, ...)
{
	char prefix[256], old[sizeof(e->detail)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, e->detail, sizeof(old));
	snprintf(e->detail, sizeof(e->detail), "%s: %s", prefix, old);
	return e->errnum > 0 ? -e->errnum : -EINVAL;
}

void nsrun_err_format(const struct nsrun_err *e, char *buf, unsigned long len)
{
	if (e->errnum > 0)
		snprintf(buf, len, "%s: %s: %s", e->stage, e->detail, strerror(e->errnum));
	else
		snprintf(buf, len, "%s: %s", e->stage, e->detail);
}
