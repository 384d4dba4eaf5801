/* The sandbox report of SPEC §4: what is enforced, downgrades, notes. */
#ifndef NSRUN_REPORT_H
#define NSRUN_REPORT_H

#include <stdbool.h>
#include <stddef.h>

enum layer { LAYER_RESOURCES, LAYER_FILESYSTEM, LAYER_NETWORK, LAYER_PRIVILEGE, LAYER_COUNT };

#define REPORT_MAX_ITEMS 32
#define REPORT_TEXT_LEN 560

struct report_item {
	enum layer layer;
	char text[REPORT_TEXT_LEN];
};

struct report {
	bool enforced[LAYER_COUNT];
	struct report_item downgrades[REPORT_MAX_ITEMS];
	size_t n_downgrades;
	struct report_item notes[REPORT_MAX_ITEMS];
	size_t n_notes;
	char *dropped_env[REPORT_MAX_ITEMS]; /* owned copies */
	size_t n_dropped_env;
	char egress[64]; /* "none", "host", "slirp4netns" */
};

const char *layer_name(enum layer l);

void report_init(struct report *r);
void report_free(struct report *r);
/* Records a downgrade and marks the layer as not enforced. */
void report_downgrade(struct report *r, enum layer l, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void report_note(struct report *r, enum layer l, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void report_dropped_env(struct report *r, const char *key);
bool report_has_downgrade(const struct report *r, enum layer l);

struct policy;
/* The report as a JSON text (caller frees); policy is the "requested" part.
 * extra_json (may be NULL) is a JSON object whose keys are added at top level. */
char *report_to_json_text(const struct report *r, const struct policy *p, bool pretty);

#endif
