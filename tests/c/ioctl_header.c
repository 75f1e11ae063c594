// SPDX-License-Identifier: GPL-2.0
/*
 * The request header of the dm ioctl v4 interface: version handshake,
 * data_size and data_start checks, name and uuid validation, unknown
 * commands and the CAP_SYS_ADMIN requirement.
 */
#define _GNU_SOURCE
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "dmx_test.h"

/* The header without its trailing pad: the least a caller may send. */
#define MIN_SIZE	offsetof(struct dm_ioctl, data)

FIXTURE(hdr) {
	int fd;
};

DMX_SETUP_AND_TEARDOWN(hdr)

/*
 * The interface minor of the kernel's own dm, which dmx reports on the
 * same kernel: 4.47.0 on 6.1, 4.48.0 on 6.12 (0: a kernel we don't know).
 */
static __u32 kernel_dm_minor(void)
{
	switch (dmx_kernel_series()) {
	case 601:
		return 47;
	case 612:
		return 48;
	}
	return 0;
}

static void expect_our_version(struct __test_metadata *_metadata,
			       const struct dm_ioctl *io)
{
	EXPECT_EQ(DM_VERSION_MAJOR, io->version[0]);
	EXPECT_EQ(kernel_dm_minor(), io->version[1]);
	EXPECT_EQ(DM_VERSION_PATCHLEVEL, io->version[2]);
}

TEST_F(hdr, version_reports_the_kernels_dm_version)
{
	struct dmx_req r;

	dmx_req_init(&r, NULL);
	ASSERT_EQ(0, dmx_call(self->fd, DM_VERSION, &r));
	expect_our_version(_metadata, &r.io);
}

/* VERSION reads nothing past the version triple, whatever data_size says. */
TEST_F(hdr, version_reads_only_the_version_field)
{
	long page = sysconf(_SC_PAGESIZE);
	char *map;
	__u32 *v;

	map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(map != MAP_FAILED);
	ASSERT_EQ(0, mprotect(map + page, page, PROT_NONE));
	v = (__u32 *)(map + page - 3 * sizeof(__u32));
	v[0] = DM_VERSION_MAJOR;
	v[1] = 0;
	v[2] = 0;
	EXPECT_EQ(0, dmx_ioctl(self->fd, DM_VERSION, v));
	EXPECT_EQ(DM_VERSION_MAJOR, v[0]);
	EXPECT_EQ(kernel_dm_minor(), v[1]);
	EXPECT_EQ(DM_VERSION_PATCHLEVEL, v[2]);
	munmap(map, 2 * page);
}

TEST_F(hdr, version_written_back_on_other_commands)
{
	struct dmx_req r;

	dmx_req_init(&r, NULL);
	r.io.version[2] = 77;
	ASSERT_EQ(0, dmx_call(self->fd, DM_LIST_DEVICES, &r));
	expect_our_version(_metadata, &r.io);
}

TEST_F(hdr, older_minor_is_accepted)
{
	struct dmx_req r;

	dmx_req_init(&r, NULL);
	r.io.version[1] = 0;
	EXPECT_EQ(0, dmx_call(self->fd, DM_LIST_DEVICES, &r));
	dmx_req_init(&r, NULL);
	r.io.version[1] = kernel_dm_minor();
	r.io.version[2] = 999;
	EXPECT_EQ(0, dmx_call(self->fd, DM_LIST_DEVICES, &r));
}

TEST_F(hdr, wrong_major_is_einval_and_version_written_back)
{
	static const __u32 majors[] = { 0, 3, 5, 0xffffffff };
	struct dmx_req r;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(majors); i++) {
		dmx_req_init(&r, NULL);
		r.io.version[0] = majors[i];
		EXPECT_EQ(-EINVAL, dmx_call(self->fd, DM_VERSION, &r));
		expect_our_version(_metadata, &r.io);

		dmx_req_init(&r, NULL);
		r.io.version[0] = majors[i];
		EXPECT_EQ(-EINVAL, dmx_call(self->fd, DM_LIST_DEVICES, &r));
		expect_our_version(_metadata, &r.io);
	}
}

