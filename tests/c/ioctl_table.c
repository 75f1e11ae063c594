// SPDX-License-Identifier: GPL-2.0
/*
 * Table commands of the dm ioctl v4 interface: TABLE_LOAD into the
 * inactive slot and its validation, TABLE_CLEAR, the swap on resume,
 * TABLE_DEPS, TABLE_STATUS (status and table lines, the inactive
 * table, a short buffer), read-only tables and DM_SECURE_DATA_FLAG.
 */
#define _GNU_SOURCE
#include <linux/fs.h>

#include "kselftest_harness.h"
#include "dmx_test.h"

FIXTURE(table) {
	int fd;
};

DMX_SETUP_AND_TEARDOWN(table)

/* Size in bytes of a device, through BLKGETSIZE64; -errno on failure. */
static long long dev_bytes(int ctl, const char *name)
{
	uint64_t bytes;
	int bfd, ret;

	bfd = dmx_open_name(ctl, name, O_RDONLY);
	if (bfd < 0)
		return bfd;
	ret = dmx_ioctl(bfd, BLKGETSIZE64, &bytes);
	dmx_close_dev(bfd);
	return ret ? ret : (long long)bytes;
}

/* Number of targets and length of the first in the (in)active table. */
static int table_shape(int ctl, const char *name, unsigned int flags,
		       uint64_t *len)
{
	struct dm_target_spec *spec;
	struct dmx_req r;
	int ret;

	ret = dmx_table_status(ctl, name, flags, &r);
	if (ret)
		return ret;
	spec = dmx_reply_spec(&r, 0);
	*len = r.io.target_count && spec ? spec->length : 0;
	return r.io.target_count;
}

/* --- load, clear, swap ----------------------------------------------------- */

TEST_F(table, load_stages_inactive_table)
{
	struct dmx_line zero = { 0, 100, "zero", "" };
	char name[DM_NAME_LEN];
	struct dmx_req r;
	uint64_t len;

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "stage")));
	ASSERT_EQ(0, dmx_req_table(&r, name, &zero, 1));
	ASSERT_EQ(0, dmx_call(self->fd, DM_TABLE_LOAD, &r));
	EXPECT_TRUE(r.io.flags & DM_INACTIVE_PRESENT_FLAG);
	EXPECT_FALSE(r.io.flags & DM_ACTIVE_PRESENT_FLAG);
	EXPECT_STREQ(name, r.io.name);

	EXPECT_EQ(0, table_shape(self->fd, name, 0, &len));
	EXPECT_EQ(1, table_shape(self->fd, name, DM_QUERY_INACTIVE_TABLE_FLAG,
				 &len));
	EXPECT_EQ(100, len);
}

TEST_F(table, load_unknown_device_is_enxio)
{
	struct dmx_line zero = { 0, 100, "zero", "" };
	struct dmx_req r;

	EXPECT_EQ(-ENXIO, dmx_load(self->fd, "dmxt-no-such-device", &zero, 1));
	dmx_req_init_uuid(&r, "dmxt-no-such-uuid");
	ASSERT_EQ(0, dmx_req_add_lines(&r, &zero, 1));
	EXPECT_EQ(-ENXIO, dmx_call(self->fd, DM_TABLE_LOAD, &r));
}

TEST_F(table, load_replaces_inactive_table)
{
	struct dmx_line first = { 0, 100, "zero", "" };
	struct dmx_line second = { 0, 200, "zero", "" };
	char name[DM_NAME_LEN];
	uint64_t len;

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "replace")));
	ASSERT_EQ(0, dmx_load(self->fd, name, &first, 1));
	ASSERT_EQ(0, dmx_load(self->fd, name, &second, 1));
	EXPECT_EQ(1, table_shape(self->fd, name, DM_QUERY_INACTIVE_TABLE_FLAG,
				 &len));
	EXPECT_EQ(200, len);
}

TEST_F(table, failed_load_keeps_inactive_table)
{
	struct dmx_line good = { 0, 100, "zero", "" };
	struct dmx_line bad = { 0, 200, "dmxt-no-such-target", "" };
	char name[DM_NAME_LEN];
	struct dm_ioctl io;
	uint64_t len;

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "keep")));
	ASSERT_EQ(0, dmx_load(self->fd, name, &good, 1));
	EXPECT_EQ(-EINVAL, dmx_load(self->fd, name, &bad, 1));
	ASSERT_EQ(0, dmx_status(self->fd, name, &io));
	EXPECT_TRUE(io.flags & DM_INACTIVE_PRESENT_FLAG);
	EXPECT_EQ(1, table_shape(self->fd, name, DM_QUERY_INACTIVE_TABLE_FLAG,
				 &len));
	EXPECT_EQ(100, len);
}

TEST_F(table, clear_drops_inactive_table)
{
	struct dmx_line zero = { 0, 100, "zero", "" };
	char name[DM_NAME_LEN];
	struct dm_ioctl io;
	struct dmx_req r;

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "clear")));
	ASSERT_EQ(0, dmx_load(self->fd, name, &zero, 1));
	dmx_req_init(&r, name);
	ASSERT_EQ(0, dmx_call(self->fd, DM_TABLE_CLEAR, &r));
	EXPECT_FALSE(r.io.flags & DM_INACTIVE_PRESENT_FLAG);

	/* Nothing left to swap in. */
	ASSERT_EQ(0, dmx_resume(self->fd, name));
	ASSERT_EQ(0, dmx_status(self->fd, name, &io));
	EXPECT_FALSE(io.flags & (DM_ACTIVE_PRESENT_FLAG |
				 DM_INACTIVE_PRESENT_FLAG));
}

