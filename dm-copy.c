// SPDX-License-Identifier: GPL-2.0
/*
 * The chunk copy engine shared by the targets: copies a range of
 * sectors from one device to up to DMX_COPY_MAX_DESTS others, or writes
 * zeroes to them, then calls back (include/dmx-copy.h).
 *
 * A job goes piece by piece.  A piece, at most the copier's piece size,
 * is read into pages of the copier's (for a zero-fill the zero page
 * stands in), then written to every destination that has not failed;
 * the next piece starts once every write of the one before has ended.
 * Many jobs are in flight at once, one piece each.
 *
 * One worker does everything but the bio completions (and the first
 * read of a job started from a map call, dmx_copy_nowait()), and never
 * sleeps for memory: a piece that cannot get its pages or bios waits,
 * in turn, for the next completion to give some back.  The reserves
 * (the pages and the bios of one piece) are the copier's alone, so when
 * nothing is in flight they are full and the first piece waiting gets
 * all it needs: every job finishes.  A completion only hands its piece to the
 * worker.  Writing from the read's completion would run in a context
 * that is not ours, an interrupt or a driver's own thread, which the
 * write may need free before it can be queued (a loop device's worker,
 * when the write goes to the same loop device).
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/mempool.h>
#include <linux/slab.h>
#include <linux/wait_bit.h>
#include <linux/workqueue.h>

#include "dmx-copy.h"

/* Jobs kept in reserve; more are allocated while memory allows. */
#define DMX_COPY_RESERVE_JOBS	16

/* A piece is one bio's worth of pages at the most. */
#define DMX_COPY_MAX_PIECE_PAGES	BIO_MAX_VECS
#define DMX_COPY_PAGE_SECTORS		(PAGE_SIZE >> SECTOR_SHIFT)

struct dmx_copier {
	struct workqueue_struct *wq;	/* runs work, and the callbacks */
	struct work_struct work;
	mempool_t job_pool;
	mempool_t page_pool;		/* reserve: one piece */
	struct bio_set bio_set;		/* reserve: one piece's writes */
	sector_t piece_sectors;
	unsigned int piece_pages;

	/* Protects the three lists; taken in bio completion. */
	spinlock_t lock;
	struct list_head starting;	/* jobs whose next piece may start */
	struct list_head read;		/* pieces read, to be written */
	struct list_head ended;		/* pieces whose I/O has all ended */

	atomic_t nr_jobs;		/* jobs not yet called back */
};

struct dmx_copy_job {
	struct dmx_copier *c;
	struct list_head node;		/* on one of c's lists, or in flight */
	struct dmx_copy_region from;	/* both advance piece by piece */
	struct dmx_copy_region to[DMX_COPY_MAX_DESTS];
	unsigned int nr_to;
	bool zero;
	sector_t left;			/* sectors not yet started */
	sector_t piece;			/* sectors of the piece in flight */
	atomic_t writes;		/* writes of the piece in flight */
	struct dmx_copy_result result;
	dmx_copy_fn fn;
	void *context;
	unsigned int nr_pages;		/* pages held for the piece */
	struct page *pages[];
};

/* Every bio of the engine, with what its completion needs. */
struct dmx_copy_bio {
	struct dmx_copy_job *job;
	unsigned int dest;		/* index in job->to; writes only */
	struct bio bio;
};

static struct dmx_copy_bio *dmx_copy_bio_of(struct bio *bio)
{
	return container_of(bio, struct dmx_copy_bio, bio);
}

/* Hands job to the worker on list; any context. */
static void dmx_copy_queue(struct dmx_copy_job *job, struct list_head *list)
{
	struct dmx_copier *c = job->c;
	unsigned long flags;

	spin_lock_irqsave(&c->lock, flags);
	list_add_tail(&job->node, list);
	spin_unlock_irqrestore(&c->lock, flags);
	queue_work(c->wq, &c->work);
}

static void dmx_copy_set_error(struct dmx_copy_job *job, blk_status_t status)
{
	cmpxchg(&job->result.error, 0, blk_status_to_errno(status));
}

