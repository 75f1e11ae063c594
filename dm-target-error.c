// SPDX-License-Identifier: GPL-2.0
/*
 * error: every I/O to the range fails.  Used to punch holes in a
 * device, or to stand in for a device that has gone.
 */
#include <linux/module.h>

#include "dmx.h"

static int error_ctr(struct dmx_target *ti, unsigned int argc, char **argv)
{
	/* Discards fail with EIO like everything else, not EOPNOTSUPP. */
	ti->num_discard_bios = 1;
	ti->num_flush_bios = 0;
	return 0;
}

static int error_map(struct dmx_target *ti, struct bio *bio)
{
	return DMX_MAPIO_KILL;
}

static struct dmx_target_type error_target = {
	.name	 = "error",
	.version = {1, 5, 0},
	.features	 = DMX_TARGET_NOWAIT,
	.module	 = THIS_MODULE,
	.ctr	 = error_ctr,
	.map	 = error_map,
};

int dmx_error_init(void)
{
	return dmx_register_target(&error_target);
}

void dmx_error_exit(void)
{
	dmx_unregister_target(&error_target);
}
