/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared helpers for the ioctl-level tests: building dm ioctl v4
 * requests, the common device and table commands, ramdisks, loop
 * devices, opening a mapped device by number, mounts, and work run in
 * a child process so that a test can check whether it blocks.
 *
 * Header-only: every test program is one .c file.  Functions return 0
 * or a negative errno, never abort; the tests assert on the result.
 *
 * Devices made with dmx_create() are remembered, and dmx_cleanup()
 * (called from each fixture's teardown, see DMX_FIXTURE) resumes and
 * removes them, in reverse order of creation, so stacked devices go
 * top first.
 *
 * The ramdisks, the wait for a device to go and the "is this the stock
 * dm" question have one implementation each, here; the shell tests get
 * them through tests/lib/dmxt.c (ramdisks, wait_gone, is_stock in
 * tests/lib/tap.sh).
 */
#ifndef DMX_TEST_H
#define DMX_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dmx-ioctl.h"

#define DMX_CONTROL_PATH	"/dev/" DM_DIR "/" DM_CONTROL_NODE

/* Payload room of a request; enough for every table the tests load. */
#define DMX_REQ_DATA		(256 * 1024)

/* Ramdisks the tests use: like tests/lib/tap.sh's `ramdisks 4 64`. */
#define DMX_RAM_COUNT		4
#define DMX_RAM_MB		64
#define DMX_RAM_SECTORS		((uint64_t)DMX_RAM_MB * 2048)

/*
 * The bound on every wait for something that must happen (an operation
 * finishing, a process going to sleep, a device going away): far
 * beyond what it takes even in an emulated guest, well inside the
 * hung-task watchdog.  Running out is the failure of something that
 * had to happen, never the proof that something waits.
 */
#define DMX_FINISH_MS		10000

/*
 * One request: the header, then the payload at data_start.  The
 * header is 312 bytes, a multiple of 8, so data sits right after it.
 * pos and last are ours (where the next target spec goes); they lie
 * beyond data_size and are never sent.
 */
struct dmx_req {
	struct dm_ioctl io;
	char data[DMX_REQ_DATA];
	size_t pos;
	struct dm_target_spec *last;
};

/* One line of a table, as dmsetup would take it. */
struct dmx_line {
	uint64_t start;
	uint64_t len;
	const char *type;
	const char *params;
};

/*
 * True when the device-mapper under test is the stock dm-mod (the
 * reference runs) rather than dmx: whichever of the two is loaded, or,
 * with neither loaded, the one the run asks for (DMX_IMPL=stock).
 */
static inline bool dmx_is_stock(void)
{
	const char *impl;

	if (!access("/sys/module/dmx", F_OK))
		return false;
	if (!access("/sys/module/dm_mod", F_OK))
		return true;
	impl = getenv("DMX_IMPL");
	return impl && !strcmp(impl, "stock");
}

/* The kernel's huge_encode_dev(), as dm_ioctl.dev carries it. */
static inline uint64_t dmx_encode_dev(unsigned int major, unsigned int minor)
{
	return (minor & 0xff) | ((uint64_t)major << 8) |
	       ((uint64_t)(minor & ~0xffU) << 12);
}

static inline unsigned int dmx_dev_major(uint64_t dev)
{
	return (dev & 0xfff00) >> 8;
}

static inline unsigned int dmx_dev_minor(uint64_t dev)
{
	return (dev & 0xff) | ((dev >> 12) & 0xfff00);
}

/*
 * The running kernel's series as 100 * major + minor (601, 612; 0 if
 * uname fails).  dmx answers as the kernel's own dm does, and a few of
 * its answers changed between 6.1 and 6.12.
 */
static inline int dmx_kernel_series(void)
{
	unsigned int major, minor;
	struct utsname u;

	if (uname(&u) || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return 0;
	return major * 100 + minor;
}

static inline int dmx_open_control(void)
{
	return open(DMX_CONTROL_PATH, O_RDWR | O_CLOEXEC);
}

/*
 * A fresh request for the device called name (NULL or "" for none):
 * interface 4.0.0, the whole buffer as data_size, payload right after
 * the header.
 */
static inline void dmx_req_init(struct dmx_req *r, const char *name)
{
	memset(r, 0, sizeof(*r));
	r->io.version[0] = DM_VERSION_MAJOR;
	r->io.version[1] = 0;
	r->io.version[2] = 0;
	r->io.data_size = offsetof(struct dmx_req, pos);
	r->io.data_start = offsetof(struct dmx_req, data);
	if (name)
		snprintf(r->io.name, sizeof(r->io.name), "%.*s",
			 (int)sizeof(r->io.name) - 1, name);
}

/* Same, naming the device by uuid instead. */
static inline void dmx_req_init_uuid(struct dmx_req *r, const char *uuid)
{
	dmx_req_init(r, NULL);
	snprintf(r->io.uuid, sizeof(r->io.uuid), "%s", uuid);
}

/* The raw ioctl: 0 or -errno. */
static inline int dmx_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

static inline int dmx_call(int fd, unsigned long cmd, struct dmx_req *r)
{
	return dmx_ioctl(fd, cmd, &r->io);
}

/*
 * Appends a target spec and its parameter string to the payload; each
 * spec's next is the distance to the one after it, as libdevmapper
 * builds them.
 */
static inline int dmx_req_add_target(struct dmx_req *r, uint64_t start,
				     uint64_t len, const char *type,
				     const char *params)
{
	struct dm_target_spec *spec;
	size_t plen = strlen(params) + 1;
	size_t step = (sizeof(*spec) + plen + 7) & ~(size_t)7;

	if (r->pos + step > sizeof(r->data))
		return -ENOSPC;
	spec = (struct dm_target_spec *)(r->data + r->pos);
	memset(spec, 0, step);
	spec->sector_start = start;
	spec->length = len;
	spec->next = step;
	snprintf(spec->target_type, sizeof(spec->target_type), "%s", type);
	memcpy(spec + 1, params, plen);
	r->pos += step;
	r->last = spec;
	r->io.target_count++;
	return 0;
}

static inline int dmx_req_add_lines(struct dmx_req *r,
				    const struct dmx_line *lines, unsigned int n)
{
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		ret = dmx_req_add_target(r, lines[i].start, lines[i].len,
					 lines[i].type, lines[i].params);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * A TABLE_LOAD request of lines for name in r, not sent (tests break
 * it first, or send it with flags of their own).
 */
static inline int dmx_req_table(struct dmx_req *r, const char *name,
				const struct dmx_line *lines, unsigned int n)
{
	dmx_req_init(r, name);
	return dmx_req_add_lines(r, lines, n);
}

/*
 * What this test made, for dmx_cleanup(): devices (by name, oldest
 * first), block device fds, child processes, loop devices and mounts.
 */
#define DMX_MAX_TRACKED 16
#define DMX_PATH_LEN	64
struct dmx_state {
	char names[DMX_MAX_TRACKED][DM_NAME_LEN];
	int nnames;
	int fds[DMX_MAX_TRACKED];
	int nfds;
	pid_t children[DMX_MAX_TRACKED];
	int nchildren;
	int loops[DMX_MAX_TRACKED];	/* loop device fds to detach */
	int nloops;
	char mounts[DMX_MAX_TRACKED][DMX_PATH_LEN];	/* directories */
	int nmounts;
};

static inline struct dmx_state *dmx_state(void)
{
	static struct dmx_state state;

	return &state;
}

static inline void dmx_track(const char *name)
{
	struct dmx_state *st = dmx_state();

	if (st->nnames < DMX_MAX_TRACKED)
		snprintf(st->names[st->nnames++], DM_NAME_LEN, "%s", name);
}

static inline void dmx_untrack(const char *name)
{
	struct dmx_state *st = dmx_state();
	int i, j;

	for (i = 0; i < st->nnames; i++) {
		if (strcmp(st->names[i], name))
			continue;
		for (j = i + 1; j < st->nnames; j++)
			memcpy(st->names[j - 1], st->names[j], DM_NAME_LEN);
		st->nnames--;
		return;
	}
}

static inline void dmx_retrack(const char *old, const char *new)
{
	struct dmx_state *st = dmx_state();
	int i;

	for (i = 0; i < st->nnames; i++)
		if (!strcmp(st->names[i], old))
			snprintf(st->names[i], DM_NAME_LEN, "%s", new);
}

/* A device name unique to this test process: dmxt-<pid>-<tag>. */
static inline const char *dmx_name(char *buf, const char *tag)
{
	snprintf(buf, DM_NAME_LEN, "dmxt-%d-%s", (int)getpid(), tag);
	return buf;
}

/* DEV_CREATE; on success the reply is in *out if given. */
static inline int dmx_create_ex(int fd, const char *name, const char *uuid,
				unsigned int flags, uint64_t dev,
				struct dm_ioctl *out)
{
	struct dmx_req r;
	int ret;

	dmx_req_init(&r, name);
	if (uuid)
		snprintf(r.io.uuid, sizeof(r.io.uuid), "%s", uuid);
	r.io.flags = flags;
	r.io.dev = dev;
	ret = dmx_call(fd, DM_DEV_CREATE, &r);
	if (!ret) {
		dmx_track(name);
		if (out)
			*out = r.io;
	}
	return ret;
}

static inline int dmx_create(int fd, const char *name)
{
	return dmx_create_ex(fd, name, NULL, 0, 0, NULL);
}

static inline int dmx_remove_flags(int fd, const char *name,
				   unsigned int flags)
{
	struct dmx_req r;
	int ret;

	dmx_req_init(&r, name);
	r.io.flags = flags;
	ret = dmx_call(fd, DM_DEV_REMOVE, &r);
	if (!ret && !(r.io.flags & DM_DEFERRED_REMOVE))
		dmx_untrack(name);
	return ret;
}

static inline int dmx_remove(int fd, const char *name)
{
	return dmx_remove_flags(fd, name, 0);
}

/* TABLE_LOAD of lines into the inactive slot, with extra header flags. */
static inline int dmx_load_flags(int fd, const char *name, unsigned int flags,
				 const struct dmx_line *lines, unsigned int n)
{
	struct dmx_req r;
	int ret;

	ret = dmx_req_table(&r, name, lines, n);
	if (ret)
		return ret;
	r.io.flags = flags;
	return dmx_call(fd, DM_TABLE_LOAD, &r);
}

static inline int dmx_load(int fd, const char *name,
			   const struct dmx_line *lines, unsigned int n)
{
	return dmx_load_flags(fd, name, 0, lines, n);
}

/* A command without payload on name, with flags; the reply to *out. */
static inline int dmx_call_flags(int fd, unsigned long cmd, const char *name,
				 unsigned int flags, struct dm_ioctl *out)
{
	struct dmx_req r;
	int ret;

	dmx_req_init(&r, name);
	r.io.flags = flags;
	ret = dmx_call(fd, cmd, &r);
	if (!ret && out)
		*out = r.io;
	return ret;
}

/* DEV_SUSPEND with flags: suspend if DM_SUSPEND_FLAG is among them. */
static inline int dmx_suspend_flags(int fd, const char *name,
				    unsigned int flags, struct dm_ioctl *out)
{
	return dmx_call_flags(fd, DM_DEV_SUSPEND, name, flags, out);
}

static inline int dmx_suspend(int fd, const char *name)
{
	return dmx_suspend_flags(fd, name, DM_SUSPEND_FLAG, NULL);
}

static inline int dmx_resume(int fd, const char *name)
{
	return dmx_suspend_flags(fd, name, 0, NULL);
}

/* DEV_STATUS (with flags such as DM_QUERY_INACTIVE_TABLE_FLAG). */
static inline int dmx_status_flags(int fd, const char *name,
				   unsigned int flags, struct dm_ioctl *out)
{
	return dmx_call_flags(fd, DM_DEV_STATUS, name, flags, out);
}

static inline int dmx_status(int fd, const char *name, struct dm_ioctl *out)
{
	return dmx_status_flags(fd, name, 0, out);
}

/* TABLE_STATUS into r (flags: DM_STATUS_TABLE_FLAG and so on). */
static inline int dmx_table_status(int fd, const char *name,
				   unsigned int flags, struct dmx_req *r)
{
	dmx_req_init(r, name);
	r->io.flags = flags;
	return dmx_call(fd, DM_TABLE_STATUS, r);
}

/*
 * The i-th target spec of a TABLE_STATUS or DEV_WAIT reply; there,
 * each spec's next counts from the first spec.  NULL past the end.
 */
static inline struct dm_target_spec *dmx_reply_spec(struct dmx_req *r,
						    unsigned int i)
{
	char *first = (char *)&r->io + r->io.data_start;
	char *end = (char *)&r->io + r->io.data_size;
	struct dm_target_spec *spec = (struct dm_target_spec *)first;

	while (i--) {
		if (!spec->next)
			return NULL;
		spec = (struct dm_target_spec *)(first + spec->next);
	}
	if ((char *)(spec + 1) > end)
		return NULL;
	return spec;
}

static inline const char *dmx_spec_params(struct dm_target_spec *spec)
{
	return (const char *)(spec + 1);
}

/* DEV_RENAME name to new (a uuid with DM_UUID_FLAG). */
static inline int dmx_rename_flags(int fd, const char *name, const char *new,
				   unsigned int flags, struct dm_ioctl *out)
{
	struct dmx_req r;
	int ret;

	dmx_req_init(&r, name);
	r.io.flags = flags;
	snprintf(r.data, sizeof(r.data), "%s", new);
	ret = dmx_call(fd, DM_DEV_RENAME, &r);
	if (!ret && !(flags & DM_UUID_FLAG))
		dmx_retrack(name, new);
	if (!ret && out)
		*out = r.io;
	return ret;
}

static inline int dmx_rename(int fd, const char *name, const char *new)
{
	return dmx_rename_flags(fd, name, new, 0, NULL);
}

/* Creates name with lines as its active table. */
static inline int dmx_create_table(int fd, const char *name,
				   const struct dmx_line *lines, unsigned int n)
{
	int ret = dmx_create(fd, name);

	if (!ret)
		ret = dmx_load(fd, name, lines, n);
	if (!ret)
		ret = dmx_resume(fd, name);
	return ret;
}

/* A device of len sectors of the zero target. */
static inline int dmx_create_zero(int fd, const char *name, uint64_t len)
{
	struct dmx_line line = { 0, len, "zero", "" };

	return dmx_create_table(fd, name, &line, 1);
}

/* The dev (huge-encoded) of a device, or 0. */
static inline uint64_t dmx_dev_of(int fd, const char *name)
{
	struct dm_ioctl io;

	if (dmx_status(fd, name, &io))
		return 0;
	return io.dev;
}

/*
 * A block device node of our own for dev in /tmp, its path in path (of
 * DMX_PATH_LEN bytes), so the test depends on neither udev nor
 * devtmpfs naming.  The caller unlinks it.  0 or -errno.
 */
static inline int dmx_make_node(uint64_t dev, char *path)
{
	static int serial;

	snprintf(path, DMX_PATH_LEN, "/tmp/dmxt-node-%d-%d", (int)getpid(),
		 serial++);
	unlink(path);
	if (mknod(path, S_IFBLK | 0600,
		  makedev(dmx_dev_major(dev), dmx_dev_minor(dev))))
		return -errno;
	return 0;
}

/* "major:minor" of the mapped device name into buf; 0 or -ENXIO. */
static inline int dmx_devno(int ctl, const char *name, char *buf, size_t size)
{
	uint64_t dev = dmx_dev_of(ctl, name);

	if (!dev)
		return -ENXIO;
	snprintf(buf, size, "%u:%u", dmx_dev_major(dev), dmx_dev_minor(dev));
	return 0;
}

/*
 * lower (zero) and upper (linear onto all of lower), both len sectors,
 * named with dmx_name() from the tags "lower" and "upper".
 */
static inline int dmx_create_stack(int ctl, char *lower, char *upper,
				   uint64_t len)
{
	char params[64];
	struct dmx_line line = { 0, len, "linear", params };
	int ret;

	ret = dmx_create_zero(ctl, dmx_name(lower, "lower"), len);
	if (!ret)
		ret = dmx_devno(ctl, lower, params, sizeof(params) - 2);
	if (ret)
		return ret;
	strcat(params, " 0");
	return dmx_create_table(ctl, dmx_name(upper, "upper"), &line, 1);
}

/*
 * Opens the block device dev through a node of our own.  The fd is
 * closed by dmx_cleanup() unless the test closes it with
 * dmx_close_dev().
 */
static inline int dmx_open_dev(uint64_t dev, int flags)
{
	struct dmx_state *st = dmx_state();
	char path[DMX_PATH_LEN];
	int fd, err;

	err = dmx_make_node(dev, path);
	if (err)
		return err;
	fd = open(path, flags | O_CLOEXEC);
	err = errno;
	unlink(path);
	if (fd < 0)
		return -err;
	if (st->nfds < DMX_MAX_TRACKED)
		st->fds[st->nfds++] = fd;
	return fd;
}

static inline int dmx_open_name(int ctl, const char *name, int flags)
{
	uint64_t dev = dmx_dev_of(ctl, name);

	return dev ? dmx_open_dev(dev, flags) : -ENXIO;
}

static inline void dmx_close_dev(int fd)
{
	struct dmx_state *st = dmx_state();
	int i;

	for (i = 0; i < st->nfds; i++) {
		if (st->fds[i] != fd)
			continue;
		st->fds[i] = st->fds[--st->nfds];
		break;
	}
	close(fd);
}

/* --- work in a child process ------------------------------------------ */

/*
 * A child runs fn(arg) and reports its long result through a pipe, so
 * the test can check whether it finished within some time.  The
 * child shares our control fd (and its ARM_POLL state).
 */
struct dmx_bg {
	pid_t pid;
	int fd;		/* read end of the result pipe */
	bool done;
	long result;
};

static inline int dmx_bg_start(struct dmx_bg *bg, long (*fn)(void *),
			       void *arg)
{
	struct dmx_state *st = dmx_state();
	int p[2];

	memset(bg, 0, sizeof(*bg));
	if (pipe(p))
		return -errno;
	fflush(NULL);
	bg->pid = fork();
	if (bg->pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (!bg->pid) {
		long result;

		close(p[0]);
		result = fn(arg);
		if (write(p[1], &result, sizeof(result)) != sizeof(result))
			_exit(2);
		_exit(0);
	}
	close(p[1]);
	bg->fd = p[0];
	if (st->nchildren < DMX_MAX_TRACKED)
		st->children[st->nchildren++] = bg->pid;
	return 0;
}

/* True once the child has reported, waiting at most ms for it. */
static inline bool dmx_bg_wait(struct dmx_bg *bg, int ms)
{
	struct pollfd pfd = { .fd = bg->fd, .events = POLLIN };
	struct timespec now, end;
	int left = ms;

	if (bg->done)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += ms / 1000;
	end.tv_nsec += (ms % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	for (;;) {
		int r = poll(&pfd, 1, left);

		if (r > 0)
			break;
		if (r < 0 && errno != EINTR)
			return false;
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = (end.tv_sec - now.tv_sec) * 1000 +
		       (end.tv_nsec - now.tv_nsec) / 1000000L;
		if (left <= 0)
			return false;
	}
	if (read(bg->fd, &bg->result, sizeof(bg->result)) != sizeof(bg->result))
		bg->result = -EPIPE;
	bg->done = true;
	return true;
}

/* A device command in a child: which control fd, which device. */
struct dmx_cmd_arg {
	int ctl;
	const char *name;
};

static inline long dmx_suspend_in_child(void *p)
{
	struct dmx_cmd_arg *a = p;

	return dmx_suspend(a->ctl, a->name);
}

static inline long dmx_remove_in_child(void *p)
{
	struct dmx_cmd_arg *a = p;

	return dmx_remove(a->ctl, a->name);
}

/* The state letter of a process (R, S, D, Z...) in /proc/PID/stat, or 0. */
static inline char dmx_task_state(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* The command name in parentheses may hold anything: skip it. */
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/*
 * Waits, at most ms, until process pid sleeps in one of states (say
 * "D", or "SD"); false at once if it is gone or a zombie.  A process
 * that sleeps inside a call it made is blocked there: this is how a
 * test sees that something waits, rather than by giving it time.
 */
static inline bool dmx_wait_state(pid_t pid, const char *states, int ms)
{
	int waited;

	for (waited = 0; waited < ms; waited += 10) {
		char st = dmx_task_state(pid);

		if (!st || st == 'Z' || st == 'X')
			return false;
		if (strchr(states, st))
			return true;
		poll(NULL, 0, 10);
	}
	return false;
}

/*
 * True once the child sleeps uninterruptibly without having reported
 * its result: a child doing one block-device read or write in D state
 * has its bio submitted and is waiting for it to complete.
 */
static inline bool dmx_bg_in_io(struct dmx_bg *bg)
{
	return dmx_wait_state(bg->pid, "D", DMX_FINISH_MS) &&
	       !dmx_bg_wait(bg, 0);
}

/* True once the child sleeps, in any way, without having reported. */
static inline bool dmx_bg_blocked(struct dmx_bg *bg)
{
	return dmx_wait_state(bg->pid, "SD", DMX_FINISH_MS) &&
	       !dmx_bg_wait(bg, 0);
}

/* --- ramdisks ------------------------------------------------------------ */

static inline long dmx_read_long(const char *path)
{
	char buf[32] = "";
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return strtol(buf, NULL, 10);
}

/* True if brd is loaded with count ramdisks of mb MiB. */
static inline bool dmx_brd_has_geometry(int count, int mb)
{
	return dmx_read_long("/sys/module/brd/parameters/rd_nr") == count &&
	       dmx_read_long("/sys/module/brd/parameters/rd_size") ==
	       mb * 1024L;
}

/*
 * /dev/ram0 .. /dev/ram<count-1> of mb MiB each, zeroed: brd is loaded
 * afresh.  While something holds a ramdisk brd cannot be unloaded;
 * then it is kept as it is (contents too) if it has that geometry.
 * 0, or -1 with the reason on stderr.
 */
static inline int dmx_ramdisks_n(int count, int mb)
{
	char cmd[96], path[32];
	struct stat st;

	if (!access("/sys/module/brd", F_OK) &&
	    syscall(SYS_delete_module, "brd", O_NONBLOCK)) {
		if (dmx_brd_has_geometry(count, mb))
			return 0;
		fprintf(stderr, "ramdisks: brd is in use with another geometry\n");
		return -1;
	}
	snprintf(cmd, sizeof(cmd), "modprobe brd rd_nr=%d rd_size=%ld",
		 count, mb * 1024L);
	if (system(cmd)) {
		fprintf(stderr, "ramdisks: %s failed\n", cmd);
		return -1;
	}
	snprintf(path, sizeof(path), "/dev/ram%d", count - 1);
	if (stat(path, &st) || !S_ISBLK(st.st_mode)) {
		fprintf(stderr, "ramdisks: no %s after loading brd\n", path);
		return -1;
	}
	return 0;
}

/* The ramdisks the C tests use: 4 of 64 MiB, fresh. */
static inline int dmx_ramdisks(void)
{
	return dmx_ramdisks_n(DMX_RAM_COUNT, DMX_RAM_MB);
}

/* "major:minor" of /dev/ram<i> into buf; 0 or -errno. */
static inline int dmx_ram(int i, char *buf, size_t size)
{
	char path[32];
	struct stat st;

	snprintf(path, sizeof(path), "/dev/ram%d", i);
	if (stat(path, &st))
		return -errno;
	if (!S_ISBLK(st.st_mode))
		return -ENOTBLK;
	snprintf(buf, size, "%u:%u", major(st.st_rdev), minor(st.st_rdev));
	return 0;
}

/* The huge-encoded dev of /dev/ram<i>, or 0. */
static inline uint64_t dmx_ram_dev(int i)
{
	char path[32];
	struct stat st;

	snprintf(path, sizeof(path), "/dev/ram%d", i);
	if (stat(path, &st))
		return 0;
	return dmx_encode_dev(major(st.st_rdev), minor(st.st_rdev));
}

/* --- loop devices ---------------------------------------------------------- */

/*
 * A loop device of mb MiB over a memfd, with logical block size
 * block_size (512 for the default): a device with a write cache and
 * discard support, which brd lacks.  "major:minor" goes into buf; the
 * device is detached by dmx_cleanup().  0 or -errno.
 */
static inline int dmx_loop(unsigned int mb, unsigned int block_size,
			   char *buf, size_t size)
{
	struct dmx_state *st = dmx_state();
	struct loop_config cfg;
	int ctl, nr, file, dev, err;
	char path[32];
	struct stat sb;

	if (access("/dev/loop-control", F_OK) &&
	    system("modprobe loop >/dev/null 2>&1"))
		return -ENODEV;
	file = memfd_create("dmx-loop", MFD_CLOEXEC);
	if (file < 0)
		return -errno;
	if (ftruncate(file, (off_t)mb << 20))
		goto fail_file;
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		goto fail_file;
	nr = ioctl(ctl, LOOP_CTL_GET_FREE);
	close(ctl);
	if (nr < 0)
		goto fail_file;
	snprintf(path, sizeof(path), "/dev/loop%d", nr);
	dev = open(path, O_RDWR | O_CLOEXEC);
	if (dev < 0)
		goto fail_file;
	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = file;
	cfg.block_size = block_size;
	if (ioctl(dev, LOOP_CONFIGURE, &cfg) || fstat(dev, &sb))
		goto fail_dev;
	close(file);
	snprintf(buf, size, "%u:%u", major(sb.st_rdev), minor(sb.st_rdev));
	if (st->nloops < DMX_MAX_TRACKED)
		st->loops[st->nloops++] = dev;
	return 0;

fail_dev:
	err = errno;
	close(dev);
	close(file);
	return -err;
fail_file:
	err = errno;
	close(file);
	return -err;
}

/* --- I/O ------------------------------------------------------------------ */

/*
 * Memory shared with the children forked after this: what a child
 * reads lands where the test sees it.  Page-aligned, so O_DIRECT takes
 * it as it is.  Freed when the test process ends.  NULL on failure.
 */
static inline void *dmx_shared(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

struct dmx_io_arg {
	uint64_t dev;
	off_t offset;
	size_t len;
	bool write;
	void *buf;	/* what to write, or where to read to; NULL: scratch */
};

/*
 * One O_DIRECT read or write through a fresh open of the device:
 * bytes transferred or -errno.  Without a buffer of the caller's,
 * writes write 0x5a bytes and reads are thrown away.
 */
static inline long dmx_direct_io(void *p)
{
	struct dmx_io_arg *a = p;
	void *buf = a->buf;
	long ret;
	int fd;

	fd = dmx_open_dev(a->dev, (a->write ? O_WRONLY : O_RDONLY) | O_DIRECT);
	if (fd < 0)
		return fd;
	if (!buf) {
		if (posix_memalign(&buf, 4096, a->len)) {
			close(fd);
			return -ENOMEM;
		}
		memset(buf, 0x5a, a->len);
	}
	if (a->write)
		ret = pwrite(fd, buf, a->len, a->offset);
	else
		ret = pread(fd, buf, a->len, a->offset);
	if (ret < 0)
		ret = -errno;
	if (buf != a->buf)
		free(buf);
	close(fd);
	return ret;
}

/* len bytes of value c written to dev at offset with O_DIRECT. */
static inline int dmx_fill(uint64_t dev, off_t offset, size_t len, int c)
{
	void *buf = dmx_shared(len);
	struct dmx_io_arg a = { dev, offset, len, true, buf };
	long ret;

	if (!buf)
		return -ENOMEM;
	memset(buf, c, len);
	ret = dmx_direct_io(&a);
	munmap(buf, len);
	return ret == (long)len ? 0 : ret < 0 ? (int)ret : -EIO;
}

/* The value of every byte of buf, or -1 if they are not all the same. */
static inline int dmx_uniform(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 1; i < len; i++)
		if (p[i] != p[0])
			return -1;
	return len ? p[0] : -1;
}

/*
 * What dev holds at offset, read with O_DIRECT: as dmx_uniform() of the
 * len bytes there, or -2 if the read fails.
 */
static inline int dmx_holds(uint64_t dev, off_t offset, size_t len)
{
	void *buf = dmx_shared(len);
	struct dmx_io_arg a = { dev, offset, len, false, buf };
	int c = -2;

	if (!buf)
		return -2;
	if (dmx_direct_io(&a) == (long)len)
		c = dmx_uniform(buf, len);
	munmap(buf, len);
	return c;
}

/* --- mounts ----------------------------------------------------------------- */

/*
 * Mounts the block device dev (type fstype) on a fresh directory in
 * /tmp, its path in dir (DMX_PATH_LEN bytes); dmx_cleanup() unmounts
 * it, after resuming the devices and ending the children.  0 or
 * -errno.
 */
static inline int dmx_mount(uint64_t dev, const char *fstype, char *dir)
{
	struct dmx_state *st = dmx_state();
	char node[DMX_PATH_LEN];
	int ret;

	snprintf(dir, DMX_PATH_LEN, "/tmp/dmxt-mnt-%d-XXXXXX", (int)getpid());
	if (!mkdtemp(dir))
		return -errno;
	ret = dmx_make_node(dev, node);
	if (!ret && mount(node, dir, fstype, 0, NULL))
		ret = -errno;
	unlink(node);
	if (ret) {
		rmdir(dir);
		return ret;
	}
	if (st->nmounts < DMX_MAX_TRACKED)
		snprintf(st->mounts[st->nmounts++], DMX_PATH_LEN, "%s", dir);
	return 0;
}

/* --- teardown -------------------------------------------------------------- */

/*
 * Undoes what a test left behind: drops inactive tables and resumes
 * every device (so held I/O completes and frozen filesystems thaw),
 * reaps children, closes block device fds, unmounts, then removes the
 * devices, newest first.
 */
static inline void dmx_cleanup(int ctl)
{
	struct dmx_state *st = dmx_state();
	struct dmx_req r;
	int i;

	for (i = st->nnames; i-- > 0;) {
		dmx_req_init(&r, st->names[i]);
		dmx_call(ctl, DM_TABLE_CLEAR, &r);
		dmx_resume(ctl, st->names[i]);
	}
	for (i = 0; i < st->nchildren; i++) {
		kill(st->children[i], SIGKILL);
		waitpid(st->children[i], NULL, 0);
	}
	st->nchildren = 0;
	for (i = 0; i < st->nfds; i++)
		close(st->fds[i]);
	st->nfds = 0;
	for (i = st->nmounts; i-- > 0;) {
		umount(st->mounts[i]);
		rmdir(st->mounts[i]);
	}
	st->nmounts = 0;
	for (i = st->nnames; i-- > 0;) {
		dmx_req_init(&r, st->names[i]);
		dmx_call(ctl, DM_DEV_REMOVE, &r);
	}
	st->nnames = 0;
	for (i = 0; i < st->nloops; i++) {
		ioctl(st->loops[i], LOOP_CLR_FD);
		close(st->loops[i]);
	}
	st->nloops = 0;
}

#define DMX_MAX_LISTED	256

/*
 * The names of the mapped devices (LIST_DEVICES), at most
 * DMX_MAX_LISTED of them, into names[]: how many, or -errno.
 */
static inline int dmx_list_names(int ctl, char (*names)[DM_NAME_LEN])
{
	struct dmx_req *r = malloc(sizeof(*r));
	struct dm_name_list *nl;
	int n = 0, ret;

	if (!r)
		return -ENOMEM;
	dmx_req_init(r, NULL);
	ret = dmx_call(ctl, DM_LIST_DEVICES, r);
	if (ret || r->io.data_size - r->io.data_start < sizeof(*nl))
		goto out;
	nl = (struct dm_name_list *)((char *)&r->io + r->io.data_start);
	while (nl->dev && n < DMX_MAX_LISTED) {
		snprintf(names[n++], DM_NAME_LEN, "%s", nl->name);
		if (!nl->next)
			break;
		nl = (struct dm_name_list *)((char *)nl + nl->next);
	}
out:
	free(r);
	return ret ? ret : n;
}

/* Every suspended device with a table resumed (so held I/O ends). */
static inline int dmx_resume_all(int ctl)
{
	static char names[DMX_MAX_LISTED][DM_NAME_LEN];
	int i, n = dmx_list_names(ctl, names);
	struct dm_ioctl io;

	for (i = 0; i < n; i++)
		if (!dmx_status(ctl, names[i], &io) &&
		    (io.flags & DM_SUSPEND_FLAG) &&
		    (io.flags & DM_ACTIVE_PRESENT_FLAG))
			dmx_resume(ctl, names[i]);
	return n < 0 ? n : 0;
}

/*
 * No devices: every suspended one resumed, then all removed
 * (REMOVE_ALL).  Those that cannot go (open ones) are named on stderr;
 * their number, or -errno.
 */
static inline int dmx_remove_all(int ctl)
{
	static char names[DMX_MAX_LISTED][DM_NAME_LEN];
	struct dm_ioctl io;
	struct dmx_req r;
	int i, n;

	dmx_resume_all(ctl);
	dmx_req_init(&r, NULL);
	n = dmx_call(ctl, DM_REMOVE_ALL, &r);
	if (!n)
		n = dmx_list_names(ctl, names);
	for (i = 0; i < n; i++) {
		memset(&io, 0, sizeof(io));
		dmx_status(ctl, names[i], &io);
		fprintf(stderr, "left: %s (open count %d)\n", names[i],
			io.open_count);
	}
	return n;
}

/*
 * Waits until name is gone (DEV_STATUS says ENXIO), for removals that
 * happen in the kernel's own time (deferred remove on last close).
 * Between checks it waits on the control fd for a global event, with
 * a short timeout in case the removal raises none.  0 or -ETIMEDOUT.
 */
static inline int dmx_wait_gone(int ctl, const char *name, int ms)
{
	struct pollfd pfd = { .fd = ctl, .events = POLLIN };
	struct dmx_req r;
	int waited;

	for (waited = 0; waited <= ms; waited += 50) {
		dmx_req_init(&r, NULL);
		dmx_call(ctl, DM_DEV_ARM_POLL, &r);
		if (dmx_status(ctl, name, NULL) == -ENXIO) {
			dmx_untrack(name);
			return 0;
		}
		poll(&pfd, 1, 50);
	}
	return -ETIMEDOUT;
}

/*
 * The setup and teardown of the ioctl tests' fixtures, declared as
 * FIXTURE(name) { int fd; ... }: a control fd opened for each test, and
 * whatever the test left behind undone after it (dmx_cleanup()).
 * Needs kselftest_harness.h included first.
 */
#define DMX_SETUP_AND_TEARDOWN(fixture)					\
	FIXTURE_SETUP(fixture)						\
	{								\
		self->fd = dmx_open_control();				\
		ASSERT_LE(0, self->fd) TH_LOG("open %s: %s",		\
					      DMX_CONTROL_PATH,		\
					      strerror(errno));		\
	}								\
	FIXTURE_TEARDOWN(fixture)					\
	{								\
		dmx_cleanup(self->fd);					\
		close(self->fd);					\
	}

#endif /* DMX_TEST_H */
