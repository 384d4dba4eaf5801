/* argv -> cli -> policy -> caps -> plan -> supervise -> result (DESIGN §1). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caps.h"
#include "cli.h"
#include "commands.h"
#include "netns/netns.h"
#include "plan.h"
#include "policy.h"
#include "timing.h"

extern char **environ;

/* A supervisor started with fd 0, 1 or 2 closed would hand its own pipes
 * out under those numbers; pin them to /dev/null first. */
static void ensure_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) < 0) {
			int n = open("/dev/null", O_RDWR | O_CLOEXEC);

			if (n >= 0 && n != fd) {
				dup2(n, fd);
				close(n);
			}
		}
	}
}

int main(int argc, char **argv)
{
	struct cli c;
	struct policy p;
	struct nsrun_err err = {0};
	char msg[640];
	int r;

	timing_init();
	ensure_std_fds();
	r = cli_parse(argc, argv, environ, &c);
	if (r) {
		cli_free(&c);
		return r;
	}
	switch (c.cmd) {
	case CMD_HELP:
		cli_usage(stdout);
		return 0;
	case CMD_VERSION:
		printf("nsrun %s\n", NSRUN_VERSION);
		if (NETNS_LIBS_LOADED_LATER[0])
			printf("loads on first use: %s\n", NETNS_LIBS_LOADED_LATER);
		return 0;
	default:
		break;
	}
	if (policy_load(c.policy_path, c.override_path, &p, &err) < 0) {
		nsrun_err_format(&err, msg, sizeof(msg));
		fprintf(stderr, "nsrun: %s\n", msg);
		cli_free(&c);
		return 2;
	}
	timing_mark("policy loaded");
	/* Without a new root the script file is read where it is. */
	if (c.cmd == CMD_SCRIPT && c.script_file && (!p.enabled || p.fs_mode == FS_MODE_OFF))
		cli_script_in_place(&c);
	switch (c.cmd) {
	case CMD_POLICY:
		r = cmd_policy(&p);
		break;
	case CMD_PROBE:
		r = cmd_probe(&p, &c);
		break;
	default:
		r = cmd_run(&p, &c);
		break;
	}
	policy_free(&p);
	cli_free(&c);
	timing_mark("done");
	timing_dump();
#if defined(__SANITIZE_ADDRESS__)
	return r; /* LeakSanitizer's check runs from exit() */
#else
	/* exit()'s handlers (the static libraries' destructors, stdio's
	 * teardown) touch pages nothing else did: ~10 page faults, 0.03-0.05 ms
	 * of every run (A/B). Everything is freed above; flush (as exit()
	 * would, its errors ignored as exit() does) and go. */
	fflush(NULL);
	_exit(r);
#endif
}
