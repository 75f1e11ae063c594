// SPDX-License-Identifier: GPL-2.0
/*
 * Region logs: the core and disk dirty logs of include/dmx-region-log.h.
 *
 * Both keep two bitmaps.  The clean bits are the ones a disk log
 * writes: a region is clean when no write to it can be half done on
 * some copy and the copies agree.  The sync bits say which regions the
 * copies agree on now; they start as the clean bits and only the user
 * changes them (a resync, a failed write).
 *
 * The clean bits live inside the log's disk image, a buffer laid out
 * as the device is: the header in its first sector, the bits from byte
 * 1024 on, little-endian bit order, the bitmap a whole number of longs
 * (as Linux writes it on 64-bit machines).  A flush writes the buffer
 * from sector 0, rounded up to the device's logical block, and, when a
 * region was marked dirty, waits for a cache flush too: the data write
 * that follows must never reach the disk before the dirty mark does.
 * The bio and its vectors are the log's own, so a flush allocates
 * nothing.
 */
#include <linux/bitmap.h>
#include <linux/bitops.h>
#include <linux/blkdev.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "dmx-region-log.h"

#define RLOG_MAGIC		0x4D695272	/* "rRiM" on disk */
#define RLOG_VERSION		2
#define RLOG_BITS_OFFSET	1024		/* bytes; two sectors */
#define RLOG_MAX_REGIONS	UINT_MAX

enum rlog_sync {
	RLOG_SYNC_DEFAULT,	/* trust the log */
	RLOG_SYNC_FORCE,	/* "sync": copy everything again */
	RLOG_SYNC_NONE,		/* "nosync": take everything as in sync */
};

struct rlog_disk_header {
	__le32 magic;
	__le32 version;
	__le64 nr_regions;
} __packed;

struct dmx_rlog {
	struct dmx_target *ti;
	struct dmx_dev *dev;		/* NULL for a core log */
	enum rlog_sync sync;
	sector_t region_size;
	dmx_region_t nr_regions;

	void *image;			/* header, then the clean bits */
	unsigned long *clean;		/* inside image, little-endian bits */
	size_t image_size;		/* bytes written: whole logical blocks */
	unsigned int nr_vecs;
	struct bio_vec *vecs;		/* one per page of the image */

	unsigned long *sync_bits;	/* native order */
	dmx_region_t sync_count;	/* read locklessly by status */

	bool touched_dirty;		/* a dirty mark awaits a flush */
	bool touched_clean;		/* a clean mark awaits a flush */
	bool failed;			/* an I/O to the device failed: 'D' */
	bool flush_failed;		/* a cache flush failed: 'F' */
};

/* Construction. */

static int rlog_parse_sync(struct dmx_rlog *log, const char *arg)
{
	if (!strcmp(arg, "sync"))
		log->sync = RLOG_SYNC_FORCE;
	else if (!strcmp(arg, "nosync"))
		log->sync = RLOG_SYNC_NONE;
	else
		return -EINVAL;
	return 0;
}

static int rlog_parse_region_size(struct dmx_rlog *log, const char *arg)
{
	unsigned int size;

	if (kstrtouint(arg, 10, &size) || size < 2 || !is_power_of_2(size) ||
	    size > log->ti->len)
		return -EINVAL;
	log->region_size = size;
	log->nr_regions = DIV_ROUND_UP_ULL(log->ti->len, size);
	return log->nr_regions > RLOG_MAX_REGIONS ? -EINVAL : 0;
}

/* Bytes of the clean bitmap: whole longs of 64 bits, as Linux has them. */
static size_t rlog_bitmap_bytes(dmx_region_t nr_regions)
{
	return DIV_ROUND_UP_ULL(nr_regions, 64) * 8;
}

