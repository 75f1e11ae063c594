// SPDX-License-Identifier: GPL-2.0
/*
 * The persistent exception store (P, PO): exceptions are also written
 * to the COW device, in the layout the stock dm-snapshot uses, so either
 * reads what the other wrote (shared/docs/snapshot-format.md):
 *
 *   chunk 0            header: magic, valid, version, chunk_size
 *   chunk 1            metadata area 0: (old_chunk, new_chunk) pairs
 *   chunks 2..epa+1    data
 *   chunk epa+2        metadata area 1, then data again, and so on
 *
 * where epa, the exceptions per area, is what fits in one chunk.
 *
 * Commits are batched: copied exceptions queue up while an area write
 * is in flight and the next write records all of them, writing only
 * the blocks of the area that hold them.  Each area write carries a
 * preflush, so the copied data is durable before the entry
 * pointing at it, and FUA, so the entry is durable before the bios
 * waiting on it are let go.  Before an area fills up, the next one is
 * zeroed on disk, so a reader walking full areas never runs into stale
 * bytes.
 *
 * What the COW device holds is untrusted: the header gets the checks a
 * table's chunk size gets, at the constructor and again at load, and
 * an exception must point inside both devices and name its origin
 * chunk once.  A merge step that fails leaves the store as it was.
 */
#include <linux/blkdev.h>
#include <linux/completion.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>

#include "dmx-snap-store-ops.h"

#define SNAP_MAGIC		0x70416e53	/* "SnAp" */
#define SNAP_DISK_VERSION	1
#define SNAP_HEADER_CHUNKS	1
#define SNAP_AREA_CHUNKS	1	/* a metadata area, before its data */
/* The smallest store: the header and the first metadata area. */
#define SNAP_MIN_CHUNKS		(SNAP_HEADER_CHUNKS + SNAP_AREA_CHUNKS)
/* Sectors, when neither the header nor the table gives a chunk size. */
#define SNAP_DEFAULT_CHUNK	32U

/* One synchronous bio carries at most this much of a chunk. */
#define SNAP_IO_MAX_BYTES	((size_t)BIO_MAX_VECS * PAGE_SIZE)

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

struct snap_pstore {
	struct snap_store st;
	u32 exceptions_per_area;
	void *header;			/* a page: the header block */
	void *area;			/* the current metadata area */
	void *scratch;			/* an area read, before it is current */
	bool valid;			/* what the header says, or will */
	/* Protects header and the header's writes. */
	struct mutex header_lock;
	/*
	 * current_area, current_committed and area belong to the commit
	 * worker while the store is live, to load and to the merge
	 * otherwise (a merging snapshot never commits new exceptions).
	 */
	snap_chunk_t current_area;
	u32 current_committed;
	/* Protects commit_queue. */
	spinlock_t commit_lock;
	struct list_head commit_queue;	/* exceptions copied, not recorded */
	struct work_struct commit_work;
};

/* What a header block says, once checked. */
struct snap_header_info {
	bool fresh;			/* no magic: a store never used */
	bool valid;
	u32 chunk_size;
};

/* Commits: one work item per store. */
static struct workqueue_struct *snap_pstore_wq;

static struct snap_pstore *snap_pstore_of(struct snap_store *st)
{
	return container_of(st, struct snap_pstore, st);
}

static size_t snap_pstore_chunk_bytes(struct snap_pstore *ps)
{
	return (size_t)ps->st.chunk_size << SECTOR_SHIFT;
}

static snap_chunk_t snap_area_location(struct snap_pstore *ps,
				       snap_chunk_t area)
{
	return SNAP_HEADER_CHUNKS +
	       area * (SNAP_AREA_CHUNKS + ps->exceptions_per_area);
}

static bool snap_chunk_is_area(struct snap_pstore *ps, snap_chunk_t chunk)
{
	u32 rem;

	div_u64_rem(chunk, SNAP_AREA_CHUNKS + ps->exceptions_per_area, &rem);
	return rem == SNAP_HEADER_CHUNKS;
}