TEST_F(table, clear_keeps_active_table)
{
	struct dmx_line zero = { 0, 100, "zero", "" };
	char name[DM_NAME_LEN];
	struct dmx_req r;
	uint64_t len;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "clear"), 64));
	/* With nothing staged, clearing is a no-op. */
	dmx_req_init(&r, name);
	EXPECT_EQ(0, dmx_call(self->fd, DM_TABLE_CLEAR, &r));
	ASSERT_EQ(0, dmx_load(self->fd, name, &zero, 1));
	dmx_req_init(&r, name);
	ASSERT_EQ(0, dmx_call(self->fd, DM_TABLE_CLEAR, &r));
	EXPECT_TRUE(r.io.flags & DM_ACTIVE_PRESENT_FLAG);
	EXPECT_EQ(1, table_shape(self->fd, name, 0, &len));
	EXPECT_EQ(64, len);
	EXPECT_EQ(0, table_shape(self->fd, name, DM_QUERY_INACTIVE_TABLE_FLAG,
				 &len));
}

TEST_F(table, clear_unknown_device_is_enxio)
{
	struct dmx_req r;

	dmx_req_init(&r, "dmxt-no-such-device");
	EXPECT_EQ(-ENXIO, dmx_call(self->fd, DM_TABLE_CLEAR, &r));
}

TEST_F(table, resume_swaps_inactive_table)
{
	struct dmx_line bigger = { 0, 4096, "zero", "" };
	char name[DM_NAME_LEN];
	struct dm_ioctl io;
	uint64_t len;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "swap"), 2048));
	ASSERT_EQ(2048 * 512, dev_bytes(self->fd, name));
	ASSERT_EQ(0, dmx_load(self->fd, name, &bigger, 1));
	/* Loaded, not yet live. */
	EXPECT_EQ(2048 * 512, dev_bytes(self->fd, name));
	EXPECT_EQ(1, table_shape(self->fd, name, 0, &len));
	EXPECT_EQ(2048, len);

	ASSERT_EQ(0, dmx_suspend_flags(self->fd, name, 0, &io));
	EXPECT_FALSE(io.flags & (DM_INACTIVE_PRESENT_FLAG | DM_SUSPEND_FLAG));
	EXPECT_TRUE(io.flags & DM_ACTIVE_PRESENT_FLAG);
	EXPECT_EQ(4096 * 512, dev_bytes(self->fd, name));
	EXPECT_EQ(1, table_shape(self->fd, name, 0, &len));
	EXPECT_EQ(4096, len);
	EXPECT_EQ(0, table_shape(self->fd, name, DM_QUERY_INACTIVE_TABLE_FLAG,
				 &len));
}

/* Resuming a suspended device with a staged table swaps it in too. */
TEST_F(table, resume_of_suspended_device_swaps_table)
{
	struct dmx_line bigger = { 0, 4096, "zero", "" };
	char name[DM_NAME_LEN];
	uint64_t len;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "swap"), 2048));
	ASSERT_EQ(0, dmx_suspend(self->fd, name));
	ASSERT_EQ(0, dmx_load(self->fd, name, &bigger, 1));
	ASSERT_EQ(0, dmx_resume(self->fd, name));
	EXPECT_EQ(1, table_shape(self->fd, name, 0, &len));
	EXPECT_EQ(4096, len);
}

static long load_zero(void *p)
{
	struct dmx_line zero = { 0, 2048, "zero", "" };
	struct dmx_cmd_arg *a = p;

	return dmx_load(a->ctl, a->name, &zero, 1);
}

/*
 * TABLE_LOAD never suspends: with a read in flight through the device
 * (held below it, in a suspended device it maps onto), a suspend would
 * have to wait for that read, but a load returns at once and leaves
 * the device running.
 */
TEST_F(table, load_does_not_suspend)
{
	char lower[DM_NAME_LEN], upper[DM_NAME_LEN];
	struct dmx_bg reader, loader;
	struct dmx_cmd_arg la;
	struct dmx_io_arg io;
	struct dm_ioctl st;

	ASSERT_EQ(0, dmx_create_stack(self->fd, lower, upper, 2048));
	ASSERT_EQ(0, dmx_suspend(self->fd, lower));
	io = (struct dmx_io_arg){ dmx_dev_of(self->fd, upper), 0, 4096, false };
	ASSERT_EQ(0, dmx_bg_start(&reader, dmx_direct_io, &io));
	ASSERT_TRUE(dmx_bg_in_io(&reader))
		TH_LOG("read finished while the device below was suspended");

	la = (struct dmx_cmd_arg){ self->fd, upper };
	ASSERT_EQ(0, dmx_bg_start(&loader, load_zero, &la));
	ASSERT_TRUE(dmx_bg_wait(&loader, DMX_FINISH_MS))
		TH_LOG("TABLE_LOAD waited for in-flight I/O");
	EXPECT_EQ(0, loader.result);
	ASSERT_EQ(0, dmx_status(self->fd, upper, &st));
	EXPECT_FALSE(st.flags & DM_SUSPEND_FLAG);
	EXPECT_TRUE(st.flags & DM_INACTIVE_PRESENT_FLAG);
	EXPECT_FALSE(dmx_bg_wait(&reader, 0));

	ASSERT_EQ(0, dmx_resume(self->fd, lower));
	ASSERT_TRUE(dmx_bg_wait(&reader, DMX_FINISH_MS));
	EXPECT_EQ(4096, reader.result);
}

/* --- validation ------------------------------------------------------------ */

