// SPDX-License-Identifier: GPL-2.0
/*
 * thin <pool dev> <dev id> [<external origin dev>]: one thin device of
 * a pool (thin-provisioning.rst).
 *
 * The fast path maps a bio without sleeping or allocating when it can:
 * a read of a mapped block, a write to a mapped block no snapshot may
 * share, a read of an unmapped block (zeroes, or the external origin).
 * Everything else, and any lookup that would need metadata I/O or wait
 * for the metadata lock, goes to the pool's worker (dm-thin-io.c).  A
 * bio to a block that a job is working on waits for the job.
 */
#include <linux/module.h>
#include <linux/slab.h>

#include "dmx-thin.h"

static int thin_map(struct dmx_target *ti, struct bio *bio)
{
	struct thin_c *tc = ti->private;
	struct thin_pool *pool = tc->pool;
	struct thin_io *io = dmx_per_io_data(bio);
	struct thin_cell *cell;
	struct thin_lookup l;
	u64 vblock;
	bool write;
	int r;

	io->tc = tc;
	io->job = NULL;
	io->epoch = -1;
	io->complete_after_commit = false;
	if (unlikely(READ_ONCE(pool->mode) == THIN_MODE_FAIL))
		return DMX_MAPIO_KILL;
	if (bio_sectors(bio))
		bio->bi_iter.bi_sector -= ti->begin;
	if (unlikely(bio->bi_opf & REQ_PREFLUSH) || op_is_discard(bio->bi_opf))
		goto defer;

	vblock = thin_sector_to_block(pool, bio->bi_iter.bi_sector);
	write = op_is_write(bio_op(bio));
	spin_lock(&pool->cells.lock);
	cell = __thin_cell_find(&pool->cells, tc->dev_id, vblock);
	if (cell) {
		bio_list_add(&cell->waiting, bio);
		spin_unlock(&pool->cells.lock);
		return DMX_MAPIO_SUBMITTED;
	}
	/* Before the lookup: a block it finds stays ours until we are done. */
	io->epoch = pool->epoch & 1;
	atomic_inc(&pool->inflight[io->epoch]);
	spin_unlock(&pool->cells.lock);

	r = thin_md_find(tc->td, vblock, false, &l);
	if (!r && (!write || !l.shared)) {
		if ((bio->bi_opf & REQ_FUA) && thin_md_dev_changed(tc->td))
			io->complete_after_commit = true;
		thin_io_remap(tc, bio, l.block);
		return DMX_MAPIO_REMAPPED;
	}
	thin_pool_epoch_put(pool, io->epoch);
	io->epoch = -1;
	if (r == -ENODATA && !write)
		return thin_io_read_unmapped(tc, bio);
defer:
	thin_pool_defer(pool, bio);
	return DMX_MAPIO_SUBMITTED;
}

static int thin_end_io(struct dmx_target *ti, struct bio *bio,
		       blk_status_t *error)
{
	struct thin_io *io = dmx_per_io_data(bio);
	struct thin_pool *pool = io->tc->pool;
	struct thin_job *job = io->job;
	unsigned long flags;

	if (io->epoch >= 0) {
		thin_pool_epoch_put(pool, io->epoch);
		io->epoch = -1;
	}
	if (job) {
		/* The job completes the bio once its mapping is in place. */
		io->job = NULL;
		thin_job_done_one(job, blk_status_to_errno(*error));
		return DMX_ENDIO_INCOMPLETE;
	}
	if (io->complete_after_commit && !*error) {
		io->complete_after_commit = false;
		spin_lock_irqsave(&pool->lock, flags);
		bio_list_add(&pool->commit_wait, bio);
		spin_unlock_irqrestore(&pool->lock, flags);
		thin_pool_wake(pool);
		return DMX_ENDIO_INCOMPLETE;
	}
	return DMX_ENDIO_DONE;
}

