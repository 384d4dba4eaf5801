/* The filter compiled at build time (seccomp/gen/gen_bpf.c). */
#include "seccomp.h"

static const struct sock_filter prebuilt[] = {
#include "seccomp_bpf.inc"
};

void nsrun_seccomp_prebuilt(struct seccomp_prog *out)
{
	/* Installing never writes the program: casting const away is safe. */
	out->filter = (struct sock_filter *)prebuilt;
	out->len = (unsigned short)(sizeof(prebuilt) / sizeof(prebuilt[0]));
}