TEST_F(hdr, newer_minor_is_einval_and_version_written_back)
{
	char name[DM_NAME_LEN];
	struct dmx_req r;

	dmx_req_init(&r, NULL);
	r.io.version[1] = kernel_dm_minor() + 1;
	EXPECT_EQ(-EINVAL, dmx_call(self->fd, DM_VERSION, &r));
	expect_our_version(_metadata, &r.io);

	/* And nothing is done: the device is not created. */
	dmx_req_init(&r, dmx_name(name, "newer"));
	r.io.version[1] = kernel_dm_minor() + 1;
	EXPECT_EQ(-EINVAL, dmx_call(self->fd, DM_DEV_CREATE, &r));
	expect_our_version(_metadata, &r.io);
	EXPECT_EQ(-ENXIO, dmx_status(self->fd, name, NULL));
}

TEST_F(hdr, data_size_below_header_is_einval)
{
	static const __u32 sizes[] = { 0, 1, sizeof(__u32) * 3, MIN_SIZE - 1 };
	struct dmx_req r;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		dmx_req_init(&r, NULL);
		r.io.data_size = sizes[i];
		EXPECT_EQ(-EINVAL, dmx_call(self->fd, DM_LIST_DEVICES, &r))
			TH_LOG("data_size %u", sizes[i]);
		expect_our_version(_metadata, &r.io);
	}
}

/* The header without its 7 bytes of tail padding is a whole request. */
TEST_F(hdr, data_size_of_bare_header_is_accepted)
{
	char name[DM_NAME_LEN];
	struct dmx_req r;

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "bare")));
	dmx_req_init(&r, name);
	r.io.data_size = MIN_SIZE;
	EXPECT_EQ(0, dmx_call(self->fd, DM_DEV_STATUS, &r));
	EXPECT_STREQ(name, r.io.name);
}

/* Far beyond any bound: refused before anything is copied. */
TEST_F(hdr, data_size_above_bound_is_einval)
{
	struct dmx_req r;

	dmx_req_init(&r, NULL);
	r.io.data_size = 0xffffffff;
	EXPECT_EQ(-EINVAL, dmx_call(self->fd, DM_LIST_DEVICES, &r));
	dmx_req_init(&r, NULL);
	r.io.data_size = (1U << 30) + 1;
	EXPECT_EQ(-EINVAL, dmx_call(self->fd, DM_LIST_VERSIONS, &r));
}

/*
 * dmx bounds data_size at 64 MiB (stock dm-mod at 1 GiB).  DEV_STATUS
 * copies no payload, so the buffer need not be that large for the
 * check to be visible: 64 MiB is accepted (the unknown device gives
 * ENXIO), one byte more is EINVAL.  Stock accepts both.
 */
TEST_F(hdr, data_size_bound_is_64_mib)
{
	struct dmx_req r;

	dmx_req_init(&r, "dmxt-no-such-device");
	r.io.data_size = 64U << 20;
	EXPECT_EQ(-ENXIO, dmx_call(self->fd, DM_DEV_STATUS, &r));

	dmx_req_init(&r, "dmxt-no-such-device");
	r.io.data_size = (64U << 20) + 1;
	EXPECT_EQ(dmx_is_stock() ? -ENXIO : -EINVAL,
		  dmx_call(self->fd, DM_DEV_STATUS, &r));
}

/*
 * TABLE_LOAD, DEV_RENAME and DEV_SET_GEOMETRY of a new device, each
 * with its payload in place but data_start pointing past the end of
 * the request (past_end) or into the header: each is EINVAL, and
 * nothing is loaded or renamed.
 */
