/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal interfaces between the parts of the dmx core: mapped devices
 * (dm-core.c), their bio path (dm-bio.c), suspend and table swap
 * (dm-suspend.c), tables (dm-table.c), the target registry
 * (dm-target.c), sysfs (dm-sysfs.c), the device registry
 * (dm-registry.c) and the control device (dm-ioctl*.c).
 */
#ifndef DMX_CORE_H
#define DMX_CORE_H

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/hdreg.h>
#include <linux/kobject.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/srcu.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "dmx.h"
#include "uapi/dmx-ioctl.h"

#define DMX_NAME	"device-mapper"

/*
 * A data_size above this is refused: it bounds the kernel copy of a
 * request (a 100,000-target table needs about 7 MiB).
 */
#define DMX_MAX_IOCTL_SIZE	(64U << 20)
#define DMX_MAX_TARGETS		1000000U

struct dmx_clone_cache;

/*
 * A table: an array of targets sorted by first sector, covering the
 * device from sector 0 without gaps, and the devices they refer to.
 * Immutable once complete; owned by whoever holds the pointer (the
 * inactive slot, the active slot, or a command in flight).
 */
struct dmx_table {
	struct mapped_device *md;
	dmx_mode_t mode;
	unsigned int num_targets;
	unsigned int num_allocated;
	struct dmx_target *targets;
	struct list_head devices;	/* struct dmx_dev, unique per dev_t */
	sector_t size;

	/* Filled in by dmx_table_complete(). */
	unsigned int per_io_size;	/* aligned target data before each clone */
	unsigned int flush_copies;	/* clones of each empty flush, in all */
	struct bio_set clone_set;
	struct dmx_clone_cache __percpu *clone_cache;	/* dm-bio.c */
	bool clone_set_ready;
	struct queue_limits limits;
	struct dmx_queue_features features;
	/*
	 * Devices must be large enough for the targets: checked at the
	 * first load of a device and at every resume, as Linux does, since
	 * a stack being resized (LVM) loads an upper table before the lower
	 * one it fits is resumed.
	 */
	bool check_sizes;
};

/* md->flags bits. */
enum {
	DMX_MD_BLOCK_IO,	/* new bios are held on md->deferred */
	DMX_MD_SUSPENDED,	/* suspend completed, resume pending */
	DMX_MD_FROZEN,		/* we froze the filesystem on it */
	DMX_MD_DELETING,	/* being removed: opens are refused */
	DMX_MD_DEFERRED_REMOVE,	/* remove on last close */
	DMX_MD_DISK_ADDED,	/* dm-N is visible: a table was loaded once */
	DMX_MD_DEAD,		/* torn down: never suspended or resumed again */
	DMX_MD_DRAINING,	/* a drain waits on md->wait for idle */
};

/*
 * Clones started and ended on one CPU.  A clone may end on another CPU
 * than it started on: only the sums over all CPUs mean anything, and
 * only their difference, the I/O in flight.
 */
struct dmx_inflight {
	unsigned long started;
	unsigned long ended;
};

struct dmx_cell;

struct mapped_device {
	/*
	 * The registry's record of the device (its names and inactive
	 * table): only dm-registry.c looks inside, under its own lock.
	 * NULL while the device is not listed.
	 */
	struct dmx_cell *cell;

	int minor;
	/* Added to the system by the first table load (dmx_md_add_disk()). */
	struct gendisk *disk;
	/*
	 * References: one for the registry while the device is listed,
	 * one for each command or work item using it.  dmx_md_destroy()
	 * waits for all but its own to drop.
	 */
	atomic_t holders;
	unsigned long flags;		/* DMX_MD_* bits, atomic */

	/*
	 * Serialises suspend, resume, the table swap and unbinding at
	 * teardown; held while a suspend waits for I/O, so nothing else
	 * may need it.
	 */
	struct mutex suspend_lock;
	/* Protects adding the disk, sysfs_ready and the holder links. */
	struct mutex disk_lock;
	/*
	 * The active table.  The bio path reads it under RCU and then
	 * counts itself in flight, which keeps it; commands read it under
	 * map_srcu, since they may sleep.
	 */
	struct dmx_table __rcu *map;
	struct srcu_struct map_srcu;

	/*
	 * One count per clone in flight (and per flush waiting for the
	 * worker to clone it).  Suspend and teardown set DMX_MD_DRAINING,
	 * wait for a grace period and then on md->wait until
	 * dmx_md_idle(); completions wake them (dm-bio.c says why that is
	 * enough).
	 */
	struct dmx_inflight __percpu *inflight;
	wait_queue_head_t wait;

	/*
	 * Bios held while DMX_MD_BLOCK_IO is set, and data bios waiting
	 * for their preflush.  deferred_lock also orders the BLOCK_IO
	 * test against the flag's clearing on resume.
	 */
	spinlock_t deferred_lock;
	struct bio_list deferred;
	struct work_struct requeue_work;
	struct workqueue_struct *wq;

	struct bio_set flush_set;	/* empty flushes ahead of data */

