// SPDX-License-Identifier: GPL-2.0
/*
 * Copy-on-write for the snapshot targets: pending exceptions from their
 * creation to their completion, for origin writes (the origin's side,
 * called under the origin's lock) and for snapshot writes (from the
 * snapshot's worker); and how a snapshot is lost when its COW device
 * fills up or fails.
 *
 * A pending exception is created with its COW chunk under the
 * snapshot's lock, started once no lock is held (copied from the origin
 * by the copy engine, or written whole by a snapshot write covering
 * it), committed by the store, and then completed: the exception goes
 * into the table, reads already sent to the origin for the chunk are
 * waited for, and the bios held on it go.
 */
#include <linux/slab.h>

#include "dmx-snap.h"

static void snapshot_copy_done(int error, void *context);

/* Chunks of [sector, sector + len) that s covers; false if none. */
static bool snapshot_chunk_range(struct snapshot *s, sector_t sector,
				 sector_t len, snap_chunk_t *first,
				 snap_chunk_t *last)
{
	sector_t end = min(sector + len, s->ti->begin + s->ti->len);

	if (!len || sector >= end)
		return false;
	*first = snap_sector_to_chunk(s->store, sector);
	*last = snap_sector_to_chunk(s->store, end - 1);
	return true;
}

void snapshot_remap_to_cow(struct snapshot *s, struct bio *bio,
			   struct snap_exception *e)
{
	sector_t offset = bio->bi_iter.bi_sector & (s->store->chunk_size - 1);

	bio_set_dev(bio, s->cow->bdev);
	bio->bi_iter.bi_sector = snap_chunk_to_sector(s->store, e->new_chunk) +
				 offset;
}

/* Invalidation. */

static void snapshot_report_invalid(struct snapshot *s, int error)
{
	if (error == -ENOSPC)
		pr_err(SNAP_PREFIX "invalidating snapshot: COW device full\n");
	else if (error == -ENOMEM)
		pr_err(SNAP_PREFIX "invalidating snapshot: out of memory\n");
	else
		pr_err(SNAP_PREFIX "invalidating snapshot: I/O error (%d)\n",
		       error);
}

/* s is marked invalid already: say why, on disk and to userland. */
static void snapshot_publish_invalid(struct snapshot *s, int error)
{
	snapshot_report_invalid(s, error);
	snap_store_drop(s->store);
	dmx_target_event(s->ti);
}

/* Process context: the header is rewritten here and now. */
void snapshot_invalidate(struct snapshot *s, int error)
{
	bool was_valid;

	spin_lock(&s->lock);
	was_valid = s->valid;
	s->valid = false;
	spin_unlock(&s->lock);
	if (was_valid)
		snapshot_publish_invalid(s, error);
}

/* The origin writes that filled the COW go on once the header says so. */
void snapshot_drop_work(struct work_struct *work)
{
	struct snapshot *s = container_of(work, struct snapshot, drop_work);
	struct bio_list bios;

	snapshot_publish_invalid(s, -ENOSPC);

	spin_lock(&s->lock);
	bios = s->drop_bios;
	bio_list_init(&s->drop_bios);
	spin_unlock(&s->lock);
	snap_origin_requeue(s->o, &bios);
}

/*
 * No room left for a copy an origin write needs: the snapshot is lost.
 * s->lock held, so the header is rewritten from a worker, and the
 * write, if given, waits for that.
 */
