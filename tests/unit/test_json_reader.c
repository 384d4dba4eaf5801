/* The strict JSON reader behind policy parsing: values, every refusal, and
 * the limits (nesting, integers, Unicode). tests/fuzz/fuzz_json.c holds it
 * against jansson on arbitrary input. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/json_reader.h"

/* The reader parses in place: every test text is a copy, freed with the
 * document. */
struct parsed {
	struct jr_doc d;
	char *text;
};

static struct parsed parse_ok(const char *text)
{
	struct parsed p = {.text = strdup(text)};
	struct jr_error e;
	int r;

	cr_assert_not_null(p.text);
	r = jr_parse(p.text, strlen(text), &p.d, &e);
	cr_assert_eq(r, 0, "'%s' refused at %d:%d: %s", text, e.line, e.column, e.text);
	return p;
}

static void done(struct parsed *p)
{
	jr_free(&p->d);
	free(p->text);
	p->text = NULL;
}

static struct jr_error parse_bad(const char *text, size_t len, const char *reason)
{
	struct jr_doc d;
	struct jr_error e;
	char *copy = malloc(len + 1);

	cr_assert_not_null(copy);
	memcpy(copy, text, len);
	cr_assert_eq(jr_parse(copy, len, &d, &e), -EINVAL, "'%s' accepted", text);
	free(copy);
	cr_assert_null(d.arena, "a refused document keeps no memory");
	cr_assert(strstr(e.text, reason), "'%s': '%s' lacks '%s'", text, e.text, reason);
	cr_assert_geq(e.line, 1);
	cr_assert_geq(e.column, 1);
	jr_free(&d);
	return e;
}

#define BAD(text, reason) parse_bad(text, strlen(text), reason)

Test(json_reader, values_in_document_order)
{
	struct parsed d = parse_ok(" {\"a\": [1, -0, -9223372036854775808, 9223372036854775807, 1.5e3,"
				   " true, false, null, \"x\\ty\\u00e9\\ud83d\\ude00\"],\n"
				   "  \"\": {}, \"b\": []} ");
	const struct jr_value *a;

	cr_assert_eq(d.d.root.type, JR_OBJECT);
	cr_assert_eq(d.d.root.len, 3);
	cr_assert_str_eq(d.d.root.u.members[0].key, "a");
	cr_assert_str_eq(d.d.root.u.members[1].key, "");
	cr_assert_eq(d.d.root.u.members[1].value.type, JR_OBJECT);
	cr_assert_eq(d.d.root.u.members[1].value.len, 0);
	cr_assert_str_eq(d.d.root.u.members[2].key, "b");
	cr_assert_eq(d.d.root.u.members[2].value.type, JR_ARRAY);
	a = &d.d.root.u.members[0].value;
	cr_assert_eq(a->type, JR_ARRAY);
	cr_assert_eq(a->len, 9);
	cr_assert_eq(a->u.items[0].type, JR_INT);
	cr_assert_eq(a->u.items[0].u.i, 1);
	cr_assert_eq(a->u.items[1].u.i, 0);
	cr_assert_eq(a->u.items[2].u.i, INT64_MIN);
	cr_assert_eq(a->u.items[3].u.i, INT64_MAX);
	cr_assert_eq(a->u.items[4].type, JR_REAL);
	cr_assert_eq(a->u.items[5].type, JR_BOOL);
	cr_assert(a->u.items[5].u.b);
	cr_assert_not(a->u.items[6].u.b);
	cr_assert_eq(a->u.items[7].type, JR_NULL);
	cr_assert_eq(a->u.items[8].type, JR_STRING);
	cr_assert_str_eq(a->u.items[8].u.s, "x\ty\xc3\xa9\xf0\x9f\x98\x80");
	cr_assert_eq(a->u.items[8].len, 9);
	done(&d);
	cr_assert_null(d.d.arena);
	jr_free(&d.d); /* twice is fine */
}

/* Strings without escapes are read where they are: only their closing
 * quotes change (to NULs); decoded ones live in the arena. */
