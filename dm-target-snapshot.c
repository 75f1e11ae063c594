// SPDX-License-Identifier: GPL-2.0
/*
 * snapshot <origin> <COW> <P|PO|N> <chunk sectors> [<#features> ...]
 * snapshot-merge <origin> <COW> P <chunk sectors> [<#features> ...]
 *
 * A snapshot reads the chunks that changed from its COW device and the
 * rest from the origin; it writes to the COW device only, copying a
 * chunk there first unless the write covers it whole (dm-snap-cow.c).
 * Writes to the origin go through the snapshot-origin target, which has
 * every snapshot of the origin copy a chunk before it is overwritten.
 * This file holds the targets themselves: construction, the fast path
 * of the bio path, starting, status.
 *
 * Starting state.  The constructor opens the devices and reads the
 * header (unless a snapshot already registered on the same COW device
 * owns it), nothing more.  At the first resume the snapshot takes its
 * exceptions over from the snapshot already registered on the same COW
 * device (a table reload, or LVM's merge), or else reads them from the
 * COW device, and only then joins its origin.  So whatever the previous
 * table did up to its suspend is what the new one starts from.
 *
 * The chunk size is settled by the constructor (the predecessor's, the
 * header's or the table's) and a load or takeover at resume must find
 * the same: the core splits bios at it from the constructor on.
 */
#include <linux/ctype.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "dmx-snapshot.h"

/* How many flush clones each target sends: one per device it writes. */
#define SNAP_FLUSH_BIOS		1
#define SNAP_MERGE_FLUSH_BIOS	2	/* 0: the origin, 1: the COW device */

/* The pending table is sized for an eighth of the COW device's chunks. */
#define SNAP_PENDING_TABLE_SHIFT	3

static struct dmx_target_type merge_target;

/* The bio path. */

static int snapshot_map(struct dmx_target *ti, struct bio *bio)
{
	struct snapshot *s = ti->private;
	struct snap_io *io = dmx_per_io_data(bio);
	struct snap_pending *start = NULL;
	snap_chunk_t chunk, new_chunk;
	int r = DMX_MAPIO_KILL;

	snap_origin_io_init(&io->origin);
	snap_track_init(&io->track);
	if (bio->bi_opf & REQ_PREFLUSH) {
		bio_set_dev(bio, s->cow->bdev);
		return DMX_MAPIO_REMAPPED;
	}

	spin_lock(&s->lock);
	if (s->life != SNAP_ACTIVE || !s->valid)
		goto out;
	if (op_is_write(bio_op(bio)) && s->overflowed)
		goto out;

	chunk = snapshot_chunk(s, bio->bi_iter.bi_sector);
	if (snap_store_lookup(s->store, chunk, &new_chunk)) {
		snapshot_remap_to_cow(s, bio, new_chunk);
		r = DMX_MAPIO_REMAPPED;
		goto out;
	}
	if (!op_is_write(bio_op(bio))) {
		/* Until this read is done, the origin must keep the chunk. */
		bio_set_dev(bio, s->origin->bdev);
		snap_track(s->tracker, &io->track, chunk);
		r = DMX_MAPIO_REMAPPED;
		goto out;
	}
	start = snapshot_queue_write_locked(s, bio, chunk);
	r = DMX_MAPIO_SUBMITTED;
out:
	spin_unlock(&s->lock);
	if (start)
		snapshot_start_write(start);
	return r;
}

static int snapshot_merge_map(struct dmx_target *ti, struct bio *bio)
{
	struct snapshot *s = ti->private;
	struct snap_io *io = dmx_per_io_data(bio);

	snap_origin_io_init(&io->origin);
	snap_track_init(&io->track);
	if (bio->bi_opf & REQ_PREFLUSH) {
		if (dmx_bio_flush_index(bio))
			bio_set_dev(bio, s->cow->bdev);
		else
			bio_set_dev(bio, s->origin->bdev);
		return DMX_MAPIO_REMAPPED;
	}
	return snapshot_merge_route(s, bio);
}

