/* A strict JSON reader for policy documents: RFC 8259, and what jansson's
 * json_loadb(JSON_REJECT_DUPLICATES | JSON_DECODE_ANY) accepts, exactly
 * (tests/fuzz/fuzz_json.c holds the two side by side). Why not jansson: it
 * reads ~70 MB/s, 2.7 ms for an allowlist of 10,000 CIDRs, most of that run's
 * budget; this reader does the same document in ~0.3 ms.
 *
 * The document lives in one arena (values, decoded strings), freed by
 * jr_free, and in the text itself: a string without escapes is read in
 * place, its closing quote overwritten with its NUL, so the text must stay
 * alive and unchanged as long as the document. Strings are NUL-terminated
 * UTF-8 without NULs (a \u0000 escape is an error, as in jansson). Numbers with a fraction or an
 * exponent are JR_REAL and carry no value: the policy has no use for one. */
#ifndef NSRUN_JSON_READER_H
#define NSRUN_JSON_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum jr_type { JR_NULL, JR_BOOL, JR_INT, JR_REAL, JR_STRING, JR_ARRAY, JR_OBJECT };

struct jr_member;

struct jr_value {
	enum jr_type type;
	uint32_t len; /* string bytes, array items, object members */
	union {
		bool b;
		int64_t i;
		const char *s;
		const struct jr_value *items;
		const struct jr_member *members; /* in document order */
	} u;
};

struct jr_member {
	const char *key;
	uint32_t key_len;
	struct jr_value value;
};

/* Nesting deeper than this is an error (jansson's limit, counted the same
 * way: every value one level below its container, the top level at 1). */
#define JR_MAX_DEPTH 2048

struct jr_error {
	int line, column; /* 1-based; column in bytes */
	char text[96];
};

struct jr_arena;

struct jr_doc {
	struct jr_value root;
	struct jr_arena *arena;
};

/* Parses text[0..len) (NULs included: they are errors; at most 2 GiB).
 * 0, or -EINVAL with
 * *err filled (or -ENOMEM). doc is empty on failure; jr_free is safe on it
 * either way. */
int jr_parse(char *text, size_t len, struct jr_doc *doc, struct jr_error *err);
void jr_free(struct jr_doc *doc);

#endif
