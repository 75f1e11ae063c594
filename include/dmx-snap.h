/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internals shared by the snapshot targets: the chunk copy engine
 * (dm-snap-copy.c), the in-memory exception tables (dm-snap-exception.c),
 * the exception stores (dm-snap-store.c), copy-on-write (dm-snap-cow.c),
 * the snapshot and snapshot-merge targets (dm-target-snapshot.c,
 * dm-snap-merge.c) and the snapshot-origin target with the registry of
 * origins (dm-target-origin.c).
 *
 * Vocabulary: a chunk is chunk_size sectors; an exception says that
 * origin chunk old_chunk has its snapshot copy in COW chunk new_chunk; a
 * pending exception is one whose copy or commit is still in flight.
 */
#ifndef DMX_SNAP_H
#define DMX_SNAP_H

#include <linux/bio.h>
#include <linux/list.h>
#include <linux/mempool.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "dmx.h"

#define SNAP_PREFIX		DMX_MSG_PREFIX ": snapshot: "

/* Largest chunk: one copy is one bio of at most BIO_MAX_VECS pages. */
#define SNAP_MAX_CHUNK_SECTORS	((BIO_MAX_VECS * PAGE_SIZE) >> SECTOR_SHIFT)

typedef u64 snap_chunk_t;

struct snapshot;
struct snap_origin;

/*
 * Module-wide workqueues.  snap_wq runs the slow paths of bios and the
 * merge; snap_meta_wq commits metadata and finishes pending exceptions.
 * They are separate so that a slow path waiting for a pending exception
 * to finish never holds up the worker that would finish it.
 */
extern struct workqueue_struct *snap_wq;
extern struct workqueue_struct *snap_meta_wq;

/* dm-snap-copy.c: asynchronous copies between block devices. */

struct snap_copier;

/* Called in process context; may sleep.  error is 0 or a -errno. */
typedef void (*snap_copy_fn)(int error, void *context);

struct snap_copier *snap_copier_create(unsigned int max_sectors);
void snap_copier_destroy(struct snap_copier *c);
void snap_copy(struct snap_copier *c,
	       struct block_device *src, sector_t src_sector,
	       struct block_device *dst, sector_t dst_sector,
	       sector_t count, snap_copy_fn fn, void *context);

/* dm-snap-exception.c: exception tables, pending exceptions, tracking. */

struct snap_exception {
	struct hlist_node node;		/* in a snap_table bucket */
	snap_chunk_t old_chunk;		/* on the origin */
	snap_chunk_t new_chunk;		/* on the COW device */
};

/* A hash from old_chunk to exception; the owner's lock protects it. */
struct snap_table {
	struct hlist_head *buckets;
	unsigned int mask;
};

int snap_table_init(struct snap_table *t, u64 expected);
void snap_table_clear(struct snap_table *t);
void snap_table_exit(struct snap_table *t);
struct snap_exception *snap_table_lookup(struct snap_table *t,
					 snap_chunk_t old_chunk);
void snap_table_insert(struct snap_table *t, struct snap_exception *e);

static inline void snap_table_remove(struct snap_exception *e)
{
	hlist_del(&e->node);
}

struct snap_exception *snap_exception_alloc(gfp_t gfp);
void snap_exception_free(struct snap_exception *e);

/*
 * A chunk being copied into a snapshot's COW device.  The bios that
 * must wait for it are parked here until its exception is committed.
 */
struct snap_pending {
	struct snap_exception e;	/* in snapshot->pending */
	struct snapshot *snap;
	struct bio_list origin_bios;	/* origin writes to release */
	struct bio_list snap_bios;	/* snapshot writes to remap */
	struct bio *full_bio;		/* a write covering the chunk: the copy */
	bio_end_io_t *full_bio_end_io;
	void *full_bio_private;
	int error;
	struct list_head node;		/* start list, then commit queue */
	struct work_struct work;
};

int snap_pending_pool_init(mempool_t *pool);
struct snap_pending *snap_pending_alloc(mempool_t *pool, gfp_t gfp);
void snap_pending_free(mempool_t *pool, struct snap_pending *pe);

/*
 * Every freed pending exception moves the progress count; a path that
 * ran out of pending exceptions, or waits for other snapshots' copies,
 * sleeps until it moves.
 */
u64 snap_progress_read(void);
void snap_progress_wait(u64 seen);

/* Per-clone data of every snapshot target (ti->per_io_data_size). */
struct snap_io {
	struct hlist_node track_node;	/* in a snap_tracker bucket */
	snap_chunk_t chunk;
	bool tracked;
	bool origin_counted;		/* holds origin->inflight[origin_gen] */
	unsigned int origin_gen;
};

