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
 * Linux's dm-crypt hands every bio to a workqueue by default (and each
 * write to a writer thread after that), so that CPU-heavy crypto is
 * spread over CPUs and does not run in interrupt context.  Those
 * hand-offs, not the cipher, are most of its cost for small I/O: here
 * no hand-off happens where the context allows the crypto, and the
 * crypto is done by (and charged to) the task that asked for the I/O
 * or that completes it, which keeps the CPU time where the scheduler
 * can see it.  What the workqueues are for is kept: no crypto in hard
 * irq context, a worker wherever the context does not allow it, and
 * progress under memory pressure (below).  Hence no_read_workqueue and
 * no_write_workqueue change little here (softirq completions), and
 * same_cpu_crypt only binds the workers to the CPU that queued the
 * work; submit_from_crypt_cpus is accepted and shown, and changes
 * nothing, as writes are always submitted where they were encrypted.
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
 * write at a time may wait on it (crypt_alloc_pages()), so two writes
 * can never each hold part of what both need; pages come back as
 * writes complete.  The workers are WQ_MEM_RECLAIM, and work that may
 * wait on our mempools (crypt_wq) is kept apart from the submission of
 * finished ciphertext (io_wq), which returns pages and never waits on
 * them.
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

/* Per-bio state, in the clone's per-io data; its first unit follows. */
struct crypt_io {
	struct crypt_ctx *cc;
	struct bio *base;		/* the clone we were given */
	struct bio *out;		/* writes: the ciphertext */
	bio_end_io_t *base_end_io;	/* reads: the core's completion */
	struct bvec_iter iter_in;	/* data still to convert */
	struct bvec_iter iter_out;	/* writes: ciphertext still to fill */
	u64 sector;			/* crypt sector of the next unit */
	/* Units in flight, and one while units are still being issued. */
	atomic_t pending;
	blk_status_t error;
	bool wait_restart;		/* a backlogged request must start */
	struct completion restart;	/* ... and it has */
	struct crypt_unit *unit;	/* free for the next unit, or NULL */
	struct work_struct work;
};

#define CRYPT_IO_SIZE		ALIGN(sizeof(struct crypt_io), CRYPTO_MINALIGN)

