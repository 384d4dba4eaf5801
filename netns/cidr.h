/* IPv4/IPv6 address and CIDR parsing for the allowlist. Pure: no syscalls,
 * no allocation, so the policy parser and the fuzzer can call it freely. */
#ifndef NSRUN_CIDR_H
#define NSRUN_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest accepted entry ("ffff:...:255.255.255.255/128" is 49 bytes). */
#define CIDR_TEXT_MAX 64
/* Buffer size that always holds cidr_format's output. */
#define CIDR_FORMAT_LEN 64

struct cidr {
	int family;	  /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network address, host bits cleared */
	unsigned prefix;  /* 0..32 or 0..128 */
};

/* Parses "10.0.0.1", "10.0.0.0/8", "2001:db8::/32". Host bits set below the
 * prefix are cleared. Returns 0, or -EINVAL with a reason in why (e.g.
 * "prefix length must be 0..32"). Entries longer than 64 bytes are invalid.
 * Rejected on purpose: whitespace, empty prefixes ("1.2.3.4/"), leading
 * zeros in an IPv4 octet or a prefix ("010.0.0.1" is 8.0.0.1 to inet_aton
 * but 10.0.0.1 to a human), shortened IPv4 forms, IPv6 zone ids. */
int cidr_parse(const char *text, struct cidr *out, char *why, size_t why_len);

/* Clears the host bits below c->prefix (addr bytes past the family's
 * length are zeroed too). */
void cidr_mask(struct cidr *c);

/* The first and last address covered (for interval sets). */
void cidr_range(const struct cidr *c, uint8_t first[16], uint8_t last[16]);

bool cidr_contains(const struct cidr *net, const uint8_t *addr, int family);

/* True when a and b share at least one address (same family). */
bool cidr_overlaps(const struct cidr *a, const struct cidr *b);

/* "10.0.0.0/8", "2001:db8::/32" (always with the prefix). */
void cidr_format(const struct cidr *c, char *buf, size_t len);

#endif
