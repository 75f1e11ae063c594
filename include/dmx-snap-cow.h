/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What an origin asks of each of its snapshots (dm-snap-cow.c), with
 * the origin's lock held: whether a range may be overwritten, and to
 * copy what it still needs first; and the steps of a snapshot's life
 * that must happen between two of the origin's decisions.
 */
#ifndef DMX_SNAP_COW_H
#define DMX_SNAP_COW_H

#include <linux/bio.h>
#include <linux/list.h>

struct snapshot;
struct snap_pending;

/*
 * The copies the scans of one decision made, to start once no lock is
 * held (copies of one chunk for several snapshots together), and one
 * pending exception allocated beforehand, without a lock, for the next
 * scan to use.
 */
struct snap_cow_batch {
	struct list_head start;
	struct snap_pending *spare;
};

/* What a snapshot needs before a range of the origin is overwritten. */
enum snap_cow_need {
	SNAP_COW_CLEAR,		/* nothing: the range may be written */
	SNAP_COW_WAIT,		/* copies, or its start, to wait for */
	SNAP_COW_NEED_SPARE,	/* a new copy, but no spare to make it */
};

void snap_cow_batch_init(struct snap_cow_batch *b);
void snap_cow_batch_refill(struct snap_cow_batch *b);
bool snap_cow_batch_refill_nowait(struct snap_cow_batch *b);
void snap_cow_batch_start(struct snap_cow_batch *b);
bool snap_cow_batch_start_nowait(struct snap_cow_batch *b);
void snap_cow_batch_move(struct snap_cow_batch *to, struct snap_cow_batch *from);
void snap_cow_batch_exit(struct snap_cow_batch *b);

enum snap_cow_need snapshot_prepare_overwrite(struct snapshot *s,
					      sector_t sector, sector_t len,
					      struct bio **bio,
					      struct snap_cow_batch *b);
void snapshot_retire_locked(struct snapshot *s);
void snapshot_mark_starting_locked(struct snapshot *s);
void snapshot_activate_locked(struct snapshot *s, struct bio_list *parked);

#endif /* DMX_SNAP_COW_H */
