// SPDX-License-Identifier: GPL-2.0
/*
 * The block cache of the persistent-data engine for the host build: the
 * same interface as dm-pdata-block.c over a file.  It checks what the
 * engine relies on: no block referenced at commit or reset, no new block
 * handed out while someone holds it.  Now and then it drops a clean block
 * (the next read comes from the file and is checked again) or writes a
 * dirty one early, as the kernel's cache does under memory pressure.
 * host_bm_before_super, when set, runs between writing the changed blocks
 * and the superblock: the moment a crash must leave the old transaction
 * whole.
 */
#define _GNU_SOURCE
#include <unistd.h>

#include "shim/host-kernel.h"
#include "dmx-pdata.h"

struct pdata_block {
	struct pdata_bm *bm;
	pdata_block_t nr;
	void *data;
	const struct pdata_validator *v;
	unsigned int refs;
	bool dirty;
};

struct pdata_bm {
	struct block_device *bdev;
	pdata_block_t nr_blocks;
	pdata_block_t cap;
	struct pdata_block **blocks;
	unsigned long held;
};

void (*host_bm_before_super)(struct pdata_bm *bm);
unsigned int host_bm_chaos;	/* 1 in N puts drops or writes a block; 0: never */

/* Crc32c, reflected polynomial 0x82F63B78, no final inversion. */
static u32 host_crc32c(u32 crc, const u8 *p, size_t len)
{
	static u32 table[256];
	size_t i;
	int k;

	if (!table[1]) {
		for (i = 0; i < 256; i++) {
			u32 c = i;

			for (k = 0; k < 8; k++)
				c = c & 1 ? (c >> 1) ^ 0x82F63B78 : c >> 1;
			table[i] = c;
		}
	}
	for (i = 0; i < len; i++)
		crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return crc;
}

u32 pdata_checksum(const void *data, size_t len, u32 xor)
{
	return host_crc32c(~0U, data, len) ^ xor;
}

void *pdata_block_data(struct pdata_block *blk)
{
	return blk->data;
}

pdata_block_t pdata_block_nr(struct pdata_block *blk)
{
	return blk->nr;
}

static void host_die(const char *what, pdata_block_t b)
{
	fprintf(stderr, "pdata_bm_host: %s (block %llu)\n", what,
		(unsigned long long)b);
	abort();
}

static int host_io(struct pdata_bm *bm, bool write, pdata_block_t b, void *data)
{
	off_t off = (off_t)b * PDATA_BLOCK_SIZE;
	ssize_t n = write ? pwrite(bm->bdev->fd, data, PDATA_BLOCK_SIZE, off) :
			    pread(bm->bdev->fd, data, PDATA_BLOCK_SIZE, off);

	return n == PDATA_BLOCK_SIZE ? 0 : -EIO;
}

static void host_prepare(struct pdata_block *blk)
{
	*(__le64 *)((u8 *)blk->data + 8) = cpu_to_le64(blk->nr);
	*(__le32 *)blk->data = pdata_checksum((u8 *)blk->data + 4,
					      PDATA_BLOCK_SIZE - 4,
					      blk->v->csum_xor);
}

static int host_validate(const struct pdata_validator *v, pdata_block_t b,
			 const void *data)
{
	if (le64_to_cpu(*(const __le64 *)((const u8 *)data + 8)) != b)
		return -ENOTBLK;
	if (le32_to_cpu(*(const __le32 *)data) !=
	    pdata_checksum((const u8 *)data + 4, PDATA_BLOCK_SIZE - 4, v->csum_xor))
		return -EILSEQ;
	if (v->check && v->check(data))
		return -EILSEQ;
	return 0;
}

static void host_free(struct pdata_bm *bm, struct pdata_block *blk)
{
	bm->blocks[blk->nr] = NULL;
	free(blk->data);
	free(blk);
}

static int host_write(struct pdata_bm *bm, struct pdata_block *blk)
{
	host_prepare(blk);
	blk->dirty = false;
	return host_io(bm, true, blk->nr, blk->data);
}

struct pdata_bm *pdata_bm_create(struct block_device *bdev,
				 pdata_block_t nr_blocks, unsigned int max_cached)
{
	struct pdata_bm *bm = calloc(1, sizeof(*bm));

	bm->bdev = bdev;
	bm->nr_blocks = nr_blocks;
	bm->cap = nr_blocks;
	bm->blocks = calloc(nr_blocks, sizeof(*bm->blocks));
	return bm;
}

void pdata_bm_reset(struct pdata_bm *bm)
{
	pdata_block_t b;

	if (bm->held)
		host_die("reset with blocks held", 0);
	for (b = 0; b < bm->cap; b++)
		if (bm->blocks[b])
			host_free(bm, bm->blocks[b]);
}

void pdata_bm_destroy(struct pdata_bm *bm)
{
	pdata_bm_reset(bm);
	free(bm->blocks);
	free(bm);
}

