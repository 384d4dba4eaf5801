#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env.h"

void cli_usage(FILE *f)
{
	fputs("usage:\n"
	      "  nsrun run    [OPTIONS] -- COMMAND [ARG...]\n"
	      "  nsrun script [OPTIONS] (--script TEXT | --script-file FILE) [--interpreter PATH]\n"
	      "  nsrun probe  [--policy FILE] [--override FILE]\n"
	      "  nsrun policy [--policy FILE] [--override FILE]\n"
	      "  nsrun --help | --version\n"
	      "\n"
	      "Runs an untrusted command or script in a Linux sandbox built from fresh user, pid,\n"
	      "mount, ipc, uts (and net) namespaces, with a seccomp filter, no capabilities and\n"
	      "resource caps. The built-in default policy is fail-closed: if a layer cannot be\n"
	      "enforced on this host, nothing runs (see `nsrun probe`).\n"
	      "\n"
	      "options of run and script:\n"
	      "  --policy FILE        base policy JSON (- = stdin); default: built-in profile\n"
	      "  --override FILE      partial policy merged over the base\n"
	      "  --scratch DIR        writable dir, the cwd, at the same path inside\n"
	      "                       (default: a fresh size-capped tmpfs at /scratch)\n"
	      "  --ro-bind SRC[:DEST] extra read-only bind (repeatable)\n"
	      "  --bind SRC[:DEST]    extra read-write bind (repeatable)\n"
	      "  --env KEY=VALUE      environment override (repeatable; loader keys dropped)\n"
	      "  --timeout-ms N       wall-clock limit; the whole sandbox is killed on expiry\n"
	      "  --host-etc           bind the host's whole /etc read-only instead of the minimal one\n"
	      "  --report FILE        run only: write the sandbox report JSON there\n"
	      "  --report-fd N        run only: write the sandbox report JSON to fd N\n"
	      "\n"
	      "exit status of run: the command's; 128+N killed by signal N; 124 timeout;\n"
	      "125 refused or set-up failed; 126 not executable; 127 not found; 2 usage error.\n"
	      "examples:\n"
	      "  nsrun run -- sh -c 'id; ls /'\n"
	      "  nsrun script --script 'echo hi' --timeout-ms 5000\n"
	      "  nsrun probe\n",
	      f);
}

static int usage_error(const char *fmt, const char *a, const char *b)
{
	fputs("nsrun: ", stderr);
	fprintf(stderr, fmt, a, b);
	fputs(" (see nsrun --help)\n", stderr);
	return 2;
}

static int parse_int(const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int add_bind(struct cli *c, const char *opt, const char *arg, bool rw)
{
	struct bind_spec *b;
	char *colon, *copy;

	if (c->in.n_binds >= INPUTS_MAX_BINDS - 1)
		return usage_error("%s: more than 62 binds", opt, NULL);
	copy = strdup(arg);
	if (!copy)
		return usage_error("%s: out of memory", opt, NULL);
	b = &c->in.binds[c->in.n_binds++];
	colon = strchr(copy, ':');
	if (colon)
		*colon = '\0';
	b->src = copy;
	b->dest = colon ? colon + 1 : copy;
	b->rw = rw;
	if (!*b->src || !*b->dest)
		return usage_error("%s %s: expected SRC[:DEST]", opt, arg);
	if (b->src[0] != '/' || b->dest[0] != '/')
		return usage_error("%s %s: SRC and DEST must be absolute paths", opt, arg);
	return 0;
}

static int resolve_existing(const char *opt, const char *path, char *out, bool want_dir)
{
	struct stat st;

	if (!realpath(path, out) || stat(out, &st) < 0) {
		fprintf(stderr, "nsrun: %s: %s: %s\n", opt, path, strerror(errno));
		return 2;
	}
	if (want_dir && !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "nsrun: %s: %s: Not a directory\n", opt, path);
		return 2;
	}
	if (!want_dir && !S_ISREG(st.st_mode)) {
		fprintf(stderr, "nsrun: %s: %s: not a regular file\n", opt, path);
		return 2;
	}
	return 0;
}

static int parse_ids_env(struct cli *c)
{
	const char *names[2] = {"NSRUN_SANDBOX_UID", "NSRUN_SANDBOX_GID"};
	int64_t *dst[2] = {&c->in.sandbox_uid_env, &c->in.sandbox_gid_env};

	for (int i = 0; i < 2; i++) {
		const char *v = getenv(names[i]);
		long long n;

		*dst[i] = -1;
		if (!v || !*v)
			continue;
		if (parse_int(v, 1, 4294967294LL, &n) < 0)
			return usage_error("%s: must be an integer in 1..4294967294, got '%s'",
					   names[i], v);
		*dst[i] = n;
	}
	return 0;
}

