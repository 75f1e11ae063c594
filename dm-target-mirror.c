// SPDX-License-Identifier: GPL-2.0
/*
 * mirror <log type> <#log args> <log args>... <#legs> {<dev> <offset>}...
 *        [<#features> handle_errors [keep_log]]
 *
 * Keeps two to nine copies (legs) of the target's range in step, with
 * a region log (dm-region-log.c) saying which regions may differ.  The
 * table and status lines are those of Linux's dm-mirror, so LVM2
 * drives it as it drives that (pvmove, lvcreate --type mirror).
 *
 * Reads go straight to the default leg (the first, or for a region in
 * sync the first leg alive once it has failed); a failed read is tried
 * again on another leg in sync.  Writes, flushes and discards go to the
 * worker (dm-mirror-io.c), which sends them to every leg once the log
 * is safe for them, and which copies regions out of sync from the
 * default leg to the others in the background.
 *
 * A leg whose write fails is marked D (F for a flush) and an event is
 * raised.  Without handle_errors writes go on to the legs left, and
 * succeed while one leg takes them.  With it, as in Linux, a write that
 * failed on a leg, and every write while the log has failed, is held
 * until the next suspend (userland replaces the table meanwhile); dmx's
 * core cannot requeue a bio into the next table as Linux's does on a
 * noflush suspend, so the suspend completes such writes instead: those
 * the legs alive took as done, those never tried once written then.
 */
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "dmx-mirror.h"

static struct dmx_target_type mirror_target;

/* The bio path. */

static int mirror_map(struct dmx_target *ti, struct bio *bio)
{
	struct mirror_set *ms = ti->private;
	struct mirror_io *io = dmx_per_io_data(bio);

	io->final = false;
	if (bio_data_dir(bio) == WRITE || (bio->bi_opf & REQ_PREFLUSH)) {
		mirror_queue(ms, &ms->queued, bio);
		return DMX_MAPIO_SUBMITTED;
	}
	io->iter = bio->bi_iter;
	io->leg = mirror_read_leg(ms, bio);
	io->tried = BIT(io->leg);
	mirror_map_to_leg(ms, bio, io->leg);
	return DMX_MAPIO_REMAPPED;
}

static int mirror_end_io(struct dmx_target *ti, struct bio *bio,
			 blk_status_t *error)
{
	struct mirror_set *ms = ti->private;
	struct mirror_io *io = dmx_per_io_data(bio);

	if (!*error || io->final || bio_data_dir(bio) == WRITE ||
	    (bio->bi_opf & REQ_RAHEAD))
		return DMX_ENDIO_DONE;
	mirror_queue(ms, &ms->retries, bio);
	return DMX_ENDIO_INCOMPLETE;
}

/* Construction. */

static int mirror_get_leg(struct mirror_set *ms, unsigned int i, char **argv)
{
	struct dmx_target *ti = ms->ti;
	struct mirror_leg *leg = &ms->legs[i];

	if (!dmx_parse_sector(argv[1], &leg->offset)) {
		ti->error = "Invalid offset";
		return -EINVAL;
	}
	if (dmx_get_device(ti, argv[0], &leg->dev)) {
		ti->error = "Device lookup failure";
		return -ENXIO;
	}
	atomic_set(&leg->error_count, 0);
	return 0;
}

static int mirror_parse_features(struct mirror_set *ms, unsigned int argc,
				 char **argv)
{
	struct dmx_target *ti = ms->ti;
	unsigned int n, i;

	if (!argc)
		return 0;
	if (kstrtouint(argv[0], 10, &n)) {
		ti->error = "Invalid number of features";
		return -EINVAL;
	}
	if (n > argc - 1) {
		ti->error = "Not enough arguments to support feature count";
		return -EINVAL;
	}
	if (n < argc - 1) {
		ti->error = "Too many mirror arguments";
		return -EINVAL;
	}
	for (i = 1; i <= n; i++) {
		if (!strcmp(argv[i], "handle_errors")) {
			ms->handle_errors = true;
		} else if (!strcmp(argv[i], "keep_log")) {
			ms->keep_log = true;
		} else {
			ti->error = "Unrecognised feature requested";
			return -EINVAL;
		}
	}
	if (ms->keep_log && !ms->handle_errors) {
		ti->error = "keep_log feature requires the handle_errors feature";
		return -EINVAL;
	}
	return 0;
}

