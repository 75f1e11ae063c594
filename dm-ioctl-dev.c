// SPDX-License-Identifier: GPL-2.0
/*
 * The registry of mapped devices by name and uuid, and the commands
 * that act on devices: create, remove, rename, suspend/resume, status,
 * wait, geometry, list.
 *
 * The registry holds one reference on each listed device and owns its
 * inactive table.  Lookups follow the v4 rules: a uuid, if given, is
 * the key; else the name; else the device number.
 */
#include <linux/rbtree.h>
#include <linux/rwsem.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "dmx-ioctl.h"

/* Protects both trees, every md's name, uuid and inactive table. */
static DECLARE_RWSEM(dmx_registry_lock);
static struct rb_root dmx_name_tree = RB_ROOT;
static struct rb_root dmx_uuid_tree = RB_ROOT;

static struct mapped_device *dmx_tree_find(struct rb_root *root, const char *key,
					   bool by_uuid)
{
	struct rb_node *n = root->rb_node;

	while (n) {
		struct mapped_device *md = by_uuid ?
			rb_entry(n, struct mapped_device, uuid_node) :
			rb_entry(n, struct mapped_device, name_node);
		int c = strcmp(key, by_uuid ? md->uuid : md->name);

		if (!c)
			return md;
		n = c < 0 ? n->rb_left : n->rb_right;
	}
	return NULL;
}

static void dmx_tree_link(struct rb_root *root, struct mapped_device *md,
			  bool by_uuid)
{
	struct rb_node **link = &root->rb_node, *parent = NULL;
	struct rb_node *node = by_uuid ? &md->uuid_node : &md->name_node;
	const char *key = by_uuid ? md->uuid : md->name;

	while (*link) {
		struct mapped_device *other = by_uuid ?
			rb_entry(*link, struct mapped_device, uuid_node) :
			rb_entry(*link, struct mapped_device, name_node);

		parent = *link;
		if (strcmp(key, by_uuid ? other->uuid : other->name) < 0)
			link = &parent->rb_left;
		else
			link = &parent->rb_right;
	}
	rb_link_node(node, parent, link);
	rb_insert_color(node, root);
	if (by_uuid)
		md->in_uuid_tree = true;
}

static struct mapped_device *dmx_find_by_name(const char *name)
{
	return dmx_tree_find(&dmx_name_tree, name, false);
}

static struct mapped_device *dmx_find_by_uuid(const char *uuid)
{
	return dmx_tree_find(&dmx_uuid_tree, uuid, true);
}

static struct mapped_device *dmx_find_by_dev(u64 dev)
{
	struct rb_node *n;

	for (n = rb_first(&dmx_name_tree); n; n = rb_next(n)) {
		struct mapped_device *md = rb_entry(n, struct mapped_device,
						    name_node);

		if (dmx_md_devt(md) == huge_decode_dev(dev))
			return md;
	}
	return NULL;
}

static int dmx_registry_insert(struct mapped_device *md, const char *name,
			       const char *uuid)
{
	int r = -EBUSY;

	down_write(&dmx_registry_lock);
	if (dmx_find_by_name(name) || (*uuid && dmx_find_by_uuid(uuid)))
		goto out;
	strscpy(md->name, name, sizeof(md->name));
	strscpy(md->uuid, uuid, sizeof(md->uuid));
	dmx_tree_link(&dmx_name_tree, md, false);
	if (*uuid)
		dmx_tree_link(&dmx_uuid_tree, md, true);
	dmx_md_get(md);
	r = 0;
out:
	up_write(&dmx_registry_lock);
	return r;
}

/*
 * Unlists md; returns its inactive table for the caller to destroy.  A
 * last event ends any DEV_WAIT on md, whose reference teardown awaits.
 */
static struct dmx_table *dmx_registry_unlink(struct mapped_device *md)
{
	struct dmx_table *inactive = md->inactive;

	dmx_md_event(md);
	rb_erase(&md->name_node, &dmx_name_tree);
	if (md->in_uuid_tree) {
		rb_erase(&md->uuid_node, &dmx_uuid_tree);
		md->in_uuid_tree = false;
	}
	md->inactive = NULL;
	return inactive;
}

/* The device a request names, under the registry lock. */
static struct mapped_device *__dmx_registry_find(struct dm_ioctl *param)
{
	struct mapped_device *md;

