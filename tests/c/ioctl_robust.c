// SPDX-License-Identifier: GPL-2.0
/*
 * Robustness of the core against concurrent control, bad tables and
 * failing allocations: readers of a table while it is swapped out,
 * tables the block layer or the devices below cannot serve, tables that
 * would map a device onto itself, commands that must not wait behind a
 * draining suspend, error accounting of striped targets, and an empty
 * flush of many copies while every slab allocation of its task fails.
 */
#define _GNU_SOURCE
#include <linux/fs.h>
#include <linux/hdreg.h>

#include "kselftest_harness.h"
#include "dmx_test.h"

FIXTURE(robust) {
	int fd;
};

DMX_SETUP_AND_TEARDOWN(robust)

/* --- readers of a table that resume swaps out ------------------------------ */

#define SWAP_ROUNDS	100
#define SWAP_READERS	3
#define SWAP_SECONDS	60
/* Long tables make each reader's walk long, and the race easy to hit. */
#define SWAP_TARGETS	1000

struct reader_arg {
	const char *name;
	int *stop;		/* shared with the parent; atomic access */
};

/*
 * Every command that walks the active table, over and over: the
 * number of answers that were neither a success nor the EINVAL a
 * message to a target without messages gets.
 */
static long read_tables(void *p)
{
	struct reader_arg *a = p;
	struct dmx_req *r = malloc(sizeof(*r));
	int ctl = dmx_open_control();
	long bad = 0;

	if (ctl < 0 || !r)
		return -ENOMEM;
	while (!__atomic_load_n(a->stop, __ATOMIC_ACQUIRE)) {
		struct dm_target_msg *msg;
		struct dm_ioctl io = { 0 };

		if (dmx_table_status(ctl, a->name, 0, r))
			bad++;
		if (dmx_table_status(ctl, a->name, DM_STATUS_TABLE_FLAG, r))
			bad++;
		dmx_req_init(r, a->name);
		if (dmx_call(ctl, DM_TABLE_DEPS, r))
			bad++;
		if (dmx_status(ctl, a->name, &io))
			bad++;
		/* A wait for a number that has passed returns at once. */
		dmx_req_init(r, a->name);
		r->io.event_nr = io.event_nr + 1000000;
		if (dmx_call(ctl, DM_DEV_WAIT, r))
			bad++;
		dmx_req_init(r, a->name);
		msg = (struct dm_target_msg *)r->data;
		msg->sector = 0;
		strcpy(msg->message, "ping");
		if (dmx_call(ctl, DM_TARGET_MSG, r) != -EINVAL)
			bad++;
	}
	free(r);
	close(ctl);
	return bad;
}

/* A table of SWAP_TARGETS linear targets of 8 sectors over ram0/ram1. */
static struct dmx_line *swap_table(const char *ram0, const char *ram1,
				   int shift)
{
	struct dmx_line *lines = calloc(SWAP_TARGETS, sizeof(*lines));
	char *params = calloc(SWAP_TARGETS, 48);
	int i;

	if (!lines || !params)
		return NULL;
	for (i = 0; i < SWAP_TARGETS; i++) {
		char *p = params + i * 48;

		snprintf(p, 48, "%s %d", (i + shift) & 1 ? ram0 : ram1,
			 (i + shift) * 8);
		lines[i] = (struct dmx_line){ i * 8, 8, "linear", p };
	}
	return lines;
}

