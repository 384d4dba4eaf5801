/* Links, addresses and routes of the sandbox's netns: lo up (one ioctl),
 * then tap0 over rtnetlink with libnl-route as slirp4netns expects it (we
 * never pass --configure: the child, not the helper, owns its interfaces).
 *
 * libnl folds kernel errnos into its own NLE_* codes, losing e.g. EPERM vs
 * EACCES; an error callback keeps the kernel's errno so the message the
 * supervisor prints is the kernel's own reason. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>

#include "netns_int.h"

struct nl_ctx {
	struct nl_sock *sk;
	int kernel_errno; /* from the last nlmsgerr, 0 if none */
};

static int keep_errno(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct nl_ctx *c = arg;

	(void)nla;
	c->kernel_errno = -e->error;
	return NL_STOP;
}

/* The errno for a libnl failure: the kernel's when it sent one. */
static int nl_errno(struct nl_ctx *c, int nle)
{
	static const struct {
		int nle, err;
	} map[] = {
	    {NLE_NOMEM, ENOMEM},	 {NLE_EXIST, EEXIST},
	    {NLE_INVAL, EINVAL},	 {NLE_RANGE, ERANGE},
	    {NLE_OPNOTSUPP, EOPNOTSUPP}, {NLE_AF_NOSUPPORT, EAFNOSUPPORT},
	    {NLE_OBJ_NOTFOUND, ENOENT},	 {NLE_NOADDR, EADDRNOTAVAIL},
	    {NLE_BUSY, EBUSY},		 {NLE_NOACCESS, EACCES},
	    {NLE_PERM, EPERM},		 {NLE_NODEV, ENODEV},
	    {NLE_AGAIN, EAGAIN},	 {NLE_MSGSIZE, EMSGSIZE},
	};

	if (c->kernel_errno > 0)
		return c->kernel_errno;
	if (nle < 0)
		nle = -nle;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].nle == nle)
			return map[i].err;
	return EIO;
}

static int nl_fail(struct nl_ctx *c, int nle, struct nsrun_err *err, const char *what)
{
	return nsrun_err_set(err, "netns", nl_errno(c, nle), "%s (%s)", what, nl_geterror(nle));
}

static int ctx_open(struct nl_ctx *c, struct nsrun_err *err)
{
	int r;

	c->kernel_errno = 0;
	c->sk = nl_socket_alloc();
	if (!c->sk)
		return nsrun_err_set(err, "netns", ENOMEM, "rtnetlink socket");
	r = nl_socket_modify_err_cb(c->sk, NL_CB_CUSTOM, keep_errno, c);
	if (r == 0)
		r = nl_connect(c->sk, NETLINK_ROUTE);
	if (r < 0) {
		r = nl_fail(c, r, err, "rtnetlink socket");
		nl_socket_free(c->sk);
		c->sk = NULL;
	}
	return r;
}

static void ctx_close(struct nl_ctx *c)
{
	nl_socket_free(c->sk);
	c->sk = NULL;
}

/* Sets flags up and (when mtu) the MTU of the named link; its ifindex out. */
static int link_up(struct nl_ctx *c, const char *name, unsigned mtu, int *ifindex,
		   struct nsrun_err *err)
{
	struct rtnl_link *link = NULL, *change;
	char what[64];
	int r;

	c->kernel_errno = 0;
	r = rtnl_link_get_kernel(c->sk, 0, name, &link);
	if (r < 0) {
		snprintf(what, sizeof(what), "looking up %s", name);
		return nl_fail(c, r, err, what);
	}
	change = rtnl_link_alloc();
	if (!change) {
		rtnl_link_put(link);
		return nsrun_err_set(err, "netns", ENOMEM, "link %s", name);
	}
	rtnl_link_set_flags(change, IFF_UP);
	if (mtu)
		rtnl_link_set_mtu(change, mtu);
	c->kernel_errno = 0;
	r = rtnl_link_change(c->sk, link, change, 0);
	if (ifindex)
		*ifindex = rtnl_link_get_ifindex(link);
	rtnl_link_put(change);
	rtnl_link_put(link);
	if (r < 0) {
		snprintf(what, sizeof(what), "bringing %s up", name);
		return nl_fail(c, r, err, what);
	}
	return 0;
}

static int addr_add(struct nl_ctx *c, int ifindex, int family, const char *text, unsigned prefix,
		    struct nsrun_err *err)
{
	struct rtnl_addr *a = rtnl_addr_alloc();
	struct nl_addr *local = NULL;
	char what[96];
	int r;

