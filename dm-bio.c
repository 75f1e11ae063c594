// SPDX-License-Identifier: GPL-2.0
/*
 * The bio path of a mapped device.
 *
 * Every bio that reaches dmx_submit_bio() is either held (the device is
 * suspending or suspended), or mapped piece by piece: the piece up to
 * the first target boundary is cloned (the clone covers just that
 * piece) and goes to the target's map function, and the rest of the
 * bio is resubmitted and comes back through here.  An empty flush is
 * cloned once per target per flush copy the target asks for, so it
 * reaches every underlying device; a data bio carrying a preflush
 * first sends such an empty flush and runs its data once that has
 * completed.
 *
 * In flight.  Each clone is counted in md->inflight from its start to
 * its completion, on whatever CPU each happens: per-CPU counts of
 * clones started and ended, never a shared atomic.  The submitter
 * counts its start inside an RCU read section that also reads md->map
 * and the BLOCK_IO flag: suspend and teardown set DMX_MD_DRAINING (and
 * suspend BLOCK_IO), wait for an expedited grace period, after which
 * every submitter that missed BLOCK_IO has counted its start, and then
 * wait until the sums of ends and starts are equal (dmx_md_idle()).  A
 * completion counts its end and tests DRAINING in an RCU read section
 * too, so either the drain's grace period waited for it and sees its
 * end, or it sees DRAINING and wakes the drain.  Extra starts (the
 * copies of a flush) are only counted by a bio already in flight, so
 * they never make the sums look equal early.  The count also keeps
 * the table: it is only swapped once nothing is in flight.  Teardown
 * needs no grace period of the normal kind, which a percpu_ref's kill
 * would wait for.
 *
 * Accounting (/proc/diskstats, iostat) counts what the stock dm counts:
 * every piece mapped to a target is one I/O of its own sectors, an
 * empty flush (sent as many times as it has copies) is one I/O of none,
 * and the preflush of a data bio is such an empty flush of its own.
 * Nothing is counted while the queue's iostats attribute is 0.
 *
 * A bio with REQ_NOWAIT never waits for memory here: what cannot be
 * had at once ends it with BLK_STS_AGAIN, and the submitter retries
 * where it may block.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/rcupdate.h>

#include "dmx-core.h"

/*
 * Lives in front of every clone: the target's per-io data (table's
 * per_io_size bytes) comes first, then this, then the clone itself.
 */
struct dmx_io {
	struct mapped_device *md;
	struct dmx_target *ti;
	struct bio *orig;
	unsigned int flush_index;
	bool accounted;			/* this clone carries the accounting */
	unsigned int acct_sectors;
	unsigned long acct_start;
	struct bio clone;		/* must be last */
};

static inline struct dmx_io *dmx_io_of(struct bio *clone)
{
	return container_of(clone, struct dmx_io, clone);
}

/*
 * Clones a table's CPUs keep after their completion, for the next bio
 * to take without the slab allocator (and without its debugging, where
 * that is on, which makes the allocation the dearest part of the bio
 * path).  Each CPU keeps a few, in a list only it touches, with
 * interrupts off since completions run in any context.
 */
#define DMX_CLONE_CACHE_MAX	16

struct dmx_clone_cache {
	struct bio *free;		/* chained through bi_next */
	unsigned int nr;
};

int dmx_bio_init_clones(struct dmx_table *t)
{
	int r;

	t->clone_cache = alloc_percpu(struct dmx_clone_cache);
	if (!t->clone_cache)
		return -ENOMEM;
	r = bioset_init(&t->clone_set, BIO_POOL_SIZE,
			t->per_io_size + offsetof(struct dmx_io, clone), 0);
	if (r)
		free_percpu(t->clone_cache);
	return r;
}

/* No I/O is in flight on t any more. */
void dmx_bio_exit_clones(struct dmx_table *t)
{
	struct dmx_clone_cache *cache;
	struct bio *clone;
	int cpu;

	for_each_possible_cpu(cpu) {
		cache = per_cpu_ptr(t->clone_cache, cpu);
		while ((clone = cache->free)) {
			cache->free = clone->bi_next;
			bio_put(clone);
		}
	}
	free_percpu(t->clone_cache);
	bioset_exit(&t->clone_set);
}

