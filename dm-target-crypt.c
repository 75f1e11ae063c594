// SPDX-License-Identifier: GPL-2.0
/*
 * crypt <cipher> <key> <iv_offset> <device> <offset> [<#opts> <opt>...]:
 * transparent encryption of a range of <device> from sector <offset>,
 * with the kernel's crypto API, as Linux's dm-crypt does it and byte
 * for byte compatible with it: the same cipher, key, IV mode, sector
 * size and iv_offset give the same ciphertext, so a volume written by
 * one reads back through the other, and cryptsetup drives it unmodified.
 *
 * <cipher> and its transforms are dm-crypt-cipher.c's, the IV modes
 * dm-crypt-iv.c's, <key> dm-crypt-key.c's, the bio path dm-crypt-io.c's.
 * Options: allow_discards, same_cpu_crypt, submit_from_crypt_cpus,
 * no_read_workqueue, no_write_workqueue, sector_size:<512..4096>,
 * iv_large_sectors; integrity:<n>:<type> (authenticated encryption) is
 * refused.  Messages, only while suspended (cryptsetup luksSuspend and
 * luksResume): "key wipe" (random key into the transforms, the key
 * forgotten, resume refused until) "key set <key>" of the same size.
 *
 * Defaults: crypto runs in the context of the task that submits a
 * write or completes a read, and goes to a worker only where that
 * context must not run it (interrupts) or must not wait; see the
 * comment at the top of dm-crypt-io.c for why, and for how that keeps
 * progress under memory pressure.
 */
#include <linux/module.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "dmx-crypt.h"

#define CRYPT_MAX_OPTIONS	8

static void crypt_wipe_string(char *s)
{
	memset(s, '0', strlen(s));
}

/* sector_size:<n>: a power of two from 512 to 4096 dividing the target. */
static int crypt_parse_sector_size(struct crypt_ctx *cc, const char *arg)
{
	struct dmx_target *ti = cc->ti;
	unsigned int size;
	char dummy;

	if (sscanf(arg, "sector_size:%u%c", &size, &dummy) != 1) {
		ti->error = "Invalid feature arguments";
		return -EINVAL;
	}
	if (size < SECTOR_SIZE || size > CRYPT_MAX_SECTOR_SIZE ||
	    !is_power_of_2(size)) {
		ti->error = "Invalid feature value for sector_size";
		return -EINVAL;
	}
	if (ti->len & ((size >> SECTOR_SHIFT) - 1)) {
		ti->error = "Device size is not multiple of sector_size feature";
		return -EINVAL;
	}
	cc->opt.sector_size = size;
	cc->opt.sector_shift = ilog2(size) - SECTOR_SHIFT;
	return 0;
}

/* The flag an option word sets, or NULL. */
static bool *crypt_flag_option(struct crypt_options *o, const char *arg)
{
	if (!strcasecmp(arg, "allow_discards"))
		return &o->allow_discards;
	if (!strcasecmp(arg, "same_cpu_crypt"))
		return &o->same_cpu_crypt;
	if (!strcasecmp(arg, "submit_from_crypt_cpus"))
		return &o->submit_from_crypt_cpus;
	if (!strcasecmp(arg, "no_read_workqueue"))
		return &o->no_read_workqueue;
	if (!strcasecmp(arg, "no_write_workqueue"))
		return &o->no_write_workqueue;
	if (!strcasecmp(arg, "iv_large_sectors"))
		return &o->iv_large_sectors;
	return NULL;
}

static int crypt_parse_option(struct crypt_ctx *cc, const char *arg)
{
	bool *flag = crypt_flag_option(&cc->opt, arg);

	if (flag) {
		*flag = true;
		return 0;
	}
	if (strstarts(arg, "integrity:")) {
		cc->ti->error = "Authenticated encryption (integrity) is not supported by dmx";
		return -EINVAL;
	}
	return crypt_parse_sector_size(cc, arg);
}

/* [<#opts> <opt>...]: argv[0] is the count. */
static int crypt_parse_options(struct crypt_ctx *cc, unsigned int argc,
			       char **argv)
{
	unsigned int count, i;
	int r;

	if (kstrtouint(argv[0], 10, &count) || count > CRYPT_MAX_OPTIONS) {
		cc->ti->error = "Invalid number of feature args";
		return -EINVAL;
	}
	if (count > argc - 1) {
		cc->ti->error = "Not enough feature arguments";
		return -EINVAL;
	}
	if (count < argc - 1) {
		cc->ti->error = "Too many arguments";
		return -EINVAL;
	}
	for (i = 1; i <= count; i++) {
		r = crypt_parse_option(cc, argv[i]);
		if (r)
			return r;
	}
	return 0;
}

