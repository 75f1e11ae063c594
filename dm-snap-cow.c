// SPDX-License-Identifier: GPL-2.0
/*
 * Copy-on-write for the snapshot targets: pending exceptions from their
 * creation to their completion, for origin writes (the origin's side,
 * called under the origin's lock, include/dmx-snap-cow.h) and for
 * snapshot writes (from the snapshot's worker); and how a snapshot is
 * lost when its COW device fills up or fails.
 *
 * A pending exception is allocated where that may sleep, then given
 * its COW chunk under the snapshot's lock, started once no lock is held
 * (copied from the origin by the copy engine, or written whole by a
 * snapshot write covering it), recorded by the store, and completed:
 * reads already sent to the origin for the chunk are waited for, and
 * the bios held on it go.  The allocation comes from a reserve shared
 * by every snapshot, and whoever waits for one has started every one
 * it took before, so the reserve is always given back.
 *
 * The copies one decision makes of the same origin chunk for several
 * snapshots with the same chunk size are one job of the copy engine:
 * the chunk is read once and written to each COW device.
 */
#include <linux/blkdev.h>
#include <linux/mempool.h>
#include <linux/slab.h>
#include <linux/wait_bit.h>

#include "dmx-snapshot.h"

/* Pending exceptions kept in reserve for every snapshot together. */
#define SNAP_PENDING_RESERVE	64

struct snap_pending {
	struct snap_chunk_node node;	/* in s->pending; chunk: old_chunk */
	struct snapshot *snap;
	snap_chunk_t new_chunk;
	struct bio_list origin_bios;	/* origin writes to release */
	struct bio_list snap_bios;	/* snapshot writes to remap */
	struct bio *full_bio;		/* a write covering the chunk: the copy */
	bio_end_io_t *full_bio_end_io;
	void *full_bio_private;
	int error;
	/*
	 * On a batch's start list, or once started, in the ring of the
	 * pending exceptions sharing its copy.
	 */
	struct list_head start_node;
	struct snap_store_commit commit;
	struct work_struct work;
};

static struct kmem_cache *snap_pending_cache;
static mempool_t snap_pending_pool;

/*
 * Snapshot writes that need a new exception, completions of snapshot
 * writes that were the copy, and header rewrites of lost snapshots.
 */
static struct workqueue_struct *snap_cow_wq;

static void snapshot_start_copy(struct snap_pending *pe);

/* Chunks of [sector, sector + len) that s covers; false if none. */
static bool snapshot_chunk_range(struct snapshot *s, sector_t sector,
				 sector_t len, snap_chunk_t *first,
				 snap_chunk_t *last)
{
	sector_t end = min(sector + len, s->ti->begin + s->ti->len);

	if (!len || sector >= end)
		return false;
	*first = snapshot_chunk(s, sector);
	*last = snapshot_chunk(s, end - 1);
	return true;
}

void snapshot_remap_to_cow(struct snapshot *s, struct bio *bio,
			   snap_chunk_t new_chunk)
{
	sector_t offset = bio->bi_iter.bi_sector & (s->chunk_size - 1);

	bio_set_dev(bio, s->cow->bdev);
	bio->bi_iter.bi_sector = snapshot_sector(s, new_chunk) + offset;
}

/* Invalidation. */

static void snapshot_report_invalid(int error)
{
	if (error == -ENOSPC)
		pr_err(SNAP_PREFIX "invalidating snapshot: COW device full\n");
	else if (error == -ENOMEM)
		pr_err(SNAP_PREFIX "invalidating snapshot: out of memory\n");
	else
		pr_err(SNAP_PREFIX "invalidating snapshot: I/O error (%d)\n",
		       error);
}

/*
 * s->lock held.  s is lost from now on, but origin writes wait until
 * its header says so: until then a crash would bring it back valid,
 * without the copies of what they overwrote.  False if it was lost.
 */
static bool snapshot_mark_invalid_locked(struct snapshot *s)
{
	if (!s->valid)
		return false;
	s->valid = false;
	s->dropping = true;
	return true;
}

/*
 * s is marked invalid: say why, on disk and to userland, then let the
 * origin writes go that waited for it.  Process context.
 */
static void snapshot_publish_invalid(struct snapshot *s, int error)
{
	struct bio_list bios;

	snapshot_report_invalid(error);
	snap_store_drop(s->store);
	dmx_target_event(s->ti);

	spin_lock(&s->lock);
	s->dropping = false;
	bios = s->drop_bios;
	bio_list_init(&s->drop_bios);
	spin_unlock(&s->lock);
	snap_origin_requeue(s->o, &bios);
}

