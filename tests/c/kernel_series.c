// SPDX-License-Identifier: GPL-2.0
/*
 * What interface 4.48 (the kernel's own dm on 6.12) refuses and 4.47 (on
 * 6.1) lets through, which dmx follows on each kernel: the device names
 * "control", "." and "..", and target specs of a TABLE_LOAD that are not
 * 8-byte aligned or that overlap the parameters before them.
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"
#include "dmx_test.h"

static const char *const reserved[] = { "control", ".", ".." };

FIXTURE(series) {
	int fd;
	bool strict;	/* 4.48: 6.12 */
};

FIXTURE_SETUP(series)
{
	self->fd = dmx_open_control();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", DMX_CONTROL_PATH,
				      strerror(errno));
	self->strict = dmx_kernel_series() >= 612;
}

FIXTURE_TEARDOWN(series)
{
	dmx_cleanup(self->fd);
	close(self->fd);
}

TEST_F(series, create_with_reserved_name_is_einval_from_4_48)
{
	unsigned int i;
	int r;

	for (i = 0; i < ARRAY_SIZE(reserved); i++) {
		r = dmx_create(self->fd, reserved[i]);
		if (self->strict) {
			EXPECT_EQ(-EINVAL, r) TH_LOG("name \"%s\"", reserved[i]);
			EXPECT_EQ(-ENXIO, dmx_status(self->fd, reserved[i], NULL));
		} else {
			EXPECT_EQ(0, r) TH_LOG("name \"%s\"", reserved[i]);
			if (!r)
				EXPECT_EQ(0, dmx_remove(self->fd, reserved[i]));
		}
	}
}

TEST_F(series, rename_to_reserved_name_is_einval_from_4_48)
{
	char name[DM_NAME_LEN];
	unsigned int i;
	int r;

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "ren")));
	for (i = 0; i < ARRAY_SIZE(reserved); i++) {
		r = dmx_rename(self->fd, name, reserved[i]);
		if (self->strict) {
			EXPECT_EQ(-EINVAL, r) TH_LOG("name \"%s\"", reserved[i]);
			EXPECT_EQ(0, dmx_status(self->fd, name, NULL));
		} else {
			EXPECT_EQ(0, r) TH_LOG("name \"%s\"", reserved[i]);
			if (!r)
				EXPECT_EQ(0, dmx_rename(self->fd, reserved[i], name));
		}
	}
}

/*
 * Two zero targets whose second spec starts where it says, not where
 * libdevmapper would put it (the next 8-byte boundary after the first
 * spec's parameters).
 */
static int load_second_spec_at(int fd, const char *name, unsigned int at)
{
	static const struct dmx_line two[] = {
		{ 0, 256, "zero", "" },
		{ 256, 256, "zero", "" },
	};
	struct dm_target_spec *first, *second;
	struct dmx_req r;

	dmx_req_init(&r, name);
	if (dmx_req_add_lines(&r, two, 2))
		return -ENOSPC;
	first = (struct dm_target_spec *)r.data;
	second = (struct dm_target_spec *)(r.data + first->next);
	memmove(r.data + at, second, sizeof(*second) + 1);
	first->next = at;
	r.io.data_size = r.io.data_start + at + sizeof(*second) + 1;
	return dmx_call(fd, DM_TABLE_LOAD, &r);
}

TEST_F(series, misaligned_target_spec_is_einval_from_4_48)
{
	char name[DM_NAME_LEN];

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "align")));
	/* Past the first spec's parameters ("", one byte), not aligned. */
	EXPECT_EQ(self->strict ? -EINVAL : 0,
		  load_second_spec_at(self->fd, name,
				      sizeof(struct dm_target_spec) + 4));
}

/*
 * The second spec starts on the first spec's terminating NUL, which the
 * second spec's sector_start (256) has as its first byte: 4.47 reads
 * both, 4.48 refuses the overlap.
 */
TEST_F(series, target_spec_overlapping_parameters_is_einval_from_4_48)
{
	char name[DM_NAME_LEN];

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "overlap")));
	EXPECT_EQ(self->strict ? -EINVAL : 0,
		  load_second_spec_at(self->fd, name,
				      sizeof(struct dm_target_spec)));
}

/* As libdevmapper lays them out, every kernel takes them. */
TEST_F(series, aligned_target_specs_load_everywhere)
{
	char name[DM_NAME_LEN];

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "aligned")));
	EXPECT_EQ(0, load_second_spec_at(self->fd, name,
					 sizeof(struct dm_target_spec) + 8));
}

TEST_HARNESS_MAIN
