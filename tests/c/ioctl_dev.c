// SPDX-License-Identifier: GPL-2.0
/*
 * Device commands of the dm ioctl v4 interface: create, remove,
 * rename (name and uuid), lookups by name, uuid and dev, persistent
 * minors, LIST_DEVICES, REMOVE_ALL, deferred removal, status flags and
 * geometry.
 */
#define _GNU_SOURCE
#include <linux/hdreg.h>

#include "kselftest_harness.h"
#include "dmx_test.h"

FIXTURE(dev) {
	int fd;
};

DMX_SETUP_AND_TEARDOWN(dev)

/* --- create and lookup ---------------------------------------------------- */

TEST_F(dev, create_reports_new_device)
{
	char name[DM_NAME_LEN];
	struct dm_ioctl io;

	ASSERT_EQ(0, dmx_create_ex(self->fd, dmx_name(name, "new"),
				   "dmxt-new-uuid", 0, 0, &io));
	EXPECT_STREQ(name, io.name);
	EXPECT_STREQ("dmxt-new-uuid", io.uuid);
	EXPECT_NE(0, dmx_dev_major(io.dev));
	EXPECT_EQ(0, io.open_count);
	EXPECT_EQ(0, io.target_count);
	EXPECT_EQ(0, io.event_nr);
	EXPECT_FALSE(io.flags & (DM_ACTIVE_PRESENT_FLAG |
				 DM_INACTIVE_PRESENT_FLAG | DM_SUSPEND_FLAG |
				 DM_READONLY_FLAG)) TH_LOG("flags %#x", io.flags);
}

TEST_F(dev, create_duplicate_name_is_ebusy)
{
	char name[DM_NAME_LEN];
	struct dm_ioctl io;

	ASSERT_EQ(0, dmx_create_ex(self->fd, dmx_name(name, "dup"),
				   "dmxt-dup-1", 0, 0, NULL));
	EXPECT_EQ(-EBUSY, dmx_create_ex(self->fd, name, "dmxt-dup-2", 0, 0,
					NULL));
	EXPECT_EQ(-EBUSY, dmx_create(self->fd, name));
	/* The first one is untouched and the second uuid is not taken. */
	ASSERT_EQ(0, dmx_status(self->fd, name, &io));
	EXPECT_STREQ("dmxt-dup-1", io.uuid);
	EXPECT_EQ(0, dmx_create_ex(self->fd, dmx_name(name, "dup2"),
				   "dmxt-dup-2", 0, 0, NULL));
}

TEST_F(dev, create_duplicate_uuid_is_ebusy)
{
	char a[DM_NAME_LEN], b[DM_NAME_LEN];
	struct dmx_req r;

	ASSERT_EQ(0, dmx_create_ex(self->fd, dmx_name(a, "uuid-a"),
				   "dmxt-same-uuid", 0, 0, NULL));
	EXPECT_EQ(-EBUSY, dmx_create_ex(self->fd, dmx_name(b, "uuid-b"),
					"dmxt-same-uuid", 0, 0, NULL));
	EXPECT_EQ(-ENXIO, dmx_status(self->fd, b, NULL));
	dmx_req_init_uuid(&r, "dmxt-same-uuid");
	ASSERT_EQ(0, dmx_call(self->fd, DM_DEV_STATUS, &r));
	EXPECT_STREQ(a, r.io.name);
}

TEST_F(dev, create_assigns_distinct_devs)
{
	char a[DM_NAME_LEN], b[DM_NAME_LEN];
	struct dm_ioctl ia, ib;

	ASSERT_EQ(0, dmx_create_ex(self->fd, dmx_name(a, "a"), NULL, 0, 0, &ia));
	ASSERT_EQ(0, dmx_create_ex(self->fd, dmx_name(b, "b"), NULL, 0, 0, &ib));
	EXPECT_EQ(dmx_dev_major(ia.dev), dmx_dev_major(ib.dev));
	EXPECT_NE(ia.dev, ib.dev);
}

TEST_F(dev, lookup_by_uuid_and_by_dev)
{
	char name[DM_NAME_LEN];
	struct dm_ioctl io;
	struct dmx_req r;

	ASSERT_EQ(0, dmx_create_ex(self->fd, dmx_name(name, "look"),
				   "dmxt-look-uuid", 0, 0, &io));

	dmx_req_init_uuid(&r, "dmxt-look-uuid");
	ASSERT_EQ(0, dmx_call(self->fd, DM_DEV_STATUS, &r));
	EXPECT_STREQ(name, r.io.name);
	EXPECT_EQ(io.dev, r.io.dev);

	dmx_req_init(&r, NULL);
	r.io.dev = io.dev;
	ASSERT_EQ(0, dmx_call(self->fd, DM_DEV_STATUS, &r));
	EXPECT_STREQ(name, r.io.name);
	EXPECT_STREQ("dmxt-look-uuid", r.io.uuid);
}

