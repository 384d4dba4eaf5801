#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/policy.h"

static int load(const char *base, const char *over, struct policy *p, struct nsrun_err *e)
{
	return policy_from_texts(base, base ? strlen(base) : 0, over, over ? strlen(over) : 0, p, e);
}

static void expect_error(const char *base, const char *fragment)
{
	struct policy p;
	struct nsrun_err e = {0};

	cr_assert_lt(load(base, NULL, &p, &e), 0, "accepted: %s", base);
	cr_assert_str_eq(e.stage, "policy");
	cr_assert(strstr(e.detail, fragment), "'%s' lacks '%s'", e.detail, fragment);
}

Test(policy, default_profile_is_spec_section_3)
{
	struct policy p;
	struct nsrun_err e = {0};

	cr_assert_eq(load(NULL, NULL, &p, &e), 0, "%s", e.detail);
	cr_assert(p.enabled);
	cr_assert_eq(p.on_unavailable, ON_UNAVAILABLE_FAIL);
	cr_assert_eq(p.res.cpu_seconds, 60);
	cr_assert_eq(p.res.memory_bytes, 536870912);
	cr_assert_eq(p.res.max_open_files, 1024);
	cr_assert_eq(p.res.max_processes, 256);
	cr_assert_eq(p.res.max_output_bytes, 5242880);
	cr_assert_eq(p.res.max_file_size_bytes, 268435456);
	cr_assert_eq(p.fs_mode, FS_MODE_SCRATCH_PLUS_RO);
	cr_assert_eq(p.net_mode, NET_MODE_ALLOWLIST);
	cr_assert_eq(p.net_allow_len, 0);
	cr_assert(p.deny_link_local_and_metadata);
	cr_assert_eq(p.priv_mode, PRIV_MODE_DROP_TO_UID);
	cr_assert_eq(p.priv_uid, POLICY_UNSET);
	policy_free(&p);
}

Test(policy, override_replaces_only_its_keys)
{
	struct policy p;
	struct nsrun_err e = {0};

	cr_assert_eq(load(NULL, "{\"network\":{\"mode\":\"deny\"}}", &p, &e), 0, "%s", e.detail);
	cr_assert_eq(p.net_mode, NET_MODE_DENY);
	cr_assert(p.deny_link_local_and_metadata, "sibling key kept");
	cr_assert_eq(p.res.max_processes, 256);
	cr_assert_eq(p.fs_mode, FS_MODE_SCRATCH_PLUS_RO);
	policy_free(&p);
}

Test(policy, base_then_override)
{
	struct policy p;
	struct nsrun_err e = {0};
	const char *base = "{\"resources\":{\"cpuSeconds\":5},\"network\":{\"allow\":[\"10.0.0.0/8\"]}}";
	const char *over = "{\"resources\":{\"maxProcesses\":64},\"onUnavailable\":\"degrade\"}";

	cr_assert_eq(load(base, over, &p, &e), 0, "%s", e.detail);
	cr_assert_eq(p.res.cpu_seconds, 5);
	cr_assert_eq(p.res.max_processes, 64);
	cr_assert_eq(p.res.memory_bytes, 536870912, "default kept under --policy");
	cr_assert_eq(p.net_allow_len, 1);
	cr_assert_eq(p.net_allow[0].family, AF_INET);
	cr_assert_eq(p.net_allow[0].prefix, 8);
	cr_assert_eq(p.net_allow[0].addr[0], 10);
	cr_assert_eq(p.on_unavailable, ON_UNAVAILABLE_DEGRADE);
	policy_free(&p);
}

Test(policy, null_removes_a_cap)
{
	struct policy p;
	struct nsrun_err e = {0};

	cr_assert_eq(load(NULL, "{\"resources\":{\"memoryBytes\":null}}", &p, &e), 0);
	cr_assert_eq(p.res.memory_bytes, POLICY_UNSET);
	policy_free(&p);
}

