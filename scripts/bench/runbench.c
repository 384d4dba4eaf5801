/* runbench: a tiny, precise timer for ms-scale process runs.
 *
 *   runbench [-n RUNS] [-w WARMUP] -- LABEL CMD [ARG...] [::: LABEL CMD [ARG...]]...
 *       Latency. Runs the commands in alternation (A B C A B C ...), WARMUP
 *       rounds first (not counted), then RUNS rounds. One run is the whole
 *       process, from posix_spawn to its reaping, on CLOCK_MONOTONIC. Prints
 *       per command: LABEL median_us min_us max_us runs cpu_median_us failed
 *       (cpu = user+sys of the process tree the command reaped, from wait4;
 *       failed = runs that exited non-zero, left out of the statistics).
 *
 *   runbench -t TOTAL -j PAR [-n ROUNDS] -- LABEL CMD... [::: LABEL CMD...]...
 *       Throughput. Per round and command (alternating), starts TOTAL runs,
 *       at most PAR at a time, and prints LABEL median min max (runs/s over
 *       the rounds) failed_runs.
 *
 *   runbench -m [-b BYTES] -- CMD [ARG...]
 *       Peak memory of CMD itself (not of its children): traces it with
 *       PTRACE_O_TRACEEXIT, reads VmHWM from /proc/PID/status at the exit
 *       stop (the last moment its mm exists), while a thread drains its
 *       stdout from a pipe. Prints: vmhwm_kib bytes_relayed wall_us. With
 *       -b, fails unless exactly BYTES arrived.
 *
 * stdin and stdout of the command are /dev/null (except -m), stderr is
 * inherited. A run that exits non-zero is reported on stderr (the first
 * few per command) and counted, not timed; runbench exits 1 when a command
 * never succeeded: a benchmark of a failing command measures nothing. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct cmd {
	const char *label;
	char **argv;
	int64_t *samples; /* latency: wall us; throughput: runs/s * 1000 */
	int64_t *cpu;
	int n;
	int failed;
};

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "runbench: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

static posix_spawn_file_actions_t fa;

static pid_t spawn(struct cmd *c)
{
	pid_t pid;
	int rc = posix_spawn(&pid, c->argv[0], &fa, NULL, c->argv, environ);

	if (rc != 0) {
		errno = rc;
		perror(c->argv[0]);
		exit(1);
	}
	return pid;
}

