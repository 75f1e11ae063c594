/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The chunk copy engine shared by the targets (dm-copy.c): copies a
 * range of sectors from one block device to up to DMX_COPY_MAX_DESTS
 * others, or writes zeroes to them, and calls back in process context.
 * The data is on the destinations when the callback runs, but not
 * necessarily durable: a flush is the caller's.
 *
 * Each user makes its own copier, sized for its jobs: a copier holds
 * in reserve the memory of one piece (up to 1 MiB), and a job of any
 * length is done piece by piece, so every job is sure to finish
 * however tight memory is.
 */
#ifndef DMX_COPY_H
#define DMX_COPY_H

#include <linux/blk_types.h>
#include <linux/types.h>

#define DMX_COPY_MAX_DESTS	8

struct dmx_copier;

/* Where a copy reads or writes: a device and a first sector on it. */
struct dmx_copy_region {
	struct block_device *bdev;
	sector_t sector;
};

/* How a job ended. */
struct dmx_copy_result {
	int error;			/* 0, or the job's first -errno */
	bool read_failed;		/* the source could not be read */
	unsigned long write_failed;	/* bit i: writing destination i failed */
};

/*
 * Runs in the copier's worker, in process context.  It may sleep, but
 * holds up the copier's other jobs while it does, and must not wait
 * for another job of the same copier.
 */
typedef void (*dmx_copy_fn)(const struct dmx_copy_result *result,
			    void *context);

struct dmx_copier *dmx_copy_create(sector_t piece_sectors);
void dmx_copy_destroy(struct dmx_copier *c);

void dmx_copy(struct dmx_copier *c, const struct dmx_copy_region *from,
	      const struct dmx_copy_region *to, unsigned int nr_to,
	      sector_t count, dmx_copy_fn fn, void *context);
bool dmx_copy_nowait(struct dmx_copier *c, const struct dmx_copy_region *from,
		     const struct dmx_copy_region *to, unsigned int nr_to,
		     sector_t count, dmx_copy_fn fn, void *context);
void dmx_copy_zero(struct dmx_copier *c, const struct dmx_copy_region *to,
		   unsigned int nr_to, sector_t count, dmx_copy_fn fn,
		   void *context);

#endif /* DMX_COPY_H */