static struct snap_disk_exception *snap_area_entry(void *area, u32 index)
{
	return (struct snap_disk_exception *)area + index;
}

/*
 * Synchronous I/O of len bytes at sector, from or into buf (vmalloc'd)
 * for its first buf_len bytes, zeroes after them (writes only: the end
 * of chunk 0 after the header block).  More
 * than one bio's worth takes several bios in turn: the first carries
 * the preflush asked for, each the FUA.
 */
static int snap_pstore_io(struct snap_pstore *ps, sector_t sector, size_t len,
			  void *buf, size_t buf_len, blk_opf_t opf)
{
	size_t done, off;
	int r;

	for (done = 0; done < len; done += SNAP_IO_MAX_BYTES) {
		size_t piece = min(len - done, SNAP_IO_MAX_BYTES);
		struct bio *bio;

		bio = bio_alloc(ps->st.cow, DIV_ROUND_UP(piece, PAGE_SIZE),
				done ? opf & ~REQ_PREFLUSH : opf, GFP_NOIO);
		bio->bi_iter.bi_sector = sector + (done >> SECTOR_SHIFT);
		for (off = done; off < done + piece; off += PAGE_SIZE) {
			struct page *page = off < buf_len ?
				vmalloc_to_page(buf + off) : ZERO_PAGE(0);

			__bio_add_page(bio, page,
				       min_t(size_t, done + piece - off, PAGE_SIZE), 0);
		}
		if (op_is_write(opf) && done < buf_len)
			flush_kernel_vmap_range(buf + done,
						min(piece, buf_len - done));
		r = submit_bio_wait(bio);
		if (!op_is_write(opf))
			invalidate_kernel_vmap_range(buf + done, piece);
		bio_put(bio);
		if (r)
			return r;
	}
	return 0;
}

static int snap_pstore_chunk_io(struct snap_pstore *ps, void *buf,
				snap_chunk_t chunk, blk_opf_t opf)
{
	size_t len = snap_pstore_chunk_bytes(ps);

	return snap_pstore_io(ps, snap_chunk_to_sector(chunk, ps->st.chunk_shift),
			      len, buf, len, opf);
}

struct snap_pstore_wait {
	struct completion done;
	int error;
};

static void snap_pstore_zeroed(const struct dmx_copy_result *result,
			       void *context)
{
	struct snap_pstore_wait *wait = context;

	wait->error = result->error;
	complete(&wait->done);
}

/* Zeroes a chunk through the copy engine, and waits for it. */
static int snap_pstore_zero_chunk(struct snap_pstore *ps, snap_chunk_t chunk)
{
	struct dmx_copy_region to = {
		.bdev = ps->st.cow,
		.sector = snap_chunk_to_sector(chunk, ps->st.chunk_shift),
	};
	struct snap_pstore_wait wait;

	init_completion(&wait.done);
	dmx_copy_zero(ps->st.copier, &to, 1, ps->st.chunk_size,
		      snap_pstore_zeroed, &wait);
	wait_for_completion(&wait.done);
	return wait.error;
}

/* The header block, then zeroes to the end of chunk 0. */
static int snap_pstore_write_header(struct snap_pstore *ps, bool valid)
{
	struct snap_disk_header *dh = ps->header;
	int r;

	mutex_lock(&ps->header_lock);
	memset(ps->header, 0, PAGE_SIZE);
	dh->magic = cpu_to_le32(SNAP_MAGIC);
	dh->valid = cpu_to_le32(valid);
	dh->version = cpu_to_le32(SNAP_DISK_VERSION);
	dh->chunk_size = cpu_to_le32(ps->st.chunk_size);
	r = snap_pstore_io(ps, 0, snap_pstore_chunk_bytes(ps), ps->header,
			   PAGE_SIZE, REQ_OP_WRITE | REQ_PREFLUSH | REQ_FUA |
			   REQ_SYNC);
	mutex_unlock(&ps->header_lock);
	return r;
}

