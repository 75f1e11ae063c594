/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Everything that differs between the kernels dmx builds against lives
 * here, behind one small set of helpers, so the rest of the module reads
 * as plain kernel code.  Two block layer interfaces are wired up: the one
 * of Debian 12's 6.1 and the one of 6.12 (Debian 13, and bookworm's
 * backports).  The kernels in between changed the same calls step by
 * step and are refused here rather than half supported.
 */
#ifndef DMX_COMPAT_H
#define DMX_COMPAT_H

#include <linux/version.h>
#include <linux/blkdev.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/crypto.h>
#include <linux/mount.h>

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0) && \
	LINUX_VERSION_CODE < KERNEL_VERSION(6, 13, 0)
#define DMX_COMPAT_612 1
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 1, 0) && \
	LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
#define DMX_COMPAT_612 0
#else
#error "dmx: only the 6.1 and 6.12 block layer interfaces are supported"
#endif

/*
 * The dm ioctl interface version reported to userland: that of the
 * kernel's own dm, whose behaviour dmx follows on each kernel.  4.48 (6.4
 * onwards) adds no command; it refuses the device names "control", "."
 * and "..", and target specs that are misaligned or overlap the
 * parameters before them (see dmx_compat_ioctl_strict()).
 */
#define DMX_VERSION_MAJOR	4
#define DMX_VERSION_PATCHLEVEL	0
#if DMX_COMPAT_612
#define DMX_VERSION_MINOR	48
#else
#define DMX_VERSION_MINOR	47
#endif

/* True where the interface refuses what 4.48 refuses. */
static inline bool dmx_compat_ioctl_strict(void)
{
	return DMX_VERSION_MINOR >= 48;
}

/*
 * What the kernel's own targets and commands do differently on 6.12,
 * followed by dmx's:
 * - error and zero say they take discards of any size (and error and
 *   zero are versions 1.7.0 and 1.2.0, not 1.5.0 and 1.1.0);
 * - error takes an optional "<dev> <offset>", as linear does, holding
 *   the device and taking its limits; other arguments are still ignored;
 * - striped keeps bios within a chunk (chunk_sectors);
 * - a target message to a device without a live table is dropped, and
 *   the ioctl succeeds.
 */
#if DMX_COMPAT_612
#define DMX_ERROR_VERSION_MINOR	7
#define DMX_ZERO_VERSION_MINOR	2
#else
#define DMX_ERROR_VERSION_MINOR	5
#define DMX_ZERO_VERSION_MINOR	1
#endif

static inline bool dmx_compat_error_takes_device(void)
{
	return DMX_COMPAT_612;
}

/* Whether error and zero take discards whatever their devices take. */
static inline bool dmx_compat_error_zero_take_discards(void)
{
	return DMX_COMPAT_612;
}

static inline void dmx_compat_hint_any_discard(struct queue_limits *lim)
{
	if (DMX_COMPAT_612) {
		lim->max_hw_discard_sectors = UINT_MAX;
		lim->discard_granularity = SECTOR_SIZE;
	}
}

static inline void dmx_compat_hint_chunk(struct queue_limits *lim,
					 unsigned int sectors)
{
	if (DMX_COMPAT_612)
		lim->chunk_sectors = sectors;
}

/* What a message to a device without a live table returns. */
static inline int dmx_compat_message_without_table(void)
{
	return DMX_COMPAT_612 ? 0 : -EINVAL;
}

/*
 * What a table's devices offer beyond the limits they stack.  The table
 * starts with nowait true and clears it for a device or target that
 * cannot take REQ_NOWAIT.
 */
struct dmx_queue_features {
	bool write_cache;	/* some device has a volatile cache: flushes */
	bool fua;		/* some device honours FUA */
	bool rotational;	/* some device spins */
	bool nowait;		/* every device and target takes REQ_NOWAIT */
};

/*
 * The block device operations, in the kernel's signatures below, call
 * these (dm-core.c): only the disk matters to dmx.
 */
int dmx_blk_open(struct gendisk *disk);
void dmx_blk_release(struct gendisk *disk);

#if DMX_COMPAT_612

/* The open mode of an underlying device. */
typedef blk_mode_t dmx_mode_t;
#define DMX_MODE_READ	BLK_OPEN_READ
#define DMX_MODE_WRITE	BLK_OPEN_WRITE

/* An exclusively opened underlying block device: a file since 6.9. */
struct dmx_bdev_handle {
	struct file *file;
	struct block_device *bdev;
};

static inline int dmx_compat_open_bdev(dev_t dev, dmx_mode_t mode, void *holder,
				       struct dmx_bdev_handle *h)
{
	struct file *file;

	/* A holder makes the open exclusive; no holder ops, as in dm. */
	file = bdev_file_open_by_dev(dev, mode, holder, NULL);
	if (IS_ERR(file))
		return PTR_ERR(file);
	h->file = file;
	h->bdev = file_bdev(file);
	return 0;
}

