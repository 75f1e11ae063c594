/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A snapshot, shared by the three files that make up the snapshot and
 * snapshot-merge targets: dm-target-snapshot.c (the targets),
 * dm-snap-cow.c (copy-on-write) and dm-snap-merge.c (merging).  The
 * rest of the module sees struct snapshot as opaque.
 */
#ifndef DMX_SNAPSHOT_H
#define DMX_SNAPSHOT_H

#include <linux/bio.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "dmx-copy.h"
#include "dmx-snap-cow.h"
#include "dmx-snap-origin.h"
#include "dmx-snap-store.h"
#include "dmx-snap-table.h"
#include "dmx-snap-track.h"

enum snap_life {
	SNAP_LOADED,		/* constructed, unknown to its origin */
	SNAP_STARTING,		/* listed, taking over from its predecessor */
	SNAP_ACTIVE,		/* listed, exceptions loaded */
	SNAP_RETIRED,		/* handed its exceptions to a successor */
};

#define SNAP_MERGE_BATCH	64

/* merge_flags bits. */
enum {
	SNAP_MERGE_RUNNING,	/* a merge step is queued or in flight */
	SNAP_MERGE_STOP,	/* finish the step in flight, start no other */
};

/* Per-bio data of both targets: the origin gate's part comes first. */
struct snap_io {
	struct snap_origin_io origin;
	struct snap_track_io track;
};

struct snapshot {
	struct dmx_target *ti;
	struct dmx_dev *origin;
	struct dmx_dev *cow;
	struct snap_origin *o;		/* registry entry of the origin */
	struct snap_origin_member member;
	bool merge;			/* a snapshot-merge target */
	bool overflow_ok;		/* PO: a full COW is an Overflow */
	/* Settled by the constructor; a load or takeover must agree. */
	u32 chunk_size;
	unsigned int chunk_shift;

	/*
	 * Protects what the bio path decides on: life, valid, dropping,
	 * overflowed, merge_failed, the pending exceptions, deferred,
	 * drop_bios, parked and the merge batch with the bios it holds.
	 * Nests inside the origin's lock; the store's nests inside it.
	 */
	spinlock_t lock;
	enum snap_life life;
	bool valid;
	bool dropping;			/* invalid, but not yet on disk */
	bool overflowed;
	bool merge_failed;

	/*
	 * What the COW device holds, and its copy engine.  A successor on
	 * the same COW device takes it over at its resume, once nothing is
	 * pending.
	 */
	struct snap_store *store;

	struct snap_chunk_table *pending;
	atomic_t nr_pending;		/* pending exceptions not yet freed */
	struct snap_tracker *tracker;	/* snapshot reads on the origin */

	struct bio_list deferred;	/* writes that need a new exception */
	struct work_struct write_work;
	struct work_struct drop_work;	/* marks the store invalid on disk */
	int drop_error;			/* why, for the log */
	struct bio_list drop_bios;	/* origin writes waiting for that */
	struct bio_list parked;		/* origin writes held while STARTING */

	bool suspended;			/* registry lock */

	/* snapshot-merge: the batch being merged and its progress. */
	unsigned long merge_flags;
	struct work_struct merge_work;
	struct work_struct merge_done_work;
	struct snap_merge_entry merge_batch[SNAP_MERGE_BATCH];
	struct snap_origin_extent merge_extents[SNAP_MERGE_BATCH];
	int merge_nr;			/* lock: writes to these chunks wait */
	struct bio_list merge_held;	/* lock */
	atomic_t merge_copies;
	int merge_error;
	struct snap_origin_io merge_io;	/* holds the origin while copying */
};

static inline snap_chunk_t snapshot_chunk(struct snapshot *s, sector_t sector)
{
	return snap_sector_to_chunk(sector, s->chunk_shift);
}

static inline sector_t snapshot_sector(struct snapshot *s, snap_chunk_t chunk)
{
	return snap_chunk_to_sector(chunk, s->chunk_shift);
}

/* dm-snap-cow.c: copy-on-write. */
void snapshot_remap_to_cow(struct snapshot *s, struct bio *bio,
			   snap_chunk_t new_chunk);
struct snap_pending *snapshot_queue_write_locked(struct snapshot *s,
						 struct bio *bio,
						 snap_chunk_t chunk);
void snapshot_start_write(struct snap_pending *pe);
void snapshot_invalidate(struct snapshot *s, int error);
void snapshot_drop_work(struct work_struct *work);
void snapshot_write_work(struct work_struct *work);
void snapshot_wait_for_copies(struct snapshot *s);
int snapshot_cow_init(void);
void snapshot_cow_exit(void);

/* dm-snap-merge.c: merging a snapshot back into its origin. */
void snap_merge_init(struct snapshot *s);
void snap_merge_start(struct snapshot *s);
void snap_merge_stop(struct snapshot *s);
int snapshot_merge_route(struct snapshot *s, struct bio *bio);
int snap_merge_module_init(void);
void snap_merge_module_exit(void);

#endif /* DMX_SNAPSHOT_H */
