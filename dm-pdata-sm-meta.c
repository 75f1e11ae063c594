// SPDX-License-Identifier: GPL-2.0
/*
 * The space map of the metadata device: a reference count per metadata
 * block, stored in metadata blocks it counts itself.
 *
 * On disk (persistent-data's layout): an index block of up to 255
 * entries, one per bitmap block; each bitmap holds 2 bits per metadata
 * block (0, 1, 2, or 3 for "see the ref count tree"); a btree of u32
 * values holds the count of every block counted 3 or more.
 *
 * In memory we keep every count, so that counting never reads or
 * writes a block: the on-disk form is brought up to date once, at
 * commit (pdata_msm_write_out()).  Writing it out shadows bitmaps and
 * ref count tree nodes, which allocates and frees blocks, which changes
 * counts; so it runs until nothing it wrote has changed again.  Each
 * block is shadowed at most once a transaction, so that takes two or
 * three rounds.
 *
 * A block is allocatable only if it is free now and was free at the
 * last commit: the committed transaction may still need it.
 */
#include <linux/bitmap.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "dmx-pdata.h"

/* The rounds write-out may take before we call the space map broken. */
#define PDATA_MSM_MAX_ROUNDS	32

#define PDATA_INDEX_CSUM_XOR	160478
#define PDATA_BITMAP_CSUM_XOR	240779

struct pdata_disk_metadata_index {
	__le32 csum;
	__le32 padding;
	__le64 blocknr;
	struct pdata_disk_index_entry index[PDATA_MSM_MAX_BITMAPS];
} __packed;

const struct pdata_validator pdata_index_validator = {
	.name = "space map index",
	.csum_xor = PDATA_INDEX_CSUM_XOR,
};

const struct pdata_validator pdata_bitmap_validator = {
	.name = "space map bitmap",
	.csum_xor = PDATA_BITMAP_CSUM_XOR,
};

struct pdata_msm {
	struct pdata_tm *tm;
	pdata_block_t nr_blocks;
	pdata_block_t nr_allocated;
	pdata_block_t hint;		/* where the next search starts */
	u32 *counts;

	unsigned long *nonzero;		/* count > 0 */
	unsigned long *committed;	/* count > 0 at the last commit */
	unsigned long *busy;		/* nonzero | committed: not allocatable */
	unsigned long *dirty_bits;	/* bitmap entry differs from count */
	unsigned long *dirty_refs;	/* ref count tree may differ */
	unsigned long *in_tree;		/* has a ref count tree entry */

	/* Where the on-disk form is; 0 for "not written yet". */
	pdata_block_t index_block;
	pdata_block_t bitmaps[PDATA_MSM_MAX_BITMAPS];
	pdata_block_t ref_root;
	struct pdata_btree ref_tree;
};

static unsigned int pdata_msm_nr_bitmaps(pdata_block_t nr_blocks)
{
	return DIV_ROUND_UP_ULL(nr_blocks, PDATA_ENTRIES_PER_BITMAP);
}

static unsigned long *pdata_bits_alloc(pdata_block_t nr)
{
	return kvcalloc(BITS_TO_LONGS(nr), sizeof(unsigned long), GFP_KERNEL);
}

/* The arrays of sm, sized for nr_blocks; old contents are copied over. */
struct pdata_msm_arrays {
	u32 *counts;
	unsigned long *bits[6];
};

static unsigned long **pdata_msm_bits(struct pdata_msm *sm, unsigned int i)
{
	unsigned long **all[] = { &sm->nonzero, &sm->committed, &sm->busy,
				  &sm->dirty_bits, &sm->dirty_refs,
				  &sm->in_tree };

	return all[i];
}

static void pdata_msm_free_arrays(struct pdata_msm_arrays *a)
{
	unsigned int i;

	kvfree(a->counts);
	for (i = 0; i < ARRAY_SIZE(a->bits); i++)
		kvfree(a->bits[i]);
}

