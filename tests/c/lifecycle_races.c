// SPDX-License-Identifier: GPL-2.0
/*
 * Commands racing each other over one device's life: opening it while
 * it is removed, looking it up while it is renamed, creating and
 * removing one name from two processes, reading its table while it is
 * reloaded.  Each race runs a fixed number of rounds on each side (no
 * timing in the oracle); every answer must be one the interface allows
 * at some point of the race, and afterwards the device (if any) is
 * whole and can be removed.
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"
#include "dmx_test.h"

#define ROUNDS		100
#define RACE_MS		280000	/* generous: a slow guest under KASAN */
#define RACE_TIMEOUT	300

FIXTURE(race) {
	int fd;
};

FIXTURE_SETUP(race)
{
	self->fd = dmx_open_control();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", DMX_CONTROL_PATH,
				      strerror(errno));
}

FIXTURE_TEARDOWN(race)
{
	dmx_cleanup(self->fd);
	close(self->fd);
}

struct race_arg {
	int ctl;
	const char *name;
	const char *other;
	int rounds;
};

/* Each side has a control fd of its own, as separate programs would. */
static int own_control(void)
{
	return dmx_open_control();
}

/*
 * Opens and closes the device's node over and over; the number of
 * opens that failed with something else than "not there (now)".
 */
static long open_close_loop(void *p)
{
	struct race_arg *a = p;
	int ctl = own_control(), i;
	long wrong = 0;

	for (i = 0; i < a->rounds; i++) {
		uint64_t dev = dmx_dev_of(ctl, a->name);
		int fd;

		if (!dev)
			continue;
		fd = dmx_open_dev(dev, O_RDONLY);
		if (fd >= 0) {
			char buf[512];

			if (pread(fd, buf, sizeof(buf), 0) < 0 && errno != EIO)
				wrong++;
			dmx_close_dev(fd);
		} else if (fd != -ENXIO && fd != -ENOENT && fd != -ENODEV) {
			fprintf(stderr, "# open: %s\n", strerror(-fd));
			wrong++;
		}
	}
	close(ctl);
	return wrong;
}

TEST_F_TIMEOUT(race, open_racing_remove_is_safe, RACE_TIMEOUT)
{
	struct dmx_line zero = { 0, 64, "zero", "" };
	char name[DM_NAME_LEN];
	struct race_arg a = { 0, name, NULL, ROUNDS * 4 };
	struct dmx_bg opener;
	int i, r;

	dmx_name(name, "openrm");
	ASSERT_EQ(0, dmx_bg_start(&opener, open_close_loop, &a));
	for (i = 0; i < ROUNDS; i++) {
		r = dmx_create_table(self->fd, name, &zero, 1);
		ASSERT_EQ(0, r) TH_LOG("round %d: create: %s", i, strerror(-r));
		do {
			r = dmx_remove(self->fd, name);
		} while (r == -EBUSY);
		ASSERT_EQ(0, r) TH_LOG("round %d: remove: %s", i, strerror(-r));
	}
	ASSERT_TRUE(dmx_bg_wait(&opener, RACE_MS));
	EXPECT_EQ(0, opener.result);
	EXPECT_EQ(-ENXIO, dmx_status(self->fd, name, NULL));
}

/* Renames name to other and back, rounds times each way. */
static long rename_loop(void *p)
{
	struct race_arg *a = p;
	int ctl = own_control(), i;
	long wrong = 0;

	for (i = 0; i < a->rounds; i++) {
		if (dmx_rename(ctl, a->name, a->other) ||
		    dmx_rename(ctl, a->other, a->name))
			wrong++;
	}
	close(ctl);
	return wrong;
}

/*
 * While a device is renamed back and forth, a lookup by either name
 * finds it (answering with that name) or says ENXIO; a lookup by uuid
 * or by number always finds it, under one of its two names; the list
 * holds it exactly once.
 */
