/* Error values carried up the stack: a stage, an errno and a detail, so the
 * top level can print `nsrun: <stage>: <detail>: <strerror>` (crun's idea). */
#ifndef NSRUN_ERR_H
#define NSRUN_ERR_H

#include <stdarg.h>

struct nsrun_err {
	char stage[24];
	int errnum;	  /* 0 when there is no errno to append */
	char detail[480];
};

/* Fills *e and returns -errnum (or -EINVAL when errnum is 0). */
int nsrun_err_set(struct nsrun_err *e, const char *stage, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Prefixes the detail with more context: "bind /x: " + old detail. */
int nsrun_err_wrap(struct nsrun_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Formats the one-line message without the "nsrun: " prefix. */
void nsrun_err_format(const struct nsrun_err *e, char *buf, unsigned long len);

#endif