Test(policy, unknown_keys_name_their_path)
{
	expect_error("{\"bogus\":1}", "bogus: unknown key");
	expect_error("{\"resources\":{\"maxProcess\":1}}", "resources.maxProcess: unknown key");
	expect_error("{\"network\":{\"allowed\":[]}}", "network.allowed: unknown key");
	expect_error("{\"filesystem\":{\"root\":\"/\"}}", "filesystem.root: unknown key");
	expect_error("{\"privilege\":{\"user\":1}}", "privilege.user: unknown key");
}

Test(policy, wrong_types_and_ranges)
{
	expect_error("{\"resources\":{\"maxProcesses\":0}}",
		     "resources.maxProcesses: must be an integer in 1..65536");
	expect_error("{\"resources\":{\"maxProcesses\":70000}}", "resources.maxProcesses");
	expect_error("{\"resources\":{\"maxProcesses\":\"5\"}}", "resources.maxProcesses");
	expect_error("{\"resources\":{\"cpuSeconds\":1.5}}", "resources.cpuSeconds");
	expect_error("{\"resources\":{\"memoryBytes\":-1}}", "resources.memoryBytes");
	expect_error("{\"resources\":[]}", "resources: must be an object");
	expect_error("{\"enabled\":\"yes\"}", "enabled: must be true or false");
	expect_error("{\"onUnavailable\":\"maybe\"}", "onUnavailable: must be one of");
	expect_error("{\"filesystem\":{\"mode\":\"rw\"}}", "filesystem.mode: must be one of");
	expect_error("{\"network\":{\"mode\":\"open\"}}", "network.mode");
	expect_error("{\"network\":{\"allow\":\"10.0.0.1\"}}", "network.allow: must be an array");
	expect_error("{\"network\":{\"allow\":[1]}}", "network.allow[0]: must be a string");
	expect_error("{\"privilege\":{\"uid\":0}}", "privilege.uid");
	expect_error("{\"privilege\":{\"mode\":\"root\"}}", "privilege.mode");
	expect_error("[]", "must be a JSON object");
}

Test(policy, malformed_cidrs_name_the_entry)
{
	expect_error("{\"network\":{\"allow\":[\"10.0.0.1\",\"10.0.0.0/33\"]}}", "network.allow[1]: \"10.0.0.0/33\"");
	expect_error("{\"network\":{\"allow\":[\"abc\"]}}", "network.allow[0]: \"abc\"");
	expect_error("{\"network\":{\"allow\":[\"::1/129\"]}}", "network.allow[0]: \"::1/129\"");
}

Test(policy, huge_entry_is_not_echoed)
{
	struct policy p;
	struct nsrun_err e = {0};
	size_t n = 10240;
	char *doc = malloc(n + 64);

	strcpy(doc, "{\"network\":{\"allow\":[\"");
	memset(doc + strlen(doc), '1', n);
	strcpy(doc + 22 + n, "\"]}}");
	cr_assert_lt(load(doc, NULL, &p, &e), 0);
	cr_assert(strstr(e.detail, "network.allow[0]"));
	cr_assert_lt(strlen(e.detail), 300);
	free(doc);
}

Test(policy, invalid_json_and_duplicates)
{
	expect_error("{", "invalid JSON");
	expect_error("{\"enabled\":true,\"enabled\":false}", "invalid JSON");
}

Test(policy, deep_nesting_is_an_error_not_a_crash)
{
	size_t depth = 100000;
	char *doc = malloc(depth * 2 + 32);
	struct policy p;
	struct nsrun_err e = {0};

	strcpy(doc, "{\"network\":{\"allow\":");
	size_t off = strlen(doc);
	memset(doc + off, '[', depth);
	memset(doc + off + depth, ']', depth);
	strcpy(doc + off + 2 * depth, "}}");
	cr_assert_lt(load(doc, NULL, &p, &e), 0);
	cr_assert(strstr(e.detail, "invalid JSON"), "%s", e.detail);
	free(doc);
}

