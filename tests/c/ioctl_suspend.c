// SPDX-License-Identifier: GPL-2.0
/*
 * DEV_SUSPEND of the dm ioctl v4 interface: suspend and resume flags,
 * I/O held while suspended and released on resume, suspend waiting for
 * I/O in flight, removal of suspended devices, and what lockfs,
 * DM_SKIP_LOCKFS_FLAG and DM_NOFLUSH_FLAG do to a mounted filesystem.
 *
 * I/O in flight is made by stacking: an upper device maps onto a lower
 * one that is suspended, so a read through the upper device is in
 * flight there (passed down, not completed) for as long as the lower
 * one stays suspended.  That a child's I/O is held is seen from the
 * child sleeping in D state with its result not in yet (dmx_bg_in_io),
 * and from the device below: a held write is not there before resume,
 * a held read returns what is there at resume.
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"
#include "dmx_test.h"

#define IO_LEN	4096

FIXTURE(susp) {
	int fd;
};

DMX_SETUP_AND_TEARDOWN(susp)

/* Starts an O_DIRECT transfer of IO_LEN bytes at 0 on dev in a child. */
static int start_io(struct dmx_bg *bg, struct dmx_io_arg *a, uint64_t dev,
		    bool write, void *buf)
{
	*a = (struct dmx_io_arg){ dev, 0, IO_LEN, write, buf };
	return dmx_bg_start(bg, dmx_direct_io, a);
}

/* name: linear over the first len sectors of ram0. */
static int create_on_ram0(int fd, char *name, uint64_t len)
{
	char ram0[32], params[64];
	struct dmx_line line = { 0, len, "linear", params };
	int ret = dmx_ram(0, ram0, sizeof(ram0));

	if (ret)
		return ret;
	snprintf(params, sizeof(params), "%s 0", ram0);
	return dmx_create_table(fd, dmx_name(name, "ram"), &line, 1);
}

TEST_F(susp, suspend_sets_flag_and_resume_clears_it)
{
	char name[DM_NAME_LEN];
	struct dm_ioctl io;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "flag"), 64));
	ASSERT_EQ(0, dmx_suspend_flags(self->fd, name, DM_SUSPEND_FLAG, &io));
	EXPECT_TRUE(io.flags & DM_SUSPEND_FLAG);
	EXPECT_STREQ(name, io.name);
	/* Again: already suspended, still fine. */
	ASSERT_EQ(0, dmx_suspend_flags(self->fd, name, DM_SUSPEND_FLAG, &io));
	EXPECT_TRUE(io.flags & DM_SUSPEND_FLAG);

	ASSERT_EQ(0, dmx_suspend_flags(self->fd, name, 0, &io));
	EXPECT_FALSE(io.flags & DM_SUSPEND_FLAG);
	/* Resuming a running device is fine too. */
	ASSERT_EQ(0, dmx_suspend_flags(self->fd, name, 0, &io));
	EXPECT_FALSE(io.flags & DM_SUSPEND_FLAG);
}

/*
 * A device without a table can be suspended, but resuming it needs a
 * table: without one, resume is EINVAL and the device stays suspended
 * until a table is loaded and resumed.
 */
TEST_F(susp, resume_needs_a_table)
{
	struct dmx_line zero = { 0, 64, "zero", "" };
	char name[DM_NAME_LEN];
	struct dm_ioctl io;

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "notable")));
	/* Never suspended: resuming is a no-op. */
	ASSERT_EQ(0, dmx_resume(self->fd, name));
	ASSERT_EQ(0, dmx_suspend_flags(self->fd, name, DM_SUSPEND_FLAG, &io));
	EXPECT_TRUE(io.flags & DM_SUSPEND_FLAG);
	EXPECT_FALSE(io.flags & DM_ACTIVE_PRESENT_FLAG);
	EXPECT_EQ(-EINVAL, dmx_resume(self->fd, name));
	ASSERT_EQ(0, dmx_status(self->fd, name, &io));
	EXPECT_TRUE(io.flags & DM_SUSPEND_FLAG);

	ASSERT_EQ(0, dmx_load(self->fd, name, &zero, 1));
	ASSERT_EQ(0, dmx_suspend_flags(self->fd, name, 0, &io));
	EXPECT_FALSE(io.flags & DM_SUSPEND_FLAG);
	EXPECT_TRUE(io.flags & DM_ACTIVE_PRESENT_FLAG);
}

