// SPDX-License-Identifier: GPL-2.0
/*
 * What the commands report about a device: the status fields of the
 * reply header, and a table's target lines (status, table or IMA
 * form) or device list.  Shared by the device commands (DEV_STATUS,
 * DEV_WAIT and the rest) and the table commands.
 */
#include "dmx-ioctl.h"
#include "dmx-registry.h"

void dmx_ioctl_fill_status(struct mapped_device *md, struct dm_ioctl *param)
{
	bool query_inactive = param->flags & DM_QUERY_INACTIVE_TABLE_FLAG;
	struct dmx_table *t;
	int idx;

	param->flags &= ~(DM_SUSPEND_FLAG | DM_READONLY_FLAG |
			  DM_ACTIVE_PRESENT_FLAG | DM_INTERNAL_SUSPEND_FLAG);
	if (dmx_md_suspended(md))
		param->flags |= DM_SUSPEND_FLAG;
	if (dmx_md_deferred_remove(md))
		param->flags |= DM_DEFERRED_REMOVE;
	param->dev = huge_encode_dev(dmx_md_devt(md));
	param->open_count = dmx_md_open_count(md);
	param->event_nr = dmx_md_event_nr(md);
	param->target_count = 0;

	t = dmx_md_get_live_table(md, &idx);
	if (t) {
		param->flags |= DM_ACTIVE_PRESENT_FLAG;
		if (!query_inactive) {
			if (get_disk_ro(md->disk))
				param->flags |= DM_READONLY_FLAG;
			param->target_count = t->num_targets;
		}
	}
	if (query_inactive) {
		t = dmx_registry_peek_inactive(md);
		if (t) {
			if (!(t->mode & DMX_MODE_WRITE))
				param->flags |= DM_READONLY_FLAG;
			param->target_count = t->num_targets;
		}
	}
	dmx_md_put_live_table(md, idx);
}

/*
 * The active table, or the inactive one when asked.  Either way the
 * caller ends with dmx_md_put_live_table(): the inactive table is kept
 * alive by the same SRCU section, since whoever replaces it waits for
 * readers before destroying it.
 */
struct dmx_table *dmx_ioctl_get_table(struct mapped_device *md, bool inactive,
				      int *srcu_idx)
{
	struct dmx_table *t = dmx_md_get_live_table(md, srcu_idx);

	return inactive ? dmx_registry_peek_inactive(md) : t;
}

void dmx_ioctl_retrieve_deps(struct dmx_table *t, struct dm_ioctl *param,
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

/*
 * The device's status, then report() on its active table (or the
 * inactive one, with DM_QUERY_INACTIVE_TABLE_FLAG) if it has one.
 */
void dmx_ioctl_report_table(struct mapped_device *md, struct dm_ioctl *param,
			    size_t size, dmx_table_report_fn report)
{
	struct dmx_table *t;
	int idx;

	dmx_ioctl_fill_status(md, param);
	t = dmx_ioctl_get_table(md, param->flags & DM_QUERY_INACTIVE_TABLE_FLAG,
				&idx);
	if (t)
		report(t, param, size);
	dmx_md_put_live_table(md, idx);
}
