// SPDX-License-Identifier: GPL-2.0
/*
 * include/uapi/dmx-ioctl.h is byte for byte the Linux dm ioctl v4 ABI:
 * every struct's size and every member's offset, every command number
 * and flag, compared against the system's <linux/dm-ioctl.h>.  Built
 * for 64-bit and for 32-bit callers.
 *
 * Each item is checked twice, from one line below: at compile time
 * (_Static_assert, so a broken header does not build), and at run time
 * as a test of its own (abi.<item>.same_as_linux), so that the check
 * shows item by item in the TAP output.
 */
#include <stddef.h>
#include <stdio.h>

#include "kselftest_harness.h"

/* Our header first, with every name it shares with the system's renamed. */
#define dm_ioctl		dmx_dm_ioctl
#define dm_target_spec		dmx_dm_target_spec
#define dm_target_deps		dmx_dm_target_deps
#define dm_name_list		dmx_dm_name_list
#define dm_target_versions	dmx_dm_target_versions
#define dm_target_msg		dmx_dm_target_msg
#define DM_VERSION_CMD		DMX_VERSION_CMD
#define DM_REMOVE_ALL_CMD	DMX_REMOVE_ALL_CMD
#define DM_LIST_DEVICES_CMD	DMX_LIST_DEVICES_CMD
#define DM_DEV_CREATE_CMD	DMX_DEV_CREATE_CMD
#define DM_DEV_REMOVE_CMD	DMX_DEV_REMOVE_CMD
#define DM_DEV_RENAME_CMD	DMX_DEV_RENAME_CMD
#define DM_DEV_SUSPEND_CMD	DMX_DEV_SUSPEND_CMD
#define DM_DEV_STATUS_CMD	DMX_DEV_STATUS_CMD
#define DM_DEV_WAIT_CMD		DMX_DEV_WAIT_CMD
#define DM_TABLE_LOAD_CMD	DMX_TABLE_LOAD_CMD
#define DM_TABLE_CLEAR_CMD	DMX_TABLE_CLEAR_CMD
#define DM_TABLE_DEPS_CMD	DMX_TABLE_DEPS_CMD
#define DM_TABLE_STATUS_CMD	DMX_TABLE_STATUS_CMD
#define DM_LIST_VERSIONS_CMD	DMX_LIST_VERSIONS_CMD
#define DM_TARGET_MSG_CMD	DMX_TARGET_MSG_CMD
#define DM_DEV_SET_GEOMETRY_CMD	DMX_DEV_SET_GEOMETRY_CMD
#define DM_DEV_ARM_POLL_CMD	DMX_DEV_ARM_POLL_CMD
#define DM_GET_TARGET_VERSION_CMD DMX_GET_TARGET_VERSION_CMD
#include "dmx-ioctl.h"

/* Capture our numbers before the system header redefines the macros. */
#define OURS(x) ours_##x = x
enum ours_numbers {
	OURS(DM_VERSION), OURS(DM_REMOVE_ALL), OURS(DM_LIST_DEVICES),
	OURS(DM_DEV_CREATE), OURS(DM_DEV_REMOVE), OURS(DM_DEV_RENAME),
	OURS(DM_DEV_SUSPEND), OURS(DM_DEV_STATUS), OURS(DM_DEV_WAIT),
	OURS(DM_DEV_ARM_POLL), OURS(DM_TABLE_LOAD), OURS(DM_TABLE_CLEAR),
	OURS(DM_TABLE_DEPS), OURS(DM_TABLE_STATUS), OURS(DM_LIST_VERSIONS),
	OURS(DM_GET_TARGET_VERSION), OURS(DM_TARGET_MSG),
	OURS(DM_DEV_SET_GEOMETRY),
	OURS(DM_READONLY_FLAG), OURS(DM_SUSPEND_FLAG), OURS(DM_PERSISTENT_DEV_FLAG),
	OURS(DM_STATUS_TABLE_FLAG), OURS(DM_ACTIVE_PRESENT_FLAG),
	OURS(DM_INACTIVE_PRESENT_FLAG), OURS(DM_BUFFER_FULL_FLAG),
	OURS(DM_SKIP_BDGET_FLAG), OURS(DM_SKIP_LOCKFS_FLAG), OURS(DM_NOFLUSH_FLAG),
	OURS(DM_QUERY_INACTIVE_TABLE_FLAG), OURS(DM_UEVENT_GENERATED_FLAG),
	OURS(DM_UUID_FLAG), OURS(DM_SECURE_DATA_FLAG), OURS(DM_DATA_OUT_FLAG),
	OURS(DM_DEFERRED_REMOVE), OURS(DM_INTERNAL_SUSPEND_FLAG),
	OURS(DM_IMA_MEASUREMENT_FLAG),
	OURS(DM_NAME_LIST_FLAG_HAS_UUID), OURS(DM_NAME_LIST_FLAG_DOESNT_HAVE_UUID),
	OURS(DM_MAX_TYPE_NAME), OURS(DM_NAME_LEN), OURS(DM_UUID_LEN),
	OURS(DM_VERSION_MAJOR), OURS(DM_VERSION_MINOR),
};