TEST_F(dev, status_of_unknown_device_is_enxio)
{
	char name[DM_NAME_LEN];
	struct dm_ioctl io;
	struct dmx_req r;

	EXPECT_EQ(-ENXIO, dmx_status(self->fd, "dmxt-no-such-device", NULL));
	dmx_req_init_uuid(&r, "dmxt-no-such-uuid");
	EXPECT_EQ(-ENXIO, dmx_call(self->fd, DM_DEV_STATUS, &r));

	/* A dev that is not ours: right major, unused minor; wrong major. */
	ASSERT_EQ(0, dmx_create_ex(self->fd, dmx_name(name, "x"), NULL, 0, 0,
				   &io));
	dmx_req_init(&r, NULL);
	r.io.dev = dmx_encode_dev(dmx_dev_major(io.dev), 0xfffff);
	EXPECT_EQ(-ENXIO, dmx_call(self->fd, DM_DEV_STATUS, &r));
	dmx_req_init(&r, NULL);
	r.io.dev = dmx_encode_dev(1, dmx_dev_minor(io.dev));
	EXPECT_EQ(-ENXIO, dmx_call(self->fd, DM_DEV_STATUS, &r));
}

/* --- persistent minors -------------------------------------------------- */

TEST_F(dev, persistent_dev_flag_uses_given_minor)
{
	unsigned int minor = 4000 + getpid() % 4000;
	char a[DM_NAME_LEN], b[DM_NAME_LEN];
	struct dm_ioctl io;

	ASSERT_EQ(0, dmx_create_ex(self->fd, dmx_name(a, "pers"), NULL,
				   DM_PERSISTENT_DEV_FLAG,
				   dmx_encode_dev(0, minor), &io));
	EXPECT_EQ(minor, dmx_dev_minor(io.dev));
	EXPECT_NE(0, dmx_dev_major(io.dev));
	EXPECT_EQ(io.dev, dmx_dev_of(self->fd, a));

	/*
	 * The minor is taken now.  v4 answers ENXIO here (dm_create()
	 * cannot allocate the device), not EBUSY as for a taken name.
	 */
	EXPECT_EQ(-ENXIO, dmx_create_ex(self->fd, dmx_name(b, "pers2"), NULL,
					DM_PERSISTENT_DEV_FLAG,
					dmx_encode_dev(0, minor), NULL));
	EXPECT_EQ(-ENXIO, dmx_status(self->fd, b, NULL));

	/* And free again once the device is gone. */
	ASSERT_EQ(0, dmx_remove(self->fd, a));
	EXPECT_EQ(0, dmx_create_ex(self->fd, b, NULL, DM_PERSISTENT_DEV_FLAG,
				   dmx_encode_dev(0, minor), &io));
	EXPECT_EQ(minor, dmx_dev_minor(io.dev));
}

/* Without the flag, dev is not a request for a minor. */
TEST_F(dev, dev_ignored_without_persistent_flag)
{
	unsigned int minor = 9000 + getpid() % 4000;
	char name[DM_NAME_LEN];
	struct dm_ioctl io;

	ASSERT_EQ(0, dmx_create_ex(self->fd, dmx_name(name, "nopers"), NULL,
				   0, dmx_encode_dev(0, minor), &io));
	EXPECT_NE(minor, dmx_dev_minor(io.dev));
}

/* --- remove --------------------------------------------------------------- */

TEST_F(dev, remove_unknown_device_is_enxio)
{
	struct dmx_req r;

	EXPECT_EQ(-ENXIO, dmx_remove(self->fd, "dmxt-no-such-device"));
	dmx_req_init_uuid(&r, "dmxt-no-such-uuid");
	EXPECT_EQ(-ENXIO, dmx_call(self->fd, DM_DEV_REMOVE, &r));
}

TEST_F(dev, remove_by_name_uuid_and_dev)
{
	char a[DM_NAME_LEN], b[DM_NAME_LEN], c[DM_NAME_LEN];
	struct dm_ioctl io;
	struct dmx_req r;

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(a, "byname")));
	ASSERT_EQ(0, dmx_create_ex(self->fd, dmx_name(b, "byuuid"),
				   "dmxt-byuuid", 0, 0, NULL));
	ASSERT_EQ(0, dmx_create_ex(self->fd, dmx_name(c, "bydev"), NULL, 0, 0,
				   &io));

	EXPECT_EQ(0, dmx_remove(self->fd, a));
	EXPECT_EQ(-ENXIO, dmx_status(self->fd, a, NULL));

	dmx_req_init_uuid(&r, "dmxt-byuuid");
	EXPECT_EQ(0, dmx_call(self->fd, DM_DEV_REMOVE, &r));
	EXPECT_EQ(-ENXIO, dmx_status(self->fd, b, NULL));

	dmx_req_init(&r, NULL);
	r.io.dev = io.dev;
	EXPECT_EQ(0, dmx_call(self->fd, DM_DEV_REMOVE, &r));
	EXPECT_EQ(-ENXIO, dmx_status(self->fd, c, NULL));
}