Test(json_reader, strings_in_place)
{
	const char *orig = "{\"k\": [\"abc\", \"d\\u0065f\"]}";
	struct parsed d = parse_ok(orig);
	const struct jr_value *a = &d.d.root.u.members[0].value;

	cr_assert_eq(d.d.root.u.members[0].key, d.text + 2);
	cr_assert_eq(a->u.items[0].u.s, d.text + 8);
	cr_assert_str_eq(a->u.items[1].u.s, "def");
	cr_assert(a->u.items[1].u.s < d.text || a->u.items[1].u.s > d.text + strlen(orig));
	for (size_t i = 0; i < strlen(orig); i++)
		cr_assert(d.text[i] == orig[i] || (orig[i] == '"' && d.text[i] == '\0'),
			  "byte %zu changed", i);
	done(&d);
}

Test(json_reader, any_top_level_value)
{
	struct parsed d = parse_ok("\"policy\"");

	cr_assert_eq(d.d.root.type, JR_STRING);
	done(&d);
	d = parse_ok("42");
	cr_assert_eq(d.d.root.u.i, 42);
	done(&d);
}

Test(json_reader, syntax_errors_say_where)
{
	struct jr_error e = BAD("{\n  \"a\": 1,\n  \"b\" 2\n}", "':' expected");

	cr_assert_eq(e.line, 3);
	cr_assert_eq(e.column, 7);
	BAD("", "unexpected end of input");
	BAD("   ", "unexpected end of input");
	BAD("{", "string (an object key) expected");
	BAD("{\"a\":1,}", "string (an object key) expected");
	BAD("[1,]", "unexpected character");
	BAD("[1 2]", "',' or ']' expected");
	BAD("{\"a\":1 \"b\":2}", "',' or '}' expected");
	BAD("[] []", "end of input expected");
	BAD("tru", "invalid token");
	BAD("nul", "invalid token");
	BAD("[truex]", "',' or ']' expected");
	BAD("\xef\xbb\xbf{}", "unexpected character"); /* no BOM, as in jansson */
	BAD("{'a':1}", "string (an object key) expected");
	BAD("[NaN]", "unexpected character");
}

/* An object of 100 keys (the sorted duplicate check) plus last_key. */
static size_t object_of_many_keys(char *buf, size_t size, const char *last_key)
{
	size_t n = (size_t)snprintf(buf, size, "{");

	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(buf + n, size - n, "\"k%d\":%d,", i, i);
	n += (size_t)snprintf(buf + n, size - n, "\"%s\":0}", last_key);
	return n;
}

Test(json_reader, duplicate_keys)
{
	char big[4096];
	struct parsed d;

	BAD("{\"a\":1,\"a\":2}", "duplicate key");
	BAD("{\"x\":{\"a\":1,\"b\":2,\"a\":3}}", "duplicate key");
	object_of_many_keys(big, sizeof(big), "k57");
	BAD(big, "duplicate key");
	object_of_many_keys(big, sizeof(big), "k100");
	d = parse_ok(big);
	cr_assert_eq(d.d.root.len, 101);
	done(&d);
	/* Keys compare decoded. */
	d = parse_ok("{\"a\\u0062\":1,\"ab\\u0063\":2}");
	cr_assert_str_eq(d.d.root.u.members[0].key, "ab");
	done(&d);
	BAD("{\"ab\":1,\"a\\u0062\":2}", "duplicate key");
}

Test(json_reader, numbers)
{
	BAD("01", "end of input expected");
	BAD("-", "invalid number");
	BAD("1.", "invalid number");
	BAD("1.e5", "invalid number");
	BAD("1e", "invalid number");
	BAD("+1", "unexpected character");
	BAD(".5", "unexpected character");
	BAD("9223372036854775808", "integer out of range");
	BAD("-9223372036854775809", "integer out of range");
	BAD("1e999", "real number overflow");
	BAD("-1e999", "real number overflow");
	{
		struct parsed d = parse_ok("[1e-999, 0.0, -0.5E+2, 1E5]");

		for (size_t i = 0; i < d.d.root.len; i++)
			cr_assert_eq(d.d.root.u.items[i].type, JR_REAL);
		done(&d);
	}
}

