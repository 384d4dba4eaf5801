/* A strict JSON reader (see json_reader.h for why it exists). One loop over
 * the bytes with an explicit stack of open containers (no recursion: the
 * nesting limit is data, not C stack); values are collected on two stacks
 * while their container is open and copied into the arena when it closes,
 * so every array's items and every object's members end up contiguous. */
#include "json_reader.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the arena ------------------------------------------------------------ */

#define JR_BLOCK ((size_t)64 * 1024)

struct jr_block {
	struct jr_block *next;
	size_t used, cap;
	_Alignas(16) unsigned char data[];
};

struct jr_arena {
	struct jr_block *head; /* the block small allocations come from */
};

/* A full block (a big array) joins the arena behind the current one, whose
 * free room stays in use. */
static void arena_adopt(struct jr_arena *a, struct jr_block *b, size_t n)
{
	b->used = b->cap = n;
	if (a->head) {
		b->next = a->head->next;
		a->head->next = b;
	} else {
		b->next = NULL;
		a->head = b;
	}
}

/* n bytes, 16-aligned for values, unaligned (align false) for strings. */
static void *arena_alloc(struct jr_arena *a, size_t n, bool align)
{
	struct jr_block *b = a->head;
	size_t at;

	if (n > JR_BLOCK / 4) {
		b = malloc(sizeof(*b) + n);
		if (!b)
			return NULL;
		arena_adopt(a, b, n);
		return b->data;
	}
	at = b ? (align ? (b->used + 15) & ~(size_t)15 : b->used) : 0;
	if (!b || at > b->cap || b->cap - at < n) {
		b = malloc(sizeof(*b) + JR_BLOCK);
		if (!b)
			return NULL;
		b->next = a->head;
		b->cap = JR_BLOCK;
		a->head = b;
		at = 0;
	}
	b->used = at + n;
	return b->data + at;
}

void jr_free(struct jr_doc *doc)
{
	if (doc->arena) {
		for (struct jr_block *b = doc->arena->head, *next; b; b = next) {
			next = b->next;
			free(b);
		}
		free(doc->arena);
	}
	memset(doc, 0, sizeof(*doc));
}

/* ---- the parser ------------------------------------------------------------ */

struct parser {
	char *start, *p, *end;
	struct jr_arena *arena;
	struct jr_error *err;
	/* Items and members of the containers being read, innermost last.
	 * The items live in a block the arena can adopt (see close_frame). */
	struct jr_block *items_block;
	struct jr_value *items;
	size_t n_items, cap_items;
	struct jr_member *members;
	size_t n_members, cap_members;
};

__attribute__((format(printf, 3, 4))) static int fail_at(struct parser *ps, const char *at,
							 const char *fmt, ...)
{
	int line = 1, column = 1;
	va_list ap;

	/* Only on error, so the hot path never counts lines. */
	for (const char *q = ps->start; q < at; q++) {
		if (*q == '\n') {
			line++;
			column = 1;
		} else {
			column++;
		}
	}
	ps->err->line = line;
	ps->err->column = column;
	va_start(ap, fmt);
	vsnprintf(ps->err->text, sizeof(ps->err->text), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int oom(struct parser *ps)
{
	snprintf(ps->err->text, sizeof(ps->err->text), "out of memory");
	return -ENOMEM;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t'))
		ps->p++;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static int hex4(const char *s, uint32_t *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static char *put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xc0 | cp >> 6);
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xe0 | cp >> 12);
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (char)(0xf0 | cp >> 18);
		*o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	}
	return o;
}

/* The escapes of raw[0..n) (already known to end before the closing quote)
 * decoded into o. */
static int decode_escapes(struct parser *ps, const char *raw, size_t n, char *o, uint32_t *out_len)
{
	const char *s = raw, *end = raw + n;
	char *o0 = o;

	while (s < end) {
		uint32_t cp, lo;

		if (*s != '\\') {
			*o++ = *s++;
			continue;
		}
		switch (s[1]) {
		case '"':
		case '\\':
		case '/':
			*o++ = s[1];
			s += 2;
			continue;
		case 'b':
			*o++ = '\b';
			s += 2;
			continue;
		case 'f':
			*o++ = '\f';
			s += 2;
			continue;
		case 'n':
			*o++ = '\n';
			s += 2;
			continue;
		case 'r':
			*o++ = '\r';
			s += 2;
			continue;
		case 't':
			*o++ = '\t';
			s += 2;
			continue;
		case 'u':
			break;
		default:
			return fail_at(ps, s, "invalid escape in a string");
		}
		if (end - s < 6 || hex4(s + 2, &cp) < 0)
			return fail_at(ps, s, "invalid \\u escape");
		s += 6;
		if (cp == 0)
			return fail_at(ps, s - 6, "\\u0000 is not allowed in a string");
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return fail_at(ps, s - 6, "lone low surrogate \\u%04X", (unsigned)cp);
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (end - s < 6 || s[0] != '\\' || s[1] != 'u' || hex4(s + 2, &lo) < 0 ||
			    lo < 0xdc00 || lo > 0xdfff)
				return fail_at(ps, s - 6, "high surrogate \\u%04X without its pair",
					       (unsigned)cp);
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			s += 6;
		}
		o = put_utf8(o, cp);
	}
	*o = '\0';
	*out_len = (uint32_t)(o - o0);
	return 0;
}

