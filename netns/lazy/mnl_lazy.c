/* libmnl, loaded on first use. Debian 12 ships libmnl without a static
 * archive, so where every other dependency is linked in (cmake/static.cmake)
 * libmnl stayed a shared library that every run mapped and relocated,
 * although only runs that load an nftables ruleset (allowlist, unrestricted
 * with its block) ever call it: ~0.03 ms of each `deny` run (start-up and
 * exit, A/B). Built only then (NSRUN_MNL_LAZY); a build that has libmnl.a
 * links it as usual and never dlopens.
 *
 * Each function libnftnl and netns/ call forwards to libmnl's own, resolved
 * the first time (netns_mnl_ready, or any wrapper). The wrappers are hidden:
 * libmnl's own calls must never bind back to them. */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

#include "netns/netns_int.h"

#define MNL_SONAME NETNS_LIBS_LOADED_LATER

/* R: returns a value; V: returns void. (type, name, params, args) */
#define MNL_FUNCS(R, V)                                                                            \
	R(void *, mnl_attr_get_payload, (const struct nlattr *a), (a))                             \
	R(uint16_t, mnl_attr_get_payload_len, (const struct nlattr *a), (a))                       \
	R(const char *, mnl_attr_get_str, (const struct nlattr *a), (a))                           \
	R(uint16_t, mnl_attr_get_type, (const struct nlattr *a), (a))                              \
	R(uint8_t, mnl_attr_get_u8, (const struct nlattr *a), (a))                                 \
	R(uint16_t, mnl_attr_get_u16, (const struct nlattr *a), (a))                               \
	R(uint32_t, mnl_attr_get_u32, (const struct nlattr *a), (a))                               \
	R(uint64_t, mnl_attr_get_u64, (const struct nlattr *a), (a))                               \
	V(mnl_attr_nest_end, (struct nlmsghdr * n, struct nlattr * s), (n, s))                     \
	R(struct nlattr *, mnl_attr_nest_start, (struct nlmsghdr * n, uint16_t t), (n, t))         \
	R(struct nlattr *, mnl_attr_next, (const struct nlattr *a), (a))                           \
	R(bool, mnl_attr_ok, (const struct nlattr *a, int len), (a, len))                          \
	R(int, mnl_attr_parse, (const struct nlmsghdr *n, unsigned int off, mnl_attr_cb_t cb,      \
				void *d),                                                          \
	  (n, off, cb, d))                                                                         \
	R(int, mnl_attr_parse_nested, (const struct nlattr *a, mnl_attr_cb_t cb, void *d),         \
	  (a, cb, d))                                                                              \
	V(mnl_attr_put, (struct nlmsghdr * n, uint16_t t, size_t len, const void *d),              \
	  (n, t, len, d))                                                                          \
	V(mnl_attr_put_str, (struct nlmsghdr * n, uint16_t t, const char *d), (n, t, d))           \
	V(mnl_attr_put_strz, (struct nlmsghdr * n, uint16_t t, const char *d), (n, t, d))          \
	V(mnl_attr_put_u8, (struct nlmsghdr * n, uint16_t t, uint8_t d), (n, t, d))                \
	V(mnl_attr_put_u16, (struct nlmsghdr * n, uint16_t t, uint16_t d), (n, t, d))              \
	V(mnl_attr_put_u32, (struct nlmsghdr * n, uint16_t t, uint32_t d), (n, t, d))              \
	V(mnl_attr_put_u64, (struct nlmsghdr * n, uint16_t t, uint64_t d), (n, t, d))              \
	R(int, mnl_attr_type_valid, (const struct nlattr *a, uint16_t max), (a, max))              \
	R(int, mnl_attr_validate, (const struct nlattr *a, enum mnl_attr_data_type t), (a, t))     \
	R(int, mnl_cb_run, (const void *buf, size_t n, unsigned int seq, unsigned int portid,      \
			    mnl_cb_t cb, void *d),                                                 \
	  (buf, n, seq, portid, cb, d))                                                            \
	R(void *, mnl_nlmsg_batch_current, (struct mnl_nlmsg_batch * b), (b))                      \
	R(void *, mnl_nlmsg_batch_head, (struct mnl_nlmsg_batch * b), (b))                         \
	R(bool, mnl_nlmsg_batch_next, (struct mnl_nlmsg_batch * b), (b))                           \
	R(size_t, mnl_nlmsg_batch_size, (struct mnl_nlmsg_batch * b), (b))                         \
	R(struct mnl_nlmsg_batch *, mnl_nlmsg_batch_start, (void *buf, size_t size), (buf, size))  \
	V(mnl_nlmsg_batch_stop, (struct mnl_nlmsg_batch * b), (b))                                 \
	R(void *, mnl_nlmsg_get_payload, (const struct nlmsghdr *n), (n))                          \
	R(void *, mnl_nlmsg_get_payload_tail, (const struct nlmsghdr *n), (n))                     \
	R(struct nlmsghdr *, mnl_nlmsg_next, (const struct nlmsghdr *n, int *len), (n, len))       \
	R(bool, mnl_nlmsg_ok, (const struct nlmsghdr *n, int len), (n, len))                       \
	R(void *, mnl_nlmsg_put_extra_header, (struct nlmsghdr * n, size_t size), (n, size))       \
	R(struct nlmsghdr *, mnl_nlmsg_put_header, (void *buf), (buf))                             \
	R(size_t, mnl_nlmsg_size, (size_t len), (len))                                             \
	R(int, mnl_socket_bind, (struct mnl_socket * nl, unsigned int groups, pid_t pid),          \
	  (nl, groups, pid))                                                                       \
	R(int, mnl_socket_close, (struct mnl_socket * nl), (nl))                                   \
	R(int, mnl_socket_get_fd, (const struct mnl_socket *nl), (nl))                             \
	R(unsigned int, mnl_socket_get_portid, (const struct mnl_socket *nl), (nl))                \
	R(struct mnl_socket *, mnl_socket_open, (int bus), (bus))                                  \
	R(struct mnl_socket *, mnl_socket_open2, (int bus, int flags), (bus, flags))               \
	R(ssize_t, mnl_socket_recvfrom, (const struct mnl_socket *nl, void *buf, size_t n),        \
	  (nl, buf, n))                                                                            \
	R(ssize_t, mnl_socket_sendto, (const struct mnl_socket *nl, const void *req, size_t n),    \
	  (nl, req, n))                                                                            \
	R(int, mnl_socket_setsockopt, (const struct mnl_socket *nl, int type, void *buf,           \
				       socklen_t len),                                             \
	  (nl, type, buf, len))