static void expect_bad_data_start_refused(struct __test_metadata *_metadata,
					  int fd, bool past_end)
{
	struct dmx_line zero = { 0, 8, "zero", "" };
	static const struct {
		unsigned long cmd;
		const char *payload;
	} cmds[] = {
		{ DM_TABLE_LOAD, NULL },
		{ DM_DEV_RENAME, "dmxt-new-name" },
		{ DM_DEV_SET_GEOMETRY, "1 1 1 0" },
	};
	char name[DM_NAME_LEN];
	struct dmx_req r;
	unsigned int i;

	ASSERT_EQ(0, dmx_create(fd, dmx_name(name, "start")));
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		if (cmds[i].payload) {
			dmx_req_init(&r, name);
			strcpy(r.data, cmds[i].payload);
		} else {
			ASSERT_EQ(0, dmx_req_table(&r, name, &zero, 1));
		}
		r.io.data_start = past_end ? r.io.data_size + 8 : 0;
		EXPECT_EQ(-EINVAL, dmx_call(fd, cmds[i].cmd, &r))
			TH_LOG("command %#lx", cmds[i].cmd);
	}
	ASSERT_EQ(0, dmx_status(fd, name, &r.io));
	EXPECT_FALSE(r.io.flags & DM_INACTIVE_PRESENT_FLAG);
}

TEST_F(hdr, data_start_past_data_size_is_einval)
{
	expect_bad_data_start_refused(_metadata, self->fd, true);
}

TEST_F(hdr, data_start_inside_header_is_einval)
{
	expect_bad_data_start_refused(_metadata, self->fd, false);
}

TEST_F(hdr, create_empty_name_is_einval)
{
	struct dmx_req r;

	dmx_req_init(&r, NULL);
	EXPECT_EQ(-EINVAL, dmx_call(self->fd, DM_DEV_CREATE, &r));
	dmx_req_init_uuid(&r, "dmxt-uuid-only");
	EXPECT_EQ(-EINVAL, dmx_call(self->fd, DM_DEV_CREATE, &r));
}

TEST_F(hdr, create_name_with_slash_is_einval)
{
	struct dmx_req r;

	dmx_req_init(&r, "dmxt/slash");
	EXPECT_EQ(-EINVAL, dmx_call(self->fd, DM_DEV_CREATE, &r));
	dmx_req_init(&r, "/");
	EXPECT_EQ(-EINVAL, dmx_call(self->fd, DM_DEV_CREATE, &r));
	EXPECT_EQ(-ENXIO, dmx_status(self->fd, "dmxt/slash", NULL));
}

TEST_F(hdr, create_longest_name_and_uuid_are_accepted)
{
	char name[DM_NAME_LEN], uuid[DM_UUID_LEN];
	struct dm_ioctl io;

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	memcpy(name, "dmxt-", 5);
	memset(uuid, 'u', sizeof(uuid) - 1);
	uuid[sizeof(uuid) - 1] = '\0';
	ASSERT_EQ(0, dmx_create_ex(self->fd, name, uuid, 0, 0, &io));
	EXPECT_STREQ(name, io.name);
	EXPECT_STREQ(uuid, io.uuid);
}

/*
 * A name filling all 128 bytes without a NUL: dmx refuses it (the
 * issue asks for EINVAL).  Stock dm-mod silently truncates it to 127
 * bytes instead; the test records that and cleans up.
 */
TEST_F(hdr, unterminated_name_is_einval)
{
	char cut[DM_NAME_LEN];
	struct dmx_req r;
	int ret;

	dmx_req_init(&r, NULL);
	memset(r.io.name, 'a', sizeof(r.io.name));
	memcpy(r.io.name, "dmxt-", 5);
	memcpy(cut, r.io.name, sizeof(cut) - 1);
	cut[sizeof(cut) - 1] = '\0';
	ret = dmx_call(self->fd, DM_DEV_CREATE, &r);
	if (dmx_is_stock()) {
		EXPECT_EQ(0, ret);
		if (!ret) {
			dmx_track(cut);
			EXPECT_STREQ(cut, r.io.name);
		}
		return;
	}
	EXPECT_EQ(-EINVAL, ret);
	EXPECT_EQ(-ENXIO, dmx_status(self->fd, cut, NULL));

	/* Lookups too. */
	dmx_req_init(&r, NULL);
	memset(r.io.name, 'a', sizeof(r.io.name));
	EXPECT_EQ(-EINVAL, dmx_call(self->fd, DM_DEV_STATUS, &r));
}

