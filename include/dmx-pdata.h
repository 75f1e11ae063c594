/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The persistent-data engine: copy-on-write metadata on a block device
 * in the on-disk format of Linux's persistent-data library, so that the
 * kernel's dm-thin and thin-provisioning-tools read what we write and
 * the other way round.  Any target that keeps metadata uses it.
 *
 *   dm-pdata-block.c      4 KiB blocks: cache, checksums, I/O
 *   dm-pdata-tm.c         transactions: shadowing, new blocks, commit
 *   dm-pdata-sm-meta.c    the space map of the metadata device itself
 *   dm-pdata-sm-disk.c    the space map of another device (data blocks)
 *   dm-pdata-btree.c      btrees: lookup, insert, delete, walk
 *   dm-pdata-btree-remove.c  btree removal with rebalancing
 *
 * Every block starts with a u32 checksum and holds its own block number
 * at byte 8.  Nothing reachable from the last committed superblock is
 * ever written: the first change to a block in a transaction copies it
 * ("shadows" it) and repoints its parent.  A commit writes every changed
 * block, flushes, and only then writes the superblock (with FUA), so a
 * crash leaves either the old transaction or the new one.
 *
 * Locking: none inside, except the block cache's own.  The user (the
 * thin pool metadata, say) serialises changes and lets lookups run
 * concurrently only with other lookups.
 */
#ifndef DMX_PDATA_H
#define DMX_PDATA_H

#include <linux/types.h>

struct block_device;

#define PDATA_BLOCK_SIZE	4096U
#define PDATA_BLOCK_SECTORS	(PDATA_BLOCK_SIZE >> 9)

/* The deepest btree we follow; a longer path is corrupt metadata. */
#define PDATA_MAX_DEPTH		64

typedef u64 pdata_block_t;

/* dm-pdata-block.c: the block cache. */

/*
 * A kind of block: the constant its checksum is XORed with (how tools
 * tell block types apart) and a structural check run after every read.
 */
struct pdata_validator {
	const char *name;
	u32 csum_xor;
	int (*check)(const void *data);
};

struct pdata_bm;
struct pdata_block;

u32 pdata_checksum(const void *data, size_t len, u32 xor);

struct pdata_bm *pdata_bm_create(struct block_device *bdev,
				 pdata_block_t nr_blocks,
				 unsigned int max_cached);
void pdata_bm_destroy(struct pdata_bm *bm);
pdata_block_t pdata_bm_nr_blocks(struct pdata_bm *bm);
void pdata_bm_set_nr_blocks(struct pdata_bm *bm, pdata_block_t nr_blocks);
int pdata_bm_read(struct pdata_bm *bm, pdata_block_t b,
		  const struct pdata_validator *v, struct pdata_block **result);
int pdata_bm_read_try(struct pdata_bm *bm, pdata_block_t b,
		      const struct pdata_validator *v,
		      struct pdata_block **result);
int pdata_bm_new(struct pdata_bm *bm, pdata_block_t b,
		 const struct pdata_validator *v, struct pdata_block **result);
int pdata_bm_new_super(struct pdata_bm *bm, pdata_block_t b,
		       const struct pdata_validator *v,
		       struct pdata_block **result);
int pdata_bm_read_raw(struct pdata_bm *bm, pdata_block_t b, void *buf);
void pdata_bm_dirty(struct pdata_block *blk);
void pdata_bm_put(struct pdata_block *blk);
void *pdata_block_data(struct pdata_block *blk);
pdata_block_t pdata_block_nr(struct pdata_block *blk);
int pdata_bm_write_dirty(struct pdata_bm *bm);
int pdata_bm_write_super(struct pdata_bm *bm, struct pdata_block *sb);
void pdata_bm_reset(struct pdata_bm *bm);

/* dm-pdata-sm-meta.c: reference counts of the metadata device. */

struct pdata_tm;
struct pdata_msm;

/* Space map roots in a superblock: 4 x le64, in a 128-byte field. */
#define PDATA_SM_ROOT_SIZE	128

/* The metadata space map indexes at most 255 bitmaps of 16320 blocks. */
#define PDATA_ENTRIES_PER_BITMAP	16320U
#define PDATA_MSM_MAX_BITMAPS		255U
#define PDATA_MSM_MAX_BLOCKS	\
	((pdata_block_t)PDATA_MSM_MAX_BITMAPS * PDATA_ENTRIES_PER_BITMAP)

struct pdata_msm *pdata_msm_create(struct pdata_tm *tm,
				   pdata_block_t nr_blocks);
int pdata_msm_open(struct pdata_tm *tm, const void *root_le,
		   struct pdata_msm **result);
void pdata_msm_destroy(struct pdata_msm *sm);
int pdata_msm_new_block(struct pdata_msm *sm, pdata_block_t *b);
int pdata_msm_inc(struct pdata_msm *sm, pdata_block_t b);
int pdata_msm_dec(struct pdata_msm *sm, pdata_block_t b);
u32 pdata_msm_count(struct pdata_msm *sm, pdata_block_t b);
bool pdata_msm_is_new(struct pdata_msm *sm, pdata_block_t b);
pdata_block_t pdata_msm_nr_blocks(struct pdata_msm *sm);
pdata_block_t pdata_msm_nr_free(struct pdata_msm *sm);
int pdata_msm_extend(struct pdata_msm *sm, pdata_block_t nr_blocks);
int pdata_msm_write_out(struct pdata_msm *sm);
void pdata_msm_root(struct pdata_msm *sm, void *root_le);
void pdata_msm_committed(struct pdata_msm *sm);

/* dm-pdata-tm.c: transactions over the block cache. */

