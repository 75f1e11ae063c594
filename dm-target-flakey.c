// SPDX-License-Identifier: GPL-2.0
/*
 * flakey <dev> <offset> <up interval> <down interval>
 *        [<#feature args> [<feature args>]]
 *
 * A linear mapping that fails on a schedule, for testing what runs on
 * top of it.  From the moment the table is loaded the device works for
 * <up interval> seconds, misbehaves for <down interval> seconds, and so
 * on.  While it is down every I/O fails, unless a feature says what to
 * do instead:
 *
 *   drop_writes   writes succeed but never reach the device; reads work
 *   error_writes  writes fail; reads work
 *   corrupt_bio_byte <Nth byte> <r|w> <value> <flags>
 *                 byte Nth (counted from 1) of every bio in that
 *                 direction whose bi_opf has all of <flags> becomes
 *                 <value>: reads after they complete, writes in a copy
 *                 (the writer's pages are never touched)
 *
 * Table syntax, errors and status lines are those of Linux 6.1's
 * dm-flakey, which xfstests and blktests drive.
 */
#include <linux/bio.h>
#include <linux/highmem.h>
#include <linux/mempool.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "dmx.h"

/* A table line can name at most this many feature words (6.1's limit). */
#define FLAKEY_MAX_FEATURE_ARGS	6
/* Arguments a corrupt_bio_byte feature takes after its name. */
#define FLAKEY_CORRUPT_ARGS	4
/* In-flight copies of corrupted writes: head, copied block, tail. */
#define FLAKEY_BOUNCE_BIOS	4
#define FLAKEY_BOUNCE_PAGES	2

struct flakey_ctx {
	struct dmx_dev *dev;
	sector_t start;
	unsigned long load_time;	/* jiffies when the table was loaded */
	unsigned int up_interval;	/* seconds */
	unsigned int down_interval;	/* seconds */

	bool drop_writes;
	bool error_writes;
	unsigned int corrupt_byte;	/* counted from 1; 0: no corruption */
	bool corrupt_writes;		/* else corrupt reads */
	unsigned int corrupt_value;
	blk_opf_t corrupt_flags;

	/*
	 * Only with corrupt_bio_byte ... w: writes to corrupt wait here
	 * for the worker, which may sleep for memory where map may not.
	 */
	spinlock_t corrupt_lock;	/* protects corrupt_bios */
	struct bio_list corrupt_bios;
	struct work_struct corrupt_work;
	struct workqueue_struct *corrupt_wq;
	struct bio_set bounce_set;	/* head, copy and tail of a write */
	mempool_t *bounce_pages;	/* one per copied block in flight */
};

/* Per-clone data. */
struct flakey_io {
	bool down;			/* mapped while the device was down */
	struct bvec_iter iter;		/* where a read's data lands */
};

/* The copy of a block that carries the corrupted byte to the device. */
struct flakey_bounce {
	struct bio *parent;		/* the write it is part of */
	struct flakey_ctx *fc;
	struct bio bio;			/* must be last: bio_set front_pad */
};

/* --- constructor ------------------------------------------------------ */

/* What is left of the table line, consumed front to back. */
struct flakey_args {
	unsigned int argc;
	char **argv;
};

static const char *flakey_shift(struct flakey_args *as)
{
	if (!as->argc)
		return NULL;
	as->argc--;
	return *as->argv++;
}

/* The next word as a decimal in [min, max]; else ti->error = why. */
static int flakey_read_uint(struct dmx_target *ti, struct flakey_args *as,
			    unsigned int min, unsigned int max,
			    unsigned int *value, const char *why)
{
	const char *arg = flakey_shift(as);
	char dummy;

	if (!arg || sscanf(arg, "%u%c", value, &dummy) != 1 ||
	    *value < min || *value > max) {
		ti->error = why;
		return -EINVAL;
	}
	return 0;
}

static int flakey_parse_corrupt(struct dmx_target *ti, struct flakey_ctx *fc,
				struct flakey_args *as)
{
	unsigned int flags;
	const char *dir;
	int r;

