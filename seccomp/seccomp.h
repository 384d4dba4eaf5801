/* The seccomp layer: a libseccomp filter compiled in the supervisor and
 * installed by the command process as its very last step before execve. */
#ifndef NSRUN_SECCOMP_H
#define NSRUN_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/filter.h>

#include "../runtime/err.h"

struct seccomp_prog {
	struct sock_filter *filter; /* owned */
	unsigned short len;
};

/* Compiles the filter for the native architecture (foreign ABIs killed). */
int nsrun_seccomp_compile(struct seccomp_prog *out, struct nsrun_err *err);
void nsrun_seccomp_free(struct seccomp_prog *p);

/* The same program, compiled at build time for this architecture: static
 * storage, never freed. */
void nsrun_seccomp_prebuilt(struct seccomp_prog *out);

/* In the command process, after no_new_privs: seccomp(SECCOMP_SET_MODE_FILTER). */
int nsrun_seccomp_install(const struct seccomp_prog *p, struct nsrun_err *err);

/* An argument condition of a rule. The kernel's syscall ABI passes 64-bit
 * registers, but many arguments are `int`/`unsigned int` that the kernel
 * truncates, so conditions on them mask to 32 bits: otherwise garbage in the
 * upper half slips past an exact compare (the snapd TIOCSTI bypass). */
enum seccomp_cmp {
	SECCOMP_CMP_NONE = 0,
	SECCOMP_CMP_MASKED_EQ, /* (arg & mask) == value */
	SECCOMP_CMP_NE,	       /* arg != value (all 64 bits) */
	/* (arg & mask) != 0: any bit of mask set. libseccomp has no such
	 * operator, so the compiler expands it into one MASKED_EQ rule per bit. */
	SECCOMP_CMP_ANY_BITS,
	/* Like ANY_BITS, but not when the low 32 bits are all set: that value
	 * is personality()'s read-only query. libseccomp allows one comparison
	 * per argument and rule, so "bit b set and bit k clear" becomes one
	 * rule per (b, k) pair: 31 per bit of mask. */
	SECCOMP_CMP_ANY_BITS_NOT_ALL32,
};

struct seccomp_cond {
	enum seccomp_cmp op;
	unsigned char arg; /* argument index 0..5 */
	uint64_t mask;
	uint64_t value;
};

#define SECCOMP_RULE_MAX_CONDS 2

/* The expanding operators (at most one per row). */
static inline int seccomp_cmp_expands(enum seccomp_cmp op)
{
	return op == SECCOMP_CMP_ANY_BITS || op == SECCOMP_CMP_ANY_BITS_NOT_ALL32;
}

/* One row per rule: the table the filter is built from, and the docs.
 * Every rule is a denial on top of a default-allow filter. */
struct seccomp_rule_doc {
	const char *syscall;
	const char *action; /* "EPERM", "ENOSYS", "EPERM if ..." */
	const char *reason;
	int errnum;	    /* errno returned by the rule */
	/* Syscall number to use when the installed libseccomp does not know
	 * the name yet (newer syscalls); 0 = none. */
	int nr_fallback;
	unsigned n_conds; /* all conditions must hold (AND) */
	struct seccomp_cond conds[SECCOMP_RULE_MAX_CONDS];
};
extern const struct seccomp_rule_doc nsrun_seccomp_table_doc[];
extern const size_t nsrun_seccomp_table_doc_len;

#endif