static int thin_parse_dev_id(const char *arg, u64 *id)
{
	return kstrtoull(arg, 10, id) || *id > THIN_MAX_DEV_ID ? -EINVAL : 0;
}

static int thin_open_devices(struct dmx_target *ti, struct thin_c *tc,
			     unsigned int argc, char **argv)
{
	int r;

	if (argc == 3) {
		if (!strcmp(argv[0], argv[2])) {
			ti->error = "Error setting origin device";
			return -EINVAL;
		}
		r = dmx_get_device(ti, argv[2], &tc->origin_dev);
		if (r) {
			ti->error = "Error opening origin device";
			return r;
		}
		tc->origin_sectors = bdev_nr_sectors(tc->origin_dev->bdev);
	}
	r = dmx_get_device(ti, argv[0], &tc->pool_dev);
	if (r) {
		ti->error = "Error opening pool device";
		goto bad;
	}
	r = thin_parse_dev_id(argv[1], &tc->dev_id);
	if (r) {
		ti->error = "Invalid device id";
		dmx_put_device(ti, tc->pool_dev);
		goto bad;
	}
	return 0;

bad:
	if (tc->origin_dev)
		dmx_put_device(ti, tc->origin_dev);
	return r;
}

static void thin_close_devices(struct dmx_target *ti, struct thin_c *tc)
{
	dmx_put_device(ti, tc->pool_dev);
	if (tc->origin_dev)
		dmx_put_device(ti, tc->origin_dev);
}

/* Joins the pool's list of active thins, unless it is suspended. */
static int thin_join_pool(struct thin_c *tc)
{
	struct thin_pool *pool = tc->pool;
	int r = 0;

	spin_lock_irq(&pool->lock);
	if (pool->suspended)
		r = -EINVAL;
	else
		list_add_tail(&tc->node, &pool->thins);
	spin_unlock_irq(&pool->lock);
	return r;
}

static int thin_ctr(struct dmx_target *ti, unsigned int argc, char **argv)
{
	struct thin_c *tc;
	int r;

	if (argc != 2 && argc != 3) {
		ti->error = "Invalid argument count";
		return -EINVAL;
	}
	tc = kzalloc(sizeof(*tc), GFP_KERNEL);
	if (!tc) {
		ti->error = "Out of memory";
		return -ENOMEM;
	}
	tc->ti = ti;
	INIT_LIST_HEAD(&tc->node);
	r = thin_open_devices(ti, tc, argc, argv);
	if (r)
		goto bad_devices;
	tc->pool = thin_pool_find(tc->pool_dev->bdev->bd_dev);
	if (!tc->pool) {
		ti->error = "Couldn't find pool object";
		r = -EINVAL;
		goto bad_pool;
	}
	r = -EINVAL;
	if (READ_ONCE(tc->pool->mode) == THIN_MODE_FAIL) {
		ti->error = "Couldn't open thin device, Pool is in fail mode";
		goto bad_td;
	}
	r = thin_md_open_dev(tc->pool->md, tc->dev_id, &tc->td);
	if (r) {
		ti->error = "Couldn't open thin internal device";
		goto bad_td;
	}
	ti->max_io_len = tc->pool->block_sectors;
	ti->num_flush_bios = 1;
	ti->per_io_data_size = sizeof(struct thin_io);
	/* A discard unmaps blocks, whatever the data device takes. */
	if (tc->pool->pf.discard_enabled) {
		ti->num_discard_bios = 1;
		ti->discards_supported = true;
	}
	r = thin_join_pool(tc);
	if (r) {
		ti->error = "Unable to activate thin device while pool is suspended";
		goto bad_join;
	}
	ti->private = tc;
	return 0;

bad_join:
	thin_md_close_dev(tc->td);
bad_td:
	thin_pool_put(tc->pool);
bad_pool:
	thin_close_devices(ti, tc);
bad_devices:
	kfree(tc);
	return r;
}

