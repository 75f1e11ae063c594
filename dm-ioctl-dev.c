// SPDX-License-Identifier: GPL-2.0
/*
 * The commands that act on devices: create, remove (one or all), list,
 * rename, status, wait for an event, set the geometry.  Names and the
 * lookups behind them are the registry's (dm-registry.c); suspend and
 * resume are in dm-ioctl-suspend.c.
 */
#include <linux/slab.h>

#include "dmx-ioctl.h"
#include "dmx-registry.h"

static bool dmx_name_ok(const char *name)
{
	if (strchr(name, '/')) {
		DMX_IOCTL_ERR("invalid device name %s: '/' not allowed", name);
		return false;
	}
	/* Since 4.48: names that would clash in /dev/mapper. */
	if (dmx_compat_ioctl_strict() &&
	    (!strcmp(name, DM_CONTROL_NODE) || !strcmp(name, ".") ||
	     !strcmp(name, ".."))) {
		DMX_IOCTL_ERR("invalid device name %s: reserved", name);
		return false;
	}
	return true;
}

int dmx_ioctl_dev_create(struct file *filp, struct dm_ioctl *param, size_t size)
{
	int minor = -1;
	struct mapped_device *md;
	int r;

	if (!dmx_name_ok(param->name))
		return -EINVAL;
	if (param->flags & DM_PERSISTENT_DEV_FLAG)
		minor = MINOR(huge_decode_dev(param->dev));

	r = dmx_md_create(minor, &md);
	if (r)
		return r;
	r = dmx_registry_add(md, param->name, param->uuid);
	if (r) {
		if (r == -EBUSY)
			DMX_IOCTL_ERR("device name %s or uuid %s already in use",
				      param->name, param->uuid);
		dmx_md_lock_for_deletion(md, false, false);
		dmx_md_destroy(md);
		return r;
	}

	param->flags &= ~DM_INACTIVE_PRESENT_FLAG;
	dmx_ioctl_fill_status(md, param);
	dmx_md_put(md);
	return 0;
}

int dmx_ioctl_dev_remove(struct file *filp, struct dm_ioctl *param, size_t size)
{
	bool deferred = param->flags & DM_DEFERRED_REMOVE;
	struct dmx_table *inactive;
	struct mapped_device *md;
	int r;

	r = dmx_registry_unlist(param, deferred, &md, &inactive);
	if (r == -EBUSY)
		DMX_IOCTL_ERR("cannot remove open device %s", param->name);
	if (r < 0)
		return r;
	/* An open device marked for deferred removal is a success. */
	if (r == DMX_UNLIST_DEFERRED)
		return 0;

	/* The uevent must name the disk, so it goes before teardown. */
	param->flags &= ~DM_DEFERRED_REMOVE;
	if (!dmx_md_uevent(md, KOBJ_REMOVE, param->event_nr, false))
		param->flags |= DM_UEVENT_GENERATED_FLAG;
	dmx_md_drop_table(md, inactive);
	dmx_md_destroy(md);
	return 0;
}

int dmx_ioctl_remove_all(struct file *filp, struct dm_ioctl *param, size_t size)
{
	dmx_registry_remove_all(param->flags & DM_DEFERRED_REMOVE);
	param->data_size = 0;
	return 0;
}

/* LIST_DEVICES: a chain of dm_name_list records, filtered by prefixes. */
struct dmx_list {
	const char *name_prefix;
	const char *uuid_prefix;
	bool with_uuid;
	size_t needed;			/* bytes the matching records take */
	struct dm_name_list *next;	/* where the next record goes */
	struct dm_name_list *prev;
	char *end;
	bool full;
};

static bool dmx_list_match(struct dmx_list *l, const char *name,
			   const char *uuid)
{
	return !strncmp(name, l->name_prefix, strlen(l->name_prefix)) &&
	       !strncmp(uuid, l->uuid_prefix, strlen(l->uuid_prefix));
}

/* Bytes one device takes in the answer. */
static size_t dmx_list_record_size(struct dmx_list *l, const char *name,
				   const char *uuid)
{
	size_t n = ALIGN(offsetof(struct dm_name_list, name) + strlen(name) + 1, 8);

	n += ALIGN(2 * sizeof(u32), 8);
	if (l->with_uuid && *uuid)
		n += ALIGN(strlen(uuid) + 1, 8);
	return n;
}

static bool dmx_list_count(struct mapped_device *md, const char *name,
			   const char *uuid, void *data)
{
	struct dmx_list *l = data;

	if (dmx_list_match(l, name, uuid))
		l->needed += dmx_list_record_size(l, name, uuid);
	return true;
}

