// SPDX-License-Identifier: GPL-2.0
/*
 * linear <dev> <offset>: maps the target's range onto a contiguous
 * range of one device, starting at sector <offset>.
 */
#include <linux/module.h>
#include <linux/slab.h>

#include "dmx.h"

struct linear_ctx {
	struct dmx_dev *dev;
	sector_t start;
};

static int linear_ctr(struct dmx_target *ti, unsigned int argc, char **argv)
{
	struct linear_ctx *lc;
	int r;

	if (argc != 2) {
		ti->error = "Invalid argument count";
		return -EINVAL;
	}
	lc = kmalloc(sizeof(*lc), GFP_KERNEL);
	if (!lc) {
		ti->error = "Cannot allocate linear context";
		return -ENOMEM;
	}
	if (!dmx_parse_sector(argv[1], &lc->start)) {
		ti->error = "Invalid device sector";
		r = -EINVAL;
		goto bad;
	}
	r = dmx_get_device(ti, argv[0], &lc->dev);
	if (r) {
		ti->error = "Device lookup failed";
		goto bad;
	}

	ti->num_flush_bios = 1;
	ti->num_discard_bios = 1;
	ti->num_secure_erase_bios = 1;
	ti->num_write_zeroes_bios = 1;
	ti->private = lc;
	return 0;

bad:
	kfree(lc);
	return r;
}

static void linear_dtr(struct dmx_target *ti)
{
	struct linear_ctx *lc = ti->private;

	dmx_put_device(ti, lc->dev);
	kfree(lc);
}

static sector_t linear_map_sector(struct dmx_target *ti, sector_t sector)
{
	struct linear_ctx *lc = ti->private;

	return lc->start + (sector - ti->begin);
}

static int linear_map(struct dmx_target *ti, struct bio *bio)
{
	struct linear_ctx *lc = ti->private;

	bio_set_dev(bio, lc->dev->bdev);
	if (bio_sectors(bio) || op_is_zone_mgmt(bio_op(bio)))
		bio->bi_iter.bi_sector = linear_map_sector(ti, bio->bi_iter.bi_sector);
	return DMX_MAPIO_REMAPPED;
}

static void linear_status(struct dmx_target *ti, enum dmx_status_type type,
			  char *result, unsigned int maxlen)
{
	struct linear_ctx *lc = ti->private;
	unsigned int sz = 0;

	switch (type) {
	case DMX_STATUS_INFO:
		break;
	case DMX_STATUS_TABLE:
		dmx_emit(result, maxlen, &sz, "%s %llu", lc->dev->name,
			 (unsigned long long)lc->start);
		break;
	case DMX_STATUS_IMA:
		DMX_EMIT_IMA_TARGET(result, maxlen, &sz, ti->type);
		dmx_emit(result, maxlen, &sz, ",device_name=%s,start=%llu;",
			 lc->dev->name, (unsigned long long)lc->start);
		break;
	}
}

static int linear_iterate_devices(struct dmx_target *ti, dmx_iterate_fn fn,
				  void *data)
{
	struct linear_ctx *lc = ti->private;

	return fn(ti, lc->dev, lc->start, ti->len, data);
}

static struct dmx_target_type linear_target = {
	.name		 = "linear",
	.version	 = {1, 4, 0},
	.features	 = DMX_TARGET_NOWAIT,
	.module		 = THIS_MODULE,
	.ctr		 = linear_ctr,
	.dtr		 = linear_dtr,
	.map		 = linear_map,
	.status		 = linear_status,
	.iterate_devices = linear_iterate_devices,
};

int dmx_linear_init(void)
{
	return dmx_register_target(&linear_target);
}

void dmx_linear_exit(void)
{
	dmx_unregister_target(&linear_target);
}