/* Process context: the header is rewritten here and now. */
void snapshot_invalidate(struct snapshot *s, int error)
{
	bool was_valid;

	spin_lock(&s->lock);
	was_valid = snapshot_mark_invalid_locked(s);
	spin_unlock(&s->lock);
	if (was_valid)
		snapshot_publish_invalid(s, error);
}

void snapshot_drop_work(struct work_struct *work)
{
	struct snapshot *s = container_of(work, struct snapshot, drop_work);

	snapshot_publish_invalid(s, s->drop_error);
}

/*
 * No room left for a copy an origin write needs: s, valid until now,
 * is lost.  s->lock is held, so the header is rewritten from the
 * worker, and the write, if given, waits for that.
 */
static void snapshot_invalidate_full_locked(struct snapshot *s,
					    struct bio **bio)
{
	if (*bio) {
		bio_list_add(&s->drop_bios, *bio);
		*bio = NULL;
	}
	snapshot_mark_invalid_locked(s);
	s->drop_error = -ENOSPC;
	queue_work(snap_cow_wq, &s->drop_work);
}

/*
 * No room left for a snapshot write: it fails, and the snapshot is
 * lost, unless it is PO, which says Overflow and stays readable.
 */
static void snapshot_cow_full(struct snapshot *s)
{
	spin_lock(&s->lock);
	if (s->overflow_ok) {
		if (!s->overflowed) {
			s->overflowed = true;
			pr_err(SNAP_PREFIX "snapshot overflowed: COW device full\n");
		}
		spin_unlock(&s->lock);
		dmx_target_event(s->ti);
		return;
	}
	spin_unlock(&s->lock);
	snapshot_invalidate(s, -ENOSPC);
}

/* Pending exceptions. */

/* May sleep until another pending exception is freed. */
static struct snap_pending *snap_pending_alloc(void)
{
	return mempool_alloc(&snap_pending_pool, GFP_NOIO);
}

/* One never listed, or one whose snapshot is done with it. */
static void snap_pending_release(struct snap_pending *pe)
{
	mempool_free(pe, &snap_pending_pool);
}

/* s->lock held. */
static struct snap_pending *snapshot_find_pending(struct snapshot *s,
						  snap_chunk_t chunk)
{
	struct snap_chunk_node *node = snap_chunk_table_lookup(s->pending,
							       chunk);

	return node ? container_of(node, struct snap_pending, node) : NULL;
}

/* Gives pe a COW chunk and lists it; s->lock held.  -ENOSPC if full. */
static int snapshot_init_pending_locked(struct snapshot *s,
					struct snap_pending *pe,
					snap_chunk_t chunk)
{
	int r;

	r = snap_store_prepare(s->store, &pe->new_chunk);
	if (r)
		return r;
	pe->node.chunk = chunk;
	pe->snap = s;
	bio_list_init(&pe->origin_bios);
	bio_list_init(&pe->snap_bios);
	pe->full_bio = NULL;
	pe->error = 0;
	INIT_LIST_HEAD(&pe->start_node);
	snap_chunk_table_insert(s->pending, &pe->node);
	atomic_inc(&s->nr_pending);
	return 0;
}

/*
 * The last thing done for pe: once the count reaches zero, s may be
 * freed by a waiter at any moment, so only s's address is used after.
 */
static void snapshot_free_pending(struct snapshot *s, struct snap_pending *pe)
{
	snap_pending_release(pe);
	if (atomic_dec_and_test(&s->nr_pending))
		wake_up_var(&s->nr_pending);
}

/* Waits until every pending exception of s is freed. */
void snapshot_wait_for_copies(struct snapshot *s)
{
	wait_var_event(&s->nr_pending, !atomic_read(&s->nr_pending));
}

static void snapshot_release_snap_bios(struct snapshot *s,
				       struct snap_pending *pe,
				       struct bio_list *bios, int error)
{
	struct bio *bio;

	while ((bio = bio_list_pop(bios))) {
		if (error) {
			bio_io_error(bio);
			continue;
		}
		snapshot_remap_to_cow(s, bio, pe->new_chunk);
		submit_bio_noacct(bio);
	}
}

