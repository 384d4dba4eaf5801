/* IPv4/IPv6 address and CIDR parsing for the allowlist. Pure. */
#ifndef NSRUN_CIDR_H
#define NSRUN_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cidr {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];	/* network address, host bits cleared */
	unsigned prefix;	/* 0..32 or 0..128 */
};

/* Parses "10.0.0.1", "10.0.0.0/8", "2001:db8::/32". Host bits set below the
 * prefix are cleared. Returns 0, or -EINVAL with a reason in why (e.g.
 * "prefix length must be 0..32"). Entries longer than 64 bytes are invalid. */
int cidr_parse(const char *text, struct cidr *out, char *why, size_t why_len);

/* The first and last address covered (for interval sets). */
void cidr_range(const struct cidr *c, uint8_t first[16], uint8_t last[16]);

bool cidr_contains(const struct cidr *net, const uint8_t *addr, int family);

#endif
