// SPDX-License-Identifier: GPL-2.0
/*
 * Mapped devices: creation and teardown, the block device they expose,
 * who holds them, and their events.
 *
 * Each mapped device is one bio-based gendisk dm-<minor> under the
 * "device-mapper" block major, created empty (capacity 0, I/O fails)
 * and given a size by its first table swap.
 */
#include <linux/blkdev.h>
#include <linux/hdreg.h>
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/wait_bit.h>

#include "dmx-registry.h"

#define DMX_COOKIE_ENV	"DM_COOKIE"

static int dmx_major;

/* Protects dmx_minor_idr, which maps each minor to its device. */
static DEFINE_SPINLOCK(dmx_minor_lock);
static DEFINE_IDR(dmx_minor_idr);

/* Events on any device, for poll() on the control device. */
static atomic_t dmx_global_event_count = ATOMIC_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(dmx_global_eventq);

static struct workqueue_struct *dmx_deferred_remove_wq;
static void dmx_deferred_remove_fn(struct work_struct *work)
{
	dmx_registry_remove_deferred();
}
static DECLARE_WORK(dmx_deferred_remove_work, dmx_deferred_remove_fn);

/* Holders. */

void dmx_md_get(struct mapped_device *md)
{
	atomic_inc(&md->holders);
}

void dmx_md_put(struct mapped_device *md)
{
	/* wake_up_var() only hashes the address: safe after the last put. */
	atomic_dec(&md->holders);
	wake_up_var(&md->holders);
}

/* Block device operations. */

int dmx_blk_open(struct gendisk *disk)
{
	struct mapped_device *md = disk->private_data;
	int r = 0;

	spin_lock(&md->open_lock);
	if (test_bit(DMX_MD_DELETING, &md->flags)) {
		r = -ENXIO;
	} else {
		dmx_md_get(md);
		md->open_count++;
	}
	spin_unlock(&md->open_lock);
	return r;
}

void dmx_blk_release(struct gendisk *disk)
{
	struct mapped_device *md = disk->private_data;

	spin_lock(&md->open_lock);
	if (!--md->open_count && test_bit(DMX_MD_DEFERRED_REMOVE, &md->flags))
		queue_work(dmx_deferred_remove_wq, &dmx_deferred_remove_work);
	spin_unlock(&md->open_lock);
	/* Last: once the holders drop, teardown may free md. */
	dmx_md_put(md);
}

static int dmx_blk_getgeo(struct block_device *bdev, struct hd_geometry *geo)
{
	struct mapped_device *md = bdev->bd_disk->private_data;

	spin_lock(&md->geometry_lock);
	*geo = md->geometry;
	spin_unlock(&md->geometry_lock);
	return 0;
}

static const struct block_device_operations dmx_blk_ops = {
	.owner		= THIS_MODULE,
	.submit_bio	= dmx_submit_bio,
	.open		= dmx_compat_blk_open,
	.release	= dmx_compat_blk_release,
	.getgeo		= dmx_blk_getgeo,
};

int dmx_md_open_count(struct mapped_device *md)
{
	int n;

	spin_lock(&md->open_lock);
	n = md->open_count;
	spin_unlock(&md->open_lock);
	return n;
}

bool dmx_md_deferred_remove(struct mapped_device *md)
{
	return test_bit(DMX_MD_DEFERRED_REMOVE, &md->flags);
}

/*
 * Marks md for deletion unless it is open.  An open device with
 * mark_deferred is flagged for removal on last close instead; with
 * only_deferred, only devices so flagged are taken.
 */
int dmx_md_lock_for_deletion(struct mapped_device *md, bool mark_deferred,
			     bool only_deferred)
{
	int r = 0;

	spin_lock(&md->open_lock);
	if (md->open_count) {
		r = -EBUSY;
		if (mark_deferred)
			set_bit(DMX_MD_DEFERRED_REMOVE, &md->flags);
	} else if (only_deferred &&
		   !test_bit(DMX_MD_DEFERRED_REMOVE, &md->flags)) {
		r = -EEXIST;
	} else {
		set_bit(DMX_MD_DELETING, &md->flags);
	}
	spin_unlock(&md->open_lock);
	return r;
}

int dmx_md_cancel_deferred_remove(struct mapped_device *md)
{
	int r = 0;

	spin_lock(&md->open_lock);
	if (test_bit(DMX_MD_DELETING, &md->flags))
		r = -EBUSY;
	else
		clear_bit(DMX_MD_DEFERRED_REMOVE, &md->flags);
	spin_unlock(&md->open_lock);
	return r;
}

