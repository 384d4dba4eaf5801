/* libFuzzer target for the policy parser and merger (SPEC §2).
 *
 * Input layout: BASE [0x00 OVERRIDE]. The bytes before the first NUL are the
 * --policy text, the bytes after it the --override text; no NUL means no
 * override, and an empty BASE means "no --policy" (the built-in default
 * only). NUL cannot appear in valid JSON, so the split never hides a case the
 * CLI could reach.
 *
 * Beyond "no crash, no leak, no UB" it checks what the rest of nsrun relies
 * on:
 *   - an error always names a stage and carries a NUL-terminated detail;
 *   - a resolved policy only holds values the schema allows (enums in range,
 *     allow entries IPv4/IPv6 CIDRs with their host bits cleared);
 *   - the resolved policy printed by `nsrun policy` is itself a valid policy,
 *     and reading it back gives the same policy (resource caps removed with
 *     null excepted: see ROUNDTRIP_UNSET below). */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/err.h"
#include "runtime/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_policy: invariant broken: %s\n", what);
		abort();
	}
}

static void check_policy(const struct policy *p)
{
	const int64_t *res = &p->res.cpu_seconds;

	check(p->on_unavailable == ON_UNAVAILABLE_FAIL || p->on_unavailable == ON_UNAVAILABLE_DEGRADE,
	      "onUnavailable in range");
	check(p->fs_mode <= FS_MODE_SCRATCH_PLUS_RO, "filesystem.mode in range");
	check(p->net_mode <= NET_MODE_UNRESTRICTED, "network.mode in range");
	check(p->priv_mode <= PRIV_MODE_INHERIT, "privilege.mode in range");
	check(p->priv_uid == POLICY_UNSET || p->priv_uid >= 1, "privilege.uid never 0");
	check(p->priv_gid == POLICY_UNSET || p->priv_gid >= 1, "privilege.gid never 0");
	for (size_t i = 0; i < sizeof(p->res) / sizeof(int64_t); i++)
		check(res[i] == POLICY_UNSET || res[i] >= 1, "resource caps positive or unset");
	check(p->net_allow_len == 0 || p->net_allow != NULL, "allow list consistent");
	for (size_t i = 0; i < p->net_allow_len; i++) {
		struct cidr c = p->net_allow[i];

		check((c.family == AF_INET && c.prefix <= 32) ||
			  (c.family == AF_INET6 && c.prefix <= 128),
		      "allow entries are IPv4/IPv6 CIDRs");
		cidr_mask(&c);
		check(memcmp(&c, &p->net_allow[i], sizeof(c)) == 0, "allow entries' host bits clear");
	}
}

static void check_err(const struct nsrun_err *e)
{
	check(memchr(e->stage, 0, sizeof(e->stage)) != NULL, "stage terminated");
	check(memchr(e->detail, 0, sizeof(e->detail)) != NULL, "detail terminated");
	check(e->stage[0] != 0, "an error names its stage");
	check(e->detail[0] != 0, "an error has a detail");
}

/* Two resolved policies are the same, except where `a` left a resource
 * uncapped (null): text printed without that key gets the default's cap back
 * when it is read as a --policy (it is merged over the built-in default). */
static void check_same(const struct policy *a, const struct policy *b)
{
	const int64_t *ra = &a->res.cpu_seconds, *rb = &b->res.cpu_seconds;

	check(a->enabled == b->enabled, "roundtrip: enabled");
	check(a->on_unavailable == b->on_unavailable, "roundtrip: onUnavailable");
	for (size_t i = 0; i < sizeof(a->res) / sizeof(int64_t); i++) {
#ifndef ROUNDTRIP_UNSET
		if (ra[i] == POLICY_UNSET)
			continue;
#endif
		check(ra[i] == rb[i], "roundtrip: resources");
	}
	check(a->fs_mode == b->fs_mode, "roundtrip: filesystem.mode");
	check(a->net_mode == b->net_mode, "roundtrip: network.mode");
	check(a->deny_link_local_and_metadata == b->deny_link_local_and_metadata,
	      "roundtrip: denyLinkLocalAndMetadata");
	check(a->net_allow_len == b->net_allow_len, "roundtrip: allow length");
	for (size_t i = 0; i < a->net_allow_len; i++)
		check(memcmp(&a->net_allow[i], &b->net_allow[i], sizeof(a->net_allow[i])) == 0,
		      "roundtrip: allow entry");
	check(a->priv_mode == b->priv_mode, "roundtrip: privilege.mode");
	check(a->priv_uid == b->priv_uid, "roundtrip: privilege.uid");
	check(a->priv_gid == b->priv_gid, "roundtrip: privilege.gid");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *sep = memchr(data, 0, size);
	const char *base = (const char *)data, *over = NULL;
	size_t base_len = size, over_len = 0;
	struct policy p, again;
	struct nsrun_err err;
	char *text, *text2;

	/* Same cap as the file reader: bigger documents never reach the parser. */
	if (size > POLICY_MAX_BYTES)
		return -1;
	if (sep) {
		base_len = (size_t)(sep - data);
		over = (const char *)sep + 1;
		over_len = size - base_len - 1;
	}
	if (base_len == 0)
		base = NULL;

	memset(&err, 0, sizeof(err));
	if (policy_from_texts(base, base_len, over, over_len, &p, &err) < 0) {
		check_err(&err);
		return 0;
	}
	check_policy(&p);

	text = policy_to_json_text(&p, sep != NULL);
	check(text != NULL, "resolved policy prints");
	memset(&err, 0, sizeof(err));
	if (policy_from_texts(text, strlen(text), NULL, 0, &again, &err) < 0) {
		fprintf(stderr, "fuzz_policy: printed policy rejected: %s: %s\n%s\n", err.stage,
			err.detail, text);
		abort();
	}
	check_same(&p, &again);
	/* And printing is a fixed point from then on. */
	text2 = policy_to_json_text(&again, sep != NULL);
	check(text2 != NULL, "re-read policy prints");
	policy_free(&again);
	memset(&err, 0, sizeof(err));
	if (policy_from_texts(text2, strlen(text2), NULL, 0, &again, &err) == 0) {
		char *text3 = policy_to_json_text(&again, sep != NULL);

		check(text3 && strcmp(text2, text3) == 0, "printing is a fixed point");
		free(text3);
		policy_free(&again);
	} else {
		check(0, "re-printed policy rejected");
	}
	free(text2);
	free(text);
	policy_free(&p);
	return 0;
}
