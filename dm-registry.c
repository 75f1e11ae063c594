// SPDX-License-Identifier: GPL-2.0
/*
 * The registry of mapped devices: the names and uuids userland knows
 * them by, and each device's inactive table, the one TABLE_LOAD stages
 * and resume takes.  Lookups follow the v4 rules: a uuid, if given, is
 * the key; else the name; else the device number.
 *
 * A cell per listed device holds all of this; no other file looks
 * inside one.  The registry holds one reference on each listed device,
 * which goes to whoever takes the device out.
 */
#include <linux/async.h>
#include <linux/rbtree.h>
#include <linux/rwsem.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "dmx-registry.h"

struct dmx_cell {
	struct rb_node name_node;	/* in dmx_name_tree */
	struct rb_node uuid_node;	/* in dmx_uuid_tree, if uuid is set */
	bool in_uuid_tree;
	char name[DM_NAME_LEN];
	char uuid[DM_UUID_LEN];
	struct mapped_device *md;
	struct dmx_table *inactive;
	struct dmx_cell *doomed_next;	/* a sweep's list, once detached */
};

/* Protects both trees and every cell; md->cell is set and cleared under it. */
static DECLARE_RWSEM(dmx_registry_lock);
static struct rb_root dmx_name_tree = RB_ROOT;
static struct rb_root dmx_uuid_tree = RB_ROOT;

/* Trees. */

static struct dmx_cell *dmx_tree_find(struct rb_root *root, const char *key,
				      bool by_uuid)
{
	struct rb_node *n = root->rb_node;

	while (n) {
		struct dmx_cell *c = by_uuid ?
			rb_entry(n, struct dmx_cell, uuid_node) :
			rb_entry(n, struct dmx_cell, name_node);
		int cmp = strcmp(key, by_uuid ? c->uuid : c->name);

		if (!cmp)
			return c;
		n = cmp < 0 ? n->rb_left : n->rb_right;
	}
	return NULL;
}

static void dmx_tree_link(struct rb_root *root, struct dmx_cell *c,
			  bool by_uuid)
{
	struct rb_node **link = &root->rb_node, *parent = NULL;
	struct rb_node *node = by_uuid ? &c->uuid_node : &c->name_node;
	const char *key = by_uuid ? c->uuid : c->name;

	while (*link) {
		struct dmx_cell *other = by_uuid ?
			rb_entry(*link, struct dmx_cell, uuid_node) :
			rb_entry(*link, struct dmx_cell, name_node);

		parent = *link;
		if (strcmp(key, by_uuid ? other->uuid : other->name) < 0)
			link = &parent->rb_left;
		else
			link = &parent->rb_right;
	}
	rb_link_node(node, parent, link);
	rb_insert_color(node, root);
	if (by_uuid)
		c->in_uuid_tree = true;
}

static struct dmx_cell *dmx_find_by_name(const char *name)
{
	return dmx_tree_find(&dmx_name_tree, name, false);
}

static struct dmx_cell *dmx_find_by_uuid(const char *uuid)
{
	return dmx_tree_find(&dmx_uuid_tree, uuid, true);
}

/* Through the minor idr: no walk of the names. */
static struct dmx_cell *dmx_find_by_dev(u64 dev)
{
	struct mapped_device *md = dmx_md_get_by_devt(huge_decode_dev(dev));
	struct dmx_cell *c;

	if (!md)
		return NULL;
	c = md->cell;
	dmx_md_put(md);
	return c;
}

/* The cell a request names; registry lock held. */
static struct dmx_cell *dmx_cell_of(struct dm_ioctl *param)
{
	struct dmx_cell *c;

	if (*param->uuid) {
		if (*param->name || param->dev)
			return NULL;
		c = dmx_find_by_uuid(param->uuid);
	} else if (*param->name) {
		if (param->dev)
			return NULL;
		c = dmx_find_by_name(param->name);
	} else if (param->dev) {
		c = dmx_find_by_dev(param->dev);
	} else {
		return NULL;
	}
	if (!c)
		return NULL;

