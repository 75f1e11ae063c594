// SPDX-License-Identifier: GPL-2.0
/*
 * Block copies and zeroing for thin pool jobs.  Copies go through the
 * module's copy engine (dm-snap-copy.c); zeroing is a chain of write-
 * zeroes (or zero-page) bios from the block layer.  Either way the job
 * hears of it through thin_job_done_one().
 *
 * This is a thin wrapper on purpose: it goes when the shared copy
 * engine (dm-copy.c, with a zero-fill job) lands.
 */
#include <linux/blkdev.h>
#include <linux/slab.h>

#include "dmx-snap.h"
#include "dmx-thin.h"

struct thin_copier {
	struct snap_copier *sc;
};

struct thin_copier *thin_copier_create(void)
{
	struct thin_copier *c = kzalloc(sizeof(*c), GFP_KERNEL);

	if (!c)
		return ERR_PTR(-ENOMEM);
	c->sc = snap_copier_create(THIN_COPY_MAX_SECTORS);
	if (IS_ERR(c->sc)) {
		int r = PTR_ERR(c->sc);

		kfree(c);
		return ERR_PTR(r);
	}
	return c;
}

/* Waits for every copy in flight. */
void thin_copier_destroy(struct thin_copier *c)
{
	if (IS_ERR_OR_NULL(c))
		return;
	snap_copier_destroy(c->sc);
	kfree(c);
}

static void thin_copy_done(int error, void *context)
{
	thin_job_done_one(context, error);
}

void thin_copy(struct thin_copier *c, struct block_device *src,
	       sector_t src_sector, struct block_device *dst,
	       sector_t dst_sector, sector_t count, struct thin_job *job)
{
	snap_copy(c->sc, src, src_sector, dst, dst_sector, count,
		  thin_copy_done, job);
}

static void thin_zero_endio(struct bio *bio)
{
	struct thin_job *job = bio->bi_private;
	int error = blk_status_to_errno(bio->bi_status);

	bio_put(bio);
	thin_job_done_one(job, error);
}

void thin_zero(struct block_device *dst, sector_t sector, sector_t count,
	       struct thin_job *job)
{
	struct bio *bio = NULL;
	int r;

	/* Bios built before an error are chained to the last one. */
	r = __blkdev_issue_zeroout(dst, sector, count, GFP_NOIO, &bio, 0);
	if (!bio) {
		thin_job_done_one(job, r);
		return;
	}
	bio->bi_end_io = thin_zero_endio;
	bio->bi_private = job;
	submit_bio(bio);
}
