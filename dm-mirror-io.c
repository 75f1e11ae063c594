// SPDX-License-Identifier: GPL-2.0
/*
 * The mirror's worker: every write, flush and discard, read retries
 * and the background resync, one pass at a time in this order:
 *
 *  0. while a suspend is under way, the writes held (below) go;
 *  1. writes whose leg clones have all ended: a failed leg is marked
 *     and its region goes out of sync; the region's pending count
 *     drops, and an idle region in sync is noted for cleaning;
 *     with handle_errors a write that failed on a leg is held until
 *     the table is replaced, as in Linux (dmeventd repairs the mirror
 *     meanwhile);
 *  2. reads that failed on a leg go to another leg in sync, if any;
 *  3. resynced regions come into sync and release the writes they
 *     held (a region is never written while it is being copied);
 *  4. new writes count in their region, which is marked dirty in the
 *     log if it was clean, then one log flush for all of them, and
 *     only then does each write go to every leg at once (with
 *     handle_errors, none while the log has failed: they are held);
 *  5. regions noted in 1 or 3 are marked clean, after a cache flush of
 *     every leg when the log persists (a clean bit on disk must never
 *     cover data still in a leg's cache);
 *  6. the resync starts on the next regions out of sync, each once its
 *     writes in flight have ended.
 *
 * Region state (the log, the resync slots, the held writes and the
 * failure flags) belongs to the worker alone, so it needs no lock;
 * completions hand failed writes and reads over through the lists under
 * ms->lock.  A write that every leg took completes in its last leg's
 * completion, which drops the region's pending count and, for a
 * persistent log, notes the region for cleaning once it is idle.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>

#include "dmx-mirror.h"

static void mirror_write_legs(struct mirror_set *ms, struct bio *bio);

void mirror_wake(struct mirror_set *ms)
{
	queue_work(ms->wq, &ms->work);
}

/* Hands bio to the worker on list; any context. */
void mirror_queue(struct mirror_set *ms, struct bio_list *list,
		  struct bio *bio)
{
	unsigned long flags;

	spin_lock_irqsave(&ms->lock, flags);
	bio_list_add(list, bio);
	spin_unlock_irqrestore(&ms->lock, flags);
	mirror_wake(ms);
}

static void mirror_take(struct mirror_set *ms, struct bio_list *list,
			struct bio_list *into)
{
	spin_lock_irq(&ms->lock);
	bio_list_merge(into, list);
	bio_list_init(list);
	spin_unlock_irq(&ms->lock);
}

/*
 * A leg's first error of each kind is logged.  With handle_errors it
 * also raises an event (dmeventd repairs the mirror on it), and a failed
 * default leg hands over to a leg alive while the copies agree.
 */
void mirror_fail_leg(struct mirror_set *ms, unsigned int leg,
		     enum mirror_error type)
{
	struct mirror_leg *m = &ms->legs[leg];
	unsigned int i;

	atomic_inc(&m->error_count);
	ms->leg_failed = true;
	if (test_and_set_bit(type, &m->errors))
		return;
	pr_err(MIRROR_PREFIX "leg %s failed (%s)\n", m->dev->name,
	       type == MIRROR_ERR_FLUSH ? "flush" :
	       type == MIRROR_ERR_WRITE ? "write" :
	       type == MIRROR_ERR_SYNC ? "resync" : "read");
	if (!ms->handle_errors)
		return;
	if (leg == ms->default_leg && (ms->in_sync || ms->keep_log))
		for (i = 0; i < ms->nr_legs; i++)
			if (!atomic_read(&ms->legs[i].error_count)) {
				WRITE_ONCE(ms->default_leg, i);
				break;
			}
	dmx_target_event(ms->ti);
}