/* Creation and teardown. */

static int dmx_minor_alloc(struct mapped_device *md, int minor)
{
	int r;

	if (minor >= 0 && minor >= (1 << MINORBITS))
		return -EINVAL;

	idr_preload(GFP_KERNEL);
	spin_lock(&dmx_minor_lock);
	if (minor >= 0)
		r = idr_alloc(&dmx_minor_idr, md, minor, minor + 1, GFP_NOWAIT);
	else
		r = idr_alloc(&dmx_minor_idr, md, 0, 1 << MINORBITS, GFP_NOWAIT);
	spin_unlock(&dmx_minor_lock);
	idr_preload_end();

	/* v4 reports a requested minor that is taken as ENXIO. */
	if (r == -ENOSPC)
		return minor >= 0 ? -ENXIO : -ENOSPC;
	return r;
}

static void dmx_minor_free(int minor)
{
	spin_lock(&dmx_minor_lock);
	idr_remove(&dmx_minor_idr, minor);
	spin_unlock(&dmx_minor_lock);
}

static int dmx_md_alloc_io(struct mapped_device *md)
{
	int r;

	r = init_srcu_struct(&md->map_srcu);
	if (r)
		return r;
	r = -ENOMEM;
	md->inflight = alloc_percpu(struct dmx_inflight);
	if (!md->inflight)
		goto bad_srcu;
	r = bioset_init(&md->flush_set, BIO_POOL_SIZE, 0, 0);
	if (r)
		goto bad_inflight;
	r = -ENOMEM;
	md->wq = alloc_workqueue("kdmxd/%d", WQ_MEM_RECLAIM, 0, md->minor);
	if (!md->wq)
		goto bad_flush;
	return 0;

bad_flush:
	bioset_exit(&md->flush_set);
bad_inflight:
	free_percpu(md->inflight);
bad_srcu:
	cleanup_srcu_struct(&md->map_srcu);
	return r;
}

static void dmx_md_free_io(struct mapped_device *md)
{
	destroy_workqueue(md->wq);
	bioset_exit(&md->flush_set);
	free_percpu(md->inflight);
	cleanup_srcu_struct(&md->map_srcu);
}

static int dmx_md_alloc_disk(struct mapped_device *md)
{
	struct gendisk *disk;

	disk = dmx_compat_alloc_disk();
	if (IS_ERR(disk))
		return PTR_ERR(disk);
	disk->major = dmx_major;
	disk->first_minor = md->minor;
	disk->minors = 1;
	disk->flags |= GENHD_FL_NO_PART;
	disk->fops = &dmx_blk_ops;
	disk->private_data = md;
	snprintf(disk->disk_name, sizeof(disk->disk_name), "dm-%d", md->minor);
	set_capacity(disk, 0);
	md->disk = disk;
	return 0;
}

/*
 * Makes dm-N visible, as v4 does, once its first table has loaded: until
 * then opening the node fails with ENXIO.  Every load comes here, so a
 * table whose devices were opened before the disk existed gets their
 * holder links now; on failure the caller destroys the table, which
 * drops whatever links it got.
 */
int dmx_md_add_disk(struct mapped_device *md, struct dmx_table *t)
{
	int r = 0;

	mutex_lock(&md->disk_lock);
	if (!test_bit(DMX_MD_DISK_ADDED, &md->flags)) {
		r = dmx_compat_apply_limits(md->disk, &t->limits, &t->features);
		if (r)
			goto out;
		r = add_disk(md->disk);
		if (r)
			goto out;
		/* A gendisk cannot be added twice: from here on it stays. */
		set_bit(DMX_MD_DISK_ADDED, &md->flags);
		md->sysfs_ready = !dmx_sysfs_init(md);
		if (!md->sysfs_ready)
			pr_warn(DMX_MSG_PREFIX ": %s: no dm/ directory in sysfs\n",
				dmx_md_name(md));
	}
	r = dmx_table_link_holders(t);
out:
	mutex_unlock(&md->disk_lock);
	return r;
}

/* The kernel's name for md, dm-<minor>: unlike its dm name, it never changes. */
const char *dmx_md_name(struct mapped_device *md)
{
	return md->disk->disk_name;
}