TEST_F(dev, remove_open_device_is_ebusy)
{
	char name[DM_NAME_LEN];
	int bfd;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "open"), 2048));
	bfd = dmx_open_name(self->fd, name, O_RDONLY);
	ASSERT_LE(0, bfd);
	EXPECT_EQ(-EBUSY, dmx_remove(self->fd, name));
	EXPECT_EQ(0, dmx_status(self->fd, name, NULL));
	dmx_close_dev(bfd);
	EXPECT_EQ(0, dmx_remove(self->fd, name));
	EXPECT_EQ(-ENXIO, dmx_status(self->fd, name, NULL));
}

/* A removed device's name and uuid are free for reuse. */
TEST_F(dev, removed_name_and_uuid_are_reusable)
{
	char name[DM_NAME_LEN];

	ASSERT_EQ(0, dmx_create_ex(self->fd, dmx_name(name, "reuse"),
				   "dmxt-reuse", 0, 0, NULL));
	ASSERT_EQ(0, dmx_remove(self->fd, name));
	EXPECT_EQ(0, dmx_create_ex(self->fd, name, "dmxt-reuse", 0, 0, NULL));
}

/* --- rename -------------------------------------------------------------- */

TEST_F(dev, rename_changes_name_keeps_dev_and_uuid)
{
	char a[DM_NAME_LEN], b[DM_NAME_LEN];
	struct dm_ioctl io, out;

	ASSERT_EQ(0, dmx_create_ex(self->fd, dmx_name(a, "old"),
				   "dmxt-rename-uuid", 0, 0, &io));
	/* The reply is the device's status (its name field is not specified). */
	ASSERT_EQ(0, dmx_rename_flags(self->fd, a, dmx_name(b, "new"), 0,
				      &out));
	EXPECT_EQ(io.dev, out.dev);
	EXPECT_EQ(-ENXIO, dmx_status(self->fd, a, NULL));
	ASSERT_EQ(0, dmx_status(self->fd, b, &out));
	EXPECT_EQ(io.dev, out.dev);
	EXPECT_STREQ("dmxt-rename-uuid", out.uuid);
}

TEST_F(dev, rename_to_existing_name_is_ebusy)
{
	char a[DM_NAME_LEN], b[DM_NAME_LEN];

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(a, "a")));
	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(b, "b")));
	EXPECT_EQ(-EBUSY, dmx_rename(self->fd, a, b));
	EXPECT_EQ(-EBUSY, dmx_rename(self->fd, a, a));
	EXPECT_EQ(0, dmx_status(self->fd, a, NULL));
	EXPECT_EQ(0, dmx_status(self->fd, b, NULL));
}

TEST_F(dev, rename_missing_device_is_enxio)
{
	char b[DM_NAME_LEN];

	EXPECT_EQ(-ENXIO, dmx_rename(self->fd, "dmxt-no-such-device",
				     dmx_name(b, "b")));
	EXPECT_EQ(-ENXIO, dmx_status(self->fd, b, NULL));
}

TEST_F(dev, rename_to_bad_name_is_einval)
{
	char name[DM_NAME_LEN], longest[DM_NAME_LEN + 1];
	struct dmx_req r;

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "bad")));
	EXPECT_EQ(-EINVAL, dmx_rename(self->fd, name, ""));
	EXPECT_EQ(-EINVAL, dmx_rename(self->fd, name, "dmxt/slash"));

	/* 128 characters is one too many; 127 is fine. */
	memset(longest, 'l', DM_NAME_LEN);
	longest[DM_NAME_LEN] = '\0';
	memcpy(longest, "dmxt-", 5);
	dmx_req_init(&r, name);
	memcpy(r.data, longest, DM_NAME_LEN + 1);
	EXPECT_EQ(-EINVAL, dmx_call(self->fd, DM_DEV_RENAME, &r));

	/* A new name running into the end of the request. */
	dmx_req_init(&r, name);
	memset(r.data, 'x', 16);
	r.io.data_size = r.io.data_start + 16;
	EXPECT_EQ(-EINVAL, dmx_call(self->fd, DM_DEV_RENAME, &r));

	EXPECT_EQ(0, dmx_status(self->fd, name, NULL));
	longest[DM_NAME_LEN - 1] = '\0';
	EXPECT_EQ(0, dmx_rename(self->fd, name, longest));
	EXPECT_EQ(0, dmx_status(self->fd, longest, NULL));
}