	if (*param->uuid) {
		if (*param->name || param->dev)
			return NULL;
		md = dmx_find_by_uuid(param->uuid);
	} else if (*param->name) {
		if (param->dev)
			return NULL;
		md = dmx_find_by_name(param->name);
	} else if (param->dev) {
		md = dmx_find_by_dev(param->dev);
	} else {
		return NULL;
	}
	if (!md)
		return NULL;

	/* Answer with both identities, whichever one was asked. */
	strscpy(param->name, md->name, sizeof(param->name));
	strscpy(param->uuid, md->uuid, sizeof(param->uuid));
	if (md->inactive)
		param->flags |= DM_INACTIVE_PRESENT_FLAG;
	else
		param->flags &= ~DM_INACTIVE_PRESENT_FLAG;
	return md;
}

/* Finds and takes a reference on the device a request names. */
struct mapped_device *dmx_registry_find(struct dm_ioctl *param)
{
	struct mapped_device *md;

	down_read(&dmx_registry_lock);
	md = __dmx_registry_find(param);
	if (md)
		dmx_md_get(md);
	up_read(&dmx_registry_lock);
	return md;
}

struct dmx_table *dmx_registry_take_inactive(struct mapped_device *md)
{
	struct dmx_table *t;

	down_write(&dmx_registry_lock);
	t = md->inactive;
	md->inactive = NULL;
	up_write(&dmx_registry_lock);
	return t;
}

/*
 * Loops through the devices below.  A table may only be staged if its
 * device cannot reach itself through the tables below it, counting the
 * inactive tables too, since a resume makes them live: I/O on such a
 * device would go round for ever.  Staging is the only step that adds
 * such an edge, and it holds the registry lock for writing, so no two
 * loads can close a loop between them.
 *
 * The walk is breadth-first over minors: an entry in seen for each
 * mapped device found, XA_MARK_0 on those still to visit.
 */
struct dmx_walk {
	struct xarray seen;
	dev_t self;
	bool loops;
};

/* Queues the mapped devices t uses.  0 or -ENOMEM. */
static int dmx_walk_table(struct dmx_walk *w, struct dmx_table *t)
{
	struct dmx_dev *dd;
	int r;

	if (!t)
		return 0;
	list_for_each_entry(dd, &t->devices, list) {
		dev_t dev = dd->bdev->bd_dev;

		if (dev == w->self) {
			w->loops = true;
			return 0;
		}
		if (xa_load(&w->seen, MINOR(dev)))
			continue;
		/* Only our own devices can lead back to us. */
		if (MAJOR(dev) != MAJOR(w->self))
			continue;
		r = xa_insert(&w->seen, MINOR(dev), xa_mk_value(1), GFP_KERNEL);
		if (r)
			return r;
		xa_set_mark(&w->seen, MINOR(dev), XA_MARK_0);
	}
	return 0;
}

/* Queues what the device at minor uses, live and staged. */
static int dmx_walk_device(struct dmx_walk *w, unsigned long minor)
{
	struct mapped_device *md;
	struct dmx_table *live;
	int idx, r;

	md = dmx_md_get_by_devt(MKDEV(MAJOR(w->self), minor));
	if (!md)
		return 0;
	live = dmx_md_get_live_table(md, &idx);
	r = dmx_walk_table(w, live);
	dmx_md_put_live_table(md, idx);
	if (!r && !w->loops)
		r = dmx_walk_table(w, md->inactive);
	dmx_md_put(md);
	return r;
}

/* 1 if staging t would close a loop, else 0 or -ENOMEM.  Registry lock. */
static int dmx_table_closes_loop(struct dmx_table *t)
{
	struct dmx_walk w = { .self = dmx_md_devt(t->md) };
	unsigned long minor;
	int r;

	xa_init(&w.seen);
	r = dmx_walk_table(&w, t);
	while (!r && !w.loops) {
		minor = 0;
		if (!xa_find(&w.seen, &minor, ULONG_MAX, XA_MARK_0))
			break;
		xa_clear_mark(&w.seen, minor, XA_MARK_0);
		r = dmx_walk_device(&w, minor);
	}
	xa_destroy(&w.seen);
	return r ? r : w.loops;
}

/*
 * Puts table in md's inactive slot; *replaced is the table it displaced.
 * Fails if md was removed meanwhile, or if the table would make md
 * reach itself.
 */
int dmx_registry_stage_inactive(struct mapped_device *md,
				struct dmx_table *table,
				struct dmx_table **replaced)
{
	int r;