/* The key in the transforms is gone: only a "key set" brings one back. */
static void crypt_forget_key(struct crypt_ctx *cc)
{
	struct crypt_key *k = &cc->key;

	k->valid = false;
	kfree(k->keyring);
	k->keyring = NULL;
	if (k->size)
		memzero_explicit(k->bytes, k->size);
}

/*
 * Puts the key named by arg (a <key> field of the key's size) into the
 * transforms.  A hex key is kept for the table line; a keyring key is
 * forgotten once it is in them, and named instead.
 */
static int crypt_set_key(struct crypt_ctx *cc, char *arg)
{
	struct crypt_key *k = &cc->key;
	u8 *bytes = NULL;
	char *keyring;
	int r;

	if (k->size) {
		bytes = kmalloc(k->size, GFP_KERNEL);
		if (!bytes) {
			crypt_wipe_string(arg);
			return -ENOMEM;
		}
	}
	r = crypt_key_fetch(k->size, arg, bytes, &keyring);
	if (r)
		goto out;
	r = crypt_cipher_setkey(&cc->cipher, bytes, k->size);
	crypt_forget_key(cc);
	if (r) {
		kfree(keyring);
		goto out;
	}
	k->keyring = keyring;
	if (!keyring && k->size)
		memcpy(k->bytes, bytes, k->size);
	k->valid = true;
out:
	kfree_sensitive(bytes);
	return r;
}

/* key wipe: a random key in the transforms, and ours forgotten. */
static int crypt_wipe_key(struct crypt_ctx *cc)
{
	struct crypt_key *k = &cc->key;
	int r;

	crypt_forget_key(cc);
	if (!k->size)
		return 0;
	get_random_bytes(k->bytes, k->size);
	r = crypt_cipher_setkey(&cc->cipher, k->bytes, k->size);
	memzero_explicit(k->bytes, k->size);
	return r;
}

static void crypt_dtr(struct dmx_target *ti)
{
	struct crypt_ctx *cc = ti->private;

	crypt_io_dtr(cc);
	crypt_cipher_dtr(&cc->cipher);
	if (cc->dev)
		dmx_put_device(ti, cc->dev);
	crypt_forget_key(cc);
	kfree_sensitive(cc->key.bytes);
	mutex_destroy(&cc->page_lock);
	mutex_destroy(&cc->key_lock);
	kfree(cc);
}

static int crypt_alloc_ctx(struct dmx_target *ti, unsigned int key_size)
{
	struct crypt_ctx *cc;

	cc = kzalloc(sizeof(*cc), GFP_KERNEL);
	if (!cc)
		return -ENOMEM;
	if (key_size) {
		cc->key.bytes = kzalloc(key_size, GFP_KERNEL);
		if (!cc->key.bytes) {
			kfree(cc);
			return -ENOMEM;
		}
	}
	cc->key.size = key_size;
	cc->ti = ti;
	cc->opt.sector_size = SECTOR_SIZE;
	mutex_init(&cc->key_lock);
	mutex_init(&cc->page_lock);
	ti->private = cc;
	return 0;
}

/* <iv_offset> <device> <offset> */
static int crypt_parse_location(struct crypt_ctx *cc, char **argv)
{
	struct dmx_target *ti = cc->ti;
	int r;

	if (kstrtou64(argv[0], 10, &cc->iv_offset) ||
	    (cc->iv_offset & ((cc->opt.sector_size >> SECTOR_SHIFT) - 1))) {
		ti->error = "Invalid iv_offset sector";
		return -EINVAL;
	}
	r = dmx_get_device(ti, argv[1], &cc->dev);
	if (r) {
		ti->error = "Device lookup failed";
		return r;
	}
	if (!dmx_parse_sector(argv[2], &cc->start)) {
		ti->error = "Invalid device sector";
		return -EINVAL;
	}
	return 0;
}