TEST_F(table, load_unknown_target_type_is_einval)
{
	struct dmx_line bad = { 0, 100, "dmxt-no-such-target", "" };
	char name[DM_NAME_LEN];
	struct dm_ioctl io;

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "type")));
	EXPECT_EQ(-EINVAL, dmx_load(self->fd, name, &bad, 1));
	ASSERT_EQ(0, dmx_status(self->fd, name, &io));
	EXPECT_FALSE(io.flags & DM_INACTIVE_PRESENT_FLAG);
}

TEST_F(table, load_malformed_target_args_is_einval)
{
	static const struct dmx_line bad[] = {
		{ 0, 100, "zero", "unexpected" },
		{ 0, 100, "linear", "" },
		{ 0, 100, "linear", "1:0" },
		{ 0, 100, "linear", "1:0 notanumber" },
		{ 0, 100, "linear", "1:0 0 extra" },
		{ 0, 100, "striped", "" },
		{ 0, 100, "striped", "0 8" },
		{ 0, 96, "striped", "2 0 1:0 0 1:1 0" },
		{ 0, 100, "striped", "2 8 1:0 0 1:1 0" },	/* 100 % 16 */
		{ 0, 96, "striped", "2 8 1:0 0" },
	};
	char name[DM_NAME_LEN];
	unsigned int i;

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "args")));
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		EXPECT_EQ(-EINVAL, dmx_load(self->fd, name, &bad[i], 1))
			TH_LOG("line #%u", i);
}

TEST_F(table, load_gap_is_einval)
{
	static const struct dmx_line gap[] = {
		{ 0, 100, "zero", "" },
		{ 200, 100, "zero", "" },
	};
	struct dmx_line late = { 8, 100, "zero", "" };
	char name[DM_NAME_LEN];

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "gap")));
	EXPECT_EQ(-EINVAL, dmx_load(self->fd, name, gap, 2));
	/* The table must start at sector 0. */
	EXPECT_EQ(-EINVAL, dmx_load(self->fd, name, &late, 1));
}

TEST_F(table, load_overlap_is_einval)
{
	static const struct dmx_line overlap[] = {
		{ 0, 100, "zero", "" },
		{ 50, 100, "zero", "" },
	};
	static const struct dmx_line twice[] = {
		{ 0, 100, "zero", "" },
		{ 0, 100, "zero", "" },
	};
	char name[DM_NAME_LEN];

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "overlap")));
	EXPECT_EQ(-EINVAL, dmx_load(self->fd, name, overlap, 2));
	EXPECT_EQ(-EINVAL, dmx_load(self->fd, name, twice, 2));
}

TEST_F(table, load_zero_length_target_is_einval)
{
	static const struct dmx_line zlen[] = {
		{ 0, 100, "zero", "" },
		{ 100, 0, "zero", "" },
	};
	char name[DM_NAME_LEN];

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "zlen")));
	EXPECT_EQ(-EINVAL, dmx_load(self->fd, name, &zlen[1], 1));
	EXPECT_EQ(-EINVAL, dmx_load(self->fd, name, zlen, 2));
}

TEST_F(table, load_sorted_multi_target_table)
{
	static const struct dmx_line lines[] = {
		{ 0, 100, "zero", "" },
		{ 100, 28, "error", "" },
		{ 128, 1000, "zero", "" },
	};
	char name[DM_NAME_LEN];
	struct dm_target_spec *spec;
	struct dmx_req r;
	unsigned int i;

	ASSERT_EQ(0, dmx_create_table(self->fd, dmx_name(name, "multi"),
				      lines, 3));
	ASSERT_EQ(0, dmx_table_status(self->fd, name, DM_STATUS_TABLE_FLAG, &r));
	ASSERT_EQ(3, r.io.target_count);
	for (i = 0; i < 3; i++) {
		spec = dmx_reply_spec(&r, i);
		ASSERT_TRUE(spec != NULL);
		EXPECT_EQ(lines[i].start, spec->sector_start);
		EXPECT_EQ(lines[i].len, spec->length);
		EXPECT_STREQ(lines[i].type, spec->target_type);
		EXPECT_EQ(0, (uintptr_t)spec % 8);
	}
	EXPECT_EQ(1128 * 512, dev_bytes(self->fd, name));
}

/*
 * A new device without a table, and in r a request loading one zero
 * target into it, for the test to break: its spec.  NULL on failure.
 */
static struct dm_target_spec *zero_load_request(int fd, char *name,
						struct dmx_req *r)
{
	struct dmx_line zero = { 0, 100, "zero", "" };

	if ((!*name && dmx_create(fd, dmx_name(name, "load"))) ||
	    dmx_req_table(r, name, &zero, 1))
		return NULL;
	return (struct dm_target_spec *)r->data;
}

TEST_F(table, load_target_count_zero_is_einval)
{
	char name[DM_NAME_LEN] = "";
	struct dmx_req r;

	ASSERT_TRUE(zero_load_request(self->fd, name, &r) != NULL);
	r.io.target_count = 0;
	EXPECT_EQ(-EINVAL, dmx_call(self->fd, DM_TABLE_LOAD, &r));
}

/* A target_count above the specs actually sent. */
TEST_F(table, load_target_count_too_high_is_einval)
{
	char name[DM_NAME_LEN] = "";
	struct dmx_req r;

	/* The request ends right after the only spec. */
	ASSERT_TRUE(zero_load_request(self->fd, name, &r) != NULL);
	r.io.target_count = 2;
	r.io.data_size = r.io.data_start + r.pos;
	EXPECT_EQ(-EINVAL, dmx_call(self->fd, DM_TABLE_LOAD, &r));

	/* Zeroes where the second spec should be. */
	ASSERT_TRUE(zero_load_request(self->fd, name, &r) != NULL);
	r.io.target_count = 2;
	EXPECT_EQ(-EINVAL, dmx_call(self->fd, DM_TABLE_LOAD, &r));

	/* Far more than could fit. */
	ASSERT_TRUE(zero_load_request(self->fd, name, &r) != NULL);
	r.io.target_count = 1000000;
	EXPECT_EQ(-EINVAL, dmx_call(self->fd, DM_TABLE_LOAD, &r));
}

