// SPDX-License-Identifier: GPL-2.0
/*
 * Suspend, resume and the table swap.
 *
 * Suspend: freeze the filesystem (unless told not to), let targets
 * prepare, block new I/O, wait for every clone in flight, then let
 * targets finish.  New bios are held on md->deferred, never failed.
 * Resume: let targets prepare, unblock, resubmit the held bios, thaw.
 * A table swap happens only between the two, when no I/O is in flight,
 * so the bio path needs no lock beyond RCU to read the active table
 * (dm-bio.c says how its in-flight count pairs with this).
 *
 * All three run under md->suspend_lock, and refuse a device that
 * teardown has killed.
 */
#include <linux/blkdev.h>
#include <linux/sched/signal.h>

#include "dmx-core.h"

bool dmx_md_suspended(struct mapped_device *md)
{
	return test_bit(DMX_MD_SUSPENDED, &md->flags);
}

/* New bios wait on md->deferred from now on. */
static void dmx_hold_io(struct mapped_device *md)
{
	spin_lock_irq(&md->deferred_lock);
	set_bit(DMX_MD_BLOCK_IO, &md->flags);
	spin_unlock_irq(&md->deferred_lock);
}

/* Completions wake md->wait from now on. */
static void dmx_block_io(struct mapped_device *md)
{
	set_bit(DMX_MD_DRAINING, &md->flags);
	dmx_hold_io(md);
	/*
	 * Every submitter that missed the flag has counted itself in
	 * flight after this; expedited, since new I/O is held while it
	 * runs.
	 */
	synchronize_rcu_expedited();
}

static void dmx_unblock_io(struct mapped_device *md)
{
	clear_bit(DMX_MD_DRAINING, &md->flags);
	spin_lock_irq(&md->deferred_lock);
	clear_bit(DMX_MD_BLOCK_IO, &md->flags);
	spin_unlock_irq(&md->deferred_lock);
	queue_work(md->wq, &md->requeue_work);
}

/* Waits for the I/O in flight; DRAINING stays set until resume. */
static int dmx_wait_for_idle(struct mapped_device *md)
{
	return wait_event_interruptible(md->wait, dmx_md_idle(md));
}

static int dmx_freeze_fs(struct mapped_device *md)
{
	int r = dmx_compat_freeze_bdev(md->disk->part0);

	if (!r)
		set_bit(DMX_MD_FROZEN, &md->flags);
	return r;
}

static void dmx_thaw_fs(struct mapped_device *md)
{
	if (test_and_clear_bit(DMX_MD_FROZEN, &md->flags))
		dmx_compat_thaw_bdev(md->disk->part0);
}

int dmx_md_suspend(struct mapped_device *md, unsigned int flags)
{
	struct dmx_table *map;
	int r = 0;

	mutex_lock(&md->suspend_lock);
	if (test_bit(DMX_MD_DEAD, &md->flags)) {
		r = -ENXIO;
		goto out;
	}
	if (dmx_md_suspended(md))
		goto out;

	map = rcu_dereference_protected(md->map,
					lockdep_is_held(&md->suspend_lock));

	/* Freezing makes the filesystem write back what it holds first. */
	if (map && (flags & DMX_SUSPEND_LOCKFS) &&
	    !(flags & DMX_SUSPEND_NOFLUSH)) {
		r = dmx_freeze_fs(md);
		if (r)
			goto out;
	}

	/*
	 * Without a table no bio holds anything a swap frees: new bios are
	 * held from now on, and the first table goes in without waiting for
	 * grace periods (most resumes are a new device's first).
	 */
	if (!map) {
		dmx_hold_io(md);
		set_bit(DMX_MD_SUSPENDED, &md->flags);
		goto out;
	}

	dmx_table_presuspend(map);
	dmx_block_io(md);

	r = dmx_wait_for_idle(md);
	if (r) {
		/* Interrupted: undo, as if suspend had never been asked. */
		dmx_unblock_io(md);
		dmx_table_resume(map);
		dmx_thaw_fs(md);
		goto out;
	}

	dmx_table_postsuspend(map);
	set_bit(DMX_MD_SUSPENDED, &md->flags);
out:
	mutex_unlock(&md->suspend_lock);
	return r;
}

int dmx_md_resume(struct mapped_device *md)
{
	struct dmx_table *map;
	int r = 0;

	mutex_lock(&md->suspend_lock);
	if (test_bit(DMX_MD_DEAD, &md->flags)) {
		r = -ENXIO;
		goto out;
	}
	if (!dmx_md_suspended(md))
		goto out;

	/* Nothing to resume into: the device stays suspended. */
	map = rcu_dereference_protected(md->map,
					lockdep_is_held(&md->suspend_lock));
	if (!map) {
		r = -EINVAL;
		goto out;
	}
	r = dmx_table_preresume(map);
	if (r)
		goto out;
	dmx_table_resume(map);

	clear_bit(DMX_MD_SUSPENDED, &md->flags);
	dmx_unblock_io(md);
	dmx_thaw_fs(md);
out:
	mutex_unlock(&md->suspend_lock);
	return r;
}

/*
 * Makes table the active one and returns the previous active table for
 * the caller to destroy with dmx_md_drop_table().  The device must be
 * suspended, so no bio is in flight on the old table; commands (status,
 * deps, wait, messages) may still be reading it under map_srcu.
 */
struct dmx_table *dmx_md_swap_table(struct mapped_device *md,
				    struct dmx_table *table)
{
	struct dmx_table *old;
	int r;

	mutex_lock(&md->suspend_lock);
	if (!dmx_md_suspended(md)) {
		mutex_unlock(&md->suspend_lock);
		return ERR_PTR(-EINVAL);
	}

	old = rcu_dereference_protected(md->map,
					lockdep_is_held(&md->suspend_lock));
	r = dmx_table_check_sizes(table);
	if (!r)
		r = dmx_compat_apply_limits(md->disk, &table->limits,
					    &table->features);
	if (r) {
		mutex_unlock(&md->suspend_lock);
		return ERR_PTR(r);
	}
	/* A geometry describes one size; a new size forgets it. */
	if (get_capacity(md->disk) != table->size) {
		spin_lock(&md->geometry_lock);
		memset(&md->geometry, 0, sizeof(md->geometry));
		spin_unlock(&md->geometry_lock);
	}
	set_capacity(md->disk, table->size);
	set_disk_ro(md->disk, !(table->mode & DMX_MODE_WRITE));
	rcu_assign_pointer(md->map, table);
	mutex_unlock(&md->suspend_lock);

	dmx_md_event(md);
	return old;
}
