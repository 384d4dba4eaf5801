/* The seccomp layer: a libseccomp filter compiled in the supervisor and
 * installed by the command process as its very last step before execve. */
#ifndef NSRUN_SECCOMP_H
#define NSRUN_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/filter.h>

#include "../runtime/err.h"

struct seccomp_prog {
	struct sock_filter *filter; /* owned */
	unsigned short len;
};

/* Compiles the filter for the native architecture (foreign ABIs killed). */
int nsrun_seccomp_compile(struct seccomp_prog *out, struct nsrun_err *err);
void nsrun_seccomp_free(struct seccomp_prog *p);

/* In the command process, after no_new_privs: seccomp(SECCOMP_SET_MODE_FILTER). */
int nsrun_seccomp_install(const struct seccomp_prog *p, struct nsrun_err *err);

/* One row per rule, for docs and tests. */
struct seccomp_rule_doc {
	const char *syscall;
	const char *action; /* "EPERM", "ENOSYS", "KILL", "EPERM if ..." */
	const char *reason;
};
extern const struct seccomp_rule_doc nsrun_seccomp_table_doc[];
extern const size_t nsrun_seccomp_table_doc_len;

#endif
