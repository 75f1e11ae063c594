// SPDX-License-Identifier: GPL-2.0
/*
 * The control device obeys CAP_SYS_ADMIN, for every command: a caller
 * without it gets EACCES for each of the eighteen commands of v4, even
 * with a request that a privileged caller would see succeed, and
 * nothing changes: no device appears or goes, none is suspended,
 * renamed or given a table, and the caller's buffer is left as it was.
 * The unprivileged side of each test runs in a child, so that the
 * fixture's teardown keeps the privilege it needs.
 */
#define _GNU_SOURCE
#include <linux/capability.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "dmx_test.h"

FIXTURE(priv) {
	int fd;
	char name[DM_NAME_LEN];
	struct dm_ioctl before;
};

FIXTURE_SETUP(priv)
{
	self->fd = dmx_open_control();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", DMX_CONTROL_PATH,
				      strerror(errno));
	ASSERT_EQ(0, dmx_create_zero(self->fd, dmx_name(self->name, "priv"), 2048));
	ASSERT_EQ(0, dmx_status(self->fd, self->name, &self->before));
}

FIXTURE_TEARDOWN(priv)
{
	dmx_cleanup(self->fd);
	close(self->fd);
}

/* Drops CAP_SYS_ADMIN from every set of the calling process. */
static int drop_sys_admin(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	unsigned int i = CAP_TO_INDEX(CAP_SYS_ADMIN);

	if (syscall(SYS_capget, &h, d))
		return -errno;
	d[i].effective &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
	d[i].permitted &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
	d[i].inheritable &= ~CAP_TO_MASK(CAP_SYS_ADMIN);
	if (syscall(SYS_capset, &h, d))
		return -errno;
	return 0;
}

static int become_nobody(void)
{
	if (setgid(65534) || setuid(65534))
		return -errno;
	return 0;
}

/*
 * A request for command nr on name that would succeed for root: the
 * device exists with a zero table, is resumed and is not open.
 */
static void build_request(struct dmx_req *r, unsigned int nr, const char *name,
			  uint32_t event_nr)
{
	struct dm_target_msg *msg;
	char other[DM_NAME_LEN];

	switch (nr) {
	case DM_VERSION_CMD:
	case DM_REMOVE_ALL_CMD:
	case DM_LIST_DEVICES_CMD:
	case DM_LIST_VERSIONS_CMD:
	case DM_DEV_ARM_POLL_CMD:
		dmx_req_init(r, NULL);
		break;
	case DM_DEV_CREATE_CMD:
		dmx_req_init(r, dmx_name(other, "priv-new"));
		break;
	case DM_DEV_RENAME_CMD:
		dmx_req_init(r, name);
		snprintf(r->data, sizeof(r->data), "%s", dmx_name(other, "priv-renamed"));
		break;
	case DM_DEV_SUSPEND_CMD:
		dmx_req_init(r, name);
		r->io.flags = DM_SUSPEND_FLAG;
		break;
	case DM_DEV_WAIT_CMD:
		/* Another event number than the current one: no waiting. */
		dmx_req_init(r, name);
		r->io.event_nr = event_nr + 100;
		break;
	case DM_TABLE_LOAD_CMD:
		dmx_req_init(r, name);
		dmx_req_add_target(r, 0, 4096, "zero", "");
		break;
	case DM_TARGET_MSG_CMD:
		dmx_req_init(r, name);
		msg = (struct dm_target_msg *)r->data;
		msg->sector = 0;
		strcpy(msg->message, "@cancel_deferred_remove");
		break;
	case DM_DEV_SET_GEOMETRY_CMD:
		dmx_req_init(r, name);
		snprintf(r->data, sizeof(r->data), "1 1 1 0");
		break;
	case DM_GET_TARGET_VERSION_CMD:
		dmx_req_init(r, "zero");
		break;
	default:	/* remove, status, clear, deps, table status */
		dmx_req_init(r, name);
		break;
	}
}

struct unpriv_arg {
	int ctl;
	const char *name;
	uint32_t event_nr;
	int (*drop)(void);
};

/*
 * Every command, from a process that has dropped its privilege: the
 * number of commands that were not EACCES or touched the buffer.
 */
