/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Btree nodes of the persistent-data engine, shared by the btree files
 * (dm-pdata-btree.c, dm-pdata-btree-remove.c).
 *
 * A node is one block: a 32-byte header, max_entries u64 keys, then
 * max_entries values of value_size bytes.  Internal nodes hold child
 * block numbers as values; key[i] is at most every key under child i
 * and below key[i + 1].  Keys are unique and ascending.
 */
#ifndef DMX_PDATA_NODE_H
#define DMX_PDATA_NODE_H

#include <asm/byteorder.h>
#include <linux/string.h>

#include "dmx-pdata.h"

#define PDATA_NODE_INTERNAL	1U
#define PDATA_NODE_LEAF		2U

struct pdata_node_header {
	__le32 csum;
	__le32 flags;
	__le64 blocknr;
	__le32 nr_entries;
	__le32 max_entries;
	__le32 value_size;
	__le32 padding;
} __packed;

struct pdata_node {
	struct pdata_node_header h;
	__le64 keys[];
} __packed;

static inline struct pdata_node *pdata_node(struct pdata_block *blk)
{
	return pdata_block_data(blk);
}

static inline u32 pdata_node_nr(const struct pdata_node *n)
{
	return le32_to_cpu(n->h.nr_entries);
}

static inline void pdata_node_set_nr(struct pdata_node *n, u32 nr)
{
	n->h.nr_entries = cpu_to_le32(nr);
}

static inline u32 pdata_node_max(const struct pdata_node *n)
{
	return le32_to_cpu(n->h.max_entries);
}

static inline u32 pdata_node_vs(const struct pdata_node *n)
{
	return le32_to_cpu(n->h.value_size);
}

static inline bool pdata_node_is_leaf(const struct pdata_node *n)
{
	return le32_to_cpu(n->h.flags) & PDATA_NODE_LEAF;
}

static inline u64 pdata_node_key(const struct pdata_node *n, u32 i)
{
	return le64_to_cpu(n->keys[i]);
}

static inline void *pdata_node_value(struct pdata_node *n, u32 i)
{
	return (u8 *)&n->keys[pdata_node_max(n)] + pdata_node_vs(n) * i;
}

/* The child block of an internal node's entry i. */
static inline pdata_block_t pdata_node_child(struct pdata_node *n, u32 i)
{
	return le64_to_cpu(*(__le64 *)pdata_node_value(n, i));
}

static inline void pdata_node_set_child(struct pdata_node *n, u32 i,
					pdata_block_t b)
{
	*(__le64 *)pdata_node_value(n, i) = cpu_to_le64(b);
}

/* Entries that fit a block, a multiple of 3 as persistent-data has it. */
static inline u32 pdata_max_entries(u32 value_size)
{
	u32 fit = (PDATA_BLOCK_SIZE - sizeof(struct pdata_node_header)) /
		  (sizeof(__le64) + value_size);

	return 3 * (fit / 3);
}

/* A node below this many entries (other than the root) is rebalanced. */
static inline u32 pdata_node_min(const struct pdata_node *n)
{
	return pdata_node_max(n) / 3;
}

static inline void pdata_node_init(struct pdata_node *n, u32 flags,
				   u32 value_size)
{
	void *block = n;

	memset(block + sizeof(n->h.csum), 0, PDATA_BLOCK_SIZE - sizeof(n->h.csum));
	n->h.flags = cpu_to_le32(flags);
	n->h.max_entries = cpu_to_le32(pdata_max_entries(value_size));
	n->h.value_size = cpu_to_le32(value_size);
}

/* Copies count entries of src from src_i to dst at dst_i (same kind). */
static inline void pdata_node_copy(struct pdata_node *dst, u32 dst_i,
				   struct pdata_node *src, u32 src_i, u32 count)
{
	memmove(&dst->keys[dst_i], &src->keys[src_i], count * sizeof(__le64));
	memmove(pdata_node_value(dst, dst_i), pdata_node_value(src, src_i),
		count * pdata_node_vs(src));
}

/* Moves entries [i, nr) of n by shift places (negative: to the left). */
static inline void pdata_node_shift(struct pdata_node *n, u32 i, int shift)
{
	pdata_node_copy(n, i + shift, n, i, pdata_node_nr(n) - i);
}

int pdata_node_lower_bound(const struct pdata_node *n, u64 key);
int pdata_node_shadow(const struct pdata_btree *t, pdata_block_t b,
		      struct pdata_block **result);
int pdata_node_read(const struct pdata_btree *t, pdata_block_t b,
		    struct pdata_block **result);
int pdata_node_shadow_child(const struct pdata_btree *t,
			    struct pdata_node *parent, u32 i,
			    struct pdata_block **result);
int pdata_node_shadow_root(const struct pdata_btree *t, pdata_block_t root,
			   u64 key, struct pdata_block **result,
			   pdata_block_t *new_root);
void pdata_node_insert_at(struct pdata_node *n, u32 i, u64 key,
			  const void *value);
void pdata_node_delete_at(struct pdata_node *n, u32 i);

#endif /* DMX_PDATA_NODE_H */