/*
 * Reads the header block and checks it as a table's chunk size is
 * checked.  A header without magic is a fresh store, to be formatted.
 */
static int snap_pstore_read_header(struct snap_pstore *ps,
				   struct snap_header_info *info,
				   const char **error)
{
	unsigned int block = bdev_logical_block_size(ps->st.cow);
	struct snap_disk_header dh;
	int r;

	mutex_lock(&ps->header_lock);
	r = snap_pstore_io(ps, 0, block, ps->header, block,
			   REQ_OP_READ | REQ_SYNC);
	memcpy(&dh, ps->header, sizeof(dh));
	mutex_unlock(&ps->header_lock);
	if (r) {
		*error = "Cannot read snapshot header";
		return r;
	}

	info->fresh = !dh.magic;
	info->valid = true;
	info->chunk_size = 0;
	if (info->fresh)
		return 0;
	if (le32_to_cpu(dh.magic) != SNAP_MAGIC) {
		*error = "Invalid or corrupt snapshot header";
		return -EINVAL;
	}
	if (le32_to_cpu(dh.version) != SNAP_DISK_VERSION) {
		*error = "Unsupported snapshot disk version";
		return -EINVAL;
	}
	info->chunk_size = le32_to_cpu(dh.chunk_size);
	r = snap_store_check_chunk_size(info->chunk_size, block, error);
	if (r)
		return r;
	if (bdev_nr_sectors(ps->st.cow) <
	    (sector_t)SNAP_MIN_CHUNKS * info->chunk_size) {
		*error = "COW device too small";
		return -EINVAL;
	}
	info->valid = le32_to_cpu(dh.valid);
	return 0;
}

/* A blank store: a zeroed first area, then the header that points at it. */
static int snap_pstore_format(struct snap_pstore *ps)
{
	int r;

	ps->current_area = 0;
	ps->current_committed = 0;
	ps->st.next_free = SNAP_MIN_CHUNKS;
	memset(ps->area, 0, snap_pstore_chunk_bytes(ps));
	r = snap_pstore_zero_chunk(ps, snap_area_location(ps, 0));
	if (r)
		return r;
	ps->valid = true;
	return snap_pstore_write_header(ps, true);
}

static bool snap_pstore_new_chunk_valid(struct snap_pstore *ps,
					snap_chunk_t new_chunk)
{
	return new_chunk && new_chunk < snap_store_cow_chunks(&ps->st) &&
	       !snap_chunk_is_area(ps, new_chunk);
}

static void snap_pstore_report_corrupt(snap_chunk_t area, u32 index,
				       snap_chunk_t old_chunk,
				       snap_chunk_t new_chunk)
{
	pr_err(SNAP_PREFIX "corrupt store: exception %llu -> %llu at %u of area %llu\n",
	       (unsigned long long)old_chunk, (unsigned long long)new_chunk,
	       index, (unsigned long long)area);
}

/* Reads area into ps->area, lists its exceptions; how many it holds. */
static int snap_pstore_read_area(struct snap_pstore *ps, snap_chunk_t area)
{
	struct snap_store *st = &ps->st;
	snap_chunk_t where = snap_area_location(ps, area);
	u32 i;
	int r;

	if (where >= snap_store_cow_chunks(st)) {
		pr_err(SNAP_PREFIX "corrupt store: metadata area %llu lies beyond the COW device\n",
		       (unsigned long long)area);
		return -EINVAL;
	}
	r = snap_pstore_chunk_io(ps, ps->area, where, REQ_OP_READ | REQ_SYNC);
	if (r)
		return r;

	for (i = 0; i < ps->exceptions_per_area; i++) {
		struct snap_disk_exception *de = snap_area_entry(ps->area, i);
		snap_chunk_t old_chunk = le64_to_cpu(de->old_chunk);
		snap_chunk_t new_chunk = le64_to_cpu(de->new_chunk);

		if (!new_chunk)
			break;
		if (!snap_pstore_new_chunk_valid(ps, new_chunk)) {
			snap_pstore_report_corrupt(area, i, old_chunk, new_chunk);
			return -EINVAL;
		}
		r = snap_store_load_exception(st, old_chunk, new_chunk);
		if (r)
			return r;
		if (st->next_free <= new_chunk)
			st->next_free = new_chunk + 1;
	}
	return i;
}

