// SPDX-License-Identifier: GPL-2.0
/*
 * Exception stores, the part both kinds share (include/dmx-snap-store.h):
 * the table of completed exceptions that every lookup reads, the COW
 * chunk cursor, and the calls into the kind's operations
 * (include/dmx-snap-store-ops.h).  The kinds decide what is durable and
 * when; an exception joins the table only once its kind says it is.
 */
#include <linux/blkdev.h>
#include <linux/slab.h>

#include "dmx-snap-store-ops.h"

struct snap_exception {
	struct snap_chunk_node node;	/* node.chunk is the old_chunk */
	snap_chunk_t new_chunk;
};

static struct kmem_cache *snap_exception_cache;

static struct snap_exception *snap_exception_of(struct snap_chunk_node *node)
{
	return container_of(node, struct snap_exception, node);
}

static void snap_exception_free(struct snap_chunk_node *node)
{
	kmem_cache_free(snap_exception_cache, snap_exception_of(node));
}

/* The constructor's checks of a chunk size, from a table or a header. */
int snap_store_check_chunk_size(u32 chunk_size, unsigned int block_bytes,
				const char **error)
{
	if (!chunk_size) {
		*error = "Chunk size not set";
		return -EINVAL;
	}
	if (!is_power_of_2(chunk_size)) {
		*error = "Chunk size is not a power of 2";
		return -EINVAL;
	}
	if (chunk_size % (block_bytes >> SECTOR_SHIFT)) {
		*error = "Chunk size is not a multiple of device blocksize";
		return -EINVAL;
	}
	if (chunk_size > SNAP_MAX_CHUNK_SECTORS) {
		*error = "Chunk size is too high";
		return -EINVAL;
	}
	return 0;
}

sector_t snap_store_cow_chunks(struct snap_store *st)
{
	return bdev_nr_sectors(st->cow) >> st->chunk_shift;
}

/* For the kinds' constructors: chunk_size is checked already. */
int snap_store_setup(struct snap_store *st, const struct snap_store_ops *ops,
		     enum snap_store_kind kind, struct block_device *cow,
		     u32 chunk_size)
{
	struct dmx_copier *copier;

	st->ops = ops;
	st->kind = kind;
	st->cow = cow;
	st->chunk_size = chunk_size;
	st->chunk_shift = __ffs(chunk_size);
	spin_lock_init(&st->lock);
	st->table = snap_chunk_table_create(snap_store_cow_chunks(st));
	if (!st->table)
		return -ENOMEM;
	copier = dmx_copy_create(max_t(u32, chunk_size, SNAP_COPY_PIECE_SECTORS));
	if (IS_ERR(copier))
		return PTR_ERR(copier);
	st->copier = copier;
	return 0;
}

/* Only while nothing else uses the store: at load and at the end. */
static void snap_store_clear(struct snap_store *st)
{
	snap_chunk_table_clear(st->table, snap_exception_free);
}

/* Every copy of the store's is done: its user waited for them. */
void snap_store_teardown(struct snap_store *st)
{
	dmx_copy_destroy(st->copier);
	st->copier = NULL;
	if (!st->table)
		return;
	snap_store_clear(st);
	snap_chunk_table_destroy(st->table);
	st->table = NULL;
}

int snap_store_create(enum snap_store_kind kind, struct block_device *cow,
		      u32 table_chunk_size, u32 known_chunk_size,
		      struct snap_store **result, const char **error)
{
	struct snap_store *st;

	if (kind == SNAP_STORE_PERSISTENT)
		st = snap_pstore_create(cow, table_chunk_size, known_chunk_size,
					error);
	else
		st = snap_tstore_create(cow, known_chunk_size ?: table_chunk_size,
					error);
	if (IS_ERR(st))
		return PTR_ERR(st);
	*result = st;
	return 0;
}

void snap_store_destroy(struct snap_store *st)
{
	if (st)
		st->ops->destroy(st);
}

enum snap_store_kind snap_store_kind(struct snap_store *st)
{
	return st->kind;
}

u32 snap_store_chunk_size(struct snap_store *st)
{
	return st->chunk_size;
}

struct dmx_copier *snap_store_copier(struct snap_store *st)
{
	return st->copier;
}

/*
 * The store's state from the COW device: 0, 1 for a store marked
 * invalid, or -errno and an empty table.  Nothing else uses the store
 * meanwhile; a later load starts over.
 */
int snap_store_load(struct snap_store *st, snap_chunk_t origin_chunks)
{
	int r;

	snap_store_clear(st);
	st->origin_chunks = origin_chunks;
	r = st->ops->load(st);
	if (r < 0)
		snap_store_clear(st);
	return r;
}

/*
 * An exception read from the COW device.  It must name an origin chunk
 * inside the origin (so that it cannot wrap onto another once shifted)
 * and one no other exception names: the store is corrupt otherwise.
 */
