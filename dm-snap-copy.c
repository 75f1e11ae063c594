// SPDX-License-Identifier: GPL-2.0
/*
 * The chunk copy engine of the snapshot targets: copies a range of
 * sectors from one block device to another through pages of its own,
 * then calls back.  The data is on the destination when the callback
 * runs, but not necessarily durable: durability is the caller's flush.
 *
 * A copy is a job: one bio reads the range into the job's pages, and the
 * same bio, reset, writes them out.  Memory is bounded.  A job takes all
 * its pages before its read starts, from a mempool whose reserve holds
 * the largest job, and only the start worker takes pages, one job at a
 * time.  Jobs in flight give their pages back from their write
 * completion, without any worker, so the job being started always gets
 * its full set once the jobs ahead of it are done.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/mempool.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "dmx-snap.h"

/* Jobs kept in reserve; more are allocated when memory allows. */
#define SNAP_COPY_MIN_JOBS	16

struct snap_copier {
	struct workqueue_struct *wq;	/* start worker, write phase, callbacks */
	mempool_t job_pool;
	mempool_t page_pool;
	struct bio_set bio_set;
	unsigned int max_pages;

	spinlock_t lock;		/* protects queue */
	struct list_head queue;		/* jobs waiting for their pages */
	struct work_struct start_work;

	atomic_t nr_jobs;		/* jobs not yet called back */
	wait_queue_head_t idle;		/* woken when nr_jobs reaches zero */
};

struct snap_copy_job {
	struct snap_copier *c;
	struct list_head node;		/* in c->queue */
	struct block_device *src;
	struct block_device *dst;
	sector_t src_sector;
	sector_t dst_sector;
	sector_t count;
	snap_copy_fn fn;
	void *context;
	struct bio *bio;
	int error;
	struct work_struct work;
	unsigned int nr_pages;
	struct page *pages[];
};

static void snap_copy_add_pages(struct snap_copy_job *job)
{
	unsigned int bytes = job->count << SECTOR_SHIFT;
	unsigned int i;

	for (i = 0; i < job->nr_pages; i++) {
		unsigned int len = min_t(unsigned int, bytes, PAGE_SIZE);

		__bio_add_page(job->bio, job->pages[i], len, 0);
		bytes -= len;
	}
}

static void snap_copy_free_pages(struct snap_copy_job *job)
{
	unsigned int i;

	for (i = 0; i < job->nr_pages; i++)
		mempool_free(job->pages[i], &job->c->page_pool);
	job->nr_pages = 0;
}

static void snap_copy_callback(struct work_struct *work)
{
	struct snap_copy_job *job = container_of(work, struct snap_copy_job,
						 work);
	struct snap_copier *c = job->c;

	job->fn(job->error, job->context);
	mempool_free(job, &c->job_pool);
	if (atomic_dec_and_test(&c->nr_jobs))
		wake_up(&c->idle);
}

/* Bio completion: pages and bio go back now, the callback runs later. */
static void snap_copy_finish(struct snap_copy_job *job, blk_status_t status)
{
	if (status && !job->error)
		job->error = blk_status_to_errno(status);
	if (job->bio)
		bio_put(job->bio);
	job->bio = NULL;
	snap_copy_free_pages(job);
	INIT_WORK(&job->work, snap_copy_callback);
	queue_work(job->c->wq, &job->work);
}

static void snap_copy_write_done(struct bio *bio)
{
	snap_copy_finish(bio->bi_private, bio->bi_status);
}

static void snap_copy_write(struct work_struct *work)
{
	struct snap_copy_job *job = container_of(work, struct snap_copy_job,
						 work);
	struct bio *bio = job->bio;

	bio_reset(bio, job->dst, REQ_OP_WRITE);
	bio->bi_iter.bi_sector = job->dst_sector;
	bio->bi_end_io = snap_copy_write_done;
	bio->bi_private = job;
	snap_copy_add_pages(job);
	submit_bio(bio);
}

/*
 * A read completed where sleeping is allowed (a synchronous device, such
 * as a ramdisk, ends bios inside submit_bio() in our start worker) goes
 * on to its write at once; one completed in interrupt context, or under
 * a lock of the driver's, writes from the worker, since submitting may
 * sleep.
 */
static void snap_copy_read_done(struct bio *bio)
{
	struct snap_copy_job *job = bio->bi_private;

	if (bio->bi_status) {
		snap_copy_finish(job, bio->bi_status);
		return;
	}
	INIT_WORK(&job->work, snap_copy_write);
	if (in_task() && preemptible())
		snap_copy_write(&job->work);
	else
		queue_work(job->c->wq, &job->work);
}

