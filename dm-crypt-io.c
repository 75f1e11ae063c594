// SPDX-License-Identifier: GPL-2.0
/*
 * The crypt target's bio path.
 *
 * A read is remapped to the device as it is; when it completes, its
 * data is decrypted in place, in the clone's pages, and the clone ends.
 * A write is encrypted into pages of our own (never the caller's: the
 * caller may look at them again, and they stay plaintext), which go to
 * the device in a new bio; the clone ends when that bio does.  PREFLUSH
 * and discards (with allow_discards) pass straight through.
 *
 * Where the crypto runs, by default:
 * - Writes are encrypted in map(), in the submitter's context, when
 *   that is a task that may sleep, as it is for nearly every bio; the
 *   ciphertext bio is submitted from there.  Else (map called from an
 *   atomic context) a worker does it.
 * - Reads are decrypted in the completion when it runs in task context
 *   (a driver that completes in the submitter, like brd, loop or a
 *   stacked dm device, or any completion thread).  Completions in hard
 *   interrupt context, with interrupts off, or in softirq context go to
 *   a worker: crypto never runs in hard irq context, and a softirq
 *   would charge the decryption of large reads to whatever task it
 *   interrupted.  no_read_workqueue also decrypts in softirq context.
 * - A large bio (128 KiB and more) is shared: the context above takes
 *   it 64 KiB at a time, and up to three helpers in workers (one less
 *   than the CPUs, none with same_cpu_crypt) take the spans it has not
 *   reached yet; a helper that has not started when the spans run out
 *   is cancelled.  One large bio then has several CPUs' worth of crypto,
 *   as Linux's dm-crypt gets with several bios in its workqueue.
 * Linux's dm-crypt hands every bio to a workqueue by default (and each
 * write to a writer thread after that), so that CPU-heavy crypto is
 * spread over CPUs and does not run in interrupt context.  Those
 * hand-offs, not the cipher, are most of its cost for small I/O: here
 * no hand-off happens where the context allows the crypto, and the
 * crypto is done by (and charged to) the task that asked for the I/O
 * or that completes it, which keeps the CPU time where the scheduler
 * can see it.  What the workqueues are for is kept: no crypto in hard
 * irq context, a worker wherever the context does not allow it, large
 * bios spread over CPUs, and progress under memory pressure (below).
 * Hence no_read_workqueue only adds softirq completions to where reads
 * are decrypted inline, and no_write_workqueue changes nothing (writes
 * are encrypted inline anyway); same_cpu_crypt binds the workers to the
 * CPU that queued the work and takes no helpers; submit_from_crypt_cpus
 * is accepted and shown, and changes nothing: writes are always
 * submitted where their encryption ended.
 *
 * The crypto API may be synchronous or not.  Each unit (sector_size
 * bytes) is one skcipher request: the bio's first unit lives in its
 * per-io data and is reused while requests complete synchronously; one
 * that goes asynchronous (-EINPROGRESS) is left to its completion and
 * the next unit comes from a mempool.  -EBUSY means the request was
 * backlogged: nothing more is sent until the implementation says it
 * has started it (a second callback with -EINPROGRESS), waited for in
 * a context that may sleep, else by a worker.
 *
 * Progress under memory pressure.  The per-io data holds all a read
 * needs.  A write needs ciphertext pages: a mempool holds those of the
 * largest write (bios are split at BIO_MAX_VECS pages) and only one
 * write at a time may wait on it (crypt_write_prepare()), so two writes
 * can never each hold part of what both need; pages come back as
 * writes complete.  The workers are WQ_MEM_RECLAIM, and work that may
 * wait on our mempools (crypt_wq) is kept apart from the submission of
 * finished ciphertext (io_wq), which returns pages and never waits on
 * them.  Helpers are never needed for progress: lane 0 takes every
 * span no helper has taken.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/completion.h>
#include <linux/mempool.h>
#include <linux/preempt.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <crypto/skcipher.h>

#include "dmx-crypt.h"

/* Pieces of the caller's pages one unit may be spread over. */
#define CRYPT_UNIT_SEGS		(CRYPT_MAX_SECTOR_SIZE >> SECTOR_SHIFT)
/* Units held back for requests that went asynchronous. */
#define CRYPT_UNIT_POOL		16
/* The largest bio, in pages: a write's ciphertext is one bio. */
#define CRYPT_MAX_PAGES		BIO_MAX_VECS
/* What a lane takes at a time when helpers share a bio. */
#define CRYPT_SPAN_BYTES	(64 * 1024)
/* A bio this large is shared with helpers, if the table has any. */
#define CRYPT_HELP_MIN_BYTES	(2 * CRYPT_SPAN_BYTES)
/* Helpers of one bio at most, whatever the number of CPUs. */
#define CRYPT_MAX_HELPERS	3

