/* The seccomp table: every rule of the filter, one row each, with its reason.
 * The filter is default-allow; each row is a denial. Foreign ABIs (i386
 * `int 0x80`, x32) are killed by the architecture check that filter.c sets
 * up, not by rows here. seccomp/README.md renders this table for humans;
 * keep the two in step. */
#include "seccomp.h"

#include <errno.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <linux/netlink.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

/* Argument conditions. Ints and unsigned ints are compared on their low 32
 * bits only, the way the kernel reads them (see seccomp.h). */
#define ARG_EQ32(i, v) { SECCOMP_CMP_MASKED_EQ, (i), 0xffffffffull, (v) }
#define ARG_ANY(i, m) { SECCOMP_CMP_ANY_BITS, (i), (m), 0 }
#define ARG_ANY_NOT_ALL32(i, m) { SECCOMP_CMP_ANY_BITS_NOT_ALL32, (i), (m), 0 }

#define DENY(name, why) { .syscall = (name), .action = "EPERM", .reason = (why), .errnum = EPERM }
/* For syscalls newer than the libseccomp we build against. */
#define DENY_NR(name, nr, why)                                                                   \
	{ .syscall = (name), .action = "EPERM", .reason = (why), .errnum = EPERM, .nr_fallback = (nr) }
#define DENY_IF(name, what, why, ...)                                                            \
	{ .syscall = (name), .action = "EPERM if " what, .reason = (why), .errnum = EPERM,        \
	  .n_conds = sizeof((struct seccomp_cond[]){ __VA_ARGS__ }) / sizeof(struct seccomp_cond), \
	  .conds = { __VA_ARGS__ } }

/* Every namespace flag clone(2) accepts. CLONE_NEWTIME (0x80) is absent on
 * purpose: it overlaps clone()'s exit-signal byte and only clone3/unshare
 * take it, and both are denied outright. */
#define CLONE_NEW_ANY                                                                    \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |   \
	 CLONE_NEWPID | CLONE_NEWNET)

/* personality() bits that weaken the address-space layout of what the
 * command execs next. 0xffffffff is the read-only query and stays allowed. */
#define PERSONALITY_DANGEROUS (ADDR_NO_RANDOMIZE | MMAP_PAGE_ZERO | ADDR_COMPAT_LAYOUT | READ_IMPLIES_EXEC)

