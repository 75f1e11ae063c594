// SPDX-License-Identifier: GPL-2.0
/*
 * Exception stores: where a snapshot keeps the list of chunks it has
 * copied.  A transient store (N) keeps it in memory only and merely hands
 * out COW chunks.  A persistent store (P, PO) writes it to the COW device
 * in the layout the stock dm-snapshot uses, so either can read what the
 * other wrote (shared/docs/snapshot-format.md):
 *
 *   chunk 0            header: magic, valid, version, chunk_size
 *   chunk 1            metadata area 0: (old_chunk, new_chunk) pairs
 *   chunks 2..epa+1    data
 *   chunk epa+2        metadata area 1, then data again, and so on
 *
 * where epa, the exceptions per area, is what fits in one chunk.
 *
 * Commits are batched: copied pending exceptions queue up while an area
 * write is in flight and the next write records all of them.  Each area
 * write carries a preflush, so the copied data is durable before the
 * entry pointing at it, and FUA, so the entry is durable before the bios
 * waiting on it are let go.  Before an area fills up, the next one is
 * zeroed on disk, so a reader walking full areas never runs into stale
 * bytes.
 */
#include <linux/blkdev.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "dmx-snap.h"

#define SNAP_MAGIC		0x70416e53	/* "SnAp" */
#define SNAP_DISK_VERSION	1
#define SNAP_HEADER_CHUNKS	1
#define SNAP_DEFAULT_CHUNK	32U		/* sectors, when neither says */

struct snap_disk_header {
	__le32 magic;
	__le32 valid;
	__le32 version;
	__le32 chunk_size;
} __packed;

struct snap_disk_exception {
	__le64 old_chunk;
	__le64 new_chunk;
} __packed;

static sector_t snap_store_cow_chunks(struct snap_store *st)
{
	return bdev_nr_sectors(st->cow) >> st->chunk_shift;
}

static snap_chunk_t snap_area_location(struct snap_store *st, snap_chunk_t area)
{
	return SNAP_HEADER_CHUNKS + area * (st->exceptions_per_area + 1);
}

static bool snap_chunk_is_area(struct snap_store *st, snap_chunk_t chunk)
{
	u32 rem;

	div_u64_rem(chunk, st->exceptions_per_area + 1, &rem);
	return rem == SNAP_HEADER_CHUNKS;
}

/* Synchronous I/O of one chunk to or from a vmalloc buffer. */
static int snap_store_chunk_io(struct snap_store *st, void *buf,
			       snap_chunk_t chunk, blk_opf_t opf)
{
	unsigned int len = st->chunk_size << SECTOR_SHIFT;
	unsigned int nr = DIV_ROUND_UP(len, PAGE_SIZE);
	unsigned int off;
	struct bio *bio;
	int r;

	bio = bio_alloc(st->cow, nr, opf, GFP_NOIO);
	bio->bi_iter.bi_sector = snap_chunk_to_sector(st, chunk);
	for (off = 0; off < len; off += PAGE_SIZE)
		__bio_add_page(bio, vmalloc_to_page(buf + off),
			       min_t(unsigned int, len - off, PAGE_SIZE), 0);
	if (op_is_write(opf))
		flush_kernel_vmap_range(buf, len);
	r = submit_bio_wait(bio);
	if (!op_is_write(opf))
		invalidate_kernel_vmap_range(buf, len);
	bio_put(bio);
	return r;
}

static int snap_store_area_io(struct snap_store *st, blk_opf_t opf)
{
	return snap_store_chunk_io(st, st->area,
				   snap_area_location(st, st->current_area), opf);
}

static struct snap_disk_exception *snap_area_entry(void *area, u32 index)
{
	return (struct snap_disk_exception *)area + index;
}

static void snap_store_free_areas(struct snap_store *st)
{
	vfree(st->area);
	vfree(st->zero_area);
	vfree(st->header);
	st->area = NULL;
	st->zero_area = NULL;
	st->header = NULL;
}

/* Sets the chunk size and, for a persistent store, sizes its buffers. */
int snap_store_set_chunk_size(struct snap_store *st, u32 chunk_size)
{
	size_t len = (size_t)chunk_size << SECTOR_SHIFT;

	st->chunk_size = chunk_size;
	st->chunk_shift = __ffs(chunk_size);
	if (st->kind != SNAP_STORE_PERSISTENT)
		return 0;

	snap_store_free_areas(st);
	st->exceptions_per_area = len / sizeof(struct snap_disk_exception);
	st->area = vzalloc(len);
	st->zero_area = vzalloc(len);
	st->header = vzalloc(len);
	if (!st->area || !st->zero_area || !st->header) {
		snap_store_free_areas(st);
		return -ENOMEM;
	}
	return 0;
}

