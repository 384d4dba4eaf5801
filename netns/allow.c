/* The allowlist as the filter wants it: entries that another entry already
 * covers dropped, the rest grouped by (family, prefix length). Pure.
 *
 * Why groups: the filter matches a group with one plain hash set and one rule
 * (`ip daddr & MASK @allow4_LEN accept`), so every CIDR is ONE set element.
 * An interval set needs two elements per range, and the kernel's rbtree
 * backend walks its neighbours for overlaps on every insert: for 10,000
 * entries that was 15 ms of a 35 ms run; hash inserts are O(1) (~3 ms).
 * Dropping covered entries keeps the sets minimal and free of duplicates,
 * which the kernel would refuse from a set sized to its element count. */
#include "netns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* (family, address, prefix): a CIDR sorts right after every CIDR that
 * contains it, since a container's address is this one's, masked shorter. */
static int cidr_order(const void *pa, const void *pb)
{
	const struct cidr *a = pa, *b = pb;
	int c;

	if (a->family != b->family)
		return a->family == AF_INET ? -1 : 1;
	/* cidr_parse zero-fills past an IPv4 address: 16 bytes compare both. */
	c = memcmp(a->addr, b->addr, 16);
	if (c)
		return c;
	return (a->prefix > b->prefix) - (a->prefix < b->prefix);
}

static bool sorted(const struct cidr *c, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (cidr_order(&c[i - 1], &c[i]) > 0)
			return false;
	return true;
}

/* 0..32 for IPv4, 33..161 for IPv6: the groups' order. */
static unsigned group_key(const struct cidr *c)
{
	return c->family == AF_INET ? c->prefix : 33 + c->prefix;
}

#define N_GROUP_KEYS (33 + 129)

int netns_allow_group(const struct cidr *in, size_t n, struct netns_allow *out)
{
	struct cidr *tmp = NULL, *kept = NULL;
	size_t count[N_GROUP_KEYS] = {0}, start[N_GROUP_KEYS];
	size_t m = 0, n_sets = 0;

	memset(out, 0, sizeof(*out));
	if (n == 0)
		return 0;
	tmp = malloc(n * sizeof(*tmp));
	kept = malloc(n * sizeof(*kept));
	if (!tmp || !kept)
		goto oom;
	memcpy(tmp, in, n * sizeof(*tmp));
	/* Lists are often generated in order: no sort then. */
	if (!sorted(tmp, n))
		qsort(tmp, n, sizeof(*tmp), cidr_order);

	/* In this order the kept entries are disjoint, and the only one that
	 * can contain the next entry is the last kept (a container sorts
	 * before what it contains, and kept blocks never nest). */
	for (size_t i = 0; i < n; i++) {
		const struct cidr *last = m ? &tmp[m - 1] : NULL;

		if (last && last->prefix <= tmp[i].prefix &&
		    cidr_contains(last, tmp[i].addr, tmp[i].family))
			continue;
		tmp[m++] = tmp[i];
	}

	/* Stable counting sort by group: addresses stay ascending in each. */
	for (size_t i = 0; i < m; i++)
		count[group_key(&tmp[i])]++;
	for (size_t k = 0, at = 0; k < N_GROUP_KEYS; k++) {
		start[k] = at;
		at += count[k];
		n_sets += count[k] > 0;
	}
	out->sets = calloc(n_sets, sizeof(*out->sets));
	if (!out->sets)
		goto oom;
	for (size_t k = 0; k < N_GROUP_KEYS; k++) {
		struct netns_allow_set *s;

		if (!count[k])
			continue;
		s = &out->sets[out->n_sets++];
		s->family = k <= 32 ? AF_INET : AF_INET6;
		s->prefix = k <= 32 ? (unsigned)k : (unsigned)k - 33;
		s->first = start[k];
		s->count = count[k];
	}
	for (size_t i = 0; i < m; i++)
		kept[start[group_key(&tmp[i])]++] = tmp[i];
	free(tmp);
	out->cidrs = kept;
	out->n_cidrs = m;
	return 0;
oom:
	free(tmp);
	free(kept);
	memset(out, 0, sizeof(*out));
	return -ENOMEM;
}

void netns_allow_free(struct netns_allow *a)
{
	free(a->cidrs);
	free(a->sets);
	memset(a, 0, sizeof(*a));
}

bool netns_allow_contains(const struct netns_allow *a, int family, const uint8_t *addr)
{
	for (size_t i = 0; i < a->n_sets; i++) {
		const struct netns_allow_set *s = &a->sets[i];
		struct cidr key = {.family = family, .prefix = s->prefix};
		size_t lo = s->first, hi = s->first + s->count;

		if (s->family != family)
			continue;
		/* The key is addr masked to the group's prefix; the group is
		 * sorted, so a binary search finds it. */
		memcpy(key.addr, addr, family == AF_INET ? 4 : 16);
		cidr_mask(&key);
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			int c = memcmp(a->cidrs[mid].addr, key.addr, 16);

			if (c == 0)
				return true;
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	return false;
}