static void snapshot_invalidate_full(struct snapshot *s, struct bio **bio)
{
	if (*bio) {
		bio_list_add(&s->drop_bios, *bio);
		*bio = NULL;
	}
	if (!s->valid)
		return;
	s->valid = false;
	queue_work(snap_meta_wq, &s->drop_work);
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

/* s->lock held. */
struct snap_pending *snapshot_find_pending(struct snapshot *s,
					   snap_chunk_t chunk)
{
	struct snap_exception *e = snap_table_lookup(&s->pending, chunk);

	return e ? container_of(e, struct snap_pending, e) : NULL;
}

/* Gives pe a COW chunk and lists it; s->lock held. */
static int snapshot_init_pending(struct snapshot *s, struct snap_pending *pe,
				 snap_chunk_t chunk)
{
	int r;

	r = snap_store_alloc_chunk(s->store, &pe->e.new_chunk);
	if (r)
		return r;
	pe->e.old_chunk = chunk;
	pe->snap = s;
	bio_list_init(&pe->origin_bios);
	bio_list_init(&pe->snap_bios);
	pe->full_bio = NULL;
	pe->error = 0;
	INIT_LIST_HEAD(&pe->node);
	snap_table_insert(&s->pending, &pe->e);
	atomic_inc(&s->nr_pending);
	return 0;
}

static void snapshot_free_pending(struct snapshot *s, struct snap_pending *pe)
{
	snap_pending_free(&s->pending_pool, pe);
	if (atomic_dec_and_test(&s->nr_pending))
		wake_up(&s->pending_wait);
}

static void snapshot_full_bio_work(struct work_struct *work)
{
	struct snap_pending *pe = container_of(work, struct snap_pending, work);

	snap_store_commit(pe->snap->store, pe);
}

static void snapshot_full_bio_end_io(struct bio *bio)
{
	struct snap_pending *pe = bio->bi_private;

	pe->error = blk_status_to_errno(bio->bi_status);
	INIT_WORK(&pe->work, snapshot_full_bio_work);
	queue_work(snap_meta_wq, &pe->work);
}

static void snapshot_start_copy(struct snap_pending *pe)
{
	struct snapshot *s = pe->snap;
	struct snap_store *st = s->store;
	sector_t from = snap_chunk_to_sector(st, pe->e.old_chunk);
	sector_t origin_size = bdev_nr_sectors(s->origin->bdev);
	sector_t count = 0;

	if (pe->full_bio) {
		submit_bio_noacct(pe->full_bio);
		return;
	}
	/* The last chunk may reach past the end of the origin. */
	if (from < origin_size)
		count = min_t(sector_t, st->chunk_size, origin_size - from);
	snap_copy(s->copier, s->origin->bdev, from, s->cow->bdev,
		  snap_chunk_to_sector(st, pe->e.new_chunk), count,
		  snapshot_copy_done, pe);
}

/* Starts what snapshot_prepare_overwrite() queued; no lock held. */
void snapshot_start_copies(struct list_head *start)
{
	struct snap_pending *pe, *tmp;

	list_for_each_entry_safe(pe, tmp, start, node) {
		list_del_init(&pe->node);
		snapshot_start_copy(pe);
	}
}

static void snapshot_copy_done(int error, void *context)
{
	struct snap_pending *pe = context;

	pe->error = error;
	snap_store_commit(pe->snap->store, pe);
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
		snapshot_remap_to_cow(s, bio, &pe->e);
		submit_bio_noacct(bio);
	}
}

/*
 * The store has made pe's exception durable (or failed to).  Process
 * context.  The completed exception goes in first, so new reads of the
 * chunk go to the COW device; reads already sent to the origin are
 * waited for; only then is pe removed, which lets origin writes to the
 * chunk through.
 */
void snap_pending_committed(struct snap_pending *pe, int error)
{
	struct snapshot *s = pe->snap;
	struct snap_exception *e = NULL;
	struct bio_list origin_bios, snap_bios;
	struct bio *full_bio;

	if (!error) {
		e = snap_exception_alloc(GFP_NOIO);
		if (!e)
			error = -ENOMEM;
	}
	if (error)
		snapshot_invalidate(s, error);

	spin_lock(&s->lock);
	if (!error && !s->valid)
		error = -EIO;
	if (!error) {
		e->old_chunk = pe->e.old_chunk;
		e->new_chunk = pe->e.new_chunk;
		snap_table_insert(&s->complete, e);
		e = NULL;
	}
	spin_unlock(&s->lock);
	if (e)
		snap_exception_free(e);

	if (!error)
		snap_track_wait(&s->tracker, pe->e.old_chunk);

	spin_lock(&s->lock);
	snap_table_remove(&pe->e);
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
	snap_origin_release(s->o, &origin_bios);
	snapshot_free_pending(s, pe);
}

/* The origin's side: called with the origin's lock held. */

/* True if the origin may overwrite the range without a copy for s. */
bool snapshot_has_copies(struct snapshot *s, sector_t sector, sector_t len)
{
	snap_chunk_t chunk, first, last;
	bool copied = true;

	spin_lock(&s->lock);
	if (s->life == SNAP_STARTING) {
		copied = false;
	} else if (s->life == SNAP_ACTIVE && s->valid && !s->merge &&
		   snapshot_chunk_range(s, sector, len, &first, &last)) {
		for (chunk = first; chunk <= last; chunk++) {
			if (snap_table_lookup(&s->pending, chunk) ||
			    !snap_table_lookup(&s->complete, chunk)) {
				copied = false;
				break;
			}
		}
	}
	spin_unlock(&s->lock);
	return copied;
}

