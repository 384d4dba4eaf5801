/* Strict policy parsing (SPEC §2): every key known, every type checked,
 * every range enforced, errors naming the field's path. A document is applied
 * as a partial policy over the current one, which gives the merge rule for
 * free: only keys it defines replace the base's. */
#include "policy.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "json_reader.h"
#include "netns/cidr.h"
#include "policy_json.h"


const char policy_default_json[] =
	"{\n"
	"  \"enabled\": true,\n"
	"  \"onUnavailable\": \"fail\",\n"
	"  \"resources\": {\n"
	"    \"cpuSeconds\": 60, \"memoryBytes\": 536870912, \"maxOpenFiles\": 1024,\n"
	"    \"maxProcesses\": 256, \"maxOutputBytes\": 5242880, \"maxFileSizeBytes\": 268435456\n"
	"  },\n"
	"  \"filesystem\": { \"mode\": \"scratch-plus-ro\" },\n"
	"  \"network\": { \"mode\": \"allowlist\", \"allow\": [], \"denyLinkLocalAndMetadata\": true },\n"
	"  \"privilege\": { \"mode\": \"drop-to-uid\" }\n"
	"}\n";

static const char *const fs_mode_names[] = {"off", "scratch-only", "scratch-plus-ro"};
static const char *const net_mode_names[] = {"deny", "allowlist", "unrestricted"};
static const char *const priv_mode_names[] = {"drop-to-uid", "inherit"};
static const char *const on_unavailable_names[] = {"fail", "degrade"};

const char *policy_fs_mode_name(enum fs_mode m)
{
	return fs_mode_names[m];
}

const char *policy_net_mode_name(enum net_mode m)
{
	return net_mode_names[m];
}

/* Every member of object o, in document order. */
#define for_each_member(o, key, v)                                                                 \
	for (size_t i_ = 0; i_ < (o)->len && ((key) = (o)->u.members[i_].key,                      \
					     (v) = &(o)->u.members[i_].value, true);               \
	     i_++)

static int perr(struct nsrun_err *err, const char *path, const char *msg)
{
	return nsrun_err_set(err, "policy", 0, "%s: %s", path, msg);
}

static int get_bool(const struct jr_value *v, const char *path, bool *out, struct nsrun_err *err)
{
	if (v->type != JR_BOOL)
		return perr(err, path, "must be true or false");
	*out = v->u.b;
	return 0;
}

static int get_enum(const struct jr_value *v, const char *path, const char *const *names, int n,
		    int *out, struct nsrun_err *err)
{
	char msg[160];
	int len = 0;

	if (v->type == JR_STRING) {
		for (int i = 0; i < n; i++) {
			if (strcmp(v->u.s, names[i]) == 0) {
				*out = i;
				return 0;
			}
		}
	}
	len = snprintf(msg, sizeof(msg), "must be one of");
	for (int i = 0; i < n && len < (int)sizeof(msg); i++)
		len += snprintf(msg + len, sizeof(msg) - len, "%s \"%s\"", i ? "," : "", names[i]);
	return perr(err, path, msg);
}

/* An integer in [lo, hi], or null (= unset) when nullable. */
static int get_int(const struct jr_value *v, const char *path, int64_t lo, int64_t hi,
		   bool nullable, int64_t *out, struct nsrun_err *err)
{
	char msg[128];

	if (nullable && v->type == JR_NULL) {
		*out = POLICY_UNSET;
		return 0;
	}
	if (v->type == JR_INT && v->u.i >= lo && v->u.i <= hi) {
		*out = v->u.i;
		return 0;
	}
	snprintf(msg, sizeof(msg), "must be an integer in %" PRId64 "..%" PRId64 "%s", lo, hi,
		 nullable ? " (or null)" : "");
	return perr(err, path, msg);
}