static void thin_dtr(struct dmx_target *ti)
{
	struct thin_c *tc = ti->private;
	struct thin_pool *pool = tc->pool;

	spin_lock_irq(&pool->lock);
	list_del(&tc->node);
	spin_unlock_irq(&pool->lock);
	thin_md_close_dev(tc->td);
	thin_pool_put(pool);
	thin_close_devices(ti, tc);
	kfree(tc);
}

static int thin_preresume(struct dmx_target *ti)
{
	struct thin_c *tc = ti->private;

	if (tc->origin_dev)
		tc->origin_sectors = bdev_nr_sectors(tc->origin_dev->bdev);
	return 0;
}

static void thin_status_info(struct thin_c *tc, char *result,
			     unsigned int maxlen, unsigned int *sz)
{
	sector_t bs = tc->pool->block_sectors;
	u64 mapped, highest;
	bool any;

	if (thin_md_mapped(tc->td, &mapped, &highest, &any)) {
		dmx_emit(result, maxlen, sz, "Error");
		return;
	}
	dmx_emit(result, maxlen, sz, "%llu ", mapped * bs);
	if (any)
		dmx_emit(result, maxlen, sz, "%llu", (highest + 1) * bs - 1);
	else
		dmx_emit(result, maxlen, sz, "-");
}

static void thin_status(struct dmx_target *ti, enum dmx_status_type type,
			char *result, unsigned int maxlen)
{
	struct thin_c *tc = ti->private;
	unsigned int sz = 0;

	if (maxlen)
		*result = '\0';
	if (READ_ONCE(tc->pool->mode) == THIN_MODE_FAIL) {
		dmx_emit(result, maxlen, &sz, "Fail");
		return;
	}
	switch (type) {
	case DMX_STATUS_INFO:
		thin_status_info(tc, result, maxlen, &sz);
		break;
	case DMX_STATUS_TABLE:
		dmx_emit(result, maxlen, &sz, "%s %llu", tc->pool_dev->name,
			 tc->dev_id);
		if (tc->origin_dev)
			dmx_emit(result, maxlen, &sz, " %s", tc->origin_dev->name);
		break;
	case DMX_STATUS_IMA:
		/* dm-thin measures nothing. */
		break;
	}
}

static int thin_iterate_devices(struct dmx_target *ti, dmx_iterate_fn fn,
				void *data)
{
	struct thin_c *tc = ti->private;
	struct thin_pool *pool = tc->pool;
	u64 blocks = thin_sector_to_block(pool, READ_ONCE(pool->data_sectors));

	if (!blocks)
		return 0;
	return fn(ti, tc->pool_dev, 0, thin_block_to_sector(pool, blocks), data);
}

/* Discards unmap blocks whatever the pool's data device can do. */
static void thin_io_hints(struct dmx_target *ti, struct queue_limits *limits)
{
	struct thin_c *tc = ti->private;
	struct thin_pool *pool = tc->pool;

	if (!pool->pf.discard_enabled)
		return;
	limits->discard_granularity = pool->block_sectors << SECTOR_SHIFT;
	limits->max_discard_sectors = 16U << (30 - SECTOR_SHIFT);
	limits->max_hw_discard_sectors = limits->max_discard_sectors;
}

/* Versions are upstream's: LVM2 picks features by them. */
static struct dmx_target_type thin_target = {
	.name		 = "thin",
	.version	 = {1, 22, 0},
	.module		 = THIS_MODULE,
	.ctr		 = thin_ctr,
	.dtr		 = thin_dtr,
	.map		 = thin_map,
	.end_io		 = thin_end_io,
	.preresume	 = thin_preresume,
	.status		 = thin_status,
	.iterate_devices = thin_iterate_devices,
	.io_hints	 = thin_io_hints,
};

int dmx_thin_init(void)
{
	return dmx_register_target(&thin_target);
}

void dmx_thin_exit(void)
{
	dmx_unregister_target(&thin_target);
}
