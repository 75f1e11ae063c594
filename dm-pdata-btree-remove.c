// SPDX-License-Identifier: GPL-2.0
/*
 * Removal of one key from a persistent-data btree.
 *
 * Top-down, like insertion: before descending into a child that is at
 * its minimum (a third of its capacity, as persistent-data keeps nodes),
 * it is merged with a sibling or takes entries from it, so that losing
 * one entry below never leaves a node under the minimum.  A root left
 * with a single child takes that child's place.
 */
#include "dmx-pdata-node.h"

static int pdata_child_size(const struct pdata_btree *t, struct pdata_node *n,
			    u32 i, u32 *nr, u32 *min)
{
	struct pdata_block *blk;
	int r;

	r = pdata_node_read(t, pdata_node_child(n, i), &blk);
	if (r)
		return r;
	*nr = pdata_node_nr(pdata_node(blk));
	*min = pdata_node_min(pdata_node(blk));
	pdata_bm_put(blk);
	return 0;
}

/* Right's entries join left; right leaves the parent and is freed. */
static int pdata_merge(const struct pdata_btree *t, struct pdata_node *parent,
		       u32 right_i, struct pdata_block *left,
		       struct pdata_block *right)
{
	struct pdata_node *l = pdata_node(left), *r = pdata_node(right);
	u32 nr_l = pdata_node_nr(l), nr_r = pdata_node_nr(r);

	pdata_node_copy(l, nr_l, r, 0, nr_r);
	pdata_node_set_nr(l, nr_l + nr_r);
	pdata_node_delete_at(parent, right_i);
	/* Its children now belong to left: only the block itself goes. */
	return pdata_tm_dec(t->tm, pdata_block_nr(right));
}

/* Shares the entries of two siblings out evenly. */
static void pdata_redistribute(struct pdata_node *parent, u32 right_i,
			       struct pdata_node *l, struct pdata_node *r)
{
	u32 nr_l = pdata_node_nr(l), nr_r = pdata_node_nr(r);
	u32 target = (nr_l + nr_r) / 2, move;

	if (nr_l > target) {
		move = nr_l - target;
		pdata_node_shift(r, 0, move);
		pdata_node_copy(r, 0, l, target, move);
		pdata_node_set_nr(l, target);
		pdata_node_set_nr(r, nr_r + move);
	} else {
		move = target - nr_l;
		pdata_node_copy(l, nr_l, r, 0, move);
		pdata_node_set_nr(l, target);
		pdata_node_shift(r, move, -(int)move);
		pdata_node_set_nr(r, nr_r - move);
	}
	parent->keys[right_i] = r->keys[0];
}

/* Makes sure child i of parent can lose an entry and stay at its minimum. */
static int pdata_rebalance(const struct pdata_btree *t,
			   struct pdata_block *parent_blk, u32 i)
{
	struct pdata_node *parent = pdata_node(parent_blk);
	struct pdata_block *left, *right;
	u32 nr, min, left_i, total;
	int r;

	if (pdata_node_nr(parent) < 2)
		return 0;
	r = pdata_child_size(t, parent, i, &nr, &min);
	if (r || nr > min)
		return r;

	left_i = i + 1 < pdata_node_nr(parent) ? i : i - 1;
	r = pdata_node_shadow_child(t, parent, left_i, &left);
	if (r)
		return r;
	r = pdata_node_shadow_child(t, parent, left_i + 1, &right);
	if (r) {
		pdata_bm_put(left);
		return r;
	}
	total = pdata_node_nr(pdata_node(left)) + pdata_node_nr(pdata_node(right));
	if (total <= 2 * min + 1)
		r = pdata_merge(t, parent, left_i + 1, left, right);
	else
		pdata_redistribute(parent, left_i + 1, pdata_node(left),
				   pdata_node(right));
	pdata_bm_dirty(parent_blk);
	pdata_bm_dirty(left);
	pdata_bm_dirty(right);
	pdata_bm_put(left);
	pdata_bm_put(right);
	return r;
}

/* While the root has one child, the child's contents move into it. */
static int pdata_collapse_root(const struct pdata_btree *t, pdata_block_t root)
{
	struct pdata_block *blk, *child;
	struct pdata_node *n;
	unsigned int depth;
	int r;

	for (depth = 0; depth < PDATA_MAX_DEPTH; depth++) {
		r = pdata_node_shadow(t, root, &blk);
		if (r)
			return r;
		n = pdata_node(blk);
		if (pdata_node_is_leaf(n) || pdata_node_nr(n) != 1) {
			pdata_bm_put(blk);
			return 0;
		}
		r = pdata_node_shadow(t, pdata_node_child(n, 0), &child);
		if (r) {
			pdata_bm_put(blk);
			return r;
		}
		memcpy(n, pdata_node(child), PDATA_BLOCK_SIZE);
		pdata_bm_dirty(blk);
		pdata_bm_put(blk);
		r = pdata_tm_dec(t->tm, pdata_block_nr(child));
		pdata_bm_put(child);
		if (r)
			return r;
	}
	return -EILSEQ;
}

static int pdata_leaf_remove(const struct pdata_btree *t,
			     struct pdata_block *leaf, u64 key)
{
	struct pdata_node *n = pdata_node(leaf);
	int i = pdata_node_lower_bound(n, key);
	int r = 0;

	if (i < 0 || pdata_node_key(n, i) != key)
		return -EILSEQ;
	if (t->vt.dec)
		r = t->vt.dec(t->vt.context, pdata_node_value(n, i));
	pdata_node_delete_at(n, i);
	pdata_bm_dirty(leaf);
	return r;
}

/* -ENODATA, and no change at all, if key is not in the tree. */
int pdata_btree_remove(const struct pdata_btree *t, pdata_block_t root,
		       u64 key, pdata_block_t *new_root)
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
		if (pdata_node_is_leaf(n)) {
			r = pdata_leaf_remove(t, blk, key);
			pdata_bm_put(blk);
			return r ? r : pdata_collapse_root(t, *new_root);
		}
		i = pdata_node_lower_bound(n, key);
		if (i >= 0)
			r = pdata_rebalance(t, blk, i);
		i = pdata_node_lower_bound(n, key);
		if (!r && i < 0)
			r = -EILSEQ;
		if (!r)
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