/* The default leg, or for a region in sync the first leg still alive. */
unsigned int mirror_read_leg(struct mirror_set *ms, struct bio *bio)
{
	unsigned int leg = READ_ONCE(ms->default_leg);
	unsigned int i;

	if (!mirror_leg_dead(&ms->legs[leg]) ||
	    !dmx_rlog_in_sync(ms->log, mirror_region(ms, bio)))
		return leg;
	for (i = 0; i < ms->nr_legs; i++)
		if (!mirror_leg_dead(&ms->legs[i]))
			return i;
	return leg;
}

void mirror_map_to_leg(struct mirror_set *ms, struct bio *bio,
		       unsigned int leg)
{
	struct mirror_leg *m = &ms->legs[leg];

	bio_set_dev(bio, m->dev->bdev);
	if (bio_sectors(bio))
		bio->bi_iter.bi_sector = m->offset +
			(bio->bi_iter.bi_sector - ms->ti->begin);
}

static bool mirror_counts_region(struct bio *bio)
{
	return bio_op(bio) == REQ_OP_WRITE && bio_sectors(bio);
}

/*
 * Any context; true if the region was noted.  A core log forgets
 * everything at the next activation, so its regions stay dirty:
 * cleaning them would only cost a pass of the worker per write.  The
 * worker checks the region again before it cleans it.
 */
static bool mirror_note_idle(struct mirror_set *ms, dmx_region_t region)
{
	if (!dmx_rlog_persistent(ms->log) || atomic_read(&ms->pending[region]) ||
	    !dmx_rlog_in_sync(ms->log, region) ||
	    dmx_rlog_is_clean(ms->log, region))
		return false;
	set_bit(region, ms->to_clean);
	/* The worker clears the flag before it looks at the bits. */
	smp_mb__before_atomic();
	atomic_set(&ms->any_to_clean, 1);
	return true;
}

/*
 * The pending count of a write's region drops.  From a completion, the
 * worker is woken if the region is to be cleaned or may have a resync
 * waiting for it: the fully ordered decrement and the worker's clearing
 * of the sync bit before it looks at the count pair up.
 */
static void mirror_drop_pending(struct mirror_set *ms, dmx_region_t region,
				bool from_completion)
{
	bool noted;

	if (!atomic_dec_and_test(&ms->pending[region]))
		return;
	noted = mirror_note_idle(ms, region);
	if (from_completion && (noted || !dmx_rlog_in_sync(ms->log, region)))
		mirror_wake(ms);
}

/* The write no longer counts in its region (out of sync if a leg failed). */
static void mirror_end_accounting(struct mirror_set *ms, struct bio *bio,
				  bool out_of_sync)
{
	struct mirror_io *io = dmx_per_io_data(bio);
	dmx_region_t region;

	if (!io->accounted)
		return;
	io->accounted = false;
	region = mirror_region(ms, bio);
	if (out_of_sync) {
		dmx_rlog_set_in_sync(ms->log, region, false);
		ms->in_sync = false;
	}
	mirror_drop_pending(ms, region, false);
}

/* Held writes. */

static void mirror_complete(struct mirror_set *ms, struct bio *bio,
			    blk_status_t status)
{
	struct mirror_io *io = dmx_per_io_data(bio);

	mirror_end_accounting(ms, bio, false);
	io->final = true;
	bio->bi_status = status;
	bio_endio(bio);
}

/*
 * The table is being replaced.  Linux gives held writes back to its
 * core for the next table (noflush suspend) or fails them; dmx's core
 * takes nothing back, so a write the legs alive took completes, and
 * one never tried goes to the legs now, as the next table would send
 * it.
 */
static void mirror_release(struct mirror_set *ms, struct bio *bio)
{
	struct mirror_io *io = dmx_per_io_data(bio);

	if (io->attempted)
		mirror_complete(ms, bio, BLK_STS_OK);
	else
		mirror_write_legs(ms, bio);
}

static void mirror_hold(struct mirror_set *ms, struct bio *bio)
{
	if (READ_ONCE(ms->suspending))
		mirror_release(ms, bio);
	else
		bio_list_add(&ms->holds, bio);
}

static void mirror_release_holds(struct mirror_set *ms)
{
	struct bio *bio;

	while ((bio = bio_list_pop(&ms->holds)))
		mirror_release(ms, bio);
}

