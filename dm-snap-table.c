// SPDX-License-Identifier: GPL-2.0
/*
 * Hash tables keyed by origin chunk, sized when made for the entries
 * they are expected to hold (include/dmx-snap-table.h).  Consecutive
 * chunks land in consecutive buckets, which is how copies come.
 */
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "dmx-snap-table.h"

/* At most 2^18 buckets (2 MiB) per table, at least 64. */
#define SNAP_TABLE_MIN_BUCKETS	64U
#define SNAP_TABLE_MAX_BUCKETS	(1U << 18)

struct snap_chunk_table {
	unsigned int mask;
	struct hlist_head buckets[];
};

struct snap_chunk_table *snap_chunk_table_create(u64 expected)
{
	struct snap_chunk_table *t;
	unsigned int i, size;

	expected = clamp_t(u64, expected, SNAP_TABLE_MIN_BUCKETS,
			   SNAP_TABLE_MAX_BUCKETS);
	size = rounddown_pow_of_two(expected);
	t = kvmalloc(struct_size(t, buckets, size), GFP_KERNEL);
	if (!t)
		return NULL;
	for (i = 0; i < size; i++)
		INIT_HLIST_HEAD(&t->buckets[i]);
	t->mask = size - 1;
	return t;
}

/* The table must be empty: its entries are not its own to free. */
void snap_chunk_table_destroy(struct snap_chunk_table *t)
{
	if (!t)
		return;
	WARN_ON_ONCE(!snap_chunk_table_empty(t));
	kvfree(t);
}

static struct hlist_head *snap_chunk_table_bucket(struct snap_chunk_table *t,
						  snap_chunk_t chunk)
{
	return &t->buckets[chunk & t->mask];
}

struct snap_chunk_node *snap_chunk_table_lookup(struct snap_chunk_table *t,
						snap_chunk_t chunk)
{
	struct snap_chunk_node *node;

	hlist_for_each_entry(node, snap_chunk_table_bucket(t, chunk), hash)
		if (node->chunk == chunk)
			return node;
	return NULL;
}

void snap_chunk_table_insert(struct snap_chunk_table *t,
			     struct snap_chunk_node *node)
{
	hlist_add_head(&node->hash, snap_chunk_table_bucket(t, node->chunk));
}

/* Takes every entry out of t and hands it to release. */
void snap_chunk_table_clear(struct snap_chunk_table *t,
			    void (*release)(struct snap_chunk_node *node))
{
	struct snap_chunk_node *node;
	struct hlist_node *tmp;
	unsigned int i;

	for (i = 0; i <= t->mask; i++) {
		hlist_for_each_entry_safe(node, tmp, &t->buckets[i], hash) {
			hlist_del_init(&node->hash);
			release(node);
		}
	}
}

bool snap_chunk_table_empty(struct snap_chunk_table *t)
{
	unsigned int i;

	for (i = 0; i <= t->mask; i++)
		if (!hlist_empty(&t->buckets[i]))
			return false;
	return true;
}