static int snap_pstore_read_areas(struct snap_pstore *ps)
{
	struct snap_store *st = &ps->st;
	snap_chunk_t area;
	int r;

	st->next_free = SNAP_MIN_CHUNKS;
	for (area = 0;; area++) {
		r = snap_pstore_read_area(ps, area);
		if (r < 0)
			return r;
		if (r < ps->exceptions_per_area)
			break;
	}
	ps->current_area = area;
	ps->current_committed = r;
	if (snap_chunk_is_area(ps, st->next_free))
		st->next_free++;
	return 0;
}

/*
 * Another table may have written the COW device since our constructor:
 * its header is read and checked again, and must agree with the chunk
 * size this store was made for.  Nothing changes when it does not.
 */
static int snap_pstore_load(struct snap_store *st)
{
	struct snap_pstore *ps = snap_pstore_of(st);
	struct snap_header_info info;
	const char *error;
	int r;

	r = snap_pstore_read_header(ps, &info, &error);
	if (r) {
		pr_err(SNAP_PREFIX "%s\n", error);
		return r;
	}
	if (!info.fresh && info.chunk_size != st->chunk_size) {
		pr_err(SNAP_PREFIX "chunk size %u on disk is not the table's %u\n",
		       info.chunk_size, st->chunk_size);
		return -EINVAL;
	}
	if (info.fresh)
		return snap_pstore_format(ps);
	ps->valid = info.valid;
	if (!ps->valid)
		return 1;
	return snap_pstore_read_areas(ps);
}

/* st->lock held. */
static int snap_pstore_prepare(struct snap_store *st, snap_chunk_t *new_chunk)
{
	struct snap_pstore *ps = snap_pstore_of(st);

	if (st->next_free >= snap_store_cow_chunks(st))
		return -ENOSPC;
	*new_chunk = st->next_free++;
	if (snap_chunk_is_area(ps, st->next_free))
		st->next_free++;
	return 0;
}

/*
 * Writes the blocks of the current area that hold entries first to
 * last: the rest of it is on disk already, as it is in memory.  The
 * unit is a page (the buffer is vmalloc'd page by page) or the device's
 * block, if larger, and never more than the whole area.
 */
static int snap_pstore_write_entries(struct snap_pstore *ps, u32 first,
				     u32 last)
{
	size_t area_bytes = snap_pstore_chunk_bytes(ps);
	size_t unit = max_t(size_t, PAGE_SIZE,
			    bdev_logical_block_size(ps->st.cow));
	size_t start, end;
	sector_t where;

	unit = min(unit, area_bytes);
	start = round_down(first * sizeof(struct snap_disk_exception), unit);
	end = round_up((last + 1) * sizeof(struct snap_disk_exception), unit);
	where = snap_chunk_to_sector(snap_area_location(ps, ps->current_area),
				     ps->st.chunk_shift);
	return snap_pstore_io(ps, where + (start >> SECTOR_SHIFT), end - start,
			      ps->area + start, end - start,
			      REQ_OP_WRITE | REQ_PREFLUSH | REQ_FUA | REQ_SYNC);
}

static int snap_pstore_write_batch(struct snap_pstore *ps,
				   struct list_head *batch)
{
	u32 first = ps->current_committed;
	struct snap_store_commit *c;
	int r;

