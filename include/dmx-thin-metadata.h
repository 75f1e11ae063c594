/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Thin pool metadata (dm-thin-metadata.c): thin devices, their block
 * mappings and snapshots, in the on-disk format of Linux's dm-thin, on
 * top of the persistent-data engine.
 *
 * A pool's metadata has one lock: lookups share it, changes take it
 * alone.  Every function takes it itself.  thin_md_find() with
 * can_block false never sleeps (it fails with -EWOULDBLOCK instead),
 * for the bio fast path.
 */
#ifndef DMX_THIN_METADATA_H
#define DMX_THIN_METADATA_H

#include "dmx-pdata.h"

#define THIN_MAX_DEV_ID		((1ULL << 24) - 1)

struct thin_md;
struct thin_md_dev;

struct thin_lookup {
	pdata_block_t block;	/* data block */
	bool shared;		/* maybe shared with a snapshot */
};

/* Called with the metadata locked, before a commit writes anything. */
typedef int (*thin_md_pre_commit_fn)(void *context);

int thin_md_open(struct block_device *bdev, u32 data_block_size,
		 bool may_format, struct thin_md **result);
void thin_md_close(struct thin_md *md);
void thin_md_set_pre_commit(struct thin_md *md, thin_md_pre_commit_fn fn,
			    void *context);
int thin_md_commit(struct thin_md *md);
int thin_md_abort(struct thin_md *md);
bool thin_md_changed(struct thin_md *md);
void thin_md_set_read_only(struct thin_md *md, bool read_only);
int thin_md_set_needs_check(struct thin_md *md);
bool thin_md_needs_check(struct thin_md *md);

int thin_md_create_thin(struct thin_md *md, u64 id);
int thin_md_create_snap(struct thin_md *md, u64 id, u64 origin);
int thin_md_delete(struct thin_md *md, u64 id);
int thin_md_set_transaction_id(struct thin_md *md, u64 current_id, u64 new_id);
u64 thin_md_transaction_id(struct thin_md *md);
int thin_md_reserve_snap(struct thin_md *md);
int thin_md_release_snap(struct thin_md *md);
pdata_block_t thin_md_held_root(struct thin_md *md);

void thin_md_data_space(struct thin_md *md, pdata_block_t *nr_blocks,
			pdata_block_t *nr_free);
void thin_md_meta_space(struct thin_md *md, pdata_block_t *nr_blocks,
			pdata_block_t *nr_free);
int thin_md_resize_data(struct thin_md *md, pdata_block_t nr_blocks);
int thin_md_resize_meta(struct thin_md *md, pdata_block_t nr_blocks);
int thin_md_alloc_data(struct thin_md *md, pdata_block_t *b);
int thin_md_free_data(struct thin_md *md, pdata_block_t b);
int thin_md_data_shared(struct thin_md *md, pdata_block_t b, bool *shared);

int thin_md_open_dev(struct thin_md *md, u64 id, struct thin_md_dev **result);
void thin_md_close_dev(struct thin_md_dev *td);
u64 thin_md_dev_id(struct thin_md_dev *td);
bool thin_md_dev_changed(struct thin_md_dev *td);
int thin_md_find(struct thin_md_dev *td, u64 vblock, bool can_block,
		 struct thin_lookup *result);
int thin_md_find_next(struct thin_md_dev *td, u64 vblock, u64 *found,
		      struct thin_lookup *result);
int thin_md_insert(struct thin_md_dev *td, u64 vblock, pdata_block_t b);
int thin_md_remove(struct thin_md_dev *td, u64 vblock, bool *freed,
		   pdata_block_t *b);
int thin_md_mapped(struct thin_md_dev *td, u64 *mapped, u64 *highest,
		   bool *any);

#endif /* DMX_THIN_METADATA_H */