#undef _UAPI_DMX_IOCTL_H
#undef DM_DIR
#undef DM_CONTROL_NODE
#undef DM_MAX_TYPE_NAME
#undef DM_NAME_LEN
#undef DM_UUID_LEN
#undef DM_VERSION_EXTRA
#undef dm_ioctl
#undef dm_target_spec
#undef dm_target_deps
#undef dm_name_list
#undef dm_target_versions
#undef dm_target_msg
#undef DM_VERSION_CMD
#undef DM_REMOVE_ALL_CMD
#undef DM_LIST_DEVICES_CMD
#undef DM_DEV_CREATE_CMD
#undef DM_DEV_REMOVE_CMD
#undef DM_DEV_RENAME_CMD
#undef DM_DEV_SUSPEND_CMD
#undef DM_DEV_STATUS_CMD
#undef DM_DEV_WAIT_CMD
#undef DM_TABLE_LOAD_CMD
#undef DM_TABLE_CLEAR_CMD
#undef DM_TABLE_DEPS_CMD
#undef DM_TABLE_STATUS_CMD
#undef DM_LIST_VERSIONS_CMD
#undef DM_TARGET_MSG_CMD
#undef DM_DEV_SET_GEOMETRY_CMD
#undef DM_DEV_ARM_POLL_CMD
#undef DM_GET_TARGET_VERSION_CMD

#include <linux/dm-ioctl.h>

/* One item: our value and Linux's, compared at build and at run time. */
FIXTURE(abi) {
	int unused;
};

FIXTURE_SETUP(abi)
{
}

FIXTURE_TEARDOWN(abi)
{
}

FIXTURE_VARIANT(abi) {
	unsigned long long ours;
	unsigned long long theirs;
	size_t built;	/* only there to hold the build-time check */
};

TEST_F(abi, same_as_linux)
{
	EXPECT_EQ(variant->theirs, variant->ours);
}

#define SAME_VALUE(item, our_value, linux_value, what)			\
	FIXTURE_VARIANT_ADD(abi, item) {				\
		.ours = (our_value),					\
		.theirs = (linux_value),				\
		.built = sizeof(struct {				\
			_Static_assert((our_value) == (linux_value),	\
				       what " differs");		\
			char c;						\
		}),							\
	}