struct crypt_io;

/*
 * One unit's crypto request.  The skcipher request, with its
 * transform's context, follows at cc->unit_req_offset; the IV after it.
 */
struct crypt_unit {
	struct crypt_io *io;
	struct scatterlist src[CRYPT_UNIT_SEGS];
	struct scatterlist dst;
};

/*
 * Who sends units of a bio to the cipher: lane 0 is the context that
 * maps or completes the bio, the others are helpers in workers.  A lane
 * takes a span of the bio at a time, until none is left.
 */
struct crypt_lane {
	struct crypt_io *io;
	struct work_struct work;	/* the lane, in a worker */
	struct bvec_iter in;		/* what is left of its span */
	struct bvec_iter out;		/* writes: the span's ciphertext */
	u64 sector;			/* crypt sector of its next unit */
	struct crypt_unit *unit;	/* free for its next unit, or NULL */
	bool wait_restart;		/* a backlogged request must start */
};

/*
 * Per-bio state, in the clone's per-io data: 1 + cc->helpers lanes,
 * then the bio's first unit at cc->io_unit_offset.
 */
struct crypt_io {
	struct crypt_ctx *cc;
	struct bio *base;		/* the clone we were given */
	struct bio *out;		/* writes: the ciphertext */
	bio_end_io_t *base_end_io;	/* reads: the core's completion */
	struct bvec_iter iter_in;	/* the data, all of it */
	struct bvec_iter iter_out;	/* writes: the ciphertext, all of it */
	u64 sector;			/* crypt sector of the first unit */
	unsigned int span;		/* bytes a lane takes at a time */
	atomic_t next_span;		/* spans handed out so far */
	/* Lanes at work and units in flight; the io ends at zero. */
	atomic_t pending;
	blk_status_t error;
	struct completion restart;	/* a backlogged request has started */
	struct work_struct submit_work;	/* writes: the ciphertext goes */
	unsigned int helpers;		/* lanes after lane[0] enlisted */
	struct crypt_lane lane[];
};

static struct crypt_unit *crypt_io_first_unit(struct crypt_io *io)
{
	return (struct crypt_unit *)((u8 *)io + io->cc->io_unit_offset);
}

static struct skcipher_request *crypt_unit_req(struct crypt_ctx *cc,
					       struct crypt_unit *u)
{
	return (struct skcipher_request *)((u8 *)u + cc->unit_req_offset);
}

static u8 *crypt_unit_iv(struct crypt_ctx *cc, struct crypt_unit *u)
{
	return PTR_ALIGN((u8 *)u + cc->unit_iv_offset, cc->unit_iv_align);
}

static void crypt_unit_release(struct crypt_io *io, struct crypt_unit *u)
{
	if (u != crypt_io_first_unit(io))
		mempool_free(u, &io->cc->unit_pool);
}

static void crypt_io_fail(struct crypt_io *io)
{
	WRITE_ONCE(io->error, BLK_STS_IOERR);
}