static int rlog_alloc_image(struct dmx_rlog *log, unsigned int block)
{
	unsigned int i;

	log->image_size = round_up(RLOG_BITS_OFFSET +
				   rlog_bitmap_bytes(log->nr_regions), block);
	log->image = vzalloc(log->image_size);
	if (!log->image)
		return -ENOMEM;
	log->clean = log->image + RLOG_BITS_OFFSET;
	log->nr_vecs = DIV_ROUND_UP(log->image_size, PAGE_SIZE);
	log->vecs = kcalloc(log->nr_vecs, sizeof(*log->vecs), GFP_KERNEL);
	if (!log->vecs)
		return -ENOMEM;
	for (i = 0; i < log->nr_vecs; i++) {
		size_t off = (size_t)i * PAGE_SIZE;

		log->vecs[i].bv_page = vmalloc_to_page(log->image + off);
		log->vecs[i].bv_len = min_t(size_t, PAGE_SIZE,
					    log->image_size - off);
		log->vecs[i].bv_offset = 0;
	}
	return 0;
}

static void rlog_free(struct dmx_rlog *log)
{
	if (log->dev)
		dmx_put_device(log->ti, log->dev);
	kvfree(log->sync_bits);
	kfree(log->vecs);
	vfree(log->image);
	kfree(log);
}

/* Every region clean and in sync, or none, as a new log starts. */
static void rlog_fill(struct dmx_rlog *log, dmx_region_t from, bool in_sync)
{
	dmx_region_t r;

	for (r = from; r < log->nr_regions; r++) {
		if (in_sync)
			__set_bit_le(r, log->clean);
		else
			__clear_bit_le(r, log->clean);
	}
}

/* The sync bits and their count, from the clean bits. */
static void rlog_sync_from_clean(struct dmx_rlog *log)
{
	dmx_region_t r, count = 0;

	bitmap_zero(log->sync_bits, log->nr_regions);
	for (r = 0; r < log->nr_regions; r++) {
		if (test_bit_le(r, log->clean)) {
			__set_bit(r, log->sync_bits);
			count++;
		}
	}
	WRITE_ONCE(log->sync_count, count);
}

/*
 * core: <region size> [sync|nosync]; disk: <dev> <region size> [...].
 * The log device must hold the whole image.
 */
static int rlog_ctr_args(struct dmx_rlog *log, bool disk, unsigned int argc,
			 char **argv)
{
	struct dmx_target *ti = log->ti;
	unsigned int block = SECTOR_SIZE;
	int r;

	if (argc < 1u + disk || argc > 2u + disk) {
		ti->error = "Invalid mirror log argument count";
		return -EINVAL;
	}
	if (disk) {
		r = dmx_get_device(ti, argv[0], &log->dev);
		if (r) {
			ti->error = "Log device lookup failure";
			return r;
		}
		block = bdev_logical_block_size(log->dev->bdev);
		argv++;
		argc--;
	}
	if (rlog_parse_region_size(log, argv[0])) {
		ti->error = "Invalid region size";
		return -EINVAL;
	}
	if (argc > 1 && rlog_parse_sync(log, argv[1])) {
		ti->error = "Unrecognised sync argument to mirror log";
		return -EINVAL;
	}
	r = rlog_alloc_image(log, block);
	if (r) {
		ti->error = "Cannot allocate mirror log";
		return r;
	}
	if (disk && log->image_size > bdev_nr_bytes(log->dev->bdev)) {
		ti->error = "Mirror log device too small";
		return -EINVAL;
	}
	log->sync_bits = kvcalloc(BITS_TO_LONGS(log->nr_regions),
				  sizeof(long), GFP_KERNEL);
	if (!log->sync_bits) {
		ti->error = "Cannot allocate mirror log";
		return -ENOMEM;
	}
	return 0;
}

int dmx_rlog_create(struct dmx_target *ti, unsigned int argc, char **argv,
		    struct dmx_rlog **result, unsigned int *used)
{
	struct dmx_rlog *log;
	unsigned int nargs;
	bool disk;
	int r;

