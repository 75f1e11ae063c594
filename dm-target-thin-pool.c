// SPDX-License-Identifier: GPL-2.0
/*
 * thin-pool <metadata dev> <data dev> <data block sectors>
 *	     <low water mark blocks> [<#features> <feature>...]
 *
 * The pool's own device maps linearly onto the data device; what it is
 * for is the pool object behind it (dm-thin-pool.c), which thin targets
 * find by the pool device's number, its status line and its messages,
 * all as thin-provisioning.rst has them.  A table takes charge of the
 * pool when it is resumed: its features, low water mark and sizes (the
 * data and metadata space maps grow to fill the devices).
 */
#include <linux/blkdev.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "dmx-thin.h"

#define POOL_MAX_FEATURES	4

/* Construction. */

static int pool_parse_features(struct dmx_target *ti, unsigned int argc,
			       char **argv, struct thin_features *pf)
{
	unsigned int count, i;

	if (!argc)
		return 0;
	if (kstrtouint(argv[0], 10, &count) || count > POOL_MAX_FEATURES ||
	    count > argc - 1) {
		ti->error = "Invalid number of pool feature arguments";
		return -EINVAL;
	}
	if (count != argc - 1) {
		ti->error = "Invalid argument count";
		return -EINVAL;
	}
	for (i = 1; i <= count; i++) {
		if (!strcasecmp(argv[i], "skip_block_zeroing")) {
			pf->zero_new_blocks = false;
		} else if (!strcasecmp(argv[i], "ignore_discard")) {
			pf->discard_enabled = false;
		} else if (!strcasecmp(argv[i], "no_discard_passdown")) {
			pf->discard_passdown = false;
		} else if (!strcasecmp(argv[i], "read_only")) {
			pf->mode = THIN_MODE_READ_ONLY;
		} else if (!strcasecmp(argv[i], "error_if_no_space")) {
			pf->error_if_no_space = true;
		} else {
			ti->error = "Unrecognised pool feature requested";
			return -EINVAL;
		}
	}
	return 0;
}

static int pool_parse_numbers(struct dmx_target *ti, char **argv,
			      sector_t *block_sectors, u64 *low_water)
{
	unsigned long bs;

	if (kstrtoul(argv[2], 10, &bs) || bs < THIN_MIN_BLOCK_SECTORS ||
	    bs > THIN_MAX_BLOCK_SECTORS || bs % THIN_MIN_BLOCK_SECTORS) {
		ti->error = "Invalid block size";
		return -EINVAL;
	}
	if (kstrtoull(argv[3], 10, low_water)) {
		ti->error = "Invalid low water mark";
		return -EINVAL;
	}
	*block_sectors = bs;
	return 0;
}

static void pool_warn_if_too_big(struct block_device *bdev)
{
	if (bdev_nr_sectors(bdev) > PDATA_MSM_MAX_BLOCKS * PDATA_BLOCK_SECTORS)
		pr_warn(THIN_PREFIX "Metadata device %pg is larger than %llu sectors: excess space will not be used.\n",
			bdev, PDATA_MSM_MAX_BLOCKS * PDATA_BLOCK_SECTORS);
}

static int pool_open_devices(struct dmx_target *ti, struct pool_c *pt,
			     char **argv)
{
	int r;

	r = dmx_get_device(ti, argv[0], &pt->meta_dev);
	if (r) {
		ti->error = "Error opening metadata block device";
		return r;
	}
	pool_warn_if_too_big(pt->meta_dev->bdev);
	r = dmx_get_device(ti, argv[1], &pt->data_dev);
	if (r) {
		ti->error = "Error getting data device";
		dmx_put_device(ti, pt->meta_dev);
	}
	return r;
}

static void pool_close_devices(struct dmx_target *ti, struct pool_c *pt)
{
	dmx_put_device(ti, pt->data_dev);
	dmx_put_device(ti, pt->meta_dev);
}