	snprintf(what, sizeof(what), "adding %s/%u to " NETNS_TAP_NAME, text, prefix);
	if (!a)
		return nsrun_err_set(err, "netns", ENOMEM, "%s", what);
	r = nl_addr_parse(text, family, &local);
	if (r == 0) {
		rtnl_addr_set_ifindex(a, ifindex);
		rtnl_addr_set_family(a, family);
		nl_addr_set_prefixlen(local, (int)prefix);
		r = rtnl_addr_set_local(a, local);
	}
	/* A tentative IPv6 address cannot be used for ~1 s of DAD; slirp is
	 * the only other host on this link, so there is nothing to detect. */
	if (r == 0 && family == AF_INET6)
		rtnl_addr_set_flags(a, IFA_F_NODAD);
	c->kernel_errno = 0;
	if (r == 0)
		r = rtnl_addr_add(c->sk, a, 0);
	nl_addr_put(local);
	rtnl_addr_put(a);
	return r < 0 ? nl_fail(c, r, err, what) : 0;
}

static int default_route(struct nl_ctx *c, int ifindex, int family, const char *gateway,
			 struct nsrun_err *err)
{
	struct rtnl_route *rt = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *dst = NULL, *gw = NULL;
	char what[96];
	int r;

	snprintf(what, sizeof(what), "adding the default route via %s", gateway);
	if (!rt || !nh) {
		rtnl_route_put(rt);
		if (nh)
			rtnl_route_nh_free(nh);
		return nsrun_err_set(err, "netns", ENOMEM, "%s", what);
	}
	r = nl_addr_parse(family == AF_INET ? "0.0.0.0/0" : "::/0", family, &dst);
	if (r == 0)
		r = nl_addr_parse(gateway, family, &gw);
	if (r == 0) {
		rtnl_route_set_family(rt, (uint8_t)family);
		rtnl_route_set_table(rt, RT_TABLE_MAIN);
		rtnl_route_set_protocol(rt, RTPROT_STATIC);
		rtnl_route_set_scope(rt, RT_SCOPE_UNIVERSE);
		rtnl_route_set_type(rt, RTN_UNICAST);
		r = rtnl_route_set_dst(rt, dst);
	}
	if (r == 0) {
		rtnl_route_nh_set_ifindex(nh, ifindex);
		rtnl_route_nh_set_gateway(nh, gw);
		rtnl_route_add_nexthop(rt, nh); /* rt owns nh from here */
		nh = NULL;
		c->kernel_errno = 0;
		r = rtnl_route_add(c->sk, rt, NLM_F_EXCL);
	}
	if (nh) /* not NULL-safe */
		rtnl_route_nh_free(nh);
	nl_addr_put(dst);
	nl_addr_put(gw);
	rtnl_route_put(rt);
	return r < 0 ? nl_fail(c, r, err, what) : 0;
}

/* Every run of every network mode does this, so it is one ioctl on a
 * socket (~50 us) rather than an rtnetlink session (~300 us with libnl:
 * socket set-up, a link dump, a change request). */
int netns_link_lo_up(struct nsrun_err *err)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;

	if (s < 0)
		return nsrun_err_set(err, "netns", errno, "socket for bringing lo up");
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		r = nsrun_err_set(err, "netns", errno, "looking up lo");
	else if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			r = nsrun_err_set(err, "netns", errno, "bringing lo up");
	}
	close(s);
	return r;
}

static int tap_ipv6(struct nl_ctx *c, int ifindex, struct nsrun_err *err)
{
	int r = addr_add(c, ifindex, AF_INET6, NETNS_TAP_ADDR6, 64, err);

	if (r == 0)
		r = default_route(c, ifindex, AF_INET6, NETNS_GATEWAY6, err);
	return r;
}

int netns_link_tap_setup(const struct netns_plan *plan, struct nsrun_err *err)
{
	struct nl_ctx c;
	int ifindex = 0, r;

	r = ctx_open(&c, err);
	if (r < 0)
		return r;
	r = link_up(&c, NETNS_TAP_NAME, plan->mtu, &ifindex, err);
	if (r == 0)
		r = addr_add(&c, ifindex, AF_INET, NETNS_TAP_ADDR4, 24, err);
	if (r == 0)
		r = default_route(&c, ifindex, AF_INET, NETNS_GATEWAY4, err);
	if (r == 0 && plan->ipv6) {
		r = tap_ipv6(&c, ifindex, err);
		/* A kernel without IPv6 has nothing to reach over it either. */
		if (r == -EAFNOSUPPORT)
			r = 0;
	}
	ctx_close(&c);
	return r;
}