	/* Empty flushes whose copies the worker clones one at a time. */
	spinlock_t flush_lock;		/* protects flush_list */
	struct bio_list flush_list;
	struct work_struct flush_work;

	atomic_t event_nr;
	wait_queue_head_t eventq;
	atomic_t uevent_seq;

	/*
	 * Protects open_count and the decision to delete the device
	 * (setting DMX_MD_DELETING, setting or clearing
	 * DMX_MD_DEFERRED_REMOVE), so an open never races a removal.
	 */
	spinlock_t open_lock;
	int open_count;

	spinlock_t geometry_lock;	/* protects geometry */
	struct hd_geometry geometry;

	struct kobject kobj;		/* /sys/block/dm-N/dm */
	bool sysfs_ready;		/* kobj added; set once, disk_lock */
	struct completion kobj_released;
};

/* dm-core.c: mapped device lifetime and block device. */
int dmx_core_init(void);
void dmx_core_exit(void);
int dmx_md_create(int minor, struct mapped_device **result);
const char *dmx_md_name(struct mapped_device *md);
int dmx_md_add_disk(struct mapped_device *md, struct dmx_table *t);
void dmx_md_get(struct mapped_device *md);
void dmx_md_put(struct mapped_device *md);
int dmx_md_lock_for_deletion(struct mapped_device *md, bool mark_deferred,
			     bool only_deferred);
void dmx_md_destroy(struct mapped_device *md);
int dmx_md_open_count(struct mapped_device *md);
bool dmx_md_deferred_remove(struct mapped_device *md);
int dmx_md_cancel_deferred_remove(struct mapped_device *md);
void dmx_md_event(struct mapped_device *md);
u32 dmx_md_event_nr(struct mapped_device *md);
u32 dmx_global_event_nr(void);
void dmx_global_event(void);
wait_queue_head_t *dmx_global_event_queue(void);
int dmx_md_wait_event(struct mapped_device *md, u32 event_nr);
int dmx_md_uevent(struct mapped_device *md, enum kobject_action action,
		  u32 cookie, bool resized);
int dmx_md_set_geometry(struct mapped_device *md, struct hd_geometry *geo);
dev_t dmx_md_devt(struct mapped_device *md);
struct mapped_device *dmx_md_get_by_devt(dev_t dev);
struct dmx_table *dmx_md_get_live_table(struct mapped_device *md, int *idx);
void dmx_md_put_live_table(struct mapped_device *md, int idx);
void dmx_md_drop_table(struct mapped_device *md, struct dmx_table *t);

/* dm-bio.c: the I/O path. */
int dmx_bio_init_clones(struct dmx_table *t);
void dmx_bio_exit_clones(struct dmx_table *t);
void dmx_submit_bio(struct bio *bio);
void dmx_requeue_work(struct work_struct *work);
void dmx_flush_work(struct work_struct *work);
void dmx_fail_deferred(struct mapped_device *md);
bool dmx_md_idle(struct mapped_device *md);

/* dm-suspend.c: suspend, resume and table swap. */
#define DMX_SUSPEND_LOCKFS	(1U << 0)
#define DMX_SUSPEND_NOFLUSH	(1U << 1)
bool dmx_md_suspended(struct mapped_device *md);
int dmx_md_suspend(struct mapped_device *md, unsigned int flags);
int dmx_md_resume(struct mapped_device *md);
struct dmx_table *dmx_md_swap_table(struct mapped_device *md,
				    struct dmx_table *table);

/* dm-table.c: tables. */
int dmx_table_create(struct mapped_device *md, dmx_mode_t mode,
		     unsigned int num_targets, struct dmx_table **result);
void dmx_table_destroy(struct dmx_table *t);
int dmx_table_link_holders(struct dmx_table *t);
int dmx_table_add_target(struct dmx_table *t, const char *type,
			 sector_t start, sector_t len, char *params);
int dmx_table_complete(struct dmx_table *t);
int dmx_table_check_sizes(struct dmx_table *t);
struct dmx_target *dmx_table_find_target(struct dmx_table *t, sector_t sector);
void dmx_table_presuspend(struct dmx_table *t);
void dmx_table_postsuspend(struct dmx_table *t);
int dmx_table_preresume(struct dmx_table *t);
void dmx_table_resume(struct dmx_table *t);
int dmx_split_args(char *input, unsigned int *argc, char ***argv);

/* dm-target.c: the registry of target types. */
struct dmx_target_type *dmx_get_target_type(const char *name);
void dmx_put_target_type(struct dmx_target_type *tt);
void dmx_target_iterate(void (*fn)(struct dmx_target_type *tt, void *data),
			void *data);

/* dm-sysfs.c: /sys/block/dm-N/dm. */
int dmx_sysfs_init(struct mapped_device *md);
void dmx_sysfs_exit(struct mapped_device *md);

/* dm-ioctl.c: the control device. */
int dmx_ioctl_init(void);
void dmx_ioctl_exit(void);

#endif /* DMX_CORE_H */
