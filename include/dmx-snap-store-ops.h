/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Between the common part of the exception stores (dm-snap-store.c)
 * and their two kinds (dm-snap-store-persistent.c,
 * dm-snap-store-transient.c); nothing else includes this.
 */
#ifndef DMX_SNAP_STORE_OPS_H
#define DMX_SNAP_STORE_OPS_H

#include <linux/spinlock.h>

#include "dmx-copy.h"
#include "dmx-snap-store.h"
#include "dmx-snap-table.h"

struct snap_store_ops {
	/* 0, 1 for a store marked invalid, or -errno. */
	int (*load)(struct snap_store *st);
	/* A free COW chunk; st->lock held. */
	int (*prepare)(struct snap_store *st, snap_chunk_t *new_chunk);
	/*
	 * Ends with snap_store_committed(); from process context, or from
	 * any if commit_anywhere.
	 */
	void (*commit)(struct snap_store *st, struct snap_store_commit *c);
	bool commit_anywhere;
	void (*drop)(struct snap_store *st);
	sector_t (*metadata_sectors)(struct snap_store *st);
	int (*merge_next)(struct snap_store *st,
			  struct snap_merge_entry *entries, int max);
	int (*merge_commit)(struct snap_store *st,
			    const struct snap_merge_entry *entries, int count);
	void (*destroy)(struct snap_store *st);
};

struct snap_store {
	const struct snap_store_ops *ops;
	enum snap_store_kind kind;
	struct block_device *cow;
	u32 chunk_size;
	unsigned int chunk_shift;
	snap_chunk_t origin_chunks;	/* from load on: old_chunk is below */
	struct dmx_copier *copier;	/* writes this COW device's chunks */

	/* Protects table and next_free: the in-memory map of the COW. */
	spinlock_t lock;
	struct snap_chunk_table *table;
	snap_chunk_t next_free;		/* the next COW chunk to hand out */
};

int snap_store_setup(struct snap_store *st, const struct snap_store_ops *ops,
		     enum snap_store_kind kind, struct block_device *cow,
		     u32 chunk_size);
void snap_store_teardown(struct snap_store *st);
sector_t snap_store_cow_chunks(struct snap_store *st);
int snap_store_load_exception(struct snap_store *st, snap_chunk_t old_chunk,
			      snap_chunk_t new_chunk);
void snap_store_committed(struct snap_store *st, struct snap_store_commit *c,
			  int error);
void snap_store_forget(struct snap_store *st, snap_chunk_t old_chunk);

struct snap_store *snap_pstore_create(struct block_device *cow,
				      u32 table_chunk_size,
				      u32 known_chunk_size,
				      const char **error);
struct snap_store *snap_tstore_create(struct block_device *cow,
				      u32 chunk_size, const char **error);
int snap_pstore_init(void);
void snap_pstore_exit(void);

#endif /* DMX_SNAP_STORE_OPS_H */
