/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hash tables keyed by origin chunk (dm-snap-table.c), for the completed
 * exceptions of a store and the pending exceptions of a snapshot.  The
 * entries are the users', with a struct snap_chunk_node in them; the
 * user's lock protects a table, which takes none of its own.
 */
#ifndef DMX_SNAP_TABLE_H
#define DMX_SNAP_TABLE_H

#include <linux/list.h>

#include "dmx-snap-chunk.h"

struct snap_chunk_table;

struct snap_chunk_node {
	struct hlist_node hash;
	snap_chunk_t chunk;
};

struct snap_chunk_table *snap_chunk_table_create(u64 expected);
void snap_chunk_table_destroy(struct snap_chunk_table *t);
struct snap_chunk_node *snap_chunk_table_lookup(struct snap_chunk_table *t,
						snap_chunk_t chunk);
void snap_chunk_table_insert(struct snap_chunk_table *t,
			     struct snap_chunk_node *node);
void snap_chunk_table_clear(struct snap_chunk_table *t,
			    void (*release)(struct snap_chunk_node *node));
bool snap_chunk_table_empty(struct snap_chunk_table *t);

static inline void snap_chunk_table_remove(struct snap_chunk_node *node)
{
	hlist_del_init(&node->hash);
}

#endif /* DMX_SNAP_TABLE_H */