static int crypt_ctr(struct dmx_target *ti, unsigned int argc, char **argv)
{
	struct crypt_ctx *cc;
	unsigned int key_size;
	int r;

	if (argc < 5) {
		ti->error = "Not enough arguments";
		r = -EINVAL;
		goto wipe;
	}
	if (crypt_key_parse_size(argv[1], &key_size)) {
		ti->error = "Cannot parse key size";
		r = -EINVAL;
		goto wipe;
	}
	r = crypt_alloc_ctx(ti, key_size);
	if (r) {
		ti->error = "Cannot allocate encryption context";
		goto wipe;
	}
	cc = ti->private;

	/* The options come first: the sector size matters to the rest. */
	if (argc > 5) {
		r = crypt_parse_options(cc, argc - 5, argv + 5);
		if (r)
			goto bad;
	}
	r = crypt_cipher_ctr(&cc->cipher, argv[0], cc->opt.sector_size,
			     &ti->error);
	if (r)
		goto bad;
	r = crypt_set_key(cc, argv[1]);
	if (r) {
		ti->error = "Error decoding and setting key";
		goto bad;
	}
	r = crypt_parse_location(cc, argv + 2);
	if (r)
		goto bad;
	r = crypt_io_ctr(cc, &ti->error);
	if (r)
		goto bad;

	ti->num_flush_bios = 1;
	ti->num_discard_bios = cc->opt.allow_discards;
	ti->num_write_zeroes_bios = 0;
	pr_debug(CRYPT_PREFIX "%s uses implementation %s\n", cc->cipher.spec,
		 crypt_cipher_driver(&cc->cipher));
	return 0;

bad:
	crypt_dtr(ti);
wipe:
	if (argc > 1)
		crypt_wipe_string(argv[1]);
	return r;
}

static int crypt_map(struct dmx_target *ti, struct bio *bio)
{
	return crypt_io_map(ti->private, bio);
}

static unsigned int crypt_count_options(struct crypt_ctx *cc)
{
	const struct crypt_options *o = &cc->opt;

	return o->allow_discards + o->same_cpu_crypt +
	       o->submit_from_crypt_cpus + o->no_read_workqueue +
	       o->no_write_workqueue + (o->sector_size != SECTOR_SIZE) +
	       o->iv_large_sectors;
}

/* The table line, options in Linux's order. */
static void crypt_emit_table(struct crypt_ctx *cc, char *result,
			     unsigned int maxlen, unsigned int *sz)
{
	const struct crypt_options *o = &cc->opt;
	unsigned int count = crypt_count_options(cc);

	dmx_emit(result, maxlen, sz, "%s ", cc->cipher.spec);
	mutex_lock(&cc->key_lock);
	crypt_key_emit(&cc->key, result, maxlen, sz);
	mutex_unlock(&cc->key_lock);
	dmx_emit(result, maxlen, sz, " %llu %s %llu", cc->iv_offset,
		 cc->dev->name, (unsigned long long)cc->start);
	if (!count)
		return;
	dmx_emit(result, maxlen, sz, " %u%s%s%s%s%s", count,
		 o->allow_discards ? " allow_discards" : "",
		 o->same_cpu_crypt ? " same_cpu_crypt" : "",
		 o->submit_from_crypt_cpus ? " submit_from_crypt_cpus" : "",
		 o->no_read_workqueue ? " no_read_workqueue" : "",
		 o->no_write_workqueue ? " no_write_workqueue" : "");
	if (o->sector_size != SECTOR_SIZE)
		dmx_emit(result, maxlen, sz, " sector_size:%u", o->sector_size);
	if (o->iv_large_sectors)
		dmx_emit(result, maxlen, sz, " iv_large_sectors");
}

static char crypt_yn(bool b)
{
	return b ? 'y' : 'n';
}

/* The IMA measurement: never the key, nor the device. */
static void crypt_emit_ima(struct dmx_target *ti, char *result,
			   unsigned int maxlen, unsigned int *sz)
{
	struct crypt_ctx *cc = ti->private;
	const struct crypt_options *o = &cc->opt;

	DMX_EMIT_IMA_TARGET(result, maxlen, sz, ti->type);
	dmx_emit(result, maxlen, sz,
		 ",allow_discards=%c,same_cpu_crypt=%c,submit_from_crypt_cpus=%c,no_read_workqueue=%c,no_write_workqueue=%c,iv_large_sectors=%c",
		 crypt_yn(o->allow_discards), crypt_yn(o->same_cpu_crypt),
		 crypt_yn(o->submit_from_crypt_cpus),
		 crypt_yn(o->no_read_workqueue),
		 crypt_yn(o->no_write_workqueue),
		 crypt_yn(o->iv_large_sectors));
	if (o->sector_size != SECTOR_SIZE)
		dmx_emit(result, maxlen, sz, ",sector_size=%u", o->sector_size);
	dmx_emit(result, maxlen, sz,
		 ",cipher_string=%s,key_size=%u,key_parts=%u,key_extra_size=0,key_mac_size=0;",
		 cc->cipher.spec, cc->key.size, cc->cipher.tfms_count);
}

static void crypt_status(struct dmx_target *ti, enum dmx_status_type type,
			 char *result, unsigned int maxlen)
{
	unsigned int sz = 0;

	switch (type) {
	case DMX_STATUS_INFO:
		result[0] = '\0';
		break;
	case DMX_STATUS_TABLE:
		crypt_emit_table(ti->private, result, maxlen, &sz);
		break;
	case DMX_STATUS_IMA:
		crypt_emit_ima(ti, result, maxlen, &sz);
		break;
	}
}