/*
 * pe's exception is recorded, and listed in the store, or it failed.
 * Process context.  Reads already sent to the origin are waited for;
 * only then is pe removed, which lets origin writes to the chunk
 * through.
 */
static void snapshot_complete_pending(struct snap_pending *pe, int error)
{
	struct snapshot *s = pe->snap;
	struct bio_list origin_bios, snap_bios;
	struct bio *full_bio;

	if (error)
		snapshot_invalidate(s, error);
	spin_lock(&s->lock);
	if (!error && !s->valid)
		error = -EIO;
	spin_unlock(&s->lock);

	if (!error)
		snap_track_wait(s->tracker, pe->node.chunk);

	spin_lock(&s->lock);
	snap_chunk_table_remove(&pe->node);
	origin_bios = pe->origin_bios;
	snap_bios = pe->snap_bios;
	spin_unlock(&s->lock);

	full_bio = pe->full_bio;
	if (full_bio) {
		full_bio->bi_end_io = pe->full_bio_end_io;
		full_bio->bi_private = pe->full_bio_private;
		if (error)
			full_bio->bi_status = BLK_STS_IOERR;
		bio_endio(full_bio);
	}
	snapshot_release_snap_bios(s, pe, &snap_bios, error);
	snap_origin_copied(s->o, &origin_bios);
	snapshot_free_pending(s, pe);
}

static void snapshot_exception_committed(struct snap_store_commit *c,
					 int error)
{
	snapshot_complete_pending(container_of(c, struct snap_pending, commit),
				  error);
}

/* The chunk is on the COW device, or failed to get there. */
static void snapshot_commit(struct snap_pending *pe)
{
	if (pe->error) {
		snapshot_complete_pending(pe, pe->error);
		return;
	}
	pe->commit.old_chunk = pe->node.chunk;
	pe->commit.new_chunk = pe->new_chunk;
	pe->commit.done = snapshot_exception_committed;
	snap_store_commit(pe->snap->store, &pe->commit);
}

/* How destination dest of a shared copy fared. */
static int snapshot_copy_error(const struct dmx_copy_result *result,
			       unsigned int dest)
{
	if (!result->error)
		return 0;
	if (result->read_failed || !result->write_failed ||
	    test_bit(dest, &result->write_failed))
		return result->error;
	return 0;
}

/*
 * context is the first of the ring of pending exceptions the copy was
 * for, destination 0, the others following in order.  Each commit may
 * free its pending exception, so each leaves the ring before.
 */
static void snapshot_copy_done(const struct dmx_copy_result *result,
			       void *context)
{
	struct snap_pending *first = context, *pe, *tmp;
	unsigned int dest = 1;

	list_for_each_entry_safe(pe, tmp, &first->start_node, start_node) {
		list_del_init(&pe->start_node);
		pe->error = snapshot_copy_error(result, dest++);
		snapshot_commit(pe);
	}
	first->error = snapshot_copy_error(result, 0);
	snapshot_commit(first);
}

static void snapshot_full_bio_work(struct work_struct *work)
{
	snapshot_commit(container_of(work, struct snap_pending, work));
}

/* Straight to the store if it takes commits here, else via the worker. */
static void snapshot_full_bio_end_io(struct bio *bio)
{
	struct snap_pending *pe = bio->bi_private;

	pe->error = blk_status_to_errno(bio->bi_status);
	if (!pe->error && snap_store_commits_anywhere(pe->snap->store)) {
		snapshot_commit(pe);
		return;
	}
	INIT_WORK(&pe->work, snapshot_full_bio_work);
	queue_work(snap_cow_wq, &pe->work);
}

static void snapshot_cow_region(struct snap_pending *pe,
				struct dmx_copy_region *to)
{
	to->bdev = pe->snap->cow->bdev;
	to->sector = snapshot_sector(pe->snap, pe->new_chunk);
}

/*
 * Copies pe's chunk from the origin, once for pe and every pending
 * exception in its ring (start_node), which are for the same origin
 * sectors and chunk size; through the copier of pe's store.
 */
