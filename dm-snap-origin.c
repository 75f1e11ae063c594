// SPDX-License-Identifier: GPL-2.0
/*
 * Origins of snapshots: the registry of origins and the write gate
 * (include/dmx-snap-origin.h).
 *
 * A write to an origin goes straight through when every snapshot
 * listed on the origin has its copies of the range already; else each
 * snapshot makes the copies it lacks, and the write waits on one of
 * them (then on the next it still needs), or on a snapshot still
 * starting.  The decision is taken in the map call while what it needs
 * can be had without sleeping, else by the origin's worker.  The whole
 * decision is taken under the origin's lock, and a pending exception
 * it needs is allocated beforehand: a decision that runs out of them
 * is dropped, one is allocated, and the decision is taken again.
 *
 * Loading or removing a snapshot while its origin is live is safe, not
 * refused.  A snapshot joins its origin at its first resume, under the
 * origin's lock, and the origin flips to a new generation of its count
 * of writes in flight; the join then waits for the writes of the old
 * generation, the only ones that can have been let through without
 * seeing the new snapshot.  So none can land after the snapshot's
 * starting point.  A snapshot leaves in its destructor, then waits for
 * its copies in flight; origin writes waiting on those go on without
 * it.
 *
 * No lock is held across I/O that another device's resume could be
 * needed for.  The registry lock is only ever held for list changes.
 * A snapshot reading its store from the COW device holds no lock at
 * all: it has the COW device reserved on the origin instead, so no
 * other snapshot starts on it meanwhile.  The waits that go with a
 * join or a takeover (writes in flight, the predecessor's copies) are
 * made under the origin's start mutex, which only the starts and the
 * leaving of the same origin's snapshots take.
 */
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "dmx-snap-cow.h"
#include "dmx-snap-origin.h"
#include "dmx.h"

/* The count of writes in flight has two generations: old and current. */
#define SNAP_ORIGIN_GENS	2

struct snap_origin {
	struct list_head node;		/* in snap_origins */
	dev_t dev;
	unsigned int refs;		/* targets using it; registry lock */

	/*
	 * Protects the gate: members (who is listed, and each listed
	 * snapshot's life and parked bios), gen and deferred.  An origin
	 * write holds it across the whole "does any snapshot still need
	 * a copy" decision, so a snapshot joins, leaves or starts only
	 * between two decisions.  A snapshot's lock nests inside it.
	 */
	spinlock_t lock;
	struct list_head members;
	unsigned int gen;
	/* Writes let through to the origin, by the generation they saw. */
	atomic_t inflight[SNAP_ORIGIN_GENS];
	wait_queue_head_t drained;
	struct bio_list deferred;	/* writes for the worker */
	/* Copies a map call decided on but could not start: the worker's. */
	struct snap_cow_batch late;
	struct work_struct work;

	/*
	 * Serialises the joins, takeovers and leaving of the origin's
	 * snapshots, with the waits that go with them.  Taken before the
	 * registry lock.
	 */
	struct mutex start_mutex;
	/* Snapshots reading their store, their COW device reserved. */
	struct list_head loading;

	/*
	 * Moves each time what a waiting merge waits for may have
	 * changed: a copy of a listed snapshot ended, a snapshot joined,
	 * left, started or was invalidated on disk.
	 */
	atomic_t events;
	wait_queue_head_t event_wait;
};

/*
 * Protects snap_origins and each entry's refs, every change of who is
 * listed on an origin (members and loading: a snapshot reserving its
 * COW device, starting, taking over or leaving) and the snapshots'
 * suspended flags.  Listed snapshots change only with it held, so
 * holding it is enough to walk an origin's lists.  It is held for list
 * changes only, never across a wait.
 */
static DEFINE_MUTEX(snap_registry_mutex);
static LIST_HEAD(snap_origins);

/* The origins' workers: writes that need copies first. */
static struct workqueue_struct *snap_origin_wq;

static void snap_origin_work(struct work_struct *work);

void snap_registry_lock(void)
{
	mutex_lock(&snap_registry_mutex);
}