static int pool_ctr(struct dmx_target *ti, unsigned int argc, char **argv)
{
	struct thin_features pf = {
		.mode = THIN_MODE_WRITE, .zero_new_blocks = true,
		.discard_enabled = true, .discard_passdown = true,
	};
	sector_t block_sectors;
	struct thin_pool *pool;
	struct pool_c *pt;
	u64 low_water;
	bool created;
	int r;

	if (argc < 4) {
		ti->error = "Invalid argument count";
		return -EINVAL;
	}
	if (!strcmp(argv[0], argv[1])) {
		ti->error = "Error setting metadata or data device";
		return -EINVAL;
	}
	r = pool_parse_features(ti, argc - 4, argv + 4, &pf);
	if (!r)
		r = pool_parse_numbers(ti, argv, &block_sectors, &low_water);
	if (r)
		return r;
	pt = kzalloc(sizeof(*pt), GFP_KERNEL);
	if (!pt) {
		ti->error = "Cannot allocate pool context";
		return -ENOMEM;
	}
	r = pool_open_devices(ti, pt, argv);
	if (r)
		goto bad_devices;
	r = thin_pool_get(pt->meta_dev->bdev, pt->data_dev->bdev,
			  dmx_target_devt(ti), block_sectors,
			  pf.mode == THIN_MODE_READ_ONLY, &ti->error, &pool,
			  &created);
	if (r)
		goto bad_pool;
	if (pool->block_sectors != block_sectors) {
		ti->error = "Pool block size cannot change";
		r = -EINVAL;
		goto bad_features;
	}
	if (!created && pf.discard_enabled != pool->pf.discard_enabled) {
		ti->error = "Discard support cannot be disabled once enabled";
		r = -EINVAL;
		goto bad_features;
	}
	pt->ti = ti;
	pt->pool = pool;
	pt->low_water = low_water;
	pt->requested = pf;
	pt->adjusted = pf;
	ti->num_flush_bios = 1;
	if (pf.discard_enabled && pf.discard_passdown) {
		ti->num_discard_bios = 1;
		ti->discards_supported = true;
	}
	ti->private = pt;
	return 0;

bad_features:
	thin_pool_put(pool);
bad_pool:
	pool_close_devices(ti, pt);
bad_devices:
	kfree(pt);
	return r;
}

static int pool_unbind(void *arg)
{
	struct pool_c *pt = arg;

	if (pt->pool->pt == pt)
		pt->pool->pt = NULL;
	return 0;
}

static void pool_dtr(struct dmx_target *ti)
{
	struct pool_c *pt = ti->private;

	thin_pool_run(pt->pool, pool_unbind, pt);
	thin_pool_put(pt->pool);
	pool_close_devices(ti, pt);
	kfree(pt);
}

/* The pool device is the data device. */
static int pool_map(struct dmx_target *ti, struct bio *bio)
{
	struct pool_c *pt = ti->private;

	bio_set_dev(bio, pt->data_dev->bdev);
	return DMX_MAPIO_REMAPPED;
}

/* Taking charge at resume (on the worker). */

static int pool_resize_data(struct pool_c *pt, bool *commit)
{
	struct thin_pool *pool = pt->pool;
	pdata_block_t now, free;
	u64 blocks = thin_sector_to_block(pool, pt->ti->len);
	int r;

	thin_md_data_space(pool->md, &now, &free);
	if (blocks < now) {
		pr_err(THIN_PREFIX "%s: pool target (%llu blocks) too small: expected %llu\n",
		       pool->name, blocks, now);
		return -EINVAL;
	}
	if (blocks == now)
		return 0;
	if (thin_md_needs_check(pool->md)) {
		pr_err(THIN_PREFIX "%s: unable to grow the data device until repaired.\n",
		       pool->name);
		return 0;
	}
	if (now)
		pr_info(THIN_PREFIX "%s: growing the data device from %llu to %llu blocks\n",
			pool->name, now, blocks);
	r = thin_md_resize_data(pool->md, blocks);
	if (r) {
		thin_pool_metadata_failed(pool, "resize_data_dev", r);
		return r;
	}
	*commit = true;
	return 0;
}