	if (argc < 2) {
		ti->error = "Insufficient mirror log arguments";
		return -EINVAL;
	}
	if (!strcmp(argv[0], "core")) {
		disk = false;
	} else if (!strcmp(argv[0], "disk")) {
		disk = true;
	} else {
		ti->error = "Unknown mirror log type";
		return -EINVAL;
	}
	if (kstrtouint(argv[1], 10, &nargs) || nargs > argc - 2) {
		ti->error = "Invalid mirror log argument count";
		return -EINVAL;
	}
	log = kzalloc(sizeof(*log), GFP_KERNEL);
	if (!log) {
		ti->error = "Cannot allocate mirror log";
		return -ENOMEM;
	}
	log->ti = ti;
	r = rlog_ctr_args(log, disk, nargs, argv + 2);
	if (r) {
		rlog_free(log);
		return r;
	}
	/* Until a disk log is read back at resume, nothing is in sync. */
	rlog_fill(log, 0, log->sync == RLOG_SYNC_NONE);
	rlog_sync_from_clean(log);
	*result = log;
	*used = 2 + nargs;
	return 0;
}

void dmx_rlog_destroy(struct dmx_rlog *log)
{
	rlog_free(log);
}

/* Disk I/O. */

static int rlog_rw(struct dmx_rlog *log, blk_opf_t opf)
{
	struct bio bio;
	unsigned int i;
	int r;

	bio_init(&bio, log->dev->bdev, log->vecs, log->nr_vecs, opf);
	bio.bi_iter.bi_sector = 0;
	for (i = 0; i < log->nr_vecs; i++)
		__bio_add_page(&bio, log->vecs[i].bv_page, log->vecs[i].bv_len, 0);
	r = submit_bio_wait(&bio);
	bio_uninit(&bio);
	return r;
}

static int rlog_cache_flush(struct dmx_rlog *log)
{
	struct bio bio;
	int r;

	bio_init(&bio, log->dev->bdev, NULL, 0,
		 REQ_OP_WRITE | REQ_PREFLUSH | REQ_SYNC);
	r = submit_bio_wait(&bio);
	bio_uninit(&bio);
	return r;
}

static void rlog_fail(struct dmx_rlog *log)
{
	if (!log->failed)
		pr_warn(DMX_MSG_PREFIX ": mirror log device %s failed\n",
			log->dev->name);
	log->failed = true;
	dmx_target_event(log->ti);
}

static void rlog_header_to_image(struct dmx_rlog *log)
{
	struct rlog_disk_header *h = log->image;

	h->magic = cpu_to_le32(RLOG_MAGIC);
	h->version = cpu_to_le32(RLOG_VERSION);
	h->nr_regions = cpu_to_le64(log->nr_regions);
}

/*
 * How many regions of the image read may be trusted: none for a new
 * log (bad magic, or sync/nosync given), a read error or a version we
 * do not know.  Version 1 is version 2 on little-endian machines.
 */
static dmx_region_t rlog_read_image(struct dmx_rlog *log)
{
	struct rlog_disk_header *h = log->image;
	u32 version;

	if (rlog_rw(log, REQ_OP_READ)) {
		rlog_fail(log);
		return 0;
	}
	if (log->sync != RLOG_SYNC_DEFAULT || le32_to_cpu(h->magic) != RLOG_MAGIC)
		return 0;
	version = le32_to_cpu(h->version);
	if (IS_ENABLED(CONFIG_CPU_LITTLE_ENDIAN) && version == 1)
		version = RLOG_VERSION;
	if (version != RLOG_VERSION) {
		pr_warn(DMX_MSG_PREFIX ": mirror log %s: incompatible version %u\n",
			log->dev->name, version);
		rlog_fail(log);
		return 0;
	}
	return le64_to_cpu(h->nr_regions);
}

/*
 * Regions the header knew keep their bits, newer ones start out of
 * sync (in sync with nosync), bits past the end are zero; then the
 * header is written back with today's count.
 */
void dmx_rlog_resume(struct dmx_rlog *log)
{
	dmx_region_t known, r;
	size_t bits;

	if (!log->dev)
		return;
	known = rlog_read_image(log);
	if (known < log->nr_regions)
		rlog_fill(log, known, log->sync == RLOG_SYNC_NONE);
	bits = rlog_bitmap_bytes(log->nr_regions) * BITS_PER_BYTE;
	for (r = log->nr_regions; r < bits; r++)
		__clear_bit_le(r, log->clean);
	rlog_sync_from_clean(log);
	rlog_header_to_image(log);
	log->touched_dirty = true;
	dmx_rlog_flush(log);
}

