/* The minimal /etc: only what programs need to look up users and hosts,
 * find libraries, check certificates and tell the time. Small files are
 * copied into the root tmpfs (no mount each, so fewer syscalls than a bind
 * apiece); directories are bound read-only. The root, /etc included, is
 * remounted read-only once everything is in place (root.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsns.h"
#include "runtime/cleanup.h"
#include "runtime/inputs.h"
#include "runtime/policy.h"
#include "runtime/report.h"

/* Those that exist are taken. alternatives/: Debian's awk, editor, nc ...
 * are /usr/bin -> /etc/alternatives -> /usr/bin symlink chains. */
static const char *const etc_entries[] = {
    "passwd",
    "group",
    "nsswitch.conf",
    "host.conf",
    "gai.conf",
    "services",
    "protocols",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "ssl",
    "ca-certificates",
    "ca-certificates.conf",
    "pki",
    "alternatives",
};

static const char hosts_text[] = "127.0.0.1\tlocalhost\n"
				 "::1\tlocalhost ip6-localhost ip6-loopback\n"
				 "127.0.1.1\t" FSNS_HOSTNAME "\n";

static void plan_entry(struct fsns_plan *plan, const char *path)
{
	char real[PATH_MAX], link[256];
	struct fsns_step *s;
	struct stat st;
	ssize_t n;

	if (lstat(path, &st) < 0)
		return;
	if (S_ISLNK(st.st_mode)) {
		if (stat(path, &st) < 0 || !realpath(path, real))
			return; /* dangling */
		/* localtime -> /usr/share/zoneinfo/...: /usr is there, the link
		 * is one syscall where a copy is six. */
		n = readlink(path, link, sizeof(link) - 1);
		if (n > 0 && link[0] == '/' && strncmp(real, "/usr/", 5) == 0) {
			link[n] = '\0';
			fsns_plan_add(plan, FSNS_SYMLINK, link, path);
			return;
		}
	} else {
		snprintf(real, sizeof(real), "%s", path); /* resolves the same at run time */
	}
	if (strlen(real) >= sizeof(s->src))
		return;
	if (S_ISDIR(st.st_mode)) {
		s = fsns_plan_add(plan, FSNS_BIND, real, path);
		s->mode = S_IFDIR;
	} else if (S_ISREG(st.st_mode)) {
		s = fsns_plan_add(plan, st.st_size <= FSNS_COPY_MAX ? FSNS_COPY : FSNS_BIND, real,
				  path);
		s->mode = S_IFREG;
	} else {
		return;
	}
	/* A file the sandbox's uid cannot read is left out, not fatal. */
	s->optional = true;
}

int fsns_plan_etc(struct fsns_plan *plan, const struct policy *p, const struct run_inputs *in,
		  struct report *rep)
{
	char path[64];

	if (in->host_etc) {
		char real[PATH_MAX];

		if (!realpath("/etc", real))
			return -errno;
		fsns_plan_add(plan, FSNS_BIND, real, "/etc")->mode = S_IFDIR;
		report_note(rep, LAYER_FILESYSTEM,
			    "the host's whole /etc is bound read-only (host_etc); hosts and "
			    "resolv.conf are the host's");
		return 0;
	}
	fsns_plan_add(plan, FSNS_DIR, NULL, "/etc")->mode = 0755;
	for (size_t i = 0; i < sizeof(etc_entries) / sizeof(etc_entries[0]); i++) {
		snprintf(path, sizeof(path), "/etc/%s", etc_entries[i]);
		plan_entry(plan, path);
	}
	fsns_plan_add(plan, FSNS_HOSTS, NULL, "/etc/hosts");
	snprintf(plan->hosts, sizeof(plan->hosts), "%s", hosts_text);
	if (p->net_mode == NET_MODE_UNRESTRICTED && !p->deny_link_local_and_metadata) {
		/* The host's network as is: its resolver works too. */
		plan_entry(plan, "/etc/resolv.conf");
	} else {
		fsns_plan_add(plan, FSNS_RESOLV, NULL, "/etc/resolv.conf");
	}
	return 0;
}

static int create_in(const struct fsns_root *root, const char *dest, int *out)
{
	const char *base = strrchr(dest, '/');
	int dir = fsns_parent_dir(root, dest);

	if (dir < 0)
		return dir;
	*out = openat(dir, base ? base + 1 : dest,
		      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	return *out < 0 ? -errno : 0;
}

int fsns_apply_copy(const struct fsns_root *root, const struct fsns_step *s, int src_fd,
		    struct nsrun_err *err)
{
	_cleanup_close_ int in = -1, out = -1;
	struct stat st;
	off_t left;
	int r;

	in = src_fd >= 0 ? fcntl(src_fd, F_DUPFD_CLOEXEC, 3)
			 : open(s->src, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (in < 0) {
		if (s->optional && (errno == ENOENT || errno == EACCES))
			return 0;
		return nsrun_err_set(err, "fsns", errno, "copy %s -> %s", s->src, s->dest);
	}
	if (fstat(in, &st) < 0)
		return nsrun_err_set(err, "fsns", errno, "copy %s -> %s", s->src, s->dest);
	if (!S_ISREG(st.st_mode) || st.st_size > FSNS_COPY_MAX)
		return nsrun_err_set(err, "fsns", EFBIG, "copy %s -> %s: not a small regular file",
				     s->src, s->dest);
	r = create_in(root, s->dest, &out);
	if (r < 0)
		return nsrun_err_set(err, "fsns", -r, "copy %s -> %s", s->src, s->dest);
	for (left = st.st_size; left > 0;) {
		ssize_t n = sendfile(out, in, NULL, (size_t)left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return nsrun_err_set(err, "fsns", errno, "copy %s -> %s", s->src, s->dest);
		if (n == 0)
			break; /* the file shrank meanwhile: keep what was there */
		left -= n;
	}
	return 0;
}

int fsns_apply_write(const struct fsns_root *root, const char *dest, const char *text,
		     struct nsrun_err *err)
{
	_cleanup_close_ int out = -1;
	size_t len = strlen(text), done = 0;
	int r;

	r = create_in(root, dest, &out);
	if (r < 0)
		return nsrun_err_set(err, "fsns", -r, "write %s", dest);
	while (done < len) {
		ssize_t n = write(out, text + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return nsrun_err_set(err, "fsns", n < 0 ? errno : EIO, "write %s", dest);
		done += (size_t)n;
	}
	return 0;
}