static int pdata_msm_resize(struct pdata_msm *sm, pdata_block_t nr_blocks)
{
	struct pdata_msm_arrays a = { };
	unsigned int i;

	a.counts = kvcalloc(nr_blocks, sizeof(u32), GFP_KERNEL);
	if (!a.counts)
		goto bad;
	for (i = 0; i < ARRAY_SIZE(a.bits); i++) {
		a.bits[i] = pdata_bits_alloc(nr_blocks);
		if (!a.bits[i])
			goto bad;
	}
	if (sm->counts) {
		memcpy(a.counts, sm->counts, sm->nr_blocks * sizeof(u32));
		kvfree(sm->counts);
	}
	sm->counts = a.counts;
	for (i = 0; i < ARRAY_SIZE(a.bits); i++) {
		unsigned long **bits = pdata_msm_bits(sm, i);

		if (*bits) {
			bitmap_copy(a.bits[i], *bits, sm->nr_blocks);
			kvfree(*bits);
		}
		*bits = a.bits[i];
	}
	sm->nr_blocks = nr_blocks;
	return 0;

bad:
	pdata_msm_free_arrays(&a);
	return -ENOMEM;
}

static struct pdata_msm *pdata_msm_alloc(struct pdata_tm *tm,
					 pdata_block_t nr_blocks)
{
	struct pdata_msm *sm;

	if (!nr_blocks || nr_blocks > PDATA_MSM_MAX_BLOCKS)
		return ERR_PTR(-EINVAL);
	sm = kzalloc(sizeof(*sm), GFP_KERNEL);
	if (!sm)
		return ERR_PTR(-ENOMEM);
	sm->tm = tm;
	sm->ref_tree.tm = tm;
	sm->ref_tree.vt.size = sizeof(__le32);
	if (pdata_msm_resize(sm, nr_blocks)) {
		kfree(sm);
		return ERR_PTR(-ENOMEM);
	}
	return sm;
}

void pdata_msm_destroy(struct pdata_msm *sm)
{
	unsigned int i;

	if (IS_ERR_OR_NULL(sm))
		return;
	kvfree(sm->counts);
	for (i = 0; i < 6; i++)
		kvfree(*pdata_msm_bits(sm, i));
	kfree(sm);
}

/* A fresh space map of nr_blocks free blocks; nothing is on disk yet. */
struct pdata_msm *pdata_msm_create(struct pdata_tm *tm,
				   pdata_block_t nr_blocks)
{
	return pdata_msm_alloc(tm, nr_blocks);
}

static void pdata_msm_set(struct pdata_msm *sm, pdata_block_t b, u32 count)
{
	u32 old = sm->counts[b];

	if (old == count)
		return;
	sm->counts[b] = count;
	if (!old) {
		__set_bit(b, sm->nonzero);
		__set_bit(b, sm->busy);
		sm->nr_allocated++;
	} else if (!count) {
		__clear_bit(b, sm->nonzero);
		if (!test_bit(b, sm->committed))
			__clear_bit(b, sm->busy);
		sm->nr_allocated--;
	}
	__set_bit(b, sm->dirty_bits);
	__set_bit(b, sm->dirty_refs);
}

static int pdata_msm_check(struct pdata_msm *sm, pdata_block_t b,
			   const char *op)
{
	if (b < sm->nr_blocks)
		return 0;
	pr_err_ratelimited("dmx: pdata: %s of metadata block %llu beyond %llu\n",
			   op, b, sm->nr_blocks);
	return -EINVAL;
}

int pdata_msm_new_block(struct pdata_msm *sm, pdata_block_t *b)
{
	unsigned long found;

	found = find_next_zero_bit(sm->busy, sm->nr_blocks, sm->hint);
	if (found >= sm->nr_blocks) {
		found = find_next_zero_bit(sm->busy, sm->hint, 0);
		if (found >= sm->hint)
			return -ENOSPC;
	}
	pdata_msm_set(sm, found, 1);
	sm->hint = found + 1;
	*b = found;
	return 0;
}