static struct mirror_set *mirror_alloc(struct dmx_target *ti,
				       unsigned int nr_legs,
				       struct dmx_rlog *log)
{
	struct mirror_set *ms;
	unsigned int i;

	ms = kzalloc(struct_size(ms, legs, nr_legs), GFP_KERNEL);
	if (!ms)
		return NULL;
	ms->ti = ti;
	ms->log = log;
	ms->nr_legs = nr_legs;
	ms->nr_regions = dmx_rlog_nr_regions(log);
	ms->region_shift = ilog2(dmx_rlog_region_size(log));
	ms->in_sync = dmx_rlog_sync_count(log) == ms->nr_regions;
	INIT_WORK(&ms->work, mirror_work);
	spin_lock_init(&ms->lock);
	bio_list_init(&ms->queued);
	bio_list_init(&ms->completed);
	bio_list_init(&ms->retries);
	bio_list_init(&ms->holds);
	atomic_set(&ms->copies, 0);
	atomic_set(&ms->any_to_clean, 0);
	init_waitqueue_head(&ms->copies_wait);
	for (i = 0; i < MIRROR_RECOVERY_SLOTS; i++) {
		ms->slots[i].ms = ms;
		bio_list_init(&ms->slots[i].parked);
	}
	return ms;
}

/* Everything but the log and the legs' devices. */
static void mirror_free_resources(struct mirror_set *ms)
{
	if (!IS_ERR_OR_NULL(ms->copier))
		dmx_copy_destroy(ms->copier);
	if (ms->wq)
		destroy_workqueue(ms->wq);
	bioset_exit(&ms->leg_set);
	kvfree(ms->to_clean);
	kvfree(ms->pending);
}

static int mirror_alloc_resources(struct mirror_set *ms)
{
	struct dmx_target *ti = ms->ti;
	int r;

	ms->pending = kvcalloc(ms->nr_regions, sizeof(*ms->pending), GFP_KERNEL);
	ms->to_clean = kvcalloc(BITS_TO_LONGS(ms->nr_regions), sizeof(long),
				GFP_KERNEL);
	if (!ms->pending || !ms->to_clean) {
		ti->error = "Cannot allocate region state";
		return -ENOMEM;
	}
	r = bioset_init(&ms->leg_set, 4 * ms->nr_legs,
			offsetof(struct mirror_leg_io, clone), 0);
	if (r) {
		ti->error = "Cannot allocate mirror bio set";
		return r;
	}
	ms->wq = alloc_workqueue("kdmx-mirror", WQ_MEM_RECLAIM, 0);
	if (!ms->wq) {
		ti->error = "Cannot start mirror worker";
		return -ENOMEM;
	}
	ms->copier = dmx_copy_create(dmx_rlog_region_size(ms->log));
	if (IS_ERR(ms->copier)) {
		ti->error = "Cannot create resync copier";
		return PTR_ERR(ms->copier);
	}
	return 0;
}

static void mirror_put_legs(struct mirror_set *ms, unsigned int count)
{
	while (count--)
		dmx_put_device(ms->ti, ms->legs[count].dev);
}

static int mirror_parse_legs(struct mirror_set *ms, unsigned int argc,
			     char **argv)
{
	unsigned int i;
	int r;

	for (i = 0; i < ms->nr_legs; i++) {
		r = mirror_get_leg(ms, i, argv + 2 * i);
		if (r) {
			mirror_put_legs(ms, i);
			return r;
		}
	}
	r = mirror_parse_features(ms, argc - 2 * ms->nr_legs,
				  argv + 2 * ms->nr_legs);
	if (r)
		mirror_put_legs(ms, ms->nr_legs);
	return r;
}

