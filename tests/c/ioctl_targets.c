// SPDX-License-Identifier: GPL-2.0
/*
 * Target types and messages in the dm ioctl v4 interface:
 * LIST_VERSIONS, GET_TARGET_VERSION and TARGET_MSG (routing to the
 * core's '@' messages or to the target holding a sector, and errors).
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"
#include "dmx_test.h"
#include "dmx_targets.h"

FIXTURE(tgt) {
	int fd;
};

DMX_SETUP_AND_TEARDOWN(tgt)

/* --- LIST_VERSIONS and GET_TARGET_VERSION -------------------------------- */

/*
 * Walks a versions reply: every record inside data_size, 8-aligned,
 * NUL-terminated, the last with next 0.  Returns the number of records
 * (-1 if malformed); the one called name is copied to *out.
 */
static int walk_versions(struct dmx_req *r, const char *name,
			 struct dm_target_versions *out)
{
	char *base = (char *)&r->io + r->io.data_start;
	char *end = (char *)&r->io + r->io.data_size;
	struct dm_target_versions *v = (struct dm_target_versions *)base;
	int n = 0;

	if (end - base < (long)sizeof(*v))
		return 0;
	for (;;) {
		if ((char *)(v + 1) >= end || (uintptr_t)v % 8 ||
		    !memchr(v->name, '\0', end - v->name))
			return -1;
		n++;
		if (name && out && !strcmp(v->name, name))
			*out = *v;
		if (!v->next)
			return n;
		v = (struct dm_target_versions *)((char *)v + v->next);
	}
}

static int list_versions(int fd, struct dmx_req *r)
{
	dmx_req_init(r, NULL);
	return dmx_call(fd, DM_LIST_VERSIONS, r);
}

static int get_target_version(int fd, const char *type, struct dmx_req *r)
{
	dmx_req_init(r, type);
	return dmx_call(fd, DM_GET_TARGET_VERSION, r);
}

/*
 * The stock dm lists a target once its module is loaded; asking for it
 * by name loads it (as a table naming it would).  dmx has them all.
 */
static void load_expected_targets(int fd)
{
	const struct dmx_target_version *t;
	struct dmx_req r;

	for (t = dmx_expected_targets; dmx_is_stock() && t->name; t++)
		get_target_version(fd, t->name, &r);
}

/* A versions reply lists the expected target t, at its exact version. */
static void expect_target(struct __test_metadata *_metadata,
			  struct dmx_req *r,
			  const struct dmx_target_version *t)
{
	const unsigned int *want = dmx_target_version_here(t);
	struct dm_target_versions v;

	/* Not listed: 0.0.0. */
	memset(&v, 0, sizeof(v));
	walk_versions(r, t->name, &v);
	EXPECT_EQ(0, memcmp(want, v.version, sizeof(v.version)))
		TH_LOG("%s: v%u.%u.%u, want v%u.%u.%u", t->name,
		       v.version[0], v.version[1], v.version[2],
		       want[0], want[1], want[2]);
}

TEST_F(tgt, list_versions_lists_builtin_targets)
{
	const struct dmx_target_version *t;
	struct dmx_req r;

	load_expected_targets(self->fd);
	ASSERT_EQ(0, list_versions(self->fd, &r));
	EXPECT_FALSE(r.io.flags & DM_BUFFER_FULL_FLAG);
	ASSERT_LT(0, walk_versions(&r, NULL, NULL));
	for (t = dmx_expected_targets; t->name; t++)
		expect_target(_metadata, &r, t);
}

TEST_F(tgt, list_versions_small_buffer_sets_buffer_full)
{
	struct dmx_req r;

	dmx_req_init(&r, NULL);
	r.io.data_size = sizeof(struct dm_ioctl);
	ASSERT_EQ(0, dmx_call(self->fd, DM_LIST_VERSIONS, &r));
	EXPECT_TRUE(r.io.flags & DM_BUFFER_FULL_FLAG);

	dmx_req_init(&r, NULL);
	r.io.data_size = sizeof(struct dm_ioctl) + 40;
	ASSERT_EQ(0, dmx_call(self->fd, DM_LIST_VERSIONS, &r));
	EXPECT_TRUE(r.io.flags & DM_BUFFER_FULL_FLAG);
}

