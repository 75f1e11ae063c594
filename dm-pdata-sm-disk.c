// SPDX-License-Identifier: GPL-2.0
/*
 * The space map of a device other than the metadata device (a pool's
 * data blocks), kept in metadata blocks: a btree of index entries, one
 * per bitmap of 16320 2-bit counts, and a btree of u32 counts for the
 * blocks counted 3 or more, as persistent-data lays it out.
 *
 * The index entries are small (16 bytes per 16320 blocks) and live in
 * memory; changed ones go into the index btree at commit.  Bitmaps are
 * read and shadowed through the transaction manager like any metadata.
 *
 * A block is allocatable only if free both now and at the last commit:
 * for a bitmap shadowed in this transaction the committed copy is still
 * on disk (its block cannot be reused before the commit) and is read to
 * tell.
 */
#include <linux/mm.h>
#include <linux/slab.h>

#include "dmx-pdata.h"

struct pdata_dsm_entry {
	pdata_block_t blocknr;
	u32 nr_free;
	u32 none_free_before;	/* no free entry below: a search hint */
};

struct pdata_dsm {
	struct pdata_tm *tm;
	pdata_block_t nr_blocks;
	pdata_block_t nr_allocated;
	pdata_block_t hint;		/* where the next search starts */
	unsigned int nr_bitmaps;
	struct pdata_dsm_entry *ie;
	unsigned long *ie_dirty;
	unsigned int nr_old;		/* bitmaps at the last commit */
	struct pdata_dsm_entry *ie_old;
	pdata_block_t index_root;
	pdata_block_t ref_root;
	struct pdata_btree index_tree;
	struct pdata_btree ref_tree;
};

static struct pdata_dsm *pdata_dsm_alloc(struct pdata_tm *tm)
{
	struct pdata_dsm *sm = kzalloc(sizeof(*sm), GFP_KERNEL);

	if (!sm)
		return NULL;
	sm->tm = tm;
	sm->index_tree.tm = tm;
	sm->index_tree.vt.size = sizeof(struct pdata_disk_index_entry);
	sm->ref_tree.tm = tm;
	sm->ref_tree.vt.size = sizeof(__le32);
	return sm;
}

void pdata_dsm_destroy(struct pdata_dsm *sm)
{
	if (!sm)
		return;
	kvfree(sm->ie);
	kvfree(sm->ie_dirty);
	kvfree(sm->ie_old);
	kfree(sm);
}

static int pdata_dsm_grow_index(struct pdata_dsm *sm, unsigned int nr_bitmaps)
{
	struct pdata_dsm_entry *ie;
	unsigned long *dirty;

	ie = kvcalloc(nr_bitmaps, sizeof(*ie), GFP_KERNEL);
	dirty = kvcalloc(BITS_TO_LONGS(nr_bitmaps), sizeof(long), GFP_KERNEL);
	if (!ie || !dirty) {
		kvfree(ie);
		kvfree(dirty);
		return -ENOMEM;
	}
	if (sm->ie) {
		memcpy(ie, sm->ie, sm->nr_bitmaps * sizeof(*ie));
		bitmap_copy(dirty, sm->ie_dirty, sm->nr_bitmaps);
	}
	kvfree(sm->ie);
	kvfree(sm->ie_dirty);
	sm->ie = ie;
	sm->ie_dirty = dirty;
	return 0;
}

/* The committed index becomes the current one. */
static int pdata_dsm_save_old(struct pdata_dsm *sm)
{
	if (sm->nr_old != sm->nr_bitmaps) {
		struct pdata_dsm_entry *old;

		old = kvcalloc(max(sm->nr_bitmaps, 1U), sizeof(*old), GFP_KERNEL);
		if (!old)
			return -ENOMEM;
		kvfree(sm->ie_old);
		sm->ie_old = old;
		sm->nr_old = sm->nr_bitmaps;
	}
	if (sm->nr_bitmaps)
		memcpy(sm->ie_old, sm->ie, sm->nr_bitmaps * sizeof(*sm->ie));
	return 0;
}

int pdata_dsm_create(struct pdata_tm *tm, struct pdata_dsm **result)
{
	struct pdata_dsm *sm = pdata_dsm_alloc(tm);
	int r;

	if (!sm)
		return -ENOMEM;
	r = pdata_btree_empty(&sm->index_tree, &sm->index_root);
	if (!r)
		r = pdata_btree_empty(&sm->ref_tree, &sm->ref_root);
	if (!r)
		r = pdata_dsm_save_old(sm);
	if (r) {
		pdata_dsm_destroy(sm);
		return r;
	}
	*result = sm;
	return 0;
}