/*
 * The device is released before this returns, as blkdev_put() did: a
 * deferred fput() would leave it open (and claimed) after a table is
 * gone, in a work item for a kernel thread.
 */
static inline void dmx_compat_close_bdev(struct dmx_bdev_handle *h)
{
	__fput_sync(h->file);
}

/*
 * Boot-time device names ("sda1", PARTUUID=...) are for built-in code
 * only since 6.3; a module gets the path lookup's error, as dm does.
 */
static inline int dmx_compat_boot_devt(const char *name, int lookup_err,
				       dev_t *dev)
{
	return lookup_err;
}

static inline struct gendisk *dmx_compat_alloc_disk(void)
{
	/* Limits come with the first table (dmx_compat_apply_limits()). */
	return blk_alloc_disk(NULL, NUMA_NO_NODE);
}

static inline int dmx_compat_blk_open(struct gendisk *disk, blk_mode_t mode)
{
	return dmx_blk_open(disk);
}

static inline void dmx_compat_blk_release(struct gendisk *disk)
{
	dmx_blk_release(disk);
}

static inline void dmx_compat_stack_features(struct dmx_queue_features *f,
					     struct block_device *bdev)
{
	f->write_cache |= bdev_write_cache(bdev);
	f->fua |= bdev_fua(bdev);
	f->rotational |= !bdev_nonrot(bdev);
	f->nowait &= bdev_nowait(bdev);
}

/*
 * Installs stacked limits and features on a bio-based queue.  Flush and
 * FUA are advertised when a device below has a cache to flush, so the
 * block layer hands them to us and we pass them on to every device.  The
 * features are ours to decide: stacking ORs in those of every device.
 * I/O statistics are kept (iostats reads 1), as 6.12's dm does.
 */
static inline int dmx_compat_apply_limits(struct gendisk *disk,
					  const struct queue_limits *stacked,
					  const struct dmx_queue_features *f)
{
	struct queue_limits lim = *stacked;

	lim.features &= ~(BLK_FEAT_WRITE_CACHE | BLK_FEAT_FUA |
			  BLK_FEAT_ROTATIONAL | BLK_FEAT_NOWAIT);
	lim.features |= BLK_FEAT_IO_STAT;
	if (f->write_cache)
		lim.features |= BLK_FEAT_WRITE_CACHE;
	if (f->fua)
		lim.features |= BLK_FEAT_FUA;
	if (f->rotational)
		lim.features |= BLK_FEAT_ROTATIONAL;
	if (f->nowait)
		lim.features |= BLK_FEAT_NOWAIT;
	/* Validates, and updates the read-ahead window from io_opt. */
	return queue_limits_set(disk->queue, &lim);
}

/* I/O hints of a target; the limits are checked when they are set. */
/* A table some of whose targets take no discards advertises none. */
static inline void dmx_compat_clear_discard(struct queue_limits *lim)
{
	lim->max_discard_sectors = 0;
	lim->max_hw_discard_sectors = 0;
	lim->discard_granularity = 0;
	lim->discard_alignment = 0;
}

static inline void dmx_compat_set_io_min(struct queue_limits *lim,
					 unsigned int bytes)
{
	lim->io_min = bytes;
}

static inline void dmx_compat_set_io_opt(struct queue_limits *lim,
					 unsigned int bytes)
{
	lim->io_opt = bytes;
}

/*
 * I/O accounting of the mapped device, as /proc/diskstats shows it:
 * start returns the start time for end.
 */
static inline unsigned long dmx_compat_io_acct_start(struct block_device *bdev,
						     enum req_op op,
						     unsigned int sectors)
{
	return bdev_start_io_acct(bdev, op, jiffies);
}

static inline void dmx_compat_io_acct_end(struct block_device *bdev,
					  enum req_op op, unsigned int sectors,
					  unsigned long start_time)
{
	bdev_end_io_acct(bdev, op, sectors, start_time);
}

static inline int dmx_compat_freeze_bdev(struct block_device *bdev)
{
	return bdev_freeze(bdev);
}

static inline void dmx_compat_thaw_bdev(struct block_device *bdev)
{
	bdev_thaw(bdev);
}

#else /* 6.1 */

typedef fmode_t dmx_mode_t;
#define DMX_MODE_READ	FMODE_READ
#define DMX_MODE_WRITE	FMODE_WRITE

struct dmx_bdev_handle {
	struct block_device *bdev;
	dmx_mode_t mode;
};

static inline int dmx_compat_open_bdev(dev_t dev, dmx_mode_t mode, void *holder,
				       struct dmx_bdev_handle *h)
{
	struct block_device *bdev;