static void crypt_queue(struct work_struct *work, struct workqueue_struct *wq,
			work_func_t fn)
{
	INIT_WORK(work, fn);
	queue_work(wq, work);
}

/* True in map() where we may encrypt and wait on mempools. */
static bool crypt_may_sleep(void)
{
	return preemptible();
}

/* True in a read's completion where we may decrypt (without waiting). */
static bool crypt_may_decrypt_here(struct crypt_ctx *cc)
{
	if (in_hardirq() || irqs_disabled())
		return false;
	return in_task() || cc->opt.no_read_workqueue;
}

/*
 * Points sg at the len bytes of bio at *iter, over at most max pieces,
 * and moves *iter past them.
 */
static int crypt_sg_fill(struct scatterlist *sg, unsigned int max,
			 struct bio *bio, struct bvec_iter *iter,
			 unsigned int len)
{
	struct bio_vec bv = bio_iter_iovec(bio, *iter);
	unsigned int n = 0, take;

	if (likely(bv.bv_len >= len)) {
		sg_init_table(sg, 1);
		sg_set_page(sg, bv.bv_page, len, bv.bv_offset);
		bio_advance_iter_single(bio, iter, len);
		return 0;
	}
	sg_init_table(sg, max);
	while (len) {
		if (n == max || !iter->bi_size)
			return -EIO;
		bv = bio_iter_iovec(bio, *iter);
		take = min(bv.bv_len, len);
		sg_set_page(&sg[n++], bv.bv_page, take, bv.bv_offset);
		bio_advance_iter_single(bio, iter, take);
		len -= take;
	}
	sg_mark_end(&sg[n - 1]);
	return 0;
}

static void crypt_io_put(struct crypt_io *io, bool may_sleep);

/* A request that went asynchronous has started (-EINPROGRESS) or ended. */
static void crypt_unit_done(dmx_crypto_done_arg_t arg, int err)
{
	struct crypt_unit *u = dmx_compat_crypto_done_data(arg);
	struct crypt_io *io = u->io;

	if (err == -EINPROGRESS) {
		complete(&io->restart);
		return;
	}
	if (err)
		crypt_io_fail(io);
	crypt_unit_release(io, u);
	crypt_io_put(io, false);
}

/* Sends the lane's next unit to the cipher; the crypto API's result. */
static int crypt_unit_start(struct crypt_lane *lane, struct crypt_unit *u,
			    bool may_sleep)
{
	struct crypt_io *io = lane->io;
	struct crypt_ctx *cc = io->cc;
	struct skcipher_request *req = crypt_unit_req(cc, u);
	unsigned int len = cc->opt.sector_size;
	bool write = bio_data_dir(io->base) == WRITE;
	struct scatterlist *dst = u->src;
	u8 *iv = crypt_unit_iv(cc, u);
	u64 iv_sector = lane->sector;
	u32 flags = CRYPTO_TFM_REQ_MAY_BACKLOG;
	int r;

	r = crypt_sg_fill(u->src, CRYPT_UNIT_SEGS, io->base, &lane->in, len);
	if (!r && write) {
		dst = &u->dst;
		r = crypt_sg_fill(dst, 1, io->out, &lane->out, len);
	}
	if (cc->opt.iv_large_sectors)
		iv_sector >>= cc->opt.sector_shift;
	if (!r)
		r = crypt_iv_generate(&cc->cipher.iv, iv, iv_sector);
	if (r)
		return r == -EINPROGRESS || r == -EBUSY ? -EIO : r;

	if (may_sleep)
		flags |= CRYPTO_TFM_REQ_MAY_SLEEP;
	u->io = io;
	skcipher_request_set_tfm(req, crypt_cipher_tfm(&cc->cipher, lane->sector));
	skcipher_request_set_callback(req, flags, crypt_unit_done, u);
	skcipher_request_set_crypt(req, u->src, dst, len, iv);
	lane->sector += len >> SECTOR_SHIFT;
	return write ? crypto_skcipher_encrypt(req) : crypto_skcipher_decrypt(req);
}