static void dmx_copy_read_done(struct bio *bio)
{
	struct dmx_copy_job *job = dmx_copy_bio_of(bio)->job;
	blk_status_t status = bio->bi_status;

	bio_put(bio);
	if (status) {
		job->result.read_failed = true;
		dmx_copy_set_error(job, status);
		dmx_copy_queue(job, &job->c->ended);
		return;
	}
	dmx_copy_queue(job, &job->c->read);
}

static void dmx_copy_write_done(struct bio *bio)
{
	struct dmx_copy_bio *cb = dmx_copy_bio_of(bio);
	struct dmx_copy_job *job = cb->job;

	if (bio->bi_status) {
		set_bit(cb->dest, &job->result.write_failed);
		dmx_copy_set_error(job, bio->bi_status);
	}
	bio_put(bio);
	if (atomic_dec_and_test(&job->writes))
		dmx_copy_queue(job, &job->c->ended);
}

static unsigned int dmx_copy_piece_pages(struct dmx_copy_job *job)
{
	return DIV_ROUND_UP(job->piece << SECTOR_SHIFT, PAGE_SIZE);
}

/* A bio for the piece, its pages (or the zero page) added; NULL if none. */
static struct bio *dmx_copy_alloc_bio(struct dmx_copy_job *job,
				      struct block_device *bdev, blk_opf_t opf)
{
	unsigned int nr = dmx_copy_piece_pages(job);
	unsigned int bytes = job->piece << SECTOR_SHIFT;
	struct bio *bio;
	unsigned int i;

	bio = bio_alloc_bioset(bdev, nr, opf, GFP_NOWAIT, &job->c->bio_set);
	if (!bio)
		return NULL;
	for (i = 0; i < nr; i++) {
		unsigned int len = min_t(unsigned int, bytes, PAGE_SIZE);

		__bio_add_page(bio, job->zero ? ZERO_PAGE(0) : job->pages[i],
			       len, 0);
		bytes -= len;
	}
	dmx_copy_bio_of(bio)->job = job;
	return bio;
}

static void dmx_copy_put_pages(struct dmx_copy_job *job)
{
	while (job->nr_pages)
		mempool_free(job->pages[--job->nr_pages], &job->c->page_pool);
}

static bool dmx_copy_get_pages(struct dmx_copy_job *job)
{
	unsigned int nr = dmx_copy_piece_pages(job);

	while (job->nr_pages < nr) {
		struct page *page = mempool_alloc(&job->c->page_pool, GFP_NOWAIT);

		if (!page) {
			dmx_copy_put_pages(job);
			return false;
		}
		job->pages[job->nr_pages++] = page;
	}
	return true;
}

/* Writes the piece to every destination still good; false if no bios. */
static bool dmx_copy_write_piece(struct dmx_copy_job *job)
{
	struct bio *bios[DMX_COPY_MAX_DESTS];
	unsigned int i, n = 0;

	for (i = 0; i < job->nr_to; i++) {
		if (test_bit(i, &job->result.write_failed))
			continue;
		bios[n] = dmx_copy_alloc_bio(job, job->to[i].bdev, REQ_OP_WRITE);
		if (!bios[n]) {
			while (n)
				bio_put(bios[--n]);
			return false;
		}
		bios[n]->bi_iter.bi_sector = job->to[i].sector;
		bios[n]->bi_end_io = dmx_copy_write_done;
		dmx_copy_bio_of(bios[n])->dest = i;
		n++;
	}
	atomic_set(&job->writes, n);
	for (i = 0; i < n; i++)
		submit_bio(bios[i]);
	return true;
}

/* Starts the job's next piece; false if memory is short for now. */
static bool dmx_copy_start_piece(struct dmx_copy_job *job)
{
	struct bio *bio;

	job->piece = min(job->left, job->c->piece_sectors);
	if (job->zero)
		return dmx_copy_write_piece(job);
	if (!dmx_copy_get_pages(job))
		return false;
	bio = dmx_copy_alloc_bio(job, job->from.bdev, REQ_OP_READ);
	if (!bio) {
		dmx_copy_put_pages(job);
		return false;
	}
	bio->bi_iter.bi_sector = job->from.sector;
	bio->bi_end_io = dmx_copy_read_done;
	submit_bio(bio);
	return true;
}

static bool dmx_copy_dests_left(struct dmx_copy_job *job)
{
	return hweight_long(job->result.write_failed) < job->nr_to;
}