static struct bio *dmx_clone_cache_pop(struct dmx_table *t)
{
	struct dmx_clone_cache *cache;
	struct bio *clone;
	unsigned long flags;

	local_irq_save(flags);
	cache = this_cpu_ptr(t->clone_cache);
	clone = cache->free;
	if (clone) {
		cache->free = clone->bi_next;
		cache->nr--;
	}
	local_irq_restore(flags);
	return clone;
}

/*
 * A clone nobody else holds goes to this CPU's cache, unless that is
 * full or the bio_set's reserve is short: a submitter may be waiting
 * there, and only a free to the pool wakes it.
 */
static void dmx_free_clone(struct dmx_table *t, struct bio *clone)
{
	struct dmx_clone_cache *cache;
	unsigned long flags;

	if ((bio_flagged(clone, BIO_REFFED) &&
	     atomic_read(&clone->__bi_cnt) != 1) ||
	    READ_ONCE(t->clone_set.bio_pool.curr_nr) <
	    t->clone_set.bio_pool.min_nr) {
		bio_put(clone);
		return;
	}
	bio_uninit(clone);
	local_irq_save(flags);
	cache = this_cpu_ptr(t->clone_cache);
	if (cache->nr < DMX_CLONE_CACHE_MAX) {
		clone->bi_next = cache->free;
		cache->free = clone;
		cache->nr++;
		clone = NULL;
	}
	local_irq_restore(flags);
	if (clone)
		bio_put(clone);
}

void *dmx_per_io_data(struct bio *clone)
{
	struct dmx_io *io = dmx_io_of(clone);

	return (char *)io - io->ti->table->per_io_size;
}
EXPORT_SYMBOL_GPL(dmx_per_io_data);

unsigned int dmx_bio_flush_index(struct bio *clone)
{
	return dmx_io_of(clone)->flush_index;
}
EXPORT_SYMBOL_GPL(dmx_bio_flush_index);

/* Counts n more clones in flight; only under RCU or for a bio in flight. */
static inline void dmx_inflight_add(struct mapped_device *md, unsigned int n)
{
	this_cpu_add(md->inflight->started, n);
}

/*
 * Counts a clone's end, and wakes a drain that may be waiting for it,
 * which may then free md: teardown waits for a grace period before it
 * does, so everything here is in an RCU read section.
 */
static inline void dmx_pending_put(struct mapped_device *md)
{
	rcu_read_lock();
	/*
	 * Whoever sees this end must see the start it ends (counted
	 * before the clone was submitted, maybe on another CPU): pairs
	 * with the barrier in dmx_md_idle().  A per-CPU increment is no
	 * atomic and orders nothing by itself, on any architecture.
	 */
	smp_mb();
	this_cpu_inc(md->inflight->ended);
	if (unlikely(test_bit(DMX_MD_DRAINING, &md->flags)))
		wake_up(&md->wait);
	rcu_read_unlock();
}

/*
 * True if nothing is in flight; only meaningful once no new bio can be
 * counted (after a drain's grace period).  The ends are summed first:
 * every end seen has its start seen after the barrier, so the sums are
 * only equal when every start counted has ended.
 */
bool dmx_md_idle(struct mapped_device *md)
{
	unsigned long started = 0, ended = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		ended += READ_ONCE(per_cpu_ptr(md->inflight, cpu)->ended);
	/* Pairs with the barrier before each end (dmx_pending_put()). */
	smp_mb();
	for_each_possible_cpu(cpu)
		started += READ_ONCE(per_cpu_ptr(md->inflight, cpu)->started);
	return started == ended;
}

/* Ends bio with status before it got a clone; drops its reference. */
static void dmx_end_unmapped(struct mapped_device *md, struct bio *bio,
			     blk_status_t status)
{
	bio->bi_status = status;
	bio_endio(bio);
	dmx_pending_put(md);
}

