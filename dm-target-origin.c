// SPDX-License-Identifier: GPL-2.0
/*
 * snapshot-origin <origin>: reads go straight to the origin; a write
 * first makes every snapshot of the origin copy the chunks it is about
 * to change, and goes on once those copies are committed.  Writes to
 * chunks every snapshot has already copied go straight through.
 *
 * Also the registry of origins: one entry per origin device, listing
 * the snapshots registered on it, shared by the origin targets and the
 * snapshots that use that device.
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
 */
#include <linux/module.h>
#include <linux/slab.h>

#include "dmx-snap.h"

/*
 * Protects snap_origins and each entry's refs, and serialises every
 * change of who is registered on an origin (a snapshot starting,
 * taking over or leaving) and the snapshots' suspended flags.  Listed
 * snapshots change only with it held, so holding it is enough to walk
 * an origin's list.
 */
static DEFINE_MUTEX(snap_registry_mutex);
static LIST_HEAD(snap_origins);

struct origin_ctx {
	struct dmx_dev *dev;
	struct snap_origin *o;
};

static void snap_origin_work(struct work_struct *work);

void snap_registry_lock(void)
{
	mutex_lock(&snap_registry_mutex);
}

void snap_registry_unlock(void)
{
	mutex_unlock(&snap_registry_mutex);
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
	o = kzalloc(sizeof(*o), GFP_KERNEL);
	if (!o)
		goto out;
	o->dev = dev;
	o->refs = 1;
	spin_lock_init(&o->lock);
	INIT_LIST_HEAD(&o->snapshots);
	atomic_set(&o->inflight[0], 0);
	atomic_set(&o->inflight[1], 0);
	init_waitqueue_head(&o->drained);
	bio_list_init(&o->deferred);
	INIT_WORK(&o->work, snap_origin_work);
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

/* The other snapshot listed on o with COW device cow; registry lock held. */
struct snapshot *snap_origin_find_cow(struct snap_origin *o, dev_t cow,
				      struct snapshot *except)
{
	struct snapshot *s;

	list_for_each_entry(s, &o->snapshots, origin_node)
		if (s != except && s->cow->bdev->bd_dev == cow)
			return s;
	return NULL;
}

/* A merging snapshot listed on o, other than except; registry lock held. */
struct snapshot *snap_origin_find_merging(struct snap_origin *o,
					  struct snapshot *except)
{
	struct snapshot *s;

	list_for_each_entry(s, &o->snapshots, origin_node)
		if (s != except && s->merge)
			return s;
	return NULL;
}

/* o->lock held. */
static void snap_origin_count(struct snap_origin *o, struct snap_io *io)
{
	io->origin_gen = o->gen;
	io->origin_counted = true;
	atomic_inc(&o->inflight[o->gen]);
}

void snap_origin_end_write(struct snap_origin *o, struct snap_io *io)
{
	io->origin_counted = false;
	if (atomic_dec_and_test(&o->inflight[io->origin_gen]) &&
	    wq_has_sleeper(&o->drained))
		wake_up(&o->drained);
}

/*
 * Lists s, which is active, on o and waits until no write let through
 * before it joined is still in flight.  Registry lock held.  The flip
 * before is drained already: every flip waits for its old generation.
 */
void snap_origin_attach(struct snap_origin *o, struct snapshot *s)
{
	unsigned int old;

	spin_lock(&o->lock);
	list_add_tail(&s->origin_node, &o->snapshots);
	old = o->gen;
	o->gen ^= 1;
	spin_unlock(&o->lock);
	wait_event(o->drained, !atomic_read(&o->inflight[old]));
}

/* Registry lock held. */
void snap_origin_detach(struct snap_origin *o, struct snapshot *s)
{
	spin_lock(&o->lock);
	list_del_init(&s->origin_node);
	spin_unlock(&o->lock);
}

/*
 * Puts s, starting, in old's place: from now on origin writes that
 * need s wait for it, and old, retired, takes no new copy.  Registry
 * lock held.
 */
void snap_origin_replace(struct snap_origin *o, struct snapshot *old,
			 struct snapshot *s)
{
	spin_lock(&o->lock);
	spin_lock(&old->lock);
	old->life = SNAP_RETIRED;
	spin_unlock(&old->lock);
	spin_lock(&s->lock);
	s->life = SNAP_STARTING;
	spin_unlock(&s->lock);
	list_replace_init(&old->origin_node, &s->origin_node);
	spin_unlock(&o->lock);
}

/* s has its state: the writes parked on it go round again. */
void snap_origin_activate(struct snap_origin *o, struct snapshot *s)
{
	spin_lock(&o->lock);
	spin_lock(&s->lock);
	s->life = SNAP_ACTIVE;
	spin_unlock(&s->lock);
	bio_list_merge(&o->deferred, &s->parked);
	bio_list_init(&s->parked);
	spin_unlock(&o->lock);
	queue_work(snap_wq, &o->work);
}

/* Origin writes to check again, from the worker. */
void snap_origin_requeue(struct snap_origin *o, struct bio_list *bios)
{
	if (bio_list_empty(bios))
		return;
	spin_lock(&o->lock);
	bio_list_merge(&o->deferred, bios);
	spin_unlock(&o->lock);
	queue_work(snap_wq, &o->work);
}

/*
 * Asks every snapshot of o to copy what it still needs of the range;
 * o->lock held.  1: something to wait for (*bio, if given, now waits
 * on it); 0: the range may be written; -EAGAIN: out of memory for
 * pending exceptions.
 */
static int snap_origin_scan(struct snap_origin *o, sector_t sector,
			    sector_t len, struct bio **bio,
			    struct list_head *start)
{
	struct snapshot *s;
	int r, result = 0;

	list_for_each_entry(s, &o->snapshots, origin_node) {
		r = snapshot_prepare_overwrite(s, sector, len, bio, start);
		if (r < 0)
			return r;
		if (r)
			result = 1;
	}
	return result;
}

/*
 * True, with the bio counted as a write in flight, if every snapshot of
 * o has its copies of the bio's range already.  o->lock held.
 */
static bool snap_origin_may_write(struct snap_origin *o, struct bio *bio)
{
	sector_t sector = bio->bi_iter.bi_sector;
	sector_t len = bio_sectors(bio);
	struct snapshot *s;

	list_for_each_entry(s, &o->snapshots, origin_node)
		if (!snapshot_has_copies(s, sector, len))
			return false;
	snap_origin_count(o, dmx_per_io_data(bio));
	return true;
}

/*
 * The fast path of an origin write: through if every snapshot has its
 * copies, else to the worker.  Allocation-free.
 */
int snap_origin_map_write(struct snap_origin *o, struct bio *bio)
{
	spin_lock(&o->lock);
	if (snap_origin_may_write(o, bio)) {
		spin_unlock(&o->lock);
		return DMX_MAPIO_REMAPPED;
	}
	bio_list_add(&o->deferred, bio);
	spin_unlock(&o->lock);
	queue_work(snap_wq, &o->work);
	return DMX_MAPIO_SUBMITTED;
}

/*
 * Origin writes whose copy is committed: each goes on from here if
 * nothing else holds it, else through the worker again.  Process
 * context.
 */
void snap_origin_release(struct snap_origin *o, struct bio_list *bios)
{
	struct bio_list ready = BIO_EMPTY_LIST;
	bool slow = false;
	struct bio *bio;

	if (bio_list_empty(bios))
		return;
	spin_lock(&o->lock);
	while ((bio = bio_list_pop(bios))) {
		if (snap_origin_may_write(o, bio)) {
			bio_list_add(&ready, bio);
		} else {
			bio_list_add(&o->deferred, bio);
			slow = true;
		}
	}
	spin_unlock(&o->lock);
	if (slow)
		queue_work(snap_wq, &o->work);
	while ((bio = bio_list_pop(&ready)))
		submit_bio_noacct(bio);
}

static void snap_origin_write_slow(struct snap_origin *o, struct bio *bio)
{
	struct snap_io *io = dmx_per_io_data(bio);
	struct bio *waiting;
	LIST_HEAD(start);
	u64 progress;
	int r;

	for (;;) {
		progress = snap_progress_read();
		waiting = bio;
		spin_lock(&o->lock);
		r = snap_origin_scan(o, bio->bi_iter.bi_sector, bio_sectors(bio),
				     &waiting, &start);
		if (!r)
			snap_origin_count(o, io);
		spin_unlock(&o->lock);
		snapshot_start_copies(&start);
		if (!r) {
			submit_bio_noacct(bio);
			return;
		}
		if (!waiting)
			return;
		/* Out of pending exceptions, and nothing to wait on yet. */
		snap_progress_wait(progress);
	}
}

static void snap_origin_work(struct work_struct *work)
{
	struct snap_origin *o = container_of(work, struct snap_origin, work);
	struct bio_list bios;
	struct bio *bio;

	spin_lock(&o->lock);
	bios = o->deferred;
	bio_list_init(&o->deferred);
	spin_unlock(&o->lock);

	while ((bio = bio_list_pop(&bios)))
		snap_origin_write_slow(o, bio);
}

/*
 * For the merge, which writes the origin itself: waits until every
 * other snapshot holds its copy of each chunk of entries, then counts
 * io as a write in flight (snap_origin_end_write() ends it).
 */
void snap_origin_claim(struct snap_origin *o,
		       const struct snap_merge_entry *entries, int count,
		       struct snap_store *st, struct snap_io *io)
{
	struct bio *none = NULL;
	LIST_HEAD(start);
	u64 progress;
	int i, r;

	for (;;) {
		progress = snap_progress_read();
		r = 0;
		spin_lock(&o->lock);
		for (i = 0; i < count && r >= 0; i++)
			r |= snap_origin_scan(o, snap_chunk_to_sector(st, entries[i].old_chunk),
					      st->chunk_size, &none, &start);
		if (!r)
			snap_origin_count(o, io);
		spin_unlock(&o->lock);
		snapshot_start_copies(&start);
		if (!r)
			return;
		snap_progress_wait(progress);
	}
}

/* The snapshot-origin target. */

static int origin_ctr(struct dmx_target *ti, unsigned int argc, char **argv)
{
	struct origin_ctx *oc;
	int r;

	if (argc != 1) {
		ti->error = "Invalid argument count";
		return -EINVAL;
	}
	oc = kzalloc(sizeof(*oc), GFP_KERNEL);
	if (!oc) {
		ti->error = "Cannot allocate origin context";
		return -ENOMEM;
	}
	r = dmx_get_device(ti, argv[0], &oc->dev);
	if (r) {
		ti->error = "Cannot get target device";
		goto bad_free;
	}
	oc->o = snap_origin_get(oc->dev->bdev->bd_dev);
	if (!oc->o) {
		ti->error = "Cannot allocate origin registry entry";
		r = -ENOMEM;
		goto bad_put;
	}

	ti->private = oc;
	ti->num_flush_bios = 1;
	ti->per_io_data_size = sizeof(struct snap_io);
	return 0;

bad_put:
	dmx_put_device(ti, oc->dev);
bad_free:
	kfree(oc);
	return r;
}

static void origin_dtr(struct dmx_target *ti)
{
	struct origin_ctx *oc = ti->private;

	snap_origin_put(oc->o);
	dmx_put_device(ti, oc->dev);
	kfree(oc);
}

/* Like upstream, the origin is mapped sector for sector. */
static int origin_map(struct dmx_target *ti, struct bio *bio)
{
	struct origin_ctx *oc = ti->private;
	struct snap_io *io = dmx_per_io_data(bio);

	io->tracked = false;
	io->origin_counted = false;
	bio_set_dev(bio, oc->dev->bdev);
	if ((bio->bi_opf & REQ_PREFLUSH) || !op_is_write(bio_op(bio)))
		return DMX_MAPIO_REMAPPED;
	return snap_origin_map_write(oc->o, bio);
}

static int origin_end_io(struct dmx_target *ti, struct bio *bio,
			 blk_status_t *error)
{
	struct origin_ctx *oc = ti->private;
	struct snap_io *io = dmx_per_io_data(bio);

	if (io->origin_counted)
		snap_origin_end_write(oc->o, io);
	return DMX_ENDIO_DONE;
}

static void origin_status(struct dmx_target *ti, enum dmx_status_type type,
			  char *result, unsigned int maxlen)
{
	struct origin_ctx *oc = ti->private;
	unsigned int sz = 0;

	if (type == DMX_STATUS_TABLE)
		dmx_emit(result, maxlen, &sz, "%s", oc->dev->name);
}

static int origin_iterate_devices(struct dmx_target *ti, dmx_iterate_fn fn,
				  void *data)
{
	struct origin_ctx *oc = ti->private;

	return fn(ti, oc->dev, 0, ti->len, data);
}

static struct dmx_target_type origin_target = {
	.name		 = "snapshot-origin",
	.version	 = {1, 9, 0},
	.module		 = THIS_MODULE,
	.ctr		 = origin_ctr,
	.dtr		 = origin_dtr,
	.map		 = origin_map,
	.end_io		 = origin_end_io,
	.status		 = origin_status,
	.iterate_devices = origin_iterate_devices,
};

int dmx_snap_origin_init(void)
{
	return dmx_register_target(&origin_target);
}

void dmx_snap_origin_exit(void)
{
	dmx_unregister_target(&origin_target);
}
