// SPDX-License-Identifier: GPL-2.0
/*
 * bench_ctl: control-plane timings for make bench (tests/bench/control.sh).
 *
 * dmx-bench: helper  (built into bench-bin/, never run as a test)
 *
 * Issues the dm ioctls as libdevmapper does (one device at a time, a
 * 16 KiB buffer grown on DM_BUFFER_FULL_FLAG), so that the figures are
 * the ioctls' cost without dmsetup's start-up.  Each command prints
 * "KEY MILLISECONDS" lines:
 *   create PREFIX N DEV    PREFIX0..: DEV_CREATE, TABLE_LOAD of
 *                          "0 8 linear DEV 8i", resume; keys
 *                          create-load-resume, create, load, resume
 *   list N                 one LIST_DEVICES (of N or more devices): list
 *   status PREFIX N        TABLE_STATUS of each: status
 *   remove PREFIX N        DEV_REMOVE of each: remove
 *   remove-all             one REMOVE_ALL: remove-all
 *   big NAME TARGETS DEV   a table of TARGETS 8-sector linear targets
 *                          loaded into NAME and resumed: load, resume
 *   window NAME DEV SWAPS  the longest read (microseconds) a 4 KiB
 *                          O_DIRECT reader of NAME sees with no swaps
 *                          (idle), then while SWAPS new tables are
 *                          loaded and resumed (swaps)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "dmx-ioctl.h"

#define BC_BUF_START	16384
#define BC_SPEC_ALIGN	8

static int bc_fd;

static double bc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void bc_die(const char *what, const char *name)
{
	fprintf(stderr, "bench_ctl: %s %s: %s\n", what, name ? name : "",
		strerror(errno));
	exit(1);
}

/* bc_header: a zeroed request of SIZE bytes for device NAME. */
static struct dm_ioctl *bc_header(size_t size, const char *name)
{
	struct dm_ioctl *io = calloc(1, size);

	if (!io)
		bc_die("calloc", NULL);
	io->version[0] = DM_VERSION_MAJOR;
	io->version[1] = 0;
	io->version[2] = 0;
	io->data_size = size;
	io->data_start = sizeof(*io);
	if (name)
		snprintf(io->name, sizeof(io->name), "%s", name);
	return io;
}

/* bc_call: CMD on NAME with no payload, growing the buffer as needed. */
static void bc_call(unsigned long cmd, const char *name, unsigned int flags)
{
	size_t size = BC_BUF_START;
	struct dm_ioctl *io;

	for (;;) {
		io = bc_header(size, name);
		io->flags = flags;
		if (ioctl(bc_fd, cmd, io) < 0)
			bc_die("ioctl", name);
		if (!(io->flags & DM_BUFFER_FULL_FLAG))
			break;
		free(io);
		size *= 2;
	}
	free(io);
}

/*
 * bc_load: TABLE_LOAD of TARGETS linear targets of 8 sectors into NAME,
 * target t mapping DEV from sector 8 * (FIRST + t).
 */
static void bc_load(const char *name, unsigned long targets, const char *dev,
		    unsigned long first)
{
	size_t per = sizeof(struct dm_target_spec) + 64;
	size_t size = sizeof(struct dm_ioctl) + targets * per;
	struct dm_ioctl *io = bc_header(size, name);
	char *p = (char *)io + sizeof(*io);
	unsigned long t;

	for (t = 0; t < targets; t++) {
		struct dm_target_spec *spec = (struct dm_target_spec *)p;
		char *params = p + sizeof(*spec);
		size_t len;

		spec->sector_start = 8 * t;
		spec->length = 8;
		strcpy(spec->target_type, "linear");
		len = sprintf(params, "%s %lu", dev, 8 * (first + t)) + 1;
		len = (sizeof(*spec) + len + BC_SPEC_ALIGN - 1) & ~(size_t)(BC_SPEC_ALIGN - 1);
		spec->next = len;
		p += len;
	}
	io->target_count = targets;
	io->data_size = p - (char *)io;
	if (ioctl(bc_fd, DM_TABLE_LOAD, io) < 0)
		bc_die("load", name);
	free(io);
}

static void bc_name(char *buf, const char *prefix, unsigned long i)
{
	snprintf(buf, DM_NAME_LEN, "%s%lu", prefix, i);
}

static int bc_create(const char *prefix, unsigned long n, const char *dev)
{
	double t_create = 0, t_load = 0, t_resume = 0, t0, t1;
	char name[DM_NAME_LEN];
	unsigned long i;

	for (i = 0; i < n; i++) {
		bc_name(name, prefix, i);
		t0 = bc_now_ms();
		bc_call(DM_DEV_CREATE, name, 0);
		t1 = bc_now_ms();
		t_create += t1 - t0;
		bc_load(name, 1, dev, i);
		t0 = bc_now_ms();
		t_load += t0 - t1;
		bc_call(DM_DEV_SUSPEND, name, 0);
		t_resume += bc_now_ms() - t0;
	}
	printf("create-load-resume %.1f\ncreate %.1f\nload %.1f\nresume %.1f\n",
	       t_create + t_load + t_resume, t_create, t_load, t_resume);
	return 0;
}

