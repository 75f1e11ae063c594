// SPDX-License-Identifier: GPL-2.0
/*
 * The block cache of the persistent-data engine: 4 KiB metadata blocks
 * read on demand, checked (location, checksum, structure) once when
 * read, kept while there is room, written back with their checksums.
 *
 * A block is in the hash while cached.  An unreferenced clean block sits
 * on the clean list, oldest first, and is the first to be evicted; a
 * dirty block sits on the dirty list until written.  Dirty blocks are
 * never the committed version of anything (the transaction manager
 * copies a block before changing it), so one may be written early to
 * make room; only the superblock is special, and it is written on its
 * own, with FUA, by pdata_bm_write_super().
 *
 * Memory is bounded by max_cached blocks plus the ones referenced at
 * the moment (a btree path or two); a reserve keeps misses progressing
 * under memory pressure.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/crc32.h>
#include <linux/hash.h>
#include <linux/mempool.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "dmx-pdata.h"

#define PDATA_PREFIX		"dmx: pdata: "

/* Blocks held back for misses when memory is short. */
#define PDATA_BM_RESERVE	32
#define PDATA_BM_MIN_CACHED	64U

struct pdata_block {
	struct hlist_node hash;
	struct list_head list;		/* bm->clean or bm->dirty, or none */
	struct pdata_bm *bm;
	pdata_block_t nr;
	void *data;			/* one page */
	const struct pdata_validator *v;
	unsigned int refs;
	bool dirty;
};

struct pdata_bm {
	struct block_device *bdev;
	pdata_block_t nr_blocks;
	unsigned int max_cached;

	/*
	 * Protects the hash, both lists, nr_cached and each block's refs,
	 * dirty and list.  Never held across I/O.
	 */
	spinlock_t lock;
	struct hlist_head *hash;
	unsigned int hash_bits;
	struct list_head clean;
	struct list_head dirty;
	unsigned int nr_cached;

	/* Serialises misses, eviction and write-back: the paths doing I/O. */
	struct mutex io_lock;
	mempool_t pool;
	struct bio_set bios;
};

u32 pdata_checksum(const void *data, size_t len, u32 xor)
{
	return __crc32c_le(~0U, data, len) ^ xor;
}

void *pdata_block_data(struct pdata_block *blk)
{
	return blk->data;
}

pdata_block_t pdata_block_nr(struct pdata_block *blk)
{
	return blk->nr;
}

static void pdata_prepare_write(struct pdata_block *blk)
{
	__le64 *nr = blk->data + 8;
	__le32 *csum = blk->data;

	*nr = cpu_to_le64(blk->nr);
	*csum = cpu_to_le32(pdata_checksum(blk->data + 4, PDATA_BLOCK_SIZE - 4,
					   blk->v->csum_xor));
}

static int pdata_validate(const struct pdata_validator *v, pdata_block_t b,
			  const void *data)
{
	const __le64 *nr = data + 8;
	const __le32 *csum = data;

	if (le64_to_cpu(*nr) != b) {
		pr_err_ratelimited(PDATA_PREFIX "%s block %llu says it is block %llu\n",
				   v->name, b, le64_to_cpu(*nr));
		return -ENOTBLK;
	}
	if (le32_to_cpu(*csum) != pdata_checksum(data + 4, PDATA_BLOCK_SIZE - 4,
						 v->csum_xor)) {
		pr_err_ratelimited(PDATA_PREFIX "%s block %llu: bad checksum\n",
				   v->name, b);
		return -EILSEQ;
	}
	if (v->check && v->check(data)) {
		pr_err_ratelimited(PDATA_PREFIX "%s block %llu: bad contents\n",
				   v->name, b);
		return -EILSEQ;
	}
	return 0;
}

static void *pdata_block_alloc(gfp_t gfp, void *unused)
{
	struct pdata_block *blk = kmalloc(sizeof(*blk), gfp);

	if (!blk)
		return NULL;
	blk->data = (void *)__get_free_page(gfp);
	if (!blk->data) {
		kfree(blk);
		return NULL;
	}
	return blk;
}

static void pdata_block_free(void *element, void *unused)
{
	struct pdata_block *blk = element;

	free_page((unsigned long)blk->data);
	kfree(blk);
}

static struct hlist_head *pdata_bucket(struct pdata_bm *bm, pdata_block_t b)
{
	return &bm->hash[hash_64(b, bm->hash_bits)];
}

/* Takes a reference on cached block b; lock held. */
static struct pdata_block *pdata_get_cached(struct pdata_bm *bm,
					    pdata_block_t b)
{
	struct pdata_block *blk;

	hlist_for_each_entry(blk, pdata_bucket(bm, b), hash) {
		if (blk->nr != b)
			continue;
		if (!blk->refs && !blk->dirty)
			list_del_init(&blk->list);
		blk->refs++;
		return blk;
	}
	return NULL;
}

