// SPDX-License-Identifier: GPL-2.0
/*
 * The slow path of thin bios, on the pool's worker: everything the fast
 * path (dm-target-thin.c) cannot do without sleeping or changing the
 * metadata.
 *
 * A write to an unmapped block, or to one that may be shared with a
 * snapshot, starts a job: the virtual block is made busy (bios to it
 * wait, in order), a data block is allocated, the parts of it the write
 * does not cover are zeroed or copied (from the shared block, or the
 * external origin) while the write itself goes straight to it, and once
 * all of that is done the mapping is inserted and the write completes.
 * A discard of a whole block unmaps it; if that freed the data block,
 * the discard goes on to it.  Empty flushes and FUA writes complete only
 * after a commit, if there is anything to commit.
 */
#include <linux/bio.h>
#include <linux/jiffies.h>

#include "dmx-thin.h"

#define THIN_COMMIT_PERIOD	HZ

static struct thin_io *thin_io_of(struct bio *bio)
{
	return dmx_per_io_data(bio);
}

void thin_io_error_list(struct bio_list *bios, blk_status_t status)
{
	struct bio *bio;

	while ((bio = bio_list_pop(bios))) {
		bio->bi_status = status;
		bio_endio(bio);
	}
}

/* Takes bio (target-relative) to its place in data block b. */
void thin_io_remap(struct thin_c *tc, struct bio *bio, pdata_block_t b)
{
	struct thin_pool *pool = tc->pool;

	bio_set_dev(bio, pool->data_bdev);
	bio->bi_iter.bi_sector = thin_block_to_sector(pool, b) +
		thin_sector_in_block(pool, bio->bi_iter.bi_sector);
}

static void thin_issue(struct thin_c *tc, struct bio *bio, pdata_block_t b)
{
	struct thin_io *io = thin_io_of(bio);

	io->epoch = thin_pool_epoch_get(tc->pool);
	if ((bio->bi_opf & REQ_FUA) && thin_md_dev_changed(tc->td))
		io->complete_after_commit = true;
	thin_io_remap(tc, bio, b);
	submit_bio_noacct(bio);
}

/* Out of data space (or read-only): wait for space, or fail. */
void thin_io_no_space(struct thin_pool *pool, struct bio *bio)
{
	unsigned long flags;

	if (pool->mode != THIN_MODE_OUT_OF_DATA_SPACE) {
		bio_io_error(bio);
		return;
	}
	if (pool->pf.error_if_no_space) {
		bio->bi_status = BLK_STS_NOSPC;
		bio_endio(bio);
		return;
	}
	spin_lock_irqsave(&pool->lock, flags);
	bio_list_add(&pool->retry, bio);
	spin_unlock_irqrestore(&pool->lock, flags);
}

/* Waiting bios go back to the head of the queue, in their order. */
static void thin_io_requeue_front(struct thin_pool *pool, struct bio_list *bios)
{
	if (bio_list_empty(bios))
		return;
	spin_lock_irq(&pool->lock);
	bio_list_merge_head(&pool->deferred, bios);
	spin_unlock_irq(&pool->lock);
	thin_pool_wake(pool);
}

static void thin_io_complete_after_commit(struct thin_pool *pool,
					  struct bio *bio)
{
	spin_lock_irq(&pool->lock);
	bio_list_add(&pool->commit_wait, bio);
	spin_unlock_irq(&pool->lock);
}

/* Allocation. */

static void thin_check_low_water(struct thin_pool *pool, pdata_block_t free)
{
	if (free > pool->low_water || pool->low_water_triggered)
		return;
	pr_warn(THIN_PREFIX "%s: reached low water mark for data device: sending event.\n",
		pool->name);
	pool->low_water_triggered = true;
	thin_pool_event(pool);
}

