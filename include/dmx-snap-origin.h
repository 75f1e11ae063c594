/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Origins of snapshots (dm-snap-origin.c): the registry, one entry per
 * origin device, shared by the snapshot-origin targets on it and the
 * snapshots of it; and the origin's write gate, which every write to
 * the origin goes through: a write goes on once every snapshot listed
 * on the origin holds its copy of the chunks the write changes.
 */
#ifndef DMX_SNAP_ORIGIN_H
#define DMX_SNAP_ORIGIN_H

#include <linux/bio.h>
#include <linux/list.h>

struct snap_origin;
struct snapshot;

/* A snapshot's place on its origin, in the snapshot. */
struct snap_origin_member {
	/* On members (registry and origin locks) or loading (registry lock). */
	struct list_head node;
	struct snapshot *snap;
	dev_t cow_dev;
	bool merging;
};

/*
 * The gate's part of the per-bio data of every target that writes to
 * an origin, first in it: the write's place in the count of writes in
 * flight that a joining snapshot waits for.
 */
struct snap_origin_io {
	bool counted;
	unsigned int gen;
};

/* A range the merge writes to the origin. */
struct snap_origin_extent {
	sector_t sector;
	sector_t len;
};

void snap_registry_lock(void);
void snap_registry_unlock(void);
struct snap_origin *snap_origin_get(dev_t dev);
void snap_origin_put(struct snap_origin *o);
struct snapshot *snap_origin_find_cow(struct snap_origin *o, dev_t cow,
				      struct snapshot *except);
struct snapshot *snap_origin_find_merging(struct snap_origin *o,
					  struct snapshot *except);
void snap_origin_lock_starts(struct snap_origin *o);
void snap_origin_unlock_starts(struct snap_origin *o);
void snap_origin_reserve(struct snap_origin *o, struct snap_origin_member *m);
void snap_origin_unreserve(struct snap_origin *o, struct snap_origin_member *m);
void snap_origin_attach(struct snap_origin *o, struct snap_origin_member *m);
void snap_origin_detach(struct snap_origin *o, struct snap_origin_member *m);
void snap_origin_replace(struct snap_origin *o, struct snap_origin_member *old,
			 struct snap_origin_member *m);
void snap_origin_activate(struct snap_origin *o, struct snap_origin_member *m);

static inline void snap_origin_io_init(struct snap_origin_io *io)
{
	io->counted = false;
}

int snap_origin_map_write(struct snap_origin *o, struct bio *bio);
void snap_origin_end_write(struct snap_origin *o, struct snap_origin_io *io);
void snap_origin_copied(struct snap_origin *o, struct bio_list *bios);
void snap_origin_requeue(struct snap_origin *o, struct bio_list *bios);
void snap_origin_claim(struct snap_origin *o,
		       const struct snap_origin_extent *extents,
		       unsigned int count, struct snap_origin_io *io);

int snap_origin_init(void);
void snap_origin_exit(void);

/* The snapshot-origin target (dm-target-origin.c). */
int dmx_snap_origin_target_init(void);
void dmx_snap_origin_target_exit(void);

#endif /* DMX_SNAP_ORIGIN_H */