static int snap_store_write_header(struct snap_store *st, bool valid)
{
	struct snap_disk_header *dh = st->header;
	int r;

	mutex_lock(&st->header_lock);
	memset(st->header, 0, st->chunk_size << SECTOR_SHIFT);
	dh->magic = cpu_to_le32(SNAP_MAGIC);
	dh->valid = cpu_to_le32(valid);
	dh->version = cpu_to_le32(SNAP_DISK_VERSION);
	dh->chunk_size = cpu_to_le32(st->chunk_size);
	r = snap_store_chunk_io(st, st->header, 0,
				REQ_OP_WRITE | REQ_PREFLUSH | REQ_FUA | REQ_SYNC);
	mutex_unlock(&st->header_lock);
	return r;
}

/*
 * Reads the first block of the COW device: the header.  A persistent
 * store's chunk size becomes the one on disk (or a default for a blank
 * store given none).  Refuses a corrupt header or an unknown version.
 */
int snap_store_read_header(struct snap_store *st, const char **error)
{
	unsigned int len = bdev_logical_block_size(st->cow);
	struct snap_disk_header *dh;
	struct page *page;
	struct bio *bio;
	u32 magic, version, chunk_size;
	int r;

	page = alloc_page(GFP_KERNEL);
	if (!page) {
		*error = "Cannot allocate header buffer";
		return -ENOMEM;
	}
	bio = bio_alloc(st->cow, 1, REQ_OP_READ | REQ_SYNC, GFP_KERNEL);
	bio->bi_iter.bi_sector = 0;
	__bio_add_page(bio, page, min_t(unsigned int, len, PAGE_SIZE), 0);
	r = submit_bio_wait(bio);
	bio_put(bio);
	if (r) {
		*error = "Cannot read snapshot header";
		goto out;
	}

	dh = page_address(page);
	magic = le32_to_cpu(dh->magic);
	version = le32_to_cpu(dh->version);
	chunk_size = le32_to_cpu(dh->chunk_size);
	st->fresh = !magic;
	st->valid = true;
	if (!magic) {
		if (!st->chunk_size)
			st->chunk_size = max(SNAP_DEFAULT_CHUNK,
					     bdev_logical_block_size(st->cow) >>
					     SECTOR_SHIFT);
		goto out;
	}
	r = -EINVAL;
	if (magic != SNAP_MAGIC) {
		*error = "Invalid or corrupt snapshot header";
		goto out;
	}
	if (version != SNAP_DISK_VERSION) {
		*error = "Unsupported snapshot disk version";
		goto out;
	}
	if (!chunk_size || !is_power_of_2(chunk_size)) {
		*error = "Invalid chunk size in snapshot header";
		goto out;
	}
	r = 0;
	st->valid = le32_to_cpu(dh->valid);
	if (st->chunk_size && st->chunk_size != chunk_size)
		pr_warn(SNAP_PREFIX "chunk size %u on disk overrides %u in the table\n",
			chunk_size, st->chunk_size);
	st->chunk_size = chunk_size;
out:
	__free_page(page);
	return r;
}

/* A blank store: a zeroed first area, then the header that points at it. */
static int snap_store_format(struct snap_store *st)
{
	int r;

	st->current_area = 0;
	st->current_committed = 0;
	st->next_free = SNAP_HEADER_CHUNKS + 1;
	memset(st->area, 0, st->chunk_size << SECTOR_SHIFT);
	r = snap_store_chunk_io(st, st->zero_area, snap_area_location(st, 0),
				REQ_OP_WRITE | REQ_SYNC);
	if (r)
		return r;
	st->valid = true;
	return snap_store_write_header(st, true);
}

