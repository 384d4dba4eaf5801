/* The allowlist as the filter wants it: entries that another entry already
 * covers dropped, the rest grouped by (family, prefix length). Pure.
 *
 * Why groups: the filter matches a group with one plain hash set and one rule
 * (`ip daddr & MASK @allow4_LEN accept`), so every CIDR is ONE set element.
 * An interval set needs two elements per range, and the kernel's rbtree
 * backend walks its neighbours for overlaps on every insert: for 10,000
 * entries that was 15 ms of a 35 ms run; hash inserts are O(1) (~3 ms).
 * Dropping covered entries keeps the sets minimal and free of duplicates, so
 * each set can be sized to exactly its element count.
 *
 * Speed matters here too (the whole allowlist set-up has a budget of a few
 * ms for 10,000 entries): the entries are sorted by radix on compact keys,
 * not qsort'ed as structs (2.5 ms for a shuffled list), and the groups hold
 * bare addresses, 4 bytes an IPv4 entry instead of a 24-byte struct cidr. */
#include "netns.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* An IPv4 entry as one word: address, then prefix length. In (address,
 * prefix) order a CIDR sorts right after every CIDR that contains it: a
 * container's address is this one's masked shorter, and on equal addresses
 * the shorter prefix comes first. */
static uint64_t key4(const struct cidr *c)
{
	uint32_t a;

	memcpy(&a, c->addr, 4);
	return (uint64_t)ntohl(a) << 8 | c->prefix;
}

/* An IPv6 entry: two words of address, then the prefix length. */
struct key6 {
	uint64_t hi, lo;
	unsigned prefix;
};

static struct key6 key6(const struct cidr *c)
{
	struct key6 k;

	memcpy(&k.hi, c->addr, 8);
	memcpy(&k.lo, c->addr + 8, 8);
	k.hi = be64toh(k.hi);
	k.lo = be64toh(k.lo);
	k.prefix = c->prefix;
	return k;
}

static bool key6_le(const struct key6 *a, const struct key6 *b)
{
	if (a->hi != b->hi)
		return a->hi < b->hi;
	if (a->lo != b->lo)
		return a->lo < b->lo;
	return a->prefix <= b->prefix;
}

/* Byte d (0 = least significant) of a key. */
static unsigned digit4(const void *key, unsigned d)
{
	return (unsigned)(*(const uint64_t *)key >> (8 * d)) & 0xff;
}

static unsigned digit6(const void *key, unsigned d)
{
	const struct key6 *k = key;

	if (d == 0)
		return k->prefix;
	if (d <= 8)
		return (unsigned)(k->lo >> (8 * (d - 1))) & 0xff;
	return (unsigned)(k->hi >> (8 * (d - 9))) & 0xff;
}

#define RADIX_MAX_DIGITS 17

/* LSD radix sort, 8 bits a pass: every histogram in one read, then one
 * scatter per byte that is not the same everywhere (the leading bytes of a
 * typical list are). O(n) a pass, so a list in any order costs about what a
 * sorted one does; qsort took 2.5 ms for 10,000 shuffled entries. The result
 * is in a; tmp is scratch of the same size. Always inlined with constant
 * size and digit function, so each key type gets its own specialised copy
 * (the IPv4 one moves 8 bytes an entry, not 24). */
static inline __attribute__((always_inline)) void
radix_sort(char *a, char *tmp, size_t n, size_t size, unsigned digits,
	   unsigned (*digit)(const void *key, unsigned d))
{
	size_t count[RADIX_MAX_DIGITS][256] = {{0}};
	char *src = a, *dst = tmp;

	for (size_t i = 0; i < n; i++)
		for (unsigned d = 0; d < digits; d++)
			count[d][digit(a + i * size, d)]++;
	for (unsigned d = 0; d < digits && n > 0; d++) {
		size_t at = 0;

		if (count[d][digit(src, d)] == n)
			continue;
		for (unsigned v = 0; v < 256; v++) {
			size_t c = count[d][v];

			count[d][v] = at;
			at += c;
		}
		for (size_t i = 0; i < n; i++)
			memcpy(dst + count[d][digit(src + i * size, d)]++ * size, src + i * size, size);
		src = dst;
		dst = src == a ? tmp : a;
	}
	if (src != a)
		memcpy(a, src, n * size);
}

static void sort4(uint64_t *a, uint64_t *tmp, size_t n)
{
	radix_sort((char *)a, (char *)tmp, n, sizeof(*a), 5, digit4);
}

static void sort6(struct key6 *a, struct key6 *tmp, size_t n)
{
	radix_sort((char *)a, (char *)tmp, n, sizeof(*a), RADIX_MAX_DIGITS, digit6);
}

/* 0..32 for IPv4, 33..161 for IPv6: the groups' order. */
#define N_GROUP_KEYS (33 + 129)