TEST_F_TIMEOUT(robust, table_readers_survive_table_swaps, 240)
{
	char name[DM_NAME_LEN], ram0[32], ram1[32];
	struct dmx_bg readers[SWAP_READERS];
	struct dmx_line *la, *lb;
	struct timespec start, now;
	struct reader_arg arg;
	int *stop;
	int i;

	if (dmx_ramdisks())
		SKIP(return, "brd ramdisks unavailable");
	ASSERT_EQ(0, dmx_ram(0, ram0, sizeof(ram0)));
	ASSERT_EQ(0, dmx_ram(1, ram1, sizeof(ram1)));
	la = swap_table(ram0, ram1, 0);
	lb = swap_table(ram0, ram1, 1);
	ASSERT_TRUE(la && lb);
	ASSERT_EQ(0, dmx_create_table(self->fd, dmx_name(name, "swap"), la,
				      SWAP_TARGETS));

	stop = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(stop != MAP_FAILED);
	*stop = 0;
	arg.name = name;
	arg.stop = stop;
	for (i = 0; i < SWAP_READERS; i++)
		ASSERT_EQ(0, dmx_bg_start(&readers[i], read_tables, &arg));

	/*
	 * At most SWAP_ROUNDS, and no more than SWAP_SECONDS of them: a
	 * debug kernel under emulation is far slower, and a few dozen
	 * rounds already caught the old use-after-free.
	 */
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (i = 0; i < SWAP_ROUNDS; i++) {
		ASSERT_EQ(0, dmx_load(self->fd, name, i & 1 ? la : lb,
				      SWAP_TARGETS));
		ASSERT_EQ(0, dmx_resume(self->fd, name));
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > SWAP_SECONDS)
			break;
	}
	TH_LOG("%d table swaps", i);
	__atomic_store_n(stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < SWAP_READERS; i++) {
		ASSERT_TRUE(dmx_bg_wait(&readers[i], DMX_FINISH_MS));
		EXPECT_EQ(0, readers[i].result);
	}
	munmap(stop, 4096);
}

/* --- tables the devices below cannot serve ---------------------------------- */

TEST_F(robust, load_refuses_offset_misaligned_to_device_block)
{
	char name[DM_NAME_LEN], loop[32], params[64];
	struct dmx_line line = { 0, 64, "linear", params };

	if (dmx_loop(8, 4096, loop, sizeof(loop)))
		SKIP(return, "no loop devices");
	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "misalign")));

	snprintf(params, sizeof(params), "%s 1", loop);
	EXPECT_EQ(-EINVAL, dmx_load(self->fd, name, &line, 1));
	snprintf(params, sizeof(params), "%s 8", loop);
	EXPECT_EQ(0, dmx_load(self->fd, name, &line, 1));
}

TEST_F(robust, load_refuses_striped_offset_misaligned_to_device_block)
{
	char name[DM_NAME_LEN], l0[32], l1[32], params[128];
	struct dmx_line line = { 0, 128, "striped", params };

	if (dmx_loop(8, 4096, l0, sizeof(l0)) ||
	    dmx_loop(8, 4096, l1, sizeof(l1)))
		SKIP(return, "no loop devices");
	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "misalign")));

	snprintf(params, sizeof(params), "2 8 %s 0 %s 4", l0, l1);
	EXPECT_EQ(-EINVAL, dmx_load(self->fd, name, &line, 1));
	snprintf(params, sizeof(params), "2 8 %s 0 %s 16", l0, l1);
	EXPECT_EQ(0, dmx_load(self->fd, name, &line, 1));
}

/* The block layer counts bytes in a signed 64-bit loff_t. */
#define DMX_MAX_SECTORS	(INT64_MAX >> 9)

TEST_F(robust, load_refuses_size_the_block_layer_cannot_address)
{
	struct dmx_line line = { 0, DMX_MAX_SECTORS + 1, "zero", "" };
	struct dmx_line two[2] = {
		{ 0, 8, "zero", "" },
		{ 8, DMX_MAX_SECTORS - 7, "zero", "" },
	};
	char name[DM_NAME_LEN];

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "huge")));
	EXPECT_EQ(-EINVAL, dmx_load(self->fd, name, &line, 1));
	EXPECT_EQ(-EINVAL, dmx_load(self->fd, name, two, 2));
	line.len = DMX_MAX_SECTORS;
	EXPECT_EQ(0, dmx_load(self->fd, name, &line, 1));
}

/* discard_max_bytes of a mapped device, from sysfs; -1 on error. */
static long long queue_discard_limit(int ctl, const char *name)
{
	char path[96];
	uint64_t dev = dmx_dev_of(ctl, name);
	FILE *f;
	long long v = -1;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/queue/discard_max_bytes",
		 dmx_dev_major(dev), dmx_dev_minor(dev));
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/*
 * A null_blk device (discard=0, its default): a device that takes no
 * discards on every kernel (brd takes them from 6.12 on).  Fills path;
 * 0, or -1 if null_blk is in use or missing.
 */
static int no_discard_device(char *path, size_t len)
{
	struct stat sb;

	if (access("/sys/module/null_blk", F_OK) == 0 &&
	    system("rmmod null_blk >/dev/null 2>&1"))
		return -1;
	if (system("modprobe null_blk nr_devices=1 >/dev/null 2>&1") ||
	    stat("/dev/nullb0", &sb))
		return -1;
	snprintf(path, len, "/dev/nullb0");
	return 0;
}

