// SPDX-License-Identifier: GPL-2.0
/*
 * The commands that act on tables: load into the inactive slot, clear
 * it, list a table's devices, report a table's lines or status, and
 * pass a message to a target.
 */
#include <linux/slab.h>

#include "dmx-ioctl.h"
#include "dmx-registry.h"

/*
 * Since 4.48 a spec must be 8-byte aligned and start past what precedes
 * it: the header, or the parameters of the previous spec (min bytes
 * from that spec).
 */
static bool dmx_spec_placement_ok(size_t step, size_t min)
{
	if (!dmx_compat_ioctl_strict())
		return true;
	return step >= min &&
	       IS_ALIGNED(step, __alignof__(struct dm_target_spec));
}

/*
 * Walks the target specs of a TABLE_LOAD request.  Each spec's next is
 * the byte distance to the following spec; all offsets are checked
 * against the request before anything is read through them.
 */
static int dmx_populate_table(struct dmx_table *t, struct dm_ioctl *param,
			      size_t size)
{
	size_t off = param->data_start, step = off, min = sizeof(*param);
	struct dm_target_spec *spec;
	unsigned int i;
	int r;

	for (i = 0; i < param->target_count; i++) {
		if (!dmx_spec_placement_ok(step, min)) {
			pr_err(DMX_MSG_PREFIX ": %s: target spec %u misaligned or overlapping\n",
			       dmx_md_name(t->md), i);
			return -EINVAL;
		}
		if (off > size || size - off < sizeof(*spec)) {
			pr_err(DMX_MSG_PREFIX ": %s: target spec %u outside the request\n",
			       dmx_md_name(t->md), i);
			return -EINVAL;
		}
		spec = (struct dm_target_spec *)((char *)param + off);
		if (!memchr(spec->target_type, '\0', sizeof(spec->target_type)) ||
		    !dmx_ioctl_str_ok((char *)(spec + 1), (char *)param + size)) {
			pr_err(DMX_MSG_PREFIX ": %s: target spec %u not terminated\n",
			       dmx_md_name(t->md), i);
			return -EINVAL;
		}

		r = dmx_table_add_target(t, spec->target_type, spec->sector_start,
					 spec->length, (char *)(spec + 1));
		if (r)
			return r;

		step = spec->next;
		min = sizeof(*spec) + strlen((char *)(spec + 1)) + 1;
		if (i + 1 < param->target_count && step < sizeof(*spec)) {
			pr_err(DMX_MSG_PREFIX ": %s: target spec %u has a bad next offset\n",
			       dmx_md_name(t->md), i);
			return -EINVAL;
		}
		off += step;
	}
	return dmx_table_complete(t);
}

int dmx_ioctl_table_load(struct file *filp, struct dm_ioctl *param, size_t size)
{
	dmx_mode_t mode = DMX_MODE_READ | DMX_MODE_WRITE;
	struct dmx_table *t, *replaced = NULL;
	struct mapped_device *md;
	int r;

	md = dmx_registry_find(param);
	if (!md)
		return -ENXIO;
	if (param->flags & DM_READONLY_FLAG)
		mode = DMX_MODE_READ;

	r = dmx_table_create(md, mode, param->target_count, &t);
	if (r)
		goto out;
	r = dmx_populate_table(t, param, size);
	if (r)
		goto bad_table;
	r = dmx_md_add_disk(md, t);
	if (r)
		goto bad_table;
	r = dmx_registry_stage_inactive(md, t, &replaced);
	if (r)
		goto bad_table;

	param->flags |= DM_INACTIVE_PRESENT_FLAG;
	dmx_ioctl_fill_status(md, param);
	dmx_md_drop_table(md, replaced);
	goto out;

bad_table:
	dmx_table_destroy(t);
out:
	dmx_md_put(md);
	return r;
}

int dmx_ioctl_table_clear(struct file *filp, struct dm_ioctl *param, size_t size)
{
	struct mapped_device *md;
	struct dmx_table *t;

	md = dmx_registry_find(param);
	if (!md)
		return -ENXIO;
	t = dmx_registry_take_inactive(md);
	param->flags &= ~DM_INACTIVE_PRESENT_FLAG;
	dmx_ioctl_fill_status(md, param);
	dmx_md_drop_table(md, t);
	dmx_md_put(md);
	return 0;
}