static int snapshot_end_io(struct dmx_target *ti, struct bio *bio,
			   blk_status_t *error)
{
	struct snapshot *s = ti->private;
	struct snap_io *io = dmx_per_io_data(bio);

	snap_untrack(s->tracker, &io->track);
	snap_origin_end_write(s->o, &io->origin);
	return DMX_ENDIO_DONE;
}

/* Starting: hand-over or load, then join the origin. */

static int snapshot_check_takeover(struct snapshot *s, struct snapshot *pred)
{
	if (pred->life != SNAP_ACTIVE) {
		pr_err(SNAP_PREFIX "a snapshot on the same COW device is still starting\n");
		return -EBUSY;
	}
	if (!pred->suspended) {
		pr_err(SNAP_PREFIX "cannot take over from a snapshot on the same COW device until it is suspended\n");
		return -EINVAL;
	}
	if (snap_store_kind(pred->store) != snap_store_kind(s->store)) {
		pr_err(SNAP_PREFIX "cannot take over between persistent and transient stores\n");
		return -EINVAL;
	}
	if (pred->chunk_size != s->chunk_size) {
		pr_err(SNAP_PREFIX "cannot take over chunks of %u sectors with a table of %u\n",
		       pred->chunk_size, s->chunk_size);
		return -EINVAL;
	}
	return 0;
}

/*
 * Takes the store of pred, which s replaced on the origin, giving it
 * ours (which its destructor frees).  Origin writes that need s wait,
 * parked, until pred's last copy is done and s holds the state.  The
 * origin's start mutex held: pred's destructor waits for it.
 */
static void snapshot_take_over(struct snapshot *s, struct snapshot *pred)
{
	struct snap_store *store;
	bool valid, overflowed;

	snap_merge_stop(pred);
	snapshot_wait_for_copies(pred);
	flush_work(&pred->drop_work);

	spin_lock(&pred->lock);
	store = pred->store;
	valid = pred->valid;
	overflowed = pred->overflowed;
	pred->store = s->store;
	pred->valid = false;
	spin_unlock(&pred->lock);

	spin_lock(&s->lock);
	s->store = store;
	s->valid = valid;
	s->overflowed = overflowed;
	spin_unlock(&s->lock);

	snap_origin_activate(s->o, &s->member);
}

/*
 * Reads the store of s, whose COW device is reserved, with no lock
 * held: the COW device may sit on a device that only another resume
 * brings back.  Then joins the origin, or gives the reservation up.
 */
static int snapshot_load(struct snapshot *s)
{
	sector_t origin_size = bdev_nr_sectors(s->origin->bdev);
	unsigned int noio;
	int r;

	/* The device is suspended: reclaim must not write through it. */
	noio = memalloc_noio_save();
	r = snap_store_load(s->store,
			    snapshot_chunk(s, origin_size + s->chunk_size - 1));
	memalloc_noio_restore(noio);
	if (r < 0) {
		/* A later resume starts over. */
		pr_err(SNAP_PREFIX "cannot read the exception store (%d)\n", r);
		snap_origin_unreserve(s->o, &s->member);
		return r;
	}
	if (r > 0)
		pr_warn(SNAP_PREFIX "snapshot is marked invalid\n");

	spin_lock(&s->lock);
	s->valid = !r;
	spin_unlock(&s->lock);
	snap_origin_lock_starts(s->o);
	snap_origin_attach(s->o, &s->member);
	snap_origin_unlock_starts(s->o);
	return 0;
}

/*
 * Under the registry lock: s takes the place of pred, the snapshot on
 * the same COW device, if there is one, or else reserves the COW device
 * for its load.
 */