	/* Answer with both identities, whichever one was asked. */
	strscpy(param->name, c->name, sizeof(param->name));
	strscpy(param->uuid, c->uuid, sizeof(param->uuid));
	if (c->inactive)
		param->flags |= DM_INACTIVE_PRESENT_FLAG;
	else
		param->flags &= ~DM_INACTIVE_PRESENT_FLAG;
	return c;
}

/* Lookups. */

/* Lists md under name and uuid; the registry takes a reference. */
int dmx_registry_add(struct mapped_device *md, const char *name,
		     const char *uuid)
{
	struct dmx_cell *c;
	int r = -EBUSY;

	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	strscpy(c->name, name, sizeof(c->name));
	strscpy(c->uuid, uuid, sizeof(c->uuid));
	c->md = md;

	down_write(&dmx_registry_lock);
	if (dmx_find_by_name(name) || (*uuid && dmx_find_by_uuid(uuid)))
		goto out;
	dmx_tree_link(&dmx_name_tree, c, false);
	if (*uuid)
		dmx_tree_link(&dmx_uuid_tree, c, true);
	dmx_md_get(md);
	md->cell = c;
	c = NULL;
	r = 0;
out:
	up_write(&dmx_registry_lock);
	kfree(c);
	return r;
}

/* Finds and takes a reference on the device a request names. */
struct mapped_device *dmx_registry_find(struct dm_ioctl *param)
{
	struct mapped_device *md = NULL;
	struct dmx_cell *c;

	down_read(&dmx_registry_lock);
	c = dmx_cell_of(param);
	if (c) {
		md = c->md;
		dmx_md_get(md);
	}
	up_read(&dmx_registry_lock);
	return md;
}

int dmx_registry_copy_name_uuid(struct mapped_device *md, char *name,
				char *uuid)
{
	struct dmx_cell *c;
	int r = 0;

	down_read(&dmx_registry_lock);
	c = md->cell;
	if (!c) {
		r = -ENXIO;
	} else {
		if (name)
			strscpy(name, c->name, DM_NAME_LEN);
		if (uuid)
			strscpy(uuid, c->uuid, DM_UUID_LEN);
	}
	up_read(&dmx_registry_lock);
	return r;
}

void dmx_registry_for_each(dmx_registry_visit_fn fn, void *data)
{
	struct rb_node *n;

	down_read(&dmx_registry_lock);
	for (n = rb_first(&dmx_name_tree); n; n = rb_next(n)) {
		struct dmx_cell *c = rb_entry(n, struct dmx_cell, name_node);

		if (!fn(c->md, c->name, c->uuid, data))
			break;
	}
	up_read(&dmx_registry_lock);
}

/* Removal. */

/*
 * Takes c out of the trees; c keeps the device and its inactive table
 * for whoever tears it down.  A last event ends any DEV_WAIT on the
 * device, whose reference teardown waits for.  Registry lock held for
 * writing.
 */
static void dmx_cell_detach(struct dmx_cell *c)
{
	dmx_md_event(c->md);
	rb_erase(&c->name_node, &dmx_name_tree);
	if (c->in_uuid_tree)
		rb_erase(&c->uuid_node, &dmx_uuid_tree);
	c->md->cell = NULL;
}

/* Takes c out of the trees, frees it and returns its inactive table. */
static struct dmx_table *dmx_cell_unlink(struct dmx_cell *c)
{
	struct dmx_table *inactive = c->inactive;

	dmx_cell_detach(c);
	kfree(c);
	return inactive;
}

/*
 * Takes the device a request names out of the registry, unless it is
 * open: then -EBUSY, or with deferred, DMX_UNLIST_DEFERRED and it goes
 * on its last close.  On DMX_UNLISTED the caller owns *md (destroy it
 * with dmx_md_destroy()) and *inactive (dmx_md_drop_table()).
 */