TEST_F(dev, rename_uuid_flag_sets_uuid_once)
{
	char name[DM_NAME_LEN];
	struct dm_ioctl out;
	struct dmx_req r;

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "setuuid")));
	ASSERT_EQ(0, dmx_rename_flags(self->fd, name, "dmxt-set-uuid",
				      DM_UUID_FLAG, &out));
	ASSERT_EQ(0, dmx_status(self->fd, name, &out));
	EXPECT_STREQ("dmxt-set-uuid", out.uuid);

	dmx_req_init_uuid(&r, "dmxt-set-uuid");
	ASSERT_EQ(0, dmx_call(self->fd, DM_DEV_STATUS, &r));
	EXPECT_STREQ(name, r.io.name);

	/* A uuid, once set, stays. */
	EXPECT_EQ(-EINVAL, dmx_rename_flags(self->fd, name, "dmxt-other-uuid",
					    DM_UUID_FLAG, NULL));
	ASSERT_EQ(0, dmx_status(self->fd, name, &out));
	EXPECT_STREQ("dmxt-set-uuid", out.uuid);
	dmx_req_init_uuid(&r, "dmxt-other-uuid");
	EXPECT_EQ(-ENXIO, dmx_call(self->fd, DM_DEV_STATUS, &r));
}

TEST_F(dev, rename_uuid_created_with_uuid_is_einval)
{
	char name[DM_NAME_LEN];

	ASSERT_EQ(0, dmx_create_ex(self->fd, dmx_name(name, "hasuuid"),
				   "dmxt-has-uuid", 0, 0, NULL));
	EXPECT_EQ(-EINVAL, dmx_rename_flags(self->fd, name, "dmxt-new-uuid",
					    DM_UUID_FLAG, NULL));
}

TEST_F(dev, rename_uuid_to_existing_uuid_is_ebusy)
{
	char a[DM_NAME_LEN], b[DM_NAME_LEN];
	struct dm_ioctl out;

	ASSERT_EQ(0, dmx_create_ex(self->fd, dmx_name(a, "a"), "dmxt-taken",
				   0, 0, NULL));
	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(b, "b")));
	EXPECT_EQ(-EBUSY, dmx_rename_flags(self->fd, b, "dmxt-taken",
					   DM_UUID_FLAG, NULL));
	ASSERT_EQ(0, dmx_status(self->fd, b, &out));
	EXPECT_STREQ("", out.uuid);
}

/* --- LIST_DEVICES ------------------------------------------------------- */

struct listed {
	uint64_t dev;
	const char *name;
	uint32_t event_nr;
	uint32_t flags;
	const char *uuid;	/* NULL unless DM_NAME_LIST_FLAG_HAS_UUID */
};

static inline void *align8(void *p)
{
	return (void *)(((uintptr_t)p + 7) & ~(uintptr_t)7);
}

/*
 * Walks a LIST_DEVICES reply (4.46 layout: after the name, 8-aligned, a
 * u32 event number, a u32 of flags, then the uuid if flagged) and
 * returns how many records it holds; the one called name goes to *out.
 * -1 if a record runs past data_size.
 */
static int walk_list(struct dmx_req *r, const char *name, struct listed *out)
{
	char *base = (char *)&r->io + r->io.data_start;
	char *end = (char *)&r->io + r->io.data_size;
	struct dm_name_list *nl = (struct dm_name_list *)base;
	int n = 0;

	if (end - base < (long)sizeof(*nl) || !nl->dev)
		return 0;
	for (;;) {
		uint32_t *tail = align8(nl->name + strlen(nl->name) + 1);
		char *uuid = align8(tail + 2);

		if ((char *)(tail + 2) > end)
			return -1;
		n++;
		if (name && !strcmp(nl->name, name)) {
			out->dev = nl->dev;
			out->name = nl->name;
			out->event_nr = tail[0];
			out->flags = tail[1];
			out->uuid = tail[1] & DM_NAME_LIST_FLAG_HAS_UUID ?
				    uuid : NULL;
			if (out->uuid && uuid + strlen(uuid) + 1 > end)
				return -1;
		}
		if (!nl->next)
			return n;
		nl = (struct dm_name_list *)((char *)nl + nl->next);
		if ((char *)nl->name > end)
			return -1;
	}
}

static int list_devices(int fd, unsigned int flags, const char *prefix,
			struct dmx_req *r)
{
	dmx_req_init(r, prefix);
	r->io.flags = flags;
	return dmx_call(fd, DM_LIST_DEVICES, r);
}

