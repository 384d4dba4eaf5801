/* Command-line parsing (SPEC §1). Every bad input is a one-line message and
 * exit 2 before anything runs. */
#ifndef NSRUN_CLI_H
#define NSRUN_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>

#include "inputs.h"

enum cli_command { CMD_NONE, CMD_RUN, CMD_SCRIPT, CMD_PROBE, CMD_POLICY, CMD_HELP, CMD_VERSION };

struct cli {
	enum cli_command cmd;
	const char *policy_path;
	const char *override_path;
	const char *report_path;
	int report_fd;			/* -1 = none */
	const char *script_text;
	const char *script_file;	/* resolved absolute path */
	char *script_argv[4];		/* the command a script turns into */
	char script_file_real[4096];
	char interpreter_real[4096];
	char scratch_real[4096];
	struct run_inputs in;
};

/* Fills *c. Returns 0, or prints "nsrun: ..." and returns 2. */
int cli_parse(int argc, char **argv, char **environ_, struct cli *c);
void cli_usage(FILE *f);
/* Runs the --script-file from its host path (no new root to bind it in). */
void cli_script_in_place(struct cli *c);
void cli_free(struct cli *c);

#endif