static struct crypt_unit *crypt_io_first_unit(struct crypt_io *io)
{
	return (struct crypt_unit *)((u8 *)io + CRYPT_IO_SIZE);
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

static void crypt_queue(struct crypt_io *io, struct workqueue_struct *wq,
			work_func_t fn)
{
	INIT_WORK(&io->work, fn);
	queue_work(wq, &io->work);
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

/* Sends the next unit of io to the cipher; the crypto API's result. */
static int crypt_unit_start(struct crypt_io *io, struct crypt_unit *u,
			    bool may_sleep)
{
	struct crypt_ctx *cc = io->cc;
	struct skcipher_request *req = crypt_unit_req(cc, u);
	unsigned int len = cc->opt.sector_size;
	bool write = bio_data_dir(io->base) == WRITE;
	struct scatterlist *dst = u->src;
	u8 *iv = crypt_unit_iv(cc, u);
	u64 iv_sector = io->sector;
	u32 flags = CRYPTO_TFM_REQ_MAY_BACKLOG;
	int r;

	r = crypt_sg_fill(u->src, CRYPT_UNIT_SEGS, io->base, &io->iter_in, len);
	if (!r && write) {
		dst = &u->dst;
		r = crypt_sg_fill(dst, 1, io->out, &io->iter_out, len);
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
	skcipher_request_set_tfm(req, crypt_cipher_tfm(&cc->cipher, io->sector));
	skcipher_request_set_callback(req, flags, crypt_unit_done, u);
	skcipher_request_set_crypt(req, u->src, dst, len, iv);
	io->sector += len >> SECTOR_SHIFT;
	return write ? crypto_skcipher_encrypt(req) : crypto_skcipher_decrypt(req);
}

static struct crypt_unit *crypt_unit_get(struct crypt_io *io, bool may_sleep)
{
	if (!io->unit)
		io->unit = mempool_alloc(&io->cc->unit_pool,
					 may_sleep ? GFP_NOIO : GFP_NOWAIT);
	return io->unit;
}

/*
 * A backlogged request must start before the next is sent.  False if
 * that means waiting and we may not.
 */
static bool crypt_wait_restart(struct crypt_io *io, bool may_sleep)
{
	if (try_wait_for_completion(&io->restart))
		return true;
	if (!may_sleep) {
		io->wait_restart = true;
		return false;
	}
	wait_for_completion(&io->restart);
	return true;
}

/*
 * Sends every unit of io not sent yet.  False if it had to stop, in a
 * context that may not sleep, for a unit or for a backlogged request:
 * a worker goes on from there.  A failure ends the sending; the io
 * completes with an error once the units in flight are back.
 */
static bool crypt_convert(struct crypt_io *io, bool may_sleep)
{
	struct crypt_unit *u;
	int r;

	if (io->wait_restart) {
		wait_for_completion(&io->restart);
		io->wait_restart = false;
	}
	while (io->iter_in.bi_size) {
		u = crypt_unit_get(io, may_sleep);
		if (!u)
			return false;
		atomic_inc(&io->pending);
		r = crypt_unit_start(io, u, may_sleep);
		switch (r) {
		case 0:
			atomic_dec(&io->pending);
			if (may_sleep)
				cond_resched();
			break;
		case -EBUSY:
		case -EINPROGRESS:
			/* The unit is its completion's now. */
			io->unit = NULL;
			if (r == -EBUSY && !crypt_wait_restart(io, may_sleep))
				return false;
			break;
		default:
			atomic_dec(&io->pending);
			crypt_io_fail(io);
			io->iter_in.bi_size = 0;
			break;
		}
	}
	return true;
}

static void crypt_convert_work(struct work_struct *work);

/* Converts what is left of io, here or in a worker, then drops our hold. */
static void crypt_convert_and_put(struct crypt_io *io, bool may_sleep)
{
	if (crypt_convert(io, may_sleep))
		crypt_io_put(io, may_sleep);
	else
		crypt_queue(io, io->cc->crypt_wq, crypt_convert_work);
}

static void crypt_convert_work(struct work_struct *work)
{
	crypt_convert_and_put(container_of(work, struct crypt_io, work), true);
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

static void crypt_read_endio(struct bio *bio)
{
	struct crypt_io *io = dmx_per_io_data(bio);

	if (unlikely(bio->bi_status)) {
		crypt_read_done(io);
		return;
	}
	if (crypt_may_decrypt_here(io->cc))
		crypt_convert_and_put(io, false);
	else
		crypt_queue(io, io->cc->crypt_wq, crypt_convert_work);
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

/* Fills out with pages for its write; false (and none kept) if short. */
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
static struct bio *crypt_alloc_pages(struct crypt_io *io)
{
	struct crypt_ctx *cc = io->cc;
	unsigned int size = io->base->bi_iter.bi_size;
	struct bio *out = crypt_alloc_out(io);

	if (likely(crypt_add_pages(cc, out, size, GFP_NOWAIT)))
		return out;
	crypt_free_pages(cc, out);
	bio_put(out);

	mutex_lock(&cc->page_lock);
	out = crypt_alloc_out(io);
	crypt_add_pages(cc, out, size, GFP_NOIO);
	mutex_unlock(&cc->page_lock);
	return out;
}

static void crypt_submit_work(struct work_struct *work)
{
	submit_bio_noacct(container_of(work, struct crypt_io, work)->out);
}

static void crypt_write_encrypted(struct crypt_io *io, bool may_sleep)
{
	if (io->error)
		crypt_write_end(io, io->error);
	else if (may_sleep)
		submit_bio_noacct(io->out);
	else
		crypt_queue(io, io->cc->io_wq, crypt_submit_work);
}

/* Encrypts a write and sends it on; the context may sleep. */
static void crypt_write_start(struct crypt_io *io)
{
	io->out = crypt_alloc_pages(io);
	io->iter_out = io->out->bi_iter;
	crypt_convert_and_put(io, true);
}

static void crypt_write_work(struct work_struct *work)
{
	crypt_write_start(container_of(work, struct crypt_io, work));
}

/* Every unit is back: the io goes on, or ends. */
static void crypt_io_put(struct crypt_io *io, bool may_sleep)
{
	if (!atomic_dec_and_test(&io->pending))
		return;
	if (io->unit) {
		crypt_unit_release(io, io->unit);
		io->unit = NULL;
	}
	if (bio_data_dir(io->base) == READ)
		crypt_read_done(io);
	else
		crypt_write_encrypted(io, may_sleep);
}

static void crypt_io_init(struct crypt_io *io, struct crypt_ctx *cc,
			  struct bio *bio, sector_t offset)
{
	io->cc = cc;
	io->base = bio;
	io->out = NULL;
	io->iter_in = bio->bi_iter;
	io->sector = offset + cc->iv_offset;
	atomic_set(&io->pending, 1);
	io->error = BLK_STS_OK;
	io->wait_restart = false;
	init_completion(&io->restart);
	io->unit = crypt_io_first_unit(io);
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
	if (crypt_may_sleep())
		crypt_write_start(io);
	else
		crypt_queue(io, cc->crypt_wq, crypt_write_work);
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
	cc->ti->per_io_data_size = CRYPT_IO_SIZE + cc->unit_size;
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