	down_write(&dmx_registry_lock);
	if (test_bit(DMX_MD_DELETING, &md->flags)) {
		r = -ENXIO;
		goto out;
	}
	r = dmx_table_closes_loop(table);
	if (r > 0) {
		pr_err(DMX_MSG_PREFIX ": %s: table refused: the device would map onto itself through the devices below it\n",
		       md->disk->disk_name);
		r = -EINVAL;
	}
	if (r)
		goto out;
	*replaced = md->inactive;
	md->inactive = table;
out:
	up_write(&dmx_registry_lock);
	return r;
}

int dmx_registry_copy_name_uuid(struct mapped_device *md, char *name,
				char *uuid)
{
	int r = 0;

	down_read(&dmx_registry_lock);
	if (test_bit(DMX_MD_DELETING, &md->flags)) {
		r = -ENXIO;
	} else {
		if (name)
			strscpy(name, md->name, DM_NAME_LEN);
		if (uuid)
			strscpy(uuid, md->uuid, DM_UUID_LEN);
	}
	up_read(&dmx_registry_lock);
	return r;
}

/*
 * The active table, or the inactive one when asked.  Either way the
 * caller ends with dmx_md_put_live_table(): the inactive table is kept
 * alive by the SRCU section too, since whoever replaces it waits for
 * readers before destroying it.
 */
static struct dmx_table *dmx_registry_inactive(struct mapped_device *md)
{
	struct dmx_table *t;

	down_read(&dmx_registry_lock);
	t = md->inactive;
	up_read(&dmx_registry_lock);
	return t;
}

struct dmx_table *dmx_md_get_table(struct mapped_device *md, bool inactive,
				   int *srcu_idx)
{
	struct dmx_table *t = dmx_md_get_live_table(md, srcu_idx);

	return inactive ? dmx_registry_inactive(md) : t;
}

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
		t = dmx_registry_inactive(md);
		if (t) {
			if (!(t->mode & DMX_MODE_WRITE))
				param->flags |= DM_READONLY_FLAG;
			param->target_count = t->num_targets;
		}
	}
	dmx_md_put_live_table(md, idx);
}