/*
 * Makes sure s will hold a copy of every chunk of the range before the
 * origin changes: creates the pending exceptions missing (onto start,
 * for the caller to start once unlocked) and hands *bio, if any, to
 * the last one it must wait for, or parks it while s is starting.
 * Returns 1 if there is something to wait for, 0 if not, -EAGAIN if
 * out of pending exceptions.
 */
int snapshot_prepare_overwrite(struct snapshot *s, sector_t sector,
			       sector_t len, struct bio **bio,
			       struct list_head *start)
{
	struct snap_pending *pe, *wait_on = NULL;
	snap_chunk_t chunk, first, last;
	int r = 0;

	spin_lock(&s->lock);
	if (s->life == SNAP_STARTING) {
		if (*bio) {
			bio_list_add(&s->parked, *bio);
			*bio = NULL;
		}
		r = 1;
		goto out;
	}
	if (s->life != SNAP_ACTIVE || !s->valid || s->merge ||
	    !snapshot_chunk_range(s, sector, len, &first, &last))
		goto out;

	for (chunk = first; chunk <= last; chunk++) {
		pe = snapshot_find_pending(s, chunk);
		if (!pe) {
			if (snap_table_lookup(&s->complete, chunk))
				continue;
			pe = snap_pending_alloc(&s->pending_pool, GFP_NOWAIT);
			if (!pe) {
				r = -EAGAIN;
				break;
			}
			if (snapshot_init_pending(s, pe, chunk)) {
				snap_pending_free(&s->pending_pool, pe);
				snapshot_invalidate_full(s, bio);
				r = *bio ? 0 : 1;
				goto out;
			}
			list_add_tail(&pe->node, start);
		}
		wait_on = pe;
		r = 1;
	}
	if (wait_on && *bio) {
		bio_list_add(&wait_on->origin_bios, *bio);
		*bio = NULL;
	}
out:
	spin_unlock(&s->lock);
	return r;
}

/* Snapshot writes that need a new pending exception. */

static bool snapshot_bio_covers_chunk(struct snapshot *s, struct bio *bio)
{
	u32 chunk_size = s->store->chunk_size;

	return !(bio->bi_iter.bi_sector & (chunk_size - 1)) &&
	       bio->bi_iter.bi_size == chunk_size << SECTOR_SHIFT;
}

static void snapshot_write_slow(struct snapshot *s, struct bio *bio)
{
	struct snap_pending *pe, *new_pe;
	struct snap_exception *e;
	snap_chunk_t chunk;

	new_pe = snap_pending_alloc(&s->pending_pool, GFP_NOIO);

	spin_lock(&s->lock);
	if (s->life != SNAP_ACTIVE || !s->valid || s->overflowed)
		goto fail;
	chunk = snap_sector_to_chunk(s->store, bio->bi_iter.bi_sector);
	e = snap_table_lookup(&s->complete, chunk);
	if (e) {
		snapshot_remap_to_cow(s, bio, e);
		spin_unlock(&s->lock);
		snap_pending_free(&s->pending_pool, new_pe);
		submit_bio_noacct(bio);
		return;
	}
	pe = snapshot_find_pending(s, chunk);
	if (pe) {
		bio_list_add(&pe->snap_bios, bio);
		spin_unlock(&s->lock);
		snap_pending_free(&s->pending_pool, new_pe);
		return;
	}
	if (snapshot_init_pending(s, new_pe, chunk)) {
		spin_unlock(&s->lock);
		snap_pending_free(&s->pending_pool, new_pe);
		snapshot_cow_full(s);
		bio_io_error(bio);
		return;
	}
	pe = new_pe;
	if (snapshot_bio_covers_chunk(s, bio)) {
		/* The write is the copy: no need to read the origin. */
		pe->full_bio = bio;
		pe->full_bio_end_io = bio->bi_end_io;
		pe->full_bio_private = bio->bi_private;
		snapshot_remap_to_cow(s, bio, &pe->e);
		bio->bi_end_io = snapshot_full_bio_end_io;
		bio->bi_private = pe;
	} else {
		bio_list_add(&pe->snap_bios, bio);
	}
	spin_unlock(&s->lock);
	snapshot_start_copy(pe);
	return;

fail:
	spin_unlock(&s->lock);
	snap_pending_free(&s->pending_pool, new_pe);
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