static int snapshot_begin_start(struct snapshot *s, struct snapshot **pred)
{
	int r = 0;

	snap_registry_lock();
	*pred = snap_origin_find_cow(s->o, s->member.cow_dev, s);
	if (s->merge && snap_origin_find_merging(s->o, *pred)) {
		pr_err(SNAP_PREFIX "a snapshot of this origin is already merging\n");
		r = -EINVAL;
	} else if (*pred) {
		r = snapshot_check_takeover(s, *pred);
		if (!r)
			snap_origin_replace(s->o, &(*pred)->member, &s->member);
	} else {
		snap_origin_reserve(s->o, &s->member);
	}
	snap_registry_unlock();
	return r;
}

static int snapshot_start(struct snapshot *s)
{
	struct snapshot *pred;
	int r;

	snap_origin_lock_starts(s->o);
	r = snapshot_begin_start(s, &pred);
	if (!r && pred)
		snapshot_take_over(s, pred);
	snap_origin_unlock_starts(s->o);
	if (r || pred)
		return r;
	return snapshot_load(s);
}

/*
 * Only s itself moves on from SNAP_LOADED, in its own resume or
 * destructor: the life seen here cannot be stale.
 */
static int snapshot_preresume(struct dmx_target *ti)
{
	struct snapshot *s = ti->private;

	if (READ_ONCE(s->life) == SNAP_LOADED)
		return snapshot_start(s);
	return 0;
}

static void snapshot_resume(struct dmx_target *ti)
{
	struct snapshot *s = ti->private;

	snap_registry_lock();
	s->suspended = false;
	snap_registry_unlock();
	if (s->merge && s->life == SNAP_ACTIVE)
		snap_merge_start(s);
}

static void snapshot_presuspend(struct dmx_target *ti)
{
	struct snapshot *s = ti->private;

	if (s->merge)
		snap_merge_stop(s);
}

static void snapshot_postsuspend(struct dmx_target *ti)
{
	struct snapshot *s = ti->private;

	snap_registry_lock();
	s->suspended = true;
	snap_registry_unlock();
}

/* Construction. */

static int snapshot_parse_store(struct dmx_target *ti, const char *arg,
				enum snap_store_kind *kind, bool *overflow_ok)
{
	*overflow_ok = false;
	switch (toupper(arg[0])) {
	case 'P':
		*kind = SNAP_STORE_PERSISTENT;
		if (!arg[1])
			return 0;
		if (toupper(arg[1]) == 'O' && !arg[2]) {
			*overflow_ok = true;
			return 0;
		}
		ti->error = "Unsupported persistent store option";
		return -EINVAL;
	case 'N':
		*kind = SNAP_STORE_TRANSIENT;
		if (!arg[1])
			return 0;
		ti->error = "Unsupported transient store option";
		return -EINVAL;
	default:
		ti->error = "Exception store type is not P, PO or N";
		return -EINVAL;
	}
}

/* Optional features: none is supported, but "0" may be given. */
static int snapshot_parse_features(struct dmx_target *ti, unsigned int argc,
				   char **argv)
{
	unsigned int count;

	if (!argc)
		return 0;
	if (kstrtouint(argv[0], 10, &count) || count != argc - 1) {
		ti->error = "Invalid number of feature arguments";
		return -EINVAL;
	}
	if (count) {
		ti->error = "Unsupported feature requested";
		return -EINVAL;
	}
	return 0;
}

/* The checks of a chunk size against both devices and the target. */
static int snapshot_check_chunk_size(struct snapshot *s, u32 chunk_size)
{
	struct dmx_target *ti = s->ti;
	unsigned int block = max(bdev_logical_block_size(s->origin->bdev),
				 bdev_logical_block_size(s->cow->bdev));
	int r;

	r = snap_store_check_chunk_size(chunk_size, block, &ti->error);
	if (r)
		return r;
	if (ti->begin & (chunk_size - 1)) {
		ti->error = "Target start is not a multiple of the chunk size";
		return -EINVAL;
	}
	return 0;
}

