// SPDX-License-Identifier: GPL-2.0
/*
 * Copy-on-write btrees in persistent-data's format: lookup, insert,
 * walk, delete (removal with rebalancing is dm-pdata-btree-remove.c).
 *
 * Changes go top-down: every node on the path is shadowed before it is
 * changed, and a full node is split before we descend into it, so there
 * is always room in the parent for the entry a split adds.  A full root
 * splits beneath itself and stays the root.  A node shared with another
 * tree is copied as it is shadowed and its children gain a referrer.
 */
#include <linux/slab.h>

#include "dmx-pdata-node.h"

#define PDATA_BTREE_CSUM_XOR	121107

static int pdata_node_check(const void *data)
{
	const struct pdata_node *n = data;
	u32 flags = le32_to_cpu(n->h.flags);
	u32 vs = pdata_node_vs(n);
	u32 max = pdata_node_max(n);

	if (flags != PDATA_NODE_INTERNAL && flags != PDATA_NODE_LEAF)
		return -EILSEQ;
	if (vs > PDATA_BLOCK_SIZE ||
	    sizeof(n->h) + (u64)(sizeof(__le64) + vs) * max > PDATA_BLOCK_SIZE)
		return -EILSEQ;
	if (pdata_node_nr(n) > max)
		return -EILSEQ;
	if (flags == PDATA_NODE_INTERNAL && vs != sizeof(__le64))
		return -EILSEQ;
	return 0;
}

const struct pdata_validator pdata_btree_validator = {
	.name = "btree node",
	.csum_xor = PDATA_BTREE_CSUM_XOR,
	.check = pdata_node_check,
};

