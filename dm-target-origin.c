// SPDX-License-Identifier: GPL-2.0
/*
 * snapshot-origin <origin>: reads go straight to the origin; a write
 * goes through the origin's write gate (dm-snap-origin.c), which has
 * every snapshot of the origin copy the chunks it is about to change
 * first, and lets it on once those copies are committed.  Writes to
 * chunks every snapshot has already copied go straight through.
 */
#include <linux/module.h>
#include <linux/slab.h>

#include "dmx-snap-origin.h"
#include "dmx.h"

/* Flushes go to the origin device only. */
#define ORIGIN_FLUSH_BIOS	1

struct origin_ctx {
	struct dmx_dev *dev;
	struct snap_origin *o;
};

static int origin_ctr(struct dmx_target *ti, unsigned int argc, char **argv)
{
	struct origin_ctx *oc;
	int r;

	if (argc != 1) {
		ti->error = "Invalid argument count";
		return -EINVAL;
	}
	oc = kzalloc(sizeof(*oc), GFP_KERNEL);
	if (!oc) {
		ti->error = "Cannot allocate origin context";
		return -ENOMEM;
	}
	r = dmx_get_device(ti, argv[0], &oc->dev);
	if (r) {
		ti->error = "Cannot get target device";
		goto bad_free;
	}
	oc->o = snap_origin_get(oc->dev->bdev->bd_dev);
	if (!oc->o) {
		ti->error = "Cannot allocate origin registry entry";
		r = -ENOMEM;
		goto bad_put;
	}

	ti->private = oc;
	ti->num_flush_bios = ORIGIN_FLUSH_BIOS;
	ti->per_io_data_size = sizeof(struct snap_origin_io);
	return 0;

bad_put:
	dmx_put_device(ti, oc->dev);
bad_free:
	kfree(oc);
	return r;
}

static void origin_dtr(struct dmx_target *ti)
{
	struct origin_ctx *oc = ti->private;

	snap_origin_put(oc->o);
	dmx_put_device(ti, oc->dev);
	kfree(oc);
}

/* Like upstream, the origin is mapped sector for sector. */
static int origin_map(struct dmx_target *ti, struct bio *bio)
{
	struct origin_ctx *oc = ti->private;

	snap_origin_io_init(dmx_per_io_data(bio));
	bio_set_dev(bio, oc->dev->bdev);
	if ((bio->bi_opf & REQ_PREFLUSH) || !op_is_write(bio_op(bio)))
		return DMX_MAPIO_REMAPPED;
	return snap_origin_map_write(oc->o, bio);
}

static int origin_end_io(struct dmx_target *ti, struct bio *bio,
			 blk_status_t *error)
{
	struct origin_ctx *oc = ti->private;

	snap_origin_end_write(oc->o, dmx_per_io_data(bio));
	return DMX_ENDIO_DONE;
}

static void origin_status(struct dmx_target *ti, enum dmx_status_type type,
			  char *result, unsigned int maxlen)
{
	struct origin_ctx *oc = ti->private;
	unsigned int sz = 0;

	if (type == DMX_STATUS_TABLE)
		dmx_emit(result, maxlen, &sz, "%s", oc->dev->name);
}

static int origin_iterate_devices(struct dmx_target *ti, dmx_iterate_fn fn,
				  void *data)
{
	struct origin_ctx *oc = ti->private;

	return fn(ti, oc->dev, 0, ti->len, data);
}

static struct dmx_target_type origin_target = {
	.name		 = "snapshot-origin",
	.version	 = {1, 9, 0},
	.module		 = THIS_MODULE,
	.ctr		 = origin_ctr,
	.dtr		 = origin_dtr,
	.map		 = origin_map,
	.end_io		 = origin_end_io,
	.status		 = origin_status,
	.iterate_devices = origin_iterate_devices,
};

int dmx_snap_origin_target_init(void)
{
	return dmx_register_target(&origin_target);
}

void dmx_snap_origin_target_exit(void)
{
	dmx_unregister_target(&origin_target);
}