TEST_F(dev, list_devices_reports_dev_and_event_nr)
{
	char a[DM_NAME_LEN], b[DM_NAME_LEN], prefix[DM_NAME_LEN];
	struct dm_ioctl ia, ib;
	struct listed la, lb;
	struct dmx_req r;

	ASSERT_EQ(0, dmx_create_ex(self->fd, dmx_name(a, "list-a"), "dmxt-la",
				   0, 0, &ia));
	ASSERT_EQ(0, dmx_create_ex(self->fd, dmx_name(b, "list-b"), NULL, 0,
				   0, &ib));
	ASSERT_EQ(0, list_devices(self->fd, 0, NULL, &r));
	EXPECT_FALSE(r.io.flags & DM_BUFFER_FULL_FLAG);
	memset(&la, 0, sizeof(la));
	memset(&lb, 0, sizeof(lb));
	EXPECT_LE(2, walk_list(&r, a, &la));
	EXPECT_LE(2, walk_list(&r, b, &lb));
	ASSERT_TRUE(la.name && lb.name);
	EXPECT_EQ(ia.dev, la.dev);
	EXPECT_EQ(ib.dev, lb.dev);
	EXPECT_EQ(ia.event_nr, la.event_nr);
	/* Without DM_UUID_FLAG, neither flag is set and no uuid follows. */
	EXPECT_EQ(0, la.flags);
	EXPECT_EQ(0, lb.flags);

	/* A name prefix filters the list. */
	ASSERT_EQ(0, list_devices(self->fd, 0, dmx_name(prefix, "list-a"), &r));
	EXPECT_EQ(1, walk_list(&r, a, &la));
	ASSERT_EQ(0, list_devices(self->fd, 0, dmx_name(prefix, "list-"), &r));
	EXPECT_EQ(2, walk_list(&r, NULL, NULL));
	ASSERT_EQ(0, list_devices(self->fd, 0, dmx_name(prefix, "nomatch"), &r));
	EXPECT_EQ(0, walk_list(&r, NULL, NULL));
	EXPECT_EQ(r.io.data_start, r.io.data_size);
}

TEST_F(dev, list_devices_uuid_flag_adds_uuids)
{
	char a[DM_NAME_LEN], b[DM_NAME_LEN], prefix[DM_NAME_LEN];
	struct listed la, lb;
	struct dmx_req r;

	ASSERT_EQ(0, dmx_create_ex(self->fd, dmx_name(a, "uuid-a"),
				   "dmxt-listed-uuid", 0, 0, NULL));
	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(b, "uuid-b")));
	ASSERT_EQ(0, list_devices(self->fd, DM_UUID_FLAG,
				  dmx_name(prefix, "uuid-"), &r));
	memset(&la, 0, sizeof(la));
	memset(&lb, 0, sizeof(lb));
	ASSERT_EQ(2, walk_list(&r, a, &la));
	ASSERT_EQ(2, walk_list(&r, b, &lb));
	EXPECT_EQ(DM_NAME_LIST_FLAG_HAS_UUID, la.flags);
	ASSERT_TRUE(la.uuid != NULL);
	EXPECT_STREQ("dmxt-listed-uuid", la.uuid);
	EXPECT_EQ(DM_NAME_LIST_FLAG_DOESNT_HAVE_UUID, lb.flags);
	EXPECT_TRUE(lb.uuid == NULL);

	/* A uuid prefix filters too. */
	dmx_req_init(&r, NULL);
	strcpy(r.io.uuid, "dmxt-listed-");
	r.io.flags = DM_UUID_FLAG;
	ASSERT_EQ(0, dmx_call(self->fd, DM_LIST_DEVICES, &r));
	EXPECT_EQ(1, walk_list(&r, a, &la));
}

TEST_F(dev, list_devices_event_nr_follows_device)
{
	struct dmx_line zero = { 0, 8, "zero", "" };
	char a[DM_NAME_LEN], b[DM_NAME_LEN], prefix[DM_NAME_LEN];
	struct dm_ioctl io;
	struct listed l;
	struct dmx_req r;

	ASSERT_EQ(0, dmx_create_table(self->fd, dmx_name(a, "ev"), &zero, 1));
	/* A rename raises an event on a device with a live table. */
	ASSERT_EQ(0, dmx_rename(self->fd, a, dmx_name(b, "ev2")));
	ASSERT_EQ(0, dmx_status(self->fd, b, &io));
	EXPECT_LT(0, io.event_nr);
	ASSERT_EQ(0, list_devices(self->fd, 0, dmx_name(prefix, "ev2"), &r));
	memset(&l, 0, sizeof(l));
	ASSERT_EQ(1, walk_list(&r, b, &l));
	EXPECT_EQ(io.event_nr, l.event_nr);
}

