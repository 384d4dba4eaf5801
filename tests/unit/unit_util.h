/* Small helpers shared by the unit tests that build namespaces by hand. */
#ifndef NSRUN_UNIT_UTIL_H
#define NSRUN_UNIT_UTIL_H

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* Writes text to path (a /proc map, a cgroup file); 0 or -1. */
static inline int unit_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

#endif
