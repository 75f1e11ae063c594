// SPDX-License-Identifier: GPL-2.0
/*
 * delay <dev> <offset> <delay>
 *       [<write dev> <write offset> <write delay>
 *        [<flush dev> <flush offset> <flush delay>]]
 *
 * A linear mapping that holds every bio for a while (milliseconds)
 * before passing it on.  Reads, writes and flushes form three classes,
 * each with its own device, offset and delay: with three arguments all
 * three share them, with six flushes go with the writes.
 *
 * Held bios wait on a per-class list, oldest first, until a delayed
 * work item (timer and worker in one) passes on those that are due.
 * map never sleeps and allocates nothing: what it needs lives in the
 * clone's per-io data.  Suspending sends every held bio on at once and
 * stops delaying until resume, so a suspend never waits for a delay.
 *
 * Table syntax and status lines are those of Linux 6.1's dm-delay.
 */
#include <linux/bio.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "dmx.h"

enum delay_class_id { DELAY_READ, DELAY_WRITE, DELAY_FLUSH, DELAY_CLASSES };

struct delay_class {
	struct dmx_dev *dev;
	sector_t start;
	unsigned int delay_ms;
	unsigned long delay;		/* jiffies; 0: pass bios straight on */
	struct list_head held;		/* struct delay_io, oldest first */
	unsigned int held_count;	/* bios on held: the status counts */
};

struct delay_ctx {
	struct delay_class class[DELAY_CLASSES];
	unsigned int argc;		/* 3, 6 or 9: what the table line said */

	/*
	 * Protects every class's held list and count, may_delay and the
	 * armed state of flush_work (armed, due).
	 */
	spinlock_t lock;
	bool may_delay;			/* false from presuspend to resume */
	bool armed;			/* flush_work is queued for due */
	unsigned long due;
	struct delayed_work flush_work;
};

/* Per-clone data: a held bio's place in its class's list. */
struct delay_io {
	struct list_head list;
	unsigned long expires;		/* jiffies */
	struct bio *bio;
};

/* Held bios are passed on from here: it must work under memory pressure. */
static struct workqueue_struct *delay_wq;

/* --- holding and releasing ------------------------------------------- */

/* Makes flush_work run by when; dc->lock held. */
static void delay_arm(struct delay_ctx *dc, unsigned long when)
{
	unsigned long now = jiffies;

	if (dc->armed && !time_before(when, dc->due))
		return;
	dc->armed = true;
	dc->due = when;
	mod_delayed_work(delay_wq, &dc->flush_work,
			 time_after(when, now) ? when - now : 0);
}

/*
 * Moves the held bios that are due (all of them if all) onto out; arms
 * flush_work for the first one left.  dc->lock held.  Each class's list
 * is in expiry order, so each scan stops at its first bio not yet due.
 */
static void delay_take(struct delay_ctx *dc, struct bio_list *out, bool all)
{
	unsigned long now = jiffies, next = 0;
	bool more = false;
	struct delay_io *io, *tmp;
	unsigned int i;

	for (i = 0; i < DELAY_CLASSES; i++) {
		struct delay_class *c = &dc->class[i];

		list_for_each_entry_safe(io, tmp, &c->held, list) {
			if (!all && time_before(now, io->expires)) {
				if (!more || time_before(io->expires, next))
					next = io->expires;
				more = true;
				break;
			}
			list_del(&io->list);
			c->held_count--;
			bio_list_add(out, io->bio);
		}
	}
	if (more)
		delay_arm(dc, next);
}

static void delay_submit(struct bio_list *bios)
{
	struct bio *bio;

	while ((bio = bio_list_pop(bios)))
		submit_bio_noacct(bio);
}

static void delay_flush_work(struct work_struct *work)
{
	struct delay_ctx *dc = container_of(to_delayed_work(work),
					    struct delay_ctx, flush_work);
	struct bio_list due;

	bio_list_init(&due);
	spin_lock_irq(&dc->lock);
	dc->armed = false;
	delay_take(dc, &due, false);
	spin_unlock_irq(&dc->lock);
	delay_submit(&due);
}