static int dmx_report_table(struct dm_ioctl *param, size_t size,
			    dmx_table_report_fn report)
{
	struct mapped_device *md = dmx_registry_find(param);

	if (!md)
		return -ENXIO;
	dmx_ioctl_report_table(md, param, size, report);
	dmx_md_put(md);
	return 0;
}

int dmx_ioctl_table_deps(struct file *filp, struct dm_ioctl *param, size_t size)
{
	return dmx_report_table(param, size, dmx_ioctl_retrieve_deps);
}

int dmx_ioctl_table_status(struct file *filp, struct dm_ioctl *param,
			   size_t size)
{
	return dmx_report_table(param, size, dmx_ioctl_retrieve_status);
}

/* dmx_core_message(): the message is not the core's, pass it on. */
#define DMX_MSG_FOR_TARGET	2

/*
 * Messages starting with '@' are for the core, not a target: 0 or a
 * -errno for those, DMX_MSG_FOR_TARGET for the rest.
 */
static int dmx_core_message(struct mapped_device *md, unsigned int argc,
			    char **argv)
{
	if (argv[0][0] != '@')
		return DMX_MSG_FOR_TARGET;
	if (!strcasecmp(argv[0], "@cancel_deferred_remove")) {
		if (argc != 1) {
			DMX_IOCTL_ERR("@cancel_deferred_remove takes no arguments");
			return -EINVAL;
		}
		return dmx_md_cancel_deferred_remove(md);
	}
	DMX_IOCTL_ERR("unsupported core message %s", argv[0]);
	return -EINVAL;
}

static int dmx_target_message(struct mapped_device *md, sector_t sector,
			      unsigned int argc, char **argv, char *result,
			      size_t maxlen)
{
	struct dmx_target *ti;
	struct dmx_table *t;
	int idx, r;

	t = dmx_md_get_live_table(md, &idx);
	if (!t) {
		DMX_IOCTL_ERR("%s: no active table for a message", dmx_md_name(md));
		r = dmx_compat_message_without_table();
		goto out;
	}
	ti = dmx_table_find_target(t, sector);
	if (!ti) {
		DMX_IOCTL_ERR("%s: message sector %llu outside the device",
			      dmx_md_name(md), (unsigned long long)sector);
		r = -EINVAL;
	} else if (!ti->type->message) {
		DMX_IOCTL_ERR("%s: target type %s takes no messages",
			      dmx_md_name(md), ti->type->name);
		r = -EINVAL;
	} else {
		r = ti->type->message(ti, argc, argv, result, maxlen);
	}
out:
	dmx_md_put_live_table(md, idx);
	return r;
}

int dmx_ioctl_target_msg(struct file *filp, struct dm_ioctl *param, size_t size)
{
	struct dm_target_msg *msg = (void *)((char *)param + param->data_start);
	struct mapped_device *md;
	unsigned int argc;
	sector_t sector;
	char *result;
	size_t maxlen;
	char **argv;
	int r;

	md = dmx_registry_find(param);
	if (!md)
		return -ENXIO;
	if (param->data_start + sizeof(*msg) > size ||
	    !dmx_ioctl_str_ok(msg->message, (char *)param + size)) {
		DMX_IOCTL_ERR("invalid target message");
		r = -EINVAL;
		goto out;
	}
	r = dmx_split_args(msg->message, &argc, &argv);
	if (r)
		goto out;
	if (!argc) {
		DMX_IOCTL_ERR("empty target message");
		r = -EINVAL;
		goto out_argv;
	}

	/*
	 * An answer overwrites the request in place, after the header:
	 * targets parse argv before they write a result.
	 */
	sector = msg->sector;
	result = dmx_ioctl_result_buffer(param, size, &maxlen);
	r = dmx_core_message(md, argc, argv);
	if (r == DMX_MSG_FOR_TARGET)
		r = dmx_target_message(md, sector, argc, argv, result, maxlen);
out_argv:
	kfree(argv);
out:
	if (r >= 0)
		dmx_ioctl_fill_status(md, param);
	if (r == DMX_MESSAGE_HAS_RESULT) {
		param->flags |= DM_DATA_OUT_FLAG;
		if (strnlen(result, maxlen) + 1 >= maxlen)
			param->flags |= DM_BUFFER_FULL_FLAG;
		else
			param->data_size = param->data_start + strlen(result) + 1;
		r = 0;
	}
	dmx_md_put(md);
	return r;
}