static bool dmx_list_fill(struct mapped_device *md, const char *name,
			  const char *uuid, void *data)
{
	struct dmx_list *l = data;
	struct dm_name_list *nl = l->next;
	char *uuid_out;
	u32 *tail;

	if (!dmx_list_match(l, name, uuid))
		return true;
	/* A device may have been created since we counted. */
	if ((char *)nl + dmx_list_record_size(l, name, uuid) > l->end) {
		l->full = true;
		return false;
	}
	if (l->prev)
		l->prev->next = (char *)nl - (char *)l->prev;
	l->prev = nl;

	nl->dev = huge_encode_dev(dmx_md_devt(md));
	nl->next = 0;
	strcpy(nl->name, name);
	tail = PTR_ALIGN((void *)(nl->name + strlen(name) + 1), 8);
	tail[0] = dmx_md_event_nr(md);
	tail[1] = 0;
	uuid_out = PTR_ALIGN((void *)(tail + 2), 8);
	l->next = (struct dm_name_list *)uuid_out;
	if (!l->with_uuid)
		return true;
	if (!*uuid) {
		tail[1] = DM_NAME_LIST_FLAG_DOESNT_HAVE_UUID;
		return true;
	}
	tail[1] = DM_NAME_LIST_FLAG_HAS_UUID;
	strcpy(uuid_out, uuid);
	l->next = PTR_ALIGN((void *)(uuid_out + strlen(uuid) + 1), 8);
	return true;
}

int dmx_ioctl_list_devices(struct file *filp, struct dm_ioctl *param,
			   size_t size)
{
	struct dmx_list l = { .with_uuid = param->flags & DM_UUID_FLAG };
	struct dm_name_list *nl;
	size_t len;

	/* Filters are prefixes; make sure they end inside their fields. */
	param->name[DM_NAME_LEN - 1] = '\0';
	param->uuid[DM_UUID_LEN - 1] = '\0';
	l.name_prefix = param->name;
	l.uuid_prefix = param->uuid;

	dmx_registry_for_each(dmx_list_count, &l);
	nl = dmx_ioctl_result_buffer(param, size, &len);
	if (len < l.needed || len < sizeof(nl->dev)) {
		param->flags |= DM_BUFFER_FULL_FLAG;
		return 0;
	}
	nl->dev = 0;	/* an empty list */
	l.next = nl;
	l.end = (char *)nl + len;
	dmx_registry_for_each(dmx_list_fill, &l);
	if (l.full)
		param->flags |= DM_BUFFER_FULL_FLAG;
	else
		param->data_size = param->data_start +
				   ((char *)l.next - (char *)nl);
	return 0;
}

int dmx_ioctl_dev_rename(struct file *filp, struct dm_ioctl *param, size_t size)
{
	bool set_uuid = param->flags & DM_UUID_FLAG;
	char *new = (char *)param + param->data_start;
	size_t max = set_uuid ? DM_UUID_LEN - 1 : DM_NAME_LEN - 1;
	struct mapped_device *md;
	int r;

	if (!dmx_ioctl_str_ok(new, (char *)param + size) || !*new ||
	    strlen(new) > max) {
		DMX_IOCTL_ERR("invalid new device %s", set_uuid ? "uuid" : "name");
		return -EINVAL;
	}
	if (!set_uuid && !dmx_name_ok(new))
		return -EINVAL;

	r = dmx_registry_rename(param, new, set_uuid, &md);
	if (r)
		return r;
	dmx_ioctl_fill_status(md, param);
	dmx_md_put(md);
	return 0;
}

int dmx_ioctl_dev_status(struct file *filp, struct dm_ioctl *param, size_t size)
{
	struct mapped_device *md = dmx_registry_find(param);

	if (!md)
		return -ENXIO;
	dmx_ioctl_fill_status(md, param);
	dmx_md_put(md);
	return 0;
}

/* Waits for an event past param->event_nr, then reports the table. */
int dmx_ioctl_dev_wait(struct file *filp, struct dm_ioctl *param, size_t size)
{
	struct mapped_device *md = dmx_registry_find(param);
	int r = 0;

	if (!md)
		return -ENXIO;
	if (dmx_md_wait_event(md, param->event_nr))
		r = -ERESTARTSYS;
	else
		dmx_ioctl_report_table(md, param, size,
				       dmx_ioctl_retrieve_status);
	dmx_md_put(md);
	return r;
}

int dmx_ioctl_dev_set_geometry(struct file *filp, struct dm_ioctl *param,
			       size_t size)
{
	char *text = (char *)param + param->data_start;
	unsigned long cyl, heads, sectors, start;
	struct mapped_device *md;
	struct hd_geometry geo;
	char dummy;
	int r = -EINVAL;

	md = dmx_registry_find(param);
	if (!md)
		return -ENXIO;
	if (!dmx_ioctl_str_ok(text, (char *)param + size)) {
		DMX_IOCTL_ERR("geometry string not terminated");
		goto out;
	}
	if (sscanf(text, "%lu %lu %lu %lu%c", &cyl, &heads, &sectors, &start,
		   &dummy) != 4) {
		DMX_IOCTL_ERR("cannot parse geometry \"%s\"", text);
		goto out;
	}
	if (cyl > 65535 || heads > 255 || sectors > 255) {
		DMX_IOCTL_ERR("geometry out of range");
		goto out;
	}
	geo.cylinders = cyl;
	geo.heads = heads;
	geo.sectors = sectors;
	geo.start = start;
	r = dmx_md_set_geometry(md, &geo);
	param->data_size = 0;
out:
	dmx_md_put(md);
	return r;
}
