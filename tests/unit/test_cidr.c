/* CIDR parsing: what the allowlist accepts, and every way it refuses. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netns/cidr.h"

static struct cidr parse_ok(const char *text)
{
	struct cidr c;
	char why[128] = "";

	cr_assert_eq(cidr_parse(text, &c, why, sizeof(why)), 0, "'%s' rejected: %s", text, why);
	cr_assert_str_empty(why);
	return c;
}

static void parse_bad(const char *text, const char *reason_part)
{
	struct cidr c;
	char why[128] = "";

	cr_assert_eq(cidr_parse(text, &c, why, sizeof(why)), -EINVAL, "'%s' accepted", text);
	cr_assert(strstr(why, reason_part), "'%s': reason '%s' lacks '%s'", text, why, reason_part);
}

static void expect_format(const char *text, const char *want)
{
	struct cidr c = parse_ok(text);
	char buf[CIDR_FORMAT_LEN];

	cidr_format(&c, buf, sizeof(buf));
	cr_assert_str_eq(buf, want, "'%s' -> '%s', want '%s'", text, buf, want);
}

Test(cidr, ipv4_forms)
{
	struct cidr c = parse_ok("10.1.2.3");

	cr_assert_eq(c.family, AF_INET);
	cr_assert_eq(c.prefix, 32);
	cr_assert_eq(memcmp(c.addr, "\x0a\x01\x02\x03", 4), 0);
	expect_format("10.0.0.0/8", "10.0.0.0/8");
	expect_format("0.0.0.0/0", "0.0.0.0/0");
	expect_format("255.255.255.255/32", "255.255.255.255/32");
	expect_format("169.254.169.254", "169.254.169.254/32");
	expect_format("0.0.0.0", "0.0.0.0/32");
}

Test(cidr, host_bits_are_cleared)
{
	expect_format("10.1.2.3/8", "10.0.0.0/8");
	expect_format("192.168.1.255/23", "192.168.0.0/23");
	expect_format("10.1.2.3/0", "0.0.0.0/0");
	expect_format("2001:db8::1/32", "2001:db8::/32");
	expect_format("2001:db8:ffff::/33", "2001:db8:8000::/33");
	expect_format("fe80::1/10", "fe80::/10");
}

Test(cidr, ipv6_forms)
{
	struct cidr c = parse_ok("::1");

	cr_assert_eq(c.family, AF_INET6);
	cr_assert_eq(c.prefix, 128);
	expect_format("::/0", "::/0");
	expect_format("2001:DB8::A", "2001:db8::a/128");
	expect_format("2001:db8:0:0:0:0:0:1", "2001:db8::1/128");
	expect_format("::ffff:10.0.0.1", "::ffff:10.0.0.1/128");
	expect_format("fd00:ec2::254/128", "fd00:ec2::254/128");
	expect_format("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
		      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
}

Test(cidr, prefix_out_of_range)
{
	parse_bad("10.0.0.0/33", "0..32");
	parse_bad("::1/129", "0..128");
	parse_bad("10.0.0.0/-1", "0..32");
	parse_bad("10.0.0.0/1000", "0..32");
	parse_bad("10.0.0.0/+8", "0..32");
	parse_bad("10.0.0.0/8/8", "0..32");
	parse_bad("10.0.0.0/0x8", "0..32");
}

Test(cidr, malformed)
{
	parse_bad("", "empty");
	parse_bad("abc", "IPv4");
	parse_bad("1.2.3.4/", "missing prefix");
	parse_bad("/8", "missing address");
	parse_bad("1.2.3", "4 octets");
	parse_bad("1.2.3.4.5", "4 octets");
	parse_bad("1.2.3.256", "0..255");
	parse_bad("1.2.3.-1", "malformed");
	parse_bad("1..2.3", "malformed");
	parse_bad("1.2.3.4.", "4 octets");
	parse_bad("0x0a.0.0.1", "malformed");
	parse_bad("10.0.0.1 ", "whitespace");
	parse_bad(" 10.0.0.1", "whitespace");
	parse_bad("10.0.0.1\n", "whitespace");
	parse_bad("2001:db8::1::2", "IPv6");
	parse_bad("2001:db8::g", "IPv6");
	parse_bad("fe80::1%eth0", "zone");
	parse_bad("1.2.3.4:80", "IPv6");
	parse_bad("::1/", "missing prefix");
	parse_bad("12345::", "IPv6");
	parse_bad("\xc3\xa9.1.1.1", "control");
}

Test(cidr, leading_zeros_are_ambiguous)
{
	parse_bad("010.0.0.1", "ambiguous");
	parse_bad("10.0.0.01", "ambiguous");
	parse_bad("10.00.0.1", "ambiguous");
	parse_bad("10.0.0.0/08", "leading zero");
	parse_bad("::1/0128", "leading zero");
	parse_ok("10.0.0.0/0");
	parse_ok("0.0.0.0");
}

Test(cidr, long_entries)
{
	char big[10 * 1024 + 1];

	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	parse_bad(big, "longer than 64");
	memset(big, 'a', 65);
	big[65] = '\0';
	parse_bad(big, "longer than 64");
	parse_bad(NULL, "empty");
}

Test(cidr, null_outputs_are_allowed)
{
	cr_assert_eq(cidr_parse("10.0.0.0/8", NULL, NULL, 0), 0);
	cr_assert_eq(cidr_parse("10.0.0.0/88", NULL, NULL, 0), -EINVAL);
}

Test(cidr, range_and_contains)
{
	struct cidr c = parse_ok("10.0.2.0/23");
	uint8_t first[16], last[16], a[16];

	cidr_range(&c, first, last);
	cr_assert_eq(memcmp(first, "\x0a\x00\x02\x00", 4), 0);
	cr_assert_eq(memcmp(last, "\x0a\x00\x03\xff", 4), 0);
	inet_pton(AF_INET, "10.0.3.7", a);
	cr_assert(cidr_contains(&c, a, AF_INET));
	inet_pton(AF_INET, "10.0.4.0", a);
	cr_assert_not(cidr_contains(&c, a, AF_INET));
	cr_assert_not(cidr_contains(&c, a, AF_INET6));

	c = parse_ok("fc00::/7");
	cidr_range(&c, first, last);
	cr_assert_eq(first[0], 0xfc);
	cr_assert_eq(last[0], 0xfd);
	cr_assert_eq(last[15], 0xff);
	inet_pton(AF_INET6, "fd00:ec2::254", a);
	cr_assert(cidr_contains(&c, a, AF_INET6));

	c = parse_ok("0.0.0.0/0");
	cidr_range(&c, first, last);
	cr_assert_eq(memcmp(last, "\xff\xff\xff\xff", 4), 0);
}

Test(cidr, overlaps)
{
	struct cidr a = parse_ok("169.254.0.0/16"), b = parse_ok("169.254.169.254");
	struct cidr wide = parse_ok("128.0.0.0/1"), other = parse_ok("10.0.0.0/8");
	struct cidr v6 = parse_ok("::/0");

	cr_assert(cidr_overlaps(&a, &b));
	cr_assert(cidr_overlaps(&b, &a));
	cr_assert(cidr_overlaps(&wide, &a));
	cr_assert_not(cidr_overlaps(&other, &a));
	cr_assert_not(cidr_overlaps(&v6, &a));
}

/* An independent reading of "a.b.c.d[/p]": 1-3 digit octets <= 255, 1-2
 * digit prefixes <= 32, no leading zeros, nothing else. */
