// SPDX-License-Identifier: GPL-2.0
/*
 * The transient exception store (N): exceptions live in memory only,
 * so a commit is done as soon as it is asked for, and nothing but the
 * copied data is ever written to the COW device, from its chunk 0 on.
 */
#include <linux/blkdev.h>
#include <linux/slab.h>

#include "dmx-snap-store-ops.h"

static int snap_tstore_load(struct snap_store *st)
{
	st->next_free = 0;
	return 0;
}

static int snap_tstore_prepare(struct snap_store *st, snap_chunk_t *new_chunk)
{
	if (st->next_free >= snap_store_cow_chunks(st))
		return -ENOSPC;
	*new_chunk = st->next_free++;
	return 0;
}

static void snap_tstore_commit(struct snap_store *st,
			       struct snap_store_commit *c)
{
	snap_store_committed(st, c, 0);
}

/* Nothing on disk says a transient store is valid. */
static void snap_tstore_drop(struct snap_store *st)
{
}

static sector_t snap_tstore_metadata_sectors(struct snap_store *st)
{
	return 0;
}

static void snap_tstore_destroy(struct snap_store *st)
{
	snap_store_teardown(st);
	kfree(st);
}

static const struct snap_store_ops snap_tstore_ops = {
	.load			= snap_tstore_load,
	.prepare		= snap_tstore_prepare,
	.commit			= snap_tstore_commit,
	.drop			= snap_tstore_drop,
	.metadata_sectors	= snap_tstore_metadata_sectors,
	.destroy		= snap_tstore_destroy,
};

struct snap_store *snap_tstore_create(struct block_device *cow,
				      u32 chunk_size, const char **error)
{
	struct snap_store *st;
	int r;

	r = snap_store_check_chunk_size(chunk_size,
					bdev_logical_block_size(cow), error);
	if (r)
		return ERR_PTR(r);
	st = kzalloc(sizeof(*st), GFP_KERNEL);
	if (!st) {
		*error = "Cannot allocate exception store";
		return ERR_PTR(-ENOMEM);
	}
	r = snap_store_setup(st, &snap_tstore_ops, SNAP_STORE_TRANSIENT, cow,
			     chunk_size);
	if (r) {
		*error = "Cannot allocate exception table";
		snap_tstore_destroy(st);
		return ERR_PTR(r);
	}
	return st;
}