static int unknown_key(const char *section, const char *key, struct nsrun_err *err)
{
	char shown[48];

	/* Keys come from untrusted input: never echo kilobytes of it. */
	snprintf(shown, sizeof(shown), "%s", key);
	if (strlen(key) >= sizeof(shown))
		memcpy(shown + sizeof(shown) - 4, "...", 4);
	return nsrun_err_set(err, "policy", 0, "%s%s%s: unknown key", section, *section ? "." : "",
			     shown);
}

struct int_field {
	const char *name;
	size_t offset;
	int64_t lo, hi;
};

#define RES_FIELD(n, f, lo, hi) {n, offsetof(struct policy_resources, f), lo, hi}
static const struct int_field resource_fields[] = {
	RES_FIELD("cpuSeconds", cpu_seconds, 1, 31536000),
	RES_FIELD("memoryBytes", memory_bytes, 1 << 20, INT64_C(1) << 50),
	RES_FIELD("maxOpenFiles", max_open_files, 4, 1 << 20),
	RES_FIELD("maxProcesses", max_processes, 1, 65536),
	RES_FIELD("maxOutputBytes", max_output_bytes, 1, INT64_C(1) << 40),
	RES_FIELD("maxFileSizeBytes", max_file_size_bytes, 1, INT64_C(1) << 50),
};

static int apply_resources(const struct jr_value *o, struct policy_resources *res,
			   struct nsrun_err *err)
{
	const char *key;
	const struct jr_value *v;
	char path[64];

	if (o->type != JR_OBJECT)
		return perr(err, "resources", "must be an object");
	for_each_member(o, key, v) {
		const struct int_field *f = NULL;

		for (size_t i = 0; i < sizeof(resource_fields) / sizeof(resource_fields[0]); i++)
			if (strcmp(key, resource_fields[i].name) == 0)
				f = &resource_fields[i];
		if (!f)
			return unknown_key("resources", key, err);
		snprintf(path, sizeof(path), "resources.%s", key);
		if (get_int(v, path, f->lo, f->hi, true, (int64_t *)((char *)res + f->offset), err))
			return -EINVAL;
	}
	return 0;
}

static int apply_filesystem(const struct jr_value *o, struct policy *p, struct nsrun_err *err)
{
	const char *key;
	const struct jr_value *v;
	int m;

	if (o->type != JR_OBJECT)
		return perr(err, "filesystem", "must be an object");
	for_each_member(o, key, v) {
		if (strcmp(key, "mode") != 0)
			return unknown_key("filesystem", key, err);
		if (get_enum(v, "filesystem.mode", fs_mode_names, 3, &m, err))
			return -EINVAL;
		p->fs_mode = m;
	}
	return 0;
}

static void free_allow(struct policy *p)
{
	free(p->net_allow);
	p->net_allow = NULL;
	p->net_allow_len = 0;
}

static int apply_allow(const struct jr_value *a, struct policy *p, struct nsrun_err *err)
{
	size_t i, n;
	struct cidr *list;

	if (a->type != JR_ARRAY)
		return perr(err, "network.allow", "must be an array of address or CIDR strings");
	n = a->len;
	if (n > POLICY_MAX_ALLOW)
		return nsrun_err_set(err, "policy", 0, "network.allow: more than %d entries",
				     POLICY_MAX_ALLOW);
	list = calloc(n ? n : 1, sizeof(*list));
	if (!list)
		return nsrun_err_set(err, "policy", ENOMEM, "network.allow");
	for (i = 0; i < n; i++) {
		const struct jr_value *e = &a->u.items[i];
		char why[96], shown[48];

		if (e->type != JR_STRING) {
			snprintf(why, sizeof(why), "network.allow[%zu]", i);
			perr(err, why, "must be a string");
			goto fail;
		}
		if (cidr_parse(e->u.s, &list[i], why, sizeof(why)) < 0) {
			snprintf(shown, sizeof(shown), "%s", e->u.s);
			if (e->len >= sizeof(shown))
				memcpy(shown + sizeof(shown) - 4, "...", 4);
			nsrun_err_set(err, "policy", 0, "network.allow[%zu]: \"%s\": %s", i, shown, why);
			goto fail;
		}
	}
	free_allow(p);
	p->net_allow = list;
	p->net_allow_len = n;
	return 0;
fail:
	free(list);
	return -EINVAL;
}