/* Takes "--opt value" or "--opt=value". Returns the value or NULL. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
	size_t len = strlen(name);

	if (*i >= argc || !argv[*i] || strncmp(argv[*i], name, len) != 0)
		return NULL;
	if (argv[*i][len] == '=')
		return argv[*i] + len + 1;
	if (argv[*i][len] != '\0')
		return NULL;
	if (*i + 1 >= argc)
		return "";
	return argv[++*i];
}

static int parse_option(int argc, char **argv, int *i, struct cli *c)
{
	const char *a = argv[*i], *v;
	bool runlike = c->cmd == CMD_RUN || c->cmd == CMD_SCRIPT;
	long long n;

#define MISSING(o) (!*v ? usage_error("%s: missing value", o, NULL) : 0)
	if ((v = opt_value(argc, argv, i, "--policy")))
		return MISSING("--policy") ?: (c->policy_path = v, 0);
	if ((v = opt_value(argc, argv, i, "--override")))
		return MISSING("--override") ?: (c->override_path = v, 0);
	if (!runlike)
		return usage_error("%s: unknown option for this command", a, NULL);
	if ((v = opt_value(argc, argv, i, "--scratch"))) {
		if (MISSING("--scratch") || resolve_existing("--scratch", v, c->scratch_real, true))
			return 2;
		c->in.scratch_dir = c->scratch_real;
		return 0;
	}
	if ((v = opt_value(argc, argv, i, "--ro-bind")))
		return MISSING("--ro-bind") ?: add_bind(c, "--ro-bind", v, false);
	if ((v = opt_value(argc, argv, i, "--bind")))
		return MISSING("--bind") ?: add_bind(c, "--bind", v, true);
	if ((v = opt_value(argc, argv, i, "--env"))) {
		const char *why = env_override_invalid(v);

		if (why)
			return usage_error("--env '%s': %s", v, why);
		if (c->in.n_env_overrides >= INPUTS_MAX_ENV)
			return usage_error("--env: more than %s overrides", "128", NULL);
		c->in.env_overrides[c->in.n_env_overrides++] = v;
		return 0;
	}
	if ((v = opt_value(argc, argv, i, "--timeout-ms"))) {
		if (parse_int(v, 1, 31LL * 24 * 3600 * 1000, &n) < 0)
			return usage_error("--timeout-ms: must be an integer in 1..2678400000, got '%s'",
					   v, NULL);
		c->in.timeout_ms = n;
		return 0;
	}
	if (strcmp(a, "--host-etc") == 0) {
		c->in.host_etc = true;
		return 0;
	}
	if (c->cmd == CMD_RUN && (v = opt_value(argc, argv, i, "--report")))
		return MISSING("--report") ?: (c->report_path = v, 0);
	if (c->cmd == CMD_RUN && (v = opt_value(argc, argv, i, "--report-fd"))) {
		if (parse_int(v, 0, INT_MAX, &n) < 0 || fcntl((int)n, F_GETFD) < 0)
			return usage_error("--report-fd: '%s' is not an open file descriptor", v, NULL);
		c->report_fd = (int)n;
		return 0;
	}
	if (c->cmd == CMD_SCRIPT && (v = opt_value(argc, argv, i, "--script")))
		return c->script_text ? usage_error("--script given twice", NULL, NULL)
				      : (c->script_text = v, 0);
	if (c->cmd == CMD_SCRIPT && (v = opt_value(argc, argv, i, "--script-file"))) {
		if (MISSING("--script-file") ||
		    resolve_existing("--script-file", v, c->script_file_real, false))
			return 2;
		if (access(c->script_file_real, R_OK) < 0) {
			fprintf(stderr, "nsrun: --script-file: %s: %s\n", v, strerror(errno));
			return 2;
		}
		c->script_file = c->script_file_real;
		return 0;
	}
	if (c->cmd == CMD_SCRIPT && (v = opt_value(argc, argv, i, "--interpreter"))) {
		if (MISSING("--interpreter") ||
		    resolve_existing("--interpreter", v, c->interpreter_real, false))
			return 2;
		if (access(c->interpreter_real, X_OK) < 0) {
			fprintf(stderr, "nsrun: --interpreter: %s: %s\n", v, strerror(errno));
			return 2;
		}
		c->in.interpreter = c->interpreter_real;
		return 0;
	}
#undef MISSING
	return usage_error("%s: unknown option for this command", a, NULL);
}

/* The script command turns into a run of /bin/sh or the interpreter; the
 * script file is bound read-only at a fixed path inside. */
