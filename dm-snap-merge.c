// SPDX-License-Identifier: GPL-2.0
/*
 * Merging a snapshot back into its origin (the snapshot-merge target).
 *
 * The merging device stands for the origin but shows the snapshot's
 * content: chunks with an exception are read and written on the COW
 * device, the others on the origin, where writes still make the
 * origin's other snapshots copy first.  In the background, batches of
 * the newest exceptions are copied from the COW device to the origin,
 * flushed, and forgotten in the store; writes to a chunk of the batch
 * wait until it is done.  The store shrinks until only its header and
 * first area are left, which is how LVM tells the merge has finished.
 *
 * One step at a time: merge_work picks a batch and starts its copies,
 * merge_done_work commits it and queues the next step.  A step that
 * fails leaves the store as it was (the store sees to that), says
 * "Merge failed" and stops; loading the table again takes it up.
 */
#include <linux/blkdev.h>
#include <linux/wait_bit.h>

#include "dmx-snapshot.h"

/* The merge steps of every merging snapshot. */
static struct workqueue_struct *snap_merge_wq;

static void snap_merge_shutdown(struct snapshot *s)
{
	clear_bit_unlock(SNAP_MERGE_RUNNING, &s->merge_flags);
	/* The bit must be seen clear before wake_up_bit() looks for waiters. */
	smp_mb__after_atomic();
	wake_up_bit(&s->merge_flags, SNAP_MERGE_RUNNING);
}

/* s->lock held. */
static bool snap_merge_chunk_busy(struct snapshot *s, snap_chunk_t chunk)
{
	int i;

	for (i = 0; i < s->merge_nr; i++)
		if (s->merge_batch[i].old_chunk == chunk)
			return true;
	return false;
}

/*
 * Where a bio of the merging device goes: the COW device for a chunk
 * with an exception (held while that chunk is being merged), else the
 * origin.  Also resubmits the bios a finished batch held.
 */
int snapshot_merge_route(struct snapshot *s, struct bio *bio)
{
	struct snap_io *io = dmx_per_io_data(bio);
	bool write = op_is_write(bio_op(bio));
	snap_chunk_t chunk, new_chunk;

	spin_lock(&s->lock);
	if (s->life != SNAP_ACTIVE) {
		spin_unlock(&s->lock);
		return DMX_MAPIO_KILL;
	}
	/* An invalid merging snapshot is just its origin. */
	chunk = snapshot_chunk(s, bio->bi_iter.bi_sector);
	if (s->valid && snap_store_lookup(s->store, chunk, &new_chunk)) {
		if (write && snap_merge_chunk_busy(s, chunk)) {
			bio_list_add(&s->merge_held, bio);
			spin_unlock(&s->lock);
			return DMX_MAPIO_SUBMITTED;
		}
		snapshot_remap_to_cow(s, bio, new_chunk);
		/* The merge of this chunk must wait for the write. */
		if (write)
			snap_track(s->tracker, &io->track, chunk);
		spin_unlock(&s->lock);
		return DMX_MAPIO_REMAPPED;
	}
	spin_unlock(&s->lock);

	bio_set_dev(bio, s->origin->bdev);
	if (!write)
		return DMX_MAPIO_REMAPPED;
	return snap_origin_map_write(s->o, bio);
}

static void snap_merge_release(struct snapshot *s, struct bio_list *bios,
			       bool fail)
{
	struct bio *bio;

	while ((bio = bio_list_pop(bios))) {
		if (fail) {
			bio_io_error(bio);
			continue;
		}
		switch (snapshot_merge_route(s, bio)) {
		case DMX_MAPIO_REMAPPED:
			submit_bio_noacct(bio);
			break;
		case DMX_MAPIO_SUBMITTED:
			break;
		default:
			bio_io_error(bio);
			break;
		}
	}
}

/* The batch is dropped, the store untouched: a later load retries. */
static void snap_merge_fail(struct snapshot *s, const char *why, int error)
{
	struct bio_list held;

	pr_err(SNAP_PREFIX "%s (%d): merge stopped\n", why, error);
	spin_lock(&s->lock);
	s->merge_failed = true;
	s->merge_nr = 0;
	held = s->merge_held;
	bio_list_init(&s->merge_held);
	spin_unlock(&s->lock);
	snap_merge_release(s, &held, true);
	dmx_target_event(s->ti);
}

/* One copy of the batch fewer in flight; the last one ends the step. */
static void snap_merge_put_copy(struct snapshot *s)
{
	if (atomic_dec_and_test(&s->merge_copies))
		queue_work(snap_merge_wq, &s->merge_done_work);
}

static void snap_merge_copied(const struct dmx_copy_result *result,
			      void *context)
{
	struct snapshot *s = context;

	if (result->error)
		cmpxchg(&s->merge_error, 0, result->error);
	snap_merge_put_copy(s);
}

/* True if b follows a by one chunk, up or down, on both devices. */
static bool snap_merge_follows(const struct snap_merge_entry *a,
			       const struct snap_merge_entry *b, bool up)
{
	if (up)
		return b->old_chunk == a->old_chunk + 1 &&
		       b->new_chunk == a->new_chunk + 1;
	return b->old_chunk + 1 == a->old_chunk &&
	       b->new_chunk + 1 == a->new_chunk;
}

/*
 * How many entries from e on, at most max, are one run of consecutive
 * chunks, on the COW device as on the origin: the store hands out the
 * newest first, so a run written in order comes downwards.  *low is
 * the run's first chunk on both devices.
 */
static int snap_merge_run(const struct snap_merge_entry *e, int n, int max,
			  const struct snap_merge_entry **low)
{
	bool up = n > 1 && snap_merge_follows(&e[0], &e[1], true);
	int len = 1;

	while (len < n && len < max &&
	       snap_merge_follows(&e[len - 1], &e[len], up))
		len++;
	*low = up ? &e[0] : &e[len - 1];
	return len;
}

