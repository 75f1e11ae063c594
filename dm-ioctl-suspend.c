// SPDX-License-Identifier: GPL-2.0
/*
 * DEV_SUSPEND: suspend, or resume.  A resume swaps in the inactive
 * table, if there is one, suspending the device first if it is not:
 * the device is suspended only around the swap itself.  The state
 * machine is the core's (dm-suspend.c); this file decides what to ask
 * of it and answers the caller.
 */
#include "dmx-ioctl.h"
#include "dmx-registry.h"

static unsigned int dmx_suspend_flags(struct dm_ioctl *param)
{
	unsigned int flags = DMX_SUSPEND_LOCKFS;

	if (param->flags & DM_SKIP_LOCKFS_FLAG)
		flags &= ~DMX_SUSPEND_LOCKFS;
	if (param->flags & DM_NOFLUSH_FLAG)
		flags |= DMX_SUSPEND_NOFLUSH;
	return flags;
}

static int dmx_do_suspend(struct dm_ioctl *param)
{
	struct mapped_device *md;
	int r;

	md = dmx_registry_find(param);
	if (!md)
		return -ENXIO;
	r = dmx_md_suspend(md, dmx_suspend_flags(param));
	if (!r)
		dmx_ioctl_fill_status(md, param);
	dmx_md_put(md);
	return r;
}

/*
 * Makes new_map md's active table: suspends if needed and swaps.
 * *old_map is the table it replaced.  On failure new_map goes back to
 * the inactive slot (or is dropped if that was filled meanwhile).
 */
static int dmx_swap_in(struct mapped_device *md, struct dmx_table *new_map,
		       struct dm_ioctl *param, struct dmx_table **old_map)
{
	int r;

	*old_map = NULL;
	r = dmx_md_suspend(md, dmx_suspend_flags(param));
	if (r) {
		/* Not suspended (a signal): the table waits for a retry. */
		dmx_md_drop_table(md, dmx_registry_restage_inactive(md, new_map));
		return r;
	}
	*old_map = dmx_md_swap_table(md, new_map);
	if (IS_ERR(*old_map)) {
		/*
		 * Refused (a device below too small): the table goes and the
		 * device stays suspended on its old one, as in Linux.
		 */
		r = PTR_ERR(*old_map);
		*old_map = NULL;
		dmx_md_drop_table(md, new_map);
	}
	return r;
}

static int dmx_do_resume(struct dm_ioctl *param)
{
	struct dmx_table *new_map, *old_map = NULL;
	bool resized = false, was_suspended;
	struct mapped_device *md;
	int r;

	md = dmx_registry_find(param);
	if (!md)
		return -ENXIO;
	new_map = dmx_registry_take_inactive(md);
	param->flags &= ~DM_INACTIVE_PRESENT_FLAG;

	if (new_map) {
		sector_t old_size = get_capacity(md->disk);

		r = dmx_swap_in(md, new_map, param, &old_map);
		if (r)
			goto out;
		resized = old_size && old_size != new_map->size;
	}

	was_suspended = dmx_md_suspended(md);
	r = dmx_md_resume(md);
	if (!r && was_suspended &&
	    !dmx_md_uevent(md, KOBJ_CHANGE, param->event_nr, resized))
		param->flags |= DM_UEVENT_GENERATED_FLAG;
	dmx_md_drop_table(md, old_map);
	if (!r)
		dmx_ioctl_fill_status(md, param);
out:
	dmx_md_put(md);
	return r;
}

int dmx_ioctl_dev_suspend(struct file *filp, struct dm_ioctl *param, size_t size)
{
	if (param->flags & DM_SUSPEND_FLAG)
		return dmx_do_suspend(param);
	return dmx_do_resume(param);
}
