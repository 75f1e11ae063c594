// SPDX-License-Identifier: GPL-2.0
/*
 * Tables: parsing target lines into a sorted, gap-free array of targets,
 * the devices those targets use, the queue limits they stack up to, and
 * the lookup of the target for a sector.
 *
 * A table is validated whole at load time (contiguous from sector 0,
 * known types, constructors happy, devices present and large enough,
 * block-size aligned), so a resume never meets a table it cannot use.
 */
#include <linux/blkdev.h>
#include <linux/ctype.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "dmx-core.h"

#define DMX_TABLE_ERR(t, fmt, ...) \
	pr_err(DMX_MSG_PREFIX ": %s: " fmt "\n", dmx_md_name((t)->md), ##__VA_ARGS__)

/* Exclusive opens of underlying devices are made in dmx's name. */
static int dmx_claim;

/* The block layer counts a device's bytes in a signed 64-bit loff_t. */
#define DMX_MAX_SECTORS		((sector_t)LLONG_MAX >> SECTOR_SHIFT)

int dmx_table_create(struct mapped_device *md, dmx_mode_t mode,
		     unsigned int num_targets, struct dmx_table **result)
{
	struct dmx_table *t;

	if (!num_targets || num_targets > DMX_MAX_TARGETS) {
		pr_err(DMX_MSG_PREFIX ": %s: target count %u out of range\n",
		       dmx_md_name(md), num_targets);
		return -EINVAL;
	}

	t = kzalloc(sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	t->targets = kvcalloc(num_targets, sizeof(*t->targets), GFP_KERNEL);
	if (!t->targets) {
		kfree(t);
		return -ENOMEM;
	}
	t->md = md;
	t->mode = mode;
	t->num_allocated = num_targets;
	INIT_LIST_HEAD(&t->devices);
	*result = t;
	return 0;
}

void dmx_table_destroy(struct dmx_table *t)
{
	struct dmx_dev *dd, *tmp;
	unsigned int i;

	if (!t)
		return;

	for (i = t->num_targets; i-- > 0;) {
		struct dmx_target *ti = &t->targets[i];

		if (ti->type->dtr)
			ti->type->dtr(ti);
		dmx_put_target_type(ti->type);
	}

	list_for_each_entry_safe(dd, tmp, &t->devices, list) {
		DMX_TABLE_ERR(t, "target left device %s open", dd->name);
		list_del(&dd->list);
		dmx_compat_close_bdev(&dd->handle);
		kfree(dd);
	}

	if (t->clone_set_ready)
		dmx_bio_exit_clones(t);
	kvfree(t->targets);
	kfree(t);
}

/*
 * Splits a parameter string into words in place.  A backslash makes the
 * next character part of the word, so a word can hold a space.  The argv
 * array is at most one pointer per two input bytes, so user input bounds
 * both the loop and the allocation.
 */
int dmx_split_args(char *input, unsigned int *argc, char ***argv)
{
	unsigned int n = 0, max = strlen(input) / 2 + 1;
	char **words;
	char *in = input, *out;

	words = kmalloc_array(max, sizeof(*words), GFP_KERNEL);
	if (!words)
		return -ENOMEM;

	for (;;) {
		while (isspace(*in))
			in++;
		if (!*in)
			break;
		words[n++] = out = in;
		while (*in && !isspace(*in)) {
			if (*in == '\\' && in[1])
				in++;
			*out++ = *in++;
		}
		if (*in)
			in++;
		*out = '\0';
	}

	*argc = n;
	*argv = words;
	return 0;
}

static int dmx_table_check_placement(struct dmx_table *t, sector_t start,
				     sector_t len)
{
	sector_t expected = t->size;

	if (t->num_targets >= t->num_allocated) {
		DMX_TABLE_ERR(t, "more targets than the %u announced",
			      t->num_allocated);
		return -EINVAL;
	}
	if (!len) {
		DMX_TABLE_ERR(t, "zero-length target at sector %llu",
			      (unsigned long long)start);
		return -EINVAL;
	}
	if (start != expected) {
		DMX_TABLE_ERR(t, "target at sector %llu leaves a %s at sector %llu",
			      (unsigned long long)start,
			      start > expected ? "gap" : "overlap",
			      (unsigned long long)expected);
		return -EINVAL;
	}
	if (start + len < start || start + len > DMX_MAX_SECTORS) {
		DMX_TABLE_ERR(t, "target at sector %llu ends beyond the %llu sectors a block device can have",
			      (unsigned long long)start,
			      (unsigned long long)DMX_MAX_SECTORS);
		return -EINVAL;
	}
	return 0;
}

int dmx_table_add_target(struct dmx_table *t, const char *type,
			 sector_t start, sector_t len, char *params)
{
	struct dmx_target *ti;
	unsigned int argc;
	char **argv;
	int r;

	r = dmx_table_check_placement(t, start, len);
	if (r)
		return r;

	ti = &t->targets[t->num_targets];
	memset(ti, 0, sizeof(*ti));
	ti->type = dmx_get_target_type(type);
	if (!ti->type) {
		DMX_TABLE_ERR(t, "%s: unknown target type", type);
		return -EINVAL;
	}
	ti->table = t;
	ti->begin = start;
	ti->len = len;
	ti->num_flush_bios = 1;

	r = dmx_split_args(params, &argc, &argv);
	if (r) {
		ti->error = "cannot split target parameters";
		goto bad;
	}
	r = ti->type->ctr(ti, argc, argv);
	kfree(argv);
	if (r)
		goto bad;

	t->num_targets++;
	t->size = start + len;
	return 0;

bad:
	DMX_TABLE_ERR(t, "%s: %s (%d)", type, ti->error ?: "constructor failed", r);
	dmx_put_target_type(ti->type);
	return r;
}

/* Index of the last target starting at or before sector. */
struct dmx_target *dmx_table_find_target(struct dmx_table *t, sector_t sector)
{
	unsigned int lo = 0, hi = t->num_targets;

	if (sector >= t->size)
		return NULL;
	while (hi - lo > 1) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (t->targets[mid].begin <= sector)
			lo = mid;
		else
			hi = mid;
	}
	return &t->targets[lo];
}

/* Underlying devices. */

static int dmx_parse_devt(const char *path, dev_t *dev)
{
	unsigned int major, minor;
	char dummy;
	int r;

	if (sscanf(path, "%u:%u%c", &major, &minor, &dummy) == 2) {
		*dev = MKDEV(major, minor);
		if (MAJOR(*dev) != major || MINOR(*dev) != minor)
			return -EOVERFLOW;
		return 0;
	}
	r = lookup_bdev(path, dev);
	if (!r)
		return 0;
	/* Not a node in this namespace: maybe a boot-time name like "sda1". */
	return dmx_compat_boot_devt(path, r, dev);
}

static struct dmx_dev *dmx_table_find_dev(struct dmx_table *t, dev_t dev)
{
	struct dmx_dev *dd;

	list_for_each_entry(dd, &t->devices, list)
		if (dd->bdev->bd_dev == dev)
			return dd;
	return NULL;
}

/*
 * Lists the table's devices in /sys/block/dm-N/slaves (and dm-N in
 * their holders/); needs the disk added.  Devices keep their link until
 * the table puts them.
 */
int dmx_table_link_holders(struct dmx_table *t)
{
	struct dmx_dev *dd;
	int r;

	list_for_each_entry(dd, &t->devices, list) {
		if (dd->holder_linked)
			continue;
		r = bd_link_disk_holder(dd->bdev, t->md->disk);
		if (r)
			return r;
		dd->holder_linked = true;
	}
	return 0;
}

int dmx_get_device(struct dmx_target *ti, const char *path,
		   struct dmx_dev **result)
{
	struct dmx_table *t = ti->table;
	struct dmx_dev *dd;
	dev_t dev;
	int r;

	r = dmx_parse_devt(path, &dev);
	if (r)
		return r;
	if (dev == disk_devt(t->md->disk))
		return -EINVAL;

	dd = dmx_table_find_dev(t, dev);
	if (dd) {
		refcount_inc(&dd->count);
		*result = dd;
		return 0;
	}

	dd = kzalloc(sizeof(*dd), GFP_KERNEL);
	if (!dd)
		return -ENOMEM;
	r = dmx_compat_open_bdev(dev, t->mode, &dmx_claim, &dd->handle);
	if (r)
		goto bad_free;
	/* Holder links wait for the disk: dmx_md_add_disk() makes them. */
	dd->bdev = dd->handle.bdev;
	refcount_set(&dd->count, 1);
	snprintf(dd->name, sizeof(dd->name), "%u:%u", MAJOR(dev), MINOR(dev));
	/* Newest first: TABLE_DEPS lists devices in that order, as v4 does. */
	list_add(&dd->list, &t->devices);
	*result = dd;
	return 0;

bad_free:
	kfree(dd);
	return r;
}
EXPORT_SYMBOL_GPL(dmx_get_device);

void dmx_put_device(struct dmx_target *ti, struct dmx_dev *dd)
{
	if (!refcount_dec_and_test(&dd->count))
		return;
	list_del(&dd->list);
	if (dd->holder_linked)
		bd_unlink_disk_holder(dd->bdev, ti->table->md->disk);
	dmx_compat_close_bdev(&dd->handle);
	kfree(dd);
}
EXPORT_SYMBOL_GPL(dmx_put_device);

dmx_mode_t dmx_target_mode(struct dmx_target *ti)
{
	return ti->table->mode;
}
EXPORT_SYMBOL_GPL(dmx_target_mode);

dev_t dmx_target_devt(struct dmx_target *ti)
{
	return disk_devt(ti->table->md->disk);
}
EXPORT_SYMBOL_GPL(dmx_target_devt);

void dmx_target_event(struct dmx_target *ti)
{
	dmx_md_event(ti->table->md);
}
EXPORT_SYMBOL_GPL(dmx_target_event);

/* Queue limits. */

static int dmx_stack_device_limits(struct dmx_target *ti, struct dmx_dev *dd,
				   sector_t start, sector_t len, void *data)
{
	struct queue_limits *lim = data;
	struct block_device *bdev = dd->bdev;
	sector_t dev_size = bdev_nr_sectors(bdev);
	unsigned int block = bdev_logical_block_size(bdev);
	sector_t mask = (block >> SECTOR_SHIFT) - 1;

	dmx_compat_stack_features(&ti->table->features, bdev);
	/* No target maps zones: report zones, zone append, write pointers. */
	if (bdev_is_zoned(bdev)) {
		DMX_TABLE_ERR(ti->table,
			      "%pg is a zoned device: target %s cannot map zoned devices",
			      bdev, ti->type->name);
		return -EINVAL;
	}
	/* A bio that starts or ends inside a device's block fails there. */
	if ((start | len) & mask) {
		DMX_TABLE_ERR(ti->table,
			      "%pg: start=%llu, len=%llu not aligned to its logical block size %u",
			      bdev, (unsigned long long)start,
			      (unsigned long long)len, block);
		return -EINVAL;
	}
	/* A device that reports no size (an unbound loop) is taken on trust. */
	if (ti->table->check_sizes && dev_size &&
	    (start >= dev_size || len > dev_size - start)) {
		DMX_TABLE_ERR(ti->table,
			      "%pg too small for target: start=%llu, len=%llu, dev_size=%llu",
			      bdev, (unsigned long long)start,
			      (unsigned long long)len,
			      (unsigned long long)dev_size);
		return -EINVAL;
	}
	blk_stack_limits(lim, &bdev_get_queue(bdev)->limits,
			 get_start_sect(bdev) + start);
	return 0;
}

static int dmx_table_check_alignment(struct dmx_table *t,
				     const struct queue_limits *lim)
{
	sector_t mask = (lim->logical_block_size >> SECTOR_SHIFT) - 1;
	unsigned int i;

	for (i = 0; i < t->num_targets; i++) {
		struct dmx_target *ti = &t->targets[i];

		if ((ti->begin | ti->len) & mask) {
			DMX_TABLE_ERR(t, "target at sector %llu (len %llu) not aligned to logical block size %u",
				      (unsigned long long)ti->begin,
				      (unsigned long long)ti->len,
				      lim->logical_block_size);
			return -EINVAL;
		}
	}
	return 0;
}

static int dmx_device_takes_no_discards(struct dmx_target *ti,
					struct dmx_dev *dd, sector_t start,
					sector_t len, void *data)
{
	return !bdev_max_discard_sectors(dd->bdev);
}

static int dmx_device_takes_no_secure_erase(struct dmx_target *ti,
					    struct dmx_dev *dd, sector_t start,
					    sector_t len, void *data)
{
	return !bdev_max_secure_erase_sectors(dd->bdev);
}

/* ti's devices, and how many of them refuses says no to. */
struct dmx_device_count {
	dmx_iterate_fn refuses;
	unsigned int devices;
	unsigned int refused;
};

static int dmx_count_device(struct dmx_target *ti, struct dmx_dev *dd,
			    sector_t start, sector_t len, void *data)
{
	struct dmx_device_count *c = data;

	c->devices++;
	if (c->refuses(ti, dd, start, len, NULL))
		c->refused++;
	return 0;
}

/*
 * True if refuses holds for none of ti's devices; a target with none
 * (error may or may not name one): false.
 */
static bool dmx_target_devices_all_take(struct dmx_target *ti,
					dmx_iterate_fn refuses)
{
	struct dmx_device_count c = { .refuses = refuses };

	if (!ti->type->iterate_devices)
		return false;
	ti->type->iterate_devices(ti, dmx_count_device, &c);
	return c.devices && !c.refused;
}

static bool dmx_table_takes_discards(struct dmx_table *t)
{
	unsigned int i;

	for (i = 0; i < t->num_targets; i++) {
		struct dmx_target *ti = &t->targets[i];

		if (!ti->num_discard_bios)
			return false;
		if (!ti->discards_supported &&
		    !dmx_target_devices_all_take(ti, dmx_device_takes_no_discards))
			return false;
	}
	return true;
}

static bool dmx_table_takes_secure_erase(struct dmx_table *t)
{
	unsigned int i;

	for (i = 0; i < t->num_targets; i++) {
		struct dmx_target *ti = &t->targets[i];

		if (!ti->num_secure_erase_bios ||
		    !dmx_target_devices_all_take(ti, dmx_device_takes_no_secure_erase))
			return false;
	}
	return true;
}

/*
 * Stacking keeps the smallest non-zero limit, so one target's device
 * that takes discards would advertise them for the whole table; a bio
 * then fails on the first target that takes none.  Advertise only what
 * every target takes.
 */
static void dmx_table_restrict_limits(struct dmx_table *t,
				      struct queue_limits *lim)
{
	if (!dmx_table_takes_discards(t))
		dmx_compat_clear_discard(lim);
	if (!dmx_table_takes_secure_erase(t))
		lim->max_secure_erase_sectors = 0;
}

static int dmx_table_calculate_limits(struct dmx_table *t)
{
	struct queue_limits ti_limits;
	unsigned int i;
	int r;

	blk_set_stacking_limits(&t->limits);
	t->features.nowait = true;
	for (i = 0; i < t->num_targets; i++) {
		struct dmx_target *ti = &t->targets[i];

		if (!(ti->type->features & DMX_TARGET_NOWAIT))
			t->features.nowait = false;
		blk_set_stacking_limits(&ti_limits);
		if (ti->type->iterate_devices) {
			r = ti->type->iterate_devices(ti, dmx_stack_device_limits,
						      &ti_limits);
			if (r)
				return r;
		}
		if (ti->type->io_hints)
			ti->type->io_hints(ti, &ti_limits);
		if (!ti->num_write_zeroes_bios)
			ti_limits.max_write_zeroes_sectors = 0;
		if (blk_stack_limits(&t->limits, &ti_limits, 0) < 0)
			pr_warn(DMX_MSG_PREFIX ": %s: target at sector %llu misaligns the device\n",
				dmx_md_name(t->md), (unsigned long long)ti->begin);
	}
	dmx_table_restrict_limits(t, &t->limits);
	return dmx_table_check_alignment(t, &t->limits);
}

int dmx_table_complete(struct dmx_table *t)
{
	unsigned int i, per_io = 0;
	int r;

	if (!t->num_targets) {
		DMX_TABLE_ERR(t, "table has no targets");
		return -EINVAL;
	}

	t->check_sizes = !test_bit(DMX_MD_DISK_ADDED, &t->md->flags);
	r = dmx_table_calculate_limits(t);
	if (r)
		return r;

	for (i = 0; i < t->num_targets; i++) {
		per_io = max(per_io, t->targets[i].per_io_data_size);
		t->flush_copies += t->targets[i].num_flush_bios;
	}
	t->per_io_size = ALIGN(per_io, __alignof__(long long));

	r = dmx_bio_init_clones(t);
	if (r)
		return r;
	t->clone_set_ready = true;
	return 0;
}

/* At resume: the devices as they are now must fit, and give the limits. */
int dmx_table_check_sizes(struct dmx_table *t)
{
	t->check_sizes = true;
	return dmx_table_calculate_limits(t);
}

/* Suspend and resume hooks, in table order. */

void dmx_table_presuspend(struct dmx_table *t)
{
	unsigned int i;

	for (i = 0; i < t->num_targets; i++)
		if (t->targets[i].type->presuspend)
			t->targets[i].type->presuspend(&t->targets[i]);
}

void dmx_table_postsuspend(struct dmx_table *t)
{
	unsigned int i;

	for (i = 0; i < t->num_targets; i++)
		if (t->targets[i].type->postsuspend)
			t->targets[i].type->postsuspend(&t->targets[i]);
}

int dmx_table_preresume(struct dmx_table *t)
{
	unsigned int i;
	int r;

	for (i = 0; i < t->num_targets; i++) {
		struct dmx_target *ti = &t->targets[i];

		if (!ti->type->preresume)
			continue;
		r = ti->type->preresume(ti);
		if (r) {
			DMX_TABLE_ERR(t, "%s: preresume failed (%d)",
				      ti->type->name, r);
			return r;
		}
	}
	return 0;
}

void dmx_table_resume(struct dmx_table *t)
{
	unsigned int i;

	for (i = 0; i < t->num_targets; i++)
		if (t->targets[i].type->resume)
			t->targets[i].type->resume(&t->targets[i]);
}