static int pdata_dsm_load_entry(void *context, u64 key, const void *value)
{
	const struct pdata_disk_index_entry *e = value;
	struct pdata_dsm *sm = context;

	if (key >= sm->nr_bitmaps) {
		pr_err("dmx: pdata: data space map index entry %llu beyond %u\n",
		       key, sm->nr_bitmaps);
		return -EILSEQ;
	}
	sm->ie[key].blocknr = le64_to_cpu(e->blocknr);
	sm->ie[key].nr_free = le32_to_cpu(e->nr_free);
	sm->ie[key].none_free_before = le32_to_cpu(e->none_free_before);
	return 0;
}

static int pdata_dsm_check_index(struct pdata_dsm *sm)
{
	unsigned int i;

	for (i = 0; i < sm->nr_bitmaps; i++) {
		if (!sm->ie[i].blocknr ||
		    sm->ie[i].nr_free > PDATA_ENTRIES_PER_BITMAP) {
			pr_err("dmx: pdata: data space map bitmap %u missing\n", i);
			return -EILSEQ;
		}
		sm->ie[i].none_free_before = min(sm->ie[i].none_free_before,
						 PDATA_ENTRIES_PER_BITMAP);
	}
	return 0;
}

int pdata_dsm_open(struct pdata_tm *tm, const void *root_le,
		   struct pdata_dsm **result)
{
	const struct pdata_disk_sm_root *root = root_le;
	struct pdata_dsm *sm = pdata_dsm_alloc(tm);
	unsigned int nr_bitmaps;
	int r = -ENOMEM;

	if (!sm)
		return r;
	sm->nr_blocks = le64_to_cpu(root->nr_blocks);
	sm->nr_allocated = le64_to_cpu(root->nr_allocated);
	sm->index_root = le64_to_cpu(root->bitmap_root);
	sm->ref_root = le64_to_cpu(root->ref_count_root);
	nr_bitmaps = DIV_ROUND_UP_ULL(sm->nr_blocks, PDATA_ENTRIES_PER_BITMAP);
	r = -EILSEQ;
	if (sm->nr_allocated > sm->nr_blocks)
		goto bad;
	r = pdata_dsm_grow_index(sm, max(nr_bitmaps, 1U));
	if (r)
		goto bad;
	sm->nr_bitmaps = nr_bitmaps;
	r = pdata_btree_walk(&sm->index_tree, sm->index_root,
			     pdata_dsm_load_entry, sm);
	if (!r)
		r = pdata_dsm_check_index(sm);
	if (!r)
		r = pdata_dsm_save_old(sm);
	if (r)
		goto bad;
	*result = sm;
	return 0;

bad:
	pdata_dsm_destroy(sm);
	return r;
}

static int pdata_dsm_check_block(struct pdata_dsm *sm, pdata_block_t b)
{
	if (b < sm->nr_blocks)
		return 0;
	pr_err_ratelimited("dmx: pdata: data block %llu beyond %llu\n", b,
			   sm->nr_blocks);
	return -EINVAL;
}

static int pdata_dsm_ref_count(struct pdata_dsm *sm, pdata_block_t b,
			       u32 *count)
{
	__le32 value;
	int r;

	r = pdata_btree_lookup(&sm->ref_tree, sm->ref_root, b, &value);
	if (r == -ENODATA) {
		pr_err_ratelimited("dmx: pdata: data block %llu has no ref count\n",
				   b);
		return -EILSEQ;
	}
	if (!r)
		*count = le32_to_cpu(value);
	return r;
}

int pdata_dsm_count(struct pdata_dsm *sm, pdata_block_t b, u32 *count)
{
	struct pdata_block *blk;
	int r;

	r = pdata_dsm_check_block(sm, b);
	if (r)
		return r;
	r = pdata_tm_read(sm->tm, sm->ie[b / PDATA_ENTRIES_PER_BITMAP].blocknr,
			  &pdata_bitmap_validator, &blk);
	if (r)
		return r;
	*count = pdata_bitmap_get(pdata_block_data(blk),
				  b % PDATA_ENTRIES_PER_BITMAP);
	pdata_bm_put(blk);
	if (*count == 3)
		r = pdata_dsm_ref_count(sm, b, count);
	return r;
}