	list_for_each_entry(c, batch, node) {
		struct snap_disk_exception *de;

		de = snap_area_entry(ps->area, ps->current_committed++);
		de->old_chunk = cpu_to_le64(c->old_chunk);
		de->new_chunk = cpu_to_le64(c->new_chunk);
	}

	/* A full area is followed by a zeroed one before anyone can look. */
	if (ps->current_committed == ps->exceptions_per_area) {
		r = snap_pstore_zero_chunk(ps, snap_area_location(ps,
							 ps->current_area + 1));
		if (r)
			return r;
	}
	r = snap_pstore_write_entries(ps, first, ps->current_committed - 1);
	if (r)
		return r;

	if (ps->current_committed == ps->exceptions_per_area) {
		ps->current_area++;
		ps->current_committed = 0;
		memset(ps->area, 0, snap_pstore_chunk_bytes(ps));
	}
	return 0;
}

/* Takes what fits in the current area off the commit queue. */
static void snap_pstore_take_batch(struct snap_pstore *ps,
				   struct list_head *batch)
{
	u32 room = ps->exceptions_per_area - ps->current_committed;
	struct snap_store_commit *c, *tmp;

	spin_lock_irq(&ps->commit_lock);
	list_for_each_entry_safe(c, tmp, &ps->commit_queue, node) {
		if (!room--)
			break;
		list_move_tail(&c->node, batch);
	}
	spin_unlock_irq(&ps->commit_lock);
}

static void snap_pstore_commit_work(struct work_struct *work)
{
	struct snap_pstore *ps = container_of(work, struct snap_pstore,
					      commit_work);
	struct snap_store_commit *c, *tmp;
	LIST_HEAD(batch);
	int r;

	for (;;) {
		snap_pstore_take_batch(ps, &batch);
		if (list_empty(&batch))
			return;
		r = -EIO;
		if (READ_ONCE(ps->valid))
			r = snap_pstore_write_batch(ps, &batch);
		if (r)
			WRITE_ONCE(ps->valid, false);
		list_for_each_entry_safe(c, tmp, &batch, node) {
			list_del(&c->node);
			snap_store_committed(&ps->st, c, r);
		}
	}
}

/* Any context: the worker writes the entries. */
static void snap_pstore_commit(struct snap_store *st,
			       struct snap_store_commit *c)
{
	struct snap_pstore *ps = snap_pstore_of(st);
	unsigned long flags;

	spin_lock_irqsave(&ps->commit_lock, flags);
	list_add_tail(&c->node, &ps->commit_queue);
	spin_unlock_irqrestore(&ps->commit_lock, flags);
	queue_work(snap_pstore_wq, &ps->commit_work);
}

static void snap_pstore_drop(struct snap_store *st)
{
	struct snap_pstore *ps = snap_pstore_of(st);

	WRITE_ONCE(ps->valid, false);
	if (snap_pstore_write_header(ps, false))
		pr_err(SNAP_PREFIX "cannot mark the snapshot invalid on disk\n");
}

/* The header and the areas up to the current one. */
static sector_t snap_pstore_metadata_sectors(struct snap_store *st)
{
	struct snap_pstore *ps = snap_pstore_of(st);

	return snap_chunk_to_sector(READ_ONCE(ps->current_area) + SNAP_MIN_CHUNKS,
				    st->chunk_shift);
}

/*
 * Makes the area before the current one current, once it is read and
 * every entry of it (it is full) checked; nothing changes otherwise.
 */
