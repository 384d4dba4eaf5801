/* The policy of SPEC §2: types, strict JSON parsing, the built-in default and
 * merging. Pure: no syscalls besides reading the policy file. */
#ifndef NSRUN_POLICY_H
#define NSRUN_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "err.h"
#include "netns/cidr.h"

enum on_unavailable { ON_UNAVAILABLE_FAIL, ON_UNAVAILABLE_DEGRADE };
enum fs_mode { FS_MODE_OFF, FS_MODE_SCRATCH_ONLY, FS_MODE_SCRATCH_PLUS_RO };
enum net_mode { NET_MODE_DENY, NET_MODE_ALLOWLIST, NET_MODE_UNRESTRICTED };
enum priv_mode { PRIV_MODE_DROP_TO_UID, PRIV_MODE_INHERIT };

#define POLICY_UNSET (-1)

/* network.allow entries: as many as the egress filter's plan loads
 * (netns/plan.c checks the same bound). */
#define POLICY_MAX_ALLOW 65536

struct policy_resources {
	/* POLICY_UNSET when absent: no cap of that kind. */
	int64_t cpu_seconds;
	int64_t memory_bytes;
	int64_t max_open_files;
	int64_t max_processes;
	int64_t max_output_bytes;
	int64_t max_file_size_bytes;
};

struct policy {
	bool enabled;
	enum on_unavailable on_unavailable;
	struct policy_resources res;
	enum fs_mode fs_mode;
	enum net_mode net_mode;
	/* Parsed once, here: the network layer takes them as they are, and
	 * printing the policy formats them back ("10.0.0.1" reads back as
	 * "10.0.0.1/32", "10.0.0.5/8" as "10.0.0.0/8": the same entries). */
	struct cidr *net_allow;
	size_t net_allow_len;
	bool deny_link_local_and_metadata;
	enum priv_mode priv_mode;
	int64_t priv_uid; /* POLICY_UNSET when absent */
	int64_t priv_gid;
};

/* Upper bound on a policy document read from a file or stdin. */
#define POLICY_MAX_BYTES (16u << 20)
/* How long a FIFO, pipe or socket gets to deliver a whole policy. */
#define POLICY_READ_TIMEOUT_MS 5000

/* The built-in default profile of SPEC §3, as JSON text. */
extern const char policy_default_json[];

/* Resolves base (NULL = built-in default) and override (NULL = none) files
 * into *out: the default, merged with the base file, merged with the
 * override, then validated. "-" reads stdin. Errors name the field:
 * stage "policy", detail "resources.maxProcesses: must be an integer in 1..65536". */
int policy_load(const char *base_path, const char *override_path, struct policy *out,
		struct nsrun_err *err);

/* Same from in-memory JSON texts (used by tests and fuzzers). */
int policy_from_texts(const char *base_text, size_t base_len, const char *override_text,
		      size_t override_len, struct policy *out, struct nsrun_err *err);

/* The resolved policy as a JSON text (caller frees). */
char *policy_to_json_text(const struct policy *p, bool pretty);

void policy_free(struct policy *p);

const char *policy_fs_mode_name(enum fs_mode m);
const char *policy_net_mode_name(enum net_mode m);

#endif
