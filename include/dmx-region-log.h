/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Region logs (dm-region-log.c): which regions of a target are in sync
 * across its copies, and which may not be (dirty) because writes to
 * them are or were in flight.  Shared by every target that keeps
 * copies of its data in step (mirror).
 *
 *   core <#args> <region size> [sync|nosync]
 *   disk <#args> <log device> <region size> [sync|nosync]
 *
 * A core log lives in memory only: every activation starts with all
 * regions out of sync (all in sync with nosync).  A disk log keeps the
 * clean bits on its device in the layout of Linux's dm-log (dm-log.rst):
 * a header (magic, version, region count) then one bit per region, so
 * either implementation reads a log the other wrote.
 *
 * Concurrency: one user context at a time (the target's worker, or the
 * suspend path while that worker is idle) changes a log; in_sync and
 * sync_count may be read from anywhere.
 */
#ifndef DMX_REGION_LOG_H
#define DMX_REGION_LOG_H

#include <linux/types.h>

#include "dmx.h"

typedef u64 dmx_region_t;

struct dmx_rlog;

/*
 * Parses "<type> <#args> <args>..." from argv for ti, whose length the
 * regions cover; *used says how many words that was.  Sets ti->error.
 */
int dmx_rlog_create(struct dmx_target *ti, unsigned int argc, char **argv,
		    struct dmx_rlog **log, unsigned int *used);
void dmx_rlog_destroy(struct dmx_rlog *log);

/* Reads a disk log back (the state its last flush left); may sleep. */
void dmx_rlog_resume(struct dmx_rlog *log);

sector_t dmx_rlog_region_size(struct dmx_rlog *log);
dmx_region_t dmx_rlog_nr_regions(struct dmx_rlog *log);
/* True if cleaning needs the data flushed first (the log persists). */
bool dmx_rlog_persistent(struct dmx_rlog *log);

bool dmx_rlog_in_sync(struct dmx_rlog *log, dmx_region_t region);
void dmx_rlog_set_in_sync(struct dmx_rlog *log, dmx_region_t region,
			  bool in_sync);
dmx_region_t dmx_rlog_sync_count(struct dmx_rlog *log);
/* The first region not in sync at or after from; false if none. */
bool dmx_rlog_next_out_of_sync(struct dmx_rlog *log, dmx_region_t from,
			       dmx_region_t *region);

bool dmx_rlog_is_clean(struct dmx_rlog *log, dmx_region_t region);
void dmx_rlog_mark_dirty(struct dmx_rlog *log, dmx_region_t region);
void dmx_rlog_mark_clean(struct dmx_rlog *log, dmx_region_t region);
/* Makes the marks durable; 0 or -errno (the log is then failed). */
int dmx_rlog_flush(struct dmx_rlog *log);
/* Everything dirty (a flush of the data could not be made). */
void dmx_rlog_mark_all_dirty(struct dmx_rlog *log);

/* Appends the log's part of the target's status line. */
void dmx_rlog_status(struct dmx_rlog *log, enum dmx_status_type type,
		     char *result, unsigned int maxlen, unsigned int *sz);

#endif /* DMX_REGION_LOG_H */