TEST_F(robust, discards_advertised_only_if_every_target_takes_them)
{
	char name[DM_NAME_LEN], l0[32], l1[32], nullb[32], p0[64], p1[64];
	struct dmx_line lines[2] = {
		{ 0, 1024, "linear", p0 },
		{ 1024, 1024, "linear", p1 },
	};

	if (dmx_loop(8, 512, l0, sizeof(l0)) || dmx_loop(8, 512, l1, sizeof(l1)))
		SKIP(return, "no loop devices");
	if (no_discard_device(nullb, sizeof(nullb)))
		SKIP(return, "null_blk unavailable or in use");

	/* Both halves on devices that take discards. */
	snprintf(p0, sizeof(p0), "%s 0", l0);
	snprintf(p1, sizeof(p1), "%s 0", l1);
	ASSERT_EQ(0, dmx_create_table(self->fd, dmx_name(name, "discard"),
				      lines, 2));
	EXPECT_LT(0, queue_discard_limit(self->fd, name));

	/* One half on a device that takes none. */
	snprintf(p1, sizeof(p1), "%s 0", nullb);
	ASSERT_EQ(0, dmx_load(self->fd, name, lines, 2));
	ASSERT_EQ(0, dmx_resume(self->fd, name));
	EXPECT_EQ(0, queue_discard_limit(self->fd, name));

	/* One half on a target that takes none: error, before 6.12. */
	if (dmx_kernel_series() < 612) {
		lines[1] = (struct dmx_line){ 1024, 1024, "error", "" };
		ASSERT_EQ(0, dmx_load(self->fd, name, lines, 2));
		ASSERT_EQ(0, dmx_resume(self->fd, name));
		EXPECT_EQ(0, queue_discard_limit(self->fd, name));
	}
	dmx_cleanup(self->fd);
	EXPECT_EQ(0, system("rmmod null_blk"));
}

/* --- tables that would reach their own device ----------------------------- */

TEST_F(robust, load_refuses_loop_through_active_table)
{
	char a[DM_NAME_LEN], b[DM_NAME_LEN], adev[32], bdev[32], params[64];
	struct dmx_line line = { 0, 1024, "linear", params };

	if (dmx_is_stock())
		SKIP(return, "the stock dm accepts table loops");
	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(a, "loopa"), 1024));
	ASSERT_EQ(0, dmx_devno(self->fd, a, adev, sizeof(adev)));
	snprintf(params, sizeof(params), "%s 0", adev);
	ASSERT_EQ(0, dmx_create_table(self->fd, dmx_name(b, "loopb"), &line, 1));
	ASSERT_EQ(0, dmx_devno(self->fd, b, bdev, sizeof(bdev)));

	/* A onto B, which maps A. */
	snprintf(params, sizeof(params), "%s 0", bdev);
	EXPECT_EQ(-EINVAL, dmx_load(self->fd, a, &line, 1));
}

TEST_F(robust, load_refuses_loop_through_inactive_table)
{
	char a[DM_NAME_LEN], b[DM_NAME_LEN], adev[32], bdev[32], params[64];
	struct dmx_line line = { 0, 1024, "linear", params };

	if (dmx_is_stock())
		SKIP(return, "the stock dm accepts table loops");
	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(a, "loopa"), 1024));
	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(b, "loopb"), 1024));
	ASSERT_EQ(0, dmx_devno(self->fd, a, adev, sizeof(adev)));
	ASSERT_EQ(0, dmx_devno(self->fd, b, bdev, sizeof(bdev)));

	/* B's inactive table maps A: a resume would make it live. */
	snprintf(params, sizeof(params), "%s 0", adev);
	ASSERT_EQ(0, dmx_load(self->fd, b, &line, 1));
	snprintf(params, sizeof(params), "%s 0", bdev);
	EXPECT_EQ(-EINVAL, dmx_load(self->fd, a, &line, 1));
}