/* Holds bio in class c unless delaying is off; true if held. */
static bool delay_hold(struct delay_ctx *dc, struct delay_class *c,
		       struct bio *bio)
{
	struct delay_io *io = dmx_per_io_data(bio);
	unsigned long flags;
	bool held = false;

	io->bio = bio;
	spin_lock_irqsave(&dc->lock, flags);
	if (dc->may_delay) {
		/* Taken under the lock, so that each list stays in order. */
		io->expires = jiffies + c->delay;
		list_add_tail(&io->list, &c->held);
		c->held_count++;
		delay_arm(dc, io->expires);
		held = true;
	}
	spin_unlock_irqrestore(&dc->lock, flags);
	return held;
}

/* --- constructor ------------------------------------------------------ */

static int delay_class_ctr(struct dmx_target *ti, struct delay_class *c,
			   char **argv)
{
	char dummy;
	int r;

	INIT_LIST_HEAD(&c->held);
	if (!dmx_parse_sector(argv[1], &c->start)) {
		ti->error = "Invalid device sector";
		return -EINVAL;
	}
	if (sscanf(argv[2], "%u%c", &c->delay_ms, &dummy) != 1) {
		ti->error = "Invalid delay";
		return -EINVAL;
	}
	c->delay = c->delay_ms ? msecs_to_jiffies(c->delay_ms) : 0;
	r = dmx_get_device(ti, argv[0], &c->dev);
	if (r)
		ti->error = "Device lookup failed";
	return r;
}

static void delay_put_classes(struct dmx_target *ti, struct delay_ctx *dc,
			      unsigned int count)
{
	while (count--)
		dmx_put_device(ti, dc->class[count].dev);
}

static int delay_ctr(struct dmx_target *ti, unsigned int argc, char **argv)
{
	/* Where each class's three words start, for 3, 6 and 9 arguments. */
	static const unsigned int first_arg[3][DELAY_CLASSES] = {
		{ 0, 0, 0 }, { 0, 3, 3 }, { 0, 3, 6 },
	};
	struct delay_ctx *dc;
	unsigned int i;
	int r;

	if (argc != 3 && argc != 6 && argc != 9) {
		ti->error = "Requires exactly 3, 6 or 9 arguments";
		return -EINVAL;
	}
	dc = kzalloc(sizeof(*dc), GFP_KERNEL);
	if (!dc) {
		ti->error = "Cannot allocate context";
		return -ENOMEM;
	}
	spin_lock_init(&dc->lock);
	INIT_DELAYED_WORK(&dc->flush_work, delay_flush_work);
	dc->may_delay = true;
	dc->argc = argc;

	for (i = 0; i < DELAY_CLASSES; i++) {
		r = delay_class_ctr(ti, &dc->class[i],
				    argv + first_arg[argc / 3 - 1][i]);
		if (r)
			goto bad;
	}

	ti->num_flush_bios = 1;
	ti->num_discard_bios = 1;
	ti->per_io_data_size = sizeof(struct delay_io);
	ti->private = dc;
	return 0;

bad:
	delay_put_classes(ti, dc, i);
	kfree(dc);
	return r;
}

static void delay_dtr(struct dmx_target *ti)
{
	struct delay_ctx *dc = ti->private;

	/* Nothing is held (the device is idle), but the work may be queued. */
	cancel_delayed_work_sync(&dc->flush_work);
	delay_put_classes(ti, dc, DELAY_CLASSES);
	kfree(dc);
}

/* --- the bio path ----------------------------------------------------- */

static struct delay_class *delay_class_of(struct delay_ctx *dc,
					  struct bio *bio)
{
	if (!op_is_write(bio_op(bio)))
		return &dc->class[DELAY_READ];
	if (bio->bi_opf & REQ_PREFLUSH)
		return &dc->class[DELAY_FLUSH];
	return &dc->class[DELAY_WRITE];
}