Test(json_reader, strings_are_strict_utf8)
{
	BAD("\"abc", "unterminated string");
	BAD("\"a\\", "unterminated string");
	BAD("\"a\nb\"", "control character 0x0a");
	BAD("\"\\x\"", "invalid escape");
	BAD("\"\\u12\"", "invalid \\u escape");
	BAD("\"\\u12g4\"", "invalid \\u escape");
	BAD("\"\\u0000\"", "\\u0000 is not allowed");
	BAD("\"\\udc00\"", "lone low surrogate");
	BAD("\"\\ud800\"", "without its pair");
	BAD("\"\\ud800\\u0041\"", "without its pair");
	BAD("\"\xc0\x80\"", "invalid UTF-8");	      /* overlong NUL */
	BAD("\"\xe0\x80\xaf\"", "invalid UTF-8");     /* overlong '/' */
	BAD("\"\xed\xa0\x80\"", "invalid UTF-8");     /* an encoded surrogate */
	BAD("\"\xf4\x90\x80\x80\"", "invalid UTF-8"); /* above U+10FFFF */
	BAD("\"\xe2\x82\"", "invalid UTF-8");	      /* truncated */
	BAD("\"\x80\"", "invalid UTF-8");
	/* A NUL byte is an error wherever it is. */
	parse_bad("\"a\0b\"", 5, "control character 0x00");
	parse_bad("[1]\0", 4, "end of input expected");
	{
		/* Long strings cross the 8-byte scan with specials at every offset. */
		struct parsed d = parse_ok("[\"abcdefghijklmnopqrstuvwxyz\", \"abcdefgh\\\"ijklmnop\","
					   " \"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\", \"\x7f\"]");

		cr_assert_str_eq(d.d.root.u.items[1].u.s, "abcdefgh\"ijklmnop");
		cr_assert_eq(d.d.root.u.items[2].len, 10);
		done(&d);
	}
	for (size_t at = 0; at < 24; at++) {
		char text[40];

		memset(text, 'a', sizeof(text));
		text[0] = '"';
		text[1 + at] = '\x01';
		text[30] = '"';
		parse_bad(text, 31, "control character 0x01");
	}
}

Test(json_reader, nesting_limit_is_janssons)
{
	size_t depth = JR_MAX_DEPTH + 1;
	char *text = malloc(2 * depth + 2);
	struct jr_doc d;
	struct jr_error e;

	cr_assert_not_null(text);
	/* JR_MAX_DEPTH - 1 arrays around a scalar: the scalar is at the limit. */
	memset(text, '[', JR_MAX_DEPTH - 1);
	text[JR_MAX_DEPTH - 1] = '1';
	memset(text + JR_MAX_DEPTH, ']', JR_MAX_DEPTH - 1);
	cr_assert_eq(jr_parse(text, 2 * JR_MAX_DEPTH - 1, &d, &e), 0, "%s", e.text);
	jr_free(&d);
	memset(text, '[', depth);
	text[depth] = '1';
	memset(text + depth + 1, ']', depth);
	cr_assert_eq(jr_parse(text, 2 * depth + 1, &d, &e), -EINVAL);
	cr_assert(strstr(e.text, "nesting deeper than 2048"), "%s", e.text);
	free(text);
}

/* The shape of the 10,000-entry benchmark allowlist: one big array. */
Test(json_reader, big_array)
{
	size_t n = 20000, len = 0;
	char *text = malloc(n * 24 + 64);
	struct jr_doc d;
	struct jr_error e;

	cr_assert_not_null(text);
	len += (size_t)sprintf(text, "{\"allow\":[");
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(text + len, "%s\"198.%zu.%zu.%zu/31\"", i ? "," : "",
				       18 + i / 16384, (i / 64) % 256, (i % 64) * 4);
	len += (size_t)sprintf(text + len, "]}");
	cr_assert_eq(jr_parse(text, len, &d, &e), 0, "%s", e.text);
	cr_assert_eq(d.root.u.members[0].value.len, n);
	cr_assert_str_eq(d.root.u.members[0].value.u.items[n - 1].u.s, "198.19.56.124/31");
	jr_free(&d);
	free(text);
}
