// SPDX-License-Identifier: GPL-2.0
/*
 * Busy virtual blocks of a thin pool.  A job claims its virtual block
 * with a cell; a bio for that block that arrives while the cell is held
 * waits on it, and the job hands the waiting bios back, in the order
 * they came, when it releases the cell.
 */
#include <linux/hash.h>

#include "dmx-thin.h"

void thin_cells_init(struct thin_cells *cells)
{
	unsigned int i;

	spin_lock_init(&cells->lock);
	for (i = 0; i < THIN_CELL_BUCKETS; i++)
		INIT_HLIST_HEAD(&cells->buckets[i]);
}

static struct hlist_head *thin_cell_bucket(struct thin_cells *cells,
					   u64 dev_id, u64 vblock)
{
	return &cells->buckets[hash_64(vblock ^ (dev_id << 40),
				       ilog2(THIN_CELL_BUCKETS))];
}

/* The busy cell of (dev_id, vblock), or NULL; cells->lock held. */
struct thin_cell *__thin_cell_find(struct thin_cells *cells, u64 dev_id,
				   u64 vblock)
{
	struct thin_cell *cell;

	hlist_for_each_entry(cell, thin_cell_bucket(cells, dev_id, vblock), node)
		if (cell->vblock == vblock && cell->dev_id == dev_id)
			return cell;
	return NULL;
}

/* If (dev_id, vblock) is busy, bio waits on it and true is returned. */
bool thin_cell_wait(struct thin_cells *cells, u64 dev_id, u64 vblock,
		    struct bio *bio)
{
	struct thin_cell *cell;

	spin_lock(&cells->lock);
	cell = __thin_cell_find(cells, dev_id, vblock);
	if (cell)
		bio_list_add(&cell->waiting, bio);
	spin_unlock(&cells->lock);
	return cell;
}

/*
 * Makes (dev_id, vblock) busy with cell, for bio's job.  If it is busy
 * already, bio waits on the other cell instead and false is returned.
 */
bool thin_cell_claim(struct thin_cells *cells, struct thin_cell *cell,
		     u64 dev_id, u64 vblock, struct bio *bio)
{
	struct thin_cell *busy;

	spin_lock(&cells->lock);
	busy = __thin_cell_find(cells, dev_id, vblock);
	if (busy) {
		bio_list_add(&busy->waiting, bio);
	} else {
		cell->dev_id = dev_id;
		cell->vblock = vblock;
		bio_list_init(&cell->waiting);
		hlist_add_head(&cell->node,
			       thin_cell_bucket(cells, dev_id, vblock));
	}
	spin_unlock(&cells->lock);
	return !busy;
}

/* The block is free again; the bios that waited are added to bios. */
void thin_cell_release(struct thin_cells *cells, struct thin_cell *cell,
		       struct bio_list *bios)
{
	spin_lock(&cells->lock);
	hlist_del(&cell->node);
	bio_list_merge(bios, &cell->waiting);
	spin_unlock(&cells->lock);
}