static int snapshot_open_devices(struct snapshot *s, char **argv)
{
	struct dmx_target *ti = s->ti;
	int r;

	r = dmx_get_device(ti, argv[0], &s->origin);
	if (r) {
		ti->error = "Cannot get origin device";
		return r;
	}
	r = dmx_get_device(ti, argv[1], &s->cow);
	if (r) {
		ti->error = "Cannot get COW device";
		goto bad;
	}
	if (s->cow == s->origin) {
		ti->error = "COW device cannot be the same as origin device";
		r = -EINVAL;
		dmx_put_device(ti, s->cow);
		s->cow = NULL;
		goto bad;
	}
	s->member.cow_dev = s->cow->bdev->bd_dev;
	return 0;

bad:
	dmx_put_device(ti, s->origin);
	s->origin = NULL;
	return r;
}

/*
 * The chunk size of the snapshot registered on the same COW device, if
 * any: the one this table will take over from at resume.
 */
static u32 snapshot_predecessor_chunk_size(struct snapshot *s)
{
	struct snapshot *pred;
	u32 chunk_size = 0;

	snap_registry_lock();
	pred = snap_origin_find_cow(s->o, s->member.cow_dev, NULL);
	if (pred)
		chunk_size = pred->chunk_size;
	snap_registry_unlock();
	return chunk_size;
}

/*
 * The store, its chunk size settled: the predecessor's when this table
 * will take over from one (which owns the header and may have the COW
 * device suspended), else the header's for a persistent store, else the
 * table's.  A chunk size the table gives is checked in any case.
 */
static int snapshot_create_store(struct snapshot *s, enum snap_store_kind kind,
				 u32 table_chunk_size)
{
	unsigned int block = max(bdev_logical_block_size(s->origin->bdev),
				 bdev_logical_block_size(s->cow->bdev));
	int r;

	if (table_chunk_size) {
		r = snap_store_check_chunk_size(table_chunk_size, block,
						&s->ti->error);
		if (r)
			return r;
	}
	r = snap_store_create(kind, s->cow->bdev, table_chunk_size,
			      snapshot_predecessor_chunk_size(s), &s->store,
			      &s->ti->error);
	if (r)
		return r;
	s->chunk_size = snap_store_chunk_size(s->store);
	s->chunk_shift = __ffs(s->chunk_size);
	return snapshot_check_chunk_size(s, s->chunk_size);
}

static int snapshot_alloc_state(struct snapshot *s)
{
	struct dmx_target *ti = s->ti;
	u64 cow_chunks = bdev_nr_sectors(s->cow->bdev) >> s->chunk_shift;

	s->pending = snap_chunk_table_create(cow_chunks >> SNAP_PENDING_TABLE_SHIFT);
	s->tracker = snap_tracker_create();
	if (!s->pending || !s->tracker) {
		ti->error = "Cannot allocate exception tables";
		return -ENOMEM;
	}
	return 0;
}

static void snapshot_free(struct snapshot *s)
{
	snap_tracker_destroy(s->tracker);
	snap_chunk_table_destroy(s->pending);
	snap_store_destroy(s->store);
	if (s->o)
		snap_origin_put(s->o);
	if (s->cow)
		dmx_put_device(s->ti, s->cow);
	if (s->origin)
		dmx_put_device(s->ti, s->origin);
	kfree(s);
}

static struct snapshot *snapshot_alloc(struct dmx_target *ti)
{
	struct snapshot *s;

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return NULL;
	s->ti = ti;
	s->merge = ti->type == &merge_target;
	s->member.snap = s;
	s->member.merging = s->merge;
	INIT_LIST_HEAD(&s->member.node);
	spin_lock_init(&s->lock);
	s->life = SNAP_LOADED;
	s->valid = true;
	atomic_set(&s->nr_pending, 0);
	bio_list_init(&s->deferred);
	INIT_WORK(&s->write_work, snapshot_write_work);
	INIT_WORK(&s->drop_work, snapshot_drop_work);
	bio_list_init(&s->drop_bios);
	bio_list_init(&s->parked);
	snap_merge_init(s);
	return s;
}