Test(policy, round_trip_through_json)
{
	struct policy p, q;
	struct nsrun_err e = {0};
	char *text;

	cr_assert_eq(load("{\"privilege\":{\"uid\":1234,\"gid\":1235},\"network\":{\"mode\":\"unrestricted\"}}",
			  NULL, &p, &e), 0);
	text = policy_to_json_text(&p, false);
	cr_assert_eq(load(text, NULL, &q, &e), 0, "%s", e.detail);
	cr_assert_eq(q.priv_uid, 1234);
	cr_assert_eq(q.priv_gid, 1235);
	cr_assert_eq(q.net_mode, NET_MODE_UNRESTRICTED);
	free(text);
	policy_free(&p);
	policy_free(&q);
}

Test(policy, printed_policy_reads_back_the_same_with_unset_caps)
{
	struct policy p, q;
	struct nsrun_err e = {0};
	char *text;

	cr_assert_eq(load(NULL, "{\"resources\":{\"memoryBytes\":null}}", &p, &e), 0);
	text = policy_to_json_text(&p, false);
	cr_assert_eq(load(text, NULL, &q, &e), 0, "%s", e.detail);
	cr_assert_eq(q.res.memory_bytes, POLICY_UNSET, "an unset cap came back from the default");
	free(text);
	policy_free(&p);
	policy_free(&q);
}

/* Entries are kept parsed and printed normalised: the printed policy reads
 * back as the same entries, and printing it again changes nothing. */
Test(policy, allow_entries_print_normalised_and_read_back_the_same)
{
	struct policy p, q;
	struct nsrun_err e = {0};
	char *text, *again;

	cr_assert_eq(load("{\"network\":{\"allow\":[\"10.0.0.1\",\"10.0.0.5/8\",\"2001:DB8::1/64\","
			  "\"::ffff:1.2.3.4\"]}}",
			  NULL, &p, &e),
		     0, "%s", e.detail);
	text = policy_to_json_text(&p, false);
	cr_assert(strstr(text, "[\"10.0.0.1/32\",\"10.0.0.0/8\",\"2001:db8::/64\","
			       "\"::ffff:1.2.3.4/128\"]"),
		  "%s", text);
	cr_assert_eq(load(text, NULL, &q, &e), 0, "%s", e.detail);
	cr_assert_eq(q.net_allow_len, 4);
	cr_assert_eq(memcmp(p.net_allow, q.net_allow, 4 * sizeof(*p.net_allow)), 0);
	again = policy_to_json_text(&q, false);
	cr_assert_str_eq(text, again);
	free(text);
	free(again);
	policy_free(&p);
	policy_free(&q);
}

/* The policy accepts exactly as many allowlist entries as the plan can
 * load (it once took 100,000, and a valid-looking policy then failed at
 * run time with "at most 65536"). */
static char *allowlist_of(size_t n)
{
	char *doc = malloc(32 + n * 16), *s = doc;

	s += sprintf(s, "{\"network\":{\"allow\":[");
	for (size_t i = 0; i < n; i++)
		s += sprintf(s, "%s\"10.%zu.%zu.1\"", i ? "," : "", i / 256 % 256, i % 256);
	strcpy(s, "]}}");
	return doc;
}

Test(policy, allowlist_limit_is_the_plans)
{
	struct policy p;
	struct nsrun_err e = {0};
	char *at = allowlist_of(POLICY_MAX_ALLOW), *over = allowlist_of(POLICY_MAX_ALLOW + 1);

	cr_assert_eq(POLICY_MAX_ALLOW, 65536);
	cr_assert_eq(load(at, NULL, &p, &e), 0, "%s", e.detail);
	cr_assert_eq(p.net_allow_len, (size_t)POLICY_MAX_ALLOW);
	policy_free(&p);
	expect_error(over, "network.allow: more than 65536 entries");
	free(at);
	free(over);
}