TEST_F(tgt, get_target_version_reports_one_target)
{
	const struct dmx_target_version *t;
	struct dm_target_versions got;
	struct dmx_req r;

	for (t = dmx_expected_targets; t->name; t++) {
		memset(&got, 0xff, sizeof(got));
		ASSERT_EQ(0, get_target_version(self->fd, t->name, &r))
			TH_LOG("%s", t->name);
		EXPECT_FALSE(r.io.flags & DM_BUFFER_FULL_FLAG);
		EXPECT_EQ(1, walk_versions(&r, t->name, &got))
			TH_LOG("%s", t->name);
		EXPECT_EQ(0, got.next);
		expect_target(_metadata, &r, t);
	}
}

TEST_F(tgt, get_target_version_unknown_type_is_einval)
{
	struct dmx_req r;

	EXPECT_EQ(-EINVAL, get_target_version(self->fd, "dmxt-no-such-target",
					      &r));
	EXPECT_EQ(-EINVAL, get_target_version(self->fd, "", &r));
}

TEST_F(tgt, get_target_version_small_buffer_sets_buffer_full)
{
	struct dmx_req r;

	dmx_req_init(&r, "linear");
	r.io.data_size = sizeof(struct dm_ioctl);
	ASSERT_EQ(0, dmx_call(self->fd, DM_GET_TARGET_VERSION, &r));
	EXPECT_TRUE(r.io.flags & DM_BUFFER_FULL_FLAG);
}

/* --- TARGET_MSG --------------------------------------------------------- */

static int target_msg(int fd, const char *name, uint64_t sector,
		      const char *msg, struct dmx_req *r)
{
	struct dm_target_msg *m;

	dmx_req_init(r, name);
	m = (struct dm_target_msg *)r->data;
	m->sector = sector;
	snprintf(m->message, sizeof(r->data) - sizeof(*m), "%s", msg);
	return dmx_call(fd, DM_TARGET_MSG, r);
}

TEST_F(tgt, message_to_unknown_device_is_enxio)
{
	struct dmx_req r;

	EXPECT_EQ(-ENXIO, target_msg(self->fd, "dmxt-no-such-device", 0,
				     "hello", &r));
}

/* 6.1 refuses such a message; 6.12 drops it and says nothing. */
TEST_F(tgt, message_without_active_table_is_einval_on_6_1_dropped_on_6_12)
{
	struct dmx_line zero = { 0, 64, "zero", "" };
	int want = dmx_kernel_series() >= 612 ? 0 : -EINVAL;
	char name[DM_NAME_LEN];
	struct dmx_req r;

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "msg")));
	EXPECT_EQ(want, target_msg(self->fd, name, 0, "hello", &r));
	/* An inactive table does not count. */
	ASSERT_EQ(0, dmx_load(self->fd, name, &zero, 1));
	EXPECT_EQ(want, target_msg(self->fd, name, 0, "hello", &r));
}

/* None of linear, striped, error and zero takes messages. */
TEST_F(tgt, message_to_target_without_handler_is_einval)
{
	static const struct dmx_line lines[] = {
		{ 0, 64, "zero", "" },
		{ 64, 64, "error", "" },
	};
	char name[DM_NAME_LEN];
	struct dmx_req r;

	ASSERT_EQ(0, dmx_create_table(self->fd, dmx_name(name, "msg"), lines,
				      2));
	EXPECT_EQ(-EINVAL, target_msg(self->fd, name, 0, "hello", &r));
	EXPECT_EQ(-EINVAL, target_msg(self->fd, name, 100, "hello world", &r));
}

TEST_F(tgt, message_sector_outside_device_is_einval)
{
	char name[DM_NAME_LEN];
	struct dmx_req r;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "msg"), 64));
	EXPECT_EQ(-EINVAL, target_msg(self->fd, name, 64, "hello", &r));
	EXPECT_EQ(-EINVAL, target_msg(self->fd, name, ~0ULL, "hello", &r));
}

