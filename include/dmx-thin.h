/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internals shared by the thin-pool and thin targets:
 *
 *   dm-thin-pool.c         the pool object: registry, modes, commits,
 *                          running work on the pool's worker
 *   dm-thin-io.c           the worker's bio path: provisioning, breaking
 *                          sharing, discards, flushes
 *   dm-thin-cell.c         blocks busy with a job, and the bios held on them
 *   dm-copy.c              (shared) block copies and zeroing for the jobs
 *   dm-target-thin-pool.c  the thin-pool target
 *   dm-target-thin.c       the thin target and its fast path
 *   dm-thin-metadata.c     the pool's metadata (dmx-thin-metadata.h)
 *
 * Vocabulary: a block is the pool's data block size (block_sectors); a
 * virtual block (vblock) is one of a thin device's, mapped to a data
 * block or not.  A job provisions a virtual block, copies a shared one,
 * or unmaps one; while it runs the virtual block is busy and bios to it
 * wait on the job, in order.
 */
#ifndef DMX_THIN_H
#define DMX_THIN_H

#include <linux/bio.h>
#include <linux/list.h>
#include <linux/mempool.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "dmx.h"
#include "dmx-copy.h"
#include "dmx-thin-metadata.h"

#define THIN_PREFIX		DMX_MSG_PREFIX ": thin: "

/* dm-thin's limits on the data block size, in sectors. */
#define THIN_MIN_BLOCK_SECTORS	128
#define THIN_MAX_BLOCK_SECTORS	2097152

enum thin_mode {
	THIN_MODE_WRITE,
	THIN_MODE_OUT_OF_DATA_SPACE,	/* new blocks wait or fail */
	THIN_MODE_OUT_OF_META_SPACE,	/* read-only until the metadata grows */
	THIN_MODE_READ_ONLY,		/* metadata failed: needs_check */
	THIN_MODE_FAIL,			/* metadata unusable: every bio fails */
};

struct thin_features {
	enum thin_mode mode;		/* read_only asks THIN_MODE_READ_ONLY */
	bool zero_new_blocks;
	bool discard_enabled;
	bool discard_passdown;
	bool error_if_no_space;
};

/*
 * Copies and zeroing of new blocks go through the shared copy engine
 * (include/dmx-copy.h), THIN_COPY_PIECE_SECTORS at a time.
 */

struct thin_job;

#define THIN_COPY_PIECE_SECTORS	((BIO_MAX_VECS * PAGE_SIZE) >> SECTOR_SHIFT)

/* dm-thin-cell.c: busy virtual blocks. */

#define THIN_CELL_BUCKETS	1024

struct thin_cell {
	struct hlist_node node;		/* in a bucket while busy */
	u64 dev_id;
	u64 vblock;
	struct bio_list waiting;	/* bios to this block, in arrival order */
};

struct thin_cells {
	/*
	 * Protects the buckets and every busy cell's waiting list, and
	 * orders the bio fast path against the epoch flip (dm-thin-pool.c).
	 * Never taken in interrupt context.
	 */
	spinlock_t lock;
	struct hlist_head buckets[THIN_CELL_BUCKETS];
};

void thin_cells_init(struct thin_cells *cells);
struct thin_cell *__thin_cell_find(struct thin_cells *cells, u64 dev_id,
				   u64 vblock);
bool thin_cell_wait(struct thin_cells *cells, u64 dev_id, u64 vblock,
		    struct bio *bio);
bool thin_cell_claim(struct thin_cells *cells, struct thin_cell *cell,
		     u64 dev_id, u64 vblock, struct bio *bio);
void thin_cell_release(struct thin_cells *cells, struct thin_cell *cell,
		       struct bio_list *bios);

/* The objects. */

struct thin_pool;

/* One thin target. */
struct thin_c {
	struct dmx_target *ti;
	struct thin_pool *pool;
	struct dmx_dev *pool_dev;
	struct dmx_dev *origin_dev;	/* external origin, or NULL */
	sector_t origin_sectors;	/* its size, taken at each resume */
	struct thin_md_dev *td;
	u64 dev_id;
	struct list_head node;		/* in pool->thins, under pool->lock */
};

/* One thin-pool target: a table's view of a pool. */
struct pool_c {
	struct dmx_target *ti;
	struct thin_pool *pool;
	struct dmx_dev *meta_dev;
	struct dmx_dev *data_dev;
	u64 low_water;			/* blocks */
	struct thin_features requested;	/* as the table line says */
	struct thin_features adjusted;	/* what the devices allow */
};

/* What a job does. */
enum thin_job_kind {
	THIN_JOB_PROVISION,		/* map a new block, written by bio */
	THIN_JOB_DISCARD,		/* unmapped; discard the freed block */
};

/*
 * A job: the cell it holds busy, the data block it works on, and the
 * sub-operations (the bio itself, copies, zeroing) still in flight.
 */
struct thin_job {
	struct thin_cell cell;
	struct list_head node;		/* pool->finished once done */
	struct thin_pool *pool;
	struct thin_c *tc;
	enum thin_job_kind kind;
	struct bio *bio;
	pdata_block_t data_block;
	atomic_t pending;
	int error;
};

