// SPDX-License-Identifier: GPL-2.0
/*
 * Replies carry no stale kernel bytes.  Each test fills the caller's
 * whole buffer with a pattern, makes one command succeed (or fail),
 * and then looks at every byte the command does not document as an
 * answer:
 *   - beyond the reply's data_size, every byte is as the caller sent it;
 *   - inside it, the gaps between documented fields (after a string's
 *     NUL up to the next 8-byte record, the pad words of headers and
 *     dependency lists) are the caller's bytes or zero;
 *   - a failed command writes nothing but the version.
 * Anything else would be memory of the kernel's handed to user space.
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"
#include "dmx_test.h"

#define PATTERN		0xa5
#define REQ_SIZE	offsetof(struct dmx_req, pos)

/* The request as it was sent, which every untouched byte still equals. */
static struct dmx_req sent;

FIXTURE(reply) {
	int fd;
	char names[4][DM_NAME_LEN];
	char ram[48];
};

/*
 * Four devices whose names are 1 to 4 characters past the tag, so the
 * records of a device list end at every offset inside an 8-byte word;
 * the second has a uuid, the third a two-target table.
 */
FIXTURE_SETUP(reply)
{
	static const char *const tags[] = { "r", "rr", "rrr", "rrrr" };
	struct dmx_line two[2] = {
		{ 0, 64, "zero", "" },
		{ 64, 64, "linear", self->ram },
	};
	char params[32];
	unsigned int i;

	self->fd = dmx_open_control();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", DMX_CONTROL_PATH,
				      strerror(errno));
	ASSERT_EQ(0, dmx_ramdisks());
	ASSERT_EQ(0, dmx_ram(0, params, sizeof(params)));
	snprintf(self->ram, sizeof(self->ram), "%s 0", params);
	for (i = 0; i < 4; i++)
		dmx_name(self->names[i], tags[i]);
	ASSERT_EQ(0, dmx_create_zero(self->fd, self->names[0], 64));
	ASSERT_EQ(0, dmx_create_ex(self->fd, self->names[1], "DMXT-REPLY-UUID-7", 0, 0, NULL));
	ASSERT_EQ(0, dmx_create_table(self->fd, self->names[2], two, 2));
	ASSERT_EQ(0, dmx_create_zero(self->fd, self->names[3], 8));
}

FIXTURE_TEARDOWN(reply)
{
	dmx_cleanup(self->fd);
	close(self->fd);
}

/* A request whose every byte is the pattern but the ones set here. */
static void pattern_req(struct dmx_req *r, const char *name, uint32_t flags)
{
	memset(r, PATTERN, sizeof(*r));
	r->io.version[0] = DM_VERSION_MAJOR;
	r->io.version[1] = 0;
	r->io.version[2] = 0;
	r->io.data_size = REQ_SIZE;
	r->io.data_start = offsetof(struct dmx_req, data);
	r->io.flags = flags;
	r->io.event_nr = 0;
	r->io.dev = 0;
	r->io.target_count = 0;
	r->io.name[0] = '\0';
	r->io.uuid[0] = '\0';
	if (name)
		strcpy(r->io.name, name);
	r->pos = 0;
	r->last = NULL;
}

/* Bytes [from, to) of the reply: as sent, or zero if zero_ok. */
static int check_gap(struct __test_metadata *_metadata, const struct dmx_req *r,
		     size_t from, size_t to, bool zero_ok, const char *what)
{
	const unsigned char *p = (const unsigned char *)r;
	const unsigned char *q = (const unsigned char *)&sent;
	size_t i;

	for (i = from; i < to; i++) {
		if (p[i] == q[i] || (zero_ok && !p[i]))
			continue;
		TH_LOG("%s: byte %zu is 0x%02x, not the caller's 0x%02x",
		       what, i, p[i], q[i]);
		return -1;
	}
	return 0;
}