/* The next span of the io for lane; false when none is left. */
static bool crypt_lane_take(struct crypt_lane *lane)
{
	struct crypt_io *io = lane->io;
	unsigned int size = io->iter_in.bi_size;
	unsigned int span = atomic_inc_return(&io->next_span) - 1;
	unsigned int offset;

	if (READ_ONCE(io->error) || span >= DIV_ROUND_UP(size, io->span))
		return false;
	offset = span * io->span;
	lane->in = io->iter_in;
	bio_advance_iter(io->base, &lane->in, offset);
	lane->in.bi_size = min(io->span, size - offset);
	if (io->out) {
		lane->out = io->iter_out;
		bio_advance_iter(io->out, &lane->out, offset);
		lane->out.bi_size = lane->in.bi_size;
	}
	lane->sector = io->sector + (offset >> SECTOR_SHIFT);
	return true;
}

/*
 * A backlogged request must start before the next is sent.  False if
 * that means waiting and we may not.
 */
static bool crypt_wait_restart(struct crypt_lane *lane, bool may_sleep)
{
	if (try_wait_for_completion(&lane->io->restart))
		return true;
	if (!may_sleep) {
		lane->wait_restart = true;
		return false;
	}
	wait_for_completion(&lane->io->restart);
	return true;
}

/*
 * Sends units to the cipher until no span of the io is left.  False if
 * it had to stop, in a context that may not sleep, for a unit or for a
 * backlogged request: a worker goes on from there.  A failure ends the
 * sending, for every lane; the io ends with an error once the units in
 * flight are back.
 */
static bool crypt_lane_run(struct crypt_lane *lane, bool may_sleep)
{
	struct crypt_io *io = lane->io;
	int r;

	if (lane->wait_restart) {
		wait_for_completion(&io->restart);
		lane->wait_restart = false;
	}
	while (lane->in.bi_size || crypt_lane_take(lane)) {
		if (!lane->unit)
			lane->unit = mempool_alloc(&io->cc->unit_pool,
						   may_sleep ? GFP_NOIO : GFP_NOWAIT);
		if (!lane->unit)
			return false;
		atomic_inc(&io->pending);
		r = crypt_unit_start(lane, lane->unit, may_sleep);
		switch (r) {
		case 0:
			atomic_dec(&io->pending);
			if (may_sleep)
				cond_resched();
			break;
		case -EBUSY:
		case -EINPROGRESS:
			/* The unit is its completion's now. */
			lane->unit = NULL;
			if (r == -EBUSY && !crypt_wait_restart(lane, may_sleep))
				return false;
			break;
		default:
			atomic_dec(&io->pending);
			crypt_io_fail(io);
			lane->in.bi_size = 0;
			break;
		}
	}
	return true;
}

/*
 * A lane has no more to do.  Lane 0 only ends once every span is
 * taken: a helper that has not started yet is not needed any more.
 */
static void crypt_lane_done(struct crypt_lane *lane, bool may_sleep)
{
	struct crypt_io *io = lane->io;
	unsigned int i;

	if (lane->unit) {
		crypt_unit_release(io, lane->unit);
		lane->unit = NULL;
	}
	if (lane == io->lane)
		for (i = 1; i <= io->helpers; i++)
			if (cancel_work(&io->lane[i].work))
				crypt_io_put(io, may_sleep);
	crypt_io_put(io, may_sleep);
}

static void crypt_lane_work(struct work_struct *work);

static void crypt_lane_go(struct crypt_lane *lane, bool may_sleep)
{
	if (crypt_lane_run(lane, may_sleep))
		crypt_lane_done(lane, may_sleep);
	else
		crypt_queue(&lane->work, lane->io->cc->crypt_wq, crypt_lane_work);
}

static void crypt_lane_work(struct work_struct *work)
{
	crypt_lane_go(container_of(work, struct crypt_lane, work), true);
}