static void pdata_dsm_account(struct pdata_dsm *sm, pdata_block_t b,
			      u32 old, u32 count)
{
	struct pdata_dsm_entry *e = &sm->ie[b / PDATA_ENTRIES_PER_BITMAP];
	u32 j = b % PDATA_ENTRIES_PER_BITMAP;

	if (!old && count) {
		sm->nr_allocated++;
		e->nr_free--;
		if (e->none_free_before == j)
			e->none_free_before = j + 1;
	} else if (old && !count) {
		sm->nr_allocated--;
		e->nr_free++;
		if (j < e->none_free_before)
			e->none_free_before = j;
	} else {
		return;
	}
	__set_bit(b / PDATA_ENTRIES_PER_BITMAP, sm->ie_dirty);
}

/* Changes b's count from old to count: its bitmap, maybe the ref tree. */
static int pdata_dsm_set(struct pdata_dsm *sm, pdata_block_t b, u32 old,
			 u32 count)
{
	unsigned int i = b / PDATA_ENTRIES_PER_BITMAP;
	struct pdata_block *blk;
	__le32 value;
	bool inc;
	int r;

	r = pdata_tm_shadow(sm->tm, sm->ie[i].blocknr, &pdata_bitmap_validator,
			    &blk, &inc);
	if (r)
		return r;
	if (pdata_block_nr(blk) != sm->ie[i].blocknr) {
		sm->ie[i].blocknr = pdata_block_nr(blk);
		__set_bit(i, sm->ie_dirty);
	}
	pdata_bitmap_set(pdata_block_data(blk), b % PDATA_ENTRIES_PER_BITMAP,
			 min(count, 3U));
	pdata_bm_put(blk);

	if (count >= 3) {
		value = cpu_to_le32(count);
		r = pdata_btree_insert(&sm->ref_tree, sm->ref_root, b, &value,
				       &sm->ref_root, NULL);
	} else if (old >= 3) {
		r = pdata_btree_remove(&sm->ref_tree, sm->ref_root, b,
				       &sm->ref_root);
	}
	if (!r)
		pdata_dsm_account(sm, b, old, count);
	return r;
}

int pdata_dsm_inc(struct pdata_dsm *sm, pdata_block_t b)
{
	u32 count;
	int r;

	r = pdata_dsm_count(sm, b, &count);
	if (r)
		return r;
	if (count == U32_MAX)
		return -EINVAL;
	return pdata_dsm_set(sm, b, count, count + 1);
}

int pdata_dsm_dec(struct pdata_dsm *sm, pdata_block_t b)
{
	u32 count;
	int r;

	r = pdata_dsm_count(sm, b, &count);
	if (r)
		return r;
	if (!count) {
		pr_err_ratelimited("dmx: pdata: decrement of free data block %llu\n",
				   b);
		return -EINVAL;
	}
	return pdata_dsm_set(sm, b, count, count - 1);
}

/* The committed copy of bitmap i, if it differs from the current one. */
static int pdata_dsm_old_bitmap(struct pdata_dsm *sm, unsigned int i,
				struct pdata_block **result)
{
	*result = NULL;
	if (i >= sm->nr_old || sm->ie_old[i].blocknr == sm->ie[i].blocknr)
		return 0;
	return pdata_tm_read(sm->tm, sm->ie_old[i].blocknr,
			     &pdata_bitmap_validator, result);
}

/* The first entry in [begin, end) of bitmap i free now and at commit. */
static int pdata_dsm_find_in(struct pdata_dsm *sm, unsigned int i, u32 begin,
			     u32 end, u32 *found)
{
	struct pdata_block *cur, *old;
	const void *c, *o;
	int r;
	u32 j;

	r = pdata_tm_read(sm->tm, sm->ie[i].blocknr, &pdata_bitmap_validator,
			  &cur);
	if (r)
		return r;
	r = pdata_dsm_old_bitmap(sm, i, &old);
	if (r) {
		pdata_bm_put(cur);
		return r;
	}
	c = pdata_block_data(cur);
	o = old ? pdata_block_data(old) : NULL;
	r = -ENOSPC;
	for (j = max(begin, sm->ie[i].none_free_before); j < end; j++) {
		if (!pdata_bitmap_get(c, j) && (!o || !pdata_bitmap_get(o, j))) {
			*found = j;
			r = 0;
			break;
		}
	}
	if (old)
		pdata_bm_put(old);
	pdata_bm_put(cur);
	return r;
}