void snap_registry_unlock(void)
{
	mutex_unlock(&snap_registry_mutex);
}

static struct snap_origin *snap_origin_alloc(dev_t dev)
{
	struct snap_origin *o = kzalloc(sizeof(*o), GFP_KERNEL);
	int i;

	if (!o)
		return NULL;
	o->dev = dev;
	o->refs = 1;
	spin_lock_init(&o->lock);
	INIT_LIST_HEAD(&o->members);
	for (i = 0; i < SNAP_ORIGIN_GENS; i++)
		atomic_set(&o->inflight[i], 0);
	init_waitqueue_head(&o->drained);
	bio_list_init(&o->deferred);
	snap_cow_batch_init(&o->late);
	INIT_WORK(&o->work, snap_origin_work);
	mutex_init(&o->start_mutex);
	INIT_LIST_HEAD(&o->loading);
	atomic_set(&o->events, 0);
	init_waitqueue_head(&o->event_wait);
	return o;
}

/* The registry entry of dev, created if needed; NULL if out of memory. */
struct snap_origin *snap_origin_get(dev_t dev)
{
	struct snap_origin *o;

	mutex_lock(&snap_registry_mutex);
	list_for_each_entry(o, &snap_origins, node) {
		if (o->dev == dev) {
			o->refs++;
			goto out;
		}
	}
	o = snap_origin_alloc(dev);
	if (o)
		list_add(&o->node, &snap_origins);
out:
	mutex_unlock(&snap_registry_mutex);
	return o;
}

void snap_origin_put(struct snap_origin *o)
{
	bool last;

	mutex_lock(&snap_registry_mutex);
	last = !--o->refs;
	if (last)
		list_del(&o->node);
	mutex_unlock(&snap_registry_mutex);
	if (!last)
		return;
	/* No target uses it, so no bio can reach it any more. */
	flush_work(&o->work);
	kfree(o);
}

void snap_origin_lock_starts(struct snap_origin *o)
{
	mutex_lock(&o->start_mutex);
}

void snap_origin_unlock_starts(struct snap_origin *o)
{
	mutex_unlock(&o->start_mutex);
}

static struct snapshot *snap_origin_find_in(struct list_head *list, dev_t cow,
					    bool merging,
					    struct snapshot *except)
{
	struct snap_origin_member *m;

	list_for_each_entry(m, list, node)
		if (m->snap != except &&
		    (merging ? m->merging : m->cow_dev == cow))
			return m->snap;
	return NULL;
}

/*
 * The other snapshot listed or loading on o with COW device cow;
 * registry lock held.
 */
struct snapshot *snap_origin_find_cow(struct snap_origin *o, dev_t cow,
				      struct snapshot *except)
{
	struct snapshot *s = snap_origin_find_in(&o->members, cow, false,
						 except);

	return s ?: snap_origin_find_in(&o->loading, cow, false, except);
}

/*
 * A merging snapshot listed or loading on o, other than except;
 * registry lock held.
 */
struct snapshot *snap_origin_find_merging(struct snap_origin *o,
					  struct snapshot *except)
{
	struct snapshot *s = snap_origin_find_in(&o->members, 0, true, except);

	return s ?: snap_origin_find_in(&o->loading, 0, true, except);
}

/*
 * Reserves m's COW device while its snapshot reads its store: another
 * snapshot starting on it finds m's.  Registry lock held.
 */
void snap_origin_reserve(struct snap_origin *o, struct snap_origin_member *m)
{
	list_add_tail(&m->node, &o->loading);
}

/* Ends a reservation that did not become a join. */
void snap_origin_unreserve(struct snap_origin *o, struct snap_origin_member *m)
{
	mutex_lock(&snap_registry_mutex);
	list_del_init(&m->node);
	mutex_unlock(&snap_registry_mutex);
}

/* After the change it announces: a fully ordered increment. */
static void snap_origin_event(struct snap_origin *o)
{
	atomic_inc_return(&o->events);
	if (wq_has_sleeper(&o->event_wait))
		wake_up_all(&o->event_wait);
}

