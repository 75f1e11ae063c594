// SPDX-License-Identifier: GPL-2.0
/*
 * The thin pool object: one per metadata device, shared by every table
 * that loads a thin-pool target on it (a reload makes a second table on
 * the same pool) and by the thin targets on top.
 *
 * Everything that changes the metadata runs on the pool's worker, an
 * ordered workqueue: the bio slow path (dm-thin-io.c), commits, target
 * messages, mode changes, the binding of a new table at resume.  Other
 * contexts hand work to it with thin_pool_run() and wait.  So the
 * metadata has one writer at a time without any lock of ours, and the
 * bio fast path only ever reads it.
 */
#include <linux/blkdev.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "dmx-thin.h"

#define THIN_COMMIT_PERIOD	HZ
#define THIN_JOBS		256

unsigned int thin_no_space_timeout = 60;
module_param_named(thin_no_space_timeout, thin_no_space_timeout, uint, 0644);
MODULE_PARM_DESC(thin_no_space_timeout,
		 "Seconds a thin pool out of data space queues I/O (0: forever)");

/* Protects thin_pools and each pool's refs. */
static DEFINE_MUTEX(thin_pools_lock);
static LIST_HEAD(thin_pools);

const char *thin_pool_name(struct thin_pool *pool)
{
	return pool->name;
}

void thin_pool_wake(struct thin_pool *pool)
{
	queue_work(pool->wq, &pool->worker);
}

void thin_pool_defer(struct thin_pool *pool, struct bio *bio)
{
	unsigned long flags;

	spin_lock_irqsave(&pool->lock, flags);
	bio_list_add(&pool->deferred, bio);
	spin_unlock_irqrestore(&pool->lock, flags);
	thin_pool_wake(pool);
}

void thin_pool_event(struct thin_pool *pool)
{
	if (pool->pt)
		dmx_target_event(pool->pt->ti);
}

bool thin_pool_read_only(struct thin_pool *pool)
{
	enum thin_mode mode = READ_ONCE(pool->mode);

	return mode == THIN_MODE_OUT_OF_META_SPACE || mode == THIN_MODE_READ_ONLY;
}

/* Epochs of data bios in flight (see struct thin_pool). */

int thin_pool_epoch_get(struct thin_pool *pool)
{
	int epoch;

	spin_lock(&pool->cells.lock);
	epoch = pool->epoch & 1;
	atomic_inc(&pool->inflight[epoch]);
	spin_unlock(&pool->cells.lock);
	return epoch;
}

void thin_pool_epoch_put(struct thin_pool *pool, int epoch)
{
	if (atomic_dec_and_test(&pool->inflight[epoch]) &&
	    wq_has_sleeper(&pool->inflight_wait))
		wake_up(&pool->inflight_wait);
}

/* Every bio that may still go to a block freed before now has ended. */
static void thin_pool_drain_epoch(struct thin_pool *pool)
{
	int old;

	spin_lock(&pool->cells.lock);
	old = pool->epoch & 1;
	pool->epoch++;
	spin_unlock(&pool->cells.lock);
	wait_event(pool->inflight_wait, !atomic_read(&pool->inflight[old]));
}

/* Running work on the worker. */

struct thin_pool_call {
	struct work_struct work;
	int (*fn)(void *arg);
	void *arg;
	int r;
	struct completion done;
};

static void thin_pool_call_work(struct work_struct *work)
{
	struct thin_pool_call *call = container_of(work, struct thin_pool_call,
						   work);

	call->r = call->fn(call->arg);
	complete(&call->done);
}

/* Runs fn(arg) on the pool's worker, between two of its other jobs. */
int thin_pool_run(struct thin_pool *pool, int (*fn)(void *arg), void *arg)
{
	struct thin_pool_call call = { .fn = fn, .arg = arg };

	INIT_WORK_ONSTACK(&call.work, thin_pool_call_work);
	init_completion(&call.done);
	queue_work(pool->wq, &call.work);
	wait_for_completion(&call.done);
	destroy_work_on_stack(&call.work);
	return call.r;
}

/* Modes (worker only). */

static const char *thin_mode_name(enum thin_mode mode)
{
	static const char *const names[] = {
		[THIN_MODE_WRITE] = "write",
		[THIN_MODE_OUT_OF_DATA_SPACE] = "out-of-data-space",
		[THIN_MODE_OUT_OF_META_SPACE] = "out-of-metadata-space",
		[THIN_MODE_READ_ONLY] = "read-only",
		[THIN_MODE_FAIL] = "failure",
	};

	return names[mode];
}