static int thin_alloc_data(struct thin_pool *pool, pdata_block_t *b)
{
	pdata_block_t nr, free;
	int r;

	thin_md_data_space(pool->md, &nr, &free);
	thin_check_low_water(pool, free);
	if (!free) {
		/* Blocks freed in this transaction come back with a commit. */
		r = thin_pool_commit(pool);
		if (r)
			return r;
		thin_md_data_space(pool->md, &nr, &free);
		if (!free) {
			thin_pool_set_mode(pool, THIN_MODE_OUT_OF_DATA_SPACE);
			return -ENOSPC;
		}
	}
	r = thin_md_alloc_data(pool->md, b);
	if (r == -ENOSPC) {
		r = thin_pool_commit(pool);
		if (!r)
			r = thin_md_alloc_data(pool->md, b);
	}
	if (r == -ENOSPC) {
		thin_pool_set_mode(pool, THIN_MODE_OUT_OF_DATA_SPACE);
		return r;
	}
	if (r) {
		thin_pool_metadata_failed(pool, "alloc_data_block", r);
		return r;
	}
	/* Commit before the metadata reserve goes: that ends in read-only. */
	thin_md_meta_space(pool->md, &nr, &free);
	if (!free)
		thin_pool_commit(pool);
	return 0;
}

/* Jobs. */

/*
 * A job for bio, holding vblock's cell: -EAGAIN if there is no memory for
 * one (the bio is tried again); 0 and no job if vblock is busy, the bio
 * then waiting on the cell of whoever has it.
 */
static int thin_job_claim(struct thin_c *tc, struct bio *bio, u64 vblock,
			  struct thin_job **result)
{
	struct thin_pool *pool = tc->pool;
	struct thin_job *job = mempool_alloc(&pool->job_pool, GFP_NOWAIT);

	*result = NULL;
	if (!job)
		return -EAGAIN;
	INIT_LIST_HEAD(&job->node);
	job->pool = pool;
	job->tc = tc;
	job->bio = bio;
	job->error = 0;
	/* The reference of whoever starts the job's I/O. */
	atomic_set(&job->pending, 1);
	if (!thin_cell_claim(&pool->cells, &job->cell, tc->dev_id, vblock, bio)) {
		mempool_free(job, &pool->job_pool);
		return 0;
	}
	*result = job;
	return 0;
}

/* One part of a job's I/O is done; the last one hands it to the worker. */
void thin_job_done_one(struct thin_job *job, int error)
{
	struct thin_pool *pool = job->pool;
	unsigned long flags;

	if (error)
		WRITE_ONCE(job->error, error);
	if (!atomic_dec_and_test(&job->pending))
		return;
	spin_lock_irqsave(&pool->lock, flags);
	list_add_tail(&job->node, &pool->finished);
	spin_unlock_irqrestore(&pool->lock, flags);
	thin_pool_wake(pool);
}

/* The job never started: its bio and those waiting get what it got. */
static void thin_job_abandon(struct thin_job *job, int r)
{
	struct thin_pool *pool = job->pool;
	struct bio_list bios;
	struct bio *bio;

	bio_list_init(&bios);
	bio_list_add(&bios, job->bio);
	thin_cell_release(&pool->cells, &job->cell, &bios);
	mempool_free(job, &pool->job_pool);
	while ((bio = bio_list_pop(&bios))) {
		if (r == -ENOSPC)
			thin_io_no_space(pool, bio);
		else
			bio_io_error(bio);
	}
}

static void thin_job_copied(const struct dmx_copy_result *result,
			    void *context)
{
	thin_job_done_one(context, result->error);
}