static bool dmx_name_ok(const char *name)
{
	if (strchr(name, '/')) {
		DMX_IOCTL_ERR("invalid device name %s: '/' not allowed", name);
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
	r = dmx_registry_insert(md, param->name, param->uuid);
	if (r) {
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

/* Unlists and destroys md; the caller has locked it for deletion. */
static void dmx_remove_locked(struct mapped_device *md)
{
	struct dmx_table *inactive = dmx_registry_unlink(md);

	up_write(&dmx_registry_lock);
	dmx_md_drop_table(md, inactive);
	dmx_md_destroy(md);
}

int dmx_ioctl_dev_remove(struct file *filp, struct dm_ioctl *param, size_t size)
{
	bool deferred = param->flags & DM_DEFERRED_REMOVE;
	struct mapped_device *md;
	int r;

	down_write(&dmx_registry_lock);
	md = __dmx_registry_find(param);
	if (!md) {
		up_write(&dmx_registry_lock);
		return -ENXIO;
	}
	r = dmx_md_lock_for_deletion(md, deferred, false);
	if (r) {
		/* An open device marked for deferred removal is a success. */
		if (r == -EBUSY && deferred)
			r = 0;
		else
			DMX_IOCTL_ERR("cannot remove open device %s", md->name);
		up_write(&dmx_registry_lock);
		return r;
	}

	/* The uevent must name the disk, so send it before teardown. */
	param->flags &= ~DM_DEFERRED_REMOVE;
	if (!dmx_md_uevent(md, KOBJ_REMOVE, param->event_nr, false))
		param->flags |= DM_UEVENT_GENERATED_FLAG;
	dmx_remove_locked(md);
	return 0;
}

/*
 * Removes every unopened device, repeating while that makes progress:
 * removing one device may close another that it was stacked on.
 */
static void dmx_remove_all(bool mark_deferred, bool only_deferred)
{
	struct mapped_device *md;
	struct rb_node *n;
	int skipped;

again:
	skipped = 0;
	down_write(&dmx_registry_lock);
	for (n = rb_first(&dmx_name_tree); n; n = rb_next(n)) {
		md = rb_entry(n, struct mapped_device, name_node);
		if (dmx_md_lock_for_deletion(md, mark_deferred, only_deferred)) {
			skipped++;
			continue;
		}
		dmx_remove_locked(md);
		goto again;
	}
	up_write(&dmx_registry_lock);

	if (skipped && !only_deferred)
		pr_warn(DMX_MSG_PREFIX ": remove_all left %d open device(s)\n",
			skipped);
}

void dmx_registry_remove_deferred(void)
{
	dmx_remove_all(false, true);
}

int dmx_ioctl_remove_all(struct file *filp, struct dm_ioctl *param, size_t size)
{
	dmx_remove_all(param->flags & DM_DEFERRED_REMOVE, false);
	param->data_size = 0;
	return 0;
}

static bool dmx_list_match(struct mapped_device *md, const char *name_prefix,
			   const char *uuid_prefix)
{
	return !strncmp(md->name, name_prefix, strlen(name_prefix)) &&
	       !strncmp(md->uuid, uuid_prefix, strlen(uuid_prefix));
}

/* Bytes one device takes in a LIST_DEVICES answer. */
static size_t dmx_list_record_size(struct mapped_device *md, bool with_uuid)
{
	size_t n = ALIGN(offsetof(struct dm_name_list, name) +
			 strlen(md->name) + 1, 8);

	n += ALIGN(2 * sizeof(u32), 8);
	if (with_uuid && *md->uuid)
		n += ALIGN(strlen(md->uuid) + 1, 8);
	return n;
}

static void *dmx_list_fill_record(struct dm_name_list *nl,
				  struct mapped_device *md, bool with_uuid)
{
	u32 *tail;
	char *uuid;

	nl->dev = huge_encode_dev(dmx_md_devt(md));
	nl->next = 0;
	strcpy(nl->name, md->name);
	tail = PTR_ALIGN((void *)(nl->name + strlen(md->name) + 1), 8);
	tail[0] = dmx_md_event_nr(md);
	tail[1] = 0;
	uuid = PTR_ALIGN((void *)(tail + 2), 8);
	if (!with_uuid)
		return uuid;
	if (!*md->uuid) {
		tail[1] = DM_NAME_LIST_FLAG_DOESNT_HAVE_UUID;
		return uuid;
	}
	tail[1] = DM_NAME_LIST_FLAG_HAS_UUID;
	strcpy(uuid, md->uuid);
	return PTR_ALIGN(uuid + strlen(md->uuid) + 1, 8);
}

int dmx_ioctl_list_devices(struct file *filp, struct dm_ioctl *param,
			   size_t size)
{
	bool with_uuid = param->flags & DM_UUID_FLAG;
	struct dm_name_list *nl, *prev = NULL;
	struct mapped_device *md;
	size_t len, needed = 0;
	struct rb_node *n;
	void *buf;

	/* Filters are prefixes; make sure they end inside their fields. */
	param->name[DM_NAME_LEN - 1] = '\0';
	param->uuid[DM_UUID_LEN - 1] = '\0';

	down_read(&dmx_registry_lock);
	for (n = rb_first(&dmx_name_tree); n; n = rb_next(n)) {
		md = rb_entry(n, struct mapped_device, name_node);
		if (dmx_list_match(md, param->name, param->uuid))
			needed += dmx_list_record_size(md, with_uuid);
	}

	buf = dmx_ioctl_result_buffer(param, size, &len);
	if (len < needed || len < sizeof(nl->dev)) {
		param->flags |= DM_BUFFER_FULL_FLAG;
		goto out;
	}
	param->data_size = param->data_start + needed;
	nl = buf;
	nl->dev = 0;	/* an empty list */
	for (n = rb_first(&dmx_name_tree); n; n = rb_next(n)) {
		md = rb_entry(n, struct mapped_device, name_node);
		if (!dmx_list_match(md, param->name, param->uuid))
			continue;
		if (prev)
			prev->next = (char *)nl - (char *)prev;
		prev = nl;
		nl = dmx_list_fill_record(nl, md, with_uuid);
	}
out:
	up_read(&dmx_registry_lock);
	return 0;
}

static struct mapped_device *dmx_rename(struct dm_ioctl *param, const char *new)
{
	bool set_uuid = param->flags & DM_UUID_FLAG;
	struct mapped_device *md;
	int r;

	down_write(&dmx_registry_lock);
	if (set_uuid ? dmx_find_by_uuid(new) : dmx_find_by_name(new)) {
		DMX_IOCTL_ERR("cannot change %s of %s to %s: already in use",
			      set_uuid ? "uuid" : "name", param->name, new);
		r = -EBUSY;
		goto out;
	}
	md = dmx_find_by_name(param->name);
	if (!md) {
		DMX_IOCTL_ERR("cannot rename missing device %s", param->name);
		r = -ENXIO;
		goto out;
	}
	if (set_uuid && *md->uuid) {
		DMX_IOCTL_ERR("uuid of %s is already set to %s", md->name,
			      md->uuid);
		r = -EINVAL;
		goto out;
	}

	if (set_uuid) {
		strscpy(md->uuid, new, sizeof(md->uuid));
		dmx_tree_link(&dmx_uuid_tree, md, true);
	} else {
		rb_erase(&md->name_node, &dmx_name_tree);
		strscpy(md->name, new, sizeof(md->name));
		dmx_tree_link(&dmx_name_tree, md, false);
	}
	dmx_md_event(md);
	if (!dmx_md_uevent(md, KOBJ_CHANGE, param->event_nr, false))
		param->flags |= DM_UEVENT_GENERATED_FLAG;
	strscpy(param->name, md->name, sizeof(param->name));
	strscpy(param->uuid, md->uuid, sizeof(param->uuid));
	dmx_md_get(md);
	up_write(&dmx_registry_lock);
	return md;
out:
	up_write(&dmx_registry_lock);
	return ERR_PTR(r);
}

int dmx_ioctl_dev_rename(struct file *filp, struct dm_ioctl *param, size_t size)
{
	bool set_uuid = param->flags & DM_UUID_FLAG;
	char *new = (char *)param + param->data_start;
	size_t max = set_uuid ? DM_UUID_LEN - 1 : DM_NAME_LEN - 1;
	struct mapped_device *md;

	if (!dmx_ioctl_str_ok(new, (char *)param + size) || !*new ||
	    strlen(new) > max) {
		DMX_IOCTL_ERR("invalid new device %s", set_uuid ? "uuid" : "name");
		return -EINVAL;
	}
	if (!set_uuid && !dmx_name_ok(new))
		return -EINVAL;

	md = dmx_rename(param, new);
	if (IS_ERR(md))
		return PTR_ERR(md);
	dmx_ioctl_fill_status(md, param);
	dmx_md_put(md);
	return 0;
}

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

/* Puts a table that could not be swapped in back in the inactive slot. */
static void dmx_restage_inactive(struct mapped_device *md, struct dmx_table *t)
{
	down_write(&dmx_registry_lock);
	if (!md->inactive && !test_bit(DMX_MD_DELETING, &md->flags)) {
		md->inactive = t;
		t = NULL;
	}
	up_write(&dmx_registry_lock);
	dmx_md_drop_table(md, t);
}

/*
 * Resume swaps in the inactive table, if there is one, suspending first
 * if needed; the device is suspended only around the swap itself.
 */
static int dmx_do_resume(struct dm_ioctl *param)
{
	struct dmx_table *new_map = NULL, *old_map = NULL;
	bool resized = false, was_suspended;
	struct mapped_device *md;
	int r;

	down_write(&dmx_registry_lock);
	md = __dmx_registry_find(param);
	if (md) {
		dmx_md_get(md);
		new_map = md->inactive;
		md->inactive = NULL;
	}
	up_write(&dmx_registry_lock);
	if (!md)
		return -ENXIO;
	param->flags &= ~DM_INACTIVE_PRESENT_FLAG;

	if (new_map) {
		sector_t old_size = get_capacity(md->disk);

		r = dmx_md_suspend(md, dmx_suspend_flags(param));
		if (!r) {
			old_map = dmx_md_swap_table(md, new_map);
			r = PTR_ERR_OR_ZERO(old_map);
		}
		if (r) {
			dmx_restage_inactive(md, new_map);
			goto out;
		}
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

int dmx_ioctl_dev_status(struct file *filp, struct dm_ioctl *param, size_t size)
{
	struct mapped_device *md = dmx_registry_find(param);

	if (!md)
		return -ENXIO;
	dmx_ioctl_fill_status(md, param);
	dmx_md_put(md);
	return 0;
}

int dmx_ioctl_dev_wait(struct file *filp, struct dm_ioctl *param, size_t size)
{
	struct mapped_device *md = dmx_registry_find(param);
	struct dmx_table *t;
	int idx, r = 0;

	if (!md)
		return -ENXIO;
	if (dmx_md_wait_event(md, param->event_nr)) {
		r = -ERESTARTSYS;
		goto out;
	}
	dmx_ioctl_fill_status(md, param);
	t = dmx_md_get_table(md, param->flags & DM_QUERY_INACTIVE_TABLE_FLAG, &idx);
	if (t)
		dmx_ioctl_retrieve_status(t, param, size);
	dmx_md_put_live_table(md, idx);
out:
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
