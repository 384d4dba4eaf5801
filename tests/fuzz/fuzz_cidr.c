/* libFuzzer entry for the allowlist parser: no crash, no read past the
 * input, and every accepted entry is canonical (host bits cleared, prefix in
 * range) and round-trips through cidr_format. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "netns/cidr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	char why[128], again[CIDR_FORMAT_LEN];
	struct cidr c, d;
	uint8_t first[16], last[16];

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (cidr_parse(text, &c, why, sizeof(why)) == 0) {
		unsigned max = c.family == AF_INET ? 32 : 128;

		if ((c.family != AF_INET && c.family != AF_INET6) || c.prefix > max)
			abort();
		cidr_range(&c, first, last);
		if (!cidr_contains(&c, first, c.family) || !cidr_contains(&c, last, c.family))
			abort();
		cidr_format(&c, again, sizeof(again));
		if (cidr_parse(again, &d, why, sizeof(why)) != 0 || memcmp(&c, &d, sizeof(c)) != 0)
			abort();
	} else if (why[0] == '\0') {
		abort(); /* every refusal has a reason */
	}
	free(text);
	return 0;
}