/* Sectors [from, to) of the new block from src at src_base + from, or zeroed. */
static void thin_job_fill(struct thin_job *job, struct block_device *src,
			  sector_t src_base, sector_t dst_base, sector_t from,
			  sector_t to)
{
	struct thin_pool *pool = job->pool;
	struct dmx_copy_region dst = {
		.bdev = pool->data_bdev,
		.sector = dst_base + from,
	};
	struct dmx_copy_region origin = {
		.bdev = src,
		.sector = src_base + from,
	};

	if (from >= to)
		return;
	atomic_inc(&job->pending);
	if (src)
		dmx_copy(pool->copier, &origin, &dst, 1, to - from,
			 thin_job_copied, job);
	else
		dmx_copy_zero(pool->copier, &dst, 1, to - from,
			      thin_job_copied, job);
}

/* Sectors [from, to) of a new block for vblock, from the external origin. */
static void thin_job_fill_origin(struct thin_job *job, sector_t vbase,
				 sector_t dst_base, sector_t from, sector_t to)
{
	struct thin_c *tc = job->tc;
	sector_t split = tc->origin_sectors > vbase ?
			 min(tc->origin_sectors - vbase, to) : 0;

	split = max(split, from);
	thin_job_fill(job, tc->origin_dev->bdev, vbase, dst_base, from, split);
	thin_job_fill(job, NULL, 0, dst_base, split, to);
}

/*
 * Gives vblock a new block: the write goes to it, the rest of the block
 * is copied from what was there (old, if shared) or zeroed.
 */
static int thin_provision(struct thin_c *tc, struct bio *bio, u64 vblock,
			  bool shared, pdata_block_t old)
{
	struct thin_pool *pool = tc->pool;
	sector_t off, end, base;
	struct thin_job *job;
	pdata_block_t b;
	int r;

	r = thin_job_claim(tc, bio, vblock, &job);
	if (r || !job)
		return r;
	r = thin_alloc_data(pool, &b);
	if (r) {
		thin_job_abandon(job, r);
		return 0;
	}
	job->kind = THIN_JOB_PROVISION;
	job->data_block = b;
	base = thin_block_to_sector(pool, b);
	off = thin_sector_in_block(pool, bio->bi_iter.bi_sector);
	end = off + bio_sectors(bio);
	if (shared) {
		thin_job_fill(job, pool->data_bdev, thin_block_to_sector(pool, old),
			      base, 0, off);
		thin_job_fill(job, pool->data_bdev, thin_block_to_sector(pool, old),
			      base, end, pool->block_sectors);
	} else if (tc->origin_dev) {
		sector_t vbase = thin_block_to_sector(pool, vblock);

		thin_job_fill_origin(job, vbase, base, 0, off);
		thin_job_fill_origin(job, vbase, base, end, pool->block_sectors);
	} else if (pool->pf.zero_new_blocks) {
		thin_job_fill(job, NULL, 0, base, 0, off);
		thin_job_fill(job, NULL, 0, base, end, pool->block_sectors);
	}
	thin_io_of(bio)->job = job;
	atomic_inc(&job->pending);
	thin_io_remap(tc, bio, b);
	submit_bio_noacct(bio);
	thin_job_done_one(job, 0);
	return 0;
}

static void thin_finish_provision(struct thin_job *job)
{
	struct thin_pool *pool = job->pool;
	struct bio *bio = job->bio;
	struct bio_list waiting;
	int r = job->error;

	if (r) {
		pr_err_ratelimited(THIN_PREFIX "%s: writing a new block failed (%d)\n",
				   pool->name, r);
		/* Read-only: the block stays allocated until a repair. */
		if (pool->mode == THIN_MODE_WRITE &&
		    thin_md_free_data(pool->md, job->data_block))
			thin_pool_metadata_failed(pool, "free_data_block", r);
	} else if (pool->mode != THIN_MODE_WRITE &&
		   pool->mode != THIN_MODE_OUT_OF_DATA_SPACE) {
		/* The metadata failed while this block was being written. */
		r = -EIO;
	} else {
		r = thin_md_insert(job->tc->td, job->cell.vblock, job->data_block);
		if (r)
			thin_pool_metadata_failed(pool, "insert_block", r);
	}
	bio_list_init(&waiting);
	thin_cell_release(&pool->cells, &job->cell, &waiting);
	mempool_free(job, &pool->job_pool);
	if (r) {
		bio_io_error(bio);
		thin_io_error_list(&waiting, BLK_STS_IOERR);
		return;
	}
	if (bio->bi_opf & REQ_FUA) {
		thin_io_complete_after_commit(pool, bio);
	} else {
		bio->bi_status = BLK_STS_OK;
		bio_endio(bio);
	}
	thin_io_requeue_front(pool, &waiting);
}

