/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * dmx control interface.
 *
 * These structures are the wire format of the device-mapper ioctl
 * interface, major version 4.  Stock userland (libdevmapper, dmsetup,
 * LVM2, kpartx) talks to dmx through them unmodified, so every size,
 * offset and number below must stay exactly what that userland was
 * compiled against; tests/abi checks it byte for byte.
 *
 * Every request is one buffer: a struct dm_ioctl header followed by a
 * command specific payload that starts at data_start bytes from the
 * header.  All u64 members sit at 8-byte offsets so that 32-bit and
 * 64-bit callers share one layout.
 */
#ifndef _UAPI_DMX_IOCTL_H
#define _UAPI_DMX_IOCTL_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define DM_DIR			"mapper"	/* under /dev, no slashes */
#define DM_CONTROL_NODE		"control"
#define DM_MAX_TYPE_NAME	16
#define DM_NAME_LEN		128
#define DM_UUID_LEN		129

/* The header every command starts with. */
struct dm_ioctl {
	/*
	 * Interface version: the caller's on input, ours on output.  A
	 * different major is refused; a newer minor than ours is refused.
	 */
	__u32 version[3];
	__u32 data_size;	/* whole buffer, header included */
	__u32 data_start;	/* payload offset from the header */
	__u32 target_count;	/* targets in, or in the reported table */
	__s32 open_count;	/* out: openers of the block device */
	__u32 flags;		/* DM_*_FLAG, in and out */
	/*
	 * In: a device event number (DEV_WAIT) or a udev cookie echoed as
	 * DM_COOKIE in uevents (DEV_SUSPEND, DEV_REMOVE, DEV_RENAME).
	 * Out: the device's current event number.
	 */
	__u32 event_nr;
	__u32 padding;
	__u64 dev;		/* huge_encode_dev() of the block device */
	char name[DM_NAME_LEN];
	char uuid[DM_UUID_LEN];
	char data[7];		/* pads the header to a multiple of 8 */
};

/* One target line of a table: TABLE_LOAD input, TABLE_STATUS output. */
struct dm_target_spec {
	__u64 sector_start;
	__u64 length;
	__s32 status;		/* out only */
	/*
	 * TABLE_LOAD: bytes from this spec to the next one.
	 * TABLE_STATUS: bytes from the first spec to the next one.
	 */
	__u32 next;
	char target_type[DM_MAX_TYPE_NAME];
	/* a NUL-terminated parameter string follows, then padding */
};

/* TABLE_DEPS output: the devices a table refers to. */
struct dm_target_deps {
	__u32 count;
	__u32 padding;
	__u64 dev[];
};

/*
 * LIST_DEVICES output record.  After name's NUL, at the next 8-byte
 * boundary, come a __u32 event number, a __u32 of DM_NAME_LIST_FLAG_*
 * and, when flagged, the NUL-terminated uuid.
 */
struct dm_name_list {
	__u64 dev;
	__u32 next;		/* bytes from this record to the next, 0 ends */
	char name[];
};

#define DM_NAME_LIST_FLAG_HAS_UUID		1
#define DM_NAME_LIST_FLAG_DOESNT_HAVE_UUID	2

/* LIST_VERSIONS and GET_TARGET_VERSION output record. */
struct dm_target_versions {
	__u32 next;		/* bytes from this record to the next, 0 ends */
	__u32 version[3];
	char name[];
};

/* TARGET_MSG input: a message for the target holding a sector. */
struct dm_target_msg {
	__u64 sector;
	char message[];
};

/* Command numbers; the order is the ABI. */
enum {
	DM_VERSION_CMD = 0,
	DM_REMOVE_ALL_CMD,
	DM_LIST_DEVICES_CMD,
	DM_DEV_CREATE_CMD,
	DM_DEV_REMOVE_CMD,
	DM_DEV_RENAME_CMD,
	DM_DEV_SUSPEND_CMD,
	DM_DEV_STATUS_CMD,
	DM_DEV_WAIT_CMD,
	DM_TABLE_LOAD_CMD,
	DM_TABLE_CLEAR_CMD,
	DM_TABLE_DEPS_CMD,
	DM_TABLE_STATUS_CMD,
	DM_LIST_VERSIONS_CMD,
	DM_TARGET_MSG_CMD,
	DM_DEV_SET_GEOMETRY_CMD,
	DM_DEV_ARM_POLL_CMD,
	DM_GET_TARGET_VERSION_CMD,
};

#define DM_IOCTL		0xfd

