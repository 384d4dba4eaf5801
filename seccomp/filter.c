/* Builds the filter of table.c with libseccomp, exports it as a BPF program
 * (in the supervisor, once) and installs it (in the command process, last). */
#include "seccomp.h"

#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/seccomp.h>

#include "../runtime/cleanup.h"

static void seccomp_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}
#define _cleanup_seccomp_ __attribute__((cleanup(seccomp_releasep)))

static struct scmp_arg_cmp cond_to_scmp(const struct seccomp_cond *c)
{
	struct scmp_arg_cmp a = { .arg = c->arg };

	switch (c->op) {
	case SECCOMP_CMP_MASKED_EQ:
		a.op = SCMP_CMP_MASKED_EQ;
		a.datum_a = c->mask;
		a.datum_b = c->value;
		break;
	case SECCOMP_CMP_NE:
		a.op = SCMP_CMP_NE;
		a.datum_a = c->value;
		break;
	default: /* expanding ops are replaced by the caller; NONE is unused */
		a.op = _SCMP_CMP_MIN;
		break;
	}
	return a;
}

static int add_rule(scmp_filter_ctx ctx, const struct seccomp_rule_doc *row, int nr,
		    const struct scmp_arg_cmp *cmps, struct nsrun_err *err)
{
	int r = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(row->errnum), nr, row->n_conds, cmps);

	if (r < 0)
		return nsrun_err_set(err, "seccomp", -r, "adding the rule for %s", row->syscall);
	return 0;
}

static int add_masked(scmp_filter_ctx ctx, const struct seccomp_rule_doc *row, int nr,
		      unsigned at, struct scmp_arg_cmp *cmps, uint64_t mask, uint64_t value,
		      struct nsrun_err *err)
{
	cmps[at] = (struct scmp_arg_cmp){ .arg = row->conds[at].arg, .op = SCMP_CMP_MASKED_EQ,
					  .datum_a = mask, .datum_b = value };
	return add_rule(ctx, row, nr, cmps, err);
}

/* Expands an ANY_BITS* condition into masked compares, one rule each,
 * OR-ed together by libseccomp and each AND-ed with the row's other
 * conditions (already in cmps). libseccomp takes one compare per argument
 * and rule, so each rule is one pattern of set and clear bits.
 *
 * ANY_BITS: "bit b set", one rule per bit of the mask.
 * ANY_BITS_NOT_ALL32: some bit of the mask set and the low 32 bits not all
 * ones. With b0 the mask's lowest bit, three families of "this bit set,
 * that bit clear" cover it exactly: (b0, k) for every k outside the mask,
 * (b, b0) and (b0, b) for every other b of the mask. Any value with a mask
 * bit b and a clear bit j matches one: b0 set and j outside the mask, or
 * b0 set and j in it, or b0 clear. 34 rules for personality's 4 bits,
 * where every (b, k) pair took 124 (~270 fewer BPF instructions to JIT in
 * every run). test_seccomp checks 8,000 values against the rule. */
static int add_expanded(scmp_filter_ctx ctx, const struct seccomp_rule_doc *row, int nr,
			unsigned at, struct scmp_arg_cmp *cmps, struct nsrun_err *err)
{
	const struct seccomp_cond *c = &row->conds[at];
	uint64_t b0 = c->mask & -c->mask, bit, k;
	int r = 0;

	if (c->op == SECCOMP_CMP_ANY_BITS) {
		for (uint64_t mask = c->mask; mask && r == 0; mask &= mask - 1) {
			bit = mask & -mask;
			r = add_masked(ctx, row, nr, at, cmps, bit, bit, err);
		}
		return r;
	}
	for (k = 1; k <= 0x80000000ull && r == 0; k <<= 1)
		if (!(k & c->mask))
			r = add_masked(ctx, row, nr, at, cmps, b0 | k, b0, err);
	for (uint64_t mask = c->mask & ~b0; mask && r == 0; mask &= mask - 1) {
		bit = mask & -mask;
		r = add_masked(ctx, row, nr, at, cmps, bit | b0, bit, err);
		if (r == 0)
			r = add_masked(ctx, row, nr, at, cmps, b0 | bit, b0, err);
	}
	return r;
}