static void crypt_lane_init(struct crypt_lane *lane, struct crypt_io *io,
			    struct crypt_unit *unit)
{
	lane->io = io;
	lane->in.bi_size = 0;
	lane->unit = unit;
	lane->wait_restart = false;
}

/*
 * Converts the io, from here (lane 0) and, for a large bio, with
 * helpers on other CPUs: the bio's latency is then that of its share.
 */
static void crypt_convert(struct crypt_io *io, bool may_sleep)
{
	struct crypt_ctx *cc = io->cc;
	unsigned int size = io->iter_in.bi_size;
	unsigned int i;

	io->span = size;
	io->helpers = 0;
	if (cc->helpers && size >= CRYPT_HELP_MIN_BYTES) {
		io->span = CRYPT_SPAN_BYTES;
		io->helpers = min(cc->helpers,
				  DIV_ROUND_UP(size, CRYPT_SPAN_BYTES) - 1);
	}
	for (i = 1; i <= io->helpers; i++) {
		crypt_lane_init(&io->lane[i], io, NULL);
		atomic_inc(&io->pending);
		crypt_queue(&io->lane[i].work, cc->crypt_wq, crypt_lane_work);
	}
	crypt_lane_go(io->lane, may_sleep);
}

/* Reads. */

static void crypt_read_done(struct crypt_io *io)
{
	struct bio *bio = io->base;

	bio->bi_end_io = io->base_end_io;
	if (io->error)
		bio->bi_status = io->error;
	bio_endio(bio);
}

static void crypt_start_work(struct work_struct *work);

static void crypt_read_endio(struct bio *bio)
{
	struct crypt_io *io = dmx_per_io_data(bio);

	if (unlikely(bio->bi_status)) {
		crypt_read_done(io);
		return;
	}
	if (crypt_may_decrypt_here(io->cc))
		crypt_convert(io, false);
	else
		crypt_queue(&io->lane[0].work, io->cc->crypt_wq, crypt_start_work);
}

/* Writes. */

static void crypt_free_pages(struct crypt_ctx *cc, struct bio *out)
{
	unsigned short i;

	/* __bio_add_page() put each page in a bio_vec of its own. */
	for (i = 0; i < out->bi_vcnt; i++)
		mempool_free(out->bi_io_vec[i].bv_page, &cc->page_pool);
}

static void crypt_write_end(struct crypt_io *io, blk_status_t status)
{
	struct bio *base = io->base;

	crypt_free_pages(io->cc, io->out);
	bio_put(io->out);
	if (status)
		base->bi_status = status;
	bio_endio(base);
}

static void crypt_write_endio(struct bio *out)
{
	crypt_write_end(out->bi_private, out->bi_status);
}

static struct bio *crypt_alloc_out(struct crypt_io *io)
{
	struct crypt_ctx *cc = io->cc;
	struct bio *base = io->base;
	struct bio *out;

	out = bio_alloc_bioset(cc->dev->bdev,
			       DIV_ROUND_UP(base->bi_iter.bi_size, PAGE_SIZE),
			       base->bi_opf, GFP_NOIO, &cc->out_set);
	out->bi_iter.bi_sector = cc->start +
				 (base->bi_iter.bi_sector - cc->ti->begin);
	out->bi_ioprio = base->bi_ioprio;
	out->bi_private = io;
	out->bi_end_io = crypt_write_endio;
	return out;
}

/* Fills out with pages for its write; false if the pool is short. */
static bool crypt_add_pages(struct crypt_ctx *cc, struct bio *out,
			    unsigned int size, gfp_t gfp)
{
	struct page *page;
	unsigned int len;

	while (size) {
		page = mempool_alloc(&cc->page_pool, gfp);
		if (!page)
			return false;
		len = min_t(unsigned int, size, PAGE_SIZE);
		__bio_add_page(out, page, len, 0);
		size -= len;
	}
	return true;
}