/* Reads area i into st->area; returns how many of its entries are used. */
static int snap_store_read_area(struct snap_store *st,
				int (*add)(void *context, snap_chunk_t old_chunk,
					   snap_chunk_t new_chunk),
				void *context)
{
	sector_t chunks = snap_store_cow_chunks(st);
	snap_chunk_t where = snap_area_location(st, st->current_area);
	u32 i;
	int r;

	if (where >= chunks) {
		pr_err(SNAP_PREFIX "metadata area %llu lies beyond the COW device\n",
		       (unsigned long long)st->current_area);
		return -EINVAL;
	}
	r = snap_store_chunk_io(st, st->area, where, REQ_OP_READ | REQ_SYNC);
	if (r)
		return r;

	for (i = 0; i < st->exceptions_per_area; i++) {
		struct snap_disk_exception *de = snap_area_entry(st->area, i);
		snap_chunk_t old_chunk = le64_to_cpu(de->old_chunk);
		snap_chunk_t new_chunk = le64_to_cpu(de->new_chunk);

		if (!new_chunk)
			break;
		if (new_chunk >= chunks || snap_chunk_is_area(st, new_chunk)) {
			pr_err(SNAP_PREFIX "corrupt exception %llu -> %llu in area %llu\n",
			       (unsigned long long)old_chunk,
			       (unsigned long long)new_chunk,
			       (unsigned long long)st->current_area);
			return -EINVAL;
		}
		if (st->next_free <= new_chunk)
			st->next_free = new_chunk + 1;
		r = add(context, old_chunk, new_chunk);
		if (r)
			return r;
	}
	return i;
}

/*
 * Loads the store's state from disk: formats a blank store, returns 1
 * for one marked invalid, else calls add() for every exception recorded
 * and leaves the last, not yet full, area as the current one.
 */
int snap_store_load(struct snap_store *st,
		    int (*add)(void *context, snap_chunk_t old_chunk,
			       snap_chunk_t new_chunk),
		    void *context)
{
	u32 chunk_size = st->chunk_size;
	const char *error;
	int r;

	if (st->kind != SNAP_STORE_PERSISTENT) {
		st->next_free = 0;
		return 0;
	}

	/* Another table may have written the COW since our constructor. */
	r = snap_store_read_header(st, &error);
	if (r) {
		pr_err(SNAP_PREFIX "%s\n", error);
		return r;
	}
	if (st->chunk_size != chunk_size) {
		pr_err(SNAP_PREFIX "chunk size on disk changed since the table was loaded\n");
		/* The buffers are sized for ours: a retry must not use the other. */
		st->chunk_size = chunk_size;
		return -EINVAL;
	}
	if (st->fresh)
		return snap_store_format(st);
	if (!st->valid)
		return 1;

	st->next_free = SNAP_HEADER_CHUNKS + 1;
	for (st->current_area = 0;; st->current_area++) {
		r = snap_store_read_area(st, add, context);
		if (r < 0)
			return r;
		if (r < st->exceptions_per_area)
			break;
	}
	st->current_committed = r;
	if (snap_chunk_is_area(st, st->next_free))
		st->next_free++;
	return 0;
}

/* Hands out the next free COW chunk; the snapshot's lock is held. */
int snap_store_alloc_chunk(struct snap_store *st, snap_chunk_t *new_chunk)
{
	if (st->next_free + 1 > snap_store_cow_chunks(st))
		return -ENOSPC;
	*new_chunk = st->next_free++;
	if (st->kind == SNAP_STORE_PERSISTENT &&
	    snap_chunk_is_area(st, st->next_free))
		st->next_free++;
	return 0;
}

static int snap_store_write_batch(struct snap_store *st, struct list_head *batch)
{
	struct snap_pending *pe;
	int r;

	list_for_each_entry(pe, batch, node) {
		struct snap_disk_exception *de;

		de = snap_area_entry(st->area, st->current_committed++);
		de->old_chunk = cpu_to_le64(pe->e.old_chunk);
		de->new_chunk = cpu_to_le64(pe->e.new_chunk);
	}

	/* A full area is followed by a zeroed one before anyone can look. */
	if (st->current_committed == st->exceptions_per_area) {
		r = snap_store_chunk_io(st, st->zero_area,
					snap_area_location(st, st->current_area + 1),
					REQ_OP_WRITE | REQ_SYNC);
		if (r)
			return r;
	}
	r = snap_store_area_io(st, REQ_OP_WRITE | REQ_PREFLUSH | REQ_FUA |
			       REQ_SYNC);
	if (r)
		return r;

	if (st->current_committed == st->exceptions_per_area) {
		st->current_area++;
		st->current_committed = 0;
		memset(st->area, 0, st->chunk_size << SECTOR_SHIFT);
	}
	return 0;
}

/* Takes what fits in the current area off the commit queue. */
static void snap_store_take_batch(struct snap_store *st, struct list_head *batch)
{
	u32 room = st->exceptions_per_area - st->current_committed;
	struct snap_pending *pe, *tmp;

	spin_lock(&st->commit_lock);
	list_for_each_entry_safe(pe, tmp, &st->commit_queue, node) {
		if (!room--)
			break;
		list_move_tail(&pe->node, batch);
	}
	spin_unlock(&st->commit_lock);
}

