// SPDX-License-Identifier: GPL-2.0
/*
 * Events of the dm ioctl v4 interface: per-device event numbers,
 * DEV_WAIT, and DEV_ARM_POLL with poll() on the control device.
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"
#include "dmx_test.h"

FIXTURE(ev) {
	int fd;
};

DMX_SETUP_AND_TEARDOWN(ev)

static uint32_t event_nr(int fd, const char *name)
{
	struct dm_ioctl io;

	if (dmx_status(fd, name, &io))
		return (uint32_t)-1;
	return io.event_nr;
}

/* --- event numbers --------------------------------------------------------- */

/* Renaming a device with a live table raises an event on it. */
TEST_F(ev, rename_bumps_event_nr)
{
	char a[DM_NAME_LEN], b[DM_NAME_LEN];
	struct dm_ioctl io;
	uint32_t before;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(a, "ev"), 64));
	before = event_nr(self->fd, a);
	ASSERT_EQ(0, dmx_rename_flags(self->fd, a, dmx_name(b, "ev2"), 0, &io));
	EXPECT_EQ(before + 1, io.event_nr);
	EXPECT_EQ(before + 1, event_nr(self->fd, b));
	ASSERT_EQ(0, dmx_rename_flags(self->fd, b, "dmxt-ev-uuid", DM_UUID_FLAG,
				      &io));
	EXPECT_EQ(before + 2, io.event_nr);
}

/* Loading, clearing, suspending and resuming without a swap raise none. */
TEST_F(ev, load_and_suspend_do_not_bump_event_nr)
{
	struct dmx_line zero = { 0, 64, "zero", "" };
	char name[DM_NAME_LEN];
	struct dmx_req r;
	uint32_t before;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "ev"), 64));
	before = event_nr(self->fd, name);
	ASSERT_EQ(0, dmx_load(self->fd, name, &zero, 1));
	EXPECT_EQ(before, event_nr(self->fd, name));
	dmx_req_init(&r, name);
	ASSERT_EQ(0, dmx_call(self->fd, DM_TABLE_CLEAR, &r));
	ASSERT_EQ(0, dmx_suspend(self->fd, name));
	ASSERT_EQ(0, dmx_resume(self->fd, name));
	EXPECT_EQ(before, event_nr(self->fd, name));
}

/*
 * dmx raises a device event on every table swap (the issue asks for
 * it, so waiters see every new table).  Stock dm-mod does not: there
 * the number only moves on target events and renames.
 */
TEST_F(ev, table_swap_bumps_event_nr)
{
	struct dmx_line zero = { 0, 128, "zero", "" };
	char name[DM_NAME_LEN];
	uint32_t before;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "ev"), 64));
	before = event_nr(self->fd, name);
	ASSERT_EQ(0, dmx_load(self->fd, name, &zero, 1));
	ASSERT_EQ(0, dmx_resume(self->fd, name));
	EXPECT_EQ(dmx_is_stock() ? before : before + 1,
		  event_nr(self->fd, name));
}

/* --- DEV_WAIT ------------------------------------------------------------ */

struct wait_arg {
	int ctl;
	const char *name;
	uint32_t event_nr;
	unsigned int flags;
	bool handle_sigusr1;
};

static void on_sigusr1(int sig)
{
	(void)sig;
}

/* DEV_WAIT in a child: the reply's event number, or -errno. */
static long dev_wait(void *p)
{
	struct wait_arg *a = p;
	struct dmx_req r;
	int ret;

	if (a->handle_sigusr1) {
		struct sigaction sa = { .sa_handler = on_sigusr1 };

		sigaction(SIGUSR1, &sa, NULL);	/* no SA_RESTART */
	}
	dmx_req_init(&r, a->name);
	r.io.event_nr = a->event_nr;
	r.io.flags = a->flags;
	ret = dmx_call(a->ctl, DM_DEV_WAIT, &r);
	return ret ? ret : (long)r.io.event_nr;
}

TEST_F(ev, dev_wait_returns_at_once_if_event_nr_differs)
{
	char name[DM_NAME_LEN];
	struct wait_arg wa;
	struct dmx_bg bg;
	uint32_t now;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "wait"), 64));
	now = event_nr(self->fd, name);
	wa = (struct wait_arg){ self->fd, name, now + 5, 0, false };
	ASSERT_EQ(0, dmx_bg_start(&bg, dev_wait, &wa));
	ASSERT_TRUE(dmx_bg_wait(&bg, DMX_FINISH_MS))
		TH_LOG("DEV_WAIT for a stale event number blocked");
	EXPECT_EQ(now, bg.result);
}

