/* Low-level mount helpers. The new mount API (open_tree, mount_setattr,
 * move_mount) clones a tree detached, makes the whole of it read-only
 * before anyone can see it, and attaches it through fds, so no path is
 * resolved twice. Kernels older than 5.12 and seccomp profiles that refuse
 * those syscalls get mount(2) and one remount per submount instead. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "fsns.h"
#include "runtime/cleanup.h"

#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000 /* <linux/fcntl.h>, which clashes with glibc's */
#endif

/* Process-wide knowledge of the kernel, not options: once a call said
 * ENOSYS there is no point asking again. */
static bool force_legacy;
static bool no_open_tree;
static bool no_setattr;

void fsns_mount_force_legacy(bool on)
{
	force_legacy = on;
}

/* A seccomp profile that does not know a syscall answers ENOSYS (Docker
 * since 20.10) or EPERM (older profiles); mount(2) then tells the truth. */
static bool unavailable(int e)
{
	return e == ENOSYS || e == EPERM;
}

static int open_component(int dir, const char *name, enum fsns_node want)
{
	int flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
	struct stat st;
	int fd;

	if (want == FSNS_NODE_DIR)
		flags |= O_DIRECTORY;
	fd = openat(dir, name, flags);
	if (fd < 0) {
		int e = errno;

		/* O_DIRECTORY|O_NOFOLLOW says ENOTDIR for a symlink: name it. */
		if (e == ENOTDIR && fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode))
			e = ELOOP;
		return -e;
	}
	/* O_PATH|O_NOFOLLOW opens a symlink itself: a mount there would land
	 * wherever it points once resolved again. */
	if (want != FSNS_NODE_DIR && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
		close(fd);
		return -ELOOP;
	}
	return fd;
}

/* One openat2 resolves a whole path that exists (the parent of a new
 * mount point, usually) and refuses any symlink on the way. -ENOSYS-like
 * answers (a kernel before 5.6, a seccomp profile) send callers to the
 * component walk. */