TEST_F_TIMEOUT(race, lookup_racing_rename_is_consistent, RACE_TIMEOUT)
{
	char name[DM_NAME_LEN], other[DM_NAME_LEN];
	struct race_arg a = { 0, name, other, ROUNDS };
	struct dmx_bg renamer;
	struct dm_ioctl io;
	struct dmx_req r;
	uint64_t dev;
	int i, ret;

	dmx_name(name, "rn-a");
	dmx_name(other, "rn-b");
	ASSERT_EQ(0, dmx_create_ex(self->fd, name, "DMXT-RACE-RENAME", 0, 0, &io));
	dev = io.dev;
	ASSERT_EQ(0, dmx_bg_start(&renamer, rename_loop, &a));
	for (i = 0; !dmx_bg_wait(&renamer, 0); i++) {
		const char *asked = i & 1 ? other : name;

		ret = dmx_status(self->fd, asked, &io);
		if (ret) {
			ASSERT_EQ(-ENXIO, ret);
		} else {
			EXPECT_STREQ(asked, io.name);
			EXPECT_STREQ("DMXT-RACE-RENAME", io.uuid);
		}

		dmx_req_init_uuid(&r, "DMXT-RACE-RENAME");
		ASSERT_EQ(0, dmx_call(self->fd, DM_DEV_STATUS, &r));
		EXPECT_TRUE(!strcmp(r.io.name, name) || !strcmp(r.io.name, other))
			TH_LOG("by uuid: name '%s'", r.io.name);
		EXPECT_EQ(dev, r.io.dev);

		dmx_req_init(&r, NULL);
		r.io.dev = dev;
		ASSERT_EQ(0, dmx_call(self->fd, DM_DEV_STATUS, &r));
		EXPECT_TRUE(!strcmp(r.io.name, name) || !strcmp(r.io.name, other))
			TH_LOG("by number: name '%s'", r.io.name);
	}
	EXPECT_EQ(0, renamer.result);
	ASSERT_EQ(0, dmx_status(self->fd, name, &io));
	EXPECT_EQ(dev, io.dev);
	EXPECT_EQ(-ENXIO, dmx_status(self->fd, other, NULL));
}

/*
 * Creates and removes name rounds times: the creates and removes that
 * succeeded, packed as (creates << 16) | removes; -1 for an answer
 * that is not allowed.
 */
static long create_remove_loop(void *p)
{
	struct race_arg *a = p;
	int ctl = own_control(), i, r;
	long creates = 0, removes = 0;

	for (i = 0; i < a->rounds; i++) {
		r = dmx_create(ctl, a->name);
		if (!r)
			creates++;
		else if (r != -EBUSY)
			return -1;
		r = dmx_remove(ctl, a->name);
		if (!r)
			removes++;
		else if (r != -ENXIO)
			return -1;
	}
	close(ctl);
	return creates << 16 | removes;
}

/*
 * Two processes create and remove the same name: each create is
 * success or EBUSY, each remove success or ENXIO, and every device
 * created was removed exactly once.
 */
TEST_F_TIMEOUT(race, create_racing_remove_of_one_name_is_safe, RACE_TIMEOUT)
{
	char name[DM_NAME_LEN];
	struct race_arg a = { 0, name, NULL, ROUNDS };
	struct dmx_bg one, two;
	long creates, removes;

	dmx_name(name, "crrm");
	ASSERT_EQ(0, dmx_bg_start(&one, create_remove_loop, &a));
	ASSERT_EQ(0, dmx_bg_start(&two, create_remove_loop, &a));
	ASSERT_TRUE(dmx_bg_wait(&one, RACE_MS));
	ASSERT_TRUE(dmx_bg_wait(&two, RACE_MS));
	ASSERT_LE(0, one.result);
	ASSERT_LE(0, two.result);
	creates = (one.result >> 16) + (two.result >> 16);
	removes = (one.result & 0xffff) + (two.result & 0xffff);
	EXPECT_EQ(creates, removes);
	EXPECT_LE(1, creates);
	EXPECT_EQ(-ENXIO, dmx_status(self->fd, name, NULL));
}