/* Discards. */

static int thin_process_discard(struct thin_c *tc, struct bio *bio)
{
	struct thin_pool *pool = tc->pool;
	struct bio_list waiting;
	struct thin_job *job;
	pdata_block_t b;
	bool freed;
	u64 vblock;
	int r;

	/* Only whole blocks are unmapped; the core splits at block ends. */
	if (!pool->pf.discard_enabled || thin_pool_read_only(pool) ||
	    bio_sectors(bio) != pool->block_sectors ||
	    thin_sector_in_block(pool, bio->bi_iter.bi_sector)) {
		bio_endio(bio);
		return 0;
	}
	vblock = thin_sector_to_block(pool, bio->bi_iter.bi_sector);
	r = thin_job_claim(tc, bio, vblock, &job);
	if (r || !job)
		return r;
	r = thin_md_remove(tc->td, vblock, &freed, &b);
	if (!r && freed) {
		pool->freed = true;
		if (pool->pf.discard_passdown) {
			job->kind = THIN_JOB_DISCARD;
			thin_io_of(bio)->job = job;
			atomic_inc(&job->pending);
			thin_issue(tc, bio, b);
			thin_job_done_one(job, 0);
			return 0;
		}
	}
	if (r && r != -ENODATA)
		thin_pool_metadata_failed(pool, "remove_block", r);
	bio_list_init(&waiting);
	thin_cell_release(&pool->cells, &job->cell, &waiting);
	mempool_free(job, &pool->job_pool);
	if (r && r != -ENODATA) {
		bio_io_error(bio);
		thin_io_error_list(&waiting, BLK_STS_IOERR);
		return 0;
	}
	bio_endio(bio);
	thin_io_requeue_front(pool, &waiting);
	return 0;
}

/* The block is unmapped whatever became of the discard below. */
static void thin_finish_discard(struct thin_job *job)
{
	struct thin_pool *pool = job->pool;
	struct bio *bio = job->bio;
	struct bio_list waiting;

	bio_list_init(&waiting);
	thin_cell_release(&pool->cells, &job->cell, &waiting);
	mempool_free(job, &pool->job_pool);
	bio->bi_status = BLK_STS_OK;
	bio_endio(bio);
	thin_io_requeue_front(pool, &waiting);
}

static void thin_finish_jobs(struct thin_pool *pool)
{
	struct thin_job *job, *tmp;
	LIST_HEAD(jobs);

	spin_lock_irq(&pool->lock);
	list_splice_init(&pool->finished, &jobs);
	spin_unlock_irq(&pool->lock);
	list_for_each_entry_safe(job, tmp, &jobs, node) {
		list_del(&job->node);
		if (job->kind == THIN_JOB_PROVISION)
			thin_finish_provision(job);
		else
			thin_finish_discard(job);
	}
}

/* Reads of unmapped blocks: zeroes, or the external origin. */
int thin_io_read_unmapped(struct thin_c *tc, struct bio *bio)
{
	sector_t sector = bio->bi_iter.bi_sector;

	if (!tc->origin_dev || sector >= tc->origin_sectors) {
		zero_fill_bio(bio);
		bio_endio(bio);
		return DMX_MAPIO_SUBMITTED;
	}
	/* Past the origin's end reads zeroes: fill, then read the rest over. */
	if (bio_end_sector(bio) > tc->origin_sectors) {
		zero_fill_bio(bio);
		bio->bi_iter.bi_size = (tc->origin_sectors - sector) << SECTOR_SHIFT;
	}
	bio_set_dev(bio, tc->origin_dev->bdev);
	return DMX_MAPIO_REMAPPED;
}