TEST_F(susp, suspend_unknown_device_is_enxio)
{
	EXPECT_EQ(-ENXIO, dmx_suspend(self->fd, "dmxt-no-such-device"));
	EXPECT_EQ(-ENXIO, dmx_resume(self->fd, "dmxt-no-such-device"));
}

/*
 * ram0 holding 'o' bytes, name (linear over it) suspended, and a
 * child's O_DIRECT read of it, or write of 'n' bytes, started; the
 * buffer it reads to or writes from (shared with the test), or NULL.
 */
static void *start_held_io(int fd, char *name, struct dmx_bg *bg,
			   struct dmx_io_arg *a, bool write)
{
	void *buf = dmx_shared(IO_LEN);

	if (!buf || dmx_fill(dmx_ram_dev(0), 0, IO_LEN, 'o') ||
	    create_on_ram0(fd, name, 2048) || dmx_suspend(fd, name))
		return NULL;
	memset(buf, write ? 'n' : 'x', IO_LEN);
	if (start_io(bg, a, dmx_dev_of(fd, name), write, buf))
		return NULL;
	return buf;
}

/*
 * A read of a suspended device waits, and is served only after resume:
 * data written below while it waits is what it returns.
 */
TEST_F(susp, suspended_device_holds_reads)
{
	char name[DM_NAME_LEN];
	struct dmx_io_arg a;
	struct dmx_bg bg;
	void *buf;

	if (dmx_ramdisks())
		SKIP(return, "brd ramdisks unavailable");
	buf = start_held_io(self->fd, name, &bg, &a, false);
	ASSERT_TRUE(buf != NULL);
	ASSERT_TRUE(dmx_bg_in_io(&bg))
		TH_LOG("read of a suspended device was not held: %ld", bg.result);

	ASSERT_EQ(0, dmx_fill(dmx_ram_dev(0), 0, IO_LEN, 'n'));
	ASSERT_EQ(0, dmx_resume(self->fd, name));
	ASSERT_TRUE(dmx_bg_wait(&bg, DMX_FINISH_MS))
		TH_LOG("read still blocked after resume");
	EXPECT_EQ(IO_LEN, bg.result);
	EXPECT_EQ('n', dmx_uniform(buf, IO_LEN))
		TH_LOG("the held read was served before the resume");
}

/*
 * A write to a suspended device waits, and reaches the device below
 * only after resume.
 */
TEST_F(susp, suspended_device_holds_writes)
{
	char name[DM_NAME_LEN];
	struct dmx_io_arg a;
	struct dmx_bg bg;
	uint64_t ram;

	if (dmx_ramdisks())
		SKIP(return, "brd ramdisks unavailable");
	ram = dmx_ram_dev(0);
	ASSERT_TRUE(start_held_io(self->fd, name, &bg, &a, true) != NULL);
	ASSERT_TRUE(dmx_bg_in_io(&bg))
		TH_LOG("write to a suspended device was not held: %ld", bg.result);
	EXPECT_EQ('o', dmx_holds(ram, 0, IO_LEN))
		TH_LOG("the held write reached the device below before resume");

	ASSERT_EQ(0, dmx_resume(self->fd, name));
	ASSERT_TRUE(dmx_bg_wait(&bg, DMX_FINISH_MS))
		TH_LOG("write still blocked after resume");
	EXPECT_EQ(IO_LEN, bg.result);
	EXPECT_EQ('n', dmx_holds(ram, 0, IO_LEN));
}