#define PTR_R(type, name, params, args) static __typeof__(name) *p_##name;
#define PTR_V(name, params, args) static __typeof__(name) *p_##name;
MNL_FUNCS(PTR_R, PTR_V)

static bool loaded;
static char load_error[256];

static bool load(void)
{
	void *h;

	if (loaded)
		return true;
	if (load_error[0])
		return false;
	h = dlopen(MNL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *why = dlerror();

		snprintf(load_error, sizeof(load_error), "%s", why ? why : "dlopen " MNL_SONAME " failed");
		return false;
	}
#define SYM_R(type, name, params, args)                                                            \
	if (!(p_##name = (__typeof__(name) *)dlsym(h, #name))) {                                   \
		snprintf(load_error, sizeof(load_error), MNL_SONAME " has no %s", #name);          \
		return false;                                                                      \
	}
#define SYM_V(name, params, args) SYM_R(void, name, params, args)
	MNL_FUNCS(SYM_R, SYM_V)
	loaded = true;
	return true;
}

int netns_mnl_ready(struct nsrun_err *err)
{
	if (load())
		return 0;
	return nsrun_err_set(err, "netns", 0, "nftables: cannot load libmnl: %s", load_error);
}

/* Reached only if a caller skipped netns_mnl_ready: there is no error to
 * return through libmnl's own signatures. */
static void need(void)
{
	if (!load()) {
		dprintf(2, "nsrun: netns: nftables: cannot load libmnl: %s\n", load_error);
		_exit(125);
	}
}

#pragma GCC visibility push(hidden)
#define WRAP_R(type, name, params, args)                                                           \
	type name params                                                                           \
	{                                                                                          \
		need();                                                                            \
		return p_##name args;                                                              \
	}
#define WRAP_V(name, params, args)                                                                 \
	void name params                                                                           \
	{                                                                                          \
		need();                                                                            \
		p_##name args;                                                                     \
	}
MNL_FUNCS(WRAP_R, WRAP_V)
#pragma GCC visibility pop