static int snapshot_ctr(struct dmx_target *ti, unsigned int argc, char **argv)
{
	enum snap_store_kind kind;
	struct snapshot *s;
	u32 chunk_size;
	int r;

	if (argc < 4) {
		ti->error = "requires 4 or more arguments";
		return -EINVAL;
	}
	s = snapshot_alloc(ti);
	if (!s) {
		ti->error = "Cannot allocate snapshot context";
		return -ENOMEM;
	}

	r = snapshot_parse_store(ti, argv[2], &kind, &s->overflow_ok);
	if (r)
		goto bad;
	if (kstrtou32(argv[3], 10, &chunk_size)) {
		ti->error = "Invalid chunk size";
		r = -EINVAL;
		goto bad;
	}
	r = snapshot_parse_features(ti, argc - 4, argv + 4);
	if (r)
		goto bad;
	if (s->merge && kind != SNAP_STORE_PERSISTENT) {
		ti->error = "Snapshot exception store does not support snapshot-merge";
		r = -EINVAL;
		goto bad;
	}

	r = snapshot_open_devices(s, argv);
	if (r)
		goto bad;
	s->o = snap_origin_get(s->origin->bdev->bd_dev);
	if (!s->o) {
		ti->error = "Cannot allocate origin registry entry";
		r = -ENOMEM;
		goto bad;
	}
	r = snapshot_create_store(s, kind, chunk_size);
	if (r)
		goto bad;
	r = snapshot_alloc_state(s);
	if (r)
		goto bad;

	ti->private = s;
	ti->max_io_len = s->chunk_size;
	ti->num_flush_bios = s->merge ? SNAP_MERGE_FLUSH_BIOS : SNAP_FLUSH_BIOS;
	ti->per_io_data_size = sizeof(struct snap_io);
	return 0;

bad:
	snapshot_free(s);
	return r;
}

/*
 * Leaves the origin first, so no new copy is started for s, then waits
 * for the copies in flight: the origin writes waiting on them go on
 * without s.
 */
static void snapshot_dtr(struct dmx_target *ti)
{
	struct snapshot *s = ti->private;

	snap_merge_stop(s);
	/* After a takeover from s in progress, which needs its store. */
	snap_origin_lock_starts(s->o);
	snap_registry_lock();
	if (s->life == SNAP_ACTIVE)
		snap_origin_detach(s->o, &s->member);
	snap_registry_unlock();
	snap_origin_unlock_starts(s->o);

	/* The last snapshot writes may still be making copies. */
	flush_work(&s->write_work);
	snapshot_wait_for_copies(s);
	flush_work(&s->drop_work);
	snapshot_free(s);
}

static void snapshot_status(struct dmx_target *ti, enum dmx_status_type type,
			    char *result, unsigned int maxlen)
{
	struct snapshot *s = ti->private;
	sector_t total = 0, allocated = 0, metadata = 0;
	bool valid, merge_failed, overflowed, persistent;
	unsigned int sz = 0;

	spin_lock(&s->lock);
	valid = s->valid && s->life != SNAP_RETIRED;
	merge_failed = s->merge_failed;
	overflowed = s->overflowed;
	persistent = snap_store_kind(s->store) == SNAP_STORE_PERSISTENT;
	if (type == DMX_STATUS_INFO)
		snap_store_usage(s->store, &total, &allocated, &metadata);
	spin_unlock(&s->lock);

	if (type == DMX_STATUS_TABLE) {
		dmx_emit(result, maxlen, &sz, "%s %s %s %u", s->origin->name,
			 s->cow->name,
			 persistent ? (s->overflow_ok ? "PO" : "P") : "N",
			 s->chunk_size);
		return;
	}
	if (!valid)
		dmx_emit(result, maxlen, &sz, "Invalid");
	else if (merge_failed)
		dmx_emit(result, maxlen, &sz, "Merge failed");
	else if (overflowed)
		dmx_emit(result, maxlen, &sz, "Overflow");
	else
		dmx_emit(result, maxlen, &sz, "%llu/%llu %llu",
			 (unsigned long long)allocated,
			 (unsigned long long)total,
			 (unsigned long long)metadata);
}