	r = flakey_read_uint(ti, as, 1, UINT_MAX, &fc->corrupt_byte,
			     "Invalid corrupt bio byte");
	if (r)
		return r;
	dir = flakey_shift(as);
	if (dir && !strcasecmp(dir, "w")) {
		fc->corrupt_writes = true;
	} else if (dir && !strcasecmp(dir, "r")) {
		fc->corrupt_writes = false;
	} else {
		ti->error = "Invalid corrupt bio direction (r or w)";
		return -EINVAL;
	}
	r = flakey_read_uint(ti, as, 0, 255, &fc->corrupt_value,
			     "Invalid corrupt value to write into bio byte (0-255)");
	if (r)
		return r;
	r = flakey_read_uint(ti, as, 0, UINT_MAX, &flags,
			     "Invalid corrupt bio flags mask");
	fc->corrupt_flags = (__force blk_opf_t)flags;
	return r;
}

static int flakey_parse_write_mode(struct dmx_target *ti, struct flakey_ctx *fc,
				   bool drop)
{
	if (drop ? fc->drop_writes : fc->error_writes) {
		ti->error = drop ? "Feature drop_writes duplicated" :
				   "Feature error_writes duplicated";
		return -EINVAL;
	}
	if (drop ? fc->error_writes : fc->drop_writes) {
		ti->error = drop ?
			"Feature drop_writes conflicts with feature error_writes" :
			"Feature error_writes conflicts with feature drop_writes";
		return -EINVAL;
	}
	if (drop)
		fc->drop_writes = true;
	else
		fc->error_writes = true;
	return 0;
}

/*
 * The feature count covers the words that follow, a corrupt_bio_byte
 * counting as five.  A count too small for its features runs into the
 * end of the line and fails there, as in Linux; words after the counted
 * ones are ignored, also as in Linux.
 */
static int flakey_parse_features(struct dmx_target *ti, struct flakey_ctx *fc,
				 struct flakey_args *as)
{
	unsigned int count;
	const char *name;
	int left, r;

	if (!as->argc)
		return 0;
	r = flakey_read_uint(ti, as, 0, FLAKEY_MAX_FEATURE_ARGS, &count,
			     "Invalid number of feature args");
	if (r)
		return r;
	if (count > as->argc) {
		ti->error = "Invalid number of feature args";
		return -EINVAL;
	}

	/* Bounded: every round consumes a word of the line or fails. */
	for (left = count; left; ) {
		name = flakey_shift(as);
		left--;
		if (!name) {
			ti->error = "Insufficient feature arguments";
			return -EINVAL;
		}
		if (!strcasecmp(name, "drop_writes")) {
			r = flakey_parse_write_mode(ti, fc, true);
		} else if (!strcasecmp(name, "error_writes")) {
			r = flakey_parse_write_mode(ti, fc, false);
		} else if (!strcasecmp(name, "corrupt_bio_byte")) {
			if (!left) {
				ti->error = "Feature corrupt_bio_byte requires parameters";
				return -EINVAL;
			}
			r = flakey_parse_corrupt(ti, fc, as);
			left -= FLAKEY_CORRUPT_ARGS;
		} else {
			ti->error = "Unrecognised flakey feature requested";
			r = -EINVAL;
		}
		if (r)
			return r;
	}

	if (fc->corrupt_byte && fc->corrupt_writes) {
		if (fc->drop_writes) {
			ti->error = "drop_writes is incompatible with corrupt_bio_byte with the WRITE flag set";
			return -EINVAL;
		}
		if (fc->error_writes) {
			ti->error = "error_writes is incompatible with corrupt_bio_byte with the WRITE flag set";
			return -EINVAL;
		}
	}
	return 0;
}

static int flakey_parse_intervals(struct dmx_target *ti, struct flakey_ctx *fc,
				  struct flakey_args *as)
{
	int r;

	r = flakey_read_uint(ti, as, 0, UINT_MAX, &fc->up_interval,
			     "Invalid up interval");
	if (r)
		return r;
	r = flakey_read_uint(ti, as, 0, UINT_MAX, &fc->down_interval,
			     "Invalid down interval");
	if (r)
		return r;
	/* A sum that wraps to exactly zero says "zero" too, as in Linux. */
	if (!(fc->up_interval + fc->down_interval)) {
		ti->error = "Total (up + down) interval is zero";
		return -EINVAL;
	}
	if (fc->up_interval + fc->down_interval < fc->up_interval) {
		ti->error = "Interval overflow";
		return -EINVAL;
	}
	return 0;
}

static void flakey_corrupt_work(struct work_struct *work);