static bool mirror_any_leg_alive(struct mirror_set *ms)
{
	unsigned int i;

	for (i = 0; i < ms->nr_legs; i++)
		if (!mirror_leg_dead(&ms->legs[i]))
			return true;
	return false;
}

/*
 * A write that failed on a leg, or that was not tried (see
 * mirror_held_back()), as Linux settles it: an error if no leg has it
 * or keep_log lost its log; held for userland (dmeventd's repair) with
 * handle_errors; else it stands on the legs that took it.
 */
static void mirror_settle_failed(struct mirror_set *ms, struct bio *bio)
{
	struct mirror_io *io = dmx_per_io_data(bio);
	bool lost = io->attempted ? hweight_long(io->failed) == ms->nr_legs :
				    !mirror_any_leg_alive(ms);

	if (lost || (ms->keep_log && ms->log_failed))
		mirror_complete(ms, bio, BLK_STS_IOERR);
	else if (ms->handle_errors && !ms->keep_log)
		mirror_hold(ms, bio);
	else
		mirror_complete(ms, bio, BLK_STS_OK);
}

/*
 * With handle_errors nothing is written while the log has failed (a
 * dirty mark it lost would let a crash skip the resync), nor, once a
 * leg has failed, to a region out of sync; flushes and discards count
 * as in sync.
 */
static bool mirror_held_back(struct mirror_set *ms, struct bio *bio)
{
	if (!ms->handle_errors)
		return false;
	if (!mirror_counts_region(bio) ||
	    dmx_rlog_in_sync(ms->log, mirror_region(ms, bio)))
		return ms->log_failed;
	return ms->leg_failed && !ms->keep_log;
}

/* A log that fails stays failed for this table, as in Linux. */
static void mirror_flush_log(struct mirror_set *ms)
{
	if (dmx_rlog_flush(ms->log))
		ms->log_failed = true;
}

/* 1. Writes that have ended on every leg. */

static void mirror_end_write(struct mirror_set *ms, struct bio *bio)
{
	struct mirror_io *io = dmx_per_io_data(bio);
	bool discard = bio_op(bio) == REQ_OP_DISCARD;
	unsigned int i;

	if (io->failed && !discard)
		for (i = 0; i < ms->nr_legs; i++)
			if (test_bit(i, &io->failed))
				mirror_fail_leg(ms, i, bio_sectors(bio) ?
						MIRROR_ERR_WRITE : MIRROR_ERR_FLUSH);
	mirror_end_accounting(ms, bio, io->failed);
	if (!io->failed)
		mirror_complete(ms, bio, BLK_STS_OK);
	else if (discard)
		mirror_complete(ms, bio, BLK_STS_NOTSUPP);
	else
		mirror_settle_failed(ms, bio);
}

/* 2. Read retries. */

static void mirror_retry_read(struct mirror_set *ms, struct bio *bio)
{
	struct mirror_io *io = dmx_per_io_data(bio);
	unsigned int i;

	mirror_fail_leg(ms, io->leg, MIRROR_ERR_READ);
	bio->bi_iter = io->iter;
	if (dmx_rlog_in_sync(ms->log, mirror_region(ms, bio)))
		for (i = 0; i < ms->nr_legs; i++) {
			if (test_bit(i, &io->tried) ||
			    mirror_leg_dead(&ms->legs[i]))
				continue;
			__set_bit(i, &io->tried);
			io->leg = i;
			bio->bi_status = BLK_STS_OK;
			mirror_map_to_leg(ms, bio, i);
			submit_bio_noacct(bio);
			return;
		}
	io->final = true;
	bio->bi_status = BLK_STS_IOERR;
	bio_endio(bio);
}

/* 3. and 6. The resync. */