/* o->lock held. */
static void snap_origin_count(struct snap_origin *o, struct snap_origin_io *io)
{
	io->gen = o->gen;
	io->counted = true;
	atomic_inc(&o->inflight[o->gen]);
}

void snap_origin_end_write(struct snap_origin *o, struct snap_origin_io *io)
{
	if (!io->counted)
		return;
	io->counted = false;
	if (atomic_dec_and_test(&o->inflight[io->gen]) &&
	    wq_has_sleeper(&o->drained))
		wake_up(&o->drained);
}

/*
 * Lists m, whose snapshot has its store loaded and its COW device
 * reserved, on o, active, and waits until no write let through before
 * it joined is still in flight.  It turns active and listed at once,
 * under the registry lock: a snapshot seen active there is listed.
 * Start mutex held, so the flip before is drained already: every flip
 * waits for its old generation.
 */
void snap_origin_attach(struct snap_origin *o, struct snap_origin_member *m)
{
	/* Never listed starting, so no write is parked on it. */
	struct bio_list none = BIO_EMPTY_LIST;
	unsigned int old;

	lockdep_assert_held(&o->start_mutex);
	mutex_lock(&snap_registry_mutex);
	spin_lock(&o->lock);
	snapshot_activate_locked(m->snap, &none);
	list_move_tail(&m->node, &o->members);
	old = o->gen;
	o->gen = (o->gen + 1) % SNAP_ORIGIN_GENS;
	spin_unlock(&o->lock);
	mutex_unlock(&snap_registry_mutex);
	snap_origin_event(o);
	wait_event(o->drained, !atomic_read(&o->inflight[old]));
}

/* Registry lock held. */
void snap_origin_detach(struct snap_origin *o, struct snap_origin_member *m)
{
	spin_lock(&o->lock);
	list_del_init(&m->node);
	spin_unlock(&o->lock);
	snap_origin_event(o);
}

/*
 * Puts m, starting, in old's place: from now on origin writes that
 * need m's snapshot wait for it, and old's, retired, takes no new
 * copy.  Registry lock held.
 */
void snap_origin_replace(struct snap_origin *o, struct snap_origin_member *old,
			 struct snap_origin_member *m)
{
	spin_lock(&o->lock);
	snapshot_retire_locked(old->snap);
	snapshot_mark_starting_locked(m->snap);
	list_replace_init(&old->node, &m->node);
	spin_unlock(&o->lock);
	snap_origin_event(o);
}

/* m's snapshot has its state: the writes parked on it go round again. */
void snap_origin_activate(struct snap_origin *o, struct snap_origin_member *m)
{
	struct bio_list parked = BIO_EMPTY_LIST;

	spin_lock(&o->lock);
	snapshot_activate_locked(m->snap, &parked);
	bio_list_merge(&o->deferred, &parked);
	spin_unlock(&o->lock);
	queue_work(snap_origin_wq, &o->work);
	snap_origin_event(o);
}

/* Origin writes to decide on again, from the worker. */
void snap_origin_requeue(struct snap_origin *o, struct bio_list *bios)
{
	if (!bio_list_empty(bios)) {
		spin_lock(&o->lock);
		bio_list_merge(&o->deferred, bios);
		spin_unlock(&o->lock);
		queue_work(snap_origin_wq, &o->work);
	}
	snap_origin_event(o);
}

/*
 * Asks every snapshot of o to copy what it still needs of the range;
 * o->lock held.  *bio, if given, waits on what there is to wait for.
 */
static enum snap_cow_need snap_origin_scan(struct snap_origin *o,
					   sector_t sector, sector_t len,
					   struct bio **bio,
					   struct snap_cow_batch *b)
{
	enum snap_cow_need need, result = SNAP_COW_CLEAR;
	struct snap_origin_member *m;

	list_for_each_entry(m, &o->members, node) {
		need = snapshot_prepare_overwrite(m->snap, sector, len, bio, b);
		if (need == SNAP_COW_NEED_SPARE)
			return need;
		if (need == SNAP_COW_WAIT)
			result = SNAP_COW_WAIT;
	}
	return result;
}