static int apply_network(const struct jr_value *o, struct policy *p, struct nsrun_err *err)
{
	const char *key;
	const struct jr_value *v;
	int m;

	if (o->type != JR_OBJECT)
		return perr(err, "network", "must be an object");
	for_each_member(o, key, v) {
		if (strcmp(key, "mode") == 0) {
			if (get_enum(v, "network.mode", net_mode_names, 3, &m, err))
				return -EINVAL;
			p->net_mode = m;
		} else if (strcmp(key, "allow") == 0) {
			if (apply_allow(v, p, err))
				return -EINVAL;
		} else if (strcmp(key, "denyLinkLocalAndMetadata") == 0) {
			if (get_bool(v, "network.denyLinkLocalAndMetadata",
				     &p->deny_link_local_and_metadata, err))
				return -EINVAL;
		} else {
			return unknown_key("network", key, err);
		}
	}
	return 0;
}

static int apply_privilege(const struct jr_value *o, struct policy *p, struct nsrun_err *err)
{
	const char *key;
	const struct jr_value *v;
	int m;

	if (o->type != JR_OBJECT)
		return perr(err, "privilege", "must be an object");
	for_each_member(o, key, v) {
		if (strcmp(key, "mode") == 0) {
			if (get_enum(v, "privilege.mode", priv_mode_names, 2, &m, err))
				return -EINVAL;
			p->priv_mode = m;
		} else if (strcmp(key, "uid") == 0) {
			/* 0 is never a drop target: that would be no drop at all. */
			if (get_int(v, "privilege.uid", 1, 4294967294LL, true, &p->priv_uid, err))
				return -EINVAL;
		} else if (strcmp(key, "gid") == 0) {
			if (get_int(v, "privilege.gid", 1, 4294967294LL, true, &p->priv_gid, err))
				return -EINVAL;
		} else {
			return unknown_key("privilege", key, err);
		}
	}
	return 0;
}

/* Applies a partial policy document onto *p. */
static int policy_apply(const struct jr_value *doc, struct policy *p, struct nsrun_err *err)
{
	const char *key;
	const struct jr_value *v;
	int m = 0;

	if (doc->type != JR_OBJECT)
		return nsrun_err_set(err, "policy", 0, "the policy must be a JSON object");
	for_each_member(doc, key, v) {
		int r;

		if (strcmp(key, "enabled") == 0) {
			r = get_bool(v, "enabled", &p->enabled, err);
		} else if (strcmp(key, "onUnavailable") == 0) {
			r = get_enum(v, "onUnavailable", on_unavailable_names, 2, &m, err);
			if (!r)
				p->on_unavailable = m;
		} else if (strcmp(key, "resources") == 0) {
			r = apply_resources(v, &p->res, err);
		} else if (strcmp(key, "filesystem") == 0) {
			r = apply_filesystem(v, p, err);
		} else if (strcmp(key, "network") == 0) {
			r = apply_network(v, p, err);
		} else if (strcmp(key, "privilege") == 0) {
			r = apply_privilege(v, p, err);
		} else {
			r = unknown_key("", key, err);
		}
		if (r)
			return -EINVAL;
	}
	return 0;
}

/* Parses text in place (json_reader.h: strings are read where they are, so
 * text is modified and must outlive the parse) and applies it onto *p. */
static int apply_text(char *text, size_t len, const char *what, struct policy *p,
		      struct nsrun_err *err)
{
	struct jr_doc doc;
	struct jr_error je;
	int r;

	r = jr_parse(text, len, &doc, &je);
	if (r == -ENOMEM)
		return nsrun_err_set(err, "policy", ENOMEM, "%s", what);
	if (r < 0)
		return nsrun_err_set(err, "policy", 0, "%s: invalid JSON at line %d column %d: %s",
				     what, je.line, je.column, je.text);
	r = policy_apply(&doc.root, p, err);
	jr_free(&doc);
	return r;
}