static bool snapshot_try_copy(struct snap_pending *pe, bool may_sleep)
{
	struct snapshot *s = pe->snap;
	struct dmx_copy_region from = {
		.bdev = s->origin->bdev,
		.sector = snapshot_sector(s, pe->node.chunk),
	};
	struct dmx_copy_region to[DMX_COPY_MAX_DESTS];
	sector_t origin_size = bdev_nr_sectors(s->origin->bdev);
	struct snap_pending *other;
	unsigned int nr_to = 1;
	sector_t count = 0;

	if (pe->full_bio) {
		submit_bio_noacct(pe->full_bio);
		return true;
	}
	snapshot_cow_region(pe, &to[0]);
	list_for_each_entry(other, &pe->start_node, start_node)
		snapshot_cow_region(other, &to[nr_to++]);
	/* The last chunk may reach past the end of the origin. */
	if (from.sector < origin_size)
		count = min_t(sector_t, s->chunk_size, origin_size - from.sector);
	if (!may_sleep)
		return dmx_copy_nowait(snap_store_copier(s->store), &from,
				       &to[0], nr_to, count, snapshot_copy_done,
				       pe);
	dmx_copy(snap_store_copier(s->store), &from, &to[0], nr_to, count,
		 snapshot_copy_done, pe);
	return true;
}

static void snapshot_start_copy(struct snap_pending *pe)
{
	snapshot_try_copy(pe, true);
}

/* Batches of the origin's decisions. */

void snap_cow_batch_init(struct snap_cow_batch *b)
{
	INIT_LIST_HEAD(&b->start);
	b->spare = NULL;
}

/*
 * A spare pending exception for the next decision; no lock held.  One
 * to be had at once leaves the batch's copies unstarted, so that the
 * next decision can add to them; else they are started first, and the
 * wait for one ends, as every one taken before is started.
 */
void snap_cow_batch_refill(struct snap_cow_batch *b)
{
	if (snap_cow_batch_refill_nowait(b))
		return;
	snap_cow_batch_start(b);
	b->spare = snap_pending_alloc();
}

/* A spare if one can be had at once; false if not.  Any context. */
bool snap_cow_batch_refill_nowait(struct snap_cow_batch *b)
{
	if (!b->spare)
		b->spare = mempool_alloc(&snap_pending_pool, GFP_NOWAIT);
	return b->spare;
}

/* True if a and b may share one copy: the same origin sectors. */
static bool snapshot_may_share_copy(struct snap_pending *a,
				    struct snap_pending *b)
{
	return a->snap->origin->bdev == b->snap->origin->bdev &&
	       a->snap->chunk_size == b->snap->chunk_size &&
	       a->node.chunk == b->node.chunk && !a->full_bio && !b->full_bio;
}

/*
 * Takes the first pending exception off the start list, with those
 * that may share its copy, up to one copy's destinations, in its ring.
 */
static struct snap_pending *snap_cow_batch_take_copy(struct snap_cow_batch *b)
{
	struct snap_pending *first, *pe, *tmp;
	unsigned int nr = 1;

	first = list_first_entry(&b->start, struct snap_pending, start_node);
	list_del_init(&first->start_node);
	list_for_each_entry_safe(pe, tmp, &b->start, start_node) {
		if (nr == DMX_COPY_MAX_DESTS)
			break;
		if (!snapshot_may_share_copy(first, pe))
			continue;
		list_move_tail(&pe->start_node, &first->start_node);
		nr++;
	}
	return first;
}

/* Starts the copies the decisions made; no lock held. */
void snap_cow_batch_start(struct snap_cow_batch *b)
{
	while (!list_empty(&b->start))
		snapshot_start_copy(snap_cow_batch_take_copy(b));
}

/*
 * Starts the copies that can be without sleeping; false if some are
 * left on b, in order, for snap_cow_batch_start() from where it may.
 */
bool snap_cow_batch_start_nowait(struct snap_cow_batch *b)
{
	struct snap_pending *first;

	while (!list_empty(&b->start)) {
		first = snap_cow_batch_take_copy(b);
		if (!snapshot_try_copy(first, false)) {
			/* The ring goes back as it was taken. */
			list_splice_init(&first->start_node, &b->start);
			list_add(&first->start_node, &b->start);
			return false;
		}
	}
	return true;
}

/* Moves the copies on from, not started, to the end of to's. */
void snap_cow_batch_move(struct snap_cow_batch *to, struct snap_cow_batch *from)
{
	list_splice_tail_init(&from->start, &to->start);
}

void snap_cow_batch_exit(struct snap_cow_batch *b)
{
	if (b->spare)
		snap_pending_release(b->spare);
	b->spare = NULL;
}

/* The origin's side: called with the origin's lock held. */