static void dmx_clone_endio(struct bio *clone)
{
	struct dmx_io *io = dmx_io_of(clone);
	struct dmx_target *ti = io->ti;
	struct mapped_device *md = io->md;
	struct bio *orig = io->orig;
	blk_status_t error = clone->bi_status;

	if (ti->type->end_io &&
	    ti->type->end_io(ti, clone, &error) == DMX_ENDIO_INCOMPLETE)
		return;

	if (unlikely(error) && !orig->bi_status)
		orig->bi_status = error;
	if (io->accounted)
		dmx_compat_io_acct_end(md->disk->part0, bio_op(orig),
				       io->acct_sectors, io->acct_start);
	dmx_free_clone(ti->table, clone);
	bio_endio(orig);
	dmx_pending_put(md);
}

/* What may be waited for while mapping bio. */
static inline gfp_t dmx_bio_gfp(struct bio *bio)
{
	return bio->bi_opf & REQ_NOWAIT ? GFP_NOWAIT : GFP_NOIO;
}

/*
 * A clone of bio for ti; NULL only if gfp may not wait.  No device yet:
 * the target's bio_set_dev() associates the clone with its cgroup
 * once, for the device it really goes to.
 */
static struct bio *dmx_alloc_clone(struct dmx_target *ti, struct bio *bio,
				   gfp_t gfp)
{
	struct dmx_table *t = ti->table;
	struct bio *clone = dmx_clone_cache_pop(t);
	int r;

	if (clone) {
		r = bio_init_clone(NULL, clone, bio, gfp);
		/*
		 * Initialising forgets the pool, which the last put needs,
		 * and copies the submitter's REQ_ALLOC_CACHE, which would
		 * send it to a per-CPU cache our bio_set does not have.
		 */
		clone->bi_pool = &t->clone_set;
		clone->bi_opf &= ~REQ_ALLOC_CACHE;
		if (unlikely(r)) {
			bio_put(clone);
			return NULL;
		}
	} else {
		clone = bio_alloc_clone(NULL, bio, gfp, &t->clone_set);
		if (!clone)
			return NULL;
	}
	clone->bi_bdev = bio->bi_bdev;
	return clone;
}

/*
 * Hands a clone of orig to its target, counted in flight by the caller
 * until its completion; orig completes with it.  The clone that
 * accounts for the piece of orig it maps says so.
 */
static void dmx_start_clone(struct mapped_device *md, struct dmx_target *ti,
			    struct bio *clone, struct bio *orig,
			    unsigned int flush_index, bool account)
{
	struct dmx_io *io = dmx_io_of(clone);

	io->md = md;
	io->ti = ti;
	io->orig = orig;
	io->flush_index = flush_index;
	/* Sampled once, so that a toggle of iostats cannot unbalance it. */
	io->accounted = account && blk_queue_io_stat(md->disk->queue);
	if (io->accounted) {
		io->acct_sectors = bio_sectors(clone);
		io->acct_start = dmx_compat_io_acct_start(md->disk->part0,
							  bio_op(clone),
							  io->acct_sectors);
	}
	clone->bi_end_io = dmx_clone_endio;

	switch (ti->type->map(ti, clone)) {
	case DMX_MAPIO_REMAPPED:
		submit_bio_noacct(clone);
		break;
	case DMX_MAPIO_SUBMITTED:
		break;
	default:
		clone->bi_status = BLK_STS_IOERR;
		bio_endio(clone);
		break;
	}
}

/* Clones bio whole for ti, passing on the caller's count in flight. */
static void dmx_map_clone(struct mapped_device *md, struct dmx_target *ti,
			  struct bio *bio, unsigned int flush_index,
			  bool account, gfp_t gfp)
{
	struct bio *clone = dmx_alloc_clone(ti, bio, gfp);

	if (unlikely(!clone)) {
		dmx_end_unmapped(md, bio, BLK_STS_AGAIN);
		return;
	}
	dmx_start_clone(md, ti, clone, bio, flush_index, account);
}