int pdata_msm_inc(struct pdata_msm *sm, pdata_block_t b)
{
	int r = pdata_msm_check(sm, b, "increment");

	if (r)
		return r;
	if (!sm->counts[b] || sm->counts[b] == U32_MAX) {
		pr_err_ratelimited("dmx: pdata: increment of metadata block %llu counted %u\n",
				   b, sm->counts[b]);
		return -EINVAL;
	}
	pdata_msm_set(sm, b, sm->counts[b] + 1);
	return 0;
}

int pdata_msm_dec(struct pdata_msm *sm, pdata_block_t b)
{
	int r = pdata_msm_check(sm, b, "decrement");

	if (r)
		return r;
	if (!sm->counts[b]) {
		pr_err_ratelimited("dmx: pdata: decrement of free metadata block %llu\n",
				   b);
		return -EINVAL;
	}
	pdata_msm_set(sm, b, sm->counts[b] - 1);
	return 0;
}

u32 pdata_msm_count(struct pdata_msm *sm, pdata_block_t b)
{
	return b < sm->nr_blocks ? sm->counts[b] : 0;
}

/* Allocated since the last commit: the committed state cannot see it. */
bool pdata_msm_is_new(struct pdata_msm *sm, pdata_block_t b)
{
	return b < sm->nr_blocks && !test_bit(b, sm->committed);
}

pdata_block_t pdata_msm_nr_blocks(struct pdata_msm *sm)
{
	return sm->nr_blocks;
}

pdata_block_t pdata_msm_nr_free(struct pdata_msm *sm)
{
	return sm->nr_blocks - sm->nr_allocated;
}

int pdata_msm_extend(struct pdata_msm *sm, pdata_block_t nr_blocks)
{
	if (nr_blocks > PDATA_MSM_MAX_BLOCKS)
		nr_blocks = PDATA_MSM_MAX_BLOCKS;
	if (nr_blocks <= sm->nr_blocks)
		return 0;
	return pdata_msm_resize(sm, nr_blocks);
}

/* Write-out. */

static void pdata_msm_range(struct pdata_msm *sm, unsigned int i,
			    pdata_block_t *start, pdata_block_t *end)
{
	*start = (pdata_block_t)i * PDATA_ENTRIES_PER_BITMAP;
	*end = min_t(pdata_block_t, *start + PDATA_ENTRIES_PER_BITMAP,
		     sm->nr_blocks);
}

static int pdata_msm_get_bitmap(struct pdata_msm *sm, unsigned int i,
				struct pdata_block **blk)
{
	bool inc;
	int r;

	if (sm->bitmaps[i])
		r = pdata_tm_shadow(sm->tm, sm->bitmaps[i],
				    &pdata_bitmap_validator, blk, &inc);
	else
		r = pdata_tm_new_block(sm->tm, &pdata_bitmap_validator, blk);
	if (!r)
		sm->bitmaps[i] = pdata_block_nr(*blk);
	return r;
}

/* Rewrites the bitmap entries of every block whose count changed. */
static int pdata_msm_write_bitmaps(struct pdata_msm *sm)
{
	unsigned int i, n = pdata_msm_nr_bitmaps(sm->nr_blocks);
	pdata_block_t start, end, j;
	struct pdata_block *blk;
	void *data;
	int r;

	for (i = 0; i < n; i++) {
		pdata_msm_range(sm, i, &start, &end);
		if (sm->bitmaps[i] &&
		    find_next_bit(sm->dirty_bits, end, start) >= end)
			continue;
		/* Shadowing may itself dirty entries of this range. */
		r = pdata_msm_get_bitmap(sm, i, &blk);
		if (r)
			return r;
		data = pdata_block_data(blk);
		for (j = find_next_bit(sm->dirty_bits, end, start); j < end;
		     j = find_next_bit(sm->dirty_bits, end, j + 1)) {
			__clear_bit(j, sm->dirty_bits);
			pdata_bitmap_set(data, j - start, min(sm->counts[j], 3U));
		}
		pdata_bm_dirty(blk);
		pdata_bm_put(blk);
	}
	return 0;
}