TEST_F(tgt, empty_message_is_einval)
{
	char name[DM_NAME_LEN];
	struct dmx_req r;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "msg"), 64));
	EXPECT_EQ(-EINVAL, target_msg(self->fd, name, 0, "", &r));
	EXPECT_EQ(-EINVAL, target_msg(self->fd, name, 0, "  \t ", &r));
}

TEST_F(tgt, unterminated_message_is_einval)
{
	char name[DM_NAME_LEN];
	struct dm_target_msg *m;
	struct dmx_req r;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "msg"), 64));
	dmx_req_init(&r, name);
	m = (struct dm_target_msg *)r.data;
	memset(m->message, 'm', 16);
	r.io.data_size = r.io.data_start + sizeof(*m) + 16;
	EXPECT_EQ(-EINVAL, dmx_call(self->fd, DM_TARGET_MSG, &r));
}

TEST_F(tgt, message_data_start_outside_is_einval)
{
	char name[DM_NAME_LEN];
	struct dmx_req r;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "msg"), 64));
	/* Past the end of the request. */
	dmx_req_init(&r, name);
	strcpy(r.data + 8, "@cancel_deferred_remove");
	r.io.data_start = r.io.data_size + 8;
	EXPECT_EQ(-EINVAL, dmx_call(self->fd, DM_TARGET_MSG, &r));
	/* Inside the header. */
	dmx_req_init(&r, name);
	strcpy(r.data + 8, "@cancel_deferred_remove");
	r.io.data_start = 0;
	EXPECT_EQ(-EINVAL, dmx_call(self->fd, DM_TARGET_MSG, &r));
	/* The sector fits, the message does not. */
	dmx_req_init(&r, name);
	r.io.data_start = r.io.data_size - sizeof(__u64);
	EXPECT_EQ(-EINVAL, dmx_call(self->fd, DM_TARGET_MSG, &r));
}

/* '@' messages are the core's; an unknown one is EINVAL. */
TEST_F(tgt, unknown_core_message_is_einval)
{
	char name[DM_NAME_LEN];
	struct dmx_req r;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "msg"), 64));
	EXPECT_EQ(-EINVAL, target_msg(self->fd, name, 0, "@dmxt_nonsense", &r));
	EXPECT_EQ(-EINVAL, target_msg(self->fd, name, 0, "@", &r));
}

TEST_F(tgt, cancel_deferred_remove_keeps_device)
{
	char name[DM_NAME_LEN];
	struct dm_ioctl io;
	struct dmx_req r;
	int bfd;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "msg"), 64));
	bfd = dmx_open_name(self->fd, name, O_RDONLY);
	ASSERT_LE(0, bfd);
	ASSERT_EQ(0, dmx_remove_flags(self->fd, name, DM_DEFERRED_REMOVE));
	ASSERT_EQ(0, dmx_status(self->fd, name, &io));
	ASSERT_TRUE(io.flags & DM_DEFERRED_REMOVE);

	/* The core's messages go by name, case-insensitively, at any sector. */
	ASSERT_EQ(0, target_msg(self->fd, name, 12345,
				"@Cancel_Deferred_Remove", &r));
	EXPECT_STREQ(name, r.io.name);
	EXPECT_FALSE(r.io.flags & (DM_DEFERRED_REMOVE | DM_DATA_OUT_FLAG));
	ASSERT_EQ(0, dmx_status(self->fd, name, &io));
	EXPECT_FALSE(io.flags & DM_DEFERRED_REMOVE);

	dmx_close_dev(bfd);
	/* Closing the last opener no longer removes it. */
	EXPECT_EQ(0, dmx_status(self->fd, name, NULL));
	EXPECT_EQ(0, dmx_remove(self->fd, name));
}

TEST_F(tgt, cancel_deferred_remove_without_one_pending)
{
	char name[DM_NAME_LEN];
	struct dmx_req r;

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "msg")));
	/* Core messages need no table. */
	EXPECT_EQ(0, target_msg(self->fd, name, 0, "@cancel_deferred_remove",
				&r));
	EXPECT_EQ(-EINVAL, target_msg(self->fd, name, 0,
				      "@cancel_deferred_remove now", &r));
}

TEST_HARNESS_MAIN
