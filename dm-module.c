// SPDX-License-Identifier: GPL-2.0
/*
 * dmx module load and unload: the control device first, since holding
 * it is what tells us the stock device-mapper is not loaded; then the
 * block major, then the built-in targets.  Unload in reverse.
 */
#include <linux/module.h>

#include "dmx-core.h"

struct dmx_part {
	const char *name;
	int (*init)(void);
	void (*exit)(void);
};

static const struct dmx_part dmx_parts[] = {
	{ "control device", dmx_ioctl_init, dmx_ioctl_exit },
	{ "block devices", dmx_core_init, dmx_core_exit },
	{ "linear target", dmx_linear_init, dmx_linear_exit },
	{ "striped target", dmx_striped_init, dmx_striped_exit },
	{ "error target", dmx_error_init, dmx_error_exit },
	{ "zero target", dmx_zero_init, dmx_zero_exit },
	{ "snapshot targets", dmx_snapshot_init, dmx_snapshot_exit },
	{ "thin-pool target", dmx_thin_pool_init, dmx_thin_pool_exit },
	{ "thin target", dmx_thin_init, dmx_thin_exit },
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
		DM_VERSION_MAJOR, DM_VERSION_MINOR, DM_VERSION_PATCHLEVEL,
		DM_VERSION_EXTRA);
	return 0;
}

static void __exit dmx_exit(void)
{
	dmx_registry_exit();
	dmx_exit_parts(ARRAY_SIZE(dmx_parts));
}

module_init(dmx_init);
module_exit(dmx_exit);

MODULE_DESCRIPTION("dmx: a device-mapper compatible with the dm ioctl v4 interface");
MODULE_LICENSE("GPL");