static int open_fast(int rootfd, const char *dest, size_t len, bool dir)
{
	struct open_how how = {
	    .flags = O_PATH | O_CLOEXEC | (dir ? O_DIRECTORY : 0),
	    .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	char rel[512];
	int fd;

	while (len && *dest == '/')
		dest++, len--;
	if (len == 0)
		fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	else if (len >= sizeof(rel))
		return -ENAMETOOLONG;
	else {
		memcpy(rel, dest, len);
		rel[len] = '\0';
		fd = (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
	}
	return fd < 0 ? -errno : fd;
}

#define MADE_NOT_OPENED INT_MAX /* make_component: created, no fd wanted */

/* Creates (when asked) and opens one component below dir. A node it has
 * just made is ours (no symlink to guard against): unless the caller wants
 * an fd, it is not opened (two or three syscalls less, for each mount
 * point and device node of a root). */
static int make_component(int dir, const char *name, enum fsns_node want, bool create,
			  bool want_fd)
{
	int made = 0, fd;

	if (create) {
		int r = want == FSNS_NODE_DIR ? mkdirat(dir, name, 0755)
					      : mknodat(dir, name, S_IFREG | 0644, 0);

		if (r == 0 && !want_fd)
			return MADE_NOT_OPENED;
		if (r < 0 && errno != EEXIST)
			made = errno;
	}
	fd = open_component(dir, name, want);
	/* EROFS/EACCES from the mkdir says more than the open's ENOENT */
	return made && fd == -ENOENT ? -made : fd;
}

/* The slow way: component by component, each one opened O_NOFOLLOW. */
static int walk(const struct fsns_root *root, const char *dest, enum fsns_node node, bool create)
{
	_cleanup_close_ int cur = fcntl(root->fd, F_DUPFD_CLOEXEC, 3);
	const char *p = dest;
	char comp[256];

	if (cur < 0)
		return -errno;
	for (;;) {
		size_t len;
		bool last;
		int next;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		len = strcspn(p, "/");
		if (len >= sizeof(comp))
			return -ENAMETOOLONG;
		memcpy(comp, p, len);
		comp[len] = '\0';
		p += len;
		while (*p == '/')
			p++;
		last = *p == '\0';
		if (last && node == FSNS_NODE_PARENT)
			break;
		next = make_component(cur, comp, last ? node : FSNS_NODE_DIR, create, true);
		if (next < 0)
			return next;
		close(cur);
		cur = next;
	}
	return nsrun_steal_fd(&cur);
}

int fsns_mkpath(const struct fsns_root *root, const char *dest, enum fsns_node node, int *fd_out)
{
	bool create = root->prefix[0] != '\0';
	const char *slash = strrchr(dest, '/');
	const char *last = slash ? slash + 1 : dest;
	size_t plen = slash ? (size_t)(slash - dest) : 0;
	_cleanup_close_ int parent = -1;
	int fd;

	if (fd_out)
		*fd_out = -1;
	/* Plans hold normalised paths; this is the guard if one does not. */
	if (!*last || strcmp(last, ".") == 0 || strcmp(last, "..") == 0 || strstr(dest, "/../") ||
	    strstr(dest, "/./"))
		return -EINVAL;
	/* A top-level name needs no parent lookup: the root fd is the parent. */
	if (plen == 0 && node != FSNS_NODE_PARENT) {
		fd = make_component(root->fd, last, node, create, fd_out != NULL);
		goto out;
	}
	parent = open_fast(root->fd, dest, plen, true);
	if (parent == -ELOOP || parent == -ENOTDIR)
		return parent;
	if (parent < 0)
		fd = walk(root, dest, node, create);
	else if (node == FSNS_NODE_PARENT)
		fd = nsrun_steal_fd(&parent);
	else
		fd = make_component(parent, last, node, create, fd_out != NULL);
out:
	if (fd == MADE_NOT_OPENED)
		return 0;
	if (fd < 0)
		return fd;
	if (fd_out)
		*fd_out = fd;
	else
		close(fd);
	return 0;
}

void fsns_parent_forget(const struct fsns_root *root, const char *path)
{
	struct fsns_parent_cache *c = root->parent;
	size_t n;

	if (!c || c->fd < 0)
		return;
	while (path && path[0] == '/' && path[1] == '/')
		path++;
	n = path ? strlen(path) : 0;
	if (n == 1 && path[0] == '/')
		n = 0; /* "/" is above everything */
	if (path && (strncmp(c->path, path, n) != 0 || (c->path[n] != '/' && c->path[n] != '\0')))
		return; /* a mount elsewhere (a sibling, or below the cached dir) */
	close(c->fd);
	c->fd = -1;
	c->path[0] = '\0';
}

int fsns_parent_dir(const struct fsns_root *root, const char *dest)
{
	struct fsns_parent_cache *c = root->parent;
	const char *slash = strrchr(dest, '/');
	size_t plen = slash ? (size_t)(slash - dest) : 0;
	int fd, r;

	if (c && c->fd >= 0 && plen < sizeof(c->path) && strlen(c->path) == plen &&
	    strncmp(c->path, dest, plen) == 0)
		return c->fd;
	r = fsns_mkpath(root, dest, FSNS_NODE_PARENT, &fd);
	if (r < 0)
		return r;
	if (!c || plen >= sizeof(c->path)) {
		/* nowhere to keep it, and the caller does not close it */
		close(fd);
		return c ? -ENAMETOOLONG : -EINVAL;
	}
	fsns_parent_forget(root, NULL);
	memcpy(c->path, dest, plen);
	c->path[plen] = '\0';
	c->fd = fd;
	return fd;
}

static unsigned long attrs_to_ms(unsigned long long a)
{
	unsigned long f = 0;

	if (a & MOUNT_ATTR_RDONLY)
		f |= MS_RDONLY;
	if (a & MOUNT_ATTR_NOSUID)
		f |= MS_NOSUID;
	if (a & MOUNT_ATTR_NODEV)
		f |= MS_NODEV;
	if (a & MOUNT_ATTR_NOEXEC)
		f |= MS_NOEXEC;
	return f;
}

/* MS_REMOUNT|MS_BIND replaces the per-mount flags: carry over those the
 * mount has, since clearing a locked one (a nosuid inherited from a more
 * privileged namespace) is EPERM. Atime flags are kept by the kernel. */
static int remount_one(const char *path, unsigned long add)
{
	static const struct {
		unsigned long st, ms;
	} keep[] = {
	    {ST_RDONLY, MS_RDONLY},	{ST_NOSUID, MS_NOSUID},	  {ST_NODEV, MS_NODEV},
	    {ST_NOEXEC, MS_NOEXEC},	{ST_NOATIME, MS_NOATIME}, {ST_NODIRATIME, MS_NODIRATIME},
	    {ST_RELATIME, MS_RELATIME},
	};
	unsigned long fl = add;
	struct statvfs sv;

	if (statvfs(path, &sv) < 0)
		return -errno;
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (sv.f_flag & keep[i].st)
			fl |= keep[i].ms;
	if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | fl, NULL) < 0)
		return -errno;
	return 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

/* The legacy way to make a whole tree read-only: MS_REMOUNT only ever
 * affects one mount, so walk mountinfo for the submounts too. */
static int remount_tree(const char *path, unsigned long add)
{
	_cleanup_free_ char *line = NULL;
	size_t cap = 0, plen = strlen(path);
	FILE *f;
	int r;

	r = remount_one(path, add);
	if (r < 0)
		return r;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		char mp[4096];

		/* id parent maj:min root mountpoint ... */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		unescape(mp);
		if (strncmp(mp, path, plen) != 0 || mp[plen] != '/')
			continue;
		r = remount_one(mp, add);
		if (r < 0)
			break;
	}
	fclose(f);
	return r;
}