static void snap_store_commit_work(struct work_struct *work)
{
	struct snap_store *st = container_of(work, struct snap_store,
					     commit_work);
	struct snap_pending *pe, *tmp;
	LIST_HEAD(batch);
	int r;

	for (;;) {
		snap_store_take_batch(st, &batch);
		if (list_empty(&batch))
			return;
		r = -EIO;
		if (READ_ONCE(st->valid))
			r = snap_store_write_batch(st, &batch);
		if (r)
			WRITE_ONCE(st->valid, false);
		list_for_each_entry_safe(pe, tmp, &batch, node) {
			list_del(&pe->node);
			snap_pending_committed(pe, r);
		}
	}
}

/*
 * Records pe's exception; snap_pending_committed() follows once it is
 * durable (or failed).  Process context.
 */
void snap_store_commit(struct snap_store *st, struct snap_pending *pe)
{
	if (st->kind != SNAP_STORE_PERSISTENT || pe->error) {
		snap_pending_committed(pe, pe->error);
		return;
	}
	spin_lock(&st->commit_lock);
	list_add_tail(&pe->node, &st->commit_queue);
	spin_unlock(&st->commit_lock);
	queue_work(snap_meta_wq, &st->commit_work);
}

/* Marks the store invalid on disk; process context. */
void snap_store_drop(struct snap_store *st)
{
	if (st->kind != SNAP_STORE_PERSISTENT)
		return;
	WRITE_ONCE(st->valid, false);
	if (snap_store_write_header(st, false))
		pr_err(SNAP_PREFIX "cannot mark the snapshot invalid on disk\n");
}

void snap_store_usage(struct snap_store *st, sector_t *total,
		      sector_t *allocated, sector_t *metadata)
{
	*total = bdev_nr_sectors(st->cow);
	*allocated = snap_chunk_to_sector(st, READ_ONCE(st->next_free));
	*metadata = 0;
	if (st->kind == SNAP_STORE_PERSISTENT)
		*metadata = snap_chunk_to_sector(st, READ_ONCE(st->current_area) +
						 SNAP_HEADER_CHUNKS + 1);
}

/*
 * The next exceptions to merge: up to max of the most recently committed
 * ones, newest first.  Returns how many, 0 when none is left.
 */
int snap_store_merge_batch(struct snap_store *st,
			   struct snap_merge_entry *entries, int max)
{
	int i, r;

	if (!st->current_committed) {
		if (!st->current_area)
			return 0;
		st->current_area--;
		r = snap_store_area_io(st, REQ_OP_READ | REQ_SYNC);
		if (r)
			return r;
		st->current_committed = st->exceptions_per_area;
	}

	for (i = 0; i < max && i < st->current_committed; i++) {
		struct snap_disk_exception *de;

		de = snap_area_entry(st->area, st->current_committed - 1 - i);
		entries[i].old_chunk = le64_to_cpu(de->old_chunk);
		entries[i].new_chunk = le64_to_cpu(de->new_chunk);
	}
	return i;
}

/* Forgets the count newest exceptions, durably. */
int snap_store_commit_merge(struct snap_store *st, int count)
{
	int i, r;

	for (i = 0; i < count; i++)
		memset(snap_area_entry(st->area, st->current_committed - 1 - i),
		       0, sizeof(struct snap_disk_exception));
	r = snap_store_area_io(st, REQ_OP_WRITE | REQ_PREFLUSH | REQ_FUA |
			       REQ_SYNC);
	if (r)
		return r;
	st->current_committed -= count;
	/* Only the status reads this now: no exception is added while merging. */
	WRITE_ONCE(st->next_free, snap_area_location(st, st->current_area) +
				  st->current_committed + 1);
	return 0;
}

int snap_store_create(enum snap_store_kind kind, struct block_device *cow,
		      u32 chunk_size, struct snap_store **result)
{
	struct snap_store *st;

	st = kzalloc(sizeof(*st), GFP_KERNEL);
	if (!st)
		return -ENOMEM;
	st->kind = kind;
	st->cow = cow;
	st->chunk_size = chunk_size;
	st->valid = true;
	mutex_init(&st->header_lock);
	spin_lock_init(&st->commit_lock);
	INIT_LIST_HEAD(&st->commit_queue);
	INIT_WORK(&st->commit_work, snap_store_commit_work);
	*result = st;
	return 0;
}

void snap_store_destroy(struct snap_store *st)
{
	if (!st)
		return;
	flush_work(&st->commit_work);
	snap_store_free_areas(st);
	kfree(st);
}
