// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/block/dm-N/dm: the attributes udev rules, lsblk and libdevmapper
 * read to put a name to a dm-N node.
 */
#include <linux/kobject.h>
#include <linux/sysfs.h>

#include "dmx-registry.h"

struct dmx_sysfs_attr {
	struct attribute attr;
	ssize_t (*show)(struct mapped_device *md, char *buf);
};

#define DMX_ATTR_RO(_name) \
	static struct dmx_sysfs_attr dmx_attr_##_name = { \
		.attr = { .name = __stringify(_name), .mode = 0444 }, \
		.show = dmx_attr_##_name##_show, \
	}

static ssize_t dmx_attr_name_show(struct mapped_device *md, char *buf)
{
	char name[DM_NAME_LEN];

	if (dmx_registry_copy_name_uuid(md, name, NULL))
		return -EIO;
	return sysfs_emit(buf, "%s\n", name);
}

static ssize_t dmx_attr_uuid_show(struct mapped_device *md, char *buf)
{
	char uuid[DM_UUID_LEN];

	if (dmx_registry_copy_name_uuid(md, NULL, uuid))
		return -EIO;
	return sysfs_emit(buf, "%s\n", uuid);
}

static ssize_t dmx_attr_suspended_show(struct mapped_device *md, char *buf)
{
	return sysfs_emit(buf, "%d\n", dmx_md_suspended(md));
}

/* Kept for userland that probes it; every dm kernel reports 1. */
static ssize_t dmx_attr_use_blk_mq_show(struct mapped_device *md, char *buf)
{
	return sysfs_emit(buf, "%d\n", 1);
}

DMX_ATTR_RO(name);
DMX_ATTR_RO(uuid);
DMX_ATTR_RO(suspended);
DMX_ATTR_RO(use_blk_mq);

static struct attribute *dmx_attrs[] = {
	&dmx_attr_name.attr,
	&dmx_attr_uuid.attr,
	&dmx_attr_suspended.attr,
	&dmx_attr_use_blk_mq.attr,
	NULL,
};
ATTRIBUTE_GROUPS(dmx);

static ssize_t dmx_attr_show(struct kobject *kobj, struct attribute *attr,
			     char *buf)
{
	struct mapped_device *md = container_of(kobj, struct mapped_device, kobj);
	struct dmx_sysfs_attr *a = container_of(attr, struct dmx_sysfs_attr, attr);

	return a->show(md, buf);
}

static const struct sysfs_ops dmx_sysfs_ops = {
	.show	= dmx_attr_show,
};

static void dmx_kobject_release(struct kobject *kobj)
{
	complete(&container_of(kobj, struct mapped_device, kobj)->kobj_released);
}

static struct kobj_type dmx_ktype = {
	.sysfs_ops	= &dmx_sysfs_ops,
	.default_groups	= dmx_groups,
	.release	= dmx_kobject_release,
};

int dmx_sysfs_init(struct mapped_device *md)
{
	int r;

	init_completion(&md->kobj_released);
	r = kobject_init_and_add(&md->kobj, &dmx_ktype,
				 &disk_to_dev(md->disk)->kobj, "dm");
	if (r)
		dmx_sysfs_exit(md);
	return r;
}

/* Returns once no sysfs reader can reach md through the kobject. */
void dmx_sysfs_exit(struct mapped_device *md)
{
	kobject_put(&md->kobj);
	wait_for_completion(&md->kobj_released);
}
