// SPDX-License-Identifier: GPL-2.0
/*
 * What a mapped device tells monitoring and the block layer: its I/O
 * statistics (/sys/block/dm-N/stat and inflight, the numbers behind
 * /proc/diskstats and iostat) count what the stock dm counts for the
 * same workload; REQ_NOWAIT I/O (RWF_NOWAIT, io_uring) is taken when
 * every target and device below can, and never blocks; zoned devices
 * are refused, since no target maps zones.
 */
#define _GNU_SOURCE
#include <linux/fs.h>
#include <sys/uio.h>

#include "kselftest_harness.h"
#include "dmx_test.h"

FIXTURE(stats) {
	int fd;
};

FIXTURE_SETUP(stats)
{
	self->fd = dmx_open_control();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", DMX_CONTROL_PATH,
				      strerror(errno));
}

FIXTURE_TEARDOWN(stats)
{
	dmx_cleanup(self->fd);
	close(self->fd);
}

/* The fields of /sys/block/<dev>/stat that the tests look at. */
struct disk_stat {
	unsigned long long reads, read_sectors;
	unsigned long long writes, write_sectors;
	unsigned long long in_flight;
	unsigned long long discards, discard_sectors;
};

static int read_stat(int ctl, const char *name, struct disk_stat *st)
{
	unsigned long long f[17] = { 0 };
	uint64_t dev = dmx_dev_of(ctl, name);
	char path[96];
	FILE *file;
	int n;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/stat",
		 dmx_dev_major(dev), dmx_dev_minor(dev));
	file = fopen(path, "r");
	if (!file)
		return -errno;
	n = fscanf(file, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
		   &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7],
		   &f[8], &f[9], &f[10], &f[11], &f[12], &f[13], &f[14]);
	fclose(file);
	if (n < 15)
		return -EIO;
	st->reads = f[0];
	st->read_sectors = f[2];
	st->writes = f[4];
	st->write_sectors = f[6];
	st->in_flight = f[8];
	st->discards = f[11];
	st->discard_sectors = f[13];
	return 0;
}

/* count O_DIRECT transfers of bytes each at offset, then offset + bytes... */
static int direct_io(int ctl, const char *name, bool write, off_t offset,
		     size_t bytes, int count)
{
	void *buf;
	int fd, i, r = 0;

	fd = dmx_open_name(ctl, name, (write ? O_WRONLY : O_RDONLY) | O_DIRECT);
	if (fd < 0)
		return fd;
	if (posix_memalign(&buf, 4096, bytes))
		return -ENOMEM;
	memset(buf, 0xa5, bytes);
	for (i = 0; i < count && !r; i++) {
		ssize_t n = write ? pwrite(fd, buf, bytes, offset + i * bytes) :
				    pread(fd, buf, bytes, offset + i * bytes);

		if (n != (ssize_t)bytes)
			r = n < 0 ? -errno : -EIO;
	}
	free(buf);
	dmx_close_dev(fd);
	return r;
}

/* A linear device of len sectors on ram0. */
static int create_on_ram(int ctl, char *name, const char *tag, uint64_t len)
{
	char ram0[32], params[64];
	struct dmx_line line = { 0, len, "linear", params };

	if (dmx_ramdisks() || dmx_ram(0, ram0, sizeof(ram0)))
		return -ENODEV;
	snprintf(params, sizeof(params), "%s 0", ram0);
	return dmx_create_table(ctl, dmx_name(name, tag), &line, 1);
}

TEST_F(stats, stat_counts_direct_reads_and_writes)
{
	struct disk_stat before, after;
	char name[DM_NAME_LEN];

	ASSERT_EQ(0, create_on_ram(self->fd, name, "rw", 8192));
	ASSERT_EQ(0, read_stat(self->fd, name, &before));
	ASSERT_EQ(0, direct_io(self->fd, name, false, 0, 4096, 64));
	ASSERT_EQ(0, direct_io(self->fd, name, true, 0, 4096, 32));
	ASSERT_EQ(0, read_stat(self->fd, name, &after));

	EXPECT_EQ(64, after.reads - before.reads);
	EXPECT_EQ(512, after.read_sectors - before.read_sectors);
	EXPECT_EQ(32, after.writes - before.writes);
	EXPECT_EQ(256, after.write_sectors - before.write_sectors);
	EXPECT_EQ(0, after.in_flight);
}

