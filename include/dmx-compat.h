/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Everything that differs between the kernels dmx builds against lives
 * here, behind one small set of helpers, so the rest of the module reads
 * as plain kernel code.  Only the 6.1 block layer interface is wired up
 * so far; a newer kernel fails the build here rather than somewhere
 * obscure.
 */
#ifndef DMX_COMPAT_H
#define DMX_COMPAT_H

#include <linux/version.h>
#include <linux/blkdev.h>
#include <linux/crypto.h>
#include <linux/mount.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 1, 0) || \
	LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#error "dmx: only the 6.1 block layer interface is supported so far"
#endif

/* The open mode of an underlying device. */
typedef fmode_t dmx_mode_t;
#define DMX_MODE_READ	FMODE_READ
#define DMX_MODE_WRITE	FMODE_WRITE

/* An exclusively opened underlying block device. */
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

/* The boot-time device names: "sda1", a hex dev_t, PARTUUID=... */
static inline dev_t dmx_compat_name_to_devt(const char *name)
{
	return name_to_dev_t(name);
}

static inline struct gendisk *dmx_compat_alloc_disk(void)
{
	return blk_alloc_disk(NUMA_NO_NODE);
}

/*
 * What a table's devices offer beyond struct queue_limits.  The table
 * starts with nowait true and clears it for a device or target that
 * cannot take REQ_NOWAIT.
 */
struct dmx_queue_features {
	bool write_cache;	/* some device has a volatile cache: flushes */
	bool fua;		/* some device honours FUA */
	bool rotational;	/* some device spins */
	bool nowait;		/* every device and target takes REQ_NOWAIT */
};

static inline void dmx_compat_stack_features(struct dmx_queue_features *f,
					     struct block_device *bdev)
{
	struct request_queue *q = bdev_get_queue(bdev);

	f->write_cache |= test_bit(QUEUE_FLAG_WC, &q->queue_flags);
	f->fua |= test_bit(QUEUE_FLAG_FUA, &q->queue_flags);
	f->rotational |= !bdev_nonrot(bdev);
	f->nowait &= bdev_nowait(bdev);
}

/*
 * Installs stacked limits and features on a bio-based queue.  Flush and
 * FUA are advertised when a device below has a cache to flush, so the
 * block layer hands them to us and we pass them on to every device.
 */
static inline void dmx_compat_apply_limits(struct gendisk *disk,
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