/* Same for a uuid filling all 129 bytes; stock truncates it to 128. */
TEST_F(hdr, unterminated_uuid_is_einval)
{
	char name[DM_NAME_LEN];
	struct dmx_req r;
	int ret;

	dmx_req_init(&r, dmx_name(name, "uuid"));
	memset(r.io.uuid, 'u', sizeof(r.io.uuid));
	ret = dmx_call(self->fd, DM_DEV_CREATE, &r);
	if (dmx_is_stock()) {
		EXPECT_EQ(0, ret);
		if (!ret) {
			dmx_track(name);
			EXPECT_EQ(DM_UUID_LEN - 1, strlen(r.io.uuid));
		}
		return;
	}
	EXPECT_EQ(-EINVAL, ret);
	EXPECT_EQ(-ENXIO, dmx_status(self->fd, name, NULL));
}

/* Every command but CREATE takes a name or a uuid, not both. */
TEST_F(hdr, name_and_uuid_together_is_einval)
{
	char name[DM_NAME_LEN];
	struct dmx_req r;

	ASSERT_EQ(0, dmx_create_ex(self->fd, dmx_name(name, "both"),
				   "dmxt-both-uuid", 0, 0, NULL));
	dmx_req_init(&r, name);
	strcpy(r.io.uuid, "dmxt-both-uuid");
	EXPECT_EQ(-EINVAL, dmx_call(self->fd, DM_DEV_STATUS, &r));
	dmx_req_init(&r, name);
	strcpy(r.io.uuid, "dmxt-both-uuid");
	EXPECT_EQ(-EINVAL, dmx_call(self->fd, DM_DEV_REMOVE, &r));
	EXPECT_EQ(0, dmx_status(self->fd, name, NULL));
}

TEST_F(hdr, no_name_uuid_or_dev_is_enxio)
{
	struct dmx_req r;

	dmx_req_init(&r, NULL);
	EXPECT_EQ(-ENXIO, dmx_call(self->fd, DM_DEV_STATUS, &r));
	dmx_req_init(&r, NULL);
	EXPECT_EQ(-ENXIO, dmx_call(self->fd, DM_DEV_REMOVE, &r));
}

/* A name and a dev together are ambiguous: no device matches. */
TEST_F(hdr, name_and_dev_together_is_enxio)
{
	char name[DM_NAME_LEN];
	struct dm_ioctl io;
	struct dmx_req r;

	ASSERT_EQ(0, dmx_create_ex(self->fd, dmx_name(name, "dev"), NULL, 0,
				   0, &io));
	dmx_req_init(&r, name);
	r.io.dev = io.dev;
	EXPECT_EQ(-ENXIO, dmx_call(self->fd, DM_DEV_STATUS, &r));
}

TEST_F(hdr, unknown_command_is_enotty)
{
	static const unsigned int nrs[] = {
		DM_GET_TARGET_VERSION_CMD + 1, 50, 0xff
	};
	struct dmx_req r;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(nrs); i++) {
		dmx_req_init(&r, NULL);
		EXPECT_EQ(-ENOTTY, dmx_call(self->fd,
					    _IOWR(DM_IOCTL, nrs[i], struct dm_ioctl),
					    &r)) TH_LOG("command %u", nrs[i]);
		/* The version check comes first and still answers. */
		expect_our_version(_metadata, &r.io);
	}
}

TEST_F(hdr, foreign_ioctl_type_is_enotty)
{
	struct dmx_req r;

	dmx_req_init(&r, NULL);
	EXPECT_EQ(-ENOTTY, dmx_call(self->fd, _IOWR('x', DM_VERSION_CMD,
						   struct dm_ioctl), &r));
	dmx_req_init(&r, NULL);
	EXPECT_EQ(-ENOTTY, dmx_ioctl(self->fd, 0x5401 /* TCGETS */, &r.io));
}