/* A bio split at a target boundary is one I/O per piece, as in stock. */
TEST_F(stats, stat_counts_each_piece_of_a_split_bio)
{
	char name[DM_NAME_LEN], ram0[32], p0[64], p1[64];
	struct dmx_line lines[2] = {
		{ 0, 4, "linear", p0 },
		{ 4, 2044, "linear", p1 },
	};
	struct disk_stat before, after;

	if (dmx_ramdisks())
		SKIP(return, "brd ramdisks unavailable");
	ASSERT_EQ(0, dmx_ram(0, ram0, sizeof(ram0)));
	snprintf(p0, sizeof(p0), "%s 0", ram0);
	snprintf(p1, sizeof(p1), "%s 4", ram0);
	ASSERT_EQ(0, dmx_create_table(self->fd, dmx_name(name, "split"), lines, 2));
	ASSERT_EQ(0, read_stat(self->fd, name, &before));
	/* Sectors 0-7: 0-3 on one target, 4-7 on the other. */
	ASSERT_EQ(0, direct_io(self->fd, name, false, 0, 4096, 1));
	ASSERT_EQ(0, read_stat(self->fd, name, &after));

	EXPECT_EQ(2, after.reads - before.reads);
	EXPECT_EQ(8, after.read_sectors - before.read_sectors);
}

/* On a device with a write cache, an fsync is one flush: a write of no sectors. */
TEST_F(stats, stat_counts_an_fsync_as_one_empty_write)
{
	char name[DM_NAME_LEN], loop[32], params[64];
	struct dmx_line line = { 0, 2048, "linear", params };
	struct disk_stat before, after;
	int fd;

	if (dmx_loop(4, 512, loop, sizeof(loop)))
		SKIP(return, "no loop devices");
	snprintf(params, sizeof(params), "%s 0", loop);
	ASSERT_EQ(0, dmx_create_table(self->fd, dmx_name(name, "flush"), &line, 1));
	fd = dmx_open_name(self->fd, name, O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, read_stat(self->fd, name, &before));
	ASSERT_EQ(0, fsync(fd));
	ASSERT_EQ(0, read_stat(self->fd, name, &after));
	dmx_close_dev(fd);

	EXPECT_EQ(1, after.writes - before.writes);
	EXPECT_EQ(0, after.write_sectors - before.write_sectors);
}

TEST_F(stats, stat_counts_discards)
{
	char name[DM_NAME_LEN], loop[32], params[64];
	struct dmx_line line = { 0, 2048, "linear", params };
	struct disk_stat before, after;
	uint64_t range[2] = { 0, 512 * 1024 };
	int fd;

	if (dmx_loop(4, 512, loop, sizeof(loop)))
		SKIP(return, "no loop devices");
	snprintf(params, sizeof(params), "%s 0", loop);
	ASSERT_EQ(0, dmx_create_table(self->fd, dmx_name(name, "discard"), &line, 1));
	fd = dmx_open_name(self->fd, name, O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, read_stat(self->fd, name, &before));
	ASSERT_EQ(0, dmx_ioctl(fd, BLKDISCARD, range));
	ASSERT_EQ(0, read_stat(self->fd, name, &after));
	dmx_close_dev(fd);

	EXPECT_EQ(1, after.discards - before.discards);
	EXPECT_EQ(1024, after.discard_sectors - before.discard_sectors);
}

/* Writes value to /sys/block/<dev>/queue/iostats. */
static int set_iostats(int ctl, const char *name, const char *value)
{
	uint64_t dev = dmx_dev_of(ctl, name);
	char path[96];
	FILE *file;
	int r = 0;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/queue/iostats",
		 dmx_dev_major(dev), dmx_dev_minor(dev));
	file = fopen(path, "w");
	if (!file)
		return -errno;
	if (fputs(value, file) < 0)
		r = -EIO;
	if (fclose(file))
		r = -errno;
	return r;
}

/* iostats 0 stops the counting, as on any disk; 1 starts it again. */
TEST_F(stats, stat_counts_nothing_while_iostats_is_off)
{
	struct disk_stat before, off, on;
	char name[DM_NAME_LEN];

	if (dmx_is_stock() && dmx_kernel_series() < 605)
		SKIP(return, "6.1's dm counts whatever iostats says");
	ASSERT_EQ(0, create_on_ram(self->fd, name, "iostats", 8192));
	ASSERT_EQ(0, set_iostats(self->fd, name, "0"));
	ASSERT_EQ(0, read_stat(self->fd, name, &before));
	ASSERT_EQ(0, direct_io(self->fd, name, false, 0, 4096, 8));
	ASSERT_EQ(0, direct_io(self->fd, name, true, 0, 4096, 8));
	ASSERT_EQ(0, read_stat(self->fd, name, &off));
	ASSERT_EQ(0, set_iostats(self->fd, name, "1"));
	ASSERT_EQ(0, direct_io(self->fd, name, false, 0, 4096, 4));
	ASSERT_EQ(0, read_stat(self->fd, name, &on));

	EXPECT_EQ(0, off.reads - before.reads);
	EXPECT_EQ(0, off.writes - before.writes);
	EXPECT_EQ(4, on.reads - off.reads);
	EXPECT_EQ(32, on.read_sectors - off.read_sectors);
}

static long read_upper(void *p)
{
	return dmx_direct_io(p);
}