/* A spec's next must move past the spec itself, and stay inside. */
TEST_F(table, load_bad_spec_next_is_einval)
{
	static const struct dmx_line two[] = {
		{ 0, 100, "zero", "" },
		{ 100, 100, "zero", "" },
	};
	static const __u32 nexts[] = { 0, 8, sizeof(struct dm_target_spec) - 1,
				       DMX_REQ_DATA * 2 };
	char name[DM_NAME_LEN];
	struct dm_target_spec *first;
	struct dmx_req r;
	unsigned int i;

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "next")));
	for (i = 0; i < ARRAY_SIZE(nexts); i++) {
		ASSERT_EQ(0, dmx_req_table(&r, name, two, 2));
		first = (struct dm_target_spec *)r.data;
		first->next = nexts[i];
		EXPECT_EQ(-EINVAL, dmx_call(self->fd, DM_TABLE_LOAD, &r))
			TH_LOG("next %u", nexts[i]);
	}
	/* Unchanged, the same request loads. */
	ASSERT_EQ(0, dmx_req_table(&r, name, two, 2));
	EXPECT_EQ(0, dmx_call(self->fd, DM_TABLE_LOAD, &r));
}

TEST_F(table, load_unterminated_params_is_einval)
{
	char name[DM_NAME_LEN] = "";
	struct dm_target_spec *spec;
	struct dmx_req r;

	spec = zero_load_request(self->fd, name, &r);
	ASSERT_TRUE(spec != NULL);
	memset(spec + 1, 'p', 16);
	r.io.data_size = r.io.data_start + sizeof(*spec) + 16;
	EXPECT_EQ(-EINVAL, dmx_call(self->fd, DM_TABLE_LOAD, &r));
}

TEST_F(table, load_unterminated_target_type_is_einval)
{
	char name[DM_NAME_LEN] = "";
	struct dm_target_spec *spec;
	struct dmx_req r;

	spec = zero_load_request(self->fd, name, &r);
	ASSERT_TRUE(spec != NULL);
	memcpy(spec->target_type, "zerozerozerozero", DM_MAX_TYPE_NAME);
	EXPECT_EQ(-EINVAL, dmx_call(self->fd, DM_TABLE_LOAD, &r));
}

/*
 * An underlying device named by a path that does not exist: 6.1 tries
 * the name as a boot-time device name too and says ENODEV, 6.12 passes on
 * the path lookup's ENOENT.
 */
TEST_F(table, load_missing_device_path_is_enodev_on_6_1_enoent_on_6_12)
{
	struct dmx_line line = { 0, 100, "linear", "/dev/dmxt-no-such-disk 0" };
	int want = dmx_kernel_series() >= 612 ? -ENOENT : -ENODEV;
	char name[DM_NAME_LEN];

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "nodev")));
	EXPECT_EQ(want, dmx_load(self->fd, name, &line, 1));
}

/* An underlying device named by a major:minor with no disk behind it. */
TEST_F(table, load_missing_device_number_is_enxio)
{
	struct dmx_line line = { 0, 100, "linear", "4000:4000 0" };
	char name[DM_NAME_LEN];

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "nodev")));
	EXPECT_EQ(-ENXIO, dmx_load(self->fd, name, &line, 1));
}

TEST_F(table, load_offset_past_device_end_is_einval)
{
	char name[DM_NAME_LEN], ram0[32], params[64];
	struct dmx_line line = { 0, 1000, "linear", params };
	struct dm_ioctl io;

	if (dmx_ramdisks())
		SKIP(return, "brd ramdisks unavailable");
	ASSERT_EQ(0, dmx_ram(0, ram0, sizeof(ram0)));
	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "pastend")));

	/* Runs 928 sectors past the end. */
	snprintf(params, sizeof(params), "%s %llu", ram0,
		 (unsigned long long)DMX_RAM_SECTORS - 72);
	EXPECT_EQ(-EINVAL, dmx_load(self->fd, name, &line, 1));
	/* Starts at the end. */
	snprintf(params, sizeof(params), "%s %llu", ram0,
		 (unsigned long long)DMX_RAM_SECTORS);
	EXPECT_EQ(-EINVAL, dmx_load(self->fd, name, &line, 1));
	/* Longer than the whole device. */
	line.len = DMX_RAM_SECTORS + 8;
	snprintf(params, sizeof(params), "%s 0", ram0);
	EXPECT_EQ(-EINVAL, dmx_load(self->fd, name, &line, 1));

	ASSERT_EQ(0, dmx_status(self->fd, name, &io));
	EXPECT_FALSE(io.flags & DM_INACTIVE_PRESENT_FLAG);

	/* Ending exactly at the end is fine. */
	line.len = 1000;
	snprintf(params, sizeof(params), "%s %llu", ram0,
		 (unsigned long long)DMX_RAM_SECTORS - 1000);
	EXPECT_EQ(0, dmx_load(self->fd, name, &line, 1));
}

