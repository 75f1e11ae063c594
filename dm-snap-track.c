// SPDX-License-Identifier: GPL-2.0
/*
 * Tracking of bios in flight by chunk (include/dmx-snap-track.h).  Bios
 * are tracked in the map function and untracked at their completion,
 * so the hash is under a spinlock taken with interrupts off.
 */
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/wait.h>

#include "dmx-snap-track.h"

#define SNAP_TRACK_BUCKETS	64

struct snap_tracker {
	spinlock_t lock;		/* protects hash */
	struct hlist_head hash[SNAP_TRACK_BUCKETS];
	wait_queue_head_t wait;		/* woken as tracked bios finish */
};

struct snap_tracker *snap_tracker_create(void)
{
	struct snap_tracker *t = kzalloc(sizeof(*t), GFP_KERNEL);
	unsigned int i;

	if (!t)
		return NULL;
	spin_lock_init(&t->lock);
	for (i = 0; i < SNAP_TRACK_BUCKETS; i++)
		INIT_HLIST_HEAD(&t->hash[i]);
	init_waitqueue_head(&t->wait);
	return t;
}

/* No bio may be tracked any more: the device's I/O has all ended. */
void snap_tracker_destroy(struct snap_tracker *t)
{
	kfree(t);
}

static struct hlist_head *snap_track_bucket(struct snap_tracker *t,
					    snap_chunk_t chunk)
{
	return &t->hash[chunk % SNAP_TRACK_BUCKETS];
}

void snap_track(struct snap_tracker *t, struct snap_track_io *io,
		snap_chunk_t chunk)
{
	unsigned long flags;

	io->chunk = chunk;
	io->tracked = true;
	spin_lock_irqsave(&t->lock, flags);
	hlist_add_head(&io->node, snap_track_bucket(t, chunk));
	spin_unlock_irqrestore(&t->lock, flags);
}

void snap_untrack(struct snap_tracker *t, struct snap_track_io *io)
{
	unsigned long flags;

	if (!io->tracked)
		return;
	spin_lock_irqsave(&t->lock, flags);
	hlist_del(&io->node);
	spin_unlock_irqrestore(&t->lock, flags);
	io->tracked = false;
	if (wq_has_sleeper(&t->wait))
		wake_up_all(&t->wait);
}

static bool snap_chunk_tracked(struct snap_tracker *t, snap_chunk_t chunk)
{
	struct snap_track_io *io;
	unsigned long flags;
	bool found = false;

	spin_lock_irqsave(&t->lock, flags);
	hlist_for_each_entry(io, snap_track_bucket(t, chunk), node) {
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