/* At the opening quote. The raw bytes are scanned once for the closing
 * quote, control characters and invalid UTF-8. A string without escapes
 * stays where it is: its closing quote becomes its NUL (no copy; nothing
 * that error positions count changes). One with escapes is decoded into the
 * arena (the decoded text is never longer). */
static int parse_string(struct parser *ps, const char **out, uint32_t *out_len)
{
	char *raw = ++ps->p, *s = raw;
	bool escapes = false;
	size_t n;
	char *buf;

	for (;;) {
		unsigned char c;

		/* Eight plain bytes at a time: none a quote, a backslash, a
		 * control character or non-ASCII (the word tricks are exact
		 * about whether such a byte is there, not which). */
		while (ps->end - s >= 8) {
			const uint64_t ones = UINT64_C(0x0101010101010101);
			const uint64_t highs = UINT64_C(0x8080808080808080);
			uint64_t w, q, b;

			memcpy(&w, s, 8);
			q = w ^ (ones * '"');
			b = w ^ (ones * '\\');
			if ((((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w) | w) &
			    highs)
				break;
			s += 8;
		}
		if (s >= ps->end)
			return fail_at(ps, raw - 1, "unterminated string");
		c = (unsigned char)*s;
		if (c == '"')
			break;
		if (c < 0x20)
			return fail_at(ps, s, "control character 0x%02x in a string", c);
		if (c == '\\') {
			escapes = true;
			s += 2; /* the escape's own validity: decode_escapes */
			continue;
		}
		if (c >= 0x80) {
			size_t l = utf8_len((const unsigned char *)s, (size_t)(ps->end - s));

			if (!l)
				return fail_at(ps, s, "invalid UTF-8 in a string");
			s += l;
			continue;
		}
		s++;
	}
	n = (size_t)(s - raw);
	if (escapes) {
		int r;

		buf = arena_alloc(ps->arena, n + 1, false);
		if (!buf)
			return oom(ps);
		if ((r = decode_escapes(ps, raw, n, buf, out_len)) < 0)
			return r;
	} else {
		buf = raw;
		buf[n] = '\0';
		*out_len = (uint32_t)n;
	}
	*out = buf;
	ps->p = s + 1;
	return 0;
}


/* The digits of a fraction or an exponent (at least one): the position
 * after them, or NULL. */
static char *one_or_more_digits(char *p, const char *end)
{
	if (p >= end || !is_digit(*p))
		return NULL;
	while (p < end && is_digit(*p))
		p++;
	return p;
}

static int parse_number(struct parser *ps, struct jr_value *v)
{
	char *s = ps->p, *p = s;
	bool neg = false, real = false;

	if (*p == '-') {
		neg = true;
		p++;
	}
	if (p >= ps->end || !is_digit(*p))
		return fail_at(ps, s, "invalid number");
	if (*p == '0')
		p++;
	else
		while (p < ps->end && is_digit(*p))
			p++;
	if (p < ps->end && *p == '.') {
		if (!(p = one_or_more_digits(p + 1, ps->end)))
			return fail_at(ps, s, "invalid number");
		real = true;
	}
	if (p < ps->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < ps->end && (*p == '+' || *p == '-'))
			p++;
		if (!(p = one_or_more_digits(p, ps->end)))
			return fail_at(ps, s, "invalid number");
		real = true;
	}
	if (real) {
		/* Only overflow is an error (as in jansson); the value itself is
		 * never used. */
		size_t n = (size_t)(p - s);
		char *text = malloc(n + 1);
		double d;

		if (!text)
			return oom(ps);
		memcpy(text, s, n);
		text[n] = '\0';
		errno = 0;
		d = strtod(text, NULL);
		free(text);
		if ((d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE)
			return fail_at(ps, s, "real number overflow");
		v->type = JR_REAL;
	} else {
		uint64_t mag = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;

		for (const char *q = s + neg; q < p; q++) {
			unsigned d = (unsigned)(*q - '0');

			if (mag > (limit - d) / 10)
				return fail_at(ps, s, "integer out of range");
			mag = mag * 10 + d;
		}
		v->type = JR_INT;
		v->u.i = neg ? (int64_t)(0 - mag) : (int64_t)mag;
	}
	ps->p = p;
	return 0;
}

static bool keys_equal(const struct jr_member *a, const struct jr_member *b)
{
	return a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0;
}

static int key_order(const void *pa, const void *pb)
{
	const struct jr_member *a = pa, *b = pb;
	size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
	int c = memcmp(a->key, b->key, n);

	return c ? c : (a->key_len > b->key_len) - (a->key_len < b->key_len);
}

/* True when m[0..n) has a key twice: quadratic for the small objects a
 * policy has, sorted (a copy) for big hostile ones. -ENOMEM in *err. */
static bool has_duplicate(const struct jr_member *m, size_t n, int *err)
{
	struct jr_member *sorted;
	bool dup = false;

	*err = 0;
	if (n <= 16) {
		for (size_t i = 1; i < n; i++)
			for (size_t j = 0; j < i; j++)
				if (keys_equal(&m[i], &m[j]))
					return true;
		return false;
	}
	sorted = malloc(n * sizeof(*sorted));
	if (!sorted) {
		*err = -ENOMEM;
		return false;
	}
	memcpy(sorted, m, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), key_order);
	for (size_t i = 1; i < n && !dup; i++)
		dup = keys_equal(&sorted[i - 1], &sorted[i]);
	free(sorted);
	return dup;
}