static struct snap_origin_io *snap_origin_io_of(struct bio *bio)
{
	return dmx_per_io_data(bio);
}

/*
 * The decision again for a write a copy of o held, without a spare: it
 * goes on (added to ready) if nothing else holds it, waits on another
 * copy made already (of another snapshot, typically), or goes back to
 * the worker if it needs a new one; true for the worker.  o->lock held.
 */
static bool snap_origin_recheck_locked(struct snap_origin *o, struct bio *bio,
				       struct bio_list *ready)
{
	struct bio *waiting = bio;
	struct snap_cow_batch b;
	enum snap_cow_need need;

	snap_cow_batch_init(&b);
	need = snap_origin_scan(o, bio->bi_iter.bi_sector, bio_sectors(bio),
				&waiting, &b);
	/* Without a spare the scan made no copy: nothing to start. */
	if (!waiting)
		return false;
	if (need == SNAP_COW_CLEAR) {
		snap_origin_count(o, snap_origin_io_of(bio));
		bio_list_add(ready, bio);
		return false;
	}
	bio_list_add(&o->deferred, bio);
	return true;
}

/*
 * A copy of a snapshot of o has ended: the origin writes that waited
 * on it go on from here, or wait on the next copy they need, and only
 * a write that needs a new copy goes through the worker again.
 * Process context.
 */
void snap_origin_copied(struct snap_origin *o, struct bio_list *bios)
{
	struct bio_list ready = BIO_EMPTY_LIST;
	bool slow = false;
	struct bio *bio;

	if (!bio_list_empty(bios)) {
		spin_lock(&o->lock);
		while ((bio = bio_list_pop(bios)))
			slow |= snap_origin_recheck_locked(o, bio, &ready);
		spin_unlock(&o->lock);
	}
	if (slow)
		queue_work(snap_origin_wq, &o->work);
	snap_origin_event(o);
	while ((bio = bio_list_pop(&ready)))
		submit_bio_noacct(bio);
}

/*
 * One decision for the range of extents; o->lock held.  Stops at the
 * first extent that needs a spare pending exception.
 */
static enum snap_cow_need snap_origin_scan_extents(struct snap_origin *o,
						   const struct snap_origin_extent *extents,
						   unsigned int count,
						   struct snap_cow_batch *b)
{
	enum snap_cow_need need, result = SNAP_COW_CLEAR;
	unsigned int i;

	for (i = 0; i < count; i++) {
		struct bio *none = NULL;

		need = snap_origin_scan(o, extents[i].sector, extents[i].len,
					&none, b);
		if (need == SNAP_COW_NEED_SPARE)
			return need;
		if (need == SNAP_COW_WAIT)
			result = SNAP_COW_WAIT;
	}
	return result;
}

/* What became of an origin write a decision was taken for. */
enum snap_origin_verdict {
	SNAP_ORIGIN_GO,		/* counted: on to the origin */
	SNAP_ORIGIN_HELD,	/* waits on a copy or a snapshot */
	SNAP_ORIGIN_LATER,	/* a copy it needs lacked a spare: the worker */
};

/*
 * The decision for an origin write, with the copies it needs started.
 * Spares are taken while they can be had at once, and waited for only
 * if may_sleep (never in a map call, where the bios it submitted are
 * not yet issued); once the bio is held, a later decision only makes
 * copies.
 */