/* Copies the run of nr chunks starting at low back to the origin. */
static void snap_merge_copy(struct snapshot *s,
			    const struct snap_merge_entry *low, int nr)
{
	struct dmx_copy_region from = {
		.bdev = s->cow->bdev,
		.sector = snapshot_sector(s, low->new_chunk),
	};
	struct dmx_copy_region to = {
		.bdev = s->origin->bdev,
		.sector = snapshot_sector(s, low->old_chunk),
	};
	sector_t origin_size = bdev_nr_sectors(s->origin->bdev);
	sector_t count = 0;

	/* The last chunk may reach past the end of the origin. */
	if (to.sector < origin_size)
		count = min_t(sector_t, (sector_t)nr * s->chunk_size,
			      origin_size - to.sector);
	atomic_inc(&s->merge_copies);
	dmx_copy(snap_store_copier(s->store), &from, &to, 1, count,
		 snap_merge_copied, s);
}

/*
 * Copies the batch: a run of consecutive chunks goes in copies of one
 * piece of the copier each, all in flight at once.  The count starts
 * at one, dropped last, so no copy ends the step before all started.
 */
static void snap_merge_copy_batch(struct snapshot *s, int n)
{
	int max = max_t(int, 1, SNAP_COPY_PIECE_SECTORS / s->chunk_size);
	const struct snap_merge_entry *low;
	int i, len;

	s->merge_error = 0;
	atomic_set(&s->merge_copies, 1);
	for (i = 0; i < n; i += len) {
		len = snap_merge_run(&s->merge_batch[i], n - i, max, &low);
		snap_merge_copy(s, low, len);
	}
	snap_merge_put_copy(s);
}

static void snap_merge_step(struct work_struct *work)
{
	struct snapshot *s = container_of(work, struct snapshot, merge_work);
	bool valid;
	int i, n;

	if (test_bit(SNAP_MERGE_STOP, &s->merge_flags))
		goto stop;
	spin_lock(&s->lock);
	valid = s->valid && !s->merge_failed;
	spin_unlock(&s->lock);
	if (!valid)
		goto stop;

	/* merge_nr is 0: nobody looks at merge_batch while it is filled. */
	n = snap_store_merge_next(s->store, s->merge_batch, SNAP_MERGE_BATCH);
	if (n < 0)
		snap_merge_fail(s, "cannot read the exception store", n);
	if (n <= 0)
		goto stop;

	/* The origin's other snapshots copy these chunks first. */
	for (i = 0; i < n; i++) {
		s->merge_extents[i].sector =
			snapshot_sector(s, s->merge_batch[i].old_chunk);
		s->merge_extents[i].len = s->chunk_size;
	}
	snap_origin_claim(s->o, s->merge_extents, n, &s->merge_io);

	spin_lock(&s->lock);
	s->merge_nr = n;
	spin_unlock(&s->lock);
	for (i = 0; i < n; i++)
		snap_track_wait(s->tracker, s->merge_batch[i].old_chunk);

	snap_merge_copy_batch(s, n);
	return;

stop:
	snap_merge_shutdown(s);
}

/* The batch is on the origin: make it durable, then forget it. */
static void snap_merge_step_done(struct work_struct *work)
{
	struct snapshot *s = container_of(work, struct snapshot,
					  merge_done_work);
	struct bio_list held;
	int r;

	snap_origin_end_write(s->o, &s->merge_io);
	r = s->merge_error;
	if (r) {
		snap_merge_fail(s, "cannot copy to the origin", r);
		goto stop;
	}
	r = blkdev_issue_flush(s->origin->bdev);
	if (r) {
		snap_merge_fail(s, "cannot flush the origin", r);
		goto stop;
	}
	r = snap_store_merge_commit(s->store, s->merge_batch, s->merge_nr);
	if (r) {
		snap_merge_fail(s, "cannot update the exception store", r);
		goto stop;
	}

	spin_lock(&s->lock);
	s->merge_nr = 0;
	held = s->merge_held;
	bio_list_init(&s->merge_held);
	spin_unlock(&s->lock);
	snap_merge_release(s, &held, false);

	if (!test_bit(SNAP_MERGE_STOP, &s->merge_flags)) {
		queue_work(snap_merge_wq, &s->merge_work);
		return;
	}
stop:
	snap_merge_shutdown(s);
}

void snap_merge_init(struct snapshot *s)
{
	INIT_WORK(&s->merge_work, snap_merge_step);
	INIT_WORK(&s->merge_done_work, snap_merge_step_done);
	bio_list_init(&s->merge_held);
	snap_origin_io_init(&s->merge_io);
}

void snap_merge_start(struct snapshot *s)
{
	if (!test_and_set_bit(SNAP_MERGE_RUNNING, &s->merge_flags))
		queue_work(snap_merge_wq, &s->merge_work);
}

/* Lets the step in flight finish and starts no other. */
void snap_merge_stop(struct snapshot *s)
{
	set_bit(SNAP_MERGE_STOP, &s->merge_flags);
	wait_on_bit(&s->merge_flags, SNAP_MERGE_RUNNING, TASK_UNINTERRUPTIBLE);
	clear_bit(SNAP_MERGE_STOP, &s->merge_flags);
}

int snap_merge_module_init(void)
{
	snap_merge_wq = alloc_workqueue("kdmx-snapmerge", WQ_MEM_RECLAIM, 0);
	return snap_merge_wq ? 0 : -ENOMEM;
}

void snap_merge_module_exit(void)
{
	destroy_workqueue(snap_merge_wq);
}
