/* libFuzzer target for runtime/json_reader.c, differential: jansson (what
 * the policy was read with before) is the oracle.
 *
 *   - the reader accepts a document exactly when json_loadb accepts it with
 *     JSON_REJECT_DUPLICATES | JSON_DECODE_ANY (same nesting limit, same
 *     Unicode and number rules), except that it refuses every NUL byte:
 *     jansson 2.14 swallows one right after a number or literal ("[6\0]"
 *     is accepted), RFC 8259 allows none;
 *   - an accepted document has the same value: types, integers, strings
 *     (bytes), array order, object members (jansson keeps insertion order);
 *   - a refused one has a position inside the text (or just past it) and a
 *     reason;
 *   - no crash, no leak, no UB (ASan/UBSan, scripts/fuzz.sh). */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/json_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_json: invariant broken: %s\n", what);
		abort();
	}
}

static void same(const struct jr_value *v, json_t *j)
{
	switch (v->type) {
	case JR_NULL:
		check(json_is_null(j), "null");
		break;
	case JR_BOOL:
		check(json_is_boolean(j) && json_is_true(j) == v->u.b, "bool");
		break;
	case JR_INT:
		check(json_is_integer(j) && json_integer_value(j) == v->u.i, "integer");
		break;
	case JR_REAL:
		check(json_is_real(j), "real");
		break;
	case JR_STRING:
		check(json_is_string(j) && json_string_length(j) == v->len &&
			  memcmp(json_string_value(j), v->u.s, v->len) == 0 &&
			  v->u.s[v->len] == '\0',
		      "string");
		break;
	case JR_ARRAY:
		check(json_is_array(j) && json_array_size(j) == v->len, "array");
		for (size_t i = 0; i < v->len; i++)
			same(&v->u.items[i], json_array_get(j, i));
		break;
	case JR_OBJECT: {
		size_t i = 0;
		const char *key;
		json_t *jv;

		check(json_is_object(j) && json_object_size(j) == v->len, "object");
		/* jansson iterates in insertion order = document order. */
		json_object_foreach(j, key, jv) {
			check(strlen(key) == v->u.members[i].key_len &&
				  memcmp(key, v->u.members[i].key, v->u.members[i].key_len) == 0,
			      "object key");
			same(&v->u.members[i].value, jv);
			i++;
		}
		break;
	}
	default:
		check(0, "type in range");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jr_doc doc;
	struct jr_error err;
	json_error_t je;
	json_t *j;
	char *text;
	int r;

	if (size > (1u << 20))
		return -1;
	/* The reader parses in place: its own copy, exactly size bytes (ASan
	 * catches a read past the end). */
	text = malloc(size ? size : 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	r = jr_parse(text, size, &doc, &err);
	if (memchr(data, 0, size)) {
		check(r < 0, "a NUL byte was accepted");
		jr_free(&doc);
		free(text);
		return 0;
	}
	j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (!j) {
		/* Out of memory is not a verdict (allocator_may_return_null). */
		check(r == -EINVAL || r == -ENOMEM, "jansson refused, the reader accepted");
	} else {
		check(r == 0 || r == -ENOMEM, "jansson accepted, the reader refused");
	}
	if (r == 0 && j)
		same(&doc.root, j);
	if (r == -EINVAL) {
		check(err.line >= 1 && err.column >= 1 && err.text[0],
		      "error has a place and reason");
		check(memchr(err.text, 0, sizeof(err.text)) != NULL, "error text terminated");
	}
	if (j)
		json_decref(j);
	jr_free(&doc);
	free(text);
	return 0;
}