/* A reload past the end of the underlying device, as Linux's dm does. */
TEST_F(table, reload_offset_past_device_end_is_einval)
{
	char name[DM_NAME_LEN], ram0[32], good[64], bad[64];
	struct dmx_line line = { 0, 1000, "linear", good };
	struct dm_ioctl io;
	uint64_t len;

	if (dmx_ramdisks())
		SKIP(return, "brd ramdisks unavailable");
	ASSERT_EQ(0, dmx_ram(0, ram0, sizeof(ram0)));
	snprintf(good, sizeof(good), "%s 0", ram0);
	snprintf(bad, sizeof(bad), "%s %llu", ram0,
		 (unsigned long long)DMX_RAM_SECTORS - 500);
	ASSERT_EQ(0, dmx_create_table(self->fd, dmx_name(name, "pastend"),
				      &line, 1));

	/*
	 * A reload is checked against device sizes at resume, when the
	 * devices below have their new tables (LVM loads a whole stack
	 * before resuming any of it): the resume fails, the table goes and
	 * the device stays suspended on the old one.
	 */
	line.params = bad;
	line.len = 2000;
	ASSERT_EQ(0, dmx_load(self->fd, name, &line, 1));
	EXPECT_EQ(-EINVAL, dmx_resume(self->fd, name));
	ASSERT_EQ(0, dmx_status(self->fd, name, &io));
	EXPECT_TRUE(io.flags & DM_SUSPEND_FLAG);
	EXPECT_FALSE(io.flags & DM_INACTIVE_PRESENT_FLAG);
	/* The old table is still the live one. */
	ASSERT_EQ(0, dmx_resume(self->fd, name));
	EXPECT_EQ(1, table_shape(self->fd, name, 0, &len));
	EXPECT_EQ(1000, len);
}

/* --- read-only tables ------------------------------------------------------ */

TEST_F(table, readonly_table_makes_device_readonly)
{
	char name[DM_NAME_LEN], ram0[32], params[64];
	struct dmx_line line = { 0, 2048, "linear", params };
	struct dmx_io_arg wr;
	struct dmx_bg bg;
	struct dm_ioctl io;
	int bfd, ro = -1;
	char buf[512];

	if (dmx_ramdisks())
		SKIP(return, "brd ramdisks unavailable");
	ASSERT_EQ(0, dmx_ram(0, ram0, sizeof(ram0)));
	snprintf(params, sizeof(params), "%s 0", ram0);
	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "ro")));
	ASSERT_EQ(0, dmx_load_flags(self->fd, name, DM_READONLY_FLAG, &line, 1));

	ASSERT_EQ(0, dmx_status_flags(self->fd, name,
				      DM_QUERY_INACTIVE_TABLE_FLAG, &io));
	EXPECT_TRUE(io.flags & DM_READONLY_FLAG);
	ASSERT_EQ(0, dmx_resume(self->fd, name));
	ASSERT_EQ(0, dmx_status(self->fd, name, &io));
	EXPECT_TRUE(io.flags & DM_READONLY_FLAG);

	bfd = dmx_open_name(self->fd, name, O_RDONLY);
	ASSERT_LE(0, bfd);
	EXPECT_EQ(0, dmx_ioctl(bfd, BLKROGET, &ro));
	EXPECT_EQ(1, ro);
	EXPECT_EQ(sizeof(buf), pread(bfd, buf, sizeof(buf), 0));
	dmx_close_dev(bfd);

	/* A write fails, whether at open or at write time. */
	wr = (struct dmx_io_arg){ io.dev, 0, 4096, true };
	ASSERT_EQ(0, dmx_bg_start(&bg, dmx_direct_io, &wr));
	ASSERT_TRUE(dmx_bg_wait(&bg, DMX_FINISH_MS));
	EXPECT_GT(0, bg.result) TH_LOG("write to a read-only device: %ld",
				       bg.result);
}

TEST_F(table, readwrite_reload_clears_readonly)
{
	char name[DM_NAME_LEN], ram0[32], params[64];
	struct dmx_line line = { 0, 2048, "linear", params };
	struct dmx_io_arg wr;
	struct dmx_bg bg;
	struct dm_ioctl io;
	int bfd, ro = -1;

	if (dmx_ramdisks())
		SKIP(return, "brd ramdisks unavailable");
	ASSERT_EQ(0, dmx_ram(0, ram0, sizeof(ram0)));
	snprintf(params, sizeof(params), "%s 0", ram0);
	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "rw")));
	ASSERT_EQ(0, dmx_load_flags(self->fd, name, DM_READONLY_FLAG, &line, 1));
	ASSERT_EQ(0, dmx_resume(self->fd, name));
	ASSERT_EQ(0, dmx_load(self->fd, name, &line, 1));
	ASSERT_EQ(0, dmx_resume(self->fd, name));
	ASSERT_EQ(0, dmx_status(self->fd, name, &io));
	EXPECT_FALSE(io.flags & DM_READONLY_FLAG);

	bfd = dmx_open_name(self->fd, name, O_RDONLY);
	ASSERT_LE(0, bfd);
	EXPECT_EQ(0, dmx_ioctl(bfd, BLKROGET, &ro));
	EXPECT_EQ(0, ro);
	dmx_close_dev(bfd);

	wr = (struct dmx_io_arg){ io.dev, 0, 4096, true };
	ASSERT_EQ(0, dmx_bg_start(&bg, dmx_direct_io, &wr));
	ASSERT_TRUE(dmx_bg_wait(&bg, DMX_FINISH_MS));
	EXPECT_EQ(4096, bg.result);
}

/* --- TABLE_DEPS ----------------------------------------------------------- */

static bool deps_has(struct dm_target_deps *deps, uint64_t dev)
{
	unsigned int i;

	for (i = 0; i < deps->count; i++)
		if (deps->dev[i] == dev)
			return true;
	return false;
}

