// SPDX-License-Identifier: GPL-2.0
/*
 * In-memory exceptions of the snapshot targets: the hash tables that
 * map an origin chunk to its COW chunk, the pending exceptions that hold
 * bios while a chunk is copied, and the tracking of bios that a copy or
 * merge must wait for.
 *
 * Nothing here takes a snapshot's lock: callers hold it around every
 * table operation.
 */
#include <linux/atomic.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "dmx-snap.h"

/* At most 2^18 buckets (2 MiB) per table, at least 64. */
#define SNAP_TABLE_MIN_BUCKETS	64U
#define SNAP_TABLE_MAX_BUCKETS	(1U << 18)

/* Pending exceptions kept in reserve per snapshot. */
#define SNAP_MIN_PENDING	64

static struct kmem_cache *snap_exception_cache;
static struct kmem_cache *snap_pending_cache;

static atomic64_t snap_progress_count = ATOMIC64_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(snap_progress_waitq);

/* Tables. */

int snap_table_init(struct snap_table *t, u64 expected)
{
	unsigned int i, size;

	expected = clamp_t(u64, expected, SNAP_TABLE_MIN_BUCKETS,
			   SNAP_TABLE_MAX_BUCKETS);
	size = rounddown_pow_of_two(expected);
	t->buckets = kvmalloc_array(size, sizeof(*t->buckets), GFP_KERNEL);
	if (!t->buckets)
		return -ENOMEM;
	for (i = 0; i < size; i++)
		INIT_HLIST_HEAD(&t->buckets[i]);
	t->mask = size - 1;
	return 0;
}

/* Frees the completed exceptions in t; t stays usable. */
void snap_table_clear(struct snap_table *t)
{
	struct snap_exception *e;
	struct hlist_node *tmp;
	unsigned int i;

	for (i = 0; i <= t->mask; i++)
		hlist_for_each_entry_safe(e, tmp, &t->buckets[i], node) {
			hlist_del(&e->node);
			snap_exception_free(e);
		}
}

void snap_table_exit(struct snap_table *t)
{
	if (!t->buckets)
		return;
	snap_table_clear(t);
	kvfree(t->buckets);
	t->buckets = NULL;
}

/* Consecutive chunks land in consecutive buckets. */
static struct hlist_head *snap_table_bucket(struct snap_table *t,
					    snap_chunk_t chunk)
{
	return &t->buckets[chunk & t->mask];
}

struct snap_exception *snap_table_lookup(struct snap_table *t,
					 snap_chunk_t old_chunk)
{
	struct snap_exception *e;

	hlist_for_each_entry(e, snap_table_bucket(t, old_chunk), node)
		if (e->old_chunk == old_chunk)
			return e;
	return NULL;
}

void snap_table_insert(struct snap_table *t, struct snap_exception *e)
{
	hlist_add_head(&e->node, snap_table_bucket(t, e->old_chunk));
}

struct snap_exception *snap_exception_alloc(gfp_t gfp)
{
	return kmem_cache_alloc(snap_exception_cache, gfp);
}

void snap_exception_free(struct snap_exception *e)
{
	kmem_cache_free(snap_exception_cache, e);
}

/* Pending exceptions. */

int snap_pending_pool_init(mempool_t *pool)
{
	return mempool_init_slab_pool(pool, SNAP_MIN_PENDING,
				      snap_pending_cache);
}

struct snap_pending *snap_pending_alloc(mempool_t *pool, gfp_t gfp)
{
	return mempool_alloc(pool, gfp);
}

void snap_pending_free(mempool_t *pool, struct snap_pending *pe)
{
	mempool_free(pe, pool);
	atomic64_inc(&snap_progress_count);
	if (wq_has_sleeper(&snap_progress_waitq))
		wake_up_all(&snap_progress_waitq);
}

u64 snap_progress_read(void)
{
	return atomic64_read(&snap_progress_count);
}

void snap_progress_wait(u64 seen)
{
	wait_event(snap_progress_waitq,
		   atomic64_read(&snap_progress_count) != seen);
}

/* Tracking. */

void snap_tracker_init(struct snap_tracker *t)
{
	unsigned int i;

	spin_lock_init(&t->lock);
	for (i = 0; i < SNAP_TRACK_BUCKETS; i++)
		INIT_HLIST_HEAD(&t->hash[i]);
	init_waitqueue_head(&t->wait);
}

void snap_track(struct snap_tracker *t, struct snap_io *io, snap_chunk_t chunk)
{
	unsigned long flags;

	io->chunk = chunk;
	io->tracked = true;
	spin_lock_irqsave(&t->lock, flags);
	hlist_add_head(&io->track_node, &t->hash[chunk % SNAP_TRACK_BUCKETS]);
	spin_unlock_irqrestore(&t->lock, flags);
}

void snap_untrack(struct snap_tracker *t, struct snap_io *io)
{
	unsigned long flags;

	spin_lock_irqsave(&t->lock, flags);
	hlist_del(&io->track_node);
	spin_unlock_irqrestore(&t->lock, flags);
	io->tracked = false;
	if (wq_has_sleeper(&t->wait))
		wake_up_all(&t->wait);
}

static bool snap_chunk_tracked(struct snap_tracker *t, snap_chunk_t chunk)
{
	struct snap_io *io;
	unsigned long flags;
	bool found = false;

	spin_lock_irqsave(&t->lock, flags);
	hlist_for_each_entry(io, &t->hash[chunk % SNAP_TRACK_BUCKETS],
			     track_node) {
		if (io->chunk == chunk) {
			found = true;
			break;
		}
	}
	spin_unlock_irqrestore(&t->lock, flags);
	return found;
}

/*
 * Waits until no tracked bio is left on chunk.  The caller has made
 * sure no new one can be tracked there, so this ends.
 */
void snap_track_wait(struct snap_tracker *t, snap_chunk_t chunk)
{
	wait_event(t->wait, !snap_chunk_tracked(t, chunk));
}

int snap_exception_init(void)
{
	snap_exception_cache = KMEM_CACHE(snap_exception, 0);
	if (!snap_exception_cache)
		return -ENOMEM;
	snap_pending_cache = KMEM_CACHE(snap_pending, 0);
	if (!snap_pending_cache) {
		kmem_cache_destroy(snap_exception_cache);
		return -ENOMEM;
	}
	return 0;
}

void snap_exception_exit(void)
{
	kmem_cache_destroy(snap_pending_cache);
	kmem_cache_destroy(snap_exception_cache);
}