/* Holds *bio, if any, on list: it goes round again from there. */
static void snapshot_hold_locked(struct bio_list *list, struct bio **bio)
{
	if (*bio) {
		bio_list_add(list, *bio);
		*bio = NULL;
	}
}

/*
 * Makes sure s will hold a copy of every chunk of the range before the
 * origin changes: creates the pending exceptions missing, from b's
 * spare, onto b's start list, and hands *bio, if any, to the last one
 * it must wait for, or holds it while s starts or is being lost.
 */
enum snap_cow_need snapshot_prepare_overwrite(struct snapshot *s,
					      sector_t sector, sector_t len,
					      struct bio **bio,
					      struct snap_cow_batch *b)
{
	struct snap_pending *pe, *wait_on = NULL;
	enum snap_cow_need need = SNAP_COW_CLEAR;
	snap_chunk_t chunk, first, last, new_chunk;

	spin_lock(&s->lock);
	if (s->life == SNAP_STARTING || s->dropping) {
		snapshot_hold_locked(s->dropping ? &s->drop_bios : &s->parked,
				     bio);
		need = SNAP_COW_WAIT;
		goto out;
	}
	if (s->life != SNAP_ACTIVE || !s->valid || s->merge ||
	    !snapshot_chunk_range(s, sector, len, &first, &last))
		goto out;

	for (chunk = first; chunk <= last; chunk++) {
		pe = snapshot_find_pending(s, chunk);
		if (!pe) {
			if (snap_store_lookup(s->store, chunk, &new_chunk))
				continue;
			if (!b->spare) {
				need = SNAP_COW_NEED_SPARE;
				goto out;
			}
			if (snapshot_init_pending_locked(s, b->spare, chunk)) {
				snapshot_invalidate_full_locked(s, bio);
				need = SNAP_COW_WAIT;
				goto out;
			}
			pe = b->spare;
			b->spare = NULL;
			list_add_tail(&pe->start_node, &b->start);
		}
		wait_on = pe;
		need = SNAP_COW_WAIT;
	}
	if (wait_on)
		snapshot_hold_locked(&wait_on->origin_bios, bio);
out:
	spin_unlock(&s->lock);
	return need;
}

/* The origin's lock held, as for the three below. */
void snapshot_retire_locked(struct snapshot *s)
{
	spin_lock(&s->lock);
	s->life = SNAP_RETIRED;
	spin_unlock(&s->lock);
}

void snapshot_mark_starting_locked(struct snapshot *s)
{
	spin_lock(&s->lock);
	s->life = SNAP_STARTING;
	spin_unlock(&s->lock);
}

/* Active from now on; the writes parked on s go onto parked. */
void snapshot_activate_locked(struct snapshot *s, struct bio_list *parked)
{
	spin_lock(&s->lock);
	s->life = SNAP_ACTIVE;
	bio_list_merge(parked, &s->parked);
	bio_list_init(&s->parked);
	spin_unlock(&s->lock);
}

/* Snapshot writes that need a new pending exception. */

static bool snapshot_bio_covers_chunk(struct snapshot *s, struct bio *bio)
{
	return !(bio->bi_iter.bi_sector & (s->chunk_size - 1)) &&
	       bio->bi_iter.bi_size == s->chunk_size << SECTOR_SHIFT;
}

/* The write is the copy: no need to read the origin. */
static void snapshot_take_full_bio(struct snapshot *s, struct snap_pending *pe,
				   struct bio *bio)
{
	pe->full_bio = bio;
	pe->full_bio_end_io = bio->bi_end_io;
	pe->full_bio_private = bio->bi_private;
	snapshot_remap_to_cow(s, bio, pe->new_chunk);
	bio->bi_end_io = snapshot_full_bio_end_io;
	bio->bi_private = pe;
}

/*
 * Lists pe for chunk and gives it bio, as the copy itself if bio
 * covers the chunk, else to remap once the copy is recorded.  s->lock
 * held; -ENOSPC if the COW device is full.
 */
static int snapshot_pend_write_locked(struct snapshot *s,
				      struct snap_pending *pe, struct bio *bio,
				      snap_chunk_t chunk)
{
	int r = snapshot_init_pending_locked(s, pe, chunk);

	if (r)
		return r;
	if (snapshot_bio_covers_chunk(s, bio))
		snapshot_take_full_bio(s, pe, bio);
	else
		bio_list_add(&pe->snap_bios, bio);
	return 0;
}