/* Reloads name with one of two equivalent tables and resumes, rounds times. */
static long reload_loop(void *p)
{
	struct race_arg *a = p;
	struct dmx_line one = { 0, 128, "zero", "" };
	struct dmx_line two[2] = { { 0, 64, "zero", "" }, { 64, 64, "zero", "" } };
	int ctl = own_control(), i;
	long wrong = 0;

	for (i = 0; i < a->rounds; i++) {
		if (i & 1 ? dmx_load(ctl, a->name, &one, 1) : dmx_load(ctl, a->name, two, 2))
			wrong++;
		if (dmx_resume(ctl, a->name))
			wrong++;
	}
	close(ctl);
	return wrong;
}

/*
 * Status, table, deps and wait read the active table while another
 * process swaps it: each reads a whole table, the old or the new one.
 */
TEST_F_TIMEOUT(race, table_reads_racing_reload_see_a_whole_table, RACE_TIMEOUT)
{
	char name[DM_NAME_LEN];
	struct race_arg a = { 0, name, NULL, ROUNDS };
	struct dmx_bg reloader;
	struct dmx_req r;
	int i;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "rdrl"), 128));
	ASSERT_EQ(0, dmx_bg_start(&reloader, reload_loop, &a));
	for (i = 0; !dmx_bg_wait(&reloader, 0); i++) {
		struct dm_target_spec *spec;

		ASSERT_EQ(0, dmx_table_status(self->fd, name,
					      i & 1 ? DM_STATUS_TABLE_FLAG : 0, &r));
		ASSERT_TRUE(r.io.target_count == 1 || r.io.target_count == 2)
			TH_LOG("%u targets", r.io.target_count);
		spec = dmx_reply_spec(&r, r.io.target_count - 1);
		ASSERT_TRUE(spec != NULL);
		EXPECT_EQ(128, spec->sector_start + spec->length);
		EXPECT_STREQ("zero", spec->target_type);

		dmx_req_init(&r, name);
		ASSERT_EQ(0, dmx_call(self->fd, DM_TABLE_DEPS, &r));
		dmx_req_init(&r, name);
		r.io.event_nr = ~0U;	/* not the current event: no waiting */
		ASSERT_EQ(0, dmx_call(self->fd, DM_DEV_WAIT, &r));
		EXPECT_TRUE(r.io.target_count == 1 || r.io.target_count == 2);
	}
	EXPECT_EQ(0, reloader.result);
}

/*
 * A removal while another process waits for the device's next event
 * ends that wait: the waiter gets an answer (the device's last status
 * or ENXIO), and the removal does not wait for a resume.
 */
static long wait_for_event(void *p)
{
	struct race_arg *a = p;
	struct dm_ioctl io;
	struct dmx_req r;
	int ctl = own_control();
	long ret;

	if (dmx_status(ctl, a->name, &io))
		return -100;
	dmx_req_init(&r, a->name);
	r.io.event_nr = io.event_nr;
	ret = dmx_call(ctl, DM_DEV_WAIT, &r);
	close(ctl);
	return ret;
}

TEST_F_TIMEOUT(race, remove_ends_a_wait_on_the_device, RACE_TIMEOUT)
{
	char name[DM_NAME_LEN];
	struct race_arg a = { 0, name, NULL, 1 };
	struct dmx_bg waiter;
	int i;

	for (i = 0; i < 20; i++) {
		ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "rmwait"), 64));
		ASSERT_EQ(0, dmx_bg_start(&waiter, wait_for_event, &a));
		ASSERT_EQ(0, dmx_remove(self->fd, name));
		ASSERT_TRUE(dmx_bg_wait(&waiter, DMX_FINISH_MS))
			TH_LOG("round %d: the wait outlived its device", i);
		EXPECT_TRUE(waiter.result == 0 || waiter.result == -ENXIO ||
			    waiter.result == -100)
			TH_LOG("round %d: wait answered %ld", i, waiter.result);
	}
}

TEST_HARNESS_MAIN
