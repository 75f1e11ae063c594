/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every part of the snapshot targets counts in.  A chunk is
 * chunk_size sectors, a power of two: origin chunk N is the sectors
 * [N * chunk_size, (N + 1) * chunk_size) of the origin, COW chunk N the
 * same of the COW device.  An exception says that origin chunk old_chunk
 * has its snapshot copy in COW chunk new_chunk.
 */
#ifndef DMX_SNAP_CHUNK_H
#define DMX_SNAP_CHUNK_H

#include <linux/types.h>

#include "dmx.h"

#define SNAP_PREFIX		DMX_MSG_PREFIX ": snapshot: "

/*
 * Largest chunk: upstream's, the largest power of two whose size in
 * bytes fits an int (1 GiB).  The copy engine splits larger copies.
 */
#define SNAP_MAX_CHUNK_SECTORS	(1U << 21)

typedef u64 snap_chunk_t;

static inline snap_chunk_t snap_sector_to_chunk(sector_t sector,
						unsigned int chunk_shift)
{
	return sector >> chunk_shift;
}

static inline sector_t snap_chunk_to_sector(snap_chunk_t chunk,
					    unsigned int chunk_shift)
{
	return chunk << chunk_shift;
}

#endif /* DMX_SNAP_CHUNK_H */