#define SNAP_TRACK_BUCKETS	64

/*
 * Bios in flight against chunks that may change under them: snapshot
 * reads sent to the origin, merge-target writes to the COW device.
 */
struct snap_tracker {
	spinlock_t lock;		/* protects hash; taken at bio completion */
	struct hlist_head hash[SNAP_TRACK_BUCKETS];
	wait_queue_head_t wait;		/* woken as tracked bios finish */
};

void snap_tracker_init(struct snap_tracker *t);
void snap_track(struct snap_tracker *t, struct snap_io *io, snap_chunk_t chunk);
void snap_untrack(struct snap_tracker *t, struct snap_io *io);
void snap_track_wait(struct snap_tracker *t, snap_chunk_t chunk);

int snap_exception_init(void);
void snap_exception_exit(void);

/* dm-snap-store.c: exception stores. */

enum snap_store_kind {
	SNAP_STORE_TRANSIENT,		/* N: exceptions in memory only */
	SNAP_STORE_PERSISTENT,		/* P, PO: the upstream on-disk layout */
};

struct snap_store {
	enum snap_store_kind kind;
	struct block_device *cow;
	u32 chunk_size;			/* sectors, a power of two */
	unsigned int chunk_shift;

	/* Next data chunk to hand out; the owning snapshot's lock. */
	snap_chunk_t next_free;

	/* Persistent stores only. */
	u32 exceptions_per_area;
	bool valid;			/* what the header says (or will) */
	bool fresh;			/* header read at ctr had no magic */
	void *area;			/* the current metadata area */
	void *zero_area;
	void *header;
	struct mutex header_lock;	/* protects header and its writes */
	/*
	 * current_area and current_committed belong to the commit worker
	 * while the store is live, to load and to the merge otherwise (a
	 * merging snapshot never commits new exceptions).
	 */
	snap_chunk_t current_area;
	u32 current_committed;
	spinlock_t commit_lock;		/* protects commit_queue */
	struct list_head commit_queue;	/* copied pending exceptions */
	struct work_struct commit_work;
};

struct snap_merge_entry {
	snap_chunk_t old_chunk;
	snap_chunk_t new_chunk;
};

int snap_store_create(enum snap_store_kind kind, struct block_device *cow,
		      u32 chunk_size, struct snap_store **result);
void snap_store_destroy(struct snap_store *st);
int snap_store_read_header(struct snap_store *st, const char **error);
int snap_store_set_chunk_size(struct snap_store *st, u32 chunk_size);
int snap_store_load(struct snap_store *st,
		    int (*add)(void *context, snap_chunk_t old_chunk,
			       snap_chunk_t new_chunk),
		    void *context);
int snap_store_alloc_chunk(struct snap_store *st, snap_chunk_t *new_chunk);
void snap_store_commit(struct snap_store *st, struct snap_pending *pe);
void snap_store_drop(struct snap_store *st);
void snap_store_usage(struct snap_store *st, sector_t *total,
		      sector_t *allocated, sector_t *metadata);
int snap_store_merge_batch(struct snap_store *st,
			   struct snap_merge_entry *entries, int max);
int snap_store_commit_merge(struct snap_store *st, int count);

/* The snapshot and snapshot-merge targets (dm-target-snapshot.c). */

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

struct snapshot {
	struct dmx_target *ti;
	struct dmx_dev *origin;
	struct dmx_dev *cow;
	struct snap_origin *o;		/* registry entry of the origin */
	bool merge;			/* a snapshot-merge target */
	bool overflow_ok;		/* PO: a full COW is an Overflow */

	/*
	 * Protects life, valid, overflowed, merge_failed, both exception
	 * tables, chunk allocation in store, deferred, drop_bios and the
	 * merge batch with the bios it holds.  Nests inside the origin's
	 * lock.
	 */
	spinlock_t lock;
	enum snap_life life;
	bool valid;
	bool overflowed;
	bool merge_failed;

	/*
	 * What the COW device holds.  A successor on the same COW takes
	 * these three over at its resume; they are only swapped while
	 * nothing is pending.
	 */
	struct snap_table complete;
	struct snap_store *store;
	struct snap_copier *copier;

	struct snap_table pending;
	mempool_t pending_pool;
	atomic_t nr_pending;		/* pending exceptions not yet freed */
	wait_queue_head_t pending_wait;	/* woken when nr_pending reaches 0 */

