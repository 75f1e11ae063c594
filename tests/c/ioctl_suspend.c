// SPDX-License-Identifier: GPL-2.0
/*
 * DEV_SUSPEND of the dm ioctl v4 interface: suspend and resume flags,
 * I/O held while suspended and released on resume, suspend waiting for
 * I/O in flight, and removal of suspended devices.
 *
 * I/O in flight is made by stacking: an upper device maps onto a lower
 * one that is suspended, so a read through the upper device is in
 * flight there (passed down, not completed) for as long as the lower
 * one stays suspended.
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"
#include "dmx_test.h"

FIXTURE(susp) {
	int fd;
};

FIXTURE_SETUP(susp)
{
	self->fd = dmx_open_control();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", DMX_CONTROL_PATH,
				      strerror(errno));
}

FIXTURE_TEARDOWN(susp)
{
	dmx_cleanup(self->fd);
	close(self->fd);
}

/* Starts an O_DIRECT transfer of len bytes at 0 on dev in a child. */
static int start_io(struct dmx_bg *bg, struct dmx_io_arg *a, uint64_t dev,
		    bool write)
{
	*a = (struct dmx_io_arg){ dev, 0, 4096, write };
	return dmx_bg_start(bg, dmx_direct_io, a);
}

/* Makes lower (zero) and upper (linear onto lower), both 2048 sectors. */
static int make_stack(int fd, char *lower, char *upper)
{
	char params[64];
	struct dmx_line line = { 0, 2048, "linear", params };
	uint64_t dev;
	int ret;

	ret = dmx_create_zero(fd, dmx_name(lower, "lower"), 2048);
	if (ret)
		return ret;
	dev = dmx_dev_of(fd, lower);
	snprintf(params, sizeof(params), "%u:%u 0", dmx_dev_major(dev),
		 dmx_dev_minor(dev));
	return dmx_create_table(fd, dmx_name(upper, "upper"), &line, 1);
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

TEST_F(susp, suspend_with_noflush_and_skip_lockfs)
{
	char name[DM_NAME_LEN];
	struct dm_ioctl io;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "flags"), 64));
	ASSERT_EQ(0, dmx_suspend_flags(self->fd, name, DM_SUSPEND_FLAG |
				       DM_NOFLUSH_FLAG | DM_SKIP_LOCKFS_FLAG,
				       &io));
	EXPECT_TRUE(io.flags & DM_SUSPEND_FLAG);
	ASSERT_EQ(0, dmx_suspend_flags(self->fd, name, DM_NOFLUSH_FLAG |
				       DM_SKIP_LOCKFS_FLAG, &io));
	EXPECT_FALSE(io.flags & DM_SUSPEND_FLAG);
}

TEST_F(susp, suspended_device_holds_reads)
{
	char name[DM_NAME_LEN];
	struct dmx_io_arg a;
	struct dmx_bg bg;
	struct dm_ioctl io;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "hold"), 2048));
	ASSERT_EQ(0, dmx_suspend(self->fd, name));
	ASSERT_EQ(0, start_io(&bg, &a, dmx_dev_of(self->fd, name), false));
	EXPECT_FALSE(dmx_bg_wait(&bg, DMX_BLOCKED_MS))
		TH_LOG("read completed on a suspended device: %ld", bg.result);
	ASSERT_EQ(0, dmx_status(self->fd, name, &io));
	EXPECT_TRUE(io.flags & DM_SUSPEND_FLAG);

	ASSERT_EQ(0, dmx_resume(self->fd, name));
	ASSERT_TRUE(dmx_bg_wait(&bg, DMX_FINISH_MS))
		TH_LOG("read still blocked after resume");
	EXPECT_EQ(4096, bg.result);
}

TEST_F(susp, suspended_device_holds_writes)
{
	char name[DM_NAME_LEN];
	struct dmx_io_arg a;
	struct dmx_bg bg;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "hold"), 2048));
	ASSERT_EQ(0, dmx_suspend(self->fd, name));
	ASSERT_EQ(0, start_io(&bg, &a, dmx_dev_of(self->fd, name), true));
	EXPECT_FALSE(dmx_bg_wait(&bg, DMX_BLOCKED_MS))
		TH_LOG("write completed on a suspended device: %ld", bg.result);
	ASSERT_EQ(0, dmx_resume(self->fd, name));
	ASSERT_TRUE(dmx_bg_wait(&bg, DMX_FINISH_MS))
		TH_LOG("write still blocked after resume");
	EXPECT_EQ(4096, bg.result);
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
	ASSERT_EQ(0, start_io(&bg, &a, dmx_dev_of(self->fd, name), false));
	EXPECT_FALSE(dmx_bg_wait(&bg, DMX_BLOCKED_MS));
	ASSERT_EQ(0, dmx_load(self->fd, name, &error, 1));
	ASSERT_EQ(0, dmx_resume(self->fd, name));
	ASSERT_TRUE(dmx_bg_wait(&bg, DMX_FINISH_MS));
	EXPECT_EQ(-EIO, bg.result);
}