static int pdata_dsm_find_free(struct pdata_dsm *sm, pdata_block_t begin,
			       pdata_block_t end, pdata_block_t *b)
{
	unsigned int i;
	pdata_block_t base;
	u32 j;
	int r;

	for (i = begin / PDATA_ENTRIES_PER_BITMAP; i < sm->nr_bitmaps; i++) {
		base = (pdata_block_t)i * PDATA_ENTRIES_PER_BITMAP;
		if (base >= end)
			break;
		if (!sm->ie[i].nr_free)
			continue;
		r = pdata_dsm_find_in(sm, i, begin > base ? begin - base : 0,
				      min_t(pdata_block_t, end - base,
					    PDATA_ENTRIES_PER_BITMAP), &j);
		if (r == -ENOSPC)
			continue;
		if (r)
			return r;
		*b = base + j;
		return 0;
	}
	return -ENOSPC;
}

/* From where the last allocation left off, wrapping round once. */
int pdata_dsm_new_block(struct pdata_dsm *sm, pdata_block_t *b)
{
	int r;

	if (sm->hint >= sm->nr_blocks)
		sm->hint = 0;
	r = pdata_dsm_find_free(sm, sm->hint, sm->nr_blocks, b);
	if (r == -ENOSPC && sm->hint)
		r = pdata_dsm_find_free(sm, 0, sm->hint, b);
	if (r)
		return r;
	r = pdata_dsm_set(sm, *b, 0, 1);
	if (!r)
		sm->hint = *b + 1;
	return r;
}

pdata_block_t pdata_dsm_nr_blocks(struct pdata_dsm *sm)
{
	return sm->nr_blocks;
}

pdata_block_t pdata_dsm_nr_free(struct pdata_dsm *sm)
{
	return sm->nr_blocks - sm->nr_allocated;
}

/* New bitmaps start all free, counted as 16320 free as the kernel does. */
int pdata_dsm_extend(struct pdata_dsm *sm, pdata_block_t nr_blocks)
{
	unsigned int i, n = DIV_ROUND_UP_ULL(nr_blocks, PDATA_ENTRIES_PER_BITMAP);
	struct pdata_block *blk;
	int r;

	if (nr_blocks <= sm->nr_blocks)
		return 0;
	if (n > sm->nr_bitmaps) {
		r = pdata_dsm_grow_index(sm, n);
		if (r)
			return r;
	}
	for (i = sm->nr_bitmaps; i < n; i++) {
		r = pdata_tm_new_block(sm->tm, &pdata_bitmap_validator, &blk);
		if (r)
			return r;
		sm->ie[i].blocknr = pdata_block_nr(blk);
		sm->ie[i].nr_free = PDATA_ENTRIES_PER_BITMAP;
		sm->ie[i].none_free_before = 0;
		__set_bit(i, sm->ie_dirty);
		pdata_bm_put(blk);
		sm->nr_bitmaps = i + 1;
	}
	sm->nr_blocks = nr_blocks;
	return 0;
}

/* Changed index entries go into the index btree. */
int pdata_dsm_commit(struct pdata_dsm *sm)
{
	struct pdata_disk_index_entry e;
	unsigned int i;
	int r;

	for (i = find_first_bit(sm->ie_dirty, sm->nr_bitmaps); i < sm->nr_bitmaps;
	     i = find_next_bit(sm->ie_dirty, sm->nr_bitmaps, i + 1)) {
		e.blocknr = cpu_to_le64(sm->ie[i].blocknr);
		e.nr_free = cpu_to_le32(sm->ie[i].nr_free);
		e.none_free_before = cpu_to_le32(sm->ie[i].none_free_before);
		r = pdata_btree_insert(&sm->index_tree, sm->index_root, i, &e,
				       &sm->index_root, NULL);
		if (r)
			return r;
		__clear_bit(i, sm->ie_dirty);
	}
	return pdata_dsm_save_old(sm);
}

void pdata_dsm_root(struct pdata_dsm *sm, void *root_le)
{
	struct pdata_disk_sm_root *root = root_le;

	memset(root_le, 0, PDATA_SM_ROOT_SIZE);
	root->nr_blocks = cpu_to_le64(sm->nr_blocks);
	root->nr_allocated = cpu_to_le64(sm->nr_allocated);
	root->bitmap_root = cpu_to_le64(sm->index_root);
	root->ref_count_root = cpu_to_le64(sm->ref_root);
}