static void thin_pool_error_retry(struct thin_pool *pool, blk_status_t status)
{
	struct bio_list bios;

	spin_lock_irq(&pool->lock);
	bios = pool->retry;
	bio_list_init(&pool->retry);
	spin_unlock_irq(&pool->lock);
	thin_io_error_list(&bios, status);
}

void thin_pool_requeue_retry(struct thin_pool *pool)
{
	spin_lock_irq(&pool->lock);
	bio_list_merge(&pool->deferred, &pool->retry);
	bio_list_init(&pool->retry);
	spin_unlock_irq(&pool->lock);
	thin_pool_wake(pool);
}

/*
 * As dm-thin: a pool that needs checking never goes back to writing,
 * and a failed one never leaves failure.
 */
static enum thin_mode thin_pool_allowed_mode(struct thin_pool *pool,
					     enum thin_mode mode)
{
	enum thin_mode old = pool->mode;

	if (old == THIN_MODE_FAIL)
		return old;
	if (mode == THIN_MODE_WRITE && thin_md_needs_check(pool->md)) {
		pr_err(THIN_PREFIX "%s: cannot go back to writing until repaired\n",
		       pool->name);
		return old != THIN_MODE_WRITE ? old : THIN_MODE_READ_ONLY;
	}
	return mode;
}

void thin_pool_set_mode(struct thin_pool *pool, enum thin_mode mode)
{
	enum thin_mode old = pool->mode;

	mode = thin_pool_allowed_mode(pool, mode);
	switch (mode) {
	case THIN_MODE_FAIL:
	case THIN_MODE_READ_ONLY:
	case THIN_MODE_OUT_OF_META_SPACE:
		thin_md_set_read_only(pool->md, true);
		WRITE_ONCE(pool->mode, mode);
		thin_pool_error_retry(pool, BLK_STS_IOERR);
		break;
	case THIN_MODE_OUT_OF_DATA_SPACE:
		WRITE_ONCE(pool->mode, mode);
		if (!pool->pf.error_if_no_space && thin_no_space_timeout)
			queue_delayed_work(pool->wq, &pool->no_space_timeout,
					   thin_no_space_timeout * HZ);
		break;
	case THIN_MODE_WRITE:
		if (old == THIN_MODE_OUT_OF_DATA_SPACE)
			cancel_delayed_work(&pool->no_space_timeout);
		if (pool->pt)
			pool->pf.error_if_no_space =
				pool->pt->requested.error_if_no_space;
		thin_md_set_read_only(pool->md, false);
		WRITE_ONCE(pool->mode, mode);
		break;
	}
	pool->pf.mode = mode;
	if (pool->pt)
		pool->pt->adjusted.mode = mode;
	if (old != mode) {
		pr_info(THIN_PREFIX "%s: switching pool to %s mode\n", pool->name,
			thin_mode_name(mode));
		thin_pool_event(pool);
	}
}

/* A metadata change failed half way: back to the last commit, read-only. */
void thin_pool_metadata_failed(struct thin_pool *pool, const char *op, int r)
{
	pr_err_ratelimited(THIN_PREFIX "%s: metadata operation '%s' failed: error = %d\n",
			   pool->name, op, r);
	pr_err_ratelimited(THIN_PREFIX "%s: aborting current metadata transaction\n",
			   pool->name);
	if (thin_md_abort(pool->md)) {
		pr_err(THIN_PREFIX "%s: failed to abort metadata transaction\n",
		       pool->name);
		thin_pool_set_mode(pool, THIN_MODE_FAIL);
	}
	if (thin_md_set_needs_check(pool->md)) {
		pr_err(THIN_PREFIX "%s: failed to set 'needs_check' flag in metadata\n",
		       pool->name);
		thin_pool_set_mode(pool, THIN_MODE_FAIL);
	}
	thin_pool_set_mode(pool, THIN_MODE_READ_ONLY);
}

/* Metadata low water: min(4 MiB, a quarter of the device), as dm-thin. */
pdata_block_t thin_pool_meta_threshold(struct thin_pool *pool)
{
	return min_t(pdata_block_t, 1024,
		     min_t(u64, bdev_nr_sectors(pool->meta_bdev) / PDATA_BLOCK_SECTORS,
			   PDATA_MSM_MAX_BLOCKS) / 4);
}