TEST_F(ev, dev_wait_blocks_until_event)
{
	char a[DM_NAME_LEN], b[DM_NAME_LEN];
	struct wait_arg wa;
	struct dmx_bg bg;
	uint32_t now;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(a, "wait"), 64));
	now = event_nr(self->fd, a);
	wa = (struct wait_arg){ self->fd, a, now, 0, false };
	ASSERT_EQ(0, dmx_bg_start(&bg, dev_wait, &wa));
	ASSERT_TRUE(dmx_bg_blocked(&bg))
		TH_LOG("DEV_WAIT did not wait: %ld", bg.result);

	ASSERT_EQ(0, dmx_rename(self->fd, a, dmx_name(b, "wait2")));
	ASSERT_TRUE(dmx_bg_wait(&bg, DMX_FINISH_MS))
		TH_LOG("DEV_WAIT not woken by the rename");
	EXPECT_EQ(now + 1, bg.result);
}

/* The reply carries the device's table status, like TABLE_STATUS. */
TEST_F(ev, dev_wait_reply_carries_table_status)
{
	static const struct dmx_line lines[] = {
		{ 0, 64, "zero", "" },
		{ 64, 64, "error", "" },
	};
	char name[DM_NAME_LEN];
	struct dm_target_spec *spec;
	struct dmx_req r;

	ASSERT_EQ(0, dmx_create_table(self->fd, dmx_name(name, "wait"),
				      lines, 2));
	dmx_req_init(&r, name);
	r.io.event_nr = event_nr(self->fd, name) + 1;
	r.io.flags = DM_STATUS_TABLE_FLAG;
	ASSERT_EQ(0, dmx_call(self->fd, DM_DEV_WAIT, &r));
	EXPECT_TRUE(r.io.flags & DM_ACTIVE_PRESENT_FLAG);
	ASSERT_EQ(2, r.io.target_count);
	spec = dmx_reply_spec(&r, 1);
	ASSERT_TRUE(spec != NULL);
	EXPECT_EQ(64, spec->sector_start);
	EXPECT_STREQ("error", spec->target_type);
}

TEST_F(ev, dev_wait_unknown_device_is_enxio)
{
	struct dmx_req r;

	dmx_req_init(&r, "dmxt-no-such-device");
	EXPECT_EQ(-ENXIO, dmx_call(self->fd, DM_DEV_WAIT, &r));
}

/* A signal ends the wait with EINTR (the handler has no SA_RESTART). */
TEST_F(ev, dev_wait_is_interrupted_by_signal)
{
	char name[DM_NAME_LEN];
	struct wait_arg wa;
	struct dmx_bg bg;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "wait"), 64));
	wa = (struct wait_arg){ self->fd, name, event_nr(self->fd, name), 0,
				true };
	ASSERT_EQ(0, dmx_bg_start(&bg, dev_wait, &wa));
	/* Asleep in the wait, so its handler is in place. */
	ASSERT_TRUE(dmx_bg_blocked(&bg));
	kill(bg.pid, SIGUSR1);
	ASSERT_TRUE(dmx_bg_wait(&bg, DMX_FINISH_MS));
	EXPECT_EQ(-EINTR, bg.result);
}

/*
 * Removing a device with a live table raises a last event on it, which
 * ends a DEV_WAIT on it; the removal does not wait for ever on the
 * waiter's reference to the device.
 */
TEST_F(ev, remove_wakes_dev_wait)
{
	char name[DM_NAME_LEN];
	struct dmx_bg waiter, remover;
	struct dmx_cmd_arg ra;
	struct wait_arg wa;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "wait"), 64));
	wa = (struct wait_arg){ self->fd, name, event_nr(self->fd, name), 0,
				false };
	ASSERT_EQ(0, dmx_bg_start(&waiter, dev_wait, &wa));
	ASSERT_TRUE(dmx_bg_blocked(&waiter));

	ra = (struct dmx_cmd_arg){ self->fd, name };
	ASSERT_EQ(0, dmx_bg_start(&remover, dmx_remove_in_child, &ra));
	/* Well short of the hung-task watchdog, should it hang. */
	if (!dmx_bg_wait(&remover, 5000)) {
		/* Unstick it by ending the waiter, then fail. */
		kill(waiter.pid, SIGKILL);
		ASSERT_TRUE(remover.done)
			TH_LOG("DEV_REMOVE hangs while a DEV_WAIT waits on the device");
	}
	EXPECT_EQ(0, remover.result);
	dmx_untrack(name);
	EXPECT_TRUE(dmx_bg_wait(&waiter, DMX_FINISH_MS))
		TH_LOG("DEV_WAIT not woken by the removal");
	EXPECT_LE(0, waiter.result);
}

/* --- DEV_ARM_POLL and poll() ------------------------------------------- */

static short poll_now(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (poll(&pfd, 1, ms) <= 0)
		return 0;
	return pfd.revents;
}

static int arm_poll(int fd)
{
	struct dmx_req r;

	dmx_req_init(&r, NULL);
	return dmx_call(fd, DM_DEV_ARM_POLL, &r);
}

TEST_F(ev, fresh_control_fd_is_not_readable)
{
	int fd2 = dmx_open_control();

	ASSERT_LE(0, fd2);
	EXPECT_EQ(0, poll_now(fd2, 0));
	close(fd2);
}