static int snapshot_iterate_devices(struct dmx_target *ti, dmx_iterate_fn fn,
				    void *data)
{
	struct snapshot *s = ti->private;
	int r;

	r = fn(ti, s->origin, 0, ti->len, data);
	if (!r)
		r = fn(ti, s->cow, 0, bdev_nr_sectors(s->cow->bdev), data);
	return r;
}

/* Versions are upstream's, which LVM2 checks for features. */
static struct dmx_target_type snapshot_target = {
	.name		 = "snapshot",
	.version	 = {1, 16, 0},
	.module		 = THIS_MODULE,
	.ctr		 = snapshot_ctr,
	.dtr		 = snapshot_dtr,
	.map		 = snapshot_map,
	.end_io		 = snapshot_end_io,
	.postsuspend	 = snapshot_postsuspend,
	.preresume	 = snapshot_preresume,
	.resume		 = snapshot_resume,
	.status		 = snapshot_status,
	.iterate_devices = snapshot_iterate_devices,
};

static struct dmx_target_type merge_target = {
	.name		 = "snapshot-merge",
	.version	 = {1, 5, 0},
	.module		 = THIS_MODULE,
	.ctr		 = snapshot_ctr,
	.dtr		 = snapshot_dtr,
	.map		 = snapshot_merge_map,
	.end_io		 = snapshot_end_io,
	.presuspend	 = snapshot_presuspend,
	.postsuspend	 = snapshot_postsuspend,
	.preresume	 = snapshot_preresume,
	.resume		 = snapshot_resume,
	.status		 = snapshot_status,
	.iterate_devices = snapshot_iterate_devices,
};

struct snap_part {
	const char *name;
	int (*init)(void);
	void (*exit)(void);
};

static int snapshot_register(void)
{
	return dmx_register_target(&snapshot_target);
}

static void snapshot_unregister(void)
{
	dmx_unregister_target(&snapshot_target);
}

static int snapshot_merge_register(void)
{
	return dmx_register_target(&merge_target);
}

static void snapshot_merge_unregister(void)
{
	dmx_unregister_target(&merge_target);
}

/* The parts of the snapshot targets, in the order they depend on. */
static const struct snap_part snap_parts[] = {
	{ "exception stores", snap_store_init, snap_store_exit },
	{ "copy-on-write", snapshot_cow_init, snapshot_cow_exit },
	{ "merge", snap_merge_module_init, snap_merge_module_exit },
	{ "origins", snap_origin_init, snap_origin_exit },
	{ "snapshot-origin", dmx_snap_origin_target_init,
	  dmx_snap_origin_target_exit },
	{ "snapshot", snapshot_register, snapshot_unregister },
	{ "snapshot-merge", snapshot_merge_register, snapshot_merge_unregister },
};

static void snapshot_exit_parts(unsigned int count)
{
	while (count--)
		snap_parts[count].exit();
}

int dmx_snapshot_init(void)
{
	unsigned int i;
	int r;

	for (i = 0; i < ARRAY_SIZE(snap_parts); i++) {
		r = snap_parts[i].init();
		if (r) {
			pr_err(SNAP_PREFIX "%s failed to initialise (%d)\n",
			       snap_parts[i].name, r);
			snapshot_exit_parts(i);
			return r;
		}
	}
	return 0;
}

void dmx_snapshot_exit(void)
{
	snapshot_exit_parts(ARRAY_SIZE(snap_parts));
}