TEST_F(dev, list_devices_small_buffer_sets_buffer_full)
{
	char a[DM_NAME_LEN], b[DM_NAME_LEN], prefix[DM_NAME_LEN];
	struct dmx_req r;

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(a, "full-a")));
	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(b, "full-b")));

	/* No room at all. */
	dmx_req_init(&r, dmx_name(prefix, "full-"));
	r.io.data_size = sizeof(struct dm_ioctl);
	ASSERT_EQ(0, dmx_call(self->fd, DM_LIST_DEVICES, &r));
	EXPECT_TRUE(r.io.flags & DM_BUFFER_FULL_FLAG);

	/* Room for one record of two. */
	dmx_req_init(&r, prefix);
	r.io.data_size = sizeof(struct dm_ioctl) + 64;
	ASSERT_EQ(0, dmx_call(self->fd, DM_LIST_DEVICES, &r));
	EXPECT_TRUE(r.io.flags & DM_BUFFER_FULL_FLAG);

	/* Enough room: no flag, both listed. */
	ASSERT_EQ(0, list_devices(self->fd, 0, prefix, &r));
	EXPECT_FALSE(r.io.flags & DM_BUFFER_FULL_FLAG);
	EXPECT_EQ(2, walk_list(&r, NULL, NULL));
}

/* --- REMOVE_ALL ------------------------------------------------------------ */

TEST_F(dev, remove_all_removes_unopened_devices)
{
	char a[DM_NAME_LEN], b[DM_NAME_LEN];
	struct dmx_line zero = { 0, 8, "zero", "" };
	struct dmx_req r;

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(a, "all-a")));
	ASSERT_EQ(0, dmx_create_table(self->fd, dmx_name(b, "all-b"), &zero, 1));
	ASSERT_EQ(0, dmx_load(self->fd, b, &zero, 1));
	dmx_req_init(&r, NULL);
	ASSERT_EQ(0, dmx_call(self->fd, DM_REMOVE_ALL, &r));
	EXPECT_EQ(-ENXIO, dmx_status(self->fd, a, NULL));
	EXPECT_EQ(-ENXIO, dmx_status(self->fd, b, NULL));
}

/*
 * The removals of one REMOVE_ALL run side by side: when it returns,
 * every disk has left sysfs, and each stacked pair is gone too (the
 * lower one only once its upper one had closed it).
 */
TEST_F(dev, remove_all_returns_with_every_disk_gone)
{
	enum { PAIRS = 16 };
	char lower[DM_NAME_LEN], upper[DM_NAME_LEN], tag[16], path[48];
	char devno[PAIRS * 2][24];
	struct dmx_line line = { 0, 8, "linear", NULL };
	struct dmx_req r;
	unsigned int i;

	for (i = 0; i < PAIRS; i++) {
		snprintf(tag, sizeof(tag), "rall-l%u", i);
		ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(lower, tag), 8));
		ASSERT_EQ(0, dmx_devno(self->fd, lower, devno[2 * i], 20));
		strcat(devno[2 * i], " 0");
		line.params = devno[2 * i];
		snprintf(tag, sizeof(tag), "rall-u%u", i);
		ASSERT_EQ(0, dmx_create_table(self->fd, dmx_name(upper, tag),
					      &line, 1));
		*strchr(devno[2 * i], ' ') = '\0';
		ASSERT_EQ(0, dmx_devno(self->fd, upper, devno[2 * i + 1], 20));
	}
	dmx_req_init(&r, NULL);
	ASSERT_EQ(0, dmx_call(self->fd, DM_REMOVE_ALL, &r));
	for (i = 0; i < PAIRS * 2; i++) {
		snprintf(path, sizeof(path), "/sys/dev/block/%.20s", devno[i]);
		EXPECT_NE(0, access(path, F_OK)) {
			TH_LOG("%s is still there", path);
		}
	}
	EXPECT_EQ(-ENXIO, dmx_status(self->fd, lower, NULL));
	EXPECT_EQ(-ENXIO, dmx_status(self->fd, upper, NULL));
}

TEST_F(dev, remove_all_leaves_open_devices)
{
	char a[DM_NAME_LEN], b[DM_NAME_LEN];
	struct dm_ioctl io;
	struct dmx_req r;
	int bfd;

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(a, "all-a")));
	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(b, "all-open"), 8));
	bfd = dmx_open_name(self->fd, b, O_RDONLY);
	ASSERT_LE(0, bfd);
	dmx_req_init(&r, NULL);
	ASSERT_EQ(0, dmx_call(self->fd, DM_REMOVE_ALL, &r));
	EXPECT_EQ(-ENXIO, dmx_status(self->fd, a, NULL));
	ASSERT_EQ(0, dmx_status(self->fd, b, &io));
	EXPECT_FALSE(io.flags & DM_DEFERRED_REMOVE);
	dmx_close_dev(bfd);
	/* Not marked: it stays after the last close. */
	EXPECT_EQ(0, dmx_status(self->fd, b, NULL));
}