const struct seccomp_rule_doc nsrun_seccomp_table_doc[] = {
	/* Namespaces: a new user namespace hands its creator every capability
	 * over a fresh set of kernel objects, the door to most container
	 * escapes of the last decade. (Also blocked by max_user_namespaces=0.) */
	DENY("unshare", "new namespaces: a user namespace regains every capability"),
	DENY("setns", "joining another namespace"),
	DENY_IF("clone", "arg0 has a CLONE_NEW* flag", "the same namespaces through clone(2)",
		ARG_ANY(0, CLONE_NEW_ANY)),
	{ .syscall = "clone3", .action = "ENOSYS", .errnum = ENOSYS,
	  .reason = "flags live in a struct seccomp cannot read; ENOSYS makes glibc fall back to clone(2)" },

	/* Mounts: the sandbox's mount tree is final once the command runs. */
	DENY("mount", "changing the mount tree"),
	DENY("umount2", "uncovering what a mount hides (masked /proc entries)"),
	DENY("pivot_root", "changing the root"),
	DENY("chroot", "chroot tricks with a held directory fd escape a chroot"),
	DENY("fsopen", "new mount API: making a file system"),
	DENY("fsconfig", "new mount API"),
	DENY("fsmount", "new mount API"),
	DENY("fspick", "new mount API: reconfiguring an existing mount"),
	DENY("move_mount", "new mount API: attaching a mount"),
	DENY("open_tree", "new mount API: cloning a mount tree"),
	DENY_NR("open_tree_attr", 467, "new mount API: open_tree with attribute changes (6.15)"),
	DENY("mount_setattr", "new mount API: changing mount flags (e.g. dropping read-only)"),

	/* Kernel attack surface with a long CVE record and no use in a check. */
	DENY("keyctl", "kernel keyrings are not namespaced; a steady source of CVEs"),
	DENY("add_key", "kernel keyrings"),
	DENY("request_key", "kernel keyrings; can also upcall to host helpers"),
	DENY("bpf", "eBPF verifier bugs are a classic local root"),
	DENY("perf_event_open", "kernel-wide profiling; frequent CVEs and side channels"),
	DENY("userfaultfd", "stalls kernel page faults at will, the race primitive of many exploits"),
	DENY("io_uring_setup", "io_uring: the largest recent source of kernel exploits"),
	DENY("io_uring_enter", "io_uring"),
	DENY("io_uring_register", "io_uring"),

	/* Other processes' memory. */
	DENY("ptrace", "tracing other sandbox processes, and older seccomp bypasses through it"),
	DENY("process_vm_readv", "reading another process's memory"),
	DENY("process_vm_writev", "writing another process's memory"),
	DENY("pidfd_getfd", "stealing another process's file descriptors"),

	/* The host kernel and machine. */
	DENY("init_module", "loading kernel code"),
	DENY("finit_module", "loading kernel code"),
	DENY("delete_module", "unloading kernel code"),
	DENY("kexec_load", "replacing the running kernel"),
	DENY("kexec_file_load", "replacing the running kernel"),
	DENY("reboot", "rebooting (in a pid namespace: killing its init)"),
	DENY("swapon", "host swap configuration"),
	DENY("swapoff", "host swap configuration"),
	DENY("acct", "host process accounting"),
	DENY("quotactl", "host disk quotas"),
	DENY("quotactl_fd", "host disk quotas"),
	DENY("lookup_dcookie", "kernel profiling cookies (removed in 6.8)"),
	DENY("syslog", "kernel log: kernel addresses and host activity"),
	DENY("uselib", "legacy a.out loader, unused since the 1990s"),
	DENY("clock_settime", "setting the host clock"),
	DENY("settimeofday", "setting the host clock"),

	/* File handles: Docker's 2014 "shocker" escape walked the host fs
	 * through handles that bypass the mount tree. */
	DENY("open_by_handle_at", "opening files by handle bypasses the mount tree (shocker)"),
	DENY("name_to_handle_at", "only useful to feed open_by_handle_at; leaks inode identity"),

	/* Terminals: the command has no controlling tty (setsid), but fds 0-2
	 * may still be the caller's terminal. */
	DENY_IF("ioctl", "arg1 == TIOCSTI", "pushing keystrokes into the caller's terminal",
		ARG_EQ32(1, TIOCSTI)),
	DENY_IF("ioctl", "arg1 == TIOCLINUX", "console selection paste, the same injection",
		ARG_EQ32(1, TIOCLINUX)),
	DENY_IF("ioctl", "arg1 == TIOCSETD", "line disciplines (n_hdlc, n_gsm) are a CVE source",
		ARG_EQ32(1, TIOCSETD)),

	/* Sockets. */
	DENY_IF("socket", "AF_NETLINK, NETLINK_NETFILTER",
		"nf_tables from a user namespace is the classic kernel exploit path",
		ARG_EQ32(0, AF_NETLINK), ARG_EQ32(2, NETLINK_NETFILTER)),
	DENY_IF("socket", "AF_VSOCK", "vsock is not namespaced: it reaches the hypervisor past the network layer",
		ARG_EQ32(0, AF_VSOCK)),

	DENY_IF("personality",
		"arg0 has ADDR_NO_RANDOMIZE|MMAP_PAGE_ZERO|ADDR_COMPAT_LAYOUT|READ_IMPLIES_EXEC (query 0xffffffff allowed)",
		"disabling ASLR or mapping page zero helps exploit what the command runs next",
		ARG_ANY_NOT_ALL32(0, PERSONALITY_DANGEROUS)),
};

const size_t nsrun_seccomp_table_doc_len =
	sizeof(nsrun_seccomp_table_doc) / sizeof(nsrun_seccomp_table_doc[0]);