/* Adds one table row. */
static int add_row(scmp_filter_ctx ctx, const struct seccomp_rule_doc *row, struct nsrun_err *err)
{
	struct scmp_arg_cmp cmps[SECCOMP_RULE_MAX_CONDS];
	int nr, expand = -1;
	unsigned i;

	nr = seccomp_syscall_resolve_name(row->syscall);
	if (nr == __NR_SCMP_ERROR) {
		if (!row->nr_fallback)
			return nsrun_err_set(err, "seccomp", EINVAL, "unknown syscall %s in the table",
					     row->syscall);
		nr = row->nr_fallback;
	}
	if (nr < 0) /* a pseudo number: this architecture has no such syscall */
		return 0;
	if (row->n_conds > SECCOMP_RULE_MAX_CONDS)
		return nsrun_err_set(err, "seccomp", EINVAL, "%s: too many conditions", row->syscall);

	for (i = 0; i < row->n_conds; i++) {
		if (seccomp_cmp_expands(row->conds[i].op)) {
			if (expand >= 0)
				return nsrun_err_set(err, "seccomp", EINVAL,
						     "%s: one expanding condition at most", row->syscall);
			expand = (int)i;
		}
		cmps[i] = cond_to_scmp(&row->conds[i]);
	}
	if (expand < 0)
		return add_rule(ctx, row, nr, cmps, err);
	return add_expanded(ctx, row, nr, (unsigned)expand, cmps, err);
}

/* libseccomp 2.5 exports only to an fd (seccomp_export_bpf_mem is 2.6), so
 * the program goes through a memfd and is read back. */
static int export_bpf(scmp_filter_ctx ctx, struct seccomp_prog *out, struct nsrun_err *err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ struct sock_filter *buf = NULL;
	struct stat st;
	size_t size, done = 0;
	int r;

	fd = memfd_create("nsrun-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return nsrun_err_set(err, "seccomp", errno, "memfd_create");
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return nsrun_err_set(err, "seccomp", -r, "seccomp_export_bpf");
	if (fstat(fd, &st) < 0)
		return nsrun_err_set(err, "seccomp", errno, "fstat of the exported filter");
	size = (size_t)st.st_size;
	if (size == 0 || size % sizeof(struct sock_filter) != 0 ||
	    size / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return nsrun_err_set(err, "seccomp", EINVAL, "exported filter has a bad size (%zu bytes)",
				     size);
	buf = malloc(size);
	if (!buf)
		return nsrun_err_set(err, "seccomp", ENOMEM, "filter buffer");
	while (done < size) {
		ssize_t n = pread(fd, (char *)buf + done, size - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return nsrun_err_set(err, "seccomp", n < 0 ? errno : EIO,
					     "reading the exported filter back");
		done += (size_t)n;
	}
	out->len = (unsigned short)(size / sizeof(struct sock_filter));
	out->filter = buf;
	buf = NULL;
	return 0;
}

int nsrun_seccomp_compile(struct seccomp_prog *out, struct nsrun_err *err)
{
	_cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
	size_t i;
	int r;

	out->filter = NULL;
	out->len = 0;

	/* Native architecture only (seccomp_init adds no other): on x86_64 an
	 * i386 `int 0x80` fails the arch check, and libseccomp makes x32
	 * numbers (nr | 0x40000000, same AUDIT_ARCH) take the bad-arch action
	 * too when x32 is not in the filter. Killing instead of failing the
	 * call leaves no half-working compat path to probe. */
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return nsrun_err_set(err, "seccomp", ENOMEM, "seccomp_init");
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r < 0)
		return nsrun_err_set(err, "seccomp", -r, "setting the bad-arch action");
	/* A binary tree of syscall numbers: an allowed syscall (nearly all of
	 * them) then pays ~log2(rows) compares instead of one per denied
	 * syscall. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (r < 0)
		return nsrun_err_set(err, "seccomp", -r, "setting the filter optimization");

	for (i = 0; i < nsrun_seccomp_table_doc_len; i++) {
		r = add_row(ctx, &nsrun_seccomp_table_doc[i], err);
		if (r < 0)
			return r;
	}
	return export_bpf(ctx, out, err);
}

void nsrun_seccomp_free(struct seccomp_prog *p)
{
	free(p->filter);
	p->filter = NULL;
	p->len = 0;
}

int nsrun_seccomp_install(const struct seccomp_prog *p, struct nsrun_err *err)
{
	struct sock_fprog fprog;

	/* Fail closed: an empty program would mean "no filter". */
	if (!p || !p->filter || p->len == 0)
		return nsrun_err_set(err, "seccomp", EINVAL, "no compiled filter to install");
	/* Without no_new_privs the kernel wants CAP_SYS_ADMIN, which the
	 * command process has already dropped: say what is missing. */
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return nsrun_err_set(err, "seccomp", EPERM, "no_new_privs is not set");

	fprog.len = p->len;
	fprog.filter = p->filter;
	/* No TSYNC: the command process is single-threaded before execve. */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0)
		return nsrun_err_set(err, "seccomp", errno, "seccomp(SECCOMP_SET_MODE_FILTER)");
	return 0;
}