static struct pdata_block *pdata_lookup(struct pdata_bm *bm, pdata_block_t b)
{
	struct pdata_block *blk;

	spin_lock(&bm->lock);
	blk = pdata_get_cached(bm, b);
	spin_unlock(&bm->lock);
	return blk;
}

void pdata_bm_put(struct pdata_block *blk)
{
	struct pdata_bm *bm = blk->bm;

	spin_lock(&bm->lock);
	if (!--blk->refs && !blk->dirty)
		list_add_tail(&blk->list, &bm->clean);
	spin_unlock(&bm->lock);
}

void pdata_bm_dirty(struct pdata_block *blk)
{
	struct pdata_bm *bm = blk->bm;

	spin_lock(&bm->lock);
	if (!blk->dirty) {
		blk->dirty = true;
		list_move_tail(&blk->list, &bm->dirty);
	}
	spin_unlock(&bm->lock);
}

static int pdata_io_sync(struct pdata_bm *bm, blk_opf_t opf, pdata_block_t b,
			 void *data)
{
	struct bio_vec bv;
	struct bio bio;
	int r;

	bio_init(&bio, bm->bdev, &bv, 1, opf);
	bio.bi_iter.bi_sector = b * PDATA_BLOCK_SECTORS;
	__bio_add_page(&bio, virt_to_page(data), PDATA_BLOCK_SIZE,
		       offset_in_page(data));
	r = submit_bio_wait(&bio);
	bio_uninit(&bio);
	return r;
}

/* Writes of a batch in flight; the last completion wakes the waiter. */
struct pdata_batch {
	atomic_t pending;
	struct completion done;
	blk_status_t status;
};

static void pdata_batch_put(struct pdata_batch *batch)
{
	if (atomic_dec_and_test(&batch->pending))
		complete(&batch->done);
}

static void pdata_write_endio(struct bio *bio)
{
	struct pdata_batch *batch = bio->bi_private;

	if (bio->bi_status)
		batch->status = bio->bi_status;
	bio_put(bio);
	pdata_batch_put(batch);
}

static void pdata_submit_write(struct pdata_bm *bm, struct pdata_block *blk,
			       struct pdata_batch *batch)
{
	struct bio *bio;

	pdata_prepare_write(blk);
	bio = bio_alloc_bioset(bm->bdev, 1, REQ_OP_WRITE, GFP_NOIO, &bm->bios);
	bio->bi_iter.bi_sector = blk->nr * PDATA_BLOCK_SECTORS;
	__bio_add_page(bio, virt_to_page(blk->data), PDATA_BLOCK_SIZE, 0);
	bio->bi_end_io = pdata_write_endio;
	bio->bi_private = batch;
	atomic_inc(&batch->pending);
	submit_bio(bio);
}

/* Writes the blocks on list (taken off bm->dirty) and marks them clean. */
static int pdata_write_list(struct pdata_bm *bm, struct list_head *list)
{
	struct pdata_batch batch;
	struct pdata_block *blk, *tmp;
	struct blk_plug plug;

	atomic_set(&batch.pending, 1);
	init_completion(&batch.done);
	batch.status = BLK_STS_OK;

	blk_start_plug(&plug);
	list_for_each_entry(blk, list, list)
		pdata_submit_write(bm, blk, &batch);
	blk_finish_plug(&plug);
	pdata_batch_put(&batch);
	wait_for_completion_io(&batch.done);

	spin_lock(&bm->lock);
	list_for_each_entry_safe(blk, tmp, list, list) {
		list_del_init(&blk->list);
		blk->dirty = false;
		if (!blk->refs)
			list_add_tail(&blk->list, &bm->clean);
	}
	spin_unlock(&bm->lock);
	return blk_status_to_errno(batch.status);
}

static void pdata_forget(struct pdata_bm *bm, struct pdata_block *blk)
{
	hlist_del(&blk->hash);
	list_del_init(&blk->list);
	bm->nr_cached--;
}

/*
 * Frees one unreferenced block, writing it first if it is dirty; io_lock
 * held.  False if every cached block is referenced.
 */
static bool pdata_evict_one(struct pdata_bm *bm)
{
	struct pdata_block *blk;
	LIST_HEAD(one);

	spin_lock(&bm->lock);
	blk = list_first_entry_or_null(&bm->clean, struct pdata_block, list);
	if (blk) {
		pdata_forget(bm, blk);
		spin_unlock(&bm->lock);
		mempool_free(blk, &bm->pool);
		return true;
	}
	list_for_each_entry(blk, &bm->dirty, list) {
		if (!blk->refs) {
			list_move(&blk->list, &one);
			break;
		}
	}
	spin_unlock(&bm->lock);
	if (list_empty(&one))
		return false;
	/* A failed early write is found again by the commit's write-back. */
	if (pdata_write_list(bm, &one)) {
		pdata_bm_dirty(blk);
		return false;
	}
	return true;
}