struct suspend_arg {
	int ctl;
	const char *name;
};

static long suspend_in_child(void *p)
{
	struct suspend_arg *a = p;

	return dmx_suspend(a->ctl, a->name);
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
	struct suspend_arg sa;
	struct dmx_io_arg a;
	struct dm_ioctl io;

	ASSERT_EQ(0, make_stack(self->fd, lower, upper));
	ASSERT_EQ(0, dmx_suspend(self->fd, lower));
	ASSERT_EQ(0, start_io(&reader, &a, dmx_dev_of(self->fd, upper), false));
	ASSERT_FALSE(dmx_bg_wait(&reader, DMX_BLOCKED_MS));

	sa = (struct suspend_arg){ self->fd, upper };
	ASSERT_EQ(0, dmx_bg_start(&suspender, suspend_in_child, &sa));
	EXPECT_FALSE(dmx_bg_wait(&suspender, DMX_BLOCKED_MS))
		TH_LOG("suspend returned with I/O in flight: %ld",
		       suspender.result);

	ASSERT_EQ(0, dmx_resume(self->fd, lower));
	ASSERT_TRUE(dmx_bg_wait(&suspender, DMX_FINISH_MS));
	EXPECT_EQ(0, suspender.result);
	ASSERT_TRUE(dmx_bg_wait(&reader, DMX_FINISH_MS));
	EXPECT_EQ(4096, reader.result);
	ASSERT_EQ(0, dmx_status(self->fd, upper, &io));
	EXPECT_TRUE(io.flags & DM_SUSPEND_FLAG);
}

/* With nothing in flight, a stacked device suspends at once. */
TEST_F(susp, suspend_without_io_does_not_wait)
{
	char lower[DM_NAME_LEN], upper[DM_NAME_LEN];
	struct suspend_arg sa;
	struct dmx_bg bg;

	ASSERT_EQ(0, make_stack(self->fd, lower, upper));
	ASSERT_EQ(0, dmx_suspend(self->fd, lower));
	sa = (struct suspend_arg){ self->fd, upper };
	ASSERT_EQ(0, dmx_bg_start(&bg, suspend_in_child, &sa));
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

static long remove_in_child(void *p)
{
	struct suspend_arg *a = p;

	return dmx_remove(a->ctl, a->name);
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
	struct suspend_arg sa;
	struct dmx_io_arg a;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "rm"), 2048));
	ASSERT_EQ(0, dmx_suspend(self->fd, name));
	ASSERT_EQ(0, start_io(&reader, &a, dmx_dev_of(self->fd, name), false));
	ASSERT_FALSE(dmx_bg_wait(&reader, DMX_BLOCKED_MS));

	sa = (struct suspend_arg){ self->fd, name };
	ASSERT_EQ(0, dmx_bg_start(&remover, remove_in_child, &sa));
	ASSERT_TRUE(dmx_bg_wait(&remover, DMX_FINISH_MS))
		TH_LOG("remove of a suspended device with held I/O hangs");
	EXPECT_EQ(-EBUSY, remover.result);

	ASSERT_EQ(0, dmx_resume(self->fd, name));
	ASSERT_TRUE(dmx_bg_wait(&reader, DMX_FINISH_MS));
	EXPECT_EQ(4096, reader.result);
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
	struct suspend_arg sa;
	struct dmx_io_arg a;

	ASSERT_EQ(0, make_stack(self->fd, lower, upper));
	ASSERT_EQ(0, dmx_suspend(self->fd, lower));
	ASSERT_EQ(0, start_io(&reader, &a, dmx_dev_of(self->fd, upper), false));
	ASSERT_FALSE(dmx_bg_wait(&reader, DMX_BLOCKED_MS));

	sa = (struct suspend_arg){ self->fd, lower };
	ASSERT_EQ(0, dmx_bg_start(&remover, remove_in_child, &sa));
	ASSERT_TRUE(dmx_bg_wait(&remover, DMX_FINISH_MS));
	EXPECT_EQ(-EBUSY, remover.result);

	ASSERT_EQ(0, dmx_resume(self->fd, lower));
	ASSERT_TRUE(dmx_bg_wait(&reader, DMX_FINISH_MS));
	EXPECT_EQ(4096, reader.result);
}

TEST_HARNESS_MAIN