static int mirror_ctr(struct dmx_target *ti, unsigned int argc, char **argv)
{
	struct mirror_set *ms;
	struct dmx_rlog *log;
	unsigned int used, nr_legs;
	int r;

	r = dmx_rlog_create(ti, argc, argv, &log, &used);
	if (r)
		return r;
	argc -= used;
	argv += used;
	if (!argc || kstrtouint(argv[0], 10, &nr_legs) || nr_legs < 2 ||
	    nr_legs > MIRROR_MAX_LEGS) {
		ti->error = "Invalid number of mirrors";
		r = -EINVAL;
		goto bad_log;
	}
	argc--;
	argv++;
	if (argc < 2 * nr_legs) {
		ti->error = "Too few mirror arguments";
		r = -EINVAL;
		goto bad_log;
	}
	ms = mirror_alloc(ti, nr_legs, log);
	if (!ms) {
		ti->error = "Cannot allocate mirror context";
		r = -ENOMEM;
		goto bad_log;
	}
	r = mirror_parse_legs(ms, argc, argv);
	if (r)
		goto bad_ms;
	r = mirror_alloc_resources(ms);
	if (r)
		goto bad_resources;

	ti->max_io_len = dmx_rlog_region_size(log);
	ti->num_flush_bios = 1;
	ti->num_discard_bios = 1;
	ti->per_io_data_size = sizeof(struct mirror_io);
	ti->private = ms;
	return 0;

bad_resources:
	mirror_free_resources(ms);
	mirror_put_legs(ms, nr_legs);
bad_ms:
	kfree(ms);
bad_log:
	dmx_rlog_destroy(log);
	return r;
}

static void mirror_dtr(struct dmx_target *ti)
{
	struct mirror_set *ms = ti->private;

	mirror_free_resources(ms);
	mirror_put_legs(ms, ms->nr_legs);
	dmx_rlog_destroy(ms->log);
	kfree(ms);
}

/* Suspend and resume. */

static void mirror_presuspend(struct dmx_target *ti)
{
	mirror_stop_recovery(ti->private);
}

/* Every write has ended: the worker's last pass cleaned their regions. */
static void mirror_postsuspend(struct dmx_target *ti)
{
	struct mirror_set *ms = ti->private;

	flush_workqueue(ms->wq);
}

/* The log as the last table (or an earlier boot) left it. */
static int mirror_preresume(struct dmx_target *ti)
{
	struct mirror_set *ms = ti->private;

	dmx_rlog_resume(ms->log);
	ms->in_sync = dmx_rlog_sync_count(ms->log) == ms->nr_regions;
	return 0;
}

static void mirror_resume(struct dmx_target *ti)
{
	struct mirror_set *ms = ti->private;

	ms->cursor = 0;
	WRITE_ONCE(ms->suspending, false);
	mirror_wake(ms);
}

/* Status. */

static char mirror_leg_char(struct mirror_leg *leg)
{
	if (!atomic_read(&leg->error_count))
		return 'A';
	if (test_bit(MIRROR_ERR_FLUSH, &leg->errors))
		return 'F';
	if (test_bit(MIRROR_ERR_WRITE, &leg->errors))
		return 'D';
	if (test_bit(MIRROR_ERR_SYNC, &leg->errors))
		return 'S';
	if (test_bit(MIRROR_ERR_READ, &leg->errors))
		return 'R';
	return 'U';
}

static void mirror_status_info(struct mirror_set *ms, char *result,
			       unsigned int maxlen, unsigned int *sz)
{
	char chars[MIRROR_MAX_LEGS + 1];
	unsigned int i;

	dmx_emit(result, maxlen, sz, "%u ", ms->nr_legs);
	for (i = 0; i < ms->nr_legs; i++) {
		dmx_emit(result, maxlen, sz, "%s ", ms->legs[i].dev->name);
		chars[i] = mirror_leg_char(&ms->legs[i]);
	}
	chars[i] = '\0';
	dmx_emit(result, maxlen, sz, "%llu/%llu 1 %s ",
		 (unsigned long long)dmx_rlog_sync_count(ms->log),
		 (unsigned long long)ms->nr_regions, chars);
	dmx_rlog_status(ms->log, DMX_STATUS_INFO, result, maxlen, sz);
}