int dmx_md_create(int minor, struct mapped_device **result)
{
	struct mapped_device *md;
	int r;

	/* Each device pins the module: rmmod is refused while one exists. */
	if (!try_module_get(THIS_MODULE))
		return -ENODEV;
	r = -ENOMEM;
	md = kzalloc(sizeof(*md), GFP_KERNEL);
	if (!md)
		goto bad_module;

	r = dmx_minor_alloc(md, minor);
	if (r < 0)
		goto bad_free;
	md->minor = r;

	atomic_set(&md->holders, 1);
	mutex_init(&md->suspend_lock);
	mutex_init(&md->disk_lock);
	spin_lock_init(&md->geometry_lock);
	spin_lock_init(&md->open_lock);
	init_waitqueue_head(&md->wait);
	spin_lock_init(&md->deferred_lock);
	bio_list_init(&md->deferred);
	INIT_WORK(&md->requeue_work, dmx_requeue_work);
	spin_lock_init(&md->flush_lock);
	bio_list_init(&md->flush_list);
	INIT_WORK(&md->flush_work, dmx_flush_work);
	atomic_set(&md->event_nr, 0);
	init_waitqueue_head(&md->eventq);
	atomic_set(&md->uevent_seq, 0);

	r = dmx_md_alloc_io(md);
	if (r)
		goto bad_minor;
	r = dmx_md_alloc_disk(md);
	if (r)
		goto bad_io;

	*result = md;
	return 0;

bad_io:
	dmx_md_free_io(md);
bad_minor:
	dmx_minor_free(md->minor);
bad_free:
	kfree(md);
bad_module:
	module_put(THIS_MODULE);
	return r;
}

/*
 * Stops all I/O for good: held bios fail, in-flight clones complete.
 * No new bio reaches us once the disk is dead; one already past that
 * check is counted in flight after the grace period.
 */
static void dmx_md_kill_io(struct mapped_device *md)
{
	if (test_bit(DMX_MD_DISK_ADDED, &md->flags))
		blk_mark_disk_dead(md->disk);
	dmx_fail_deferred(md);

	/*
	 * Completions wake md->wait from now on (dm-bio.c).  Set under
	 * suspend_lock, with DEAD: an interrupted suspend clears DRAINING
	 * as it gives up, and no suspend runs once DEAD is set.
	 */
	mutex_lock(&md->suspend_lock);
	set_bit(DMX_MD_DEAD, &md->flags);
	set_bit(DMX_MD_DRAINING, &md->flags);
	mutex_unlock(&md->suspend_lock);
	/* Expedited here and below: a command waits, not a bio. */
	synchronize_rcu_expedited();
	wait_event(md->wait, dmx_md_idle(md));

	flush_workqueue(md->wq);
	dmx_fail_deferred(md);
}

static void dmx_md_unbind(struct mapped_device *md)
{
	struct dmx_table *map;

	mutex_lock(&md->suspend_lock);
	map = rcu_dereference_protected(md->map,
					lockdep_is_held(&md->suspend_lock));
	if (map && !dmx_md_suspended(md)) {
		dmx_table_presuspend(map);
		dmx_table_postsuspend(map);
	}
	set_bit(DMX_MD_SUSPENDED, &md->flags);
	RCU_INIT_POINTER(md->map, NULL);
	mutex_unlock(&md->suspend_lock);

	dmx_md_drop_table(md, map);
}

/*
 * Tears down a device already taken out of the registry and marked
 * DELETING.  The caller holds one reference and gives it up here.
 */
void dmx_md_destroy(struct mapped_device *md)
{
	dmx_md_kill_io(md);
	/*
	 * A command still running on md (a table load that will find it
	 * deleted, a DEV_WAIT woken by the removal event) may yet open or
	 * close devices against the disk: let it finish before the disk
	 * and its holder links go.
	 */
	wait_var_event(&md->holders, atomic_read(&md->holders) == 1);
	dmx_md_unbind(md);

	if (md->sysfs_ready)
		dmx_sysfs_exit(md);
	if (test_bit(DMX_MD_DISK_ADDED, &md->flags))
		del_gendisk(md->disk);

	dmx_minor_free(md->minor);
	put_disk(md->disk);
	/* The last completion may still be inside its RCU section. */
	synchronize_rcu_expedited();
	dmx_md_free_io(md);
	kfree(md);
	module_put(THIS_MODULE);
}

/* Events. */

void dmx_md_event(struct mapped_device *md)
{
	atomic_inc(&md->event_nr);
	wake_up(&md->eventq);
	dmx_global_event();
}