/* The header's own gaps: the pad word, name and uuid after their NUL. */
static void check_header(struct __test_metadata *_metadata, const struct dmx_req *r)
{
	const char *base = (const char *)r;
	size_t name_end = offsetof(struct dm_ioctl, name) +
			  strnlen(r->io.name, DM_NAME_LEN) + 1;
	size_t uuid_end = offsetof(struct dm_ioctl, uuid) +
			  strnlen(r->io.uuid, DM_UUID_LEN) + 1;

	(void)base;
	EXPECT_EQ(0, check_gap(_metadata, r, offsetof(struct dm_ioctl, padding),
			       offsetof(struct dm_ioctl, dev), true, "header padding"));
	EXPECT_EQ(0, check_gap(_metadata, r, name_end,
			       offsetof(struct dm_ioctl, uuid), true, "name tail"));
	EXPECT_EQ(0, check_gap(_metadata, r, uuid_end,
			       offsetof(struct dm_ioctl, data), true, "uuid tail"));
	EXPECT_EQ(0, check_gap(_metadata, r, offsetof(struct dm_ioctl, data),
			       sizeof(struct dm_ioctl), true, "header tail"));
}

/* Everything past the reply's data_size is the caller's, exactly. */
static void check_beyond(struct __test_metadata *_metadata, const struct dmx_req *r)
{
	ASSERT_LE(r->io.data_size, REQ_SIZE);
	EXPECT_EQ(0, check_gap(_metadata, r, r->io.data_size > sizeof(r->io) ?
			       r->io.data_size : sizeof(r->io), REQ_SIZE, false,
			       "beyond data_size"));
}

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static int call(int fd, unsigned int nr, struct dmx_req *r)
{
	sent = *r;
	return dmx_ioctl(fd, _IOWR(DM_IOCTL, nr, struct dm_ioctl), &r->io);
}

/* Commands that answer with the header alone. */
TEST_F(reply, header_only_replies_keep_callers_bytes)
{
	static const unsigned int cmds[] = {
		DM_DEV_STATUS_CMD, DM_DEV_SUSPEND_CMD, DM_TABLE_CLEAR_CMD,
		DM_DEV_ARM_POLL_CMD, DM_VERSION_CMD,
	};
	struct dmx_req r;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		pattern_req(&r, self->names[0], 0);
		ASSERT_EQ(0, call(self->fd, cmds[i], &r)) TH_LOG("command %u", cmds[i]);
		check_header(_metadata, &r);
		check_beyond(_metadata, &r);
	}

	pattern_req(&r, self->names[0], 0);
	ASSERT_EQ(0, dmx_req_add_target(&r, 0, 64, "zero", ""));
	ASSERT_EQ(0, call(self->fd, DM_TABLE_LOAD_CMD, &r));
	check_header(_metadata, &r);
	check_beyond(_metadata, &r);

	pattern_req(&r, NULL, 0);
	strcpy(r.io.uuid, "DMXT-REPLY-UUID-7");
	ASSERT_EQ(0, call(self->fd, DM_DEV_STATUS_CMD, &r));
	check_header(_metadata, &r);
	check_beyond(_metadata, &r);
}

TEST_F(reply, create_and_rename_replies_keep_callers_bytes)
{
	char name[DM_NAME_LEN], new[DM_NAME_LEN];
	struct dmx_req r;

	pattern_req(&r, dmx_name(name, "reply-new"), 0);
	ASSERT_EQ(0, call(self->fd, DM_DEV_CREATE_CMD, &r));
	dmx_track(name);
	check_header(_metadata, &r);
	check_beyond(_metadata, &r);

	pattern_req(&r, name, 0);
	strcpy(r.data, dmx_name(new, "reply-renamed"));
	ASSERT_EQ(0, call(self->fd, DM_DEV_RENAME_CMD, &r));
	dmx_retrack(name, new);
	check_header(_metadata, &r);
	check_beyond(_metadata, &r);
}

/* A failed command writes back its version and nothing else. */
TEST_F(reply, failed_command_writes_only_the_version)
{
	static const unsigned int cmds[] = {
		DM_DEV_STATUS_CMD, DM_TABLE_STATUS_CMD, DM_TABLE_DEPS_CMD,
		DM_DEV_REMOVE_CMD, DM_DEV_WAIT_CMD, DM_TARGET_MSG_CMD,
	};
	struct dmx_req r, copy;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		pattern_req(&r, "dmxt-reply-no-such-device", 0);
		copy = r;
		ASSERT_EQ(-ENXIO, call(self->fd, cmds[i], &r)) TH_LOG("command %u", cmds[i]);
		EXPECT_EQ(0, memcmp((char *)&r + sizeof(r.io.version),
				    (char *)&copy + sizeof(r.io.version),
				    REQ_SIZE - sizeof(r.io.version)))
			TH_LOG("command %u changed the buffer", cmds[i]);
	}
}