static int snap_pstore_step_back(struct snap_pstore *ps)
{
	snap_chunk_t area = ps->current_area - 1;
	u32 i;
	int r;

	r = snap_pstore_chunk_io(ps, ps->scratch, snap_area_location(ps, area),
				 REQ_OP_READ | REQ_SYNC);
	if (r)
		return r;
	for (i = 0; i < ps->exceptions_per_area; i++) {
		struct snap_disk_exception *de = snap_area_entry(ps->scratch, i);
		snap_chunk_t new_chunk = le64_to_cpu(de->new_chunk);

		if (!snap_pstore_new_chunk_valid(ps, new_chunk)) {
			snap_pstore_report_corrupt(area, i,
						   le64_to_cpu(de->old_chunk),
						   new_chunk);
			return -EINVAL;
		}
	}
	swap(ps->area, ps->scratch);
	ps->current_area = area;
	ps->current_committed = ps->exceptions_per_area;
	return 0;
}

static int snap_pstore_merge_next(struct snap_store *st,
				  struct snap_merge_entry *entries, int max)
{
	struct snap_pstore *ps = snap_pstore_of(st);
	int i, r;

	if (!ps->current_committed) {
		if (!ps->current_area)
			return 0;
		r = snap_pstore_step_back(ps);
		if (r)
			return r;
	}

	for (i = 0; i < max && i < ps->current_committed; i++) {
		u32 index = ps->current_committed - 1 - i;
		struct snap_disk_exception *de = snap_area_entry(ps->area, index);
		snap_chunk_t old_chunk = le64_to_cpu(de->old_chunk);
		snap_chunk_t new_chunk = le64_to_cpu(de->new_chunk);

		/* Never "merge" chunk 0, the header, over the origin. */
		if (!snap_pstore_new_chunk_valid(ps, new_chunk) ||
		    old_chunk >= st->origin_chunks) {
			snap_pstore_report_corrupt(ps->current_area, index,
						   old_chunk, new_chunk);
			return -EINVAL;
		}
		entries[i].old_chunk = old_chunk;
		entries[i].new_chunk = new_chunk;
	}
	return i;
}

/* The area is rewritten without the entries; put back if that fails. */
static int snap_pstore_merge_commit(struct snap_store *st,
				    const struct snap_merge_entry *entries,
				    int count)
{
	struct snap_pstore *ps = snap_pstore_of(st);
	int i, r;

	if (WARN_ON_ONCE(count > ps->current_committed))
		return -EINVAL;
	for (i = 0; i < count; i++)
		memset(snap_area_entry(ps->area, ps->current_committed - 1 - i),
		       0, sizeof(struct snap_disk_exception));
	r = snap_pstore_chunk_io(ps, ps->area,
				 snap_area_location(ps, ps->current_area),
				 REQ_OP_WRITE | REQ_PREFLUSH | REQ_FUA | REQ_SYNC);
	if (r) {
		for (i = 0; i < count; i++) {
			struct snap_disk_exception *de;

			de = snap_area_entry(ps->area, ps->current_committed - 1 - i);
			de->old_chunk = cpu_to_le64(entries[i].old_chunk);
			de->new_chunk = cpu_to_le64(entries[i].new_chunk);
		}
		return r;
	}

	ps->current_committed -= count;
	for (i = 0; i < count; i++)
		snap_store_forget(st, entries[i].old_chunk);
	/* Only the status reads this now: no exception is added while merging. */
	spin_lock(&st->lock);
	WRITE_ONCE(st->next_free, snap_area_location(ps, ps->current_area) +
				  SNAP_AREA_CHUNKS + ps->current_committed);
	spin_unlock(&st->lock);
	return 0;
}

static void snap_pstore_free(struct snap_pstore *ps)
{
	snap_store_teardown(&ps->st);
	vfree(ps->scratch);
	vfree(ps->area);
	vfree(ps->header);
	kfree(ps);
}

static void snap_pstore_destroy(struct snap_store *st)
{
	struct snap_pstore *ps = snap_pstore_of(st);

	flush_work(&ps->commit_work);
	snap_pstore_free(ps);
}