static int pool_resize_meta(struct pool_c *pt, bool *commit)
{
	struct thin_pool *pool = pt->pool;
	pdata_block_t now, free, blocks;
	int r;

	blocks = min_t(u64, bdev_nr_sectors(pool->meta_bdev) / PDATA_BLOCK_SECTORS,
		       PDATA_MSM_MAX_BLOCKS);
	thin_md_meta_space(pool->md, &now, &free);
	if (blocks < now) {
		pr_err(THIN_PREFIX "%s: metadata device (%llu blocks) too small: expected %llu\n",
		       pool->name, blocks, now);
		return -EINVAL;
	}
	if (blocks == now)
		return 0;
	if (thin_md_needs_check(pool->md)) {
		pr_err(THIN_PREFIX "%s: unable to grow the metadata device until repaired.\n",
		       pool->name);
		return 0;
	}
	pool_warn_if_too_big(pool->meta_bdev);
	pr_info(THIN_PREFIX "%s: growing the metadata device from %llu to %llu blocks\n",
		pool->name, now, blocks);
	if (pool->mode == THIN_MODE_OUT_OF_META_SPACE)
		thin_pool_set_mode(pool, THIN_MODE_WRITE);
	r = thin_md_resize_meta(pool->md, blocks);
	if (r) {
		thin_pool_metadata_failed(pool, "resize_metadata_dev", r);
		return r;
	}
	*commit = true;
	return 0;
}

static int pool_bind(void *arg)
{
	struct pool_c *pt = arg;
	struct thin_pool *pool = pt->pool;
	enum thin_mode mode = pt->adjusted.mode;
	bool commit = false;
	int r;

	/* The mode goes through thin_pool_set_mode(), from the pool's own. */
	pt->adjusted.mode = pool->mode;
	pool->pt = pt;
	pool->pf = pt->adjusted;
	pool->low_water = pt->low_water;
	pool->low_water_triggered = false;
	WRITE_ONCE(pool->data_sectors, pt->ti->len);
	thin_pool_set_mode(pool, mode);

	r = pool_resize_data(pt, &commit);
	if (!r)
		r = pool_resize_meta(pt, &commit);
	if (commit)
		thin_pool_commit(pool);
	/* A failed pool resumes anyway, so that its queued I/O can fail. */
	return pool->mode == THIN_MODE_FAIL ? 0 : r;
}

static int pool_preresume(struct dmx_target *ti)
{
	struct pool_c *pt = ti->private;

	return thin_pool_run(pt->pool, pool_bind, pt);
}

static void pool_resume(struct dmx_target *ti)
{
	struct pool_c *pt = ti->private;
	struct thin_pool *pool = pt->pool;

	thin_pool_requeue_retry(pool);
	spin_lock_irq(&pool->lock);
	pool->suspended = false;
	spin_unlock_irq(&pool->lock);
	thin_pool_start_waker(pool);
}

static void pool_presuspend(struct dmx_target *ti)
{
	struct pool_c *pt = ti->private;
	struct thin_pool *pool = pt->pool;

	spin_lock_irq(&pool->lock);
	pool->suspended = true;
	spin_unlock_irq(&pool->lock);
}

static int pool_commit_fn(void *arg)
{
	thin_pool_commit(arg);
	return 0;
}

/* What was written before the suspend is committed when it returns. */
static void pool_postsuspend(struct dmx_target *ti)
{
	struct pool_c *pt = ti->private;

	thin_pool_stop_timers(pt->pool);
	thin_pool_run(pt->pool, pool_commit_fn, pt->pool);
}

/* Messages (on the worker). */

struct pool_msg {
	struct thin_pool *pool;
	unsigned int argc;
	char **argv;
};

static int pool_msg_args(struct pool_msg *m, unsigned int want)
{
	if (m->argc == want)
		return 0;
	pr_warn(THIN_PREFIX "Message received with %u arguments instead of %u.\n",
		m->argc, want);
	return -EINVAL;
}