/*
 * Records: dev, next, name + NUL, gap, event_nr, flags, then with
 * DM_UUID_FLAG uuid + NUL and a gap.
 */
static void check_device_list(struct __test_metadata *_metadata,
			      const struct dmx_req *r, bool with_uuid)
{
	const char *base = (const char *)r;
	size_t off = r->io.data_start, end = r->io.data_size;
	unsigned int n = 0;

	check_header(_metadata, r);
	check_beyond(_metadata, r);
	for (;;) {
		const struct dm_name_list *nl = (const void *)(base + off);
		size_t name_end = off + offsetof(struct dm_name_list, name) +
				  strlen(nl->name) + 1;
		size_t tail = off + align8(name_end - off);
		const uint32_t *flags = (const void *)(base + tail + 4);
		size_t rec_end = tail + 8;

		ASSERT_LE(rec_end, end);
		EXPECT_EQ(0, check_gap(_metadata, r, name_end, tail, true, "after name"));
		if (with_uuid && (*flags & DM_NAME_LIST_FLAG_HAS_UUID)) {
			size_t uuid_end = rec_end + strlen(base + rec_end) + 1;

			EXPECT_EQ(0, check_gap(_metadata, r, uuid_end,
					       rec_end + align8(uuid_end - rec_end), true,
					       "after uuid"));
			rec_end += align8(uuid_end - rec_end);
		}
		n++;
		if (!nl->next) {
			EXPECT_EQ(0, check_gap(_metadata, r, rec_end, end, true,
					       "after the last record"));
			break;
		}
		ASSERT_GE(off + nl->next, rec_end);
		EXPECT_EQ(0, check_gap(_metadata, r, rec_end, off + nl->next, true,
				       "between records"));
		off += nl->next;
		ASSERT_LT(n, 1000);
	}
	EXPECT_LE(4, n);
}

TEST_F(reply, list_devices_reply_keeps_callers_bytes)
{
	struct dmx_req r;

	pattern_req(&r, NULL, 0);
	ASSERT_EQ(0, call(self->fd, DM_LIST_DEVICES_CMD, &r));
	ASSERT_FALSE(r.io.flags & DM_BUFFER_FULL_FLAG);
	check_device_list(_metadata, &r, false);

	pattern_req(&r, NULL, DM_UUID_FLAG);
	ASSERT_EQ(0, call(self->fd, DM_LIST_DEVICES_CMD, &r));
	ASSERT_FALSE(r.io.flags & DM_BUFFER_FULL_FLAG);
	check_device_list(_metadata, &r, true);
}

/* Records: next, version[3], name + NUL, gap to the next record. */
static void check_versions(struct __test_metadata *_metadata,
			   const struct dmx_req *r)
{
	const char *base = (const char *)r;
	size_t off = r->io.data_start;
	unsigned int n = 0;

	check_header(_metadata, r);
	check_beyond(_metadata, r);
	for (;;) {
		const struct dm_target_versions *v = (const void *)(base + off);
		size_t name_end = off + offsetof(struct dm_target_versions, name) +
				  strlen(v->name) + 1;
		size_t rec_end = off + align8(name_end - off);

		ASSERT_LE(rec_end, r->io.data_size);
		EXPECT_EQ(0, check_gap(_metadata, r, name_end, rec_end, true,
				       "after a type name"));
		if (!v->next)
			break;
		EXPECT_EQ(0, check_gap(_metadata, r, rec_end, off + v->next, true,
				       "between types"));
		off += v->next;
		ASSERT_LT(++n, 1000);
	}
}

TEST_F(reply, list_versions_reply_keeps_callers_bytes)
{
	struct dmx_req r;

	pattern_req(&r, NULL, 0);
	ASSERT_EQ(0, call(self->fd, DM_LIST_VERSIONS_CMD, &r));
	check_versions(_metadata, &r);

	pattern_req(&r, "linear", 0);
	ASSERT_EQ(0, call(self->fd, DM_GET_TARGET_VERSION_CMD, &r));
	check_versions(_metadata, &r);
}