/* The piece's I/O has ended: on to the next piece, or the job is done. */
static void dmx_copy_end_piece(struct dmx_copy_job *job,
			       struct list_head *done)
{
	unsigned int i;

	dmx_copy_put_pages(job);
	if (job->result.read_failed || !dmx_copy_dests_left(job))
		job->left = 0;
	if (job->piece) {
		job->left -= min(job->left, job->piece);
		job->from.sector += job->piece;
		for (i = 0; i < job->nr_to; i++)
			job->to[i].sector += job->piece;
		job->piece = 0;
	}
	if (job->left)
		dmx_copy_queue(job, &job->c->starting);
	else
		list_add_tail(&job->node, done);
}

static struct dmx_copy_job *dmx_copy_pop(struct dmx_copier *c,
					 struct list_head *list)
{
	struct dmx_copy_job *job;

	spin_lock_irq(&c->lock);
	job = list_first_entry_or_null(list, struct dmx_copy_job, node);
	if (job)
		list_del(&job->node);
	spin_unlock_irq(&c->lock);
	return job;
}

/* Back at the head of list, to be tried first next time. */
static void dmx_copy_push_back(struct dmx_copy_job *job, struct list_head *list)
{
	spin_lock_irq(&job->c->lock);
	list_add(&job->node, list);
	spin_unlock_irq(&job->c->lock);
}

/*
 * Runs fn for each job of done, each freed first: what a callback
 * starts may reuse its memory at once.
 */
static void dmx_copy_call_back(struct dmx_copier *c, struct list_head *done)
{
	struct dmx_copy_job *job, *tmp;

	list_for_each_entry_safe(job, tmp, done, node) {
		struct dmx_copy_result result = job->result;
		dmx_copy_fn fn = job->fn;
		void *context = job->context;

		list_del(&job->node);
		mempool_free(job, &c->job_pool);
		fn(&result, context);
		if (atomic_dec_and_test(&c->nr_jobs))
			wake_up_var(&c->nr_jobs);
	}
}

/*
 * Ended pieces first (they give memory back), then writes of read
 * pieces (which hold pages already), then new pieces.
 */
static void dmx_copy_work(struct work_struct *work)
{
	struct dmx_copier *c = container_of(work, struct dmx_copier, work);
	struct dmx_copy_job *job;
	LIST_HEAD(done);

	while ((job = dmx_copy_pop(c, &c->ended)))
		dmx_copy_end_piece(job, &done);
	while ((job = dmx_copy_pop(c, &c->read))) {
		if (!dmx_copy_write_piece(job)) {
			dmx_copy_push_back(job, &c->read);
			goto call_back;
		}
	}
	while ((job = dmx_copy_pop(c, &c->starting))) {
		if (!dmx_copy_start_piece(job)) {
			dmx_copy_push_back(job, &c->starting);
			break;
		}
	}
call_back:
	dmx_copy_call_back(c, &done);
}

/* Fills in job, allocated from c->job_pool, and counts it. */
static void dmx_copy_init_job(struct dmx_copier *c, struct dmx_copy_job *job,
			      const struct dmx_copy_region *from,
			      const struct dmx_copy_region *to,
			      unsigned int nr_to, sector_t count,
			      dmx_copy_fn fn, void *context)
{
	memset(job, 0, sizeof(*job));
	job->c = c;
	job->zero = !from;
	if (from)
		job->from = *from;
	job->fn = fn;
	job->context = context;
	if (WARN_ON_ONCE(!nr_to || nr_to > DMX_COPY_MAX_DESTS)) {
		job->result.error = -EINVAL;
	} else {
		memcpy(job->to, to, nr_to * sizeof(*to));
		job->nr_to = nr_to;
		job->left = count;
	}
	atomic_inc(&c->nr_jobs);
}

/* Hands job, allocated from c->job_pool, to the worker; any context. */
static void dmx_copy_submit(struct dmx_copier *c, struct dmx_copy_job *job,
			    const struct dmx_copy_region *from,
			    const struct dmx_copy_region *to,
			    unsigned int nr_to, sector_t count,
			    dmx_copy_fn fn, void *context)
{
	dmx_copy_init_job(c, job, from, to, nr_to, count, fn, context);
	/* Through the ended list: no piece yet, maybe nothing to do. */
	dmx_copy_queue(job, &c->ended);
}