/*
 * Empty flushes.  Each target gets num_flush_bios clones, so that the
 * flush reaches every device below.  Clones sent from inside
 * submit_bio() wait on current->bio_list until it returns, so a task
 * that took some of them from the clone reserve and waited there for
 * the rest would wait for itself.  The submitter therefore takes a
 * flush's clones only if all come without waiting (and there are few);
 * otherwise the worker takes them one at a time, each sent at once.
 */
#define DMX_FLUSH_INLINE_COPIES	8

static bool dmx_flush_inline(struct mapped_device *md, struct dmx_table *map,
			     struct bio *bio)
{
	struct bio *clones[DMX_FLUSH_INLINE_COPIES];
	unsigned int i, n, k = 0;

	if (map->flush_copies > DMX_FLUSH_INLINE_COPIES)
		return false;
	for (i = 0; i < map->num_targets; i++)
		for (n = 0; n < map->targets[i].num_flush_bios; n++) {
			clones[k] = dmx_alloc_clone(&map->targets[i], bio,
						    GFP_NOWAIT);
			if (!clones[k])
				goto undo;
			k++;
		}

	/*
	 * bio completes once per clone, and each clone holds a reference:
	 * take the extra completions and references first.
	 */
	for (k = 1; k < map->flush_copies; k++)
		bio_inc_remaining(bio);
	dmx_inflight_add(md, map->flush_copies - 1);
	for (i = 0, k = 0; i < map->num_targets; i++)
		for (n = 0; n < map->targets[i].num_flush_bios; n++, k++)
			dmx_start_clone(md, &map->targets[i], clones[k], bio, n,
					!k);
	return true;

undo:
	while (k--)
		bio_put(clones[k]);
	return false;
}

/* Its reference keeps the table until the worker has sent the copies. */
static void dmx_defer_flush(struct mapped_device *md, struct bio *bio)
{
	unsigned long flags;

	spin_lock_irqsave(&md->flush_lock, flags);
	bio_list_add(&md->flush_list, bio);
	spin_unlock_irqrestore(&md->flush_lock, flags);
	queue_work(md->wq, &md->flush_work);
}

/* The target of a table's only flush copy. */
static struct dmx_target *dmx_first_flush_target(struct dmx_table *map)
{
	unsigned int i;

	for (i = 0; !map->targets[i].num_flush_bios; i++)
		;
	return &map->targets[i];
}

static void dmx_map_empty_flush(struct mapped_device *md, struct dmx_table *map,
				struct bio *bio)
{
	if (!map->flush_copies) {
		dmx_end_unmapped(md, bio, BLK_STS_OK);
		return;
	}
	if (map->flush_copies == 1) {
		dmx_map_clone(md, dmx_first_flush_target(map), bio, 0, true,
			      dmx_bio_gfp(bio));
		return;
	}
	if (!dmx_flush_inline(md, map, bio))
		dmx_defer_flush(md, bio);
}

/*
 * No bio list here: each clone goes down before the next is taken, so
 * waiting for one from the reserve always ends.
 */
static void dmx_flush_one_by_one(struct mapped_device *md,
				 struct dmx_table *map, struct bio *bio)
{
	unsigned int i, n, k = 0;

	for (i = 1; i < map->flush_copies; i++)
		bio_inc_remaining(bio);
	dmx_inflight_add(md, map->flush_copies - 1);
	for (i = 0; i < map->num_targets; i++)
		for (n = 0; n < map->targets[i].num_flush_bios; n++, k++)
			dmx_map_clone(md, &map->targets[i], bio, n, !k,
				      GFP_NOIO);
}

void dmx_flush_work(struct work_struct *work)
{
	struct mapped_device *md = container_of(work, struct mapped_device,
						flush_work);
	struct dmx_table *map;
	struct bio_list bios;
	struct bio *bio;

	spin_lock_irq(&md->flush_lock);
	bios = md->flush_list;
	bio_list_init(&md->flush_list);
	spin_unlock_irq(&md->flush_lock);

	while ((bio = bio_list_pop(&bios))) {
		/* The flush's reference keeps this table live. */
		rcu_read_lock();
		map = rcu_dereference(md->map);
		rcu_read_unlock();
		dmx_flush_one_by_one(md, map, bio);
	}
}