static struct mirror_slot *mirror_slot_of(struct mirror_set *ms,
					  dmx_region_t region)
{
	unsigned int i;

	for (i = 0; i < MIRROR_RECOVERY_SLOTS; i++)
		if (ms->slots[i].state != MIRROR_SLOT_FREE &&
		    ms->slots[i].region == region)
			return &ms->slots[i];
	return NULL;
}

/* Copier context: the slot goes back to the worker. */
static void mirror_copy_done(const struct dmx_copy_result *result,
			     void *context)
{
	struct mirror_slot *slot = context;
	struct mirror_set *ms = slot->ms;

	slot->result = *result;
	/* The worker reads the result once it sees the state. */
	smp_store_release(&slot->state, MIRROR_SLOT_COPIED);
	mirror_wake(ms);
	if (atomic_dec_and_test(&ms->copies))
		wake_up(&ms->copies_wait);
}

static void mirror_finish_copy(struct mirror_set *ms, struct mirror_slot *slot,
			       struct bio_list *writes)
{
	unsigned int i;

	if (!slot->result.error) {
		dmx_rlog_set_in_sync(ms->log, slot->region, true);
		mirror_note_idle(ms, slot->region);
	} else if (slot->result.read_failed) {
		mirror_fail_leg(ms, ms->default_leg, MIRROR_ERR_READ);
	}
	for (i = 0; i < DMX_COPY_MAX_DESTS; i++)
		if (test_bit(i, &slot->result.write_failed))
			mirror_fail_leg(ms, slot->dest_leg[i], MIRROR_ERR_SYNC);
	bio_list_merge(writes, &slot->parked);
	bio_list_init(&slot->parked);
	slot->state = MIRROR_SLOT_FREE;
}

static void mirror_end_slots(struct mirror_set *ms, struct bio_list *writes)
{
	bool suspending = READ_ONCE(ms->suspending);
	unsigned int i;

	for (i = 0; i < MIRROR_RECOVERY_SLOTS; i++) {
		struct mirror_slot *slot = &ms->slots[i];

		/* Pairs with mirror_copy_done(): the result is there. */
		if (smp_load_acquire(&slot->state) == MIRROR_SLOT_COPIED) {
			mirror_finish_copy(ms, slot, writes);
		} else if (slot->state == MIRROR_SLOT_QUIESCING && suspending) {
			/* Not started: the next resume starts it again. */
			bio_list_merge(writes, &slot->parked);
			bio_list_init(&slot->parked);
			slot->state = MIRROR_SLOT_FREE;
		}
	}
}

/* Copies the region from the default leg to every other leg alive. */
static void mirror_start_copy(struct mirror_set *ms, struct mirror_slot *slot)
{
	struct dmx_copy_region to[DMX_COPY_MAX_DESTS];
	struct mirror_leg *from = &ms->legs[ms->default_leg];
	sector_t start = slot->region << ms->region_shift;
	sector_t count = min_t(sector_t, dmx_rlog_region_size(ms->log),
			       ms->ti->len - start);
	struct dmx_copy_region source = {
		.bdev = from->dev->bdev,
		.sector = from->offset + start,
	};
	unsigned int i, n = 0;

	for (i = 0; i < ms->nr_legs; i++) {
		if (i == ms->default_leg || mirror_leg_dead(&ms->legs[i]))
			continue;
		to[n].bdev = ms->legs[i].dev->bdev;
		to[n].sector = ms->legs[i].offset + start;
		slot->dest_leg[n++] = i;
	}
	slot->state = MIRROR_SLOT_COPYING;
	atomic_inc(&ms->copies);
	dmx_copy(ms->copier, &source, to, n, count, mirror_copy_done, slot);
}

/* Something to copy from and something to copy to. */
static bool mirror_can_resync(struct mirror_set *ms)
{
	unsigned int i, alive = 0;

	if (mirror_leg_dead(&ms->legs[ms->default_leg]))
		return false;
	for (i = 0; i < ms->nr_legs; i++)
		alive += !mirror_leg_dead(&ms->legs[i]);
	return alive > 1;
}

