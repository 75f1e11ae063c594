// SPDX-License-Identifier: GPL-2.0
/*
 * dmx module load and unload: the block major and the built-in targets
 * first, the control device last, so that no command can arrive before
 * what it needs exists.  The control device is also what tells us the
 * stock device-mapper is not loaded: if it is taken, everything before
 * it is undone.  Unload in reverse.
 */
#include <linux/module.h>

#include "dmx-core.h"

struct dmx_part {
	const char *name;
	int (*init)(void);
	void (*exit)(void);
};

static const struct dmx_part dmx_parts[] = {
	{ "block devices", dmx_core_init, dmx_core_exit },
	{ "linear target", dmx_linear_init, dmx_linear_exit },
	{ "striped target", dmx_striped_init, dmx_striped_exit },
	{ "error target", dmx_error_init, dmx_error_exit },
	{ "zero target", dmx_zero_init, dmx_zero_exit },
	{ "snapshot targets", dmx_snapshot_init, dmx_snapshot_exit },
	{ "flakey target", dmx_flakey_init, dmx_flakey_exit },
	{ "delay target", dmx_delay_init, dmx_delay_exit },
	{ "dust target", dmx_dust_init, dmx_dust_exit },
	{ "crypt target", dmx_crypt_init, dmx_crypt_exit },
	{ "thin-pool target", dmx_thin_pool_init, dmx_thin_pool_exit },
	{ "thin target", dmx_thin_init, dmx_thin_exit },
	{ "mirror target", dmx_mirror_init, dmx_mirror_exit },
	{ "control device", dmx_ioctl_init, dmx_ioctl_exit },
};

static void dmx_exit_parts(unsigned int count)
{
	while (count--)
		dmx_parts[count].exit();
}

static int __init dmx_init(void)
{
	unsigned int i;
	int r;

	for (i = 0; i < ARRAY_SIZE(dmx_parts); i++) {
		r = dmx_parts[i].init();
		if (r) {
			pr_err(DMX_MSG_PREFIX ": %s failed to initialise (%d)\n",
			       dmx_parts[i].name, r);
			dmx_exit_parts(i);
			return r;
		}
	}
	pr_info(DMX_MSG_PREFIX ": ioctl interface %u.%u.%u%s loaded\n",
		DMX_VERSION_MAJOR, DMX_VERSION_MINOR, DMX_VERSION_PATCHLEVEL,
		DM_VERSION_EXTRA);
	return 0;
}

/* Every device holds a module reference: none is left by now. */
static void __exit dmx_exit(void)
{
	dmx_exit_parts(ARRAY_SIZE(dmx_parts));
}

module_init(dmx_init);
module_exit(dmx_exit);

MODULE_DESCRIPTION("dmx: a device-mapper compatible with the dm ioctl v4 interface");
MODULE_LICENSE("GPL");