int dmx_registry_unlist(struct dm_ioctl *param, bool deferred,
			struct mapped_device **md, struct dmx_table **inactive)
{
	struct dmx_cell *c;
	int r;

	down_write(&dmx_registry_lock);
	c = dmx_cell_of(param);
	if (!c) {
		r = -ENXIO;
		goto out;
	}
	r = dmx_md_lock_for_deletion(c->md, deferred, false);
	if (r == -EBUSY && deferred) {
		r = DMX_UNLIST_DEFERRED;
		goto out;
	}
	if (r)
		goto out;
	*md = c->md;
	*inactive = dmx_cell_unlink(c);
	r = DMX_UNLISTED;
out:
	up_write(&dmx_registry_lock);
	return r;
}

/*
 * A sweep tears its devices down side by side: most of a removal is
 * waiting (for grace periods, inside del_gendisk() and ours), and
 * waits that overlap cost one.  Each detached cell goes to an async
 * worker of its own, which runs it at once itself if it has no memory
 * for one; the sweep waits for all of them.
 */
static ASYNC_DOMAIN_EXCLUSIVE(dmx_sweep_domain);

static void dmx_cell_teardown(void *data, async_cookie_t cookie)
{
	struct dmx_cell *c = data;

	dmx_md_drop_table(c->md, c->inactive);
	dmx_md_destroy(c->md);
	kfree(c);
}

/*
 * Removes every device that is not open (with only_deferred, those
 * flagged for removal on last close), pass after pass while a pass
 * removes some and skips some: removing one device may close another
 * it was stacked on.  A pass takes no device below another it takes,
 * since that one is open.
 */
static void dmx_registry_sweep(bool mark_deferred, bool only_deferred)
{
	struct dmx_cell *doomed, *c;
	struct rb_node *n, *next;
	int skipped, taken;

	do {
		doomed = NULL;
		skipped = 0;
		taken = 0;
		down_write(&dmx_registry_lock);
		for (n = rb_first(&dmx_name_tree); n; n = next) {
			c = rb_entry(n, struct dmx_cell, name_node);
			next = rb_next(n);
			if (dmx_md_lock_for_deletion(c->md, mark_deferred,
						     only_deferred)) {
				skipped++;
				continue;
			}
			dmx_cell_detach(c);
			c->doomed_next = doomed;
			doomed = c;
			taken++;
		}
		up_write(&dmx_registry_lock);

		while ((c = doomed)) {
			doomed = c->doomed_next;
			async_schedule_domain(dmx_cell_teardown, c,
					      &dmx_sweep_domain);
		}
		async_synchronize_full_domain(&dmx_sweep_domain);
	} while (taken && skipped);

	if (skipped && !only_deferred)
		pr_warn(DMX_MSG_PREFIX ": remove_all left %d open device(s)\n",
			skipped);
}

void dmx_registry_remove_all(bool mark_deferred)
{
	dmx_registry_sweep(mark_deferred, false);
}

/* From the core, after the last close of a device flagged for it. */
void dmx_registry_remove_deferred(void)
{
	dmx_registry_sweep(false, true);
}

/* Renaming. */

/*
 * Gives the device named by param a new name, or its uuid if it has
 * none yet (set_uuid); raises an event and a change uevent.  On
 * success *md holds a reference.
 */