TEST_F(robust, load_refuses_loop_through_three_devices)
{
	char n[3][DM_NAME_LEN], dev[3][32], params[128];
	struct dmx_line line = { 0, 1024, "linear", params };
	int i;

	if (dmx_is_stock())
		SKIP(return, "the stock dm accepts table loops");
	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(n[0], "loop0"), 1024));
	ASSERT_EQ(0, dmx_devno(self->fd, n[0], dev[0], sizeof(dev[0])));
	/* loop1 -> loop0, loop2 -> loop1 */
	for (i = 1; i < 3; i++) {
		snprintf(params, sizeof(params), "%s 0", dev[i - 1]);
		ASSERT_EQ(0, dmx_create_table(self->fd,
					      dmx_name(n[i], i == 1 ? "loop1" : "loop2"),
					      &line, 1));
		ASSERT_EQ(0, dmx_devno(self->fd, n[i], dev[i], sizeof(dev[i])));
	}
	/* loop0 -> loop2 closes the circle. */
	snprintf(params, sizeof(params), "%s 0", dev[2]);
	EXPECT_EQ(-EINVAL, dmx_load(self->fd, n[0], &line, 1));
}

TEST_F(robust, load_accepts_diamond_that_is_no_loop)
{
	char n[3][DM_NAME_LEN], dev[2][32], p0[64], p1[64];
	struct dmx_line one = { 0, 1024, "linear", p0 };
	struct dmx_line two[2] = {
		{ 0, 512, "linear", p0 },
		{ 512, 512, "linear", p1 },
	};

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(n[0], "base"), 1024));
	ASSERT_EQ(0, dmx_devno(self->fd, n[0], dev[0], sizeof(dev[0])));
	snprintf(p0, sizeof(p0), "%s 0", dev[0]);
	ASSERT_EQ(0, dmx_create_table(self->fd, dmx_name(n[1], "mid"), &one, 1));
	ASSERT_EQ(0, dmx_devno(self->fd, n[1], dev[1], sizeof(dev[1])));
	/* top maps base directly and through mid. */
	snprintf(p1, sizeof(p1), "%s 0", dev[1]);
	EXPECT_EQ(0, dmx_create_table(self->fd, dmx_name(n[2], "top"), two, 2));
}

/* --- nothing waits behind a suspend that is draining I/O ------------------ */

struct drain_setup {
	char lower[DM_NAME_LEN];
	char upper[DM_NAME_LEN];
	char lower_dev[32];
	struct dmx_io_arg io;
	struct dmx_bg reader;
	struct dmx_bg suspender;
	const char *suspend_name;
};

static long suspend_upper(void *p)
{
	struct drain_setup *d = p;
	int ctl = dmx_open_control();
	long r;

	if (ctl < 0)
		return -errno;
	r = dmx_suspend(ctl, d->upper);
	close(ctl);
	return r;
}

/*
 * upper (linear on lower, linear on ram0) with a read in flight that
 * lower holds, and a suspend of upper that waits for it.  0, or a
 * reason to skip.
 */
static const char *drain_start(int ctl, struct drain_setup *d)
{
	char ram0[32], params[64];
	struct dmx_line line = { 0, 2048, "linear", params };

	if (dmx_ramdisks())
		return "brd ramdisks unavailable";
	if (dmx_ram(0, ram0, sizeof(ram0)))
		return "no ram0";
	snprintf(params, sizeof(params), "%s 0", ram0);
	if (dmx_create_table(ctl, dmx_name(d->lower, "drainlow"), &line, 1) ||
	    dmx_devno(ctl, d->lower, d->lower_dev, sizeof(d->lower_dev)))
		return "cannot create the lower device";
	snprintf(params, sizeof(params), "%s 0", d->lower_dev);
	if (dmx_create_table(ctl, dmx_name(d->upper, "drainup"), &line, 1))
		return "cannot create the upper device";
	if (dmx_suspend(ctl, d->lower))
		return "cannot suspend the lower device";

	d->io = (struct dmx_io_arg){ dmx_dev_of(ctl, d->upper), 0, 4096, false };
	if (dmx_bg_start(&d->reader, dmx_direct_io, &d->io) ||
	    !dmx_bg_in_io(&d->reader))
		return "the read never went in flight";
	if (dmx_bg_start(&d->suspender, suspend_upper, d) ||
	    !dmx_bg_blocked(&d->suspender))
		return "the suspend did not wait for the read";
	return NULL;
}

/* Lets the held read go, so the suspend completes; then resumes upper. */
static void drain_finish(int ctl, struct drain_setup *d)
{
	dmx_resume(ctl, d->lower);
	dmx_bg_wait(&d->suspender, DMX_FINISH_MS);
	dmx_bg_wait(&d->reader, DMX_FINISH_MS);
	dmx_resume(ctl, d->upper);
}