static void mirror_fill_slot(struct mirror_set *ms, struct mirror_slot *slot)
{
	dmx_region_t region;

	while (dmx_rlog_next_out_of_sync(ms->log, ms->cursor, &region)) {
		ms->cursor = region + 1;
		if (mirror_slot_of(ms, region))
			continue;
		slot->region = region;
		slot->state = MIRROR_SLOT_QUIESCING;
		return;
	}
	ms->cursor = ms->nr_regions;
}

static void mirror_all_in_sync(struct mirror_set *ms)
{
	unsigned int i;

	if (ms->in_sync || dmx_rlog_sync_count(ms->log) != ms->nr_regions)
		return;
	/* As Linux does: a mirror whole again forgets its legs' errors. */
	ms->in_sync = true;
	ms->leg_failed = false;
	for (i = 0; i < ms->nr_legs; i++) {
		ms->legs[i].errors = 0;
		atomic_set(&ms->legs[i].error_count, 0);
	}
	dmx_target_event(ms->ti);
}

static void mirror_resync(struct mirror_set *ms)
{
	unsigned int i;

	mirror_all_in_sync(ms);
	if (READ_ONCE(ms->suspending) || !mirror_can_resync(ms))
		return;
	for (i = 0; i < MIRROR_RECOVERY_SLOTS; i++) {
		struct mirror_slot *slot = &ms->slots[i];

		if (slot->state == MIRROR_SLOT_FREE)
			mirror_fill_slot(ms, slot);
		if (slot->state == MIRROR_SLOT_QUIESCING &&
		    !atomic_read(&ms->pending[slot->region]))
			mirror_start_copy(ms, slot);
	}
}

/* 4. New writes. */

static void mirror_leg_endio(struct bio *clone)
{
	struct mirror_leg_io *lio = container_of(clone, struct mirror_leg_io,
						 clone);
	struct mirror_set *ms = lio->ms;
	struct bio *parent = lio->parent;
	struct mirror_io *io = dmx_per_io_data(parent);

	if (clone->bi_status)
		set_bit(lio->leg, &io->failed);
	bio_put(clone);
	if (!atomic_dec_and_test(&io->legs_left))
		return;
	/* The worker marks failed legs and settles the write. */
	if (io->failed) {
		mirror_queue(ms, &ms->completed, parent);
		return;
	}
	if (io->accounted) {
		io->accounted = false;
		mirror_drop_pending(ms, mirror_region(ms, parent), true);
	}
	io->final = true;
	parent->bi_status = BLK_STS_OK;
	bio_endio(parent);
}

/*
 * Each clone goes down as soon as it is made: the reserve of leg_set
 * covers one write to every leg, and clones given back by completions
 * refill it, so waiting for one always ends.
 */
static void mirror_write_legs(struct mirror_set *ms, struct bio *bio)
{
	struct mirror_io *io = dmx_per_io_data(bio);
	unsigned int i;

	io->failed = 0;
	io->attempted = true;
	atomic_set(&io->legs_left, ms->nr_legs);
	for (i = 0; i < ms->nr_legs; i++) {
		struct mirror_leg *m = &ms->legs[i];
		struct mirror_leg_io *lio;
		struct bio *clone;

		clone = bio_alloc_clone(m->dev->bdev, bio, GFP_NOIO,
					&ms->leg_set);
		lio = container_of(clone, struct mirror_leg_io, clone);
		lio->ms = ms;
		lio->parent = bio;
		lio->leg = i;
		if (bio_sectors(bio))
			clone->bi_iter.bi_sector = m->offset +
				(bio->bi_iter.bi_sector - ms->ti->begin);
		clone->bi_end_io = mirror_leg_endio;
		submit_bio_noacct(clone);
	}
}

/* Parks a write to a region being copied; else counts it in. */
static void mirror_admit_write(struct mirror_set *ms, struct bio *bio,
			       struct bio_list *ready, bool *log_flush)
{
	struct mirror_io *io = dmx_per_io_data(bio);
	dmx_region_t region;
	struct mirror_slot *slot;