/* Brings the ref count tree in line with counts of 3 and more. */
static int pdata_msm_write_refs(struct pdata_msm *sm)
{
	pdata_block_t j;
	__le32 value;
	int r;

	for (j = find_next_bit(sm->dirty_refs, sm->nr_blocks, 0);
	     j < sm->nr_blocks;
	     j = find_next_bit(sm->dirty_refs, sm->nr_blocks, j + 1)) {
		__clear_bit(j, sm->dirty_refs);
		if (sm->counts[j] >= 3) {
			value = cpu_to_le32(sm->counts[j]);
			r = pdata_btree_insert(&sm->ref_tree, sm->ref_root, j,
					       &value, &sm->ref_root, NULL);
			if (r)
				return r;
			__set_bit(j, sm->in_tree);
		} else if (test_bit(j, sm->in_tree)) {
			r = pdata_btree_remove(&sm->ref_tree, sm->ref_root, j,
					       &sm->ref_root);
			if (r)
				return r;
			__clear_bit(j, sm->in_tree);
		}
	}
	return 0;
}

static bool pdata_msm_clean(struct pdata_msm *sm)
{
	return bitmap_empty(sm->dirty_bits, sm->nr_blocks) &&
	       bitmap_empty(sm->dirty_refs, sm->nr_blocks);
}

/* Bitmaps start at multiples of 16320 = 255 * 64: on a word boundary. */
static unsigned int pdata_weight(const unsigned long *bits,
				 pdata_block_t start, pdata_block_t end)
{
	return bitmap_weight(bits + start / BITS_PER_LONG, end - start);
}

/*
 * The kernel's convention: a bitmap counts all 16320 entries, those
 * past the end of the device as free.
 */
static void pdata_msm_fill_index(struct pdata_msm *sm,
				 struct pdata_disk_metadata_index *mi)
{
	unsigned int i, n = pdata_msm_nr_bitmaps(sm->nr_blocks);
	pdata_block_t start, end, first_free;

	memset(mi->index, 0, sizeof(mi->index));
	for (i = 0; i < n; i++) {
		pdata_msm_range(sm, i, &start, &end);
		first_free = find_next_zero_bit(sm->nonzero, end, start);
		mi->index[i].blocknr = cpu_to_le64(sm->bitmaps[i]);
		mi->index[i].nr_free =
			cpu_to_le32(PDATA_ENTRIES_PER_BITMAP -
				    pdata_weight(sm->nonzero, start, end));
		mi->index[i].none_free_before = cpu_to_le32(first_free - start);
	}
}

int pdata_msm_write_out(struct pdata_msm *sm)
{
	struct pdata_block *index;
	unsigned int round;
	bool inc;
	int r;

	if (!sm->ref_root) {
		r = pdata_btree_empty(&sm->ref_tree, &sm->ref_root);
		if (r)
			return r;
	}
	if (sm->index_block)
		r = pdata_tm_shadow(sm->tm, sm->index_block,
				    &pdata_index_validator, &index, &inc);
	else
		r = pdata_tm_new_block(sm->tm, &pdata_index_validator, &index);
	if (r)
		return r;
	sm->index_block = pdata_block_nr(index);

	for (round = 0; round < PDATA_MSM_MAX_ROUNDS; round++) {
		r = pdata_msm_write_bitmaps(sm);
		if (!r)
			r = pdata_msm_write_refs(sm);
		if (r || pdata_msm_clean(sm))
			break;
	}
	if (!r && !pdata_msm_clean(sm)) {
		pr_err("dmx: pdata: metadata space map does not settle\n");
		r = -EIO;
	}
	if (!r) {
		pdata_msm_fill_index(sm, pdata_block_data(index));
		pdata_bm_dirty(index);
	}
	pdata_bm_put(index);
	return r;
}