TEST_F(dev, remove_all_deferred_marks_open_devices)
{
	char b[DM_NAME_LEN];
	struct dm_ioctl io;
	struct dmx_req r;
	int bfd;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(b, "all-def"), 8));
	bfd = dmx_open_name(self->fd, b, O_RDONLY);
	ASSERT_LE(0, bfd);
	dmx_req_init(&r, NULL);
	r.io.flags = DM_DEFERRED_REMOVE;
	ASSERT_EQ(0, dmx_call(self->fd, DM_REMOVE_ALL, &r));
	ASSERT_EQ(0, dmx_status(self->fd, b, &io));
	EXPECT_TRUE(io.flags & DM_DEFERRED_REMOVE);
	dmx_close_dev(bfd);
	EXPECT_EQ(0, dmx_wait_gone(self->fd, b, DMX_FINISH_MS));
}

/* --- deferred remove ------------------------------------------------------ */

TEST_F(dev, deferred_remove_of_open_device_sets_flag)
{
	char name[DM_NAME_LEN];
	struct dm_ioctl io;
	int bfd;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "def"), 8));
	bfd = dmx_open_name(self->fd, name, O_RDONLY);
	ASSERT_LE(0, bfd);
	ASSERT_EQ(0, dmx_status(self->fd, name, &io));
	EXPECT_FALSE(io.flags & DM_DEFERRED_REMOVE);

	EXPECT_EQ(0, dmx_remove_flags(self->fd, name, DM_DEFERRED_REMOVE));
	ASSERT_EQ(0, dmx_status(self->fd, name, &io));
	EXPECT_TRUE(io.flags & DM_DEFERRED_REMOVE);
	EXPECT_EQ(1, io.open_count);
	/* A plain remove is still refused while it is open. */
	EXPECT_EQ(-EBUSY, dmx_remove(self->fd, name));
}

TEST_F(dev, deferred_remove_happens_on_last_close)
{
	char name[DM_NAME_LEN];
	int fd1, fd2;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "def"), 8));
	fd1 = dmx_open_name(self->fd, name, O_RDONLY);
	ASSERT_LE(0, fd1);
	fd2 = dmx_open_name(self->fd, name, O_RDONLY);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, dmx_remove_flags(self->fd, name, DM_DEFERRED_REMOVE));
	dmx_close_dev(fd1);
	/* Still open once: still there. */
	EXPECT_EQ(0, dmx_status(self->fd, name, NULL));
	dmx_close_dev(fd2);
	EXPECT_EQ(0, dmx_wait_gone(self->fd, name, DMX_FINISH_MS));
}

TEST_F(dev, deferred_remove_of_closed_device_is_immediate)
{
	char name[DM_NAME_LEN];
	struct dmx_req r;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "def"), 8));
	dmx_req_init(&r, name);
	r.io.flags = DM_DEFERRED_REMOVE;
	ASSERT_EQ(0, dmx_call(self->fd, DM_DEV_REMOVE, &r));
	EXPECT_FALSE(r.io.flags & DM_DEFERRED_REMOVE);
	EXPECT_EQ(-ENXIO, dmx_status(self->fd, name, NULL));
	dmx_untrack(name);
}

/* --- status ---------------------------------------------------------------- */

TEST_F(dev, status_flags_follow_table_lifecycle)
{
	struct dmx_line zero = { 0, 64, "zero", "" };
	char name[DM_NAME_LEN];
	struct dm_ioctl io;

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "life")));
	ASSERT_EQ(0, dmx_status(self->fd, name, &io));
	EXPECT_FALSE(io.flags & (DM_ACTIVE_PRESENT_FLAG |
				 DM_INACTIVE_PRESENT_FLAG | DM_SUSPEND_FLAG));

	ASSERT_EQ(0, dmx_load(self->fd, name, &zero, 1));
	ASSERT_EQ(0, dmx_status(self->fd, name, &io));
	EXPECT_TRUE(io.flags & DM_INACTIVE_PRESENT_FLAG);
	EXPECT_FALSE(io.flags & DM_ACTIVE_PRESENT_FLAG);
	EXPECT_EQ(0, io.target_count);

	ASSERT_EQ(0, dmx_resume(self->fd, name));
	ASSERT_EQ(0, dmx_status(self->fd, name, &io));
	EXPECT_TRUE(io.flags & DM_ACTIVE_PRESENT_FLAG);
	EXPECT_FALSE(io.flags & (DM_INACTIVE_PRESENT_FLAG | DM_SUSPEND_FLAG |
				 DM_READONLY_FLAG));
	EXPECT_EQ(1, io.target_count);

	ASSERT_EQ(0, dmx_suspend(self->fd, name));
	ASSERT_EQ(0, dmx_status(self->fd, name, &io));
	EXPECT_TRUE(io.flags & DM_SUSPEND_FLAG);
	EXPECT_TRUE(io.flags & DM_ACTIVE_PRESENT_FLAG);

	ASSERT_EQ(0, dmx_resume(self->fd, name));
	ASSERT_EQ(0, dmx_status(self->fd, name, &io));
	EXPECT_FALSE(io.flags & DM_SUSPEND_FLAG);
}