/*
 * A snapshot write to a chunk without an exception: it waits on the
 * chunk's pending exception, or gets a new one at once if one can be
 * had without sleeping (returned: start it with snapshot_start_write()
 * once s->lock is dropped), or else goes to the worker for one.
 * s->lock held.
 */
struct snap_pending *snapshot_queue_write_locked(struct snapshot *s,
						 struct bio *bio,
						 snap_chunk_t chunk)
{
	struct snap_pending *pe = snapshot_find_pending(s, chunk);

	if (pe) {
		bio_list_add(&pe->snap_bios, bio);
		return NULL;
	}
	pe = mempool_alloc(&snap_pending_pool, GFP_NOWAIT);
	if (pe && !snapshot_pend_write_locked(s, pe, bio, chunk))
		return pe;
	/* The worker sleeps for one, or finds the COW device full. */
	if (pe)
		snap_pending_release(pe);
	bio_list_add(&s->deferred, bio);
	queue_work(snap_cow_wq, &s->write_work);
	return NULL;
}

static void snapshot_start_copy_work(struct work_struct *work)
{
	snapshot_start_copy(container_of(work, struct snap_pending, work));
}

/*
 * Starts the copy of a pending exception snapshot_queue_write_locked()
 * made; from the map call, so the worker starts it if it cannot be
 * started without sleeping.  No lock held.
 */
void snapshot_start_write(struct snap_pending *pe)
{
	if (snapshot_try_copy(pe, false))
		return;
	INIT_WORK(&pe->work, snapshot_start_copy_work);
	queue_work(snap_cow_wq, &pe->work);
}

/* new_pe, allocated before the lock was taken, is used or given back. */
static void snapshot_write_slow(struct snapshot *s, struct bio *bio)
{
	struct snap_pending *pe, *new_pe = snap_pending_alloc();
	snap_chunk_t chunk, new_chunk;

	spin_lock(&s->lock);
	if (s->life != SNAP_ACTIVE || !s->valid || s->overflowed)
		goto fail;
	chunk = snapshot_chunk(s, bio->bi_iter.bi_sector);
	if (snap_store_lookup(s->store, chunk, &new_chunk)) {
		snapshot_remap_to_cow(s, bio, new_chunk);
		spin_unlock(&s->lock);
		snap_pending_release(new_pe);
		submit_bio_noacct(bio);
		return;
	}
	pe = snapshot_find_pending(s, chunk);
	if (pe) {
		bio_list_add(&pe->snap_bios, bio);
		spin_unlock(&s->lock);
		snap_pending_release(new_pe);
		return;
	}
	if (snapshot_pend_write_locked(s, new_pe, bio, chunk)) {
		spin_unlock(&s->lock);
		snap_pending_release(new_pe);
		snapshot_cow_full(s);
		bio_io_error(bio);
		return;
	}
	spin_unlock(&s->lock);
	snapshot_start_copy(new_pe);
	return;

fail:
	spin_unlock(&s->lock);
	snap_pending_release(new_pe);
	bio_io_error(bio);
}

void snapshot_write_work(struct work_struct *work)
{
	struct snapshot *s = container_of(work, struct snapshot, write_work);
	struct bio_list bios;
	struct bio *bio;

	spin_lock(&s->lock);
	bios = s->deferred;
	bio_list_init(&s->deferred);
	spin_unlock(&s->lock);

	while ((bio = bio_list_pop(&bios)))
		snapshot_write_slow(s, bio);
}

int snapshot_cow_init(void)
{
	int r = -ENOMEM;

	snap_pending_cache = KMEM_CACHE(snap_pending, 0);
	if (!snap_pending_cache)
		return r;
	r = mempool_init_slab_pool(&snap_pending_pool, SNAP_PENDING_RESERVE,
				   snap_pending_cache);
	if (r)
		goto bad_pool;
	r = -ENOMEM;
	snap_cow_wq = alloc_workqueue("kdmx-snapcow", WQ_MEM_RECLAIM, 0);
	if (!snap_cow_wq)
		goto bad_wq;
	return 0;

bad_wq:
	mempool_exit(&snap_pending_pool);
bad_pool:
	kmem_cache_destroy(snap_pending_cache);
	return r;
}

void snapshot_cow_exit(void)
{
	destroy_workqueue(snap_cow_wq);
	mempool_exit(&snap_pending_pool);
	kmem_cache_destroy(snap_pending_cache);
}