static void crypt_postsuspend(struct dmx_target *ti)
{
	struct crypt_ctx *cc = ti->private;

	mutex_lock(&cc->key_lock);
	cc->suspended = true;
	mutex_unlock(&cc->key_lock);
}

/* A wiped key must be set again before I/O may go on. */
static int crypt_preresume(struct dmx_target *ti)
{
	struct crypt_ctx *cc = ti->private;
	int r = 0;

	mutex_lock(&cc->key_lock);
	if (!cc->key.valid) {
		pr_err(CRYPT_PREFIX "aborting resume - crypt key is not set.\n");
		r = -EAGAIN;
	}
	mutex_unlock(&cc->key_lock);
	return r;
}

static void crypt_resume(struct dmx_target *ti)
{
	struct crypt_ctx *cc = ti->private;

	mutex_lock(&cc->key_lock);
	cc->suspended = false;
	mutex_unlock(&cc->key_lock);
}

/* key set <key>: same size as the key loaded. */
static int crypt_message_set_key(struct crypt_ctx *cc, char *arg)
{
	unsigned int size;
	int r;

	if (crypt_key_parse_size(arg, &size) || size != cc->key.size)
		return -EINVAL;
	r = crypt_set_key(cc, arg);
	if (r)
		pr_warn(CRYPT_PREFIX "key set failed (%d)\n", r);
	return r;
}

/*
 * key wipe, key set <key>: only while suspended, when no I/O is in
 * flight to see the transforms change.  key_lock keeps resume from
 * going on while a key changes.
 */
static int crypt_message(struct dmx_target *ti, unsigned int argc, char **argv,
			 char *result, unsigned int maxlen)
{
	struct crypt_ctx *cc = ti->private;
	int r = -EINVAL;

	if (argc < 2 || strcasecmp(argv[0], "key"))
		goto unknown;
	mutex_lock(&cc->key_lock);
	if (!cc->suspended) {
		pr_warn(CRYPT_PREFIX "not suspended during key manipulation.\n");
	} else if (argc == 3 && !strcasecmp(argv[1], "set")) {
		r = crypt_message_set_key(cc, argv[2]);
	} else if (argc == 2 && !strcasecmp(argv[1], "wipe")) {
		r = crypt_wipe_key(cc);
	} else {
		mutex_unlock(&cc->key_lock);
		goto unknown;
	}
	mutex_unlock(&cc->key_lock);
	goto out;

unknown:
	pr_warn(CRYPT_PREFIX "unrecognised message received.\n");
out:
	if (argc > 2)
		crypt_wipe_string(argv[2]);
	return r;
}

static int crypt_iterate_devices(struct dmx_target *ti, dmx_iterate_fn fn,
				 void *data)
{
	struct crypt_ctx *cc = ti->private;

	return fn(ti, cc->dev, cc->start, ti->len, data);
}

/*
 * Units are never split: the logical block is at least sector_size,
 * and buffers are aligned to it so that a unit stays within a page.
 * Ciphertext bios are made of separate pages, hence one page a segment.
 * (Discards, only with allow_discards, and secure erase, never, are the
 * core's to advertise from num_discard_bios and num_secure_erase_bios.)
 */
static void crypt_io_hints(struct dmx_target *ti, struct queue_limits *limits)
{
	struct crypt_ctx *cc = ti->private;
	unsigned int size = cc->opt.sector_size;

	limits->max_segment_size = PAGE_SIZE;
	limits->logical_block_size = max(limits->logical_block_size, size);
	limits->physical_block_size = max(limits->physical_block_size, size);
	limits->io_min = max(limits->io_min, size);
	limits->dma_alignment = limits->logical_block_size - 1;
}

static struct dmx_target_type crypt_target = {
	.name		 = "crypt",
	.version	 = {1, 24, 0},
	.module		 = THIS_MODULE,
	.ctr		 = crypt_ctr,
	.dtr		 = crypt_dtr,
	.map		 = crypt_map,
	.status		 = crypt_status,
	.postsuspend	 = crypt_postsuspend,
	.preresume	 = crypt_preresume,
	.resume		 = crypt_resume,
	.message	 = crypt_message,
	.iterate_devices = crypt_iterate_devices,
	.io_hints	 = crypt_io_hints,
};

int dmx_crypt_init(void)
{
	return dmx_register_target(&crypt_target);
}

void dmx_crypt_exit(void)
{
	dmx_unregister_target(&crypt_target);
}
