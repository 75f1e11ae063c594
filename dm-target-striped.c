// SPDX-License-Identifier: GPL-2.0
/*
 * striped <#stripes> <chunk sectors> (<dev> <offset>)+: spreads the
 * target's range over several devices in chunk-sized pieces, round
 * robin.  Bios are split at chunk boundaries by the core, so each one
 * lands on exactly one stripe.
 */
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "dmx.h"

/*
 * Once a stripe has failed this often its status stays 'D' but its
 * errors raise no more events, so a failing disk does not keep waking
 * dmeventd with every bio.
 */
#define STRIPE_ERROR_EVENT_LIMIT	15

struct stripe {
	struct dmx_dev *dev;
	sector_t start;
	atomic_t error_count;		/* failed I/Os: status shows 'D' */
};

struct stripe_ctx {
	unsigned int stripes;
	u32 chunk_size;			/* sectors */
	struct stripe stripe[];
};

static int stripe_parse_geometry(struct dmx_target *ti, char **argv,
				 unsigned int *stripes, u32 *chunk_size)
{
	sector_t width = ti->len;

	if (kstrtouint(argv[0], 10, stripes) || !*stripes) {
		ti->error = "Invalid stripe count";
		return -EINVAL;
	}
	if (kstrtou32(argv[1], 10, chunk_size) || !*chunk_size) {
		ti->error = "Invalid chunk_size";
		return -EINVAL;
	}
	if (sector_div(width, *stripes)) {
		ti->error = "Target length not divisible by number of stripes";
		return -EINVAL;
	}
	if (sector_div(width, *chunk_size)) {
		ti->error = "Target length not divisible by chunk size";
		return -EINVAL;
	}
	return 0;
}

static int stripe_ctr(struct dmx_target *ti, unsigned int argc, char **argv)
{
	unsigned int stripes, i;
	struct stripe_ctx *sc;
	u32 chunk_size;
	int r;

	if (argc < 2) {
		ti->error = "Not enough arguments";
		return -EINVAL;
	}
	r = stripe_parse_geometry(ti, argv, &stripes, &chunk_size);
	if (r)
		return r;
	if (argc - 2 != 2ULL * stripes) {
		ti->error = "Not enough destinations specified";
		return -EINVAL;
	}

	sc = kzalloc(struct_size(sc, stripe, stripes), GFP_KERNEL);
	if (!sc) {
		ti->error = "Memory allocation for striped context failed";
		return -ENOMEM;
	}
	sc->stripes = stripes;
	sc->chunk_size = chunk_size;

	for (i = 0; i < stripes; i++) {
		char **pair = argv + 2 + 2 * i;

		if (!dmx_parse_sector(pair[1], &sc->stripe[i].start)) {
			ti->error = "Invalid stripe destination";
			r = -EINVAL;
			goto bad;
		}
		r = dmx_get_device(ti, pair[0], &sc->stripe[i].dev);
		if (r) {
			ti->error = "Couldn't parse stripe destination";
			goto bad;
		}
	}

	ti->max_io_len = chunk_size;
	ti->num_flush_bios = stripes;
	ti->num_discard_bios = 1;
	ti->num_secure_erase_bios = 1;
	ti->num_write_zeroes_bios = 1;
	ti->private = sc;
	return 0;

bad:
	while (i--)
		dmx_put_device(ti, sc->stripe[i].dev);
	kfree(sc);
	return r;
}

static void stripe_dtr(struct dmx_target *ti)
{
	struct stripe_ctx *sc = ti->private;
	unsigned int i;

	for (i = 0; i < sc->stripes; i++)
		dmx_put_device(ti, sc->stripe[i].dev);
	kfree(sc);
}

/* Which stripe holds a target-relative sector, and where on it. */
static unsigned int stripe_map_sector(struct stripe_ctx *sc, sector_t offset,
				      sector_t *result)
{
	u32 in_chunk, stripe;
	u64 chunk;

	chunk = div_u64_rem(offset, sc->chunk_size, &in_chunk);
	chunk = div_u64_rem(chunk, sc->stripes, &stripe);
	*result = chunk * sc->chunk_size + in_chunk;
	return stripe;
}

static int stripe_map(struct dmx_target *ti, struct bio *bio)
{
	struct stripe_ctx *sc = ti->private;
	unsigned int stripe;
	sector_t mapped;

	if (!bio_sectors(bio)) {
		/* An empty flush: one copy per stripe. */
		stripe = dmx_bio_flush_index(bio);
		bio_set_dev(bio, sc->stripe[stripe].dev->bdev);
		return DMX_MAPIO_REMAPPED;
	}
	stripe = stripe_map_sector(sc, bio->bi_iter.bi_sector - ti->begin,
				   &mapped);
	bio_set_dev(bio, sc->stripe[stripe].dev->bdev);
	bio->bi_iter.bi_sector = sc->stripe[stripe].start + mapped;
	return DMX_MAPIO_REMAPPED;
}