struct pdata_tm *pdata_tm_create(struct pdata_bm *bm);
void pdata_tm_attach(struct pdata_tm *tm, struct pdata_msm *sm);
void pdata_tm_destroy(struct pdata_tm *tm);
struct pdata_bm *pdata_tm_bm(struct pdata_tm *tm);
struct pdata_msm *pdata_tm_sm(struct pdata_tm *tm);
int pdata_tm_new_block(struct pdata_tm *tm, const struct pdata_validator *v,
		       struct pdata_block **result);
int pdata_tm_shadow(struct pdata_tm *tm, pdata_block_t b,
		    const struct pdata_validator *v,
		    struct pdata_block **result, bool *inc_children);
int pdata_tm_read(struct pdata_tm *tm, pdata_block_t b,
		  const struct pdata_validator *v, struct pdata_block **result);
int pdata_tm_read_try(struct pdata_tm *tm, pdata_block_t b,
		      const struct pdata_validator *v,
		      struct pdata_block **result);
int pdata_tm_inc(struct pdata_tm *tm, pdata_block_t b);
int pdata_tm_dec(struct pdata_tm *tm, pdata_block_t b);
u32 pdata_tm_count(struct pdata_tm *tm, pdata_block_t b);
int pdata_tm_pre_commit(struct pdata_tm *tm);
int pdata_tm_commit(struct pdata_tm *tm, struct pdata_block *sb);

/* dm-pdata-btree.c: btrees of u64 keys and fixed-size values. */

/*
 * What a tree's values refer to.  inc and dec are called for values
 * that gain or lose a referrer (a shared leaf copied, a value removed or
 * overwritten); equal says an overwrite keeps the same referent.  Values
 * are in disk (little-endian) format.  Any of the three may be NULL.
 */
struct pdata_value_type {
	unsigned int size;
	void *context;
	int (*inc)(void *context, const void *value);
	int (*dec)(void *context, const void *value);
	bool (*equal)(void *context, const void *a, const void *b);
};

struct pdata_btree {
	struct pdata_tm *tm;
	struct pdata_value_type vt;
};

extern const struct pdata_validator pdata_btree_validator;

int pdata_btree_empty(const struct pdata_btree *t, pdata_block_t *root);
int pdata_btree_lookup(const struct pdata_btree *t, pdata_block_t root,
		       u64 key, void *value);
int pdata_btree_lookup_try(const struct pdata_btree *t, pdata_block_t root,
			   u64 key, void *value);
int pdata_btree_lookup_next(const struct pdata_btree *t, pdata_block_t root,
			    u64 key, u64 *found, void *value);
int pdata_btree_highest(const struct pdata_btree *t, pdata_block_t root,
			u64 *key);
int pdata_btree_insert(const struct pdata_btree *t, pdata_block_t root,
		       u64 key, const void *value, pdata_block_t *new_root,
		       bool *inserted);
int pdata_btree_remove(const struct pdata_btree *t, pdata_block_t root,
		       u64 key, pdata_block_t *new_root);
int pdata_btree_shadow_value(const struct pdata_btree *t, pdata_block_t root,
			     u64 key, pdata_block_t *new_root,
			     struct pdata_block **leaf, void **value);
int pdata_btree_del(const struct pdata_btree *t, pdata_block_t root);
int pdata_btree_walk(const struct pdata_btree *t, pdata_block_t root,
		     int (*fn)(void *context, u64 key, const void *value),
		     void *context);

/* dm-pdata-sm-disk.c: reference counts of another device's blocks. */

struct pdata_dsm;

int pdata_dsm_create(struct pdata_tm *tm, struct pdata_dsm **result);
int pdata_dsm_open(struct pdata_tm *tm, const void *root_le,
		   struct pdata_dsm **result);
void pdata_dsm_destroy(struct pdata_dsm *sm);
int pdata_dsm_new_block(struct pdata_dsm *sm, pdata_block_t *b);
int pdata_dsm_inc(struct pdata_dsm *sm, pdata_block_t b);
int pdata_dsm_dec(struct pdata_dsm *sm, pdata_block_t b);
int pdata_dsm_count(struct pdata_dsm *sm, pdata_block_t b, u32 *count);
pdata_block_t pdata_dsm_nr_blocks(struct pdata_dsm *sm);
pdata_block_t pdata_dsm_nr_free(struct pdata_dsm *sm);
int pdata_dsm_extend(struct pdata_dsm *sm, pdata_block_t nr_blocks);
int pdata_dsm_commit(struct pdata_dsm *sm);
void pdata_dsm_root(struct pdata_dsm *sm, void *root_le);

/* Shared by the two space maps: the 2-bit counts of a bitmap block. */

extern const struct pdata_validator pdata_bitmap_validator;
extern const struct pdata_validator pdata_index_validator;

#define PDATA_BITMAP_HEADER	16U

struct pdata_disk_sm_root {
	__le64 nr_blocks;
	__le64 nr_allocated;
	__le64 bitmap_root;
	__le64 ref_count_root;
} __packed;

struct pdata_disk_index_entry {
	__le64 blocknr;
	__le32 nr_free;
	__le32 none_free_before;
} __packed;

static inline unsigned int pdata_bitmap_get(const void *data, unsigned int j)
{
	const u8 *byte = (const u8 *)data + PDATA_BITMAP_HEADER + j / 4;
	unsigned int s = 2 * (j % 4);

	return ((*byte >> s) & 1) << 1 | ((*byte >> (s + 1)) & 1);
}

static inline void pdata_bitmap_set(void *data, unsigned int j,
				    unsigned int value)
{
	u8 *byte = (u8 *)data + PDATA_BITMAP_HEADER + j / 4;
	unsigned int s = 2 * (j % 4);

	*byte &= ~(3U << s);
	*byte |= ((value >> 1) & 1) << s | (value & 1) << (s + 1);
}

#endif /* DMX_PDATA_H */