/*
 * The ciphertext bio of a write, with its pages.  Without waiting
 * first; when memory is short, the pages taken go back and the write
 * takes them again under page_lock, waiting for each: with one waiter
 * at a time, the reserve (one largest write) always goes to one write.
 */
static void crypt_write_prepare(struct crypt_io *io)
{
	struct crypt_ctx *cc = io->cc;
	unsigned int size = io->base->bi_iter.bi_size;
	struct bio *out = crypt_alloc_out(io);

	if (unlikely(!crypt_add_pages(cc, out, size, GFP_NOWAIT))) {
		crypt_free_pages(cc, out);
		bio_put(out);
		mutex_lock(&cc->page_lock);
		out = crypt_alloc_out(io);
		crypt_add_pages(cc, out, size, GFP_NOIO);
		mutex_unlock(&cc->page_lock);
	}
	io->out = out;
	io->iter_out = out->bi_iter;
}

static void crypt_submit_work(struct work_struct *work)
{
	submit_bio_noacct(container_of(work, struct crypt_io, submit_work)->out);
}

static void crypt_write_encrypted(struct crypt_io *io, bool may_sleep)
{
	if (io->error)
		crypt_write_end(io, io->error);
	else if (may_sleep)
		submit_bio_noacct(io->out);
	else
		crypt_queue(&io->submit_work, io->cc->io_wq, crypt_submit_work);
}

/* Every lane is done and every unit back: the io goes on, or ends. */
static void crypt_io_put(struct crypt_io *io, bool may_sleep)
{
	if (!atomic_dec_and_test(&io->pending))
		return;
	if (bio_data_dir(io->base) == READ)
		crypt_read_done(io);
	else
		crypt_write_encrypted(io, may_sleep);
}

/* A read or write whose crypto its own context could not do. */
static void crypt_start_work(struct work_struct *work)
{
	struct crypt_io *io = container_of(work, struct crypt_lane, work)->io;

	if (bio_data_dir(io->base) == WRITE)
		crypt_write_prepare(io);
	crypt_convert(io, true);
}

static void crypt_io_init(struct crypt_io *io, struct crypt_ctx *cc,
			  struct bio *bio, sector_t offset)
{
	io->cc = cc;
	io->base = bio;
	io->out = NULL;
	io->iter_in = bio->bi_iter;
	io->sector = offset + cc->iv_offset;
	atomic_set(&io->next_span, 0);
	/* Lane 0's hold. */
	atomic_set(&io->pending, 1);
	io->error = BLK_STS_OK;
	init_completion(&io->restart);
	crypt_lane_init(io->lane, io, crypt_io_first_unit(io));
}

int crypt_io_map(struct crypt_ctx *cc, struct bio *bio)
{
	sector_t offset = bio->bi_iter.bi_sector - cc->ti->begin;
	struct crypt_io *io;

	/* Empty flushes (the core splits flushes off data) and discards. */
	if (unlikely(!bio_sectors(bio) || bio_op(bio) == REQ_OP_DISCARD)) {
		bio_set_dev(bio, cc->dev->bdev);
		if (bio_sectors(bio))
			bio->bi_iter.bi_sector = cc->start + offset;
		return DMX_MAPIO_REMAPPED;
	}
	if (unlikely(bio_op(bio) != REQ_OP_READ && bio_op(bio) != REQ_OP_WRITE))
		return DMX_MAPIO_KILL;
	/* The queue limits make this so; a bio that breaks them fails. */
	if (unlikely(((offset << SECTOR_SHIFT) | bio->bi_iter.bi_size) &
		     (cc->opt.sector_size - 1)))
		return DMX_MAPIO_KILL;

	io = dmx_per_io_data(bio);
	crypt_io_init(io, cc, bio, offset);
	if (bio_data_dir(bio) == READ) {
		io->base_end_io = bio->bi_end_io;
		bio->bi_end_io = crypt_read_endio;
		bio_set_dev(bio, cc->dev->bdev);
		bio->bi_iter.bi_sector = cc->start + offset;
		return DMX_MAPIO_REMAPPED;
	}
	if (crypt_may_sleep()) {
		crypt_write_prepare(io);
		crypt_convert(io, true);
	} else {
		crypt_queue(&io->lane[0].work, cc->crypt_wq, crypt_start_work);
	}
	return DMX_MAPIO_SUBMITTED;
}

