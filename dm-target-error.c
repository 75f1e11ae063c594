// SPDX-License-Identifier: GPL-2.0
/*
 * error [<dev> <offset>]: every I/O to the range fails.  Used to punch
 * holes in a device, or to stand in for a device that has gone.  Where
 * the kernel's own error target takes them (dmx_compat_error_takes_device),
 * a device and offset may follow, as for linear: the device is held, and
 * lends the range its limits, so that the error device looks like the one
 * it stands in for.  Any other arguments are ignored, as there.
 */
#include <linux/module.h>
#include <linux/slab.h>

#include "dmx.h"

struct error_ctx {
	struct dmx_dev *dev;
	sector_t start;
};

static int error_get_device(struct dmx_target *ti, char **argv)
{
	struct error_ctx *ec;
	int r;

	ec = kmalloc(sizeof(*ec), GFP_KERNEL);
	if (!ec) {
		ti->error = "Cannot allocate error context";
		return -ENOMEM;
	}
	if (!dmx_parse_sector(argv[1], &ec->start)) {
		ti->error = "Invalid device sector";
		r = -EINVAL;
		goto bad;
	}
	r = dmx_get_device(ti, argv[0], &ec->dev);
	if (r) {
		ti->error = "Device lookup failed";
		goto bad;
	}
	ti->private = ec;
	return 0;

bad:
	kfree(ec);
	return r;
}

static int error_ctr(struct dmx_target *ti, unsigned int argc, char **argv)
{
	int r;

	if (argc == 2 && dmx_compat_error_takes_device()) {
		r = error_get_device(ti, argv);
		if (r)
			return r;
	}
	/* Discards fail with EIO like everything else, not EOPNOTSUPP. */
	ti->num_discard_bios = 1;
	ti->discards_supported = dmx_compat_error_zero_take_discards();
	ti->num_flush_bios = 0;
	return 0;
}

static void error_dtr(struct dmx_target *ti)
{
	struct error_ctx *ec = ti->private;

	if (ec) {
		dmx_put_device(ti, ec->dev);
		kfree(ec);
	}
}

static int error_map(struct dmx_target *ti, struct bio *bio)
{
	return DMX_MAPIO_KILL;
}

static int error_iterate_devices(struct dmx_target *ti, dmx_iterate_fn fn,
				 void *data)
{
	struct error_ctx *ec = ti->private;

	return ec ? fn(ti, ec->dev, ec->start, ti->len, data) : 0;
}

static void error_io_hints(struct dmx_target *ti, struct queue_limits *limits)
{
	dmx_compat_hint_any_discard(limits);
}

static struct dmx_target_type error_target = {
	.name	 = "error",
	.version = {1, DMX_ERROR_VERSION_MINOR, 0},
	.features	 = DMX_TARGET_NOWAIT,
	.module	 = THIS_MODULE,
	.ctr	 = error_ctr,
	.dtr	 = error_dtr,
	.map	 = error_map,
	.iterate_devices = error_iterate_devices,
	.io_hints = error_io_hints,
};

int dmx_error_init(void)
{
	return dmx_register_target(&error_target);
}

void dmx_error_exit(void)
{
	dmx_unregister_target(&error_target);
}