static void thin_pool_check_meta_space(struct thin_pool *pool)
{
	pdata_block_t nr, free;

	thin_md_meta_space(pool->md, &nr, &free);
	if (free <= thin_pool_meta_threshold(pool) && !pool->meta_low_triggered) {
		pr_warn(THIN_PREFIX "%s: reached low water mark for metadata device: sending event.\n",
			pool->name);
		pool->meta_low_triggered = true;
		thin_pool_event(pool);
	}
	if (!free && !thin_pool_read_only(pool) && pool->mode != THIN_MODE_FAIL) {
		pr_err(THIN_PREFIX "%s: No free metadata blocks\n", pool->name);
		thin_pool_set_mode(pool, THIN_MODE_OUT_OF_META_SPACE);
	}
}

static void thin_pool_check_data_space(struct thin_pool *pool)
{
	pdata_block_t nr, free;

	if (pool->mode != THIN_MODE_OUT_OF_DATA_SPACE)
		return;
	thin_md_data_space(pool->md, &nr, &free);
	if (free) {
		thin_pool_set_mode(pool, THIN_MODE_WRITE);
		thin_pool_requeue_retry(pool);
	}
}

/* Worker only.  Fails in failure mode, and read-only with changes left. */
int thin_pool_commit(struct thin_pool *pool)
{
	int r;

	if (pool->mode == THIN_MODE_FAIL)
		return -EINVAL;
	pool->last_commit = jiffies;
	if (!thin_md_changed(pool->md))
		return 0;
	if (pool->mode != THIN_MODE_WRITE &&
	    pool->mode != THIN_MODE_OUT_OF_DATA_SPACE)
		return -EINVAL;
	if (pool->freed) {
		thin_pool_drain_epoch(pool);
		pool->freed = false;
	}
	r = thin_md_commit(pool->md);
	if (r) {
		thin_pool_metadata_failed(pool, "commit", r);
		return r;
	}
	thin_pool_check_meta_space(pool);
	thin_pool_check_data_space(pool);
	return 0;
}

/* Data written before a commit is durable before the commit is. */
static int thin_pool_pre_commit(void *context)
{
	struct thin_pool *pool = context;

	return blkdev_issue_flush(pool->data_bdev);
}

/* Workers. */

static void thin_pool_worker(struct work_struct *work)
{
	thin_io_process(container_of(work, struct thin_pool, worker));
}

static void thin_pool_waker(struct work_struct *work)
{
	struct thin_pool *pool = container_of(to_delayed_work(work),
					      struct thin_pool, waker);

	thin_pool_wake(pool);
	queue_delayed_work(pool->wq, &pool->waker, THIN_COMMIT_PERIOD);
}

/* Queued I/O has waited long enough for space: fail it, as dm-thin. */
static void thin_pool_no_space_timeout(struct work_struct *work)
{
	struct thin_pool *pool = container_of(to_delayed_work(work),
					      struct thin_pool, no_space_timeout);

	if (pool->mode == THIN_MODE_OUT_OF_DATA_SPACE &&
	    !pool->pf.error_if_no_space) {
		pool->pf.error_if_no_space = true;
		thin_pool_event(pool);
		thin_pool_error_retry(pool, BLK_STS_NOSPC);
	}
}

void thin_pool_start_waker(struct thin_pool *pool)
{
	queue_delayed_work(pool->wq, &pool->waker, THIN_COMMIT_PERIOD);
}

void thin_pool_stop_timers(struct thin_pool *pool)
{
	cancel_delayed_work_sync(&pool->waker);
	cancel_delayed_work_sync(&pool->no_space_timeout);
}

/* Lifetime. */

static void thin_pool_destroy(struct thin_pool *pool)
{
	thin_pool_stop_timers(pool);
	destroy_workqueue(pool->wq);
	dmx_copy_destroy(pool->copier);
	thin_md_close(pool->md);
	mempool_exit(&pool->job_pool);
	kfree(pool);
}

static void thin_pool_init_features(struct thin_features *pf)
{
	pf->mode = THIN_MODE_WRITE;
	pf->zero_new_blocks = true;
	pf->discard_enabled = true;
	pf->discard_passdown = true;
	pf->error_if_no_space = false;
}

static int thin_pool_init_io(struct thin_pool *pool)
{
	int r;

	pool->wq = alloc_ordered_workqueue("kdmx-thin", WQ_MEM_RECLAIM);
	if (!pool->wq)
		return -ENOMEM;
	r = mempool_init_kmalloc_pool(&pool->job_pool, THIN_JOBS,
				      sizeof(struct thin_job));
	if (r)
		goto bad_jobs;
	pool->copier = dmx_copy_create(THIN_COPY_PIECE_SECTORS);
	if (IS_ERR(pool->copier)) {
		r = PTR_ERR(pool->copier);
		goto bad_copier;
	}
	return 0;

bad_copier:
	mempool_exit(&pool->job_pool);
bad_jobs:
	destroy_workqueue(pool->wq);
	return r;
}