/* The last entry with a key at most key, or -1. */
int pdata_node_lower_bound(const struct pdata_node *n, u64 key)
{
	int lo = -1, hi = pdata_node_nr(n);

	while (hi - lo > 1) {
		int mid = lo + (hi - lo) / 2;

		if (pdata_node_key(n, mid) <= key)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

void pdata_node_insert_at(struct pdata_node *n, u32 i, u64 key,
			  const void *value)
{
	u32 nr = pdata_node_nr(n);

	if (i < nr)
		pdata_node_shift(n, i, 1);
	n->keys[i] = cpu_to_le64(key);
	memcpy(pdata_node_value(n, i), value, pdata_node_vs(n));
	pdata_node_set_nr(n, nr + 1);
}

void pdata_node_delete_at(struct pdata_node *n, u32 i)
{
	u32 nr = pdata_node_nr(n);

	if (i + 1 < nr)
		pdata_node_shift(n, i + 1, -1);
	pdata_node_set_nr(n, nr - 1);
}

static int pdata_leaf_check(const struct pdata_btree *t, struct pdata_node *n)
{
	if (!pdata_node_is_leaf(n) || pdata_node_vs(n) == t->vt.size)
		return 0;
	pr_err_ratelimited("dmx: pdata: btree leaf of %u-byte values, want %u\n",
			   pdata_node_vs(n), t->vt.size);
	return -EILSEQ;
}

static int pdata_node_get(const struct pdata_btree *t, pdata_block_t b,
			  bool try, struct pdata_block **result)
{
	int r;

	if (try)
		r = pdata_tm_read_try(t->tm, b, &pdata_btree_validator, result);
	else
		r = pdata_tm_read(t->tm, b, &pdata_btree_validator, result);
	if (r)
		return r;
	r = pdata_leaf_check(t, pdata_node(*result));
	if (r)
		pdata_bm_put(*result);
	return r;
}

int pdata_node_read(const struct pdata_btree *t, pdata_block_t b,
		    struct pdata_block **result)
{
	return pdata_node_get(t, b, false, result);
}

/*
 * Node b of a recursive walk, depth levels down: -EILSEQ past the depth
 * no valid tree has, so that a cycle in a corrupt tree ends the walk.
 */
static int pdata_node_read_at(const struct pdata_btree *t, pdata_block_t b,
			      unsigned int depth, struct pdata_block **result)
{
	if (depth >= PDATA_MAX_DEPTH)
		return -EILSEQ;
	return pdata_node_read(t, b, result);
}

/* The copy of a shared node is one more referrer of what it points at. */
static int pdata_inc_children(const struct pdata_btree *t, struct pdata_node *n)
{
	u32 i, nr = pdata_node_nr(n);
	int r = 0;

	for (i = 0; i < nr && !r; i++) {
		if (!pdata_node_is_leaf(n))
			r = pdata_tm_inc(t->tm, pdata_node_child(n, i));
		else if (t->vt.inc)
			r = t->vt.inc(t->vt.context, pdata_node_value(n, i));
	}
	return r;
}

/* Node b, writable: in place if it is ours alone, else a copy. */
int pdata_node_shadow(const struct pdata_btree *t, pdata_block_t b,
		      struct pdata_block **result)
{
	bool inc;
	int r;

	r = pdata_tm_shadow(t->tm, b, &pdata_btree_validator, result, &inc);
	if (r)
		return r;
	r = pdata_leaf_check(t, pdata_node(*result));
	if (!r && inc)
		r = pdata_inc_children(t, pdata_node(*result));
	if (r)
		pdata_bm_put(*result);
	return r;
}

/* Child i of parent, writable, with parent pointing at it (if a copy). */
int pdata_node_shadow_child(const struct pdata_btree *t,
			    struct pdata_node *parent, u32 i,
			    struct pdata_block **result)
{
	int r = pdata_node_shadow(t, pdata_node_child(parent, i), result);

	if (!r)
		pdata_node_set_child(parent, i, pdata_block_nr(*result));
	return r;
}

/*
 * The first step of a walk that changes the path to key, which must be
 * in the tree (-ENODATA, and nothing changed, if it is not): the root,
 * writable, and its number, the tree's new root.
 */
int pdata_node_shadow_root(const struct pdata_btree *t, pdata_block_t root,
			   u64 key, struct pdata_block **result,
			   pdata_block_t *new_root)
{
	int r = pdata_btree_lookup(t, root, key, NULL);

	if (r)
		return r;
	r = pdata_node_shadow(t, root, result);
	if (!r)
		*new_root = pdata_block_nr(*result);
	return r;
}

int pdata_btree_empty(const struct pdata_btree *t, pdata_block_t *root)
{
	struct pdata_block *blk;
	int r;

	r = pdata_tm_new_block(t->tm, &pdata_btree_validator, &blk);
	if (r)
		return r;
	pdata_node_init(pdata_node(blk), PDATA_NODE_LEAF, t->vt.size);
	*root = pdata_block_nr(blk);
	pdata_bm_put(blk);
	return 0;
}

static int pdata_find(const struct pdata_btree *t, pdata_block_t b, u64 key,
		      void *value, bool try)
{
	struct pdata_block *blk;
	struct pdata_node *n;
	unsigned int depth;
	int i, r;

	for (depth = 0; depth < PDATA_MAX_DEPTH; depth++) {
		r = pdata_node_get(t, b, try, &blk);
		if (r)
			return r;
		n = pdata_node(blk);
		i = pdata_node_lower_bound(n, key);
		if (pdata_node_is_leaf(n)) {
			r = -ENODATA;
			if (i >= 0 && pdata_node_key(n, i) == key) {
				if (value)
					memcpy(value, pdata_node_value(n, i),
					       t->vt.size);
				r = 0;
			}
			pdata_bm_put(blk);
			return r;
		}
		b = i < 0 ? 0 : pdata_node_child(n, i);
		pdata_bm_put(blk);
		if (i < 0)
			return -ENODATA;
	}
	return -EILSEQ;
}

int pdata_btree_lookup(const struct pdata_btree *t, pdata_block_t root,
		       u64 key, void *value)
{
	return pdata_find(t, root, key, value, false);
}

/* Never sleeps: -EWOULDBLOCK if a node on the way is not cached. */
int pdata_btree_lookup_try(const struct pdata_btree *t, pdata_block_t root,
			   u64 key, void *value)
{
	return pdata_find(t, root, key, value, true);
}

static int pdata_next_in(const struct pdata_btree *t, pdata_block_t b, u64 key,
			 u64 *found, void *value, unsigned int depth)
{
	struct pdata_block *blk;
	struct pdata_node *n;
	int i, r = -ENODATA;
	u32 nr;

	r = pdata_node_read_at(t, b, depth, &blk);
	if (r)
		return r;
	n = pdata_node(blk);
	nr = pdata_node_nr(n);
	i = pdata_node_lower_bound(n, key);
	r = -ENODATA;
	if (pdata_node_is_leaf(n)) {
		if (i < 0 || pdata_node_key(n, i) < key)
			i++;
		if (i < nr) {
			*found = pdata_node_key(n, i);
			if (value)
				memcpy(value, pdata_node_value(n, i), t->vt.size);
			r = 0;
		}
	} else {
		/* Past the first child tried, every key is above key. */
		for (i = max(i, 0); i < nr && r == -ENODATA; i++)
			r = pdata_next_in(t, pdata_node_child(n, i), key, found,
					  value, depth + 1);
	}
	pdata_bm_put(blk);
	return r;
}

/* The entry with the smallest key at least key. */
int pdata_btree_lookup_next(const struct pdata_btree *t, pdata_block_t root,
			    u64 key, u64 *found, void *value)
{
	return pdata_next_in(t, root, key, found, value, 0);
}

int pdata_btree_highest(const struct pdata_btree *t, pdata_block_t root,
			u64 *key)
{
	struct pdata_block *blk;
	struct pdata_node *n;
	unsigned int depth;
	int r;
	u32 nr;

	for (depth = 0; depth < PDATA_MAX_DEPTH; depth++) {
		r = pdata_node_read(t, root, &blk);
		if (r)
			return r;
		n = pdata_node(blk);
		nr = pdata_node_nr(n);
		if (!nr) {
			pdata_bm_put(blk);
			return -ENODATA;
		}
		if (pdata_node_is_leaf(n)) {
			*key = pdata_node_key(n, nr - 1);
			pdata_bm_put(blk);
			return 0;
		}
		root = pdata_node_child(n, nr - 1);
		pdata_bm_put(blk);
	}
	return -EILSEQ;
}

/* Insertion. */

/* A full root moves its entries into two new children and stays the root. */
static int pdata_split_beneath(const struct pdata_btree *t,
			       struct pdata_block *root)
{
	struct pdata_node *n = pdata_node(root), *l, *r;
	struct pdata_block *left, *right;
	u32 nr = pdata_node_nr(n), half = nr / 2;
	u32 flags = le32_to_cpu(n->h.flags);
	int err;

	err = pdata_tm_new_block(t->tm, &pdata_btree_validator, &left);
	if (err)
		return err;
	err = pdata_tm_new_block(t->tm, &pdata_btree_validator, &right);
	if (err) {
		pdata_tm_dec(t->tm, pdata_block_nr(left));
		pdata_bm_put(left);
		return err;
	}
	l = pdata_node(left);
	r = pdata_node(right);
	pdata_node_init(l, flags, pdata_node_vs(n));
	pdata_node_init(r, flags, pdata_node_vs(n));
	pdata_node_copy(l, 0, n, 0, half);
	pdata_node_set_nr(l, half);
	pdata_node_copy(r, 0, n, half, nr - half);
	pdata_node_set_nr(r, nr - half);

	pdata_node_init(n, PDATA_NODE_INTERNAL, sizeof(__le64));
	n->keys[0] = l->keys[0];
	n->keys[1] = r->keys[0];
	pdata_node_set_child(n, 0, pdata_block_nr(left));
	pdata_node_set_child(n, 1, pdata_block_nr(right));
	pdata_node_set_nr(n, 2);
	pdata_bm_dirty(root);
	pdata_bm_put(left);
	pdata_bm_put(right);
	return 0;
}

/* Moves the top half of full child (entry i of parent) to a new sibling. */
static int pdata_split_child(const struct pdata_btree *t, struct pdata_node *parent,
			     u32 i, struct pdata_block *child,
			     struct pdata_block **sibling)
{
	struct pdata_node *c = pdata_node(child), *s;
	u32 nr = pdata_node_nr(c), half = nr / 2;
	__le64 location;
	int r;

	r = pdata_tm_new_block(t->tm, &pdata_btree_validator, sibling);
	if (r)
		return r;
	s = pdata_node(*sibling);
	pdata_node_init(s, le32_to_cpu(c->h.flags), pdata_node_vs(c));
	pdata_node_copy(s, 0, c, half, nr - half);
	pdata_node_set_nr(s, nr - half);
	pdata_node_set_nr(c, half);
	location = cpu_to_le64(pdata_block_nr(*sibling));
	pdata_node_insert_at(parent, i + 1, pdata_node_key(s, 0), &location);
	return 0;
}

static int pdata_leaf_insert(const struct pdata_btree *t,
			     struct pdata_block *leaf, u64 key,
			     const void *value, bool *inserted)
{
	struct pdata_node *n = pdata_node(leaf);
	int i = pdata_node_lower_bound(n, key);
	void *old;
	int r = 0;

	if (i >= 0 && pdata_node_key(n, i) == key) {
		old = pdata_node_value(n, i);
		if (t->vt.dec && !(t->vt.equal &&
				   t->vt.equal(t->vt.context, old, value)))
			r = t->vt.dec(t->vt.context, old);
		memcpy(old, value, t->vt.size);
		*inserted = false;
	} else {
		pdata_node_insert_at(n, i + 1, key, value);
		*inserted = true;
	}
	pdata_bm_dirty(leaf);
	return r;
}

/*
 * One step down from parent towards key: the child is shadowed, and
 * split first if full (parent has room: it was split before, if full).
 */
static int pdata_insert_step(const struct pdata_btree *t,
			     struct pdata_block *parent, u64 key,
			     struct pdata_block **result)
{
	struct pdata_node *n = pdata_node(parent);
	struct pdata_block *child, *sibling;
	int i = pdata_node_lower_bound(n, key);
	int r;

	if (i < 0) {
		i = 0;
		n->keys[0] = cpu_to_le64(key);
	}
	r = pdata_node_shadow_child(t, n, i, &child);
	if (r)
		return r;
	pdata_bm_dirty(parent);
	if (pdata_node_nr(pdata_node(child)) == pdata_node_max(pdata_node(child))) {
		r = pdata_split_child(t, n, i, child, &sibling);
		if (r) {
			pdata_bm_put(child);
			return r;
		}
		pdata_bm_dirty(child);
		if (key >= pdata_node_key(pdata_node(sibling), 0)) {
			pdata_bm_put(child);
			child = sibling;
		} else {
			pdata_bm_put(sibling);
		}
	}
	*result = child;
	return 0;
}

int pdata_btree_insert(const struct pdata_btree *t, pdata_block_t root,
		       u64 key, const void *value, pdata_block_t *new_root,
		       bool *inserted)
{
	struct pdata_block *blk, *child;
	unsigned int depth;
	bool dummy;
	int r;

	if (!inserted)
		inserted = &dummy;
	r = pdata_node_shadow(t, root, &blk);
	if (r)
		return r;
	*new_root = pdata_block_nr(blk);
	if (pdata_node_nr(pdata_node(blk)) == pdata_node_max(pdata_node(blk))) {
		r = pdata_split_beneath(t, blk);
		if (r)
			goto out;
	}
	for (depth = 0; depth < PDATA_MAX_DEPTH; depth++) {
		if (pdata_node_is_leaf(pdata_node(blk))) {
			r = pdata_leaf_insert(t, blk, key, value, inserted);
			goto out;
		}
		r = pdata_insert_step(t, blk, key, &child);
		if (r)
			goto out;
		pdata_bm_put(blk);
		blk = child;
	}
	r = -EILSEQ;
out:
	pdata_bm_put(blk);
	return r;
}

/*
 * Shadows the path to key (which must be present) and returns its leaf,
 * held and writable, and where the value is in it; for trees whose
 * values are roots of other trees, changed in place by the caller.
 */
int pdata_btree_shadow_value(const struct pdata_btree *t, pdata_block_t root,
			     u64 key, pdata_block_t *new_root,
			     struct pdata_block **leaf, void **value)
{
	struct pdata_block *blk, *child;
	struct pdata_node *n;
	unsigned int depth;
	int i, r;

	r = pdata_node_shadow_root(t, root, key, &blk, new_root);
	if (r)
		return r;
	for (depth = 0; depth < PDATA_MAX_DEPTH; depth++) {
		n = pdata_node(blk);
		i = pdata_node_lower_bound(n, key);
		if (i < 0) {
			r = -EILSEQ;
			break;
		}
		if (pdata_node_is_leaf(n)) {
			if (pdata_node_key(n, i) != key) {
				r = -EILSEQ;
				break;
			}
			pdata_bm_dirty(blk);
			*leaf = blk;
			*value = pdata_node_value(n, i);
			return 0;
		}
		r = pdata_node_shadow_child(t, n, i, &child);
		if (r)
			break;
		pdata_bm_dirty(blk);
		pdata_bm_put(blk);
		blk = child;
	}
	pdata_bm_put(blk);
	return r ? r : -EILSEQ;
}

/* Deletion of a whole tree: drops one reference to it. */

static int pdata_del_node(const struct pdata_btree *t, pdata_block_t b,
			  unsigned int depth)
{
	struct pdata_block *blk;
	struct pdata_node *n;
	int r = 0;
	u32 i;

	if (depth >= PDATA_MAX_DEPTH)
		return -EILSEQ;
	/* Shared: whoever else refers to it keeps all beneath it. */
	if (pdata_tm_count(t->tm, b) > 1)
		return pdata_tm_dec(t->tm, b);
	r = pdata_node_read(t, b, &blk);
	if (r)
		return r;
	n = pdata_node(blk);
	for (i = 0; i < pdata_node_nr(n) && !r; i++) {
		if (!pdata_node_is_leaf(n))
			r = pdata_del_node(t, pdata_node_child(n, i), depth + 1);
		else if (t->vt.dec)
			r = t->vt.dec(t->vt.context, pdata_node_value(n, i));
	}
	pdata_bm_put(blk);
	return r ? r : pdata_tm_dec(t->tm, b);
}

int pdata_btree_del(const struct pdata_btree *t, pdata_block_t root)
{
	return pdata_del_node(t, root, 0);
}

static int pdata_walk_node(const struct pdata_btree *t, pdata_block_t b,
			   int (*fn)(void *context, u64 key, const void *value),
			   void *context, unsigned int depth)
{
	struct pdata_block *blk;
	struct pdata_node *n;
	int r;
	u32 i;

	r = pdata_node_read_at(t, b, depth, &blk);
	if (r)
		return r;
	n = pdata_node(blk);
	for (i = 0; i < pdata_node_nr(n) && !r; i++) {
		if (pdata_node_is_leaf(n))
			r = fn(context, pdata_node_key(n, i), pdata_node_value(n, i));
		else
			r = pdata_walk_node(t, pdata_node_child(n, i), fn, context,
					    depth + 1);
	}
	pdata_bm_put(blk);
	return r;
}

/* Calls fn for every entry, in key order, until it returns non-zero. */
int pdata_btree_walk(const struct pdata_btree *t, pdata_block_t root,
		     int (*fn)(void *context, u64 key, const void *value),
		     void *context)
{
	return pdata_walk_node(t, root, fn, context, 0);
}