int dmx_registry_rename(struct dm_ioctl *param, const char *new,
			bool set_uuid, struct mapped_device **md)
{
	struct dmx_cell *c;
	int r = -EBUSY;

	down_write(&dmx_registry_lock);
	if (set_uuid ? dmx_find_by_uuid(new) : dmx_find_by_name(new)) {
		pr_err(DMX_MSG_PREFIX ": cannot change %s of %s to %s: already in use\n",
		       set_uuid ? "uuid" : "name", param->name, new);
		goto out;
	}
	r = -ENXIO;
	c = dmx_find_by_name(param->name);
	if (!c) {
		pr_err(DMX_MSG_PREFIX ": cannot rename missing device %s\n",
		       param->name);
		goto out;
	}
	r = -EINVAL;
	if (set_uuid && *c->uuid) {
		pr_err(DMX_MSG_PREFIX ": uuid of %s is already set to %s\n",
		       c->name, c->uuid);
		goto out;
	}

	if (set_uuid) {
		strscpy(c->uuid, new, sizeof(c->uuid));
		dmx_tree_link(&dmx_uuid_tree, c, true);
	} else {
		rb_erase(&c->name_node, &dmx_name_tree);
		strscpy(c->name, new, sizeof(c->name));
		dmx_tree_link(&dmx_name_tree, c, false);
	}
	dmx_md_event(c->md);
	/* udev reads the new name from sysfs when the uevent arrives. */
	if (!dmx_md_uevent(c->md, KOBJ_CHANGE, param->event_nr, false))
		param->flags |= DM_UEVENT_GENERATED_FLAG;
	strscpy(param->name, c->name, sizeof(param->name));
	strscpy(param->uuid, c->uuid, sizeof(param->uuid));
	*md = c->md;
	dmx_md_get(*md);
	r = 0;
out:
	up_write(&dmx_registry_lock);
	return r;
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
		/* Only our own devices can lead back to us. */
		if (MAJOR(dev) != MAJOR(w->self) || xa_load(&w->seen, MINOR(dev)))
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
	if (!r && !w->loops && md->cell)
		r = dmx_walk_table(w, md->cell->inactive);
	dmx_md_put(md);
	return r;
}

/* 1 if staging t would close a loop, else 0 or -ENOMEM. */
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

/* The inactive slot. */

/*
 * Puts table in md's inactive slot; *replaced is the table it displaced
 * (drop it with dmx_md_drop_table()).  Fails if md was removed
 * meanwhile, or if the table would make md reach itself.
 */
int dmx_registry_stage_inactive(struct mapped_device *md,
				struct dmx_table *table,
				struct dmx_table **replaced)
{
	int r = -ENXIO;

	down_write(&dmx_registry_lock);
	if (!md->cell || test_bit(DMX_MD_DELETING, &md->flags))
		goto out;
	r = dmx_table_closes_loop(table);
	if (r > 0) {
		pr_err(DMX_MSG_PREFIX ": %s: table refused: the device would map onto itself through the devices below it\n",
		       dmx_md_name(md));
		r = -EINVAL;
	}
	if (r)
		goto out;
	*replaced = md->cell->inactive;
	md->cell->inactive = table;
out:
	up_write(&dmx_registry_lock);
	return r;
}

struct dmx_table *dmx_registry_take_inactive(struct mapped_device *md)
{
	struct dmx_table *t = NULL;

	down_write(&dmx_registry_lock);
	if (md->cell) {
		t = md->cell->inactive;
		md->cell->inactive = NULL;
	}
	up_write(&dmx_registry_lock);
	return t;
}

/*
 * Puts back a table taken for a resume that failed, unless the slot
 * was filled or the device removed meanwhile; then it is returned for
 * the caller to drop.
 */
struct dmx_table *dmx_registry_restage_inactive(struct mapped_device *md,
						struct dmx_table *table)
{
	down_write(&dmx_registry_lock);
	if (md->cell && !md->cell->inactive &&
	    !test_bit(DMX_MD_DELETING, &md->flags)) {
		md->cell->inactive = table;
		table = NULL;
	}
	up_write(&dmx_registry_lock);
	return table;
}

/*
 * The inactive table, for a reader inside dmx_md_get_live_table():
 * whoever replaces it waits for such readers before destroying it.
 */
struct dmx_table *dmx_registry_peek_inactive(struct mapped_device *md)
{
	struct dmx_table *t = NULL;

	down_read(&dmx_registry_lock);
	if (md->cell)
		t = md->cell->inactive;
	up_read(&dmx_registry_lock);
	return t;
}
