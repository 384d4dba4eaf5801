/* The sandbox side: set-up in the fresh namespaces, then pid 1 (init) of the
 * sandbox, which forks the command and reports its status. */
#ifndef NSRUN_CHILD_H
#define NSRUN_CHILD_H

#include <stdbool.h>
#include "plan.h"
#include "seccomp/seccomp.h"

struct child_ctx {
	const struct plan *plan;
	const struct seccomp_prog *seccomp; /* NULL: no filter */
	int sync_fd;
	int stdin_fd, stdout_fd, stderr_fd;
	unsigned long supervisor_netns_ino;
	/* A helper of the supervisor's makes the netns (netns/maker.c) and
	 * sends it over netns_sock, instead of the child creating it. */
	bool netns_handed_over;
	int netns_sock;
};

/* Runs in the cloned child; never returns. */
__attribute__((noreturn)) void child_main(const struct child_ctx *ctx);

#endif