/* Only tables that corrupt writes need the copy machinery. */
static int flakey_init_bounce(struct dmx_target *ti, struct flakey_ctx *fc)
{
	int r;

	spin_lock_init(&fc->corrupt_lock);
	bio_list_init(&fc->corrupt_bios);
	INIT_WORK(&fc->corrupt_work, flakey_corrupt_work);

	fc->corrupt_wq = alloc_workqueue("dmx_flakey", WQ_MEM_RECLAIM, 0);
	if (!fc->corrupt_wq)
		goto bad;
	r = bioset_init(&fc->bounce_set, FLAKEY_BOUNCE_BIOS,
			offsetof(struct flakey_bounce, bio), BIOSET_NEED_BVECS);
	if (r)
		goto bad_wq;
	fc->bounce_pages = mempool_create_page_pool(FLAKEY_BOUNCE_PAGES, 0);
	if (!fc->bounce_pages)
		goto bad_bioset;
	return 0;

bad_bioset:
	bioset_exit(&fc->bounce_set);
bad_wq:
	destroy_workqueue(fc->corrupt_wq);
bad:
	ti->error = "Cannot allocate write corruption buffers";
	return -ENOMEM;
}

static void flakey_exit_bounce(struct flakey_ctx *fc)
{
	/* Every write has completed, but the worker may still be returning. */
	flush_work(&fc->corrupt_work);
	mempool_destroy(fc->bounce_pages);
	bioset_exit(&fc->bounce_set);
	destroy_workqueue(fc->corrupt_wq);
}

static bool flakey_copies_writes(struct flakey_ctx *fc)
{
	return fc->corrupt_byte && fc->corrupt_writes;
}

static int flakey_ctr(struct dmx_target *ti, unsigned int argc, char **argv)
{
	struct flakey_args as = { .argc = argc, .argv = argv };
	struct flakey_ctx *fc;
	const char *devname;
	int r;

	if (argc < 4) {
		ti->error = "Invalid argument count";
		return -EINVAL;
	}
	fc = kzalloc(sizeof(*fc), GFP_KERNEL);
	if (!fc) {
		ti->error = "Cannot allocate context";
		return -ENOMEM;
	}
	fc->load_time = jiffies;

	devname = flakey_shift(&as);
	if (!dmx_parse_sector(flakey_shift(&as), &fc->start)) {
		ti->error = "Invalid device sector";
		r = -EINVAL;
		goto bad;
	}
	r = flakey_parse_intervals(ti, fc, &as);
	if (r)
		goto bad;
	r = flakey_parse_features(ti, fc, &as);
	if (r)
		goto bad;

	r = dmx_get_device(ti, devname, &fc->dev);
	if (r) {
		ti->error = "Device lookup failed";
		goto bad;
	}
	if (flakey_copies_writes(fc)) {
		r = flakey_init_bounce(ti, fc);
		if (r)
			goto bad_dev;
	}

	ti->num_flush_bios = 1;
	ti->num_discard_bios = 1;
	ti->per_io_data_size = sizeof(struct flakey_io);
	ti->private = fc;
	return 0;

bad_dev:
	dmx_put_device(ti, fc->dev);
bad:
	kfree(fc);
	return r;
}

static void flakey_dtr(struct dmx_target *ti)
{
	struct flakey_ctx *fc = ti->private;

	if (flakey_copies_writes(fc))
		flakey_exit_bounce(fc);
	dmx_put_device(ti, fc->dev);
	kfree(fc);
}

/* --- corrupting data -------------------------------------------------- */

static bool flakey_flags_match(struct flakey_ctx *fc, struct bio *bio)
{
	return (bio->bi_opf & fc->corrupt_flags) == fc->corrupt_flags;
}

/* Sets the byte in a read's data, which iter says where it is. */
static void flakey_corrupt_read(struct flakey_ctx *fc, struct bio *bio,
				struct bvec_iter start)
{
	unsigned int at = fc->corrupt_byte - 1;
	struct bvec_iter iter;
	struct bio_vec bv;
	char *data;

	__bio_for_each_segment(bv, bio, iter, start) {
		if (at < bv.bv_len) {
			/* Never write into the page everybody shares. */
			if (bv.bv_page == ZERO_PAGE(0))
				return;
			data = bvec_kmap_local(&bv);
			data[at] = fc->corrupt_value;
			kunmap_local(data);
			flush_dcache_page(bv.bv_page);
			return;
		}
		at -= bv.bv_len;
	}
}

static void flakey_bounce_endio(struct bio *bio)
{
	struct flakey_bounce *fb = container_of(bio, struct flakey_bounce, bio);
	struct bio *parent = fb->parent;

	if (bio->bi_status && !parent->bi_status)
		parent->bi_status = bio->bi_status;
	mempool_free(bio_first_page_all(bio), fb->fc->bounce_pages);
	bio_put(bio);
	bio_endio(parent);
}