TEST_F(dev, status_reports_open_count)
{
	char name[DM_NAME_LEN];
	struct dm_ioctl io;
	int fd1, fd2;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "opens"), 8));
	fd1 = dmx_open_name(self->fd, name, O_RDONLY);
	ASSERT_LE(0, fd1);
	fd2 = dmx_open_name(self->fd, name, O_RDONLY);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, dmx_status(self->fd, name, &io));
	EXPECT_EQ(2, io.open_count);
	dmx_close_dev(fd1);
	dmx_close_dev(fd2);
	ASSERT_EQ(0, dmx_status(self->fd, name, &io));
	EXPECT_EQ(0, io.open_count);
}

/* --- geometry ------------------------------------------------------------- */

static int set_geometry(int fd, const char *name, const char *geo)
{
	struct dmx_req r;

	dmx_req_init(&r, name);
	snprintf(r.data, sizeof(r.data), "%s", geo);
	return dmx_call(fd, DM_DEV_SET_GEOMETRY, &r);
}

static int get_geometry(int ctl, const char *name, struct hd_geometry *geo)
{
	int bfd = dmx_open_name(ctl, name, O_RDONLY);
	int ret;

	if (bfd < 0)
		return bfd;
	ret = dmx_ioctl(bfd, HDIO_GETGEO, geo);
	dmx_close_dev(bfd);
	return ret;
}

TEST_F(dev, set_geometry_is_reported_by_hdio_getgeo)
{
	char name[DM_NAME_LEN];
	struct hd_geometry geo;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "geo"), 4096));
	ASSERT_EQ(0, set_geometry(self->fd, name, "100 16 63 8"));
	memset(&geo, 0xff, sizeof(geo));
	ASSERT_EQ(0, get_geometry(self->fd, name, &geo));
	EXPECT_EQ(100, geo.cylinders);
	EXPECT_EQ(16, geo.heads);
	EXPECT_EQ(63, geo.sectors);
	EXPECT_EQ(8, geo.start);
}

TEST_F(dev, set_geometry_bad_input_is_einval)
{
	static const char * const bad[] = {
		"", "1 2 3", "1 2 3 4 5", "a b c d", "65536 1 1 0",
		"1 256 1 0", "1 1 256 0", "1 1 1 0x",
		/* start beyond cylinders * heads * sectors */
		"1 1 1 2",
	};
	char name[DM_NAME_LEN];
	struct dmx_req r;
	unsigned int i;

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "geo")));
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		EXPECT_EQ(-EINVAL, set_geometry(self->fd, name, bad[i]))
			TH_LOG("geometry #%u", i);

	/* Not terminated inside the request. */
	dmx_req_init(&r, name);
	memcpy(r.data, "1 1 1 0", 7);
	r.io.data_size = r.io.data_start + 7;
	EXPECT_EQ(-EINVAL, dmx_call(self->fd, DM_DEV_SET_GEOMETRY, &r));

	EXPECT_EQ(0, set_geometry(self->fd, name, "65535 255 255 0"));
}

TEST_F(dev, set_geometry_unknown_device_is_enxio)
{
	EXPECT_EQ(-ENXIO, set_geometry(self->fd, "dmxt-no-such-device",
				       "1 1 1 0"));
}

/* A table of another size invalidates the geometry; one of the same size keeps it. */
TEST_F(dev, geometry_cleared_when_size_changes)
{
	struct dmx_line same = { 0, 4096, "zero", "" };
	struct dmx_line bigger = { 0, 8192, "zero", "" };
	char name[DM_NAME_LEN];
	struct hd_geometry geo;

	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(name, "geo"), 4096));
	ASSERT_EQ(0, set_geometry(self->fd, name, "10 2 3 4"));

	ASSERT_EQ(0, dmx_load(self->fd, name, &same, 1));
	ASSERT_EQ(0, dmx_resume(self->fd, name));
	ASSERT_EQ(0, get_geometry(self->fd, name, &geo));
	EXPECT_EQ(10, geo.cylinders);
	EXPECT_EQ(4, geo.start);

	ASSERT_EQ(0, dmx_load(self->fd, name, &bigger, 1));
	ASSERT_EQ(0, dmx_resume(self->fd, name));
	memset(&geo, 0xff, sizeof(geo));
	ASSERT_EQ(0, get_geometry(self->fd, name, &geo));
	EXPECT_EQ(0, geo.cylinders);
	EXPECT_EQ(0, geo.heads);
	EXPECT_EQ(0, geo.sectors);
	EXPECT_EQ(0, geo.start);
}

TEST_HARNESS_MAIN