/* A read held by the suspended device below is in flight above. */
TEST_F(stats, inflight_counts_io_held_below)
{
	char lower[DM_NAME_LEN], upper[DM_NAME_LEN], ram0[32], params[64];
	struct dmx_line line = { 0, 2048, "linear", params };
	struct disk_stat st;
	struct dmx_io_arg io;
	struct dmx_bg reader;
	uint64_t ldev;
	int i;

	if (dmx_ramdisks())
		SKIP(return, "brd ramdisks unavailable");
	ASSERT_EQ(0, dmx_ram(0, ram0, sizeof(ram0)));
	snprintf(params, sizeof(params), "%s 0", ram0);
	ASSERT_EQ(0, dmx_create_table(self->fd, dmx_name(lower, "low"), &line, 1));
	ldev = dmx_dev_of(self->fd, lower);
	snprintf(params, sizeof(params), "%u:%u 0", dmx_dev_major(ldev),
		 dmx_dev_minor(ldev));
	ASSERT_EQ(0, dmx_create_table(self->fd, dmx_name(upper, "up"), &line, 1));
	ASSERT_EQ(0, dmx_suspend(self->fd, lower));

	io = (struct dmx_io_arg){ dmx_dev_of(self->fd, upper), 0, 4096, false };
	ASSERT_EQ(0, dmx_bg_start(&reader, read_upper, &io));
	/* The read reaches the upper device and stays in flight there. */
	for (i = 0; i < DMX_FINISH_MS / 10; i++) {
		ASSERT_EQ(0, read_stat(self->fd, upper, &st));
		if (st.in_flight)
			break;
		dmx_bg_wait(&reader, 10);
	}
	EXPECT_EQ(1, st.in_flight);
	EXPECT_FALSE(reader.done);

	ASSERT_EQ(0, dmx_resume(self->fd, lower));
	ASSERT_TRUE(dmx_bg_wait(&reader, DMX_FINISH_MS));
	EXPECT_EQ(4096, reader.result);
	ASSERT_EQ(0, read_stat(self->fd, upper, &st));
	EXPECT_EQ(0, st.in_flight);
}

/* --- nowait ------------------------------------------------------------------ */

/* One RWF_NOWAIT O_DIRECT read of 4 KiB: bytes read or -errno. */
static long nowait_read(int ctl, const char *name)
{
	struct iovec iov;
	void *buf;
	long r;
	int fd;

	fd = dmx_open_name(ctl, name, O_RDONLY | O_DIRECT);
	if (fd < 0)
		return fd;
	if (posix_memalign(&buf, 4096, 4096))
		return -ENOMEM;
	iov.iov_base = buf;
	iov.iov_len = 4096;
	r = preadv2(fd, &iov, 1, 0, RWF_NOWAIT);
	if (r < 0)
		r = -errno;
	free(buf);
	dmx_close_dev(fd);
	return r;
}

/* linear over brd: both take REQ_NOWAIT, so the device does. */
TEST_F(stats, nowait_read_on_nowait_capable_stack_is_served)
{
	char name[DM_NAME_LEN];

	ASSERT_EQ(0, create_on_ram(self->fd, name, "nowait", 2048));
	EXPECT_EQ(4096, nowait_read(self->fd, name));
}

/* A suspended device holds bios; one that may not wait is refused. */
TEST_F(stats, nowait_read_on_suspended_device_is_eagain)
{
	char name[DM_NAME_LEN];

	ASSERT_EQ(0, create_on_ram(self->fd, name, "nowait", 2048));
	ASSERT_EQ(0, dmx_suspend(self->fd, name));
	EXPECT_EQ(-EAGAIN, nowait_read(self->fd, name));
	ASSERT_EQ(0, dmx_resume(self->fd, name));
}

/* --- zoned devices ------------------------------------------------------------ */

TEST_F(stats, load_refuses_zoned_device)
{
	char name[DM_NAME_LEN], params[64];
	struct dmx_line line = { 0, 2048, "linear", params };
	struct stat sb;

	if (dmx_is_stock())
		SKIP(return, "the stock linear target maps zoned devices");
	if (access("/sys/module/null_blk", F_OK) == 0 &&
	    system("rmmod null_blk >/dev/null 2>&1"))
		SKIP(return, "null_blk is in use");
	if (system("modprobe null_blk nr_devices=1 zoned=1 zone_size=4 >/dev/null 2>&1") ||
	    stat("/dev/nullb0", &sb))
		SKIP(return, "no zoned null_blk");
	snprintf(params, sizeof(params), "%u:%u 0", major(sb.st_rdev),
		 minor(sb.st_rdev));
	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "zoned")));
	EXPECT_EQ(-EINVAL, dmx_load(self->fd, name, &line, 1));
	dmx_cleanup(self->fd);
	EXPECT_EQ(0, system("rmmod null_blk"));
}

TEST_HARNESS_MAIN