	struct snap_tracker tracker;

	struct bio_list deferred;	/* writes that need a new exception */
	struct work_struct write_work;
	struct work_struct drop_work;	/* marks the store invalid on disk */
	struct bio_list drop_bios;	/* origin writes waiting for that */

	struct list_head origin_node;	/* in o->snapshots; o->lock */
	struct bio_list parked;		/* origin writes held while STARTING */

	bool suspended;			/* snap_registry_lock */

	/* snapshot-merge: the batch being merged and its progress. */
	unsigned long merge_flags;
	struct work_struct merge_work;
	struct work_struct merge_done_work;
	struct snap_merge_entry merge_batch[SNAP_MERGE_BATCH];
	int merge_nr;			/* lock: writes to these chunks wait */
	struct bio_list merge_held;	/* lock */
	atomic_t merge_copies;
	int merge_error;
	struct snap_io merge_io;	/* holds the origin while copying */
};

static inline snap_chunk_t snap_sector_to_chunk(struct snap_store *st,
						sector_t sector)
{
	return sector >> st->chunk_shift;
}

static inline sector_t snap_chunk_to_sector(struct snap_store *st,
					    snap_chunk_t chunk)
{
	return chunk << st->chunk_shift;
}

/* dm-snap-cow.c: copy-on-write. */
void snapshot_remap_to_cow(struct snapshot *s, struct bio *bio,
			   struct snap_exception *e);
struct snap_pending *snapshot_find_pending(struct snapshot *s,
					   snap_chunk_t chunk);
void snap_pending_committed(struct snap_pending *pe, int error);
void snapshot_invalidate(struct snapshot *s, int error);
void snapshot_drop_work(struct work_struct *work);
bool snapshot_has_copies(struct snapshot *s, sector_t sector, sector_t len);
int snapshot_prepare_overwrite(struct snapshot *s, sector_t sector,
			       sector_t len, struct bio **bio,
			       struct list_head *start);
void snapshot_start_copies(struct list_head *start);
void snapshot_write_work(struct work_struct *work);

/* dm-snap-merge.c: merging a snapshot back into its origin. */
void snap_merge_init(struct snapshot *s);
void snap_merge_start(struct snapshot *s);
void snap_merge_stop(struct snapshot *s);
bool snap_merge_chunk_busy(struct snapshot *s, snap_chunk_t chunk);
int snapshot_merge_route(struct snapshot *s, struct bio *bio);

/* dm-target-origin.c: the registry of origins and the origin target. */

struct snap_origin {
	struct list_head node;		/* in snap_origins */
	dev_t dev;
	unsigned int refs;		/* targets using it; registry lock */

	/*
	 * Protects snapshots (who is listed, and each listed snapshot's
	 * parked bios), gen and deferred.  An origin write holds it across
	 * the whole "does any snapshot still need a copy" decision, so a
	 * snapshot joins the list only between two decisions.
	 */
	spinlock_t lock;
	struct list_head snapshots;
	unsigned int gen;
	/* Writes let through to the origin, by the generation they saw. */
	atomic_t inflight[2];
	wait_queue_head_t drained;
	struct bio_list deferred;	/* writes for the slow path */
	struct work_struct work;
};

void snap_registry_lock(void);
void snap_registry_unlock(void);
struct snap_origin *snap_origin_get(dev_t dev);
void snap_origin_put(struct snap_origin *o);
struct snapshot *snap_origin_find_cow(struct snap_origin *o, dev_t cow,
				      struct snapshot *except);
struct snapshot *snap_origin_find_merging(struct snap_origin *o,
					  struct snapshot *except);
void snap_origin_attach(struct snap_origin *o, struct snapshot *s);
void snap_origin_detach(struct snap_origin *o, struct snapshot *s);
void snap_origin_replace(struct snap_origin *o, struct snapshot *old,
			 struct snapshot *s);
void snap_origin_activate(struct snap_origin *o, struct snapshot *s);
void snap_origin_requeue(struct snap_origin *o, struct bio_list *bios);
void snap_origin_release(struct snap_origin *o, struct bio_list *bios);
int snap_origin_map_write(struct snap_origin *o, struct bio *bio);
void snap_origin_end_write(struct snap_origin *o, struct snap_io *io);
void snap_origin_claim(struct snap_origin *o,
		       const struct snap_merge_entry *entries, int count,
		       struct snap_store *st, struct snap_io *io);

int dmx_snap_origin_init(void);
void dmx_snap_origin_exit(void);

#endif /* DMX_SNAP_H */