/* Held I/O goes to the table swapped in by the resume that releases it. */
TEST_F(susp, held_io_goes_to_new_table_on_resume)
{
	struct dmx_line error = { 0, 2048, "error", "" };
	char name[DM_NAME_LEN];
	struct dmx_io_arg a;
	struct dmx_bg bg;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "swap"), 2048));
	ASSERT_EQ(0, dmx_suspend(self->fd, name));
	ASSERT_EQ(0, start_io(&bg, &a, dmx_dev_of(self->fd, name), false, NULL));
	ASSERT_TRUE(dmx_bg_in_io(&bg));
	ASSERT_EQ(0, dmx_load(self->fd, name, &error, 1));
	ASSERT_EQ(0, dmx_resume(self->fd, name));
	ASSERT_TRUE(dmx_bg_wait(&bg, DMX_FINISH_MS));
	EXPECT_EQ(-EIO, bg.result);
}

/*
 * Suspend returns only once the I/O in flight has completed: with a
 * read in flight through upper (held in the suspended lower device),
 * suspending upper blocks until lower is resumed.
 */
TEST_F(susp, suspend_waits_for_in_flight_io)
{
	char lower[DM_NAME_LEN], upper[DM_NAME_LEN];
	struct dmx_bg reader, suspender;
	struct dmx_cmd_arg sa;
	struct dmx_io_arg a;
	struct dm_ioctl io;

	ASSERT_EQ(0, dmx_create_stack(self->fd, lower, upper, 2048));
	ASSERT_EQ(0, dmx_suspend(self->fd, lower));
	ASSERT_EQ(0, start_io(&reader, &a, dmx_dev_of(self->fd, upper), false,
			      NULL));
	ASSERT_TRUE(dmx_bg_in_io(&reader));

	sa = (struct dmx_cmd_arg){ self->fd, upper };
	ASSERT_EQ(0, dmx_bg_start(&suspender, dmx_suspend_in_child, &sa));
	EXPECT_TRUE(dmx_bg_blocked(&suspender))
		TH_LOG("suspend returned with I/O in flight: %ld",
		       suspender.result);

	ASSERT_EQ(0, dmx_resume(self->fd, lower));
	ASSERT_TRUE(dmx_bg_wait(&suspender, DMX_FINISH_MS));
	EXPECT_EQ(0, suspender.result);
	ASSERT_TRUE(dmx_bg_wait(&reader, DMX_FINISH_MS));
	EXPECT_EQ(IO_LEN, reader.result);
	ASSERT_EQ(0, dmx_status(self->fd, upper, &io));
	EXPECT_TRUE(io.flags & DM_SUSPEND_FLAG);
}

/* With nothing in flight, a stacked device suspends at once. */
TEST_F(susp, suspend_without_io_does_not_wait)
{
	char lower[DM_NAME_LEN], upper[DM_NAME_LEN];
	struct dmx_cmd_arg sa;
	struct dmx_bg bg;

	ASSERT_EQ(0, dmx_create_stack(self->fd, lower, upper, 2048));
	ASSERT_EQ(0, dmx_suspend(self->fd, lower));
	sa = (struct dmx_cmd_arg){ self->fd, upper };
	ASSERT_EQ(0, dmx_bg_start(&bg, dmx_suspend_in_child, &sa));
	ASSERT_TRUE(dmx_bg_wait(&bg, DMX_FINISH_MS));
	EXPECT_EQ(0, bg.result);
}

TEST_F(susp, remove_suspended_device)
{
	char name[DM_NAME_LEN];

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "rm"), 64));
	ASSERT_EQ(0, dmx_suspend(self->fd, name));
	EXPECT_EQ(0, dmx_remove(self->fd, name));
	EXPECT_EQ(-ENXIO, dmx_status(self->fd, name, NULL));
}

/*
 * A suspended device holding I/O is still open (by whoever issued the
 * I/O), so removing it is EBUSY, at once, and the I/O completes on
 * resume.  (A suspended device holding I/O while nobody has it open
 * cannot be arranged from user space: the issuer's open lasts until
 * its I/O completes.)
 */