static int push_member(struct parser *ps, const struct jr_member *m)
{
	if (ps->n_members == ps->cap_members) {
		size_t cap = ps->cap_members ? ps->cap_members * 2 : 64;
		struct jr_member *nm = realloc(ps->members, cap * sizeof(*nm));

		if (!nm)
			return oom(ps);
		ps->members = nm;
		ps->cap_members = cap;
	}
	ps->members[ps->n_members++] = *m;
	return 0;
}

static int push_item(struct parser *ps, const struct jr_value *v)
{
	if (ps->n_items == ps->cap_items) {
		size_t cap = ps->cap_items ? ps->cap_items * 2 : 256;
		struct jr_block *nb =
		    realloc(ps->items_block, sizeof(*nb) + cap * sizeof(struct jr_value));

		if (!nb)
			return oom(ps);
		ps->items_block = nb;
		ps->items = (struct jr_value *)(void *)nb->data;
		ps->cap_items = cap;
	}
	ps->items[ps->n_items++] = *v;
	return 0;
}

static bool literal(struct parser *ps, const char *word, size_t n)
{
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return false;
	ps->p += n;
	return true;
}

/* A scalar at ps->p into *v. */
static int parse_scalar(struct parser *ps, struct jr_value *v)
{
	memset(v, 0, sizeof(*v));
	switch (*ps->p) {
	case '"':
		v->type = JR_STRING;
		return parse_string(ps, &v->u.s, &v->len);
	case 't':
	case 'f':
	case 'n':
		if (literal(ps, "true", 4)) {
			v->type = JR_BOOL;
			v->u.b = true;
		} else if (literal(ps, "false", 5)) {
			v->type = JR_BOOL;
			v->u.b = false;
		} else if (literal(ps, "null", 4)) {
			v->type = JR_NULL;
		} else {
			return fail_at(ps, ps->p, "invalid token");
		}
		return 0;
	default:
		if (*ps->p == '-' || is_digit(*ps->p))
			return parse_number(ps, v);
		return fail_at(ps, ps->p, "unexpected character");
	}
}

/* An open array or object. */
struct frame {
	bool object;
	size_t mark;		  /* its first item/member on the parser's stacks */
	const char *open;	  /* its '[' or '{', for errors */
	struct jr_member pending; /* object: the key whose value comes next */
};

/* The key and ':' of the next member, at ps->p (whitespace skipped). */
static int parse_key(struct parser *ps, struct frame *f)
{
	int r;

	if (ps->p >= ps->end || *ps->p != '"')
		return fail_at(ps, ps->p, "string (an object key) expected");
	if ((r = parse_string(ps, &f->pending.key, &f->pending.key_len)) < 0)
		return r;
	skip_ws(ps);
	if (ps->p >= ps->end || *ps->p != ':')
		return fail_at(ps, ps->p, "':' expected");
	ps->p++;
	skip_ws(ps);
	return 0;
}

