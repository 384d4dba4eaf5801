/* floor: the kernel's floor for a sandboxed /bin/true. The least any
 * runtime has to do: clone with nsrun's namespace flags (user, pid, mount,
 * ipc, uts, cgroup, net), write setgroups/uid_map/gid_map from outside, let
 * the child go, exec the command, wait. No mounts, no filter, no cgroup.
 *
 *   floor [-N] [CMD [ARG...]]     (default /bin/true; -N: keep the host net)
 *
 * Exits with the command's status (128+N when killed by signal N). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void write_file(pid_t pid, const char *name, const char *text)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		perror(path);
		kill(pid, SIGKILL);
		exit(125);
	}
	close(fd);
}

int main(int argc, char **argv)
{
	unsigned long flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC |
			      CLONE_NEWUTS | CLONE_NEWCGROUP | CLONE_NEWNET;
	static char *const dflt[] = {"/bin/true", NULL};
	char *const *cmd = dflt;
	char map[64];
	int go[2], st;
	pid_t pid;

	if (argc > 1 && strcmp(argv[1], "-N") == 0) {
		flags &= ~(unsigned long)CLONE_NEWNET;
		argv++;
		argc--;
	}
	if (argc > 1)
		cmd = argv + 1;
	if (pipe2(go, O_CLOEXEC) < 0)
		return perror("pipe2"), 125;
	/* fork-like clone: no stack needed, the child gets a copy. */
	pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
	if (pid < 0)
		return perror("clone"), 125;
	if (pid == 0) {
		char c;

		close(go[1]);
		/* Wait for the maps: before them the child's ids are unmapped. */
		if (read(go[0], &c, 1) != 1)
			_exit(125);
		execv(cmd[0], cmd);
		_exit(errno == ENOENT ? 127 : 126);
	}
	close(go[0]);
	write_file(pid, "setgroups", "deny");
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)getuid(), (unsigned)getuid());
	write_file(pid, "uid_map", map);
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)getgid(), (unsigned)getgid());
	write_file(pid, "gid_map", map);
	if (write(go[1], "g", 1) != 1)
		return perror("write"), 125;
	close(go[1]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return perror("waitpid"), 125;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
