/* Scope-bound cleanup (systemd/crun idiom) so every early return is leak-free. */
#ifndef NSRUN_CLEANUP_H
#define NSRUN_CLEANUP_H

#include <stdlib.h>
#include <unistd.h>
#include <errno.h>

static inline void nsrun_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void nsrun_freep(void *p)
{
	free(*(void **)p);
}

#define _cleanup_close_ __attribute__((cleanup(nsrun_closep)))
#define _cleanup_free_ __attribute__((cleanup(nsrun_freep)))

/* Hands ownership out of a _cleanup_close_ variable. */
static inline int nsrun_steal_fd(int *fd)
{
	int r = *fd;
	*fd = -1;
	return r;
}

#endif