/*
 * Copies count sectors from *from to each of the nr_to regions of to
 * and calls fn once every piece is written, or the job failed.
 * Process context; may sleep for a job structure.
 */
void dmx_copy(struct dmx_copier *c, const struct dmx_copy_region *from,
	      const struct dmx_copy_region *to, unsigned int nr_to,
	      sector_t count, dmx_copy_fn fn, void *context)
{
	dmx_copy_submit(c, mempool_alloc(&c->job_pool, GFP_NOIO), from, to,
			nr_to, count, fn, context);
}

/*
 * dmx_copy() from a map call, which must not sleep: false, and nothing
 * started, if no job structure can be had at once.  The first piece's
 * read is submitted from here if its memory can be had at once too: it
 * goes out once the map call returns, as the bios of a map call do.
 * Everything after it is the worker's, as for any job.
 */
bool dmx_copy_nowait(struct dmx_copier *c, const struct dmx_copy_region *from,
		     const struct dmx_copy_region *to, unsigned int nr_to,
		     sector_t count, dmx_copy_fn fn, void *context)
{
	struct dmx_copy_job *job = mempool_alloc(&c->job_pool, GFP_NOWAIT);

	if (!job)
		return false;
	dmx_copy_init_job(c, job, from, to, nr_to, count, fn, context);
	if (job->zero || job->result.error || !job->left)
		dmx_copy_queue(job, &c->ended);
	else if (!dmx_copy_start_piece(job))
		dmx_copy_queue(job, &c->starting);
	return true;
}

/*
 * Writes count sectors of zeroes to each of the nr_to regions of to.
 * Process context; may sleep for a job structure.
 */
void dmx_copy_zero(struct dmx_copier *c, const struct dmx_copy_region *to,
		   unsigned int nr_to, sector_t count, dmx_copy_fn fn,
		   void *context)
{
	dmx_copy_submit(c, mempool_alloc(&c->job_pool, GFP_NOIO), NULL, to,
			nr_to, count, fn, context);
}

/*
 * piece_sectors: the largest job the user expects, rounded up to whole
 * pages and capped at one bio's worth; larger jobs take several pieces.
 */
struct dmx_copier *dmx_copy_create(sector_t piece_sectors)
{
	struct dmx_copier *c;
	size_t job_size;
	int r;

	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return ERR_PTR(-ENOMEM);
	c->piece_pages = clamp_t(sector_t,
				 DIV_ROUND_UP(piece_sectors, DMX_COPY_PAGE_SECTORS),
				 1, DMX_COPY_MAX_PIECE_PAGES);
	c->piece_sectors = (sector_t)c->piece_pages * DMX_COPY_PAGE_SECTORS;
	INIT_WORK(&c->work, dmx_copy_work);
	spin_lock_init(&c->lock);
	INIT_LIST_HEAD(&c->starting);
	INIT_LIST_HEAD(&c->read);
	INIT_LIST_HEAD(&c->ended);
	atomic_set(&c->nr_jobs, 0);

	job_size = struct_size((struct dmx_copy_job *)NULL, pages, c->piece_pages);
	r = mempool_init_kmalloc_pool(&c->job_pool, DMX_COPY_RESERVE_JOBS,
				      job_size);
	if (r)
		goto bad_jobs;
	r = mempool_init_page_pool(&c->page_pool, c->piece_pages, 0);
	if (r)
		goto bad_pages;
	r = bioset_init(&c->bio_set, DMX_COPY_MAX_DESTS,
			offsetof(struct dmx_copy_bio, bio), BIOSET_NEED_BVECS);
	if (r)
		goto bad_bios;
	r = -ENOMEM;
	c->wq = alloc_workqueue("kdmx-copy", WQ_MEM_RECLAIM, 0);
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

/* Waits for every job to have called back, then frees the copier. */
void dmx_copy_destroy(struct dmx_copier *c)
{
	if (!c)
		return;
	wait_var_event(&c->nr_jobs, !atomic_read(&c->nr_jobs));
	/* The last callback may still be returning: the queue waits for it. */
	destroy_workqueue(c->wq);
	bioset_exit(&c->bio_set);
	mempool_exit(&c->page_pool);
	mempool_exit(&c->job_pool);
	kfree(c);
}
