/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The mirror target, shared by its two files: dm-target-mirror.c (the
 * table line, the fast path of reads, status, suspend and resume) and
 * dm-mirror-io.c (the worker: writes to every leg, the region log, the
 * background resync and read retries).
 */
#ifndef DMX_MIRROR_H
#define DMX_MIRROR_H

#include <linux/bio.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "dmx.h"
#include "dmx-copy.h"
#include "dmx-region-log.h"

#define MIRROR_PREFIX		DMX_MSG_PREFIX ": mirror: "
#define MIRROR_MAX_LEGS		(DMX_COPY_MAX_DESTS + 1)
/* Regions resynced at once. */
#define MIRROR_RECOVERY_SLOTS	4

/* Why a leg failed (mirror_leg.errors), worst first in status. */
enum mirror_error {
	MIRROR_ERR_FLUSH,	/* 'F' */
	MIRROR_ERR_WRITE,	/* 'D' */
	MIRROR_ERR_SYNC,	/* 'S' */
	MIRROR_ERR_READ,	/* 'R' */
};

struct mirror_leg {
	struct dmx_dev *dev;
	sector_t offset;
	unsigned long errors;		/* MIRROR_ERR_* bits, atomic ops */
	atomic_t error_count;
};

enum mirror_slot_state {
	MIRROR_SLOT_FREE,
	MIRROR_SLOT_QUIESCING,		/* waits for the region's writes */
	MIRROR_SLOT_COPYING,		/* the copier has it */
	MIRROR_SLOT_COPIED,		/* called back, for the worker */
};

/* One region being resynced; writes to it wait on parked. */
struct mirror_slot {
	struct mirror_set *ms;
	enum mirror_slot_state state;	/* COPIED set by the copier */
	dmx_region_t region;
	struct bio_list parked;
	struct dmx_copy_result result;
	unsigned char dest_leg[DMX_COPY_MAX_DESTS];	/* copy dest -> leg */
};

struct mirror_set {
	struct dmx_target *ti;
	struct dmx_rlog *log;
	unsigned int nr_legs;
	unsigned int default_leg;	/* the worker's; map READ_ONCEs it */
	bool handle_errors;
	bool keep_log;
	unsigned int region_shift;
	dmx_region_t nr_regions;

	struct workqueue_struct *wq;	/* the worker, and nothing else */
	struct work_struct work;
	/* Protects queued, completed and retries; taken in completions. */
	spinlock_t lock;
	struct bio_list queued;		/* writes, flushes, discards */
	struct bio_list completed;	/* writes whose legs have all ended */
	struct bio_list retries;	/* reads that failed on a leg */

	struct bio_set leg_set;		/* the per-leg clones of a write */
	struct dmx_copier *copier;

	/*
	 * Writes in flight per region: raised by the worker only, dropped
	 * by the worker or by a write's last leg completion, so a count
	 * the worker sees at zero stays zero until it raises it.
	 */
	atomic_t *pending;
	/* Idle regions to mark clean (atomic bit ops), and whether any. */
	unsigned long *to_clean;
	atomic_t any_to_clean;

	/* The worker's own, and the suspend path's while it is idle. */
	dmx_region_t cursor;		/* next region the resync looks at */
	bool in_sync;			/* all regions were, at last look */
	struct mirror_slot slots[MIRROR_RECOVERY_SLOTS];

	/*
	 * With handle_errors, writes that failed on a leg, and writes not
	 * tried because the log or a leg has failed, wait here until the
	 * table is replaced (the next suspend releases them).
	 */
	struct bio_list holds;
	bool leg_failed;		/* a leg has failed since in sync */
	bool log_failed;		/* a log flush failed; sticky */

	bool suspending;		/* WRITE_ONCE/READ_ONCE */
	atomic_t copies;		/* slots the copier has */
	wait_queue_head_t copies_wait;

	struct mirror_leg legs[];
};

/* Per clone the core hands us. */
struct mirror_io {
	struct bvec_iter iter;		/* a read as it came, for a retry */
	unsigned long tried;		/* legs a read was sent to */
	bool final;			/* no retry: complete as it is */
	bool accounted;			/* counted in pending[region] */
	bool attempted;			/* sent to the legs */
	atomic_t legs_left;		/* leg clones of a write in flight */
	unsigned long failed;		/* legs whose clone failed */
	unsigned int leg;		/* the read's leg */
};

/* Per leg clone of a write. */
struct mirror_leg_io {
	struct mirror_set *ms;
	struct bio *parent;
	unsigned int leg;
	struct bio clone;		/* must be last */
};

static inline dmx_region_t mirror_region(struct mirror_set *ms,
					 struct bio *bio)
{
	return (bio->bi_iter.bi_sector - ms->ti->begin) >> ms->region_shift;
}

static inline bool mirror_leg_dead(struct mirror_leg *leg)
{
	return test_bit(MIRROR_ERR_WRITE, &leg->errors) ||
	       test_bit(MIRROR_ERR_FLUSH, &leg->errors);
}

void mirror_wake(struct mirror_set *ms);
void mirror_work(struct work_struct *work);
void mirror_queue(struct mirror_set *ms, struct bio_list *list,
		  struct bio *bio);
void mirror_fail_leg(struct mirror_set *ms, unsigned int leg,
		     enum mirror_error type);
unsigned int mirror_read_leg(struct mirror_set *ms, struct bio *bio);
void mirror_map_to_leg(struct mirror_set *ms, struct bio *bio,
		       unsigned int leg);
void mirror_stop_recovery(struct mirror_set *ms);

#endif /* DMX_MIRROR_H */