/* Per-bio data of thin targets. */
struct thin_io {
	struct thin_c *tc;
	struct thin_job *job;		/* this bio's write belongs to a job */
	int epoch;			/* holds pool->inflight[epoch]; -1 none */
	bool complete_after_commit;	/* FUA: its mapping must be committed */
};

/* The pool: one per metadata device, shared by the tables that use it. */
struct thin_pool {
	struct list_head node;		/* in the registry, its lock */
	unsigned int refs;		/* pool and thin targets; registry lock */
	dev_t pool_devt;		/* the pool's mapped device */
	char name[16];			/* "major:minor" of it, for messages */
	struct block_device *meta_bdev;
	struct block_device *data_bdev;
	struct thin_md *md;
	sector_t block_sectors;
	int block_shift;		/* log2(block_sectors), or -1 */

	/*
	 * The bound pool target and its settings; set at preresume from
	 * the worker, read anywhere (a target outlives its binding until
	 * its table is destroyed, after another one was bound).
	 */
	struct pool_c *pt;
	struct thin_features pf;
	u64 low_water;
	bool low_water_triggered;	/* worker */
	bool meta_low_triggered;	/* worker */
	enum thin_mode mode;		/* written by the worker, read anywhere */
	bool suspended;			/* lock */
	sector_t data_sectors;		/* of the bound table, for thin targets */

	/*
	 * Protects thins, deferred, retry, commit_wait and finished.  Taken
	 * in interrupt context (finished jobs), so with interrupts off.
	 */
	spinlock_t lock;
	struct list_head thins;		/* struct thin_c */
	struct bio_list deferred;	/* for the worker, in arrival order */
	struct bio_list retry;		/* waiting for data space */
	struct bio_list commit_wait;	/* go on once the next commit lands */
	struct list_head finished;	/* jobs whose I/O is done */

	struct workqueue_struct *wq;	/* ordered: one worker at a time */
	struct work_struct worker;
	struct delayed_work waker;	/* periodic commits */
	struct delayed_work no_space_timeout;
	unsigned long last_commit;	/* jiffies; worker */

	struct thin_cells cells;
	mempool_t job_pool;
	struct dmx_copier *copier;

	/*
	 * Data bios in flight hold a count of the epoch they were mapped
	 * in.  A commit that frees data blocks first waits for the older
	 * epoch to drain, so that no bio still in flight to a freed block
	 * lands after the block has been given to someone else.
	 */
	unsigned int epoch;		/* cells.lock */
	atomic_t inflight[2];
	wait_queue_head_t inflight_wait;
	bool freed;			/* blocks freed since the last commit; worker */
};

/* dm-thin-pool.c */
extern unsigned int thin_no_space_timeout;

int thin_pool_get(struct block_device *meta_bdev,
		  struct block_device *data_bdev, dev_t pool_devt,
		  sector_t block_sectors, bool read_only, const char **error,
		  struct thin_pool **result, bool *created);
struct thin_pool *thin_pool_find(dev_t pool_devt);
void thin_pool_put(struct thin_pool *pool);
int thin_pool_run(struct thin_pool *pool, int (*fn)(void *arg), void *arg);
void thin_pool_wake(struct thin_pool *pool);
void thin_pool_defer(struct thin_pool *pool, struct bio *bio);
void thin_pool_set_mode(struct thin_pool *pool, enum thin_mode mode);
void thin_pool_metadata_failed(struct thin_pool *pool, const char *op, int r);
int thin_pool_commit(struct thin_pool *pool);
pdata_block_t thin_pool_meta_threshold(struct thin_pool *pool);
void thin_pool_event(struct thin_pool *pool);
bool thin_pool_read_only(struct thin_pool *pool);
void thin_pool_requeue_retry(struct thin_pool *pool);
void thin_pool_start_waker(struct thin_pool *pool);
void thin_pool_stop_timers(struct thin_pool *pool);
const char *thin_pool_name(struct thin_pool *pool);
int thin_pool_epoch_get(struct thin_pool *pool);
void thin_pool_epoch_put(struct thin_pool *pool, int epoch);

static inline sector_t thin_block_to_sector(struct thin_pool *pool,
					    pdata_block_t b)
{
	return pool->block_shift >= 0 ? b << pool->block_shift :
	       b * pool->block_sectors;
}

static inline u64 thin_sector_to_block(struct thin_pool *pool, sector_t s)
{
	if (pool->block_shift >= 0)
		return s >> pool->block_shift;
	sector_div(s, pool->block_sectors);
	return s;
}

static inline sector_t thin_sector_in_block(struct thin_pool *pool,
					    sector_t s)
{
	if (pool->block_shift >= 0)
		return s & (pool->block_sectors - 1);
	return sector_div(s, pool->block_sectors);
}

/* dm-thin-io.c */
void thin_job_done_one(struct thin_job *job, int error);
void thin_io_process(struct thin_pool *pool);
void thin_io_remap(struct thin_c *tc, struct bio *bio, pdata_block_t b);
void thin_io_no_space(struct thin_pool *pool, struct bio *bio);
int thin_io_read_unmapped(struct thin_c *tc, struct bio *bio);
void thin_io_error_list(struct bio_list *bios, blk_status_t status);


#endif /* DMX_THIN_H */