static int pool_msg_id(const char *arg, u64 *id)
{
	if (!kstrtoull(arg, 10, id) && *id <= THIN_MAX_DEV_ID)
		return 0;
	pr_warn(THIN_PREFIX "Message received with invalid device id: %s\n", arg);
	return -EINVAL;
}

static int pool_msg_create(struct pool_msg *m, bool snap)
{
	u64 id, origin = 0;
	int r;

	r = pool_msg_args(m, snap ? 3 : 2);
	if (!r)
		r = pool_msg_id(m->argv[1], &id);
	if (!r && snap)
		r = pool_msg_id(m->argv[2], &origin);
	if (r)
		return r;
	if (snap)
		r = thin_md_create_snap(m->pool->md, id, origin);
	else
		r = thin_md_create_thin(m->pool->md, id);
	if (r && snap)
		pr_warn(THIN_PREFIX "Creation of new snapshot %s of device %s failed.\n",
			m->argv[1], m->argv[2]);
	else if (r)
		pr_warn(THIN_PREFIX "Creation of new thinly-provisioned device with id %s failed.\n",
			m->argv[1]);
	return r;
}

static int pool_msg_delete(struct pool_msg *m)
{
	u64 id;
	int r;

	r = pool_msg_args(m, 2);
	if (!r)
		r = pool_msg_id(m->argv[1], &id);
	if (r)
		return r;
	r = thin_md_delete(m->pool->md, id);
	if (r)
		pr_warn(THIN_PREFIX "Deletion of thin device %s failed.\n",
			m->argv[1]);
	else
		m->pool->freed = true;
	return r;
}

static int pool_msg_transaction_id(struct pool_msg *m)
{
	u64 old, new;
	int r;

	r = pool_msg_args(m, 3);
	if (r)
		return r;
	if (kstrtoull(m->argv[1], 10, &old) || kstrtoull(m->argv[2], 10, &new)) {
		pr_warn(THIN_PREFIX "set_transaction_id message: Unrecognised id.\n");
		return -EINVAL;
	}
	r = thin_md_set_transaction_id(m->pool->md, old, new);
	if (r)
		pr_warn(THIN_PREFIX "Failed to change transaction id from %s to %s.\n",
			m->argv[1], m->argv[2]);
	return r;
}

static int pool_msg_metadata_snap(struct pool_msg *m, bool reserve)
{
	int r = pool_msg_args(m, 1);

	if (r)
		return r;
	if (reserve) {
		/* Through the pool's commit: it waits for freed blocks' I/O. */
		thin_pool_commit(m->pool);
		r = thin_md_reserve_snap(m->pool->md);
	} else {
		r = thin_md_release_snap(m->pool->md);
		m->pool->freed = true;
	}
	if (r)
		pr_warn(THIN_PREFIX "%s_metadata_snap message failed.\n",
			reserve ? "reserve" : "release");
	return r;
}

static int pool_msg_dispatch(struct pool_msg *m)
{
	const char *cmd = m->argv[0];

	if (!strcasecmp(cmd, "create_thin"))
		return pool_msg_create(m, false);
	if (!strcasecmp(cmd, "create_snap"))
		return pool_msg_create(m, true);
	if (!strcasecmp(cmd, "delete"))
		return pool_msg_delete(m);
	if (!strcasecmp(cmd, "set_transaction_id"))
		return pool_msg_transaction_id(m);
	if (!strcasecmp(cmd, "reserve_metadata_snap"))
		return pool_msg_metadata_snap(m, true);
	if (!strcasecmp(cmd, "release_metadata_snap"))
		return pool_msg_metadata_snap(m, false);
	pr_warn(THIN_PREFIX "Unrecognised thin pool target message received: %s\n",
		cmd);
	return -EINVAL;
}

/* Errors that leave the metadata as it was; any other means a half change. */
static bool pool_msg_refused(int r)
{
	return r == -EINVAL || r == -EEXIST || r == -ENODATA || r == -EBUSY;
}