static int table_deps(int fd, const char *name, unsigned int flags,
		      struct dmx_req *r)
{
	dmx_req_init(r, name);
	r->io.flags = flags;
	return dmx_call(fd, DM_TABLE_DEPS, r);
}

TEST_F(table, deps_lists_each_underlying_device_once)
{
	char name[DM_NAME_LEN], ram0[32], ram1[32], p0[64], p1[64], p2[64];
	struct dmx_line lines[] = {
		{ 0, 1024, "linear", p0 },
		{ 1024, 1024, "linear", p1 },
		{ 2048, 1024, "linear", p2 },
	};
	struct dm_target_deps *deps;
	struct dmx_req r;

	if (dmx_ramdisks())
		SKIP(return, "brd ramdisks unavailable");
	ASSERT_EQ(0, dmx_ram(0, ram0, sizeof(ram0)));
	ASSERT_EQ(0, dmx_ram(1, ram1, sizeof(ram1)));
	snprintf(p0, sizeof(p0), "%s 0", ram0);
	snprintf(p1, sizeof(p1), "%s 0", ram1);
	snprintf(p2, sizeof(p2), "%s 4096", ram0);
	ASSERT_EQ(0, dmx_create_table(self->fd, dmx_name(name, "deps"),
				      lines, 3));

	ASSERT_EQ(0, table_deps(self->fd, name, 0, &r));
	EXPECT_FALSE(r.io.flags & DM_BUFFER_FULL_FLAG);
	deps = (struct dm_target_deps *)((char *)&r.io + r.io.data_start);
	ASSERT_EQ(2, deps->count);
	EXPECT_EQ(r.io.data_start + sizeof(*deps) + 2 * sizeof(__u64),
		  r.io.data_size);
	EXPECT_TRUE(deps_has(deps, dmx_ram_dev(0)));
	EXPECT_TRUE(deps_has(deps, dmx_ram_dev(1)));
}

TEST_F(table, deps_of_inactive_table_with_query_inactive)
{
	char name[DM_NAME_LEN], ram[4][32], p0[64], p1[160];
	struct dmx_line active = { 0, 2048, "linear", p0 };
	struct dmx_line inactive = { 0, 2048, "striped", p1 };
	struct dm_target_deps *deps;
	struct dmx_req r;
	int i;

	if (dmx_ramdisks())
		SKIP(return, "brd ramdisks unavailable");
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, dmx_ram(i, ram[i], sizeof(ram[i])));
	snprintf(p0, sizeof(p0), "%s 0", ram[0]);
	snprintf(p1, sizeof(p1), "3 8 %s 0 %s 0 %s 0", ram[1], ram[2], ram[3]);
	inactive.len = 3 * 8 * 100;
	ASSERT_EQ(0, dmx_create_table(self->fd, dmx_name(name, "deps"),
				      &active, 1));
	ASSERT_EQ(0, dmx_load(self->fd, name, &inactive, 1));

	ASSERT_EQ(0, table_deps(self->fd, name, 0, &r));
	deps = (struct dm_target_deps *)((char *)&r.io + r.io.data_start);
	ASSERT_EQ(1, deps->count);
	EXPECT_EQ(dmx_ram_dev(0), deps->dev[0]);

	ASSERT_EQ(0, table_deps(self->fd, name, DM_QUERY_INACTIVE_TABLE_FLAG,
				&r));
	deps = (struct dm_target_deps *)((char *)&r.io + r.io.data_start);
	ASSERT_EQ(3, deps->count);
	for (i = 1; i < 4; i++)
		EXPECT_TRUE(deps_has(deps, dmx_ram_dev(i)));
}

/* A dm device stacked on another lists it as a dependency. */
TEST_F(table, deps_of_stacked_device)
{
	char lower[DM_NAME_LEN], upper[DM_NAME_LEN];
	struct dm_target_deps *deps;
	struct dmx_req r;

	ASSERT_EQ(0, dmx_create_stack(self->fd, lower, upper, 1024));
	ASSERT_EQ(0, table_deps(self->fd, upper, 0, &r));
	deps = (struct dm_target_deps *)((char *)&r.io + r.io.data_start);
	ASSERT_EQ(1, deps->count);
	EXPECT_EQ(dmx_dev_of(self->fd, lower), deps->dev[0]);

	/* A zero table has none. */
	ASSERT_EQ(0, table_deps(self->fd, lower, 0, &r));
	deps = (struct dm_target_deps *)((char *)&r.io + r.io.data_start);
	EXPECT_EQ(0, deps->count);
	/* And the lower device is held open by the upper one. */
	EXPECT_EQ(-EBUSY, dmx_remove(self->fd, lower));
}

TEST_F(table, deps_small_buffer_sets_buffer_full)
{
	char name[DM_NAME_LEN], ram0[32], params[64];
	struct dmx_line line = { 0, 1024, "linear", params };
	struct dmx_req r;

	if (dmx_ramdisks())
		SKIP(return, "brd ramdisks unavailable");
	ASSERT_EQ(0, dmx_ram(0, ram0, sizeof(ram0)));
	snprintf(params, sizeof(params), "%s 0", ram0);
	ASSERT_EQ(0, dmx_create_table(self->fd, dmx_name(name, "full"),
				      &line, 1));

	dmx_req_init(&r, name);
	r.io.data_size = sizeof(struct dm_ioctl);
	ASSERT_EQ(0, dmx_call(self->fd, DM_TABLE_DEPS, &r));
	EXPECT_TRUE(r.io.flags & DM_BUFFER_FULL_FLAG);

	/* Room for the count but not the device. */
	dmx_req_init(&r, name);
	r.io.data_size = sizeof(struct dm_ioctl) + sizeof(struct dm_target_deps);
	ASSERT_EQ(0, dmx_call(self->fd, DM_TABLE_DEPS, &r));
	EXPECT_TRUE(r.io.flags & DM_BUFFER_FULL_FLAG);

	ASSERT_EQ(0, table_deps(self->fd, name, 0, &r));
	EXPECT_FALSE(r.io.flags & DM_BUFFER_FULL_FLAG);
}