static long load_upper(void *p)
{
	struct drain_setup *d = p;
	char ram1[32], params[64];
	struct dmx_line line = { 0, 2048, "linear", params };
	int ctl = dmx_open_control();
	long r;

	if (ctl < 0 || dmx_ram(1, ram1, sizeof(ram1)))
		return -EIO;
	snprintf(params, sizeof(params), "%s 0", ram1);
	r = dmx_load(ctl, d->upper, &line, 1);
	close(ctl);
	return r;
}

TEST_F(robust, load_does_not_wait_for_draining_suspend)
{
	struct drain_setup d = { 0 };
	struct dmx_bg loader;
	const char *why;

	why = drain_start(self->fd, &d);
	if (why) {
		drain_finish(self->fd, &d);
		SKIP(return, "%s", why);
	}
	ASSERT_EQ(0, dmx_bg_start(&loader, load_upper, &d));
	EXPECT_TRUE(dmx_bg_wait(&loader, DMX_FINISH_MS));
	EXPECT_FALSE(d.suspender.done);
	drain_finish(self->fd, &d);
	ASSERT_TRUE(dmx_bg_wait(&loader, DMX_FINISH_MS));
	EXPECT_EQ(0, loader.result);
}

static long getgeo_upper(void *p)
{
	struct drain_setup *d = p;
	struct hd_geometry geo;
	int fd = dmx_open_dev(d->io.dev, O_RDONLY);
	long r;

	if (fd < 0)
		return fd;
	r = dmx_ioctl(fd, HDIO_GETGEO, &geo);
	close(fd);
	return r;
}

TEST_F(robust, getgeo_does_not_wait_for_draining_suspend)
{
	struct drain_setup d = { 0 };
	struct dmx_bg geo;
	const char *why;

	why = drain_start(self->fd, &d);
	if (why) {
		drain_finish(self->fd, &d);
		SKIP(return, "%s", why);
	}
	ASSERT_EQ(0, dmx_bg_start(&geo, getgeo_upper, &d));
	EXPECT_TRUE(dmx_bg_wait(&geo, DMX_FINISH_MS));
	EXPECT_FALSE(d.suspender.done);
	drain_finish(self->fd, &d);
	ASSERT_TRUE(dmx_bg_wait(&geo, DMX_FINISH_MS));
	EXPECT_EQ(0, geo.result);
}

/* --- striped error accounting ---------------------------------------------- */

/* The status line of the first target into buf. */
static int status_line(int ctl, const char *name, char *buf, size_t size)
{
	struct dm_target_spec *spec;
	struct dmx_req r;
	int ret;

	ret = dmx_table_status(ctl, name, 0, &r);
	if (ret)
		return ret;
	spec = dmx_reply_spec(&r, 0);
	if (!spec)
		return -ENODATA;
	snprintf(buf, size, "%s", dmx_spec_params(spec));
	return 0;
}

/* striped over two ranges of one device that fails every I/O. */
static int create_failing_stripes(int ctl, char *failing, char *striped,
				  char *devno, size_t size)
{
	struct dmx_line err = { 0, 2048, "error", "" };
	char params[96];
	struct dmx_line line = { 0, 256, "striped", params };
	int ret;

	ret = dmx_create_table(ctl, dmx_name(failing, "fail"), &err, 1);
	if (!ret)
		ret = dmx_devno(ctl, failing, devno, size);
	if (ret)
		return ret;
	snprintf(params, sizeof(params), "2 8 %s 0 %s 1024", devno, devno);
	return dmx_create_table(ctl, dmx_name(striped, "stripes"), &line, 1);
}

TEST_F(robust, striped_error_marks_every_stripe_of_failing_device)
{
	char failing[DM_NAME_LEN], striped[DM_NAME_LEN], devno[32];
	char status[256], want[256];
	struct dmx_io_arg io;

	ASSERT_EQ(0, create_failing_stripes(self->fd, failing, striped, devno,
					    sizeof(devno)));
	io = (struct dmx_io_arg){ dmx_dev_of(self->fd, striped), 0, 4096, false };
	EXPECT_EQ(-EIO, dmx_direct_io(&io));
	ASSERT_EQ(0, status_line(self->fd, striped, status, sizeof(status)));
	snprintf(want, sizeof(want), "2 %s %s 1 DD", devno, devno);
	EXPECT_STREQ(want, status);
}