static void dmx_defer_bio(struct mapped_device *md, struct bio *bio)
{
	unsigned long flags;

	spin_lock_irqsave(&md->deferred_lock, flags);
	bio_list_add(&md->deferred, bio);
	spin_unlock_irqrestore(&md->deferred_lock, flags);
	queue_work(md->wq, &md->requeue_work);
}

static void dmx_preflush_endio(struct bio *flush)
{
	struct bio *data = flush->bi_private;
	struct mapped_device *md = data->bi_bdev->bd_disk->private_data;
	blk_status_t error = flush->bi_status;

	bio_put(flush);
	if (error) {
		data->bi_status = error;
		bio_endio(data);
		return;
	}
	/* Completion context may be atomic: run the data from the worker. */
	dmx_defer_bio(md, data);
}

/*
 * A preflush must be durable on every underlying device before the
 * data is written, not only on the devices the data goes to.  The
 * flush goes through dmx_submit_bio() with a reference of its own, and
 * so does the data afterwards: the data's reference is dropped here.
 */
static void dmx_flush_before_data(struct mapped_device *md, struct bio *bio)
{
	struct bio *flush;

	flush = bio_alloc_bioset(bio->bi_bdev, 0,
				 REQ_OP_WRITE | REQ_PREFLUSH | REQ_SYNC |
				 (bio->bi_opf & REQ_NOWAIT), dmx_bio_gfp(bio),
				 &md->flush_set);
	if (unlikely(!flush)) {
		dmx_end_unmapped(md, bio, BLK_STS_AGAIN);
		return;
	}
	bio->bi_opf &= ~REQ_PREFLUSH;
	flush->bi_private = bio;
	flush->bi_end_io = dmx_preflush_endio;
	submit_bio_noacct(flush);
	dmx_pending_put(md);
}

static sector_t dmx_target_io_len(struct dmx_target *ti, sector_t sector,
				  sector_t want)
{
	sector_t len = ti->begin + ti->len - sector;

	if (ti->max_io_len) {
		sector_t offset = sector - ti->begin;
		sector_t boundary = ti->max_io_len -
				    sector_div(offset, ti->max_io_len);

		len = min(len, boundary);
	}
	return min(len, want);
}

/* Operations a target takes only if it says so. */
static bool dmx_target_refuses_op(struct dmx_target *ti, enum req_op op)
{
	switch (op) {
	case REQ_OP_DISCARD:
		return !ti->num_discard_bios;
	case REQ_OP_SECURE_ERASE:
		return !ti->num_secure_erase_bios;
	case REQ_OP_WRITE_ZEROES:
		return !ti->num_write_zeroes_bios;
	default:
		return false;
	}
}

/*
 * Maps the first len sectors of bio to ti.  If that is not all of it,
 * the clone covers just those sectors and the rest of bio goes round
 * again after it: one allocation per piece, none for the rest.
 */
static void dmx_map_piece(struct mapped_device *md, struct dmx_target *ti,
			  struct bio *bio, sector_t len)
{
	struct bio *clone = dmx_alloc_clone(ti, bio, dmx_bio_gfp(bio));

	if (unlikely(!clone)) {
		dmx_end_unmapped(md, bio, BLK_STS_AGAIN);
		return;
	}
	if (len == bio_sectors(bio)) {
		dmx_start_clone(md, ti, clone, bio, 0, true);
		return;
	}
	bio_trim(clone, 0, len);
	bio_advance(bio, len << SECTOR_SHIFT);
	/* bio now completes with this piece and with the rest. */
	bio_inc_remaining(bio);
	dmx_start_clone(md, ti, clone, bio, 0, true);
	submit_bio_noacct(bio);
}

static void dmx_map_data_bio(struct mapped_device *md, struct dmx_table *map,
			     struct bio *bio)
{
	sector_t sector = bio->bi_iter.bi_sector;
	struct dmx_target *ti;

