/* The four commands of SPEC §1 after parsing. Each returns nsrun's exit code. */
#ifndef NSRUN_COMMANDS_H
#define NSRUN_COMMANDS_H

#include "cli.h"
#include "policy.h"

int cmd_policy(const struct policy *p);
int cmd_probe(const struct policy *p, const struct cli *c);
/* run and script */
int cmd_run(const struct policy *p, const struct cli *c);

#endif
