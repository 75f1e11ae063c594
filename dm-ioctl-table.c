// SPDX-License-Identifier: GPL-2.0
/*
 * The commands that act on tables: load into the inactive slot, clear
 * it, list a table's devices, report a table's lines or status, and
 * pass a message to a target.
 */
#include <linux/slab.h>

#include "dmx-ioctl.h"

/*
 * Walks the target specs of a TABLE_LOAD request.  Each spec's next is
 * the byte distance to the following spec; all offsets are checked
 * against the request before anything is read through them.
 */
static int dmx_populate_table(struct dmx_table *t, struct dm_ioctl *param,
			      size_t size)
{
	size_t off = param->data_start, step;
	struct dm_target_spec *spec;
	unsigned int i;
	int r;

	for (i = 0; i < param->target_count; i++) {
		if (off > size || size - off < sizeof(*spec)) {
			pr_err(DMX_MSG_PREFIX ": %s: target spec %u outside the request\n",
			       t->md->name, i);
			return -EINVAL;
		}
		spec = (struct dm_target_spec *)((char *)param + off);
		if (!memchr(spec->target_type, '\0', sizeof(spec->target_type)) ||
		    !dmx_ioctl_str_ok((char *)(spec + 1), (char *)param + size)) {
			pr_err(DMX_MSG_PREFIX ": %s: target spec %u not terminated\n",
			       t->md->name, i);
			return -EINVAL;
		}

		r = dmx_table_add_target(t, spec->target_type, spec->sector_start,
					 spec->length, (char *)(spec + 1));
		if (r)
			return r;

		step = spec->next;
		if (i + 1 < param->target_count && step < sizeof(*spec)) {
			pr_err(DMX_MSG_PREFIX ": %s: target spec %u has a bad next offset\n",
			       t->md->name, i);
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

static void dmx_retrieve_deps(struct dmx_table *t, struct dm_ioctl *param,
			      size_t size)
{
	struct dm_target_deps *deps;
	unsigned int count = 0;
	struct dmx_dev *dd;
	size_t len, needed;

	deps = dmx_ioctl_result_buffer(param, size, &len);
	list_for_each_entry(dd, &t->devices, list)
		count++;
	needed = struct_size(deps, dev, count);
	if (len < needed) {
		param->flags |= DM_BUFFER_FULL_FLAG;
		return;
	}
	deps->count = count;
	count = 0;
	list_for_each_entry(dd, &t->devices, list)
		deps->dev[count++] = huge_encode_dev(dd->bdev->bd_dev);
	param->data_size = param->data_start + needed;
}

typedef void (*dmx_table_report_fn)(struct dmx_table *t, struct dm_ioctl *param,
				    size_t size);

/*
 * The device's status, then a report on its active table (or inactive,
 * with DM_QUERY_INACTIVE_TABLE_FLAG) if it has one.
 */
static int dmx_report_table(struct dm_ioctl *param, size_t size,
			    dmx_table_report_fn report)
{
	struct mapped_device *md;
	struct dmx_table *t;
	int idx;

	md = dmx_registry_find(param);
	if (!md)
		return -ENXIO;
	dmx_ioctl_fill_status(md, param);
	t = dmx_md_get_table(md, param->flags & DM_QUERY_INACTIVE_TABLE_FLAG, &idx);
	if (t)
		report(t, param, size);
	dmx_md_put_live_table(md, idx);
	dmx_md_put(md);
	return 0;
}

int dmx_ioctl_table_deps(struct file *filp, struct dm_ioctl *param, size_t size)
{
	return dmx_report_table(param, size, dmx_retrieve_deps);
}

/*
 * One dm_target_spec per target, each followed by its status or table
 * line; spec->next is the offset of the following spec from the first.
 * Whatever does not fit sets DM_BUFFER_FULL_FLAG and the caller retries
 * with a bigger buffer.
 */
void dmx_ioctl_retrieve_status(struct dmx_table *t, struct dm_ioctl *param,
			       size_t param_size)
{
	enum dmx_status_type type = DMX_STATUS_INFO;
	char *outbuf, *out;
	size_t len, used = 0, remaining, l;
	unsigned int i;

	if (param->flags & DM_STATUS_TABLE_FLAG)
		type = DMX_STATUS_TABLE;
	else if (param->flags & DM_IMA_MEASUREMENT_FLAG)
		type = DMX_STATUS_IMA;

	out = outbuf = dmx_ioctl_result_buffer(param, param_size, &len);
	for (i = 0; i < t->num_targets; i++) {
		struct dmx_target *ti = &t->targets[i];
		struct dm_target_spec *spec;

		remaining = len - (out - outbuf);
		if (remaining <= sizeof(*spec)) {
			param->flags |= DM_BUFFER_FULL_FLAG;
			break;
		}
		spec = (struct dm_target_spec *)out;
		spec->status = 0;
		spec->sector_start = ti->begin;
		spec->length = ti->len;
		strscpy(spec->target_type, ti->type->name,
			sizeof(spec->target_type));

		out += sizeof(*spec);
		remaining -= sizeof(*spec);
		out[0] = '\0';
		if (ti->type->status)
			ti->type->status(ti, type, out, remaining);
		l = strnlen(out, remaining) + 1;
		if (l >= remaining) {
			param->flags |= DM_BUFFER_FULL_FLAG;
			break;
		}
		out += l;
		used = param->data_start + (out - outbuf);
		out = PTR_ALIGN(out, 8);
		if (out > outbuf + len) {
			param->flags |= DM_BUFFER_FULL_FLAG;
			break;
		}
		spec->next = out - outbuf;
	}
	if (used)
		param->data_size = used;
	param->target_count = t->num_targets;
}

int dmx_ioctl_table_status(struct file *filp, struct dm_ioctl *param,
			   size_t size)
{
	return dmx_report_table(param, size, dmx_ioctl_retrieve_status);
}

/*
 * Messages starting with '@' are for the core, not a target.  Returns 2
 * when the message is for the target.
 */
static int dmx_core_message(struct mapped_device *md, unsigned int argc,
			    char **argv)
{
	if (argv[0][0] != '@')
		return 2;
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
		DMX_IOCTL_ERR("%s: no active table for a message", md->name);
		r = -EINVAL;
		goto out;
	}
	ti = dmx_table_find_target(t, sector);
	if (!ti) {
		DMX_IOCTL_ERR("%s: message sector %llu outside the device",
			      md->name, (unsigned long long)sector);
		r = -EINVAL;
	} else if (!ti->type->message) {
		DMX_IOCTL_ERR("%s: target type %s takes no messages", md->name,
			      ti->type->name);
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
	if (r == 2)
		r = dmx_target_message(md, sector, argc, argv, result, maxlen);
out_argv:
	kfree(argv);
out:
	if (r >= 0)
		dmx_ioctl_fill_status(md, param);
	if (r == 1) {
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