int fsns_mount_attr(const char *path, bool recursive, unsigned long long attrs)
{
	struct mount_attr a = {.attr_set = attrs};

	if (!force_legacy && !no_setattr) {
		if (mount_setattr(AT_FDCWD, path, recursive ? AT_RECURSIVE : 0, &a, sizeof(a)) == 0)
			return 0;
		if (!unavailable(errno))
			return -errno;
		no_setattr = true;
	}
	return recursive ? remount_tree(path, attrs_to_ms(attrs))
			 : remount_one(path, attrs_to_ms(attrs));
}

static int bind_legacy(int src_fd, const char *src, int dest_fd, const char *dest_path,
		       bool recursive, unsigned long long attrs)
{
	char s[64] = "", d[64] = "";

	/* The magic links reach what the fds were opened on even when the
	 * path now resolves elsewhere (a source under the staging dir). */
	if (src_fd >= 0) {
		snprintf(s, sizeof(s), "/proc/self/fd/%d", src_fd);
		src = s;
	}
	if (dest_fd >= 0)
		snprintf(d, sizeof(d), "/proc/self/fd/%d", dest_fd);
	if (mount(src, dest_fd >= 0 ? d : dest_path, NULL, MS_BIND | (recursive ? MS_REC : 0),
		  NULL) < 0)
		return -errno;
	if (!attrs)
		return 0;
	return recursive ? remount_tree(dest_path, attrs_to_ms(attrs))
			 : remount_one(dest_path, attrs_to_ms(attrs));
}

int fsns_bind(int src_fd, const char *src, int dest_fd, const char *dest_path, bool recursive,
	      unsigned long long attrs)
{
	unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
	struct mount_attr a = {.attr_set = attrs};
	_cleanup_close_ int tree = -1;
	bool late_attrs = false;
	int r;

	if (force_legacy || no_open_tree)
		return bind_legacy(src_fd, src, dest_fd, dest_path, recursive, attrs);
	tree = src_fd >= 0 ? open_tree(src_fd, "", flags | AT_EMPTY_PATH)
			   : open_tree(AT_FDCWD, src, flags);
	if (tree < 0) {
		if (!unavailable(errno))
			return -errno;
		no_open_tree = true;
		return bind_legacy(src_fd, src, dest_fd, dest_path, recursive, attrs);
	}
	/* Read-only before it is attached: there is never a writable window. */
	if (attrs && !no_setattr &&
	    mount_setattr(tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a, sizeof(a)) <
		0) {
		if (!unavailable(errno))
			return -errno;
		no_setattr = true; /* 5.2 .. 5.11: open_tree without mount_setattr */
	}
	late_attrs = attrs && no_setattr;
	if (dest_fd >= 0)
		r = move_mount(tree, "", dest_fd, "",
			       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
	else
		r = move_mount(tree, "", AT_FDCWD, dest_path, MOVE_MOUNT_F_EMPTY_PATH);
	if (r < 0)
		return -errno;
	if (late_attrs)
		return recursive ? remount_tree(dest_path, attrs_to_ms(attrs))
				 : remount_one(dest_path, attrs_to_ms(attrs));
	return 0;
}

int fsns_bind_file(const char *src, const char *dest, unsigned long long attrs)
{
	if (mount(src, dest, NULL, MS_BIND, NULL) < 0)
		return -errno;
	return attrs ? fsns_mount_attr(dest, false, attrs) : 0;
}