/*
 * A copy of the first len bytes of bio with byte at set to the value,
 * as a write of its own that completes into bio.
 */
static struct bio *flakey_bounce_block(struct flakey_ctx *fc, struct bio *bio,
				       unsigned int len, unsigned int at)
{
	struct bvec_iter start = bio->bi_iter, iter;
	struct flakey_bounce *fb;
	struct bio_vec bv;
	struct page *page;
	unsigned int done = 0;
	char *buf;

	page = mempool_alloc(fc->bounce_pages, GFP_NOIO);
	fb = container_of(bio_alloc_bioset(bio->bi_bdev, 1, bio->bi_opf,
					   GFP_NOIO, &fc->bounce_set),
			  struct flakey_bounce, bio);
	fb->parent = bio;
	fb->fc = fc;

	buf = kmap_local_page(page);
	start.bi_size = len;
	__bio_for_each_segment(bv, bio, iter, start) {
		memcpy_from_bvec(buf + done, &bv);
		done += bv.bv_len;
	}
	buf[at] = fc->corrupt_value;
	kunmap_local(buf);

	fb->bio.bi_iter.bi_sector = bio->bi_iter.bi_sector;
	__bio_add_page(&fb->bio, page, len, 0);
	fb->bio.bi_end_io = flakey_bounce_endio;
	bio_inc_remaining(bio);
	return &fb->bio;
}

/*
 * Writes bio with the byte changed: the blocks before the one holding
 * it and those after it go out as clones of bio, that block as a copy.
 * bio completes when all three have.  Runs in the worker, so the
 * GFP_NOIO allocations wait only for writes already submitted.
 */
static void flakey_write_corrupted(struct flakey_ctx *fc, struct bio *bio)
{
	unsigned int block = bdev_logical_block_size(fc->dev->bdev);
	unsigned int at = fc->corrupt_byte - 1;
	unsigned int head = round_down(at, block);
	struct bio *part;

	if (!bio_has_data(bio) || at >= bio->bi_iter.bi_size) {
		submit_bio_noacct(bio);
		return;
	}
	if (head) {
		part = bio_split(bio, head >> SECTOR_SHIFT, GFP_NOIO,
				 &fc->bounce_set);
		bio_chain(part, bio);
		submit_bio_noacct(part);
	}
	submit_bio_noacct(flakey_bounce_block(fc, bio, block, at - head));
	bio_advance(bio, block);
	if (bio->bi_iter.bi_size) {
		part = bio_alloc_clone(bio->bi_bdev, bio, GFP_NOIO,
				       &fc->bounce_set);
		bio_chain(part, bio);
		submit_bio_noacct(part);
	}
	/* Drops bio's own count: it ends when its parts have. */
	bio_endio(bio);
}

static void flakey_corrupt_work(struct work_struct *work)
{
	struct flakey_ctx *fc = container_of(work, struct flakey_ctx,
					     corrupt_work);
	struct bio_list bios;
	struct bio *bio;

	spin_lock_irq(&fc->corrupt_lock);
	bios = fc->corrupt_bios;
	bio_list_init(&fc->corrupt_bios);
	spin_unlock_irq(&fc->corrupt_lock);

	while ((bio = bio_list_pop(&bios)))
		flakey_write_corrupted(fc, bio);
}

static void flakey_queue_corrupt_write(struct flakey_ctx *fc, struct bio *bio)
{
	unsigned long flags;

	spin_lock_irqsave(&fc->corrupt_lock, flags);
	bio_list_add(&fc->corrupt_bios, bio);
	spin_unlock_irqrestore(&fc->corrupt_lock, flags);
	queue_work(fc->corrupt_wq, &fc->corrupt_work);
}

/* --- the bio path ----------------------------------------------------- */

/* Up for up_interval seconds from load, then down for down_interval. */
static bool flakey_is_down(struct flakey_ctx *fc)
{
	unsigned long elapsed = (jiffies - fc->load_time) / HZ;
	unsigned long period = (unsigned long)fc->up_interval + fc->down_interval;

	return elapsed % period >= fc->up_interval;
}

static void flakey_remap(struct dmx_target *ti, struct bio *bio)
{
	struct flakey_ctx *fc = ti->private;

	bio_set_dev(bio, fc->dev->bdev);
	if (bio_sectors(bio) || op_is_zone_mgmt(bio_op(bio)))
		bio->bi_iter.bi_sector = fc->start +
					 (bio->bi_iter.bi_sector - ti->begin);
}