static int finish_script(struct cli *c)
{
	static const char script_dest[] = "/run/nsrun/script";

	if (!c->script_text == !c->script_file)
		return usage_error("script: give exactly one of --script TEXT or --script-file FILE",
				   NULL, NULL);
	if (c->in.interpreter && !c->script_file)
		return usage_error("script: --interpreter needs --script-file", NULL, NULL);
	if (c->script_text) {
		c->script_argv[0] = "/bin/sh";
		c->script_argv[1] = "-c";
		c->script_argv[2] = (char *)c->script_text;
	} else {
		struct bind_spec *b = &c->in.binds[c->in.n_binds++];
		const char *base = strrchr(c->script_file, '/') + 1;
		static char dest[sizeof(script_dest) + 256];

		/* Keep the file name: Node decides ESM vs CJS by its extension. */
		snprintf(dest, sizeof(dest), "%s/%.255s", script_dest, base);
		*b = (struct bind_spec){.src = c->script_file, .dest = dest, .internal = true};
		c->script_argv[0] = (char *)(c->in.interpreter ? c->in.interpreter : "/bin/sh");
		c->script_argv[1] = dest;
	}
	c->in.argv = c->script_argv;
	c->in.capture = true;
	return 0;
}

void cli_script_in_place(struct cli *c)
{
	if (c->in.n_binds > 0 && c->in.binds[c->in.n_binds - 1].internal)
		c->in.n_binds--;
	c->script_argv[1] = c->script_file_real;
}

void cli_free(struct cli *c)
{
	for (size_t i = 0; i < c->in.n_binds; i++)
		if (!c->in.binds[i].internal)
			free((char *)c->in.binds[i].src);
	c->in.n_binds = 0;
}

int cli_parse(int argc, char **argv, char **environ_, struct cli *c)
{
	int i = 2;

	memset(c, 0, sizeof(*c));
	c->report_fd = -1;
	c->in.caller_env = environ_;
	if (argc < 2)
		return usage_error("missing command: run, script, probe or policy", NULL, NULL);
	if (!strcmp(argv[1], "run"))
		c->cmd = CMD_RUN;
	else if (!strcmp(argv[1], "script"))
		c->cmd = CMD_SCRIPT;
	else if (!strcmp(argv[1], "probe"))
		c->cmd = CMD_PROBE;
	else if (!strcmp(argv[1], "policy"))
		c->cmd = CMD_POLICY;
	else if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))
		return c->cmd = CMD_HELP, 0;
	else if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))
		return c->cmd = CMD_VERSION, 0;
	else
		return usage_error("unknown command '%s'", argv[1], NULL);

	for (; i < argc; i++) {
		int r;

		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return c->cmd = CMD_HELP, 0;
		if (argv[i][0] != '-' || argv[i][1] == '\0') {
			if (c->cmd != CMD_RUN)
				return usage_error("unexpected argument '%s'", argv[i], NULL);
			break; /* the command starts here, as with bwrap */
		}
		r = parse_option(argc, argv, &i, c);
		if (r)
			return r;
	}
	if (c->report_path && c->report_fd >= 0)
		return usage_error("--report and --report-fd are exclusive", NULL, NULL);
	if (c->cmd == CMD_RUN) {
		if (i >= argc || !argv[i][0])
			return usage_error("run: missing COMMAND (nsrun run [OPTIONS] -- COMMAND [ARG...])",
					   NULL, NULL);
		c->in.argv = &argv[i];
	} else if (i < argc) {
		return usage_error("unexpected argument '%s'", argv[i], NULL);
	}
	if (c->cmd == CMD_SCRIPT && finish_script(c))
		return 2;
	if ((c->cmd == CMD_RUN || c->cmd == CMD_SCRIPT || c->cmd == CMD_PROBE) && parse_ids_env(c))
		return 2;
	if (c->policy_path && c->override_path && !strcmp(c->policy_path, "-") &&
	    !strcmp(c->override_path, "-"))
		return usage_error("--policy and --override cannot both read stdin", NULL, NULL);
	return 0;
}