static bool ref_ipv4(const char *s, uint8_t addr[4], unsigned *prefix)
{
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned part = 0;

	*prefix = 32;
	for (size_t i = 0, start = 0; i <= alen; i++) {
		size_t n;
		unsigned v = 0;

		if (i < alen && s[i] != '.')
			continue;
		n = i - start;
		if (part == 4 || n == 0 || n > 3 || (n > 1 && s[start] == '0'))
			return false;
		for (size_t k = start; k < i; k++) {
			if (s[k] < '0' || s[k] > '9')
				return false;
			v = v * 10 + (unsigned)(s[k] - '0');
		}
		if (v > 255)
			return false;
		addr[part++] = (uint8_t)v;
		start = i + 1;
	}
	if (part != 4)
		return false;
	if (slash) {
		const char *p = slash + 1;
		size_t n = strlen(p);
		unsigned v = 0;

		if (n == 0 || n > 2 || (n > 1 && p[0] == '0'))
			return false;
		for (size_t k = 0; k < n; k++) {
			if (p[k] < '0' || p[k] > '9')
				return false;
			v = v * 10 + (unsigned)(p[k] - '0');
		}
		if (v > 32)
			return false;
		*prefix = v;
	}
	return true;
}

/* Dotted quads take a one-pass path; whatever it accepts must be exactly
 * what the strict rules accept, with the same value. */
Test(cidr, dotted_quads_match_an_independent_reading)
{
	static const char alphabet[] = "0123456789012345678901234567890123456789....//";
	const char *edge[] = {"0.0.0.0",   "255.255.255.255/32", "1.2.3.4/0", "01.2.3.4", "1.2.3.04",
			      "1.2.3.4/01", "1.2.3.4/", "1.2.3.4.", "1.2.3",	  "256.1.1.1",
			      "1.2.3.4/33", "1.2.3.4/3a", "1000.1.1.1", "1.2.3.4/100", "1..2.3",
			      ".1.2.3.4", "1.2.3.4//8", "1.2.3.4/8/8", "9.99.199.249/9"};
	unsigned seed = 4242;
	char text[32];

	for (size_t t = 0; t < 200000 + sizeof(edge) / sizeof(edge[0]); t++) {
		struct cidr c;
		uint8_t want[4];
		unsigned prefix;
		bool ok;
		int r;

		if (t < sizeof(edge) / sizeof(edge[0])) {
			snprintf(text, sizeof(text), "%s", edge[t]);
		} else {
			/* Mostly well-formed quads, with random damage. */
			size_t n = 0;

			for (int part = 0; part < 4; part++) {
				n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%u",
						      part ? "." : "", rand_r(&seed) % 300);
			}
			if (rand_r(&seed) % 2)
				n += (size_t)snprintf(text + n, sizeof(text) - n, "/%u",
						      rand_r(&seed) % 40);
			for (int k = rand_r(&seed) % 3; k-- > 0 && n > 0;)
				text[rand_r(&seed) % n] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
		}
		ok = ref_ipv4(text, want, &prefix);
		r = cidr_parse(text, &c, NULL, 0);
		cr_assert_eq(r == 0, ok, "'%s': parse %d, reference %d", text, r, ok);
		if (ok) {
			struct cidr ref = {.family = AF_INET, .prefix = prefix};

			memcpy(ref.addr, want, 4);
			cidr_mask(&ref);
			cr_assert_eq(memcmp(&c, &ref, sizeof(c)), 0, "'%s': wrong value", text);
		}
	}
}