static int bc_each(const char *key, unsigned long cmd, const char *prefix,
		   unsigned long n, unsigned int flags)
{
	char name[DM_NAME_LEN];
	unsigned long i;
	double t0 = bc_now_ms();

	for (i = 0; i < n; i++) {
		bc_name(name, prefix, i);
		bc_call(cmd, name, flags);
	}
	printf("%s %.1f\n", key, bc_now_ms() - t0);
	return 0;
}

static int bc_timed(const char *key, unsigned long cmd)
{
	double t0 = bc_now_ms();

	bc_call(cmd, NULL, 0);
	printf("%s %.1f\n", key, bc_now_ms() - t0);
	return 0;
}

static int bc_big(const char *name, unsigned long targets, const char *dev)
{
	double t0 = bc_now_ms(), t1;

	bc_load(name, targets, dev, 0);
	t1 = bc_now_ms();
	bc_call(DM_DEV_SUSPEND, name, 0);
	printf("load %.1f\nresume %.1f\n", t1 - t0, bc_now_ms() - t1);
	return 0;
}

/* The suspend window: a reader thread and its longest read. */
struct bc_reader {
	int fd;
	int stop;	/* set by the swapping thread, read atomically */
	double worst_us;
	unsigned long reads;
};

static void *bc_read_loop(void *arg)
{
	struct bc_reader *r = arg;
	unsigned int seed = 1;
	void *buf;

	if (posix_memalign(&buf, 4096, 4096))
		return NULL;
	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		off_t off = (off_t)(rand_r(&seed) % 1024) * 4096;
		double t0 = bc_now_ms(), us;

		if (pread(r->fd, buf, 4096, off) != 4096)
			break;
		us = (bc_now_ms() - t0) * 1e3;
		if (us > r->worst_us)
			r->worst_us = us;
		r->reads++;
	}
	free(buf);
	return NULL;
}

/* bc_watch: run the reader over PATH for as long as WORK(ARG) takes. */
static double bc_watch(const char *path, void (*work)(void *), void *arg)
{
	struct bc_reader r = { .stop = 0 };
	pthread_t th;

	r.fd = open(path, O_RDONLY | O_DIRECT);
	if (r.fd < 0)
		bc_die("open", path);
	if (pthread_create(&th, NULL, bc_read_loop, &r))
		bc_die("pthread_create", path);
	work(arg);
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	close(r.fd);
	return r.worst_us;
}

struct bc_swaps {
	const char *name;
	const char *dev;
	unsigned long swaps;
	double ms;
};

static void bc_do_swaps(void *arg)
{
	struct bc_swaps *s = arg;
	double t0 = bc_now_ms();
	unsigned long i;

	for (i = 0; i < s->swaps; i++) {
		bc_load(s->name, 1024, s->dev, i & 1);
		bc_call(DM_DEV_SUSPEND, s->name, 0);
	}
	s->ms = bc_now_ms() - t0;
}

static void bc_do_sleep(void *arg)
{
	struct bc_swaps *s = arg;
	struct timespec ts = {
		.tv_sec = (time_t)(s->ms / 1e3),
		.tv_nsec = (long)((s->ms - (time_t)(s->ms / 1e3) * 1e3) * 1e6),
	};

	nanosleep(&ts, NULL);
}

static int bc_window(const char *name, const char *dev, unsigned long swaps)
{
	struct bc_swaps s = { .name = name, .dev = dev, .swaps = swaps };
	char path[DM_NAME_LEN + 16];
	double busy, idle;

	snprintf(path, sizeof(path), "/dev/mapper/%s", name);
	bc_load(name, 1024, dev, 0);
	bc_call(DM_DEV_SUSPEND, name, 0);
	busy = bc_watch(path, bc_do_swaps, &s);
	/* The reader alone for as long as the swaps took. */
	idle = bc_watch(path, bc_do_sleep, &s);
	printf("swaps %.0f\nidle %.0f\n", busy, idle);
	return 0;
}

static unsigned long bc_count(const char *s)
{
	return strtoul(s, NULL, 10);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	bc_fd = open("/dev/mapper/control", O_RDWR);
	if (bc_fd < 0)
		bc_die("open", "/dev/mapper/control");
	if (!strcmp(cmd, "create") && argc == 5)
		return bc_create(argv[2], bc_count(argv[3]), argv[4]);
	if (!strcmp(cmd, "list") && argc == 3)
		return bc_timed("list", DM_LIST_DEVICES);
	if (!strcmp(cmd, "status") && argc == 4)
		return bc_each("status", DM_TABLE_STATUS, argv[2],
			       bc_count(argv[3]), 0);
	if (!strcmp(cmd, "remove") && argc == 4)
		return bc_each("remove", DM_DEV_REMOVE, argv[2],
			       bc_count(argv[3]), 0);
	if (!strcmp(cmd, "remove-all") && argc == 2)
		return bc_timed("remove-all", DM_REMOVE_ALL);
	if (!strcmp(cmd, "big") && argc == 5)
		return bc_big(argv[2], bc_count(argv[3]), argv[4]);
	if (!strcmp(cmd, "window") && argc == 5)
		return bc_window(argv[2], argv[3], bc_count(argv[4]));
	fprintf(stderr, "bench_ctl: unknown command or arguments (see its header)\n");
	return 2;
}