static int delay_map(struct dmx_target *ti, struct bio *bio)
{
	struct delay_ctx *dc = ti->private;
	struct delay_class *c = delay_class_of(dc, bio);

	bio_set_dev(bio, c->dev->bdev);
	if (bio_sectors(bio))
		bio->bi_iter.bi_sector = c->start +
					 (bio->bi_iter.bi_sector - ti->begin);
	if (c->delay && delay_hold(dc, c, bio))
		return DMX_MAPIO_SUBMITTED;
	return DMX_MAPIO_REMAPPED;
}

/* Everything held goes on now; nothing more is held until resume. */
static void delay_presuspend(struct dmx_target *ti)
{
	struct delay_ctx *dc = ti->private;
	struct bio_list all;

	bio_list_init(&all);
	spin_lock_irq(&dc->lock);
	dc->may_delay = false;
	delay_take(dc, &all, true);
	spin_unlock_irq(&dc->lock);
	cancel_delayed_work_sync(&dc->flush_work);
	delay_submit(&all);
}

static void delay_resume(struct dmx_target *ti)
{
	struct delay_ctx *dc = ti->private;

	spin_lock_irq(&dc->lock);
	dc->may_delay = true;
	/* presuspend cancelled the work: it is armed for nothing. */
	dc->armed = false;
	spin_unlock_irq(&dc->lock);
}

/* --- status ----------------------------------------------------------- */

static void delay_emit_class(struct delay_class *c, char *result,
			     unsigned int maxlen, unsigned int *sz)
{
	dmx_emit(result, maxlen, sz, "%s %llu %u", c->dev->name,
		 (unsigned long long)c->start, c->delay_ms);
}

/* INFO: bios held now, per class.  IMA: nothing, as in Linux 6.1. */
static void delay_status(struct dmx_target *ti, enum dmx_status_type type,
			 char *result, unsigned int maxlen)
{
	struct delay_ctx *dc = ti->private;
	unsigned int sz = 0;

	switch (type) {
	case DMX_STATUS_INFO:
		spin_lock_irq(&dc->lock);
		dmx_emit(result, maxlen, &sz, "%u %u %u",
			 dc->class[DELAY_READ].held_count,
			 dc->class[DELAY_WRITE].held_count,
			 dc->class[DELAY_FLUSH].held_count);
		spin_unlock_irq(&dc->lock);
		break;
	case DMX_STATUS_TABLE:
		delay_emit_class(&dc->class[DELAY_READ], result, maxlen, &sz);
		if (dc->argc >= 6) {
			dmx_emit(result, maxlen, &sz, " ");
			delay_emit_class(&dc->class[DELAY_WRITE], result, maxlen, &sz);
		}
		if (dc->argc >= 9) {
			dmx_emit(result, maxlen, &sz, " ");
			delay_emit_class(&dc->class[DELAY_FLUSH], result, maxlen, &sz);
		}
		break;
	case DMX_STATUS_IMA:
		break;
	}
}

static int delay_iterate_devices(struct dmx_target *ti, dmx_iterate_fn fn,
				 void *data)
{
	struct delay_ctx *dc = ti->private;
	unsigned int i;
	int r;

	for (i = 0; i < DELAY_CLASSES; i++) {
		r = fn(ti, dc->class[i].dev, dc->class[i].start, ti->len, data);
		if (r)
			return r;
	}
	return 0;
}

static struct dmx_target_type delay_target = {
	.name		 = "delay",
	.version	 = {1, 3, 0},
	.module		 = THIS_MODULE,
	.ctr		 = delay_ctr,
	.dtr		 = delay_dtr,
	.map		 = delay_map,
	.presuspend	 = delay_presuspend,
	.resume		 = delay_resume,
	.status		 = delay_status,
	.iterate_devices = delay_iterate_devices,
};

int dmx_delay_init(void)
{
	int r;

	delay_wq = alloc_workqueue("dmx_delay", WQ_MEM_RECLAIM, 0);
	if (!delay_wq)
		return -ENOMEM;
	r = dmx_register_target(&delay_target);
	if (r)
		destroy_workqueue(delay_wq);
	return r;
}

void dmx_delay_exit(void)
{
	dmx_unregister_target(&delay_target);
	destroy_workqueue(delay_wq);
}