static int pool_msg_fn(void *arg)
{
	struct pool_msg *m = arg;
	struct thin_pool *pool = m->pool;
	int r;

	if (pool->mode >= THIN_MODE_OUT_OF_META_SPACE) {
		pr_err(THIN_PREFIX "%s: unable to service pool target messages in READ_ONLY or FAIL mode\n",
		       pool->name);
		return -EOPNOTSUPP;
	}
	r = pool_msg_dispatch(m);
	if (!r)
		thin_pool_commit(pool);
	else if (!pool_msg_refused(r))
		thin_pool_metadata_failed(pool, m->argv[0], r);
	return r;
}

static int pool_message(struct dmx_target *ti, unsigned int argc, char **argv,
			char *result, unsigned int maxlen)
{
	struct pool_c *pt = ti->private;
	struct pool_msg m = { .pool = pt->pool, .argc = argc, .argv = argv };

	return thin_pool_run(pt->pool, pool_msg_fn, &m);
}

/* Status. */

static void pool_status_info(struct pool_c *pt, char *result,
			     unsigned int maxlen, unsigned int *sz)
{
	struct thin_pool *pool = pt->pool;
	struct thin_features *pf = &pool->pf;
	pdata_block_t meta_nr, meta_free, data_nr, data_free, held;
	enum thin_mode mode = READ_ONCE(pool->mode);

	thin_md_meta_space(pool->md, &meta_nr, &meta_free);
	thin_md_data_space(pool->md, &data_nr, &data_free);
	held = thin_md_held_root(pool->md);
	dmx_emit(result, maxlen, sz, "%llu %llu/%llu %llu/%llu ",
		 thin_md_transaction_id(pool->md), meta_nr - meta_free, meta_nr,
		 data_nr - data_free, data_nr);
	if (held)
		dmx_emit(result, maxlen, sz, "%llu ", held);
	else
		dmx_emit(result, maxlen, sz, "- ");
	if (mode == THIN_MODE_OUT_OF_DATA_SPACE)
		dmx_emit(result, maxlen, sz, "out_of_data_space ");
	else if (thin_pool_read_only(pool))
		dmx_emit(result, maxlen, sz, "ro ");
	else
		dmx_emit(result, maxlen, sz, "rw ");
	if (!pf->discard_enabled)
		dmx_emit(result, maxlen, sz, "ignore_discard ");
	else if (pf->discard_passdown)
		dmx_emit(result, maxlen, sz, "discard_passdown ");
	else
		dmx_emit(result, maxlen, sz, "no_discard_passdown ");
	dmx_emit(result, maxlen, sz, "%s ", pf->error_if_no_space ?
		 "error_if_no_space" : "queue_if_no_space");
	dmx_emit(result, maxlen, sz, "%s ",
		 thin_md_needs_check(pool->md) ? "needs_check" : "-");
	dmx_emit(result, maxlen, sz, "%llu ", thin_pool_meta_threshold(pool));
}

static void pool_status_table(struct pool_c *pt, char *result,
			      unsigned int maxlen, unsigned int *sz)
{
	struct thin_features *pf = &pt->requested;
	unsigned int count = !pf->zero_new_blocks + !pf->discard_enabled +
			     !pf->discard_passdown +
			     (pf->mode == THIN_MODE_READ_ONLY) +
			     pf->error_if_no_space;

	dmx_emit(result, maxlen, sz, "%s %s %llu %llu %u ", pt->meta_dev->name,
		 pt->data_dev->name, (unsigned long long)pt->pool->block_sectors,
		 pt->low_water, count);
	if (!pf->zero_new_blocks)
		dmx_emit(result, maxlen, sz, "skip_block_zeroing ");
	if (!pf->discard_enabled)
		dmx_emit(result, maxlen, sz, "ignore_discard ");
	if (!pf->discard_passdown)
		dmx_emit(result, maxlen, sz, "no_discard_passdown ");
	if (pf->mode == THIN_MODE_READ_ONLY)
		dmx_emit(result, maxlen, sz, "read_only ");
	if (pf->error_if_no_space)
		dmx_emit(result, maxlen, sz, "error_if_no_space ");
}