static void policy_blank(struct policy *p)
{
	memset(p, 0, sizeof(*p));
	p->res = (struct policy_resources){POLICY_UNSET, POLICY_UNSET, POLICY_UNSET,
					   POLICY_UNSET, POLICY_UNSET, POLICY_UNSET};
	p->priv_uid = p->priv_gid = POLICY_UNSET;
}

/* policy_from_texts on buffers it may modify (NULL: absent). */
static int resolve(char *base, size_t base_len, char *over, size_t over_len, struct policy *out,
		   struct nsrun_err *err)
{
	char def[sizeof(policy_default_json)];

	memcpy(def, policy_default_json, sizeof(def));
	policy_blank(out);
	if (apply_text(def, sizeof(def) - 1, "built-in default", out, err))
		goto fail;
	if (base && apply_text(base, base_len, "--policy", out, err))
		goto fail;
	if (over && apply_text(over, over_len, "--override", out, err))
		goto fail;
	return 0;
fail:
	policy_free(out);
	return -EINVAL;
}

static char *copy_text(const char *text, size_t len)
{
	char *c = malloc(len + 1);

	if (c)
		memcpy(c, text, len);
	return c;
}

int policy_from_texts(const char *base_text, size_t base_len, const char *override_text,
		      size_t override_len, struct policy *out, struct nsrun_err *err)
{
	char *base = base_text ? copy_text(base_text, base_len) : NULL;
	char *over = override_text ? copy_text(override_text, override_len) : NULL;
	int r;

	if ((base_text && !base) || (override_text && !over)) {
		policy_blank(out);
		r = nsrun_err_set(err, "policy", ENOMEM, "copying the policy");
	} else {
		r = resolve(base, base_len, over, override_len, out, err);
	}
	free(base);
	free(over);
	return r;
}

/* Waits until fd has data or its writer is gone, at most until deadline
 * (CLOCK_MONOTONIC ms). 0, or -errno (-ETIMEDOUT). */
static int wait_readable(int fd, int64_t deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		struct timespec ts;
		int64_t left;
		int r;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		left = deadline - ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

/* Reads at most POLICY_MAX_BYTES: a 1 GB "policy" is refused, not slurped.
 * A FIFO, pipe or socket gets POLICY_READ_TIMEOUT_MS to deliver all of it:
 * one nobody writes to (or whose writer never closes it) is an error, not
 * a hang. It is opened non-blocking, so open() does not wait for a writer;
 * reads come only after poll, so a FIFO's "no writer yet" never reads as
 * an empty policy. A terminal is left alone (someone is typing). */
static int read_policy_file(const char *path, char **text, size_t *len, struct nsrun_err *err)
{
	_cleanup_close_ int fd = -1;
	size_t cap = 4096, n = 0;
	struct stat st;
	struct timespec now;
	int64_t deadline = 0;
	char *buf;

	fd = strcmp(path, "-") == 0
		 ? fcntl(0, F_DUPFD_CLOEXEC, 0)
		 : open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return nsrun_err_set(err, "policy", errno, "%s", path);
	if (fstat(fd, &st) < 0)
		return nsrun_err_set(err, "policy", errno, "%s", path);
	/* A file's size is known: one buffer, no regrowing copies (a 10,000
	 * entry allowlist is 200 KB). +1 so that the read seeing EOF fits. */
	if (S_ISREG(st.st_mode) && st.st_size > 0 && st.st_size < POLICY_MAX_BYTES)
		cap = (size_t)st.st_size + 1;
	if ((S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) && !isatty(fd)) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		deadline = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 + POLICY_READ_TIMEOUT_MS;
	}
	buf = malloc(cap);
	if (!buf)
		return nsrun_err_set(err, "policy", ENOMEM, "%s", path);
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *nb;

			if (cap > POLICY_MAX_BYTES) {
				free(buf);
				return nsrun_err_set(err, "policy", 0, "%s: larger than %u bytes",
						     path, POLICY_MAX_BYTES);
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return nsrun_err_set(err, "policy", ENOMEM, "%s", path);
			}
			buf = nb;
			cap *= 2;
		}
		if (deadline) {
			int w = wait_readable(fd, deadline);

			if (w < 0) {
				free(buf);
				if (w == -ETIMEDOUT)
					return nsrun_err_set(err, "policy", 0,
							     "%s: no complete policy within %d ms "
							     "(a FIFO or pipe nobody writes to and closes?)",
							     path, POLICY_READ_TIMEOUT_MS);
				return nsrun_err_set(err, "policy", -w, "%s", path);
			}
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && (errno == EINTR || (deadline && errno == EAGAIN)))
			continue;
		if (r < 0) {
			int e = errno;

			free(buf);
			return nsrun_err_set(err, "policy", e, "%s", path);
		}
		if (r == 0)
			break;
		n += r;
	}
	*text = buf;
	*len = n;
	return 0;
}