static enum snap_origin_verdict snap_origin_decide(struct snap_origin *o,
						   struct bio *bio,
						   bool may_sleep)
{
	struct bio *waiting = bio;
	struct snap_cow_batch b;
	enum snap_cow_need need;

	snap_cow_batch_init(&b);
	for (;;) {
		spin_lock(&o->lock);
		need = snap_origin_scan(o, bio->bi_iter.bi_sector,
					bio_sectors(bio), &waiting, &b);
		if (need == SNAP_COW_CLEAR && waiting)
			snap_origin_count(o, snap_origin_io_of(bio));
		spin_unlock(&o->lock);
		if (need != SNAP_COW_NEED_SPARE)
			break;
		if (may_sleep)
			snap_cow_batch_refill(&b);
		else if (!snap_cow_batch_refill_nowait(&b))
			break;
	}
	snap_cow_batch_exit(&b);
	if (may_sleep) {
		snap_cow_batch_start(&b);
	} else if (!snap_cow_batch_start_nowait(&b)) {
		spin_lock(&o->lock);
		snap_cow_batch_move(&o->late, &b);
		spin_unlock(&o->lock);
		queue_work(snap_origin_wq, &o->work);
	}
	if (!waiting)
		return SNAP_ORIGIN_HELD;
	return need == SNAP_COW_CLEAR ? SNAP_ORIGIN_GO : SNAP_ORIGIN_LATER;
}

/*
 * An origin write: through if every snapshot has its copies, else the
 * copies it needs are started here and it waits on them, unless memory
 * for one is short: the worker, which may wait for it, takes over.
 */
int snap_origin_map_write(struct snap_origin *o, struct bio *bio)
{
	switch (snap_origin_decide(o, bio, false)) {
	case SNAP_ORIGIN_GO:
		return DMX_MAPIO_REMAPPED;
	case SNAP_ORIGIN_HELD:
		return DMX_MAPIO_SUBMITTED;
	default:
		break;
	}
	spin_lock(&o->lock);
	bio_list_add(&o->deferred, bio);
	spin_unlock(&o->lock);
	queue_work(snap_origin_wq, &o->work);
	return DMX_MAPIO_SUBMITTED;
}

static void snap_origin_write_slow(struct snap_origin *o, struct bio *bio)
{
	if (snap_origin_decide(o, bio, true) == SNAP_ORIGIN_GO)
		submit_bio_noacct(bio);
}

static void snap_origin_work(struct work_struct *work)
{
	struct snap_origin *o = container_of(work, struct snap_origin, work);
	struct snap_cow_batch late;
	struct bio_list bios;
	struct bio *bio;

	snap_cow_batch_init(&late);
	spin_lock(&o->lock);
	bios = o->deferred;
	bio_list_init(&o->deferred);
	snap_cow_batch_move(&late, &o->late);
	spin_unlock(&o->lock);

	snap_cow_batch_start(&late);
	while ((bio = bio_list_pop(&bios)))
		snap_origin_write_slow(o, bio);
}

/*
 * For the merge, which writes the origin itself: waits until every
 * other snapshot holds its copy of each extent, then counts io as a
 * write in flight (snap_origin_end_write() ends it).  Each wait is for
 * the origin's next event, after which the decision is taken again.
 */
void snap_origin_claim(struct snap_origin *o,
		       const struct snap_origin_extent *extents,
		       unsigned int count, struct snap_origin_io *io)
{
	struct snap_cow_batch b;
	enum snap_cow_need need;
	int seen;

	snap_cow_batch_init(&b);
	for (;;) {
		/* Read before anything the decision looks at. */
		seen = atomic_read_acquire(&o->events);
		spin_lock(&o->lock);
		need = snap_origin_scan_extents(o, extents, count, &b);
		if (need == SNAP_COW_CLEAR)
			snap_origin_count(o, io);
		spin_unlock(&o->lock);
		if (need == SNAP_COW_NEED_SPARE) {
			snap_cow_batch_refill(&b);
			continue;
		}
		snap_cow_batch_start(&b);
		if (need == SNAP_COW_CLEAR)
			break;
		/* No reserve is held while waiting. */
		snap_cow_batch_exit(&b);
		wait_event(o->event_wait, atomic_read(&o->events) != seen);
	}
	snap_cow_batch_exit(&b);
}

int snap_origin_init(void)
{
	snap_origin_wq = alloc_workqueue("kdmx-origin", WQ_MEM_RECLAIM, 0);
	return snap_origin_wq ? 0 : -ENOMEM;
}

void snap_origin_exit(void)
{
	destroy_workqueue(snap_origin_wq);
}