static void pdata_make_room(struct pdata_bm *bm)
{
	while (READ_ONCE(bm->nr_cached) >= bm->max_cached)
		if (!pdata_evict_one(bm))
			return;
}

/* A fresh block for b, referenced once; io_lock held. */
static struct pdata_block *pdata_alloc_block(struct pdata_bm *bm,
					     pdata_block_t b,
					     const struct pdata_validator *v)
{
	struct pdata_block *blk;

	pdata_make_room(bm);
	blk = mempool_alloc(&bm->pool, GFP_NOIO);
	INIT_LIST_HEAD(&blk->list);
	blk->bm = bm;
	blk->nr = b;
	blk->v = v;
	blk->refs = 1;
	blk->dirty = false;
	return blk;
}

static void pdata_insert(struct pdata_bm *bm, struct pdata_block *blk)
{
	spin_lock(&bm->lock);
	hlist_add_head(&blk->hash, pdata_bucket(bm, blk->nr));
	bm->nr_cached++;
	spin_unlock(&bm->lock);
}

static int pdata_check_kind(struct pdata_block *blk,
			    const struct pdata_validator *v)
{
	if (blk->v == v)
		return 0;
	pr_err_ratelimited(PDATA_PREFIX "block %llu is a %s, not a %s\n",
			   blk->nr, blk->v->name, v->name);
	pdata_bm_put(blk);
	return -EILSEQ;
}

int pdata_bm_read(struct pdata_bm *bm, pdata_block_t b,
		  const struct pdata_validator *v, struct pdata_block **result)
{
	struct pdata_block *blk;
	int r;

	if (b >= bm->nr_blocks) {
		pr_err_ratelimited(PDATA_PREFIX "%s block %llu beyond the device (%llu blocks)\n",
				   v->name, b, bm->nr_blocks);
		return -EINVAL;
	}
	blk = pdata_lookup(bm, b);
	if (blk)
		goto found;

	mutex_lock(&bm->io_lock);
	blk = pdata_lookup(bm, b);
	if (blk) {
		mutex_unlock(&bm->io_lock);
		goto found;
	}
	blk = pdata_alloc_block(bm, b, v);
	r = pdata_io_sync(bm, REQ_OP_READ, b, blk->data);
	if (!r)
		r = pdata_validate(v, b, blk->data);
	if (r) {
		mempool_free(blk, &bm->pool);
		mutex_unlock(&bm->io_lock);
		return r;
	}
	pdata_insert(bm, blk);
	mutex_unlock(&bm->io_lock);
	*result = blk;
	return 0;

found:
	r = pdata_check_kind(blk, v);
	if (!r)
		*result = blk;
	return r;
}

/* Never sleeps: a block that is not cached is -EWOULDBLOCK. */
int pdata_bm_read_try(struct pdata_bm *bm, pdata_block_t b,
		      const struct pdata_validator *v,
		      struct pdata_block **result)
{
	struct pdata_block *blk = pdata_lookup(bm, b);
	int r;

	if (!blk)
		return -EWOULDBLOCK;
	r = pdata_check_kind(blk, v);
	if (!r)
		*result = blk;
	return r;
}

static int pdata_bm_zeroed(struct pdata_bm *bm, pdata_block_t b,
			   const struct pdata_validator *v,
			   struct pdata_block **result)
{
	struct pdata_block *blk;

	if (b >= bm->nr_blocks)
		return -EINVAL;
	mutex_lock(&bm->io_lock);
	blk = pdata_lookup(bm, b);
	if (blk && blk->refs > 1) {
		pr_err(PDATA_PREFIX "new block %llu is still in use\n", b);
		pdata_bm_put(blk);
		mutex_unlock(&bm->io_lock);
		return -EBUSY;
	}
	if (!blk) {
		blk = pdata_alloc_block(bm, b, v);
		pdata_insert(bm, blk);
	}
	mutex_unlock(&bm->io_lock);
	blk->v = v;
	memset(blk->data, 0, PDATA_BLOCK_SIZE);
	*result = blk;
	return 0;
}

/* Block b as a zeroed, dirty block of kind v: its old contents are gone. */
int pdata_bm_new(struct pdata_bm *bm, pdata_block_t b,
		 const struct pdata_validator *v, struct pdata_block **result)
{
	int r = pdata_bm_zeroed(bm, b, v, result);

	if (!r)
		pdata_bm_dirty(*result);
	return r;
}

/*
 * A zeroed superblock, for formatting: like pdata_bm_new(), but never
 * on the dirty list, so that only pdata_bm_write_super() writes it.
 */