TEST_F(ev, create_wakes_armed_poll)
{
	char name[DM_NAME_LEN];

	ASSERT_EQ(0, arm_poll(self->fd));
	EXPECT_EQ(0, poll_now(self->fd, 0));
	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "poll")));
	EXPECT_EQ(POLLIN, poll_now(self->fd, 0) & POLLIN);
	/* It stays readable until armed again. */
	EXPECT_EQ(POLLIN, poll_now(self->fd, 0) & POLLIN);
	ASSERT_EQ(0, arm_poll(self->fd));
	EXPECT_EQ(0, poll_now(self->fd, 0));
}

static long poll_in_child(void *p)
{
	int *fd = p;

	return poll_now(*fd, DMX_FINISH_MS);
}

TEST_F(ev, poll_sleeps_until_event)
{
	char name[DM_NAME_LEN];
	struct dmx_bg bg;

	ASSERT_EQ(0, arm_poll(self->fd));
	ASSERT_EQ(0, dmx_bg_start(&bg, poll_in_child, &self->fd));
	ASSERT_TRUE(dmx_bg_blocked(&bg))
		TH_LOG("poll returned without an event: %#lx", bg.result);
	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "poll")));
	ASSERT_TRUE(dmx_bg_wait(&bg, DMX_FINISH_MS));
	EXPECT_EQ(POLLIN, bg.result & POLLIN);
}

/* Each open of the control device has its own armed event count. */
TEST_F(ev, poll_state_is_per_open_file)
{
	char name[DM_NAME_LEN];
	int fd2 = dmx_open_control();

	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, arm_poll(self->fd));
	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "poll")));
	ASSERT_EQ(0, arm_poll(fd2));
	EXPECT_EQ(POLLIN, poll_now(self->fd, 0) & POLLIN);
	EXPECT_EQ(0, poll_now(fd2, 0));
	close(fd2);
}

TEST_F(ev, load_does_not_wake_poll)
{
	struct dmx_line zero = { 0, 64, "zero", "" };
	char name[DM_NAME_LEN];
	struct dmx_req r;

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "poll")));
	ASSERT_EQ(0, arm_poll(self->fd));
	ASSERT_EQ(0, dmx_load(self->fd, name, &zero, 1));
	EXPECT_EQ(0, poll_now(self->fd, 0));
	dmx_req_init(&r, name);
	ASSERT_EQ(0, dmx_call(self->fd, DM_TABLE_CLEAR, &r));
	EXPECT_EQ(0, dmx_status(self->fd, name, NULL));
	EXPECT_EQ(0, poll_now(self->fd, 0));
}

TEST_F(ev, resume_with_new_table_wakes_poll)
{
	struct dmx_line zero = { 0, 64, "zero", "" };
	char name[DM_NAME_LEN];

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "poll")));
	ASSERT_EQ(0, dmx_load(self->fd, name, &zero, 1));
	ASSERT_EQ(0, arm_poll(self->fd));
	ASSERT_EQ(0, dmx_resume(self->fd, name));
	EXPECT_EQ(POLLIN, poll_now(self->fd, 0) & POLLIN);
}

TEST_F(ev, rename_and_remove_wake_poll)
{
	char a[DM_NAME_LEN], b[DM_NAME_LEN];

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(a, "poll")));
	ASSERT_EQ(0, arm_poll(self->fd));
	ASSERT_EQ(0, dmx_rename(self->fd, a, dmx_name(b, "poll2")));
	EXPECT_EQ(POLLIN, poll_now(self->fd, 0) & POLLIN);
	ASSERT_EQ(0, arm_poll(self->fd));
	ASSERT_EQ(0, dmx_remove(self->fd, b));
	EXPECT_EQ(POLLIN, poll_now(self->fd, 0) & POLLIN);
}

TEST_F(ev, remove_all_wakes_poll)
{
	struct dmx_req r;

	ASSERT_EQ(0, arm_poll(self->fd));
	dmx_req_init(&r, NULL);
	ASSERT_EQ(0, dmx_call(self->fd, DM_REMOVE_ALL, &r));
	EXPECT_EQ(POLLIN, poll_now(self->fd, 0) & POLLIN);
}

/*
 * A deferred removal, done when the last opener closes, is an event
 * like any other removal of a device with a live table: pollers wake.
 */
TEST_F(ev, deferred_remove_on_last_close_wakes_poll)
{
	char name[DM_NAME_LEN];
	int bfd;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "poll"), 64));
	bfd = dmx_open_name(self->fd, name, O_RDONLY);
	ASSERT_LE(0, bfd);
	ASSERT_EQ(0, dmx_remove_flags(self->fd, name, DM_DEFERRED_REMOVE));
	ASSERT_EQ(0, arm_poll(self->fd));
	dmx_close_dev(bfd);
	EXPECT_EQ(POLLIN, poll_now(self->fd, DMX_FINISH_MS) & POLLIN)
		TH_LOG("no event for the deferred removal");
	EXPECT_EQ(0, dmx_wait_gone(self->fd, name, DMX_FINISH_MS));
}

TEST_HARNESS_MAIN