int netns_allow_group(const struct cidr *in, size_t n, struct netns_allow *out)
{
	size_t count[N_GROUP_KEYS] = {0}, start[N_GROUP_KEYS];
	size_t n4 = 0, n6 = 0, m4 = 0, m6 = 0, bytes = 0, n_sets = 0;
	uint64_t *k4 = NULL;
	struct key6 *k6 = NULL;
	bool sorted4 = true, sorted6 = true;
	uint32_t end4 = 0;
	uint64_t end6_hi = 0, end6_lo = 0;

	memset(out, 0, sizeof(*out));
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		n4 += in[i].family == AF_INET;
	n6 = n - n4;
	k4 = malloc(2 * n4 * sizeof(*k4) + 1);
	k6 = malloc(2 * n6 * sizeof(*k6) + 1);
	if (!k4 || !k6)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		if (in[i].family == AF_INET) {
			k4[m4] = key4(&in[i]);
			sorted4 = sorted4 && (m4 == 0 || k4[m4 - 1] <= k4[m4]);
			m4++;
		} else {
			k6[m6] = key6(&in[i]);
			sorted6 = sorted6 && (m6 == 0 || key6_le(&k6[m6 - 1], &k6[m6]));
			m6++;
		}
	}
	if (!sorted4) /* lists are often generated in order: no sort then */
		sort4(k4, k4 + n4, n4);
	if (!sorted6)
		sort6(k6, k6 + n6, n6);

	/* In this order the kept entries are disjoint, and the only one that
	 * can contain the next entry is the last kept: a container sorts before
	 * what it contains, and kept blocks never nest. As the next entry
	 * starts at or after the last kept one, it lies inside it exactly when
	 * it starts at or before its last address. */
	m4 = 0;
	for (size_t i = 0; i < n4; i++) {
		uint32_t addr = (uint32_t)(k4[i] >> 8), prefix = k4[i] & 0xff;

		if (m4 && addr <= end4)
			continue;
		end4 = addr | (uint32_t)(UINT64_C(0xffffffff) >> prefix);
		k4[m4++] = k4[i];
		count[prefix]++;
	}
	m6 = 0;
	for (size_t i = 0; i < n6; i++) {
		const struct key6 *k = &k6[i];

		if (m6 && (k->hi < end6_hi || (k->hi == end6_hi && k->lo <= end6_lo)))
			continue;
		/* The host bits of a /p: all of lo and the low 64-p bits of hi
		 * for p < 64, the low 128-p bits of lo else. */
		end6_hi = k->prefix >= 64  ? k->hi
			  : k->prefix == 0 ? UINT64_MAX
					   : k->hi | (UINT64_MAX >> k->prefix);
		end6_lo = k->prefix >= 128  ? k->lo
			  : k->prefix <= 64 ? UINT64_MAX
					    : k->lo | (UINT64_MAX >> (k->prefix - 64));
		k6[m6++] = *k;
		count[33 + k->prefix]++;
	}

	for (size_t g = 0; g < N_GROUP_KEYS; g++) {
		start[g] = bytes;
		bytes += count[g] * (g <= 32 ? 4 : 16);
		n_sets += count[g] > 0;
	}
	out->addrs = malloc(bytes);
	out->sets = calloc(n_sets, sizeof(*out->sets));
	if (!out->addrs || !out->sets)
		goto oom;
	for (size_t g = 0; g < N_GROUP_KEYS; g++) {
		struct netns_allow_set *s;

		if (!count[g])
			continue;
		s = &out->sets[out->n_sets++];
		s->family = g <= 32 ? AF_INET : AF_INET6;
		s->prefix = g <= 32 ? (unsigned)g : (unsigned)g - 33;
		s->offset = start[g];
		s->count = count[g];
	}
	/* Stable by group: addresses stay ascending within each. */
	for (size_t i = 0; i < m4; i++) {
		uint32_t be = htonl((uint32_t)(k4[i] >> 8));
		size_t g = k4[i] & 0xff;

		memcpy(out->addrs + start[g], &be, 4);
		start[g] += 4;
	}
	for (size_t i = 0; i < m6; i++) {
		uint64_t hi = htobe64(k6[i].hi), lo = htobe64(k6[i].lo);
		size_t g = 33 + k6[i].prefix;

		memcpy(out->addrs + start[g], &hi, 8);
		memcpy(out->addrs + start[g] + 8, &lo, 8);
		start[g] += 16;
	}
	out->n_entries = m4 + m6;
	free(k4);
	free(k6);
	return 0;
oom:
	free(k4);
	free(k6);
	netns_allow_free(out);
	return -ENOMEM;
}

void netns_allow_free(struct netns_allow *a)
{
	free(a->addrs);
	free(a->sets);
	memset(a, 0, sizeof(*a));
}

void netns_allow_entry(const struct netns_allow *a, size_t set, size_t i, struct cidr *out)
{
	const struct netns_allow_set *s = &a->sets[set];
	unsigned alen = s->family == AF_INET ? 4 : 16;

	memset(out, 0, sizeof(*out));
	out->family = s->family;
	out->prefix = s->prefix;
	memcpy(out->addr, a->addrs + s->offset + i * alen, alen);
}

bool netns_allow_contains(const struct netns_allow *a, int family, const uint8_t *addr)
{
	unsigned alen = family == AF_INET ? 4 : 16;

	for (size_t s = 0; s < a->n_sets; s++) {
		const struct netns_allow_set *set = &a->sets[s];
		struct cidr key = {.family = family, .prefix = set->prefix};
		size_t lo = 0, hi = set->count;

		if (set->family != family)
			continue;
		/* addr masked to the group's prefix is an element of the group
		 * exactly when a CIDR of it covers addr; the group is sorted. */
		memcpy(key.addr, addr, alen);
		cidr_mask(&key);
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			int c = memcmp(a->addrs + set->offset + mid * alen, key.addr, alen);

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