int pdata_bm_new_super(struct pdata_bm *bm, pdata_block_t b,
		       const struct pdata_validator *v,
		       struct pdata_block **result)
{
	return pdata_bm_zeroed(bm, b, v, result);
}

/* Reads block b unchecked and uncached, into a PDATA_BLOCK_SIZE buffer. */
int pdata_bm_read_raw(struct pdata_bm *bm, pdata_block_t b, void *buf)
{
	void *page = (void *)__get_free_page(GFP_NOIO);
	int r;

	if (!page)
		return -ENOMEM;
	r = pdata_io_sync(bm, REQ_OP_READ, b, page);
	if (!r)
		memcpy(buf, page, PDATA_BLOCK_SIZE);
	free_page((unsigned long)page);
	return r;
}

/* Writes every dirty block and waits for them. */
int pdata_bm_write_dirty(struct pdata_bm *bm)
{
	LIST_HEAD(list);
	int r;

	mutex_lock(&bm->io_lock);
	spin_lock(&bm->lock);
	list_splice_init(&bm->dirty, &list);
	spin_unlock(&bm->lock);
	r = list_empty(&list) ? 0 : pdata_write_list(bm, &list);
	mutex_unlock(&bm->io_lock);
	return r;
}

/*
 * The commit point.  The preflush makes every block written before it
 * durable first; FUA makes the superblock durable before we go on.
 */
int pdata_bm_write_super(struct pdata_bm *bm, struct pdata_block *sb)
{
	int r;

	mutex_lock(&bm->io_lock);
	pdata_prepare_write(sb);
	r = pdata_io_sync(bm, REQ_OP_WRITE | REQ_PREFLUSH | REQ_FUA | REQ_SYNC,
			  sb->nr, sb->data);
	mutex_unlock(&bm->io_lock);
	return r;
}

/* Forgets every cached block, dirty ones too; none may be referenced. */
void pdata_bm_reset(struct pdata_bm *bm)
{
	struct pdata_block *blk;
	struct hlist_node *tmp;
	unsigned int i;

	mutex_lock(&bm->io_lock);
	spin_lock(&bm->lock);
	for (i = 0; i < (1U << bm->hash_bits); i++) {
		hlist_for_each_entry_safe(blk, tmp, &bm->hash[i], hash) {
			WARN_ON_ONCE(blk->refs);
			pdata_forget(bm, blk);
			spin_unlock(&bm->lock);
			mempool_free(blk, &bm->pool);
			spin_lock(&bm->lock);
		}
	}
	spin_unlock(&bm->lock);
	mutex_unlock(&bm->io_lock);
}

pdata_block_t pdata_bm_nr_blocks(struct pdata_bm *bm)
{
	return bm->nr_blocks;
}

/* The device grew; called with the user's exclusive lock held. */
void pdata_bm_set_nr_blocks(struct pdata_bm *bm, pdata_block_t nr_blocks)
{
	bm->nr_blocks = nr_blocks;
}

struct pdata_bm *pdata_bm_create(struct block_device *bdev,
				 pdata_block_t nr_blocks,
				 unsigned int max_cached)
{
	struct pdata_bm *bm;
	int r;

	bm = kzalloc(sizeof(*bm), GFP_KERNEL);
	if (!bm)
		return ERR_PTR(-ENOMEM);
	bm->bdev = bdev;
	bm->nr_blocks = nr_blocks;
	bm->max_cached = max(max_cached, PDATA_BM_MIN_CACHED);
	spin_lock_init(&bm->lock);
	INIT_LIST_HEAD(&bm->clean);
	INIT_LIST_HEAD(&bm->dirty);
	mutex_init(&bm->io_lock);

	bm->hash_bits = ilog2(roundup_pow_of_two(bm->max_cached));
	bm->hash = kvcalloc(1U << bm->hash_bits, sizeof(*bm->hash), GFP_KERNEL);
	r = -ENOMEM;
	if (!bm->hash)
		goto bad_hash;
	r = mempool_init(&bm->pool, PDATA_BM_RESERVE, pdata_block_alloc,
			 pdata_block_free, NULL);
	if (r)
		goto bad_pool;
	r = bioset_init(&bm->bios, BIO_POOL_SIZE, 0, BIOSET_NEED_BVECS);
	if (r)
		goto bad_bios;
	return bm;

bad_bios:
	mempool_exit(&bm->pool);
bad_pool:
	kvfree(bm->hash);
bad_hash:
	kfree(bm);
	return ERR_PTR(r);
}

/* Dirty blocks not written by a commit are dropped: they were never used. */
void pdata_bm_destroy(struct pdata_bm *bm)
{
	if (!bm)
		return;
	pdata_bm_reset(bm);
	bioset_exit(&bm->bios);
	mempool_exit(&bm->pool);
	kvfree(bm->hash);
	kfree(bm);
}