TEST_F(susp, remove_suspended_device_with_held_io_is_ebusy)
{
	char name[DM_NAME_LEN];
	struct dmx_bg reader, remover;
	struct dmx_cmd_arg sa;
	struct dmx_io_arg a;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "rm"), 2048));
	ASSERT_EQ(0, dmx_suspend(self->fd, name));
	ASSERT_EQ(0, start_io(&reader, &a, dmx_dev_of(self->fd, name), false,
			      NULL));
	ASSERT_TRUE(dmx_bg_in_io(&reader));

	sa = (struct dmx_cmd_arg){ self->fd, name };
	ASSERT_EQ(0, dmx_bg_start(&remover, dmx_remove_in_child, &sa));
	ASSERT_TRUE(dmx_bg_wait(&remover, DMX_FINISH_MS))
		TH_LOG("remove of a suspended device with held I/O hangs");
	EXPECT_EQ(-EBUSY, remover.result);

	ASSERT_EQ(0, dmx_resume(self->fd, name));
	ASSERT_TRUE(dmx_bg_wait(&reader, DMX_FINISH_MS));
	EXPECT_EQ(IO_LEN, reader.result);
	EXPECT_EQ(0, dmx_remove(self->fd, name));
}

/*
 * The lower device of a stack is held open by the upper one: with I/O
 * held in it, removing it is EBUSY at once too.
 */
TEST_F(susp, remove_lower_device_with_held_io_is_ebusy)
{
	char lower[DM_NAME_LEN], upper[DM_NAME_LEN];
	struct dmx_bg reader, remover;
	struct dmx_cmd_arg sa;
	struct dmx_io_arg a;

	ASSERT_EQ(0, dmx_create_stack(self->fd, lower, upper, 2048));
	ASSERT_EQ(0, dmx_suspend(self->fd, lower));
	ASSERT_EQ(0, start_io(&reader, &a, dmx_dev_of(self->fd, upper), false,
			      NULL));
	ASSERT_TRUE(dmx_bg_in_io(&reader));

	sa = (struct dmx_cmd_arg){ self->fd, lower };
	ASSERT_EQ(0, dmx_bg_start(&remover, dmx_remove_in_child, &sa));
	ASSERT_TRUE(dmx_bg_wait(&remover, DMX_FINISH_MS));
	EXPECT_EQ(-EBUSY, remover.result);

	ASSERT_EQ(0, dmx_resume(self->fd, lower));
	ASSERT_TRUE(dmx_bg_wait(&reader, DMX_FINISH_MS));
	EXPECT_EQ(IO_LEN, reader.result);
}

/* --- suspend and a mounted filesystem --------------------------------------- */

/*
 * The suspend flags besides DM_SUSPEND_FLAG, and whether a suspend with
 * them freezes the filesystem on the device.  As in the stock dm, a
 * suspend locks the filesystem unless told to skip that, and a noflush
 * suspend never does.
 */
FIXTURE_VARIANT(mounted) {
	unsigned int flags;
	bool freezes;
};

FIXTURE(mounted) {
	int fd;
};

DMX_SETUP_AND_TEARDOWN(mounted)

FIXTURE_VARIANT_ADD(mounted, lockfs) {
	.flags = 0,
	.freezes = true,
};

FIXTURE_VARIANT_ADD(mounted, skip_lockfs) {
	.flags = DM_SKIP_LOCKFS_FLAG,
	.freezes = false,
};

FIXTURE_VARIANT_ADD(mounted, noflush) {
	.flags = DM_NOFLUSH_FLAG,
	.freezes = false,
};

FIXTURE_VARIANT_ADD(mounted, noflush_skip_lockfs) {
	.flags = DM_NOFLUSH_FLAG | DM_SKIP_LOCKFS_FLAG,
	.freezes = false,
};

#define FS_SECTORS	32768	/* 16 MiB */

