#include "report.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "policy_json.h"

static const char *const layer_names[LAYER_COUNT] = {
	[LAYER_RESOURCES] = "resources",
	[LAYER_FILESYSTEM] = "filesystem",
	[LAYER_NETWORK] = "network",
	[LAYER_PRIVILEGE] = "privilege",
};

const char *layer_name(enum layer l)
{
	return l < LAYER_COUNT ? layer_names[l] : "?";
}

/* Only the counts and the header: items are written as they are added and
 * read up to their count, and leaving the ~36 KiB of arrays untouched
 * saves every run the page faults of zeroing them. */
void report_init(struct report *r)
{
	r->n_downgrades = r->n_notes = r->n_dropped_env = 0;
	for (int i = 0; i < LAYER_COUNT; i++)
		r->enforced[i] = true;
	snprintf(r->egress, sizeof(r->egress), "none");
}

void report_free(struct report *r)
{
	for (size_t i = 0; i < r->n_dropped_env; i++)
		free(r->dropped_env[i]);
	r->n_dropped_env = 0;
}

static void add_item(struct report_item *items, size_t *n, enum layer l, const char *fmt, va_list ap)
{
	if (*n >= REPORT_MAX_ITEMS)
		return;
	items[*n].layer = l;
	vsnprintf(items[*n].text, sizeof(items[*n].text), fmt, ap);
	(*n)++;
}

void report_downgrade(struct report *r, enum layer l, const char *fmt, ...)
{
	va_list ap;

	r->enforced[l] = false;
	va_start(ap, fmt);
	add_item(r->downgrades, &r->n_downgrades, l, fmt, ap);
	va_end(ap);
}

void report_note(struct report *r, enum layer l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add_item(r->notes, &r->n_notes, l, fmt, ap);
	va_end(ap);
}

void report_dropped_env(struct report *r, const char *key)
{
	if (r->n_dropped_env < REPORT_MAX_ITEMS)
		r->dropped_env[r->n_dropped_env++] = strdup(key);
}

bool report_has_downgrade(const struct report *r, enum layer l)
{
	for (size_t i = 0; i < r->n_downgrades; i++)
		if (r->downgrades[i].layer == l)
			return true;
	return false;
}

static json_t *items_json(const struct report_item *items, size_t n, const char *textkey)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:s}", "layer", layer_name(items[i].layer),
						   textkey, items[i].text));
	return a;
}

json_t *report_to_json(const struct report *r, const struct policy *p)
{
	json_t *o = json_object(), *enforced = json_object(), *dropped = json_array();

	json_object_set_new(o, "requested", policy_to_json(p));
	for (int i = 0; i < LAYER_COUNT; i++)
		json_object_set_new(enforced, layer_names[i], json_boolean(r->enforced[i]));
	json_object_set_new(o, "enforced", enforced);
	json_object_set_new(o, "downgrades", items_json(r->downgrades, r->n_downgrades, "reason"));
	json_object_set_new(o, "notes", items_json(r->notes, r->n_notes, "note"));
	json_object_set_new(o, "platform", json_string("linux"));
	for (size_t i = 0; i < r->n_dropped_env; i++)
		json_array_append_new(dropped, json_string(r->dropped_env[i]));
	json_object_set_new(o, "droppedEnv", dropped);
	json_object_set_new(o, "egress", json_string(r->egress));
	return o;
}

char *report_to_json_text(const struct report *r, const struct policy *p, bool pretty)
{
	json_t *o = report_to_json(r, p);
	char *s = json_dumps(o, (pretty ? JSON_INDENT(2) : JSON_COMPACT) | JSON_PRESERVE_ORDER);

	json_decref(o);
	return s;
}
