// SPDX-License-Identifier: GPL-2.0
/*
 * zero: reads return zeroes, writes and discards are dropped.
 */
#include <linux/module.h>

#include "dmx.h"

static int zero_ctr(struct dmx_target *ti, unsigned int argc, char **argv)
{
	if (argc) {
		ti->error = "No arguments required";
		return -EINVAL;
	}
	ti->num_discard_bios = 1;
	ti->discards_supported = dmx_compat_error_zero_take_discards();
	ti->num_flush_bios = 0;
	return 0;
}

static int zero_map(struct dmx_target *ti, struct bio *bio)
{
	switch (bio_op(bio)) {
	case REQ_OP_READ:
		/* Readahead of nothing is not worth the copy. */
		if (bio->bi_opf & REQ_RAHEAD)
			return DMX_MAPIO_KILL;
		zero_fill_bio(bio);
		break;
	case REQ_OP_WRITE:
	case REQ_OP_DISCARD:
		break;
	default:
		return DMX_MAPIO_KILL;
	}
	bio_endio(bio);
	return DMX_MAPIO_SUBMITTED;
}

static void zero_io_hints(struct dmx_target *ti, struct queue_limits *limits)
{
	dmx_compat_hint_any_discard(limits);
}

static struct dmx_target_type zero_target = {
	.name	 = "zero",
	.version = {1, DMX_ZERO_VERSION_MINOR, 0},
	.features	 = DMX_TARGET_NOWAIT,
	.module	 = THIS_MODULE,
	.ctr	 = zero_ctr,
	.map	 = zero_map,
	.io_hints = zero_io_hints,
};

int dmx_zero_init(void)
{
	return dmx_register_target(&zero_target);
}

void dmx_zero_exit(void)
{
	dmx_unregister_target(&zero_target);
}