static void mirror_status_table(struct mirror_set *ms, char *result,
				unsigned int maxlen, unsigned int *sz)
{
	unsigned int i;

	dmx_rlog_status(ms->log, DMX_STATUS_TABLE, result, maxlen, sz);
	dmx_emit(result, maxlen, sz, "%u", ms->nr_legs);
	for (i = 0; i < ms->nr_legs; i++)
		dmx_emit(result, maxlen, sz, " %s %llu", ms->legs[i].dev->name,
			 (unsigned long long)ms->legs[i].offset);
	if (ms->handle_errors)
		dmx_emit(result, maxlen, sz, " %u handle_errors%s",
			 ms->keep_log ? 2 : 1, ms->keep_log ? " keep_log" : "");
}

static void mirror_status_ima(struct mirror_set *ms, char *result,
			      unsigned int maxlen, unsigned int *sz)
{
	unsigned int i;

	DMX_EMIT_IMA_TARGET(result, maxlen, sz, ms->ti->type);
	dmx_emit(result, maxlen, sz, ",nr_mirrors=%u", ms->nr_legs);
	for (i = 0; i < ms->nr_legs; i++)
		dmx_emit(result, maxlen, sz,
			 ",mirror_device_%u=%s,mirror_device_%u_status=%c",
			 i, ms->legs[i].dev->name, i,
			 mirror_leg_char(&ms->legs[i]));
	dmx_emit(result, maxlen, sz, ",handle_errors=%c,keep_log=%c",
		 ms->handle_errors ? 'y' : 'n', ms->keep_log ? 'y' : 'n');
	dmx_emit(result, maxlen, sz, ",log_type_status=");
	dmx_rlog_status(ms->log, DMX_STATUS_IMA, result, maxlen, sz);
	dmx_emit(result, maxlen, sz, ";");
}

static void mirror_status(struct dmx_target *ti, enum dmx_status_type type,
			  char *result, unsigned int maxlen)
{
	struct mirror_set *ms = ti->private;
	unsigned int sz = 0;

	switch (type) {
	case DMX_STATUS_INFO:
		mirror_status_info(ms, result, maxlen, &sz);
		break;
	case DMX_STATUS_TABLE:
		mirror_status_table(ms, result, maxlen, &sz);
		break;
	case DMX_STATUS_IMA:
		mirror_status_ima(ms, result, maxlen, &sz);
		break;
	}
}

static int mirror_iterate_devices(struct dmx_target *ti, dmx_iterate_fn fn,
				  void *data)
{
	struct mirror_set *ms = ti->private;
	unsigned int i;
	int r = 0;

	for (i = 0; !r && i < ms->nr_legs; i++)
		r = fn(ti, ms->legs[i].dev, ms->legs[i].offset, ti->len, data);
	return r;
}

static struct dmx_target_type mirror_target = {
	.name		 = "mirror",
	.version	 = {1, 14, 0},
	.module		 = THIS_MODULE,
	.ctr		 = mirror_ctr,
	.dtr		 = mirror_dtr,
	.map		 = mirror_map,
	.end_io		 = mirror_end_io,
	.presuspend	 = mirror_presuspend,
	.postsuspend	 = mirror_postsuspend,
	.preresume	 = mirror_preresume,
	.resume		 = mirror_resume,
	.status		 = mirror_status,
	.iterate_devices = mirror_iterate_devices,
};

int dmx_mirror_init(void)
{
	return dmx_register_target(&mirror_target);
}

void dmx_mirror_exit(void)
{
	dmx_unregister_target(&mirror_target);
}