#define SAME_NUMBER(x) \
	SAME_VALUE(number_of_##x, ours_##x, x, #x)
#define SAME_SIZE(s) \
	SAME_VALUE(size_of_##s, sizeof(struct dmx_##s), sizeof(struct s), \
		   "size of struct " #s)
#define SAME_OFFSET(s, m) \
	SAME_VALUE(offset_of_##s##_##m, offsetof(struct dmx_##s, m), \
		   offsetof(struct s, m), "offset of " #s "." #m)

SAME_SIZE(dm_ioctl);
SAME_OFFSET(dm_ioctl, version);
SAME_OFFSET(dm_ioctl, data_size);
SAME_OFFSET(dm_ioctl, data_start);
SAME_OFFSET(dm_ioctl, target_count);
SAME_OFFSET(dm_ioctl, open_count);
SAME_OFFSET(dm_ioctl, flags);
SAME_OFFSET(dm_ioctl, event_nr);
SAME_OFFSET(dm_ioctl, padding);
SAME_OFFSET(dm_ioctl, dev);
SAME_OFFSET(dm_ioctl, name);
SAME_OFFSET(dm_ioctl, uuid);
SAME_OFFSET(dm_ioctl, data);

SAME_SIZE(dm_target_spec);
SAME_OFFSET(dm_target_spec, sector_start);
SAME_OFFSET(dm_target_spec, length);
SAME_OFFSET(dm_target_spec, status);
SAME_OFFSET(dm_target_spec, next);
SAME_OFFSET(dm_target_spec, target_type);

SAME_SIZE(dm_target_deps);
SAME_OFFSET(dm_target_deps, count);
SAME_OFFSET(dm_target_deps, padding);
SAME_OFFSET(dm_target_deps, dev);

SAME_SIZE(dm_name_list);
SAME_OFFSET(dm_name_list, dev);
SAME_OFFSET(dm_name_list, next);
SAME_OFFSET(dm_name_list, name);

SAME_SIZE(dm_target_versions);
SAME_OFFSET(dm_target_versions, next);
SAME_OFFSET(dm_target_versions, version);
SAME_OFFSET(dm_target_versions, name);

SAME_SIZE(dm_target_msg);
SAME_OFFSET(dm_target_msg, sector);
SAME_OFFSET(dm_target_msg, message);

/* No alignment holes: 32- and 64-bit callers see one layout. */
SAME_VALUE(dm_ioctl_is_312_bytes, sizeof(struct dmx_dm_ioctl), 312,
	   "size of dm_ioctl against 312");
SAME_VALUE(dm_target_spec_is_40_bytes, sizeof(struct dmx_dm_target_spec), 40,
	   "size of dm_target_spec against 40");
SAME_VALUE(dm_ioctl_dev_is_at_40, offsetof(struct dmx_dm_ioctl, dev), 40,
	   "offset of dm_ioctl.dev against 40");

SAME_NUMBER(DM_VERSION);
SAME_NUMBER(DM_REMOVE_ALL);
SAME_NUMBER(DM_LIST_DEVICES);
SAME_NUMBER(DM_DEV_CREATE);
SAME_NUMBER(DM_DEV_REMOVE);
SAME_NUMBER(DM_DEV_RENAME);
SAME_NUMBER(DM_DEV_SUSPEND);
SAME_NUMBER(DM_DEV_STATUS);
SAME_NUMBER(DM_DEV_WAIT);
SAME_NUMBER(DM_DEV_ARM_POLL);
SAME_NUMBER(DM_TABLE_LOAD);
SAME_NUMBER(DM_TABLE_CLEAR);
SAME_NUMBER(DM_TABLE_DEPS);
SAME_NUMBER(DM_TABLE_STATUS);
SAME_NUMBER(DM_LIST_VERSIONS);
SAME_NUMBER(DM_GET_TARGET_VERSION);
SAME_NUMBER(DM_TARGET_MSG);
SAME_NUMBER(DM_DEV_SET_GEOMETRY);
SAME_NUMBER(DM_READONLY_FLAG);
SAME_NUMBER(DM_SUSPEND_FLAG);
SAME_NUMBER(DM_PERSISTENT_DEV_FLAG);
SAME_NUMBER(DM_STATUS_TABLE_FLAG);
SAME_NUMBER(DM_ACTIVE_PRESENT_FLAG);
SAME_NUMBER(DM_INACTIVE_PRESENT_FLAG);
SAME_NUMBER(DM_BUFFER_FULL_FLAG);
SAME_NUMBER(DM_SKIP_BDGET_FLAG);
SAME_NUMBER(DM_SKIP_LOCKFS_FLAG);
SAME_NUMBER(DM_NOFLUSH_FLAG);
SAME_NUMBER(DM_QUERY_INACTIVE_TABLE_FLAG);
SAME_NUMBER(DM_UEVENT_GENERATED_FLAG);
SAME_NUMBER(DM_UUID_FLAG);
SAME_NUMBER(DM_SECURE_DATA_FLAG);
SAME_NUMBER(DM_DATA_OUT_FLAG);
SAME_NUMBER(DM_DEFERRED_REMOVE);
SAME_NUMBER(DM_INTERNAL_SUSPEND_FLAG);
SAME_NUMBER(DM_IMA_MEASUREMENT_FLAG);
SAME_NUMBER(DM_NAME_LIST_FLAG_HAS_UUID);
SAME_NUMBER(DM_NAME_LIST_FLAG_DOESNT_HAVE_UUID);
SAME_NUMBER(DM_MAX_TYPE_NAME);
SAME_NUMBER(DM_NAME_LEN);
SAME_NUMBER(DM_UUID_LEN);
SAME_NUMBER(DM_VERSION_MAJOR);
SAME_NUMBER(DM_VERSION_MINOR);

TEST_HARNESS_MAIN
