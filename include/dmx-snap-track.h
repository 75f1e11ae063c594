/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Bios in flight on chunks that may change under them (dm-snap-track.c):
 * snapshot reads sent to the origin, which an origin write must not
 * overtake, and writes of a merging snapshot to its COW device, which
 * the merge of that chunk must not overtake.  A copy or merge waits
 * until no tracked bio is left on its chunk.
 */
#ifndef DMX_SNAP_TRACK_H
#define DMX_SNAP_TRACK_H

#include <linux/list.h>

#include "dmx-snap-chunk.h"

struct snap_tracker;

/* In the per-bio data of a tracked bio. */
struct snap_track_io {
	struct hlist_node node;		/* in a tracker bucket */
	snap_chunk_t chunk;
	bool tracked;
};

struct snap_tracker *snap_tracker_create(void);
void snap_tracker_destroy(struct snap_tracker *t);
void snap_track(struct snap_tracker *t, struct snap_track_io *io,
		snap_chunk_t chunk);
void snap_untrack(struct snap_tracker *t, struct snap_track_io *io);
void snap_track_wait(struct snap_tracker *t, snap_chunk_t chunk);

static inline void snap_track_init(struct snap_track_io *io)
{
	io->tracked = false;
}

#endif /* DMX_SNAP_TRACK_H */