int policy_load(const char *base_path, const char *override_path, struct policy *out,
		struct nsrun_err *err)
{
	_cleanup_free_ char *base = NULL;
	_cleanup_free_ char *over = NULL;
	size_t base_len = 0, over_len = 0;

	if (base_path && read_policy_file(base_path, &base, &base_len, err))
		return -EINVAL;
	if (override_path && read_policy_file(override_path, &over, &over_len, err))
		return -EINVAL;
	/* The buffers are ours: parsed in place, no copy. */
	if (resolve(base, base_len, over, over_len, out, err))
		return -EINVAL;
	return 0;
}

void policy_free(struct policy *p)
{
	free_allow(p);
}

json_t *policy_to_json(const struct policy *p)
{
	json_t *o = json_object(), *res = json_object(), *allow = json_array();

	json_object_set_new(o, "enabled", json_boolean(p->enabled));
	json_object_set_new(o, "onUnavailable", json_string(on_unavailable_names[p->on_unavailable]));
	for (size_t i = 0; i < sizeof(resource_fields) / sizeof(resource_fields[0]); i++) {
		int64_t v = *(const int64_t *)((const char *)&p->res + resource_fields[i].offset);

		/* null, not absent: printed and read back as --policy, an
		 * absent key would bring the default's cap back. */
		json_object_set_new(res, resource_fields[i].name,
				    v != POLICY_UNSET ? json_integer(v) : json_null());
	}
	json_object_set_new(o, "resources", res);
	json_object_set_new(o, "filesystem", json_pack("{s:s}", "mode", fs_mode_names[p->fs_mode]));
	for (size_t i = 0; i < p->net_allow_len; i++) {
		char text[CIDR_FORMAT_LEN];

		cidr_format(&p->net_allow[i], text, sizeof(text));
		json_array_append_new(allow, json_string(text));
	}
	json_object_set_new(o, "network",
			    json_pack("{s:s, s:o, s:b}", "mode", net_mode_names[p->net_mode], "allow",
				      allow, "denyLinkLocalAndMetadata",
				      p->deny_link_local_and_metadata));
	json_t *priv = json_pack("{s:s}", "mode", priv_mode_names[p->priv_mode]);
	if (p->priv_uid != POLICY_UNSET)
		json_object_set_new(priv, "uid", json_integer(p->priv_uid));
	if (p->priv_gid != POLICY_UNSET)
		json_object_set_new(priv, "gid", json_integer(p->priv_gid));
	json_object_set_new(o, "privilege", priv);
	return o;
}

char *policy_to_json_text(const struct policy *p, bool pretty)
{
	json_t *o = policy_to_json(p);
	char *s = json_dumps(o, (pretty ? JSON_INDENT(2) : JSON_COMPACT) | JSON_PRESERVE_ORDER);

	json_decref(o);
	return s;
}