static long every_command_unprivileged(void *p)
{
	struct unpriv_arg *a = p;
	static struct dmx_req r, copy;
	unsigned int nr;
	long wrong = 0;
	int ret;

	if (a->drop())
		return -1;
	for (nr = DM_VERSION_CMD; nr <= DM_GET_TARGET_VERSION_CMD; nr++) {
		build_request(&r, nr, a->name, a->event_nr);
		copy = r;
		ret = dmx_ioctl(a->ctl, _IOWR(DM_IOCTL, nr, struct dm_ioctl), &r.io);
		if (ret != -EACCES) {
			fprintf(stderr, "# command %u: %s, not EACCES\n", nr,
				ret ? strerror(-ret) : "success");
			wrong++;
		} else if (memcmp(&r.io, &copy.io, offsetof(struct dmx_req, pos))) {
			fprintf(stderr, "# command %u: EACCES but the buffer changed\n", nr);
			wrong++;
		}
	}
	return wrong;
}

/* What root sees afterwards: the device as it was, nothing new. */
static void expect_nothing_changed(struct __test_metadata *_metadata, int fd,
				   const char *name, const struct dm_ioctl *before)
{
	char other[DM_NAME_LEN];
	struct dm_ioctl io;

	ASSERT_EQ(0, dmx_status(fd, name, &io));
	EXPECT_FALSE(io.flags & DM_SUSPEND_FLAG);
	EXPECT_FALSE(io.flags & DM_INACTIVE_PRESENT_FLAG);
	EXPECT_TRUE(io.flags & DM_ACTIVE_PRESENT_FLAG);
	EXPECT_EQ(before->event_nr, io.event_nr);
	EXPECT_EQ(before->dev, io.dev);
	EXPECT_EQ(-ENXIO, dmx_status(fd, dmx_name(other, "priv-new"), NULL));
	EXPECT_EQ(-ENXIO, dmx_status(fd, dmx_name(other, "priv-renamed"), NULL));
}

static void run_unprivileged(struct __test_metadata *_metadata, int fd,
			     const char *name, const struct dm_ioctl *before,
			     int (*drop)(void))
{
	struct unpriv_arg a = { fd, name, before->event_nr, drop };
	struct dmx_bg bg;

	ASSERT_EQ(0, dmx_bg_start(&bg, every_command_unprivileged, &a));
	ASSERT_TRUE(dmx_bg_wait(&bg, DMX_FINISH_MS));
	EXPECT_EQ(0, bg.result) TH_LOG("%ld command(s) answered without privilege",
				       bg.result);
	expect_nothing_changed(_metadata, fd, name, before);
}

TEST_F(priv, every_command_without_cap_sys_admin_is_eacces)
{
	run_unprivileged(_metadata, self->fd, self->name, &self->before, drop_sys_admin);
}

/* The fd was opened by root: holding it gives no privilege. */
TEST_F(priv, every_command_as_nobody_with_roots_fd_is_eacces)
{
	run_unprivileged(_metadata, self->fd, self->name, &self->before, become_nobody);
}

/* A garbage request is still EACCES, not EINVAL or EFAULT. */
static long garbage_unprivileged(void *p)
{
	struct unpriv_arg *a = p;
	static struct dmx_req r;
	long wrong = 0;

	if (a->drop())
		return -1;
	memset(&r, 0xff, sizeof(r));
	if (dmx_ioctl(a->ctl, DM_DEV_CREATE, &r.io) != -EACCES)
		wrong++;
	if (dmx_ioctl(a->ctl, DM_TABLE_LOAD, NULL) != -EACCES)
		wrong++;
	if (dmx_ioctl(a->ctl, _IOWR(DM_IOCTL, 200, struct dm_ioctl), &r.io) != -EACCES)
		wrong++;
	return wrong;
}

TEST_F(priv, privilege_is_checked_before_the_request_is_read)
{
	struct unpriv_arg a = { self->fd, self->name, 0, drop_sys_admin };
	struct dmx_bg bg;

	ASSERT_EQ(0, dmx_bg_start(&bg, garbage_unprivileged, &a));
	ASSERT_TRUE(dmx_bg_wait(&bg, DMX_FINISH_MS));
	EXPECT_EQ(0, bg.result);
}

static long open_as_nobody(void *p)
{
	int fd;

	(void)p;
	if (become_nobody())
		return -1;
	fd = open(DMX_CONTROL_PATH, O_RDWR);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return -errno;
}

/* The node is root's alone (0600), as the stock dm registers it. */
TEST_F(priv, control_node_cannot_be_opened_by_nobody)
{
	struct dmx_bg bg;

	ASSERT_EQ(0, dmx_bg_start(&bg, open_as_nobody, NULL));
	ASSERT_TRUE(dmx_bg_wait(&bg, DMX_FINISH_MS));
	EXPECT_EQ(-EACCES, bg.result);
}

TEST_HARNESS_MAIN
