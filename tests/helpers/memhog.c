/* memhog: allocates and touches memory 1 MiB at a time, printing progress, so
 * the resource tests can watch a memory cap act (OOM kill, ENOMEM under
 * RLIMIT_DATA) instead of trusting it.
 *
 *   memhog MIB [--forks N] [--shared] [--hold]
 *
 * --forks N  N processes each allocate MIB (a per-process limit such as
 *            RLIMIT_DATA lets the total reach N*MIB; a cgroup does not).
 * --shared   MAP_SHARED|MAP_ANONYMOUS pages (shmem: not counted by RLIMIT_DATA).
 * --hold     sleep after allocating instead of exiting (for RSS inspection).
 * Exit: 0 all allocated, 1 an allocation failed, 2 usage. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB (1024u * 1024u)

/* Progress goes through write(2), not stdio: a process killed by the OOM
 * killer never flushes a stdio buffer, and the last line is the evidence. */
static void say(const char *fmt, long a, long b)
{
	char buf[160];
	int n = snprintf(buf, sizeof(buf), fmt, a, b);

	if (n > 0 && write(STDOUT_FILENO, buf, (size_t)n) < 0)
		_exit(3);
}

static int hog(long mib, bool shared, bool hold)
{
	int flags = MAP_ANONYMOUS | (shared ? MAP_SHARED : MAP_PRIVATE);
	long i;

	for (i = 0; i < mib; i++) {
		char *p = mmap(NULL, MIB, PROT_READ | PROT_WRITE, flags, -1, 0);

		if (p == MAP_FAILED) {
			say("memhog[%ld]: alloc failed at %ld MiB\n", (long)getpid(), i);
			return 1;
		}
		/* Touch every page: untouched anonymous memory is never charged. */
		memset(p, 0x5a, MIB);
		if ((i + 1) % 16 == 0 || i + 1 == mib)
			say("memhog[%ld]: %ld MiB\n", (long)getpid(), i + 1);
	}
	while (hold)
		pause();
	return 0;
}

int main(int argc, char **argv)
{
	long mib, forks = 1, i;
	bool shared = false, hold = false;
	int rc = 0, st;

	if (argc < 2 || (mib = strtol(argv[1], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: memhog MIB [--forks N] [--shared] [--hold]\n");
		return 2;
	}
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--forks") && i + 1 < argc)
			forks = strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--shared"))
			shared = true;
		else if (!strcmp(argv[i], "--hold"))
			hold = true;
		else {
			fprintf(stderr, "memhog: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (forks <= 1)
		return hog(mib, shared, hold);

	for (i = 0; i < forks; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("memhog: fork");
			rc = 1;
			break;
		}
		if (pid == 0)
			_exit(hog(mib, shared, hold));
	}
	while (wait(&st) > 0)
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			rc = 1;
	return rc;
}