static const struct snap_store_ops snap_pstore_ops = {
	.load			= snap_pstore_load,
	.prepare		= snap_pstore_prepare,
	.commit			= snap_pstore_commit,
	.commit_anywhere	= true,
	.drop			= snap_pstore_drop,
	.metadata_sectors	= snap_pstore_metadata_sectors,
	.merge_next		= snap_pstore_merge_next,
	.merge_commit		= snap_pstore_merge_commit,
	.destroy		= snap_pstore_destroy,
};

/*
 * The chunk size: known_chunk_size if the caller knows it (from a
 * snapshot it will take over from), else the header's, else, for a
 * fresh store, the table's or a default.
 */
static int snap_pstore_settle_chunk_size(struct snap_pstore *ps,
					 u32 table_chunk_size,
					 u32 known_chunk_size,
					 u32 *chunk_size, const char **error)
{
	struct block_device *cow = ps->st.cow;
	struct snap_header_info info;
	int r;

	*chunk_size = known_chunk_size;
	if (!known_chunk_size) {
		r = snap_pstore_read_header(ps, &info, error);
		if (r)
			return r;
		ps->valid = info.valid;
		*chunk_size = info.chunk_size;
		if (info.fresh)
			*chunk_size = table_chunk_size ?:
				max(SNAP_DEFAULT_CHUNK,
				    bdev_logical_block_size(cow) >> SECTOR_SHIFT);
		else if (table_chunk_size && table_chunk_size != *chunk_size)
			pr_warn(SNAP_PREFIX "chunk size %u on disk overrides %u in the table\n",
				*chunk_size, table_chunk_size);
	}
	r = snap_store_check_chunk_size(*chunk_size,
					bdev_logical_block_size(cow), error);
	if (r)
		return r;
	if (bdev_nr_sectors(cow) < (sector_t)SNAP_MIN_CHUNKS * *chunk_size) {
		*error = "COW device too small";
		return -EINVAL;
	}
	return 0;
}

struct snap_store *snap_pstore_create(struct block_device *cow,
				      u32 table_chunk_size,
				      u32 known_chunk_size,
				      const char **error)
{
	struct snap_pstore *ps;
	u32 chunk_size;
	size_t len;
	int r;

	ps = kzalloc(sizeof(*ps), GFP_KERNEL);
	if (!ps) {
		*error = "Cannot allocate exception store";
		return ERR_PTR(-ENOMEM);
	}
	ps->st.cow = cow;
	ps->valid = true;
	mutex_init(&ps->header_lock);
	spin_lock_init(&ps->commit_lock);
	INIT_LIST_HEAD(&ps->commit_queue);
	INIT_WORK(&ps->commit_work, snap_pstore_commit_work);
	r = -ENOMEM;
	ps->header = vzalloc(PAGE_SIZE);
	if (!ps->header) {
		*error = "Cannot allocate header buffer";
		goto bad;
	}

	r = snap_pstore_settle_chunk_size(ps, table_chunk_size,
					  known_chunk_size, &chunk_size, error);
	if (r)
		goto bad;
	len = (size_t)chunk_size << SECTOR_SHIFT;
	ps->exceptions_per_area = len / sizeof(struct snap_disk_exception);
	r = -ENOMEM;
	ps->area = vzalloc(len);
	ps->scratch = vzalloc(len);
	if (!ps->area || !ps->scratch) {
		*error = "Cannot allocate metadata buffers";
		goto bad;
	}
	r = snap_store_setup(&ps->st, &snap_pstore_ops, SNAP_STORE_PERSISTENT,
			     cow, chunk_size);
	if (r) {
		*error = "Cannot allocate exception table";
		goto bad;
	}
	return &ps->st;

bad:
	snap_pstore_free(ps);
	return ERR_PTR(r);
}

int snap_pstore_init(void)
{
	snap_pstore_wq = alloc_workqueue("kdmx-snapstore", WQ_MEM_RECLAIM, 0);
	return snap_pstore_wq ? 0 : -ENOMEM;
}

void snap_pstore_exit(void)
{
	destroy_workqueue(snap_pstore_wq);
}