/* Also raised by commands that change the set of devices. */
void dmx_global_event(void)
{
	atomic_inc(&dmx_global_event_count);
	wake_up(&dmx_global_eventq);
}

u32 dmx_global_event_nr(void)
{
	return atomic_read(&dmx_global_event_count);
}

wait_queue_head_t *dmx_global_event_queue(void)
{
	return &dmx_global_eventq;
}

u32 dmx_md_event_nr(struct mapped_device *md)
{
	return atomic_read(&md->event_nr);
}

int dmx_md_wait_event(struct mapped_device *md, u32 event_nr)
{
	return wait_event_interruptible(md->eventq,
					event_nr != (u32)atomic_read(&md->event_nr));
}

int dmx_md_uevent(struct mapped_device *md, enum kobject_action action,
		  u32 cookie, bool resized)
{
	char cookie_env[sizeof(DMX_COOKIE_ENV) + 12];
	char *envp[3] = { NULL, NULL, NULL };
	char **env = envp;
	unsigned int noio;
	int r;

	if (cookie) {
		snprintf(cookie_env, sizeof(cookie_env), DMX_COOKIE_ENV "=%u",
			 cookie);
		*env++ = cookie_env;
	}
	if (resized)
		*env++ = "RESIZE=1";

	/* A suspended device may be under us: allocate without I/O. */
	noio = memalloc_noio_save();
	r = kobject_uevent_env(&disk_to_dev(md->disk)->kobj, action, envp);
	memalloc_noio_restore(noio);
	return r;
}

int dmx_md_set_geometry(struct mapped_device *md, struct hd_geometry *geo)
{
	sector_t size = (sector_t)geo->cylinders * geo->heads * geo->sectors;

	if (geo->start > size) {
		pr_err(DMX_MSG_PREFIX ": %s: geometry start beyond its size\n",
		       dmx_md_name(md));
		return -EINVAL;
	}
	spin_lock(&md->geometry_lock);
	md->geometry = *geo;
	spin_unlock(&md->geometry_lock);
	return 0;
}

dev_t dmx_md_devt(struct mapped_device *md)
{
	return disk_devt(md->disk);
}

/* The device dev is, with a reference for dmx_md_put(); NULL if none. */
struct mapped_device *dmx_md_get_by_devt(dev_t dev)
{
	struct mapped_device *md = NULL;

	if (MAJOR(dev) != dmx_major)
		return NULL;
	spin_lock(&dmx_minor_lock);
	md = idr_find(&dmx_minor_idr, MINOR(dev));
	if (md && !test_bit(DMX_MD_DELETING, &md->flags))
		dmx_md_get(md);
	else
		md = NULL;
	spin_unlock(&dmx_minor_lock);
	return md;
}

struct dmx_table *dmx_md_get_live_table(struct mapped_device *md, int *idx)
	__acquires(md->map_srcu)
{
	*idx = srcu_read_lock(&md->map_srcu);
	return srcu_dereference(md->map, &md->map_srcu);
}

void dmx_md_put_live_table(struct mapped_device *md, int idx)
	__releases(md->map_srcu)
{
	srcu_read_unlock(&md->map_srcu, idx);
}

/*
 * Destroys a table that readers of md could reach (it was in the
 * active or the inactive slot): commands walk both under map_srcu, so
 * it goes only once they are done with it.
 */
void dmx_md_drop_table(struct mapped_device *md, struct dmx_table *t)
{
	if (!t)
		return;
	/* A command waits for it (a resume, a clear, a removal). */
	synchronize_srcu_expedited(&md->map_srcu);
	dmx_table_destroy(t);
}

/* Module-wide state. */

int dmx_core_init(void)
{
	int r;

	dmx_deferred_remove_wq = alloc_workqueue("kdmx_remove", WQ_UNBOUND, 1);
	if (!dmx_deferred_remove_wq)
		return -ENOMEM;

	r = register_blkdev(0, DMX_NAME);
	if (r < 0) {
		destroy_workqueue(dmx_deferred_remove_wq);
		return r;
	}
	dmx_major = r;
	return 0;
}

void dmx_core_exit(void)
{
	flush_workqueue(dmx_deferred_remove_wq);
	destroy_workqueue(dmx_deferred_remove_wq);
	unregister_blkdev(dmx_major, DMX_NAME);
	idr_destroy(&dmx_minor_idr);
}