#define DM_VERSION		_IOWR(DM_IOCTL, DM_VERSION_CMD, struct dm_ioctl)
#define DM_REMOVE_ALL		_IOWR(DM_IOCTL, DM_REMOVE_ALL_CMD, struct dm_ioctl)
#define DM_LIST_DEVICES		_IOWR(DM_IOCTL, DM_LIST_DEVICES_CMD, struct dm_ioctl)
#define DM_DEV_CREATE		_IOWR(DM_IOCTL, DM_DEV_CREATE_CMD, struct dm_ioctl)
#define DM_DEV_REMOVE		_IOWR(DM_IOCTL, DM_DEV_REMOVE_CMD, struct dm_ioctl)
#define DM_DEV_RENAME		_IOWR(DM_IOCTL, DM_DEV_RENAME_CMD, struct dm_ioctl)
#define DM_DEV_SUSPEND		_IOWR(DM_IOCTL, DM_DEV_SUSPEND_CMD, struct dm_ioctl)
#define DM_DEV_STATUS		_IOWR(DM_IOCTL, DM_DEV_STATUS_CMD, struct dm_ioctl)
#define DM_DEV_WAIT		_IOWR(DM_IOCTL, DM_DEV_WAIT_CMD, struct dm_ioctl)
#define DM_DEV_ARM_POLL		_IOWR(DM_IOCTL, DM_DEV_ARM_POLL_CMD, struct dm_ioctl)
#define DM_TABLE_LOAD		_IOWR(DM_IOCTL, DM_TABLE_LOAD_CMD, struct dm_ioctl)
#define DM_TABLE_CLEAR		_IOWR(DM_IOCTL, DM_TABLE_CLEAR_CMD, struct dm_ioctl)
#define DM_TABLE_DEPS		_IOWR(DM_IOCTL, DM_TABLE_DEPS_CMD, struct dm_ioctl)
#define DM_TABLE_STATUS		_IOWR(DM_IOCTL, DM_TABLE_STATUS_CMD, struct dm_ioctl)
#define DM_LIST_VERSIONS	_IOWR(DM_IOCTL, DM_LIST_VERSIONS_CMD, struct dm_ioctl)
#define DM_GET_TARGET_VERSION	_IOWR(DM_IOCTL, DM_GET_TARGET_VERSION_CMD, struct dm_ioctl)
#define DM_TARGET_MSG		_IOWR(DM_IOCTL, DM_TARGET_MSG_CMD, struct dm_ioctl)
#define DM_DEV_SET_GEOMETRY	_IOWR(DM_IOCTL, DM_DEV_SET_GEOMETRY_CMD, struct dm_ioctl)

/* The interface version whose whole command and flag set dmx implements. */
#define DM_VERSION_MAJOR	4
#define DM_VERSION_MINOR	47
#define DM_VERSION_PATCHLEVEL	0
#define DM_VERSION_EXTRA	"-ioctl (dmx)"

/* Header flags.  In: the caller asks; Out: we report. */
#define DM_READONLY_FLAG		(1 << 0)  /* in/out: read-only table or device */
#define DM_SUSPEND_FLAG			(1 << 1)  /* in: suspend, not resume; out: suspended */
#define DM_PERSISTENT_DEV_FLAG		(1 << 3)  /* in: create with the minor in dev */
#define DM_STATUS_TABLE_FLAG		(1 << 4)  /* in: table lines, not status lines */
#define DM_ACTIVE_PRESENT_FLAG		(1 << 5)  /* out: an active table is bound */
#define DM_INACTIVE_PRESENT_FLAG	(1 << 6)  /* out: an inactive table waits */
#define DM_BUFFER_FULL_FLAG		(1 << 8)  /* out: retry with a bigger buffer */
#define DM_SKIP_BDGET_FLAG		(1 << 9)  /* in: obsolete, ignored */
#define DM_SKIP_LOCKFS_FLAG		(1 << 10) /* in: suspend without freezing the fs */
#define DM_NOFLUSH_FLAG			(1 << 11) /* in: suspend without flushing queued I/O */
#define DM_QUERY_INACTIVE_TABLE_FLAG	(1 << 12) /* in: report the inactive table */
#define DM_UEVENT_GENERATED_FLAG	(1 << 13) /* out: a uevent carries the cookie */
#define DM_UUID_FLAG			(1 << 14) /* in: rename sets the uuid */
#define DM_SECURE_DATA_FLAG		(1 << 15) /* in: wipe buffers after use */
#define DM_DATA_OUT_FLAG		(1 << 16) /* out: a message answered in data */
#define DM_DEFERRED_REMOVE		(1 << 17) /* in/out: remove on last close */
#define DM_INTERNAL_SUSPEND_FLAG	(1 << 18) /* out: suspended from inside */
#define DM_IMA_MEASUREMENT_FLAG		(1 << 19) /* in: IMA records, unsupported */

#endif /* _UAPI_DMX_IOCTL_H */