TEST_F(table, deps_unknown_device_is_enxio)
{
	struct dmx_req r;

	EXPECT_EQ(-ENXIO, table_deps(self->fd, "dmxt-no-such-device", 0, &r));
}

/* --- TABLE_STATUS ---------------------------------------------------------- */

TEST_F(table, status_table_flag_reports_table_lines)
{
	char name[DM_NAME_LEN], ram[2][32], p0[64], p1[96], want[96];
	struct dmx_line lines[] = {
		{ 0, 1024, "linear", p0 },
		{ 1024, 1600, "striped", p1 },
	};
	struct dm_target_spec *spec;
	struct dmx_req r;

	if (dmx_ramdisks())
		SKIP(return, "brd ramdisks unavailable");
	ASSERT_EQ(0, dmx_ram(0, ram[0], sizeof(ram[0])));
	ASSERT_EQ(0, dmx_ram(1, ram[1], sizeof(ram[1])));
	snprintf(p0, sizeof(p0), "%s 16", ram[0]);
	snprintf(p1, sizeof(p1), "2 8 %s 2048 %s 0", ram[0], ram[1]);
	ASSERT_EQ(0, dmx_create_table(self->fd, dmx_name(name, "tbl"),
				      lines, 2));

	ASSERT_EQ(0, dmx_table_status(self->fd, name, DM_STATUS_TABLE_FLAG, &r));
	EXPECT_FALSE(r.io.flags & DM_BUFFER_FULL_FLAG);
	ASSERT_EQ(2, r.io.target_count);
	spec = dmx_reply_spec(&r, 0);
	ASSERT_TRUE(spec != NULL);
	EXPECT_STREQ("linear", spec->target_type);
	EXPECT_STREQ(p0, dmx_spec_params(spec));
	spec = dmx_reply_spec(&r, 1);
	ASSERT_TRUE(spec != NULL);
	EXPECT_EQ(1024, spec->sector_start);
	EXPECT_EQ(1600, spec->length);
	EXPECT_STREQ("striped", spec->target_type);
	EXPECT_STREQ(p1, dmx_spec_params(spec));
	/* The reply ends with the last line's NUL. */
	EXPECT_EQ(r.io.data_size, dmx_spec_params(spec) + strlen(p1) + 1 -
				  (char *)&r.io);

	/* Without the flag: status lines. */
	ASSERT_EQ(0, dmx_table_status(self->fd, name, 0, &r));
	ASSERT_EQ(2, r.io.target_count);
	spec = dmx_reply_spec(&r, 0);
	ASSERT_TRUE(spec != NULL);
	EXPECT_STREQ("", dmx_spec_params(spec));
	spec = dmx_reply_spec(&r, 1);
	ASSERT_TRUE(spec != NULL);
	snprintf(want, sizeof(want), "2 %s %s 1 AA", ram[0], ram[1]);
	EXPECT_STREQ(want, dmx_spec_params(spec));
}

TEST_F(table, status_query_inactive_reports_inactive_table)
{
	static const struct dmx_line two[] = {
		{ 0, 100, "zero", "" },
		{ 100, 100, "error", "" },
	};
	char name[DM_NAME_LEN];
	struct dm_target_spec *spec;
	struct dm_ioctl io;
	struct dmx_req r;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "inact"), 64));
	ASSERT_EQ(0, dmx_load_flags(self->fd, name, DM_READONLY_FLAG, two, 2));

	ASSERT_EQ(0, dmx_table_status(self->fd, name,
				      DM_QUERY_INACTIVE_TABLE_FLAG |
				      DM_STATUS_TABLE_FLAG, &r));
	ASSERT_EQ(2, r.io.target_count);
	EXPECT_TRUE(r.io.flags & DM_INACTIVE_PRESENT_FLAG);
	EXPECT_TRUE(r.io.flags & DM_READONLY_FLAG);
	spec = dmx_reply_spec(&r, 1);
	ASSERT_TRUE(spec != NULL);
	EXPECT_STREQ("error", spec->target_type);

	ASSERT_EQ(0, dmx_table_status(self->fd, name, DM_STATUS_TABLE_FLAG, &r));
	ASSERT_EQ(1, r.io.target_count);
	EXPECT_FALSE(r.io.flags & DM_READONLY_FLAG);
	spec = dmx_reply_spec(&r, 0);
	ASSERT_TRUE(spec != NULL);
	EXPECT_EQ(64, spec->length);

	/* DEV_STATUS answers about the inactive table the same way. */
	ASSERT_EQ(0, dmx_status_flags(self->fd, name,
				      DM_QUERY_INACTIVE_TABLE_FLAG, &io));
	EXPECT_EQ(2, io.target_count);
	EXPECT_TRUE(io.flags & DM_READONLY_FLAG);
	EXPECT_TRUE(io.flags & DM_ACTIVE_PRESENT_FLAG);
	ASSERT_EQ(0, dmx_status(self->fd, name, &io));
	EXPECT_EQ(1, io.target_count);
	EXPECT_FALSE(io.flags & DM_READONLY_FLAG);
}