static struct thin_pool *thin_pool_create(struct block_device *meta_bdev,
					  struct block_device *data_bdev,
					  dev_t pool_devt, sector_t block_sectors,
					  bool read_only, const char **error)
{
	struct thin_pool *pool;
	int r;

	pool = kzalloc(sizeof(*pool), GFP_KERNEL);
	if (!pool) {
		*error = "Error allocating memory for pool";
		return ERR_PTR(-ENOMEM);
	}
	r = thin_md_open(meta_bdev, block_sectors, !read_only, &pool->md);
	if (r) {
		*error = "Error creating metadata object";
		goto bad_md;
	}
	r = thin_pool_init_io(pool);
	if (r) {
		*error = "Error creating pool's workqueue";
		goto bad_io;
	}
	snprintf(pool->name, sizeof(pool->name), "%u:%u", MAJOR(pool_devt),
		 MINOR(pool_devt));
	pool->pool_devt = pool_devt;
	pool->meta_bdev = meta_bdev;
	pool->data_bdev = data_bdev;
	pool->block_sectors = block_sectors;
	pool->block_shift = is_power_of_2(block_sectors) ? ilog2(block_sectors) : -1;
	thin_pool_init_features(&pool->pf);
	pool->suspended = true;
	pool->refs = 1;
	pool->last_commit = jiffies;
	spin_lock_init(&pool->lock);
	INIT_LIST_HEAD(&pool->thins);
	INIT_LIST_HEAD(&pool->finished);
	bio_list_init(&pool->deferred);
	bio_list_init(&pool->retry);
	bio_list_init(&pool->commit_wait);
	INIT_WORK(&pool->worker, thin_pool_worker);
	INIT_DELAYED_WORK(&pool->waker, thin_pool_waker);
	INIT_DELAYED_WORK(&pool->no_space_timeout, thin_pool_no_space_timeout);
	thin_cells_init(&pool->cells);
	init_waitqueue_head(&pool->inflight_wait);
	thin_md_set_pre_commit(pool->md, thin_pool_pre_commit, pool);
	return pool;

bad_io:
	thin_md_close(pool->md);
bad_md:
	kfree(pool);
	return ERR_PTR(r);
}

static struct thin_pool *thin_pool_lookup(struct block_device *meta_bdev,
					  dev_t pool_devt)
{
	struct thin_pool *pool;

	list_for_each_entry(pool, &thin_pools, node)
		if (meta_bdev ? pool->meta_bdev == meta_bdev :
				pool->pool_devt == pool_devt)
			return pool;
	return NULL;
}

/* The pool on meta_bdev for the pool device pool_devt, made if need be. */
int thin_pool_get(struct block_device *meta_bdev,
		  struct block_device *data_bdev, dev_t pool_devt,
		  sector_t block_sectors, bool read_only, const char **error,
		  struct thin_pool **result, bool *created)
{
	struct thin_pool *pool;
	int r = 0;

	*created = false;
	mutex_lock(&thin_pools_lock);
	pool = thin_pool_lookup(meta_bdev, 0);
	if (pool) {
		if (pool->pool_devt != pool_devt) {
			*error = "metadata device already in use by a pool";
			r = -EBUSY;
		} else if (pool->data_bdev != data_bdev) {
			*error = "data device already in use by a pool";
			r = -EBUSY;
		} else {
			pool->refs++;
		}
	} else if (thin_pool_lookup(NULL, pool_devt)) {
		*error = "different pool cannot replace a pool";
		r = -EINVAL;
	} else {
		pool = thin_pool_create(meta_bdev, data_bdev, pool_devt,
					block_sectors, read_only, error);
		if (IS_ERR(pool)) {
			r = PTR_ERR(pool);
		} else {
			list_add(&pool->node, &thin_pools);
			*created = true;
		}
	}
	mutex_unlock(&thin_pools_lock);
	if (!r)
		*result = pool;
	return r;
}

/* The pool of pool device pool_devt, referenced; NULL if none. */
struct thin_pool *thin_pool_find(dev_t pool_devt)
{
	struct thin_pool *pool;

	mutex_lock(&thin_pools_lock);
	pool = thin_pool_lookup(NULL, pool_devt);
	if (pool)
		pool->refs++;
	mutex_unlock(&thin_pools_lock);
	return pool;
}

void thin_pool_put(struct thin_pool *pool)
{
	bool last;

	mutex_lock(&thin_pools_lock);
	last = !--pool->refs;
	if (last)
		list_del(&pool->node);
	mutex_unlock(&thin_pools_lock);
	if (last)
		thin_pool_destroy(pool);
}
