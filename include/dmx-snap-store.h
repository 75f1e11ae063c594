/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The exception store of a snapshot (dm-snap-store*.c): which origin
 * chunks have their copy on the COW device, and where.  A transient
 * store (N) keeps that in memory only; a persistent one (P, PO) also on
 * the COW device, in the stock dm-snapshot's layout.
 *
 * The snapshot asks the store for a free COW chunk (prepare), copies
 * the origin chunk there, then has the store record the exception
 * (commit), which calls back once it is durable and can be looked up.
 * A merge takes the newest exceptions (merge_next), copies them back
 * and has the store forget them (merge_commit).  The store owns the
 * copy engine that writes its COW device, so that both go together to
 * a table that takes the store over.
 */
#ifndef DMX_SNAP_STORE_H
#define DMX_SNAP_STORE_H

#include <linux/blk_types.h>
#include <linux/list.h>

#include "dmx-snap-chunk.h"

struct snap_store;

enum snap_store_kind {
	SNAP_STORE_TRANSIENT,		/* N */
	SNAP_STORE_PERSISTENT,		/* P, PO */
};

/*
 * An exception to record, in the caller's own structure.  The store
 * owns it from snap_store_commit() until done runs, in process context:
 * error is 0 once the exception is durable and lookups find it.
 */
struct snap_store_commit {
	snap_chunk_t old_chunk;
	snap_chunk_t new_chunk;
	void (*done)(struct snap_store_commit *commit, int error);
	struct list_head node;		/* the store's while it owns it */
};

/*
 * The most a store's copier moves in one piece, a read and a write of
 * each destination (a chunk, if chunks are larger): what a merge copies
 * at once of consecutive chunks.  Its pages are the copier's reserve.
 */
#define SNAP_COPY_PIECE_SECTORS	256

struct snap_merge_entry {
	snap_chunk_t old_chunk;
	snap_chunk_t new_chunk;
};

int snap_store_create(enum snap_store_kind kind, struct block_device *cow,
		      u32 table_chunk_size, u32 known_chunk_size,
		      struct snap_store **result, const char **error);
void snap_store_destroy(struct snap_store *st);
enum snap_store_kind snap_store_kind(struct snap_store *st);
int snap_store_check_chunk_size(u32 chunk_size, unsigned int block_bytes,
				const char **error);
u32 snap_store_chunk_size(struct snap_store *st);
struct dmx_copier *snap_store_copier(struct snap_store *st);

int snap_store_load(struct snap_store *st, snap_chunk_t origin_chunks);
bool snap_store_lookup(struct snap_store *st, snap_chunk_t old_chunk,
		       snap_chunk_t *new_chunk);
int snap_store_prepare(struct snap_store *st, snap_chunk_t *new_chunk);
void snap_store_commit(struct snap_store *st, struct snap_store_commit *c);
bool snap_store_commits_anywhere(struct snap_store *st);
void snap_store_drop(struct snap_store *st);
void snap_store_usage(struct snap_store *st, sector_t *total,
		      sector_t *allocated, sector_t *metadata);
int snap_store_merge_next(struct snap_store *st,
			  struct snap_merge_entry *entries, int max);
int snap_store_merge_commit(struct snap_store *st,
			    const struct snap_merge_entry *entries, int count);

int snap_store_init(void);
void snap_store_exit(void);

#endif /* DMX_SNAP_STORE_H */