int dmx_rlog_flush(struct dmx_rlog *log)
{
	bool dirtied = log->touched_dirty;
	int r;

	if (!log->dev || (!log->touched_dirty && !log->touched_clean))
		return 0;
	log->touched_dirty = false;
	log->touched_clean = false;
	r = rlog_rw(log, REQ_OP_WRITE | REQ_SYNC);
	if (!r && dirtied) {
		r = rlog_cache_flush(log);
		if (r)
			log->flush_failed = true;
	}
	if (r)
		rlog_fail(log);
	return r;
}

/* Bits. */

sector_t dmx_rlog_region_size(struct dmx_rlog *log)
{
	return log->region_size;
}

dmx_region_t dmx_rlog_nr_regions(struct dmx_rlog *log)
{
	return log->nr_regions;
}

bool dmx_rlog_persistent(struct dmx_rlog *log)
{
	return log->dev;
}

bool dmx_rlog_in_sync(struct dmx_rlog *log, dmx_region_t region)
{
	return test_bit(region, log->sync_bits);
}

void dmx_rlog_set_in_sync(struct dmx_rlog *log, dmx_region_t region,
			  bool in_sync)
{
	if (in_sync) {
		if (!test_and_set_bit(region, log->sync_bits))
			WRITE_ONCE(log->sync_count, log->sync_count + 1);
	} else {
		if (test_and_clear_bit(region, log->sync_bits))
			WRITE_ONCE(log->sync_count, log->sync_count - 1);
	}
}

dmx_region_t dmx_rlog_sync_count(struct dmx_rlog *log)
{
	return READ_ONCE(log->sync_count);
}

bool dmx_rlog_next_out_of_sync(struct dmx_rlog *log, dmx_region_t from,
			       dmx_region_t *region)
{
	if (from >= log->nr_regions)
		return false;
	*region = find_next_zero_bit(log->sync_bits, log->nr_regions, from);
	return *region < log->nr_regions;
}

bool dmx_rlog_is_clean(struct dmx_rlog *log, dmx_region_t region)
{
	return test_bit_le(region, log->clean);
}

void dmx_rlog_mark_dirty(struct dmx_rlog *log, dmx_region_t region)
{
	__clear_bit_le(region, log->clean);
	log->touched_dirty = true;
}

void dmx_rlog_mark_clean(struct dmx_rlog *log, dmx_region_t region)
{
	__set_bit_le(region, log->clean);
	log->touched_clean = true;
}

void dmx_rlog_mark_all_dirty(struct dmx_rlog *log)
{
	rlog_fill(log, 0, false);
	log->touched_dirty = true;
}

/* Status. */

static const char *rlog_sync_word(struct dmx_rlog *log)
{
	return log->sync == RLOG_SYNC_FORCE ? "sync " : "nosync ";
}

void dmx_rlog_status(struct dmx_rlog *log, enum dmx_status_type type,
		     char *result, unsigned int maxlen, unsigned int *sz)
{
	bool plain = log->sync == RLOG_SYNC_DEFAULT;

	switch (type) {
	case DMX_STATUS_INFO:
		if (!log->dev)
			dmx_emit(result, maxlen, sz, "1 core");
		else
			dmx_emit(result, maxlen, sz, "3 disk %s %c", log->dev->name,
				 log->flush_failed ? 'F' : log->failed ? 'D' : 'A');
		break;
	case DMX_STATUS_TABLE:
		if (!log->dev)
			dmx_emit(result, maxlen, sz, "core %u %llu ", plain ? 1 : 2,
				 (unsigned long long)log->region_size);
		else
			dmx_emit(result, maxlen, sz, "disk %u %s %llu ",
				 plain ? 2 : 3, log->dev->name,
				 (unsigned long long)log->region_size);
		if (!plain)
			dmx_emit(result, maxlen, sz, "%s", rlog_sync_word(log));
		break;
	case DMX_STATUS_IMA:
		break;
	}
}