pdata_block_t pdata_bm_nr_blocks(struct pdata_bm *bm)
{
	return bm->nr_blocks;
}

void pdata_bm_set_nr_blocks(struct pdata_bm *bm, pdata_block_t nr_blocks)
{
	if (nr_blocks > bm->cap) {
		bm->blocks = realloc(bm->blocks, nr_blocks * sizeof(*bm->blocks));
		memset(bm->blocks + bm->cap, 0,
		       (nr_blocks - bm->cap) * sizeof(*bm->blocks));
		bm->cap = nr_blocks;
	}
	bm->nr_blocks = nr_blocks;
}

static struct pdata_block *host_get(struct pdata_bm *bm, pdata_block_t b)
{
	struct pdata_block *blk = bm->blocks[b];

	if (blk) {
		blk->refs++;
		bm->held++;
	}
	return blk;
}

int pdata_bm_read(struct pdata_bm *bm, pdata_block_t b,
		  const struct pdata_validator *v, struct pdata_block **result)
{
	struct pdata_block *blk;
	int r;

	if (b >= bm->nr_blocks)
		return -EINVAL;
	blk = host_get(bm, b);
	if (!blk) {
		blk = calloc(1, sizeof(*blk));
		blk->data = malloc(PDATA_BLOCK_SIZE);
		blk->bm = bm;
		blk->nr = b;
		blk->v = v;
		r = host_io(bm, false, b, blk->data);
		if (!r)
			r = host_validate(v, b, blk->data);
		if (r) {
			free(blk->data);
			free(blk);
			return r;
		}
		bm->blocks[b] = blk;
		blk->refs = 1;
		bm->held++;
	}
	if (blk->v != v) {
		pdata_bm_put(blk);
		return -EILSEQ;
	}
	*result = blk;
	return 0;
}

int pdata_bm_read_try(struct pdata_bm *bm, pdata_block_t b,
		      const struct pdata_validator *v,
		      struct pdata_block **result)
{
	if (b >= bm->nr_blocks || !bm->blocks[b])
		return -EWOULDBLOCK;
	return pdata_bm_read(bm, b, v, result);
}

static int host_zeroed(struct pdata_bm *bm, pdata_block_t b,
		       const struct pdata_validator *v,
		       struct pdata_block **result)
{
	struct pdata_block *blk;

	if (b >= bm->nr_blocks)
		return -EINVAL;
	blk = host_get(bm, b);
	if (blk && blk->refs > 1)
		host_die("new block still held", b);
	if (!blk) {
		blk = calloc(1, sizeof(*blk));
		blk->data = malloc(PDATA_BLOCK_SIZE);
		blk->bm = bm;
		blk->nr = b;
		blk->refs = 1;
		bm->held++;
		bm->blocks[b] = blk;
	}
	blk->v = v;
	memset(blk->data, 0, PDATA_BLOCK_SIZE);
	*result = blk;
	return 0;
}

int pdata_bm_new(struct pdata_bm *bm, pdata_block_t b,
		 const struct pdata_validator *v, struct pdata_block **result)
{
	int r = host_zeroed(bm, b, v, result);

	if (!r)
		(*result)->dirty = true;
	return r;
}

int pdata_bm_new_super(struct pdata_bm *bm, pdata_block_t b,
		       const struct pdata_validator *v,
		       struct pdata_block **result)
{
	return host_zeroed(bm, b, v, result);
}

int pdata_bm_read_raw(struct pdata_bm *bm, pdata_block_t b, void *buf)
{
	return host_io(bm, false, b, buf);
}

void pdata_bm_dirty(struct pdata_block *blk)
{
	if (!blk->refs)
		host_die("dirtied unheld block", blk->nr);
	blk->dirty = true;
}

void pdata_bm_put(struct pdata_block *blk)
{
	struct pdata_bm *bm = blk->bm;

	if (!blk->refs)
		host_die("put of unheld block", blk->nr);
	blk->refs--;
	bm->held--;
	if (blk->refs || !host_bm_chaos || rand() % host_bm_chaos)
		return;
	/* Block 0 is written only by pdata_bm_write_super(). */
	if (blk->dirty && blk->nr)
		host_write(bm, blk);
	else if (!blk->dirty)
		host_free(bm, blk);
}

int pdata_bm_write_dirty(struct pdata_bm *bm)
{
	pdata_block_t b;
	int r;

	for (b = 1; b < bm->cap; b++) {
		if (bm->blocks[b] && bm->blocks[b]->dirty) {
			if (bm->blocks[b]->refs)
				host_die("dirty block held at write-back", b);
			r = host_write(bm, bm->blocks[b]);
			if (r)
				return r;
		}
	}
	if (bm->blocks[0] && bm->blocks[0]->dirty)
		host_die("superblock on the dirty list", 0);
	return 0;
}

int pdata_bm_write_super(struct pdata_bm *bm, struct pdata_block *sb)
{
	if (host_bm_before_super)
		host_bm_before_super(bm);
	return host_write(bm, sb);
}