static void thin_process_flush(struct thin_c *tc, struct bio *bio)
{
	struct thin_pool *pool = tc->pool;

	if (thin_md_changed(pool->md)) {
		thin_io_complete_after_commit(pool, bio);
		return;
	}
	bio_set_dev(bio, pool->data_bdev);
	submit_bio_noacct(bio);
}

/* -EAGAIN: no memory for a job now; try again when one finishes. */
static int thin_process_bio(struct thin_pool *pool, struct bio *bio)
{
	struct thin_c *tc = thin_io_of(bio)->tc;
	bool write = op_is_write(bio_op(bio));
	struct thin_lookup l;
	u64 vblock;
	int r;

	if (pool->mode == THIN_MODE_FAIL) {
		bio_io_error(bio);
		return 0;
	}
	if ((bio->bi_opf & REQ_PREFLUSH) && !bio_sectors(bio)) {
		thin_process_flush(tc, bio);
		return 0;
	}
	if (op_is_discard(bio->bi_opf))
		return thin_process_discard(tc, bio);

	vblock = thin_sector_to_block(pool, bio->bi_iter.bi_sector);
	if (thin_cell_wait(&pool->cells, tc->dev_id, vblock, bio))
		return 0;
	r = thin_md_find(tc->td, vblock, true, &l);
	if (r && r != -ENODATA) {
		bio_io_error(bio);
		return 0;
	}
	if (r == -ENODATA && !write) {
		if (thin_io_read_unmapped(tc, bio) == DMX_MAPIO_REMAPPED)
			submit_bio_noacct(bio);
		return 0;
	}
	if (!r && (!write || !l.shared)) {
		thin_issue(tc, bio, l.block);
		return 0;
	}
	if (pool->mode != THIN_MODE_WRITE) {
		thin_io_no_space(pool, bio);
		return 0;
	}
	return thin_provision(tc, bio, vblock, !r, l.block);
}

static void thin_process_deferred(struct thin_pool *pool)
{
	struct bio_list bios;
	struct bio *bio;

	for (;;) {
		spin_lock_irq(&pool->lock);
		bios = pool->deferred;
		bio_list_init(&pool->deferred);
		spin_unlock_irq(&pool->lock);
		if (bio_list_empty(&bios))
			return;
		while ((bio = bio_list_pop(&bios))) {
			if (thin_process_bio(pool, bio) != -EAGAIN)
				continue;
			bio_list_add_head(&bios, bio);
			spin_lock_irq(&pool->lock);
			bio_list_merge_head(&pool->deferred, &bios);
			spin_unlock_irq(&pool->lock);
			return;
		}
		thin_finish_jobs(pool);
	}
}

static void thin_maybe_commit(struct thin_pool *pool)
{
	struct bio_list waiting;
	struct bio *bio;
	int r;

	spin_lock_irq(&pool->lock);
	waiting = pool->commit_wait;
	bio_list_init(&pool->commit_wait);
	spin_unlock_irq(&pool->lock);

	if (bio_list_empty(&waiting) &&
	    (time_before(jiffies, pool->last_commit + THIN_COMMIT_PERIOD) ||
	     !thin_md_changed(pool->md)))
		return;
	r = thin_pool_commit(pool);
	if (r) {
		thin_io_error_list(&waiting, BLK_STS_IOERR);
		return;
	}
	while ((bio = bio_list_pop(&waiting))) {
		bio->bi_status = BLK_STS_OK;
		bio_endio(bio);
	}
}

void thin_io_process(struct thin_pool *pool)
{
	thin_finish_jobs(pool);
	thin_process_deferred(pool);
	thin_maybe_commit(pool);
}