static void snap_copy_start_job(struct snap_copier *c, struct snap_copy_job *job)
{
	unsigned int i, nr = DIV_ROUND_UP(job->count << SECTOR_SHIFT, PAGE_SIZE);
	struct bio *bio;

	/* May sleep until earlier jobs hand back their pages. */
	for (i = 0; i < nr; i++)
		job->pages[i] = mempool_alloc(&c->page_pool, GFP_NOIO);
	job->nr_pages = nr;

	bio = bio_alloc_bioset(job->src, nr, REQ_OP_READ, GFP_NOIO, &c->bio_set);
	bio->bi_iter.bi_sector = job->src_sector;
	bio->bi_end_io = snap_copy_read_done;
	bio->bi_private = job;
	job->bio = bio;
	snap_copy_add_pages(job);
	submit_bio(bio);
}

static void snap_copy_start_work(struct work_struct *work)
{
	struct snap_copier *c = container_of(work, struct snap_copier,
					     start_work);
	struct snap_copy_job *job;

	for (;;) {
		spin_lock(&c->lock);
		job = list_first_entry_or_null(&c->queue, struct snap_copy_job,
					       node);
		if (job)
			list_del(&job->node);
		spin_unlock(&c->lock);
		if (!job)
			return;
		snap_copy_start_job(c, job);
	}
}

/*
 * Copies count sectors (at most the copier's max_sectors) from src to
 * dst and calls fn(error, context) once the data has been written.
 * Process context; may sleep for a job structure.
 */
void snap_copy(struct snap_copier *c,
	       struct block_device *src, sector_t src_sector,
	       struct block_device *dst, sector_t dst_sector,
	       sector_t count, snap_copy_fn fn, void *context)
{
	struct snap_copy_job *job;

	job = mempool_alloc(&c->job_pool, GFP_NOIO);
	job->c = c;
	job->src = src;
	job->dst = dst;
	job->src_sector = src_sector;
	job->dst_sector = dst_sector;
	job->count = count;
	job->fn = fn;
	job->context = context;
	job->bio = NULL;
	job->error = 0;
	job->nr_pages = 0;
	atomic_inc(&c->nr_jobs);

	if (WARN_ON_ONCE(DIV_ROUND_UP(count << SECTOR_SHIFT, PAGE_SIZE) >
			 c->max_pages))
		job->error = -EINVAL;
	if (!count || job->error) {
		INIT_WORK(&job->work, snap_copy_callback);
		queue_work(c->wq, &job->work);
		return;
	}

	spin_lock(&c->lock);
	list_add_tail(&job->node, &c->queue);
	spin_unlock(&c->lock);
	queue_work(c->wq, &c->start_work);
}

struct snap_copier *snap_copier_create(unsigned int max_sectors)
{
	struct snap_copier *c;
	size_t job_size;
	int r;

	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return ERR_PTR(-ENOMEM);
	c->max_pages = DIV_ROUND_UP(max_sectors << SECTOR_SHIFT, PAGE_SIZE);
	spin_lock_init(&c->lock);
	INIT_LIST_HEAD(&c->queue);
	INIT_WORK(&c->start_work, snap_copy_start_work);
	atomic_set(&c->nr_jobs, 0);
	init_waitqueue_head(&c->idle);

	job_size = struct_size((struct snap_copy_job *)NULL, pages, c->max_pages);
	r = mempool_init_kmalloc_pool(&c->job_pool, SNAP_COPY_MIN_JOBS, job_size);
	if (r)
		goto bad_jobs;
	r = mempool_init_page_pool(&c->page_pool, c->max_pages, 0);
	if (r)
		goto bad_pages;
	r = bioset_init(&c->bio_set, BIO_POOL_SIZE, 0, BIOSET_NEED_BVECS);
	if (r)
		goto bad_bios;
	r = -ENOMEM;
	c->wq = alloc_workqueue("kdmx-snapcopy", WQ_MEM_RECLAIM, 0);
	if (!c->wq)
		goto bad_wq;
	return c;

bad_wq:
	bioset_exit(&c->bio_set);
bad_bios:
	mempool_exit(&c->page_pool);
bad_pages:
	mempool_exit(&c->job_pool);
bad_jobs:
	kfree(c);
	return ERR_PTR(r);
}

/* Waits for every job to have called back. */
void snap_copier_destroy(struct snap_copier *c)
{
	if (!c)
		return;
	wait_event(c->idle, !atomic_read(&c->nr_jobs));
	destroy_workqueue(c->wq);
	bioset_exit(&c->bio_set);
	mempool_exit(&c->page_pool);
	mempool_exit(&c->job_pool);
	kfree(c);
}