	io->accounted = false;
	io->attempted = false;
	io->failed = 0;
	io->final = false;
	if (mirror_counts_region(bio)) {
		region = mirror_region(ms, bio);
		slot = mirror_slot_of(ms, region);
		if (slot) {
			bio_list_add(&slot->parked, bio);
			return;
		}
		atomic_inc(&ms->pending[region]);
		io->accounted = true;
		if (dmx_rlog_is_clean(ms->log, region)) {
			dmx_rlog_mark_dirty(ms->log, region);
			*log_flush = true;
		}
	}
	bio_list_add(ready, bio);
}

/*
 * A log that cannot be written is reported (status D/F, an event);
 * without handle_errors writes go on, as the copies still agree.
 */
static void mirror_start_writes(struct mirror_set *ms, struct bio_list *writes)
{
	struct bio_list ready = BIO_EMPTY_LIST;
	bool log_flush = false;
	struct bio *bio;

	while ((bio = bio_list_pop(writes)))
		mirror_admit_write(ms, bio, &ready, &log_flush);
	if (log_flush)
		mirror_flush_log(ms);
	while ((bio = bio_list_pop(&ready))) {
		if (mirror_held_back(ms, bio))
			mirror_settle_failed(ms, bio);
		else
			mirror_write_legs(ms, bio);
	}
}

/* 5. Cleaning. */

static int mirror_flush_legs(struct mirror_set *ms)
{
	unsigned int i;
	int r = 0;

	for (i = 0; i < ms->nr_legs; i++) {
		struct bio bio;

		if (mirror_leg_dead(&ms->legs[i]))
			continue;
		bio_init(&bio, ms->legs[i].dev->bdev, NULL, 0,
			 REQ_OP_WRITE | REQ_PREFLUSH | REQ_SYNC);
		if (submit_bio_wait(&bio)) {
			mirror_fail_leg(ms, i, MIRROR_ERR_FLUSH);
			r = -EIO;
		}
		bio_uninit(&bio);
	}
	return r;
}

static void mirror_clean_regions(struct mirror_set *ms)
{
	unsigned long region;

	if (!atomic_xchg(&ms->any_to_clean, 0))
		return;
	if (mirror_flush_legs(ms)) {
		for_each_set_bit(region, ms->to_clean, ms->nr_regions)
			clear_bit(region, ms->to_clean);
		dmx_rlog_mark_all_dirty(ms->log);
		mirror_flush_log(ms);
		return;
	}
	for_each_set_bit(region, ms->to_clean, ms->nr_regions) {
		if (!test_and_clear_bit(region, ms->to_clean))
			continue;
		if (!atomic_read(&ms->pending[region]) &&
		    dmx_rlog_in_sync(ms->log, region) &&
		    !dmx_rlog_is_clean(ms->log, region))
			dmx_rlog_mark_clean(ms->log, region);
	}
	mirror_flush_log(ms);
}

void mirror_work(struct work_struct *work)
{
	struct mirror_set *ms = container_of(work, struct mirror_set, work);
	struct bio_list bios = BIO_EMPTY_LIST;
	struct bio *bio;

	if (READ_ONCE(ms->suspending))
		mirror_release_holds(ms);
	mirror_take(ms, &ms->completed, &bios);
	while ((bio = bio_list_pop(&bios)))
		mirror_end_write(ms, bio);

	mirror_take(ms, &ms->retries, &bios);
	while ((bio = bio_list_pop(&bios)))
		mirror_retry_read(ms, bio);

	mirror_end_slots(ms, &bios);
	mirror_take(ms, &ms->queued, &bios);
	mirror_start_writes(ms, &bios);

	mirror_clean_regions(ms);
	mirror_resync(ms);
}

/* Presuspend: no copy starts from now on, and those running end. */
void mirror_stop_recovery(struct mirror_set *ms)
{
	WRITE_ONCE(ms->suspending, true);
	mirror_wake(ms);
	wait_event(ms->copies_wait, !atomic_read(&ms->copies));
}