/* ext4 is in the kernel, or its module loads. */
static bool ext4_available(void)
{
	char line[64];
	bool found = false;
	FILE *f;
	int tries;

	for (tries = 0; tries < 2 && !found; tries++) {
		if (tries && system("modprobe ext4 >/dev/null 2>&1"))
			break;
		f = fopen("/proc/filesystems", "r");
		if (!f)
			return false;
		while (!found && fgets(line, sizeof(line), f))
			found = !strcmp(line, "\text4\n");
		fclose(f);
	}
	return found;
}

/*
 * A fresh ext4 on the device.  Its inode tables and journal are
 * initialised by mkfs, so that no lazy-init thread of the kernel's
 * writes to the device (and waits, holding a journal handle) while
 * it is suspended.
 */
static int mkfs_ext4(uint64_t dev)
{
	char node[DMX_PATH_LEN], cmd[160];
	int ret = dmx_make_node(dev, node);

	if (ret)
		return ret;
	snprintf(cmd, sizeof(cmd),
		 "mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 %s >/dev/null 2>&1",
		 node);
	ret = system(cmd) ? -EIO : 0;
	unlink(node);
	return ret;
}

/* path holds text, durably. */
static int put_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
	    fsync(fd))
		ret = -EIO;
	close(fd);
	return ret;
}

#define OLD_TEXT	"written before the suspend"
#define NEW_TEXT	"written while suspended...."

/* One buffered write over the file's old text: bytes written or -errno. */
static long overwrite_file(void *path)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	long ret;

	if (fd < 0)
		return -errno;
	ret = pwrite(fd, NEW_TEXT, strlen(NEW_TEXT), 0);
	if (ret < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static bool file_holds(const char *path, const char *text)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n == (ssize_t)strlen(text) && !memcmp(buf, text, n);
}

/*
 * With lockfs, a write(2) to a filesystem on a suspended device waits
 * for the resume (the filesystem is frozen); with DM_SKIP_LOCKFS_FLAG
 * or DM_NOFLUSH_FLAG it goes to the page cache while the device is
 * still suspended.  Either way it is there after the resume.
 */
TEST_F(mounted, suspend_freezes_filesystem_unless_noflush_or_skip_lockfs)
{
	char name[DM_NAME_LEN], dir[DMX_PATH_LEN], path[DMX_PATH_LEN + 8];
	long len = strlen(NEW_TEXT);
	struct dmx_bg writer;
	struct dm_ioctl io;
	uint64_t dev;

	if (dmx_ramdisks())
		SKIP(return, "brd ramdisks unavailable");
	if (!ext4_available())
		SKIP(return, "no ext4 in this kernel");
	ASSERT_EQ(0, create_on_ram0(self->fd, name, FS_SECTORS));
	dev = dmx_dev_of(self->fd, name);
	ASSERT_EQ(0, mkfs_ext4(dev));
	ASSERT_EQ(0, dmx_mount(dev, "ext4", dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	ASSERT_EQ(0, put_file(path, OLD_TEXT));

	ASSERT_EQ(0, dmx_suspend_flags(self->fd, name,
				       DM_SUSPEND_FLAG | variant->flags, &io));
	EXPECT_TRUE(io.flags & DM_SUSPEND_FLAG);
	ASSERT_EQ(0, dmx_bg_start(&writer, overwrite_file, path));
	if (variant->freezes) {
		ASSERT_TRUE(dmx_bg_blocked(&writer))
			TH_LOG("a write went through while frozen: %ld",
			       writer.result);
	} else {
		ASSERT_TRUE(dmx_bg_wait(&writer, DMX_FINISH_MS))
			TH_LOG("the filesystem is frozen");
		EXPECT_EQ(len, writer.result);
		ASSERT_EQ(0, dmx_status(self->fd, name, &io));
		EXPECT_TRUE(io.flags & DM_SUSPEND_FLAG);
	}

	ASSERT_EQ(0, dmx_resume(self->fd, name));
	ASSERT_TRUE(dmx_bg_wait(&writer, DMX_FINISH_MS))
		TH_LOG("the write still waits after resume");
	EXPECT_EQ(len, writer.result);
	EXPECT_TRUE(file_holds(path, NEW_TEXT));
}

TEST_HARNESS_MAIN