#define STRIPE_ERRORS		100
/* Upstream stops raising events once a stripe has failed this often. */
#define STRIPE_ERROR_EVENTS	15

TEST_F(robust, striped_error_events_stop_at_threshold)
{
	char failing[DM_NAME_LEN], striped[DM_NAME_LEN], devno[32];
	struct dmx_io_arg io;
	struct dm_ioctl before, after;
	struct dmx_req r;
	int i;

	ASSERT_EQ(0, create_failing_stripes(self->fd, failing, striped, devno,
					    sizeof(devno)));
	ASSERT_EQ(0, dmx_status(self->fd, striped, &before));
	io = (struct dmx_io_arg){ dmx_dev_of(self->fd, striped), 0, 512, false };
	for (i = 0; i < STRIPE_ERRORS; i++)
		ASSERT_EQ(-EIO, dmx_direct_io(&io));
	/* At least one event: a wait for the old number returns. */
	dmx_req_init(&r, striped);
	r.io.event_nr = before.event_nr;
	ASSERT_EQ(0, dmx_call(self->fd, DM_DEV_WAIT, &r));
	ASSERT_EQ(0, dmx_status(self->fd, striped, &after));
	EXPECT_GE(STRIPE_ERROR_EVENTS, after.event_nr - before.event_nr);
}

/* --- an empty flush of many copies under failslab ------------------------- */

#define FAILSLAB	"/sys/kernel/debug/failslab/"

static int write_knob(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, value, strlen(value));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* Every slab allocation of a task with make-it-fail set fails. */
static int failslab_for_marked_tasks(bool on)
{
	static const char *const knobs[][2] = {
		{ "interval", "1" }, { "times", "-1" }, { "space", "0" },
		{ "verbose", "0" }, { "ignore-gfp-wait", "N" },
		{ "cache-filter", "N" },
	};
	unsigned int i;
	int r;

	if (!on) {
		write_knob(FAILSLAB "probability", "0");
		return write_knob(FAILSLAB "task-filter", "N");
	}
	for (i = 0; i < ARRAY_SIZE(knobs); i++) {
		char path[128];

		snprintf(path, sizeof(path), FAILSLAB "%s", knobs[i][0]);
		r = write_knob(path, knobs[i][1]);
		if (r)
			return r;
	}
	r = write_knob(FAILSLAB "task-filter", "Y");
	return r ? r : write_knob(FAILSLAB "probability", "100");
}

static long fsync_failing_slab(void *p)
{
	uint64_t *dev = p;
	int fd = dmx_open_dev(*dev, O_WRONLY);
	long r;

	if (fd < 0)
		return fd;
	if (write_knob("/proc/self/make-it-fail", "1"))
		return -EPERM;
	r = fsync(fd) ? -errno : 0;
	write_knob("/proc/self/make-it-fail", "0");
	close(fd);
	return r;
}

TEST_F(robust, empty_flush_of_many_copies_survives_failslab)
{
	char name[DM_NAME_LEN], loop[4][32], params[4][160];
	struct dmx_line lines[4];
	struct dmx_bg flusher;
	uint64_t dev;
	int i;

	if (access(FAILSLAB "probability", W_OK))
		SKIP(return, "no failslab on this kernel");
	for (i = 0; i < 4; i++) {
		if (dmx_loop(4, 512, loop[i], sizeof(loop[i])))
			SKIP(return, "no loop devices");
		snprintf(params[i], sizeof(params[i]), "%s 0", loop[i]);
		lines[i] = (struct dmx_line){ i * 1024, 1024, "linear", params[i] };
	}
	/* Four copies of every empty flush, one per target. */
	ASSERT_EQ(0, dmx_create_table(self->fd, dmx_name(name, "flush"), lines, 4));
	dev = dmx_dev_of(self->fd, name);

	ASSERT_EQ(0, failslab_for_marked_tasks(true));
	ASSERT_EQ(0, dmx_bg_start(&flusher, fsync_failing_slab, &dev));
	EXPECT_TRUE(dmx_bg_wait(&flusher, DMX_FINISH_MS));
	failslab_for_marked_tasks(false);
	ASSERT_TRUE(dmx_bg_wait(&flusher, DMX_FINISH_MS));
	EXPECT_EQ(0, flusher.result);
}

TEST_HARNESS_MAIN