void pdata_msm_root(struct pdata_msm *sm, void *root_le)
{
	struct pdata_disk_sm_root *root = root_le;

	memset(root_le, 0, PDATA_SM_ROOT_SIZE);
	root->nr_blocks = cpu_to_le64(sm->nr_blocks);
	root->nr_allocated = cpu_to_le64(sm->nr_allocated);
	root->bitmap_root = cpu_to_le64(sm->index_block);
	root->ref_count_root = cpu_to_le64(sm->ref_root);
}

/* The transaction is on disk: its frees become allocatable. */
void pdata_msm_committed(struct pdata_msm *sm)
{
	bitmap_copy(sm->committed, sm->nonzero, sm->nr_blocks);
	bitmap_copy(sm->busy, sm->nonzero, sm->nr_blocks);
}

/* Reading the on-disk form. */

static int pdata_msm_load_bitmap(struct pdata_msm *sm, unsigned int i,
				 pdata_block_t b)
{
	pdata_block_t start, end, j;
	struct pdata_block *blk;
	const void *data;
	int r;

	r = pdata_tm_read(sm->tm, b, &pdata_bitmap_validator, &blk);
	if (r)
		return r;
	sm->bitmaps[i] = b;
	data = pdata_block_data(blk);
	pdata_msm_range(sm, i, &start, &end);
	for (j = start; j < end; j++) {
		sm->counts[j] = pdata_bitmap_get(data, j - start);
		if (sm->counts[j])
			__set_bit(j, sm->nonzero);
	}
	pdata_bm_put(blk);
	return 0;
}

static int pdata_msm_load_ref(void *context, u64 key, const void *value)
{
	struct pdata_msm *sm = context;
	u32 count = le32_to_cpu(*(const __le32 *)value);

	if (key >= sm->nr_blocks || sm->counts[key] != 3 || count < 3) {
		pr_err("dmx: pdata: bad ref count %u for metadata block %llu\n",
		       count, key);
		return -EILSEQ;
	}
	sm->counts[key] = count;
	__set_bit(key, sm->in_tree);
	return 0;
}

/* Every entry saying "3 or more" must have been resolved by the tree. */
static int pdata_msm_check_refs(struct pdata_msm *sm)
{
	pdata_block_t j;

	for (j = 0; j < sm->nr_blocks; j++) {
		if (sm->counts[j] == 3 && !test_bit(j, sm->in_tree)) {
			pr_err("dmx: pdata: metadata block %llu has no ref count\n",
			       j);
			return -EILSEQ;
		}
	}
	return 0;
}

static int pdata_msm_load(struct pdata_msm *sm)
{
	const struct pdata_disk_metadata_index *mi;
	unsigned int i, n = pdata_msm_nr_bitmaps(sm->nr_blocks);
	struct pdata_block *index;
	int r;

	r = pdata_tm_read(sm->tm, sm->index_block, &pdata_index_validator,
			  &index);
	if (r)
		return r;
	mi = pdata_block_data(index);
	for (i = 0; i < n && !r; i++)
		r = pdata_msm_load_bitmap(sm, i, le64_to_cpu(mi->index[i].blocknr));
	pdata_bm_put(index);
	if (!r)
		r = pdata_btree_walk(&sm->ref_tree, sm->ref_root,
				     pdata_msm_load_ref, sm);
	if (!r)
		r = pdata_msm_check_refs(sm);
	return r;
}

int pdata_msm_open(struct pdata_tm *tm, const void *root_le,
		   struct pdata_msm **result)
{
	const struct pdata_disk_sm_root *root = root_le;
	struct pdata_msm *sm;
	int r;

	sm = pdata_msm_alloc(tm, le64_to_cpu(root->nr_blocks));
	if (IS_ERR(sm))
		return PTR_ERR(sm);
	sm->index_block = le64_to_cpu(root->bitmap_root);
	sm->ref_root = le64_to_cpu(root->ref_count_root);
	r = pdata_msm_load(sm);
	if (r) {
		pdata_msm_destroy(sm);
		return r;
	}
	sm->nr_allocated = bitmap_weight(sm->nonzero, sm->nr_blocks);
	pdata_msm_committed(sm);
	*result = sm;
	return 0;
}