/* Only the type and number of the ioctl matter, as in every v4 kernel. */
TEST_F(hdr, ioctl_size_and_direction_bits_are_ignored)
{
	struct dmx_req r;

	dmx_req_init(&r, NULL);
	EXPECT_EQ(0, dmx_call(self->fd, _IO(DM_IOCTL, DM_VERSION_CMD), &r));
	expect_our_version(_metadata, &r.io);
	dmx_req_init(&r, NULL);
	EXPECT_EQ(0, dmx_call(self->fd, _IOR(DM_IOCTL, DM_LIST_DEVICES_CMD,
					     __u64), &r));
}

/* Output-only flags the caller sets are cleared, not echoed. */
TEST_F(hdr, output_flags_from_caller_are_cleared)
{
	char name[DM_NAME_LEN];
	struct dmx_req r;

	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "flags")));
	dmx_req_init(&r, name);
	r.io.flags = DM_BUFFER_FULL_FLAG | DM_UEVENT_GENERATED_FLAG |
		     DM_DATA_OUT_FLAG | DM_ACTIVE_PRESENT_FLAG |
		     DM_INACTIVE_PRESENT_FLAG | DM_SUSPEND_FLAG |
		     DM_READONLY_FLAG;
	ASSERT_EQ(0, dmx_call(self->fd, DM_DEV_STATUS, &r));
	EXPECT_FALSE(r.io.flags & (DM_BUFFER_FULL_FLAG |
				   DM_UEVENT_GENERATED_FLAG |
				   DM_DATA_OUT_FLAG | DM_ACTIVE_PRESENT_FLAG |
				   DM_INACTIVE_PRESENT_FLAG | DM_SUSPEND_FLAG |
				   DM_READONLY_FLAG)) TH_LOG("flags %#x", r.io.flags);
}

/* Drops CAP_SYS_ADMIN from every set of this (the test's own) process. */
static int drop_sys_admin(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &h, d))
		return -errno;
	d[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
	d[CAP_TO_INDEX(CAP_SYS_ADMIN)].permitted &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
	d[CAP_TO_INDEX(CAP_SYS_ADMIN)].inheritable &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
	if (syscall(SYS_capset, &h, d))
		return -errno;
	return 0;
}

/*
 * Without CAP_SYS_ADMIN every command, even VERSION, is EACCES, and the
 * caller's buffer is not touched (not even the version).
 */
TEST_F(hdr, without_cap_sys_admin_is_eacces)
{
	static const unsigned long cmds[] = {
		DM_VERSION, DM_LIST_DEVICES, DM_DEV_STATUS, DM_DEV_CREATE,
		DM_LIST_VERSIONS, _IOWR(DM_IOCTL, 50, struct dm_ioctl),
	};
	struct dmx_req r;
	unsigned int i;

	ASSERT_EQ(0, drop_sys_admin());
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		dmx_req_init(&r, "dmxt-nocap");
		r.io.version[2] = 1234;
		EXPECT_EQ(-EACCES, dmx_call(self->fd, cmds[i], &r))
			TH_LOG("command %#lx", cmds[i]);
		EXPECT_EQ(0, r.io.version[1]);
		EXPECT_EQ(1234, r.io.version[2]);
	}
	EXPECT_EQ(-EACCES, dmx_status(self->fd, "dmxt-nocap", NULL));
}

/* The same for an unprivileged user holding an fd opened by root. */
TEST_F(hdr, as_nobody_is_eacces)
{
	struct dmx_req r;

	ASSERT_EQ(0, setgid(65534));
	ASSERT_EQ(0, setuid(65534));
	dmx_req_init(&r, NULL);
	EXPECT_EQ(-EACCES, dmx_call(self->fd, DM_VERSION, &r));
	dmx_req_init(&r, NULL);
	EXPECT_EQ(-EACCES, dmx_call(self->fd, DM_LIST_DEVICES, &r));
}

TEST_HARNESS_MAIN