int snap_store_load_exception(struct snap_store *st, snap_chunk_t old_chunk,
			      snap_chunk_t new_chunk)
{
	struct snap_exception *e;

	if (old_chunk >= st->origin_chunks) {
		pr_err(SNAP_PREFIX "corrupt store: exception for chunk %llu, past the origin's end\n",
		       (unsigned long long)old_chunk);
		return -EINVAL;
	}
	if (snap_chunk_table_lookup(st->table, old_chunk)) {
		pr_err(SNAP_PREFIX "corrupt store: two exceptions for chunk %llu\n",
		       (unsigned long long)old_chunk);
		return -EINVAL;
	}
	e = kmem_cache_alloc(snap_exception_cache, GFP_NOIO);
	if (!e)
		return -ENOMEM;
	e->node.chunk = old_chunk;
	e->new_chunk = new_chunk;
	spin_lock(&st->lock);
	snap_chunk_table_insert(st->table, &e->node);
	spin_unlock(&st->lock);
	return 0;
}

bool snap_store_lookup(struct snap_store *st, snap_chunk_t old_chunk,
		       snap_chunk_t *new_chunk)
{
	struct snap_chunk_node *node;

	spin_lock(&st->lock);
	node = snap_chunk_table_lookup(st->table, old_chunk);
	if (node)
		*new_chunk = snap_exception_of(node)->new_chunk;
	spin_unlock(&st->lock);
	return node;
}

/* A free COW chunk for a new exception, or -ENOSPC; any context. */
int snap_store_prepare(struct snap_store *st, snap_chunk_t *new_chunk)
{
	int r;

	spin_lock(&st->lock);
	r = st->ops->prepare(st, new_chunk);
	spin_unlock(&st->lock);
	return r;
}

/*
 * Process context, or any if snap_store_commits_anywhere(); c->done
 * follows, in process context.
 */
void snap_store_commit(struct snap_store *st, struct snap_store_commit *c)
{
	st->ops->commit(st, c);
}

/* True if the kind queues commits: they may come from a bio's end_io. */
bool snap_store_commits_anywhere(struct snap_store *st)
{
	return st->ops->commit_anywhere;
}

/* The kind is done with c: list its exception, then call back. */
void snap_store_committed(struct snap_store *st, struct snap_store_commit *c,
			  int error)
{
	struct snap_exception *e = NULL;

	if (!error) {
		e = kmem_cache_alloc(snap_exception_cache, GFP_NOIO);
		if (!e)
			error = -ENOMEM;
	}
	if (e) {
		e->node.chunk = c->old_chunk;
		e->new_chunk = c->new_chunk;
		spin_lock(&st->lock);
		snap_chunk_table_insert(st->table, &e->node);
		spin_unlock(&st->lock);
	}
	c->done(c, error);
}

/* A merged exception leaves the table. */
void snap_store_forget(struct snap_store *st, snap_chunk_t old_chunk)
{
	struct snap_chunk_node *node;

	spin_lock(&st->lock);
	node = snap_chunk_table_lookup(st->table, old_chunk);
	if (node)
		snap_chunk_table_remove(node);
	spin_unlock(&st->lock);
	if (node)
		snap_exception_free(node);
}

/* Marks the store invalid on the COW device; process context. */
void snap_store_drop(struct snap_store *st)
{
	st->ops->drop(st);
}

void snap_store_usage(struct snap_store *st, sector_t *total,
		      sector_t *allocated, sector_t *metadata)
{
	*total = bdev_nr_sectors(st->cow);
	*allocated = snap_chunk_to_sector(READ_ONCE(st->next_free),
					  st->chunk_shift);
	*metadata = st->ops->metadata_sectors(st);
}

/*
 * Up to max of the newest exceptions, newest first: how many, 0 when
 * none is left, or -errno with the store as it was.
 */
int snap_store_merge_next(struct snap_store *st,
			  struct snap_merge_entry *entries, int max)
{
	if (!st->ops->merge_next)
		return -EOPNOTSUPP;
	return st->ops->merge_next(st, entries, max);
}

/*
 * Forgets, durably, the count newest exceptions, which merge_next gave
 * as entries; on an error the store is as it was.
 */
int snap_store_merge_commit(struct snap_store *st,
			    const struct snap_merge_entry *entries, int count)
{
	if (!st->ops->merge_commit)
		return -EOPNOTSUPP;
	return st->ops->merge_commit(st, entries, count);
}

int snap_store_init(void)
{
	int r;

	snap_exception_cache = KMEM_CACHE(snap_exception, 0);
	if (!snap_exception_cache)
		return -ENOMEM;
	r = snap_pstore_init();
	if (r)
		kmem_cache_destroy(snap_exception_cache);
	return r;
}

void snap_store_exit(void)
{
	snap_pstore_exit();
	kmem_cache_destroy(snap_exception_cache);
}