/*
 * Specs: sector_start, length, status, next, target_type (its tail
 * after the NUL a gap), then the line + NUL and a gap to the next spec
 * (whose next counts from the first spec).
 */
static void check_specs(struct __test_metadata *_metadata, const struct dmx_req *r)
{
	const char *first = (const char *)r + r->io.data_start;
	size_t base = r->io.data_start, off = 0;
	unsigned int i;

	check_header(_metadata, r);
	check_beyond(_metadata, r);
	for (i = 0; i < r->io.target_count; i++) {
		const struct dm_target_spec *spec = (const void *)(first + off);
		size_t type_end = base + off + offsetof(struct dm_target_spec, target_type) +
				  strnlen(spec->target_type, DM_MAX_TYPE_NAME) + 1;
		size_t line = base + off + sizeof(*spec);
		size_t line_end = line + strlen(first + off + sizeof(*spec)) + 1;

		ASSERT_LE(line_end, r->io.data_size);
		EXPECT_EQ(0, check_gap(_metadata, r, type_end, line, true,
				       "after a target type"));
		if (i + 1 < r->io.target_count) {
			EXPECT_EQ(0, check_gap(_metadata, r, line_end, base + spec->next,
					       true, "after a table line"));
			off = spec->next;
		}
	}
}

TEST_F(reply, table_status_reply_keeps_callers_bytes)
{
	static const uint32_t modes[] = { 0, DM_STATUS_TABLE_FLAG };
	struct dmx_req r;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(modes); i++) {
		pattern_req(&r, self->names[2], modes[i]);
		ASSERT_EQ(0, call(self->fd, DM_TABLE_STATUS_CMD, &r));
		ASSERT_FALSE(r.io.flags & DM_BUFFER_FULL_FLAG);
		ASSERT_EQ(2, r.io.target_count);
		check_specs(_metadata, &r);
	}
}

TEST_F(reply, dev_wait_reply_keeps_callers_bytes)
{
	struct dmx_req r;

	pattern_req(&r, self->names[2], DM_STATUS_TABLE_FLAG);
	r.io.event_nr = 12345;	/* not the current one: no wait */
	ASSERT_EQ(0, call(self->fd, DM_DEV_WAIT_CMD, &r));
	ASSERT_EQ(2, r.io.target_count);
	check_specs(_metadata, &r);
}

/* count, a pad word, then count devices. */
TEST_F(reply, table_deps_reply_keeps_callers_bytes)
{
	const struct dm_target_deps *deps;
	struct dmx_req r;

	pattern_req(&r, self->names[2], 0);
	ASSERT_EQ(0, call(self->fd, DM_TABLE_DEPS_CMD, &r));
	deps = (const void *)((char *)&r + r.io.data_start);
	ASSERT_EQ(1, deps->count);
	EXPECT_EQ(r.io.data_start + sizeof(*deps) + sizeof(deps->dev[0]), r.io.data_size);
	check_header(_metadata, &r);
	check_beyond(_metadata, &r);
	EXPECT_EQ(0, check_gap(_metadata, &r, r.io.data_start + 4, r.io.data_start + 8,
			       true, "deps padding"));
}

/* A buffer too small for the answer: the flag, and no partial garbage. */
TEST_F(reply, full_buffer_replies_keep_callers_bytes)
{
	static const unsigned int cmds[] = {
		DM_LIST_DEVICES_CMD, DM_LIST_VERSIONS_CMD, DM_TABLE_STATUS_CMD,
		DM_TABLE_DEPS_CMD,
	};
	struct dmx_req r;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		pattern_req(&r, cmds[i] == DM_TABLE_STATUS_CMD ||
			    cmds[i] == DM_TABLE_DEPS_CMD ? self->names[2] : NULL, 0);
		r.io.data_size = sizeof(r.io) + 12;
		ASSERT_EQ(0, call(self->fd, cmds[i], &r)) TH_LOG("command %u", cmds[i]);
		EXPECT_TRUE(r.io.flags & DM_BUFFER_FULL_FLAG) TH_LOG("command %u", cmds[i]);
		check_header(_metadata, &r);
		/* What the kernel was given ends 12 bytes into the payload. */
		EXPECT_EQ(0, check_gap(_metadata, &r, sizeof(r.io) + 12, REQ_SIZE, false,
				       "beyond the caller's data_size"));
	}
}

TEST_HARNESS_MAIN