	ti = dmx_table_find_target(map, sector);
	if (unlikely(!ti)) {
		dmx_end_unmapped(md, bio, BLK_STS_IOERR);
		return;
	}
	if (unlikely(dmx_target_refuses_op(ti, bio_op(bio)))) {
		dmx_end_unmapped(md, bio, BLK_STS_NOTSUPP);
		return;
	}
	if (unlikely((bio->bi_opf & REQ_NOWAIT) &&
		     !(ti->type->features & DMX_TARGET_NOWAIT))) {
		dmx_end_unmapped(md, bio, BLK_STS_AGAIN);
		return;
	}
	dmx_map_piece(md, ti, bio,
		      dmx_target_io_len(ti, sector, bio_sectors(bio)));
}

/* Maps bio through map with the reference the submitter took for it. */
static void dmx_map_bio(struct mapped_device *md, struct dmx_table *map,
			struct bio *bio)
{
	if (unlikely(!map ||
		     (op_is_write(bio_op(bio)) && !(map->mode & DMX_MODE_WRITE)))) {
		dmx_end_unmapped(md, bio, BLK_STS_IOERR);
		return;
	}
	if (unlikely(bio->bi_opf & REQ_PREFLUSH)) {
		if (!bio_sectors(bio))
			dmx_map_empty_flush(md, map, bio);
		else
			dmx_flush_before_data(md, bio);
		return;
	}
	dmx_map_data_bio(md, map, bio);
}

/*
 * Holds bio if I/O is blocked.  The flag is tested again under the lock
 * that resume clears it under, so a bio is never parked after the last
 * requeue pass.
 */
static bool dmx_hold_if_blocked(struct mapped_device *md, struct bio *bio)
{
	unsigned long flags;
	bool held = false;

	spin_lock_irqsave(&md->deferred_lock, flags);
	if (test_bit(DMX_MD_BLOCK_IO, &md->flags)) {
		bio_list_add(&md->deferred, bio);
		held = true;
	}
	spin_unlock_irqrestore(&md->deferred_lock, flags);
	return held;
}

void dmx_submit_bio(struct bio *bio)
{
	struct mapped_device *md = bio->bi_bdev->bd_disk->private_data;
	struct dmx_table *map;

	for (;;) {
		rcu_read_lock();
		if (likely(!test_bit(DMX_MD_BLOCK_IO, &md->flags)))
			break;
		rcu_read_unlock();
		if (bio->bi_opf & REQ_NOWAIT) {
			bio_wouldblock_error(bio);
			return;
		}
		if (dmx_hold_if_blocked(md, bio))
			return;
		/* Resumed meanwhile: map it after all. */
	}
	map = rcu_dereference(md->map);
	dmx_inflight_add(md, 1);
	rcu_read_unlock();

	dmx_map_bio(md, map, bio);
}

/* Resubmits held bios once I/O is no longer blocked. */
void dmx_requeue_work(struct work_struct *work)
{
	struct mapped_device *md = container_of(work, struct mapped_device,
						requeue_work);
	struct bio_list bios;
	struct bio *bio;

	spin_lock_irq(&md->deferred_lock);
	if (test_bit(DMX_MD_BLOCK_IO, &md->flags)) {
		spin_unlock_irq(&md->deferred_lock);
		return;
	}
	bios = md->deferred;
	bio_list_init(&md->deferred);
	spin_unlock_irq(&md->deferred_lock);

	while ((bio = bio_list_pop(&bios)))
		submit_bio_noacct(bio);
}

/* Ends every held bio with an error: the device is going away. */
void dmx_fail_deferred(struct mapped_device *md)
{
	struct bio_list bios;
	struct bio *bio;

	spin_lock_irq(&md->deferred_lock);
	bios = md->deferred;
	bio_list_init(&md->deferred);
	spin_unlock_irq(&md->deferred_lock);

	while ((bio = bio_list_pop(&bios)))
		bio_io_error(bio);
}