/* Closes the innermost container into *v. */
static int close_frame(struct parser *ps, const struct frame *f, struct jr_value *v)
{
	size_t n = f->object ? ps->n_members - f->mark : ps->n_items - f->mark;
	void *copy = NULL;
	int r;

	memset(v, 0, sizeof(*v));
	v->type = f->object ? JR_OBJECT : JR_ARRAY;
	v->len = (uint32_t)n;
	if (n == 0) /* the stacks may not even exist yet */
		return 0;
	if (f->object) {
		if (has_duplicate(ps->members + f->mark, n, &r))
			return fail_at(ps, f->open, "duplicate key in this object");
		if (r < 0 || !(copy = arena_alloc(ps->arena, n * sizeof(*ps->members), true)))
			return oom(ps);
		memcpy(copy, ps->members + f->mark, n * sizeof(*ps->members));
		ps->n_members = f->mark;
		v->u.members = copy;
	} else if (f->mark == 0 && n * sizeof(*ps->items) > JR_BLOCK / 4) {
		/* A big outermost array (an allowlist of 10,000) keeps the stack
		 * it was collected on: no copy of it, and a fresh stack goes on. */
		arena_adopt(ps->arena, ps->items_block, n * sizeof(*ps->items));
		v->u.items = ps->items;
		ps->items_block = NULL;
		ps->items = NULL;
		ps->n_items = ps->cap_items = 0;
	} else {
		if (!(copy = arena_alloc(ps->arena, n * sizeof(*ps->items), true)))
			return oom(ps);
		memcpy(copy, ps->items + f->mark, n * sizeof(*ps->items));
		ps->n_items = f->mark;
		v->u.items = copy;
	}
	return 0;
}

/* The document's value into *root. Every value is at a depth: the number
 * of containers around it plus one, at most JR_MAX_DEPTH (jansson's rule). */
static int parse_document(struct parser *ps, struct frame *frames, struct jr_value *root)
{
	size_t depth = 0; /* open containers */
	struct jr_value v;
	int r;

	for (;;) {
		/* A value starts here (whitespace skipped). */
		if (depth + 1 > JR_MAX_DEPTH)
			return fail_at(ps, ps->p, "nesting deeper than %d levels", JR_MAX_DEPTH);
		if (ps->p >= ps->end)
			return fail_at(ps, ps->p, "unexpected end of input");
		if (*ps->p == '[' || *ps->p == '{') {
			struct frame *f = &frames[depth];
			char close = *ps->p == '[' ? ']' : '}';

			f->object = *ps->p == '{';
			f->open = ps->p++;
			f->mark = f->object ? ps->n_members : ps->n_items;
			skip_ws(ps);
			if (ps->p < ps->end && *ps->p == close) {
				ps->p++;
				if ((r = close_frame(ps, f, &v)) < 0)
					return r;
			} else {
				depth++;
				if (f->object && (r = parse_key(ps, f)) < 0)
					return r;
				continue;
			}
		} else if ((r = parse_scalar(ps, &v)) < 0) {
			return r;
		}
		/* A value is complete: it goes into its container, and that may
		 * complete the container in turn. */
		for (;;) {
			struct frame *f;

			if (depth == 0) {
				*root = v;
				return 0;
			}
			f = &frames[depth - 1];
			if (f->object) {
				f->pending.value = v;
				r = push_member(ps, &f->pending);
			} else {
				r = push_item(ps, &v);
			}
			if (r < 0)
				return r;
			skip_ws(ps);
			if (ps->p < ps->end && *ps->p == ',') {
				ps->p++;
				skip_ws(ps);
				if (f->object && (r = parse_key(ps, f)) < 0)
					return r;
				break; /* the next value */
			}
			if (ps->p < ps->end && *ps->p == (f->object ? '}' : ']')) {
				ps->p++;
				if ((r = close_frame(ps, f, &v)) < 0)
					return r;
				depth--;
				continue;
			}
			return fail_at(ps, ps->p,
				       f->object ? "',' or '}' expected" : "',' or ']' expected");
		}
	}
}

int jr_parse(char *text, size_t len, struct jr_doc *doc, struct jr_error *err)
{
	struct parser ps = {.start = text, .p = text, .end = text + len, .err = err};
	struct frame *frames;
	int r;

	memset(doc, 0, sizeof(*doc));
	memset(err, 0, sizeof(*err));
	/* Lengths and counts are 32 bits (a policy is at most 16 MiB). */
	if (len > INT32_MAX) {
		snprintf(err->text, sizeof(err->text), "document larger than 2 GiB");
		return -EINVAL;
	}
	ps.arena = doc->arena = calloc(1, sizeof(*doc->arena));
	if (!ps.arena)
		return oom(&ps);
	frames = malloc(JR_MAX_DEPTH * sizeof(*frames));
	if (!frames) {
		jr_free(doc);
		return oom(&ps);
	}
	skip_ws(&ps);
	r = parse_document(&ps, frames, &doc->root);
	free(frames);
	if (r == 0) {
		skip_ws(&ps);
		if (ps.p != ps.end)
			r = fail_at(&ps, ps.p, "end of input expected");
	}
	free(ps.items_block);
	free(ps.members);
	if (r < 0)
		jr_free(doc);
	return r;
}