/*
 * Counts an I/O error against every stripe on the device that failed:
 * several stripes may share one device, and they all depend on it.
 */
static int stripe_end_io(struct dmx_target *ti, struct bio *bio,
			 blk_status_t *error)
{
	struct stripe_ctx *sc = ti->private;
	bool event = false;
	unsigned int i;

	if (!*error || *error == BLK_STS_NOTSUPP || (bio->bi_opf & REQ_RAHEAD))
		return DMX_ENDIO_DONE;
	for (i = 0; i < sc->stripes; i++) {
		if (sc->stripe[i].dev->bdev != bio->bi_bdev)
			continue;
		if (atomic_inc_return(&sc->stripe[i].error_count) <
		    STRIPE_ERROR_EVENT_LIMIT)
			event = true;
	}
	if (event)
		dmx_target_event(ti);
	return DMX_ENDIO_DONE;
}

static void stripe_status(struct dmx_target *ti, enum dmx_status_type type,
			  char *result, unsigned int maxlen)
{
	struct stripe_ctx *sc = ti->private;
	unsigned int sz = 0, i;

	switch (type) {
	case DMX_STATUS_INFO:
		dmx_emit(result, maxlen, &sz, "%u ", sc->stripes);
		for (i = 0; i < sc->stripes; i++)
			dmx_emit(result, maxlen, &sz, "%s ", sc->stripe[i].dev->name);
		dmx_emit(result, maxlen, &sz, "1 ");
		for (i = 0; i < sc->stripes; i++)
			dmx_emit(result, maxlen, &sz, "%c",
				 atomic_read(&sc->stripe[i].error_count) ? 'D' : 'A');
		break;
	case DMX_STATUS_TABLE:
		dmx_emit(result, maxlen, &sz, "%u %u", sc->stripes, sc->chunk_size);
		for (i = 0; i < sc->stripes; i++)
			dmx_emit(result, maxlen, &sz, " %s %llu",
				 sc->stripe[i].dev->name,
				 (unsigned long long)sc->stripe[i].start);
		break;
	case DMX_STATUS_IMA:
		DMX_EMIT_IMA_TARGET(result, maxlen, &sz, ti->type);
		dmx_emit(result, maxlen, &sz, ",stripes=%u,chunk_size=%u",
			 sc->stripes, sc->chunk_size);
		for (i = 0; i < sc->stripes; i++)
			dmx_emit(result, maxlen, &sz,
				 ",stripe_%u_device_name=%s,stripe_%u_physical_start=%llu,stripe_%u_status=%c",
				 i, sc->stripe[i].dev->name, i,
				 (unsigned long long)sc->stripe[i].start, i,
				 atomic_read(&sc->stripe[i].error_count) ? 'D' : 'A');
		dmx_emit(result, maxlen, &sz, ";");
		break;
	}
}

/* A full chunk is the least worth sending, a full stripe the best. */
static void stripe_io_hints(struct dmx_target *ti, struct queue_limits *limits)
{
	struct stripe_ctx *sc = ti->private;
	unsigned int chunk_bytes = sc->chunk_size << SECTOR_SHIFT;

	dmx_compat_set_io_min(limits, chunk_bytes);
	dmx_compat_set_io_opt(limits, chunk_bytes * sc->stripes);
	dmx_compat_hint_chunk(limits, sc->chunk_size);
}

static int stripe_iterate_devices(struct dmx_target *ti, dmx_iterate_fn fn,
				  void *data)
{
	struct stripe_ctx *sc = ti->private;
	sector_t per_stripe = div_u64(ti->len, sc->stripes);
	unsigned int i;
	int r;

	for (i = 0; i < sc->stripes; i++) {
		r = fn(ti, sc->stripe[i].dev, sc->stripe[i].start, per_stripe,
		       data);
		if (r)
			return r;
	}
	return 0;
}

static struct dmx_target_type stripe_target = {
	.name		 = "striped",
	.version	 = {1, 6, 0},
	.features	 = DMX_TARGET_NOWAIT,
	.module		 = THIS_MODULE,
	.ctr		 = stripe_ctr,
	.dtr		 = stripe_dtr,
	.map		 = stripe_map,
	.end_io		 = stripe_end_io,
	.status		 = stripe_status,
	.iterate_devices = stripe_iterate_devices,
	.io_hints	 = stripe_io_hints,
};

int dmx_striped_init(void)
{
	return dmx_register_target(&stripe_target);
}

void dmx_striped_exit(void)
{
	dmx_unregister_target(&stripe_target);
}