static bool check_status(struct cmd *c, int st)
{
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return true;
	if (c->failed++ < 3)
		fprintf(stderr, "runbench: %s: %s %d\n", c->label,
			WIFEXITED(st) ? "exited with" : "killed by signal",
			WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	return false;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int64_t median(int64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp64);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Wall time of one run in us, or -1 when it failed. */
static int64_t time_one(struct cmd *c, int64_t *cpu)
{
	struct rusage ru;
	int64_t t0 = now_us();
	pid_t pid = spawn(c);
	int st;

	while (wait4(pid, &st, 0, &ru) < 0)
		if (errno != EINTR)
			die("wait4: %s", strerror(errno));
	t0 = now_us() - t0;
	if (!check_status(c, st))
		return -1;
	*cpu = (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
	       ru.ru_stime.tv_usec;
	return t0;
}

/* TOTAL runs, at most PAR alive at once; returns runs per second * 1000. */
static int64_t throughput(struct cmd *c, int total, int par)
{
	int started = 0, running = 0, st;
	int64_t t0 = now_us();

	while (started < total || running > 0) {
		while (started < total && running < par) {
			spawn(c);
			started++;
			running++;
		}
		while (waitpid(-1, &st, 0) < 0)
			if (errno != EINTR)
				die("waitpid: %s", strerror(errno));
		check_status(c, st);
		running--;
	}
	t0 = now_us() - t0;
	return (int64_t)total * 1000000000 / (t0 > 0 ? t0 : 1);
}

/* ---- -m: peak RSS of the command's own process -------------------------- */

static int drain_fd = -1;
static uint64_t drained;

static void *drain(void *arg)
{
	static char buf[1 << 16];
	ssize_t n;

	(void)arg;
	while ((n = read(drain_fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		drained += (uint64_t)n;
	}
	return NULL;
}

static long read_vmhwm(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static int peak_rss(char **argv, long long want_bytes)
{
	int p[2], st;
	long hwm = -1;
	pthread_t th;
	pid_t pid;
	int64_t t0;

	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	t0 = now_us();
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(p[1], 1);
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	drain_fd = p[0];
	if (pthread_create(&th, NULL, drain, NULL) != 0)
		die("pthread_create failed%s", "");
	/* The first stop is the SIGTRAP of execve. */
	if (waitpid(pid, &st, 0) < 0 || !WIFSTOPPED(st))
		die("%s did not start under ptrace", argv[0]);
	ptrace(PTRACE_SETOPTIONS, pid, NULL,
	       (void *)(long)(PTRACE_O_TRACEEXIT | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL));
	ptrace(PTRACE_CONT, pid, NULL, NULL);
	for (;;) {
		if (waitpid(pid, &st, 0) < 0) {
			if (errno == EINTR)
				continue;
			die("waitpid: %s", strerror(errno));
		}
		if (WIFEXITED(st) || WIFSIGNALED(st))
			break;
		if (!WIFSTOPPED(st))
			continue;
		if (st >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {
			hwm = read_vmhwm(pid);
			ptrace(PTRACE_CONT, pid, NULL, NULL);
		} else if (st >> 8 == (SIGTRAP | (PTRACE_EVENT_EXEC << 8))) {
			/* A wrapper (prlimit) exec'd its payload: same pid, new mm. */
			ptrace(PTRACE_CONT, pid, NULL, NULL);
		} else {
			/* A signal-delivery stop: deliver it as if untraced. */
			ptrace(PTRACE_CONT, pid, NULL, (void *)(long)WSTOPSIG(st));
		}
	}
	pthread_join(th, NULL);
	t0 = now_us() - t0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "runbench: %s: status %d\n", argv[0], st);
		return 1;
	}
	if (want_bytes >= 0 && drained != (uint64_t)want_bytes) {
		fprintf(stderr, "runbench: relayed %" PRIu64 " bytes, expected %lld\n", drained,
			want_bytes);
		return 1;
	}
	printf("%ld\t%" PRIu64 "\t%" PRId64 "\n", hwm, drained, t0);
	return hwm < 0;
}

int main(int argc, char **argv)
{
	int runs = 30, warm = 3, total = 0, par = 1, opt, ncmd = 0, status = 0;
	bool mem = false, runs_set = false;
	long long want_bytes = -1;
	struct cmd cmds[16];

	while ((opt = getopt(argc, argv, "+n:w:t:j:mb:")) != -1) {
		switch (opt) {
		case 'n':
			runs = atoi(optarg);
			runs_set = true;
			break;
		case 'w':
			warm = atoi(optarg);
			break;
		case 't':
			total = atoi(optarg);
			break;
		case 'j':
			par = atoi(optarg);
			break;
		case 'm':
			mem = true;
			break;
		case 'b':
			want_bytes = atoll(optarg);
			break;
		default:
			die("usage: see the comment at the top of runbench.c%s", "");
		}
	}
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	if (optind >= argc)
		die("no command%s", "");
	if (mem)
		return peak_rss(argv + optind, want_bytes);
	if (total > 0 && !runs_set)
		runs = 1;
	if (runs < 1 || warm < 0 || par < 1)
		die("bad -n/-w/-j%s", "");

	/* Split LABEL CMD... ::: LABEL CMD... */
	for (int i = optind; i < argc;) {
		int j = i;

		while (j < argc && strcmp(argv[j], ":::") != 0)
			j++;
		if (j - i < 2)
			die("each command needs a LABEL and a program%s", "");
		if (ncmd == 16)
			die("too many commands%s", "");
		argv[j < argc ? j : argc] = NULL;
		cmds[ncmd].label = argv[i];
		cmds[ncmd].argv = argv + i + 1;
		cmds[ncmd].samples = calloc((size_t)runs, sizeof(int64_t));
		cmds[ncmd].cpu = calloc((size_t)runs, sizeof(int64_t));
		cmds[ncmd].n = 0;
		cmds[ncmd].failed = 0;
		ncmd++;
		i = j + 1;
	}

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);

	if (total > 0) {
		for (int r = 0; r < runs; r++)
			for (int c = 0; c < ncmd; c++)
				cmds[c].samples[cmds[c].n++] = throughput(&cmds[c], total, par);
		for (int c = 0; c < ncmd; c++) {
			int64_t med = median(cmds[c].samples, cmds[c].n);

			printf("%s\t%.1f\t%.1f\t%.1f\t%d\t%d\n", cmds[c].label, med / 1000.0,
			       cmds[c].samples[0] / 1000.0, cmds[c].samples[cmds[c].n - 1] / 1000.0,
			       cmds[c].n, cmds[c].failed);
		}
		return 0;
	}

	for (int r = 0; r < warm + runs; r++) {
		for (int c = 0; c < ncmd; c++) {
			int64_t cpu, t = time_one(&cmds[c], &cpu);

			if (t >= 0 && r >= warm) {
				cmds[c].cpu[cmds[c].n] = cpu;
				cmds[c].samples[cmds[c].n++] = t;
			}
		}
	}
	for (int c = 0; c < ncmd; c++) {
		struct cmd *k = &cmds[c];
		int64_t med;

		if (k->n == 0) {
			printf("%s\t-\t-\t-\t0\t-\t%d\n", k->label, k->failed);
			status = 1;
			continue;
		}
		med = median(k->samples, k->n);
		printf("%s\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\t%d\t%" PRId64 "\t%d\n", k->label,
		       med, k->samples[0], k->samples[k->n - 1], k->n, median(k->cpu, k->n),
		       k->failed);
	}
	return status;
}