/* Sizes the per-io data and makes the pools and workers. */
int crypt_io_ctr(struct crypt_ctx *cc, const char **error)
{
	struct crypto_skcipher *tfm = cc->cipher.tfms[0];
	unsigned int flags = WQ_CPU_INTENSIVE | WQ_MEM_RECLAIM;
	unsigned int max_active = num_online_cpus();
	int r;

	cc->unit_req_offset = ALIGN(sizeof(struct crypt_unit), CRYPTO_MINALIGN);
	cc->unit_iv_offset = cc->unit_req_offset +
			     sizeof(struct skcipher_request) +
			     crypto_skcipher_reqsize(tfm);
	cc->unit_iv_align = max_t(unsigned int,
				  crypto_skcipher_alignmask(tfm) + 1,
				  __alignof__(u64));
	cc->unit_size = cc->unit_iv_offset + cc->unit_iv_align - 1 +
			cc->cipher.iv.size;
	/* Helpers would share the one CPU of same_cpu_crypt's workers. */
	if (!cc->opt.same_cpu_crypt)
		cc->helpers = min(num_online_cpus() - 1, CRYPT_MAX_HELPERS);
	cc->io_unit_offset = ALIGN(offsetof(struct crypt_io, lane) +
				   (1 + cc->helpers) * sizeof(struct crypt_lane),
				   CRYPTO_MINALIGN);
	cc->ti->per_io_data_size = cc->io_unit_offset + cc->unit_size;
	/* A write's ciphertext is one bio of at most CRYPT_MAX_PAGES. */
	cc->ti->max_io_len = CRYPT_MAX_PAGES << (PAGE_SHIFT - SECTOR_SHIFT);

	r = mempool_init_kmalloc_pool(&cc->unit_pool, CRYPT_UNIT_POOL,
				      cc->unit_size);
	if (r) {
		*error = "Cannot allocate crypt request mempool";
		return r;
	}
	r = mempool_init_page_pool(&cc->page_pool, CRYPT_MAX_PAGES, 0);
	if (r) {
		*error = "Cannot allocate page mempool";
		return r;
	}
	r = bioset_init(&cc->out_set, BIO_POOL_SIZE, 0, BIOSET_NEED_BVECS);
	if (r) {
		*error = "Cannot allocate crypt bioset";
		return r;
	}

	if (cc->opt.same_cpu_crypt)
		max_active = 1;
	else
		flags |= WQ_UNBOUND;
	cc->crypt_wq = alloc_workqueue("dmx_kcryptd/%s", flags, max_active,
				       cc->dev->name);
	if (!cc->crypt_wq) {
		*error = "Couldn't create kcryptd queue";
		return -ENOMEM;
	}
	cc->io_wq = alloc_workqueue("dmx_kcryptd_io/%s", WQ_MEM_RECLAIM, 1,
				    cc->dev->name);
	if (!cc->io_wq) {
		*error = "Couldn't create kcryptd io queue";
		return -ENOMEM;
	}
	return 0;
}

/* Undoes crypt_io_ctr(), however far it got; nothing is in flight. */
void crypt_io_dtr(struct crypt_ctx *cc)
{
	if (cc->io_wq)
		destroy_workqueue(cc->io_wq);
	if (cc->crypt_wq)
		destroy_workqueue(cc->crypt_wq);
	bioset_exit(&cc->out_set);
	mempool_exit(&cc->page_pool);
	mempool_exit(&cc->unit_pool);
}