static void pool_status(struct dmx_target *ti, enum dmx_status_type type,
			char *result, unsigned int maxlen)
{
	struct pool_c *pt = ti->private;
	unsigned int sz = 0;

	if (maxlen)
		*result = '\0';
	switch (type) {
	case DMX_STATUS_INFO:
		if (READ_ONCE(pt->pool->mode) == THIN_MODE_FAIL)
			dmx_emit(result, maxlen, &sz, "Fail");
		else
			pool_status_info(pt, result, maxlen, &sz);
		break;
	case DMX_STATUS_TABLE:
		pool_status_table(pt, result, maxlen, &sz);
		break;
	case DMX_STATUS_IMA:
		/* dm-thin measures nothing. */
		break;
	}
}

static int pool_iterate_devices(struct dmx_target *ti, dmx_iterate_fn fn,
				void *data)
{
	struct pool_c *pt = ti->private;

	return fn(ti, pt->data_dev, 0, ti->len, data);
}

static bool pool_is_factor(sector_t n, u32 d)
{
	return d && !sector_div(n, d);
}

static void pool_disable_passdown_if_unsupported(struct pool_c *pt)
{
	struct block_device *data = pt->data_dev->bdev;
	const char *reason = NULL;

	if (!pt->adjusted.discard_passdown)
		return;
	if (!bdev_max_discard_sectors(data))
		reason = "discard unsupported";
	else if (bdev_max_discard_sectors(data) < pt->pool->block_sectors)
		reason = "max discard sectors smaller than a block";
	if (reason) {
		pr_warn(THIN_PREFIX "Data device (%pg) %s: Disabling discard passdown.\n",
			data, reason);
		pt->adjusted.discard_passdown = false;
	}
}

static void pool_io_hints(struct dmx_target *ti, struct queue_limits *limits)
{
	struct pool_c *pt = ti->private;
	sector_t bs = pt->pool->block_sectors;
	sector_t io_opt = limits->io_opt >> SECTOR_SHIFT;

	/* Split within a block at a power-of-2 factor of it, as dm-thin. */
	if (limits->max_sectors < bs) {
		while (!pool_is_factor(bs, limits->max_sectors)) {
			if (!(limits->max_sectors & (limits->max_sectors - 1)))
				limits->max_sectors--;
			limits->max_sectors = rounddown_pow_of_two(limits->max_sectors);
		}
	}
	if (io_opt < bs || !pool_is_factor(io_opt, bs)) {
		if (pool_is_factor(bs, limits->max_sectors))
			dmx_compat_set_io_min(limits,
					      limits->max_sectors << SECTOR_SHIFT);
		else
			dmx_compat_set_io_min(limits, bs << SECTOR_SHIFT);
		dmx_compat_set_io_opt(limits, bs << SECTOR_SHIFT);
	}
	if (!pt->adjusted.discard_enabled) {
		limits->discard_granularity = 0;
		return;
	}
	pool_disable_passdown_if_unsupported(pt);
}

/* Versions are upstream's: LVM2 picks features by them. */
static struct dmx_target_type pool_target = {
	.name		 = "thin-pool",
	.version	 = {1, 22, 0},
	.module		 = THIS_MODULE,
	.ctr		 = pool_ctr,
	.dtr		 = pool_dtr,
	.map		 = pool_map,
	.presuspend	 = pool_presuspend,
	.postsuspend	 = pool_postsuspend,
	.preresume	 = pool_preresume,
	.resume		 = pool_resume,
	.message	 = pool_message,
	.status		 = pool_status,
	.iterate_devices = pool_iterate_devices,
	.io_hints	 = pool_io_hints,
};

int dmx_thin_pool_init(void)
{
	return dmx_register_target(&pool_target);
}

void dmx_thin_pool_exit(void)
{
	dmx_unregister_target(&pool_target);
}