/* DM_IMA_MEASUREMENT_FLAG asks for the key=value form of each target. */
TEST_F(table, ima_flag_reports_key_value_status)
{
	char name[DM_NAME_LEN], lower[DM_NAME_LEN], params[64];
	struct dmx_line line = { 0, 64, "linear", params };
	struct dm_target_spec *spec;
	char expect[128];
	struct dmx_req r;
	uint64_t dev;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(lower, "imalow"), 128));
	dev = dmx_dev_of(self->fd, lower);
	snprintf(params, sizeof(params), "%u:%u 8", dmx_dev_major(dev),
		 dmx_dev_minor(dev));
	ASSERT_EQ(0, dmx_create_table(self->fd, dmx_name(name, "ima"), &line, 1));

	ASSERT_EQ(0, dmx_table_status(self->fd, name, DM_IMA_MEASUREMENT_FLAG, &r));
	spec = dmx_reply_spec(&r, 0);
	ASSERT_TRUE(spec != NULL);
	snprintf(expect, sizeof(expect),
		 "target_name=linear,target_version=1.4.0,device_name=%u:%u,start=8;",
		 dmx_dev_major(dev), dmx_dev_minor(dev));
	EXPECT_STREQ(expect, dmx_spec_params(spec));
}

TEST_F(table, status_without_table_has_no_targets)
{
	char name[DM_NAME_LEN];
	struct dmx_req r;

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "empty")));
	ASSERT_EQ(0, dmx_table_status(self->fd, name, 0, &r));
	EXPECT_EQ(0, r.io.target_count);
	ASSERT_EQ(0, dmx_table_status(self->fd, name,
				      DM_QUERY_INACTIVE_TABLE_FLAG, &r));
	EXPECT_EQ(0, r.io.target_count);
}

TEST_F(table, status_small_buffer_sets_buffer_full)
{
	static const struct dmx_line two[] = {
		{ 0, 100, "zero", "" },
		{ 100, 100, "error", "" },
	};
	char name[DM_NAME_LEN];
	struct dmx_req r;

	ASSERT_EQ(0, dmx_create_table(self->fd, dmx_name(name, "full"), two, 2));

	dmx_req_init(&r, name);
	r.io.data_size = sizeof(struct dm_ioctl);
	ASSERT_EQ(0, dmx_call(self->fd, DM_TABLE_STATUS, &r));
	EXPECT_TRUE(r.io.flags & DM_BUFFER_FULL_FLAG);
	EXPECT_EQ(2, r.io.target_count);

	/* Room for the first spec and its (empty) line, not the second. */
	dmx_req_init(&r, name);
	r.io.data_size = sizeof(struct dm_ioctl) +
			 sizeof(struct dm_target_spec) + 8 + 16;
	ASSERT_EQ(0, dmx_call(self->fd, DM_TABLE_STATUS, &r));
	EXPECT_TRUE(r.io.flags & DM_BUFFER_FULL_FLAG);
	EXPECT_EQ(2, r.io.target_count);

	ASSERT_EQ(0, dmx_table_status(self->fd, name, 0, &r));
	EXPECT_FALSE(r.io.flags & DM_BUFFER_FULL_FLAG);
}

TEST_F(table, status_unknown_device_is_enxio)
{
	struct dmx_req r;

	EXPECT_EQ(-ENXIO, dmx_table_status(self->fd, "dmxt-no-such-device", 0,
					   &r));
}

/* --- DM_SECURE_DATA_FLAG --------------------------------------------------- */

#define SECRET "dmxt-secret-key-0123456789abcdef"

static bool all_zero(const char *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

/* The table line, with its key, is wiped from the caller's buffer. */
TEST_F(table, secure_data_wipes_table_from_buffer)
{
	struct dmx_line line = { 0, 100, "error", SECRET };
	char name[DM_NAME_LEN];
	size_t header = offsetof(struct dm_ioctl, data);
	struct dmx_req r;

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "secure")));
	ASSERT_EQ(0, dmx_req_table(&r, name, &line, 1));
	r.io.flags = DM_SECURE_DATA_FLAG;
	ASSERT_TRUE(memmem(r.data, r.pos, SECRET, strlen(SECRET)) != NULL);
	ASSERT_EQ(0, dmx_call(self->fd, DM_TABLE_LOAD, &r));

	/* The reply header came back; all past it is zero. */
	EXPECT_STREQ(name, r.io.name);
	EXPECT_TRUE(r.io.flags & DM_INACTIVE_PRESENT_FLAG);
	EXPECT_FALSE(r.io.flags & DM_SECURE_DATA_FLAG);
	EXPECT_TRUE(all_zero((char *)&r.io + header,
			     offsetof(struct dmx_req, pos) - header));
}

/* A failed request is wiped too, header included, and nothing beyond it. */
TEST_F(table, secure_data_wipes_buffer_on_failure)
{
	struct dmx_line line = { 0, 100, "error", SECRET };
	struct dmx_req r;
	size_t size;

	ASSERT_EQ(0, dmx_req_table(&r, "dmxt-no-such-device", &line, 1));
	r.io.flags = DM_SECURE_DATA_FLAG;
	size = r.io.data_start + r.pos;
	r.io.data_size = size;
	memset(r.data + r.pos, 0xaa, 64);
	EXPECT_EQ(-ENXIO, dmx_call(self->fd, DM_TABLE_LOAD, &r));
	EXPECT_TRUE(all_zero((char *)&r.io, size));
	EXPECT_EQ((char)0xaa, r.data[r.pos]);
	EXPECT_EQ((char)0xaa, r.data[r.pos + 63]);
}

TEST_HARNESS_MAIN