	bdev = blkdev_get_by_dev(dev, mode | FMODE_EXCL, holder);
	if (IS_ERR(bdev))
		return PTR_ERR(bdev);
	h->bdev = bdev;
	h->mode = mode;
	return 0;
}

static inline void dmx_compat_close_bdev(struct dmx_bdev_handle *h)
{
	blkdev_put(h->bdev, h->mode | FMODE_EXCL);
}

/* A name the path lookup did not find may be a boot-time one ("sda1"). */
static inline int dmx_compat_boot_devt(const char *name, int lookup_err,
				       dev_t *dev)
{
	*dev = name_to_dev_t(name);
	return *dev ? 0 : -ENODEV;
}

/*
 * I/O statistics are kept and iostats reads 1, as on 6.12, so that
 * writing 0 there turns them off (6.1's dm reads 0 and counts anyway).
 */
static inline struct gendisk *dmx_compat_alloc_disk(void)
{
	struct gendisk *disk = blk_alloc_disk(NUMA_NO_NODE);

	if (!disk)
		return ERR_PTR(-ENOMEM);
	blk_queue_flag_set(QUEUE_FLAG_IO_STAT, disk->queue);
	return disk;
}

static inline int dmx_compat_blk_open(struct block_device *bdev, fmode_t mode)
{
	return dmx_blk_open(bdev->bd_disk);
}

static inline void dmx_compat_blk_release(struct gendisk *disk, fmode_t mode)
{
	dmx_blk_release(disk);
}

static inline void dmx_compat_stack_features(struct dmx_queue_features *f,
					     struct block_device *bdev)
{
	struct request_queue *q = bdev_get_queue(bdev);

	f->write_cache |= test_bit(QUEUE_FLAG_WC, &q->queue_flags);
	f->fua |= test_bit(QUEUE_FLAG_FUA, &q->queue_flags);
	f->rotational |= !bdev_nonrot(bdev);
	f->nowait &= bdev_nowait(bdev);
}

/* Limits are a plain structure in the queue, features are queue flags. */
static inline int dmx_compat_apply_limits(struct gendisk *disk,
					  const struct queue_limits *lim,
					  const struct dmx_queue_features *f)
{
	struct request_queue *q = disk->queue;

	q->limits = *lim;
	blk_queue_write_cache(q, f->write_cache, f->fua);
	if (f->rotational)
		blk_queue_flag_clear(QUEUE_FLAG_NONROT, q);
	else
		blk_queue_flag_set(QUEUE_FLAG_NONROT, q);
	if (f->nowait)
		blk_queue_flag_set(QUEUE_FLAG_NOWAIT, q);
	else
		blk_queue_flag_clear(QUEUE_FLAG_NOWAIT, q);
	disk_update_readahead(disk);
	return 0;
}

static inline void dmx_compat_clear_discard(struct queue_limits *lim)
{
	lim->max_discard_sectors = 0;
	lim->max_hw_discard_sectors = 0;
	lim->discard_granularity = 0;
	lim->discard_alignment = 0;
	lim->discard_misaligned = 0;
}

static inline void dmx_compat_set_io_min(struct queue_limits *lim,
					 unsigned int bytes)
{
	blk_limits_io_min(lim, bytes);
}

static inline void dmx_compat_set_io_opt(struct queue_limits *lim,
					 unsigned int bytes)
{
	blk_limits_io_opt(lim, bytes);
}

/*
 * I/O accounting of the mapped device, as /proc/diskstats shows it:
 * start returns the start time for end.
 */
static inline unsigned long dmx_compat_io_acct_start(struct block_device *bdev,
						     enum req_op op,
						     unsigned int sectors)
{
	return bdev_start_io_acct(bdev, sectors, op, jiffies);
}

static inline void dmx_compat_io_acct_end(struct block_device *bdev,
					  enum req_op op, unsigned int sectors,
					  unsigned long start_time)
{
	bdev_end_io_acct(bdev, op, start_time);
}

static inline int dmx_compat_freeze_bdev(struct block_device *bdev)
{
	return freeze_bdev(bdev);
}

static inline void dmx_compat_thaw_bdev(struct block_device *bdev)
{
	thaw_bdev(bdev);
}

#endif /* 6.1 */
/*
 * Crypto API completion callbacks are handed the request's data pointer
 * since 6.3; before, the async request that carries it.  A callback
 * takes a dmx_crypto_done_arg_t and gets its data with
 * dmx_compat_crypto_done_data().
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
typedef struct crypto_async_request *dmx_crypto_done_arg_t;

static inline void *dmx_compat_crypto_done_data(dmx_crypto_done_arg_t arg)
{
	return arg->data;
}
#else
typedef void *dmx_crypto_done_arg_t;

static inline void *dmx_compat_crypto_done_data(dmx_crypto_done_arg_t arg)
{
	return arg;
}
#endif

#endif /* DMX_COMPAT_H */