static bool flakey_has_features(struct flakey_ctx *fc)
{
	return fc->corrupt_byte || fc->drop_writes || fc->error_writes;
}

static int flakey_map_write_down(struct flakey_ctx *fc, struct bio *bio)
{
	if (fc->drop_writes) {
		bio_endio(bio);
		return DMX_MAPIO_SUBMITTED;
	}
	if (fc->error_writes)
		return DMX_MAPIO_KILL;
	if (!fc->corrupt_byte)
		return DMX_MAPIO_KILL;
	if (fc->corrupt_writes && flakey_flags_match(fc, bio)) {
		flakey_queue_corrupt_write(fc, bio);
		return DMX_MAPIO_SUBMITTED;
	}
	return DMX_MAPIO_REMAPPED;
}

static int flakey_map(struct dmx_target *ti, struct bio *bio)
{
	struct flakey_ctx *fc = ti->private;
	struct flakey_io *io = dmx_per_io_data(bio);

	io->down = false;
	flakey_remap(ti, bio);
	if (op_is_zone_mgmt(bio_op(bio)) || !flakey_is_down(fc))
		return DMX_MAPIO_REMAPPED;

	io->down = true;
	if (op_is_write(bio_op(bio)))
		return flakey_map_write_down(fc, bio);
	/* Without features a read fails; with any it goes through. */
	if (!flakey_has_features(fc))
		return DMX_MAPIO_KILL;
	io->iter = bio->bi_iter;
	return DMX_MAPIO_REMAPPED;
}

static int flakey_end_io(struct dmx_target *ti, struct bio *bio,
			 blk_status_t *error)
{
	struct flakey_ctx *fc = ti->private;
	struct flakey_io *io = dmx_per_io_data(bio);

	if (!*error && io->down && !op_is_write(bio_op(bio)) &&
	    fc->corrupt_byte && !fc->corrupt_writes &&
	    flakey_flags_match(fc, bio))
		flakey_corrupt_read(fc, bio, io->iter);
	return DMX_ENDIO_DONE;
}

/* --- status ----------------------------------------------------------- */

/* As 6.1 prints it, trailing space included: tools compare the text. */
static void flakey_emit_table(struct flakey_ctx *fc, char *result,
			      unsigned int maxlen, unsigned int *sz)
{
	unsigned int count = fc->drop_writes + fc->error_writes +
			     (fc->corrupt_byte ? 1 + FLAKEY_CORRUPT_ARGS : 0);

	dmx_emit(result, maxlen, sz, "%s %llu %u %u %u ", fc->dev->name,
		 (unsigned long long)fc->start, fc->up_interval,
		 fc->down_interval, count);
	if (fc->drop_writes)
		dmx_emit(result, maxlen, sz, "drop_writes ");
	else if (fc->error_writes)
		dmx_emit(result, maxlen, sz, "error_writes ");
	if (fc->corrupt_byte)
		dmx_emit(result, maxlen, sz, "corrupt_bio_byte %u %c %u %u ",
			 fc->corrupt_byte, fc->corrupt_writes ? 'w' : 'r',
			 fc->corrupt_value,
			 (__force unsigned int)fc->corrupt_flags);
}

/* Linux 6.1's flakey reports nothing for INFO and IMA: neither do we. */
static void flakey_status(struct dmx_target *ti, enum dmx_status_type type,
			  char *result, unsigned int maxlen)
{
	unsigned int sz = 0;

	if (type == DMX_STATUS_TABLE)
		flakey_emit_table(ti->private, result, maxlen, &sz);
}

static int flakey_iterate_devices(struct dmx_target *ti, dmx_iterate_fn fn,
				  void *data)
{
	struct flakey_ctx *fc = ti->private;

	return fn(ti, fc->dev, fc->start, ti->len, data);
}

static struct dmx_target_type flakey_target = {
	.name		 = "flakey",
	.version	 = {1, 5, 0},
	.module		 = THIS_MODULE,
	.ctr		 = flakey_ctr,
	.dtr		 = flakey_dtr,
	.map		 = flakey_map,
	.end_io		 = flakey_end_io,
	.status		 = flakey_status,
	.iterate_devices = flakey_iterate_devices,
};

int dmx_flakey_init(void)
{
	return dmx_register_target(&flakey_target);
}

void dmx_flakey_exit(void)
{
	dmx_unregister_target(&flakey_target);
}
