// SPDX-License-Identifier: GPL-2.0
/*
 * Table lines.  Each target type the module registers gets parameters
 * from a grammar of its own (the table syntax of Linux's dm targets,
 * which dmx takes), generated valid, near-valid (one argument wrong,
 * missing or extra) or as noise of the right shape.  A type without a
 * grammar gets noise made of device references and numbers.
 *
 * Devices in parameters are the ramdisks, the pool's own devices (so
 * tables stack), and references that cannot work.
 */
#include "fuzz.h"

#include <stdarg.h>
#include <stdlib.h>


/* One argument of a grammar, the unit a near-valid line gets wrong. */
struct fz_args {
	char *out;
	size_t max;
	size_t len;
	unsigned int n;
	int damage;		/* argument index to get wrong, or -1 */
	bool drop;		/* drop that argument instead */
	struct fz *fz;
};

static void fz_args_init(struct fz_args *a, struct fz *fz, char *out,
			 size_t max, enum fz_validity v, unsigned int expected)
{
	a->out = out;
	a->max = max;
	a->len = 0;
	a->n = 0;
	a->fz = fz;
	a->damage = v == FZ_NEAR ? (int)fz_below(&fz->rng, expected + 1) : -1;
	a->drop = v == FZ_NEAR && fz_chance(&fz->rng, 30);
	out[0] = '\0';
}

static void fz_args_raw(struct fz_args *a, const char *word)
{
	int n;

	if (a->len >= a->max)
		return;
	n = snprintf(a->out + a->len, a->max - a->len, "%s%s", a->len ? " " : "",
		     word);
	if (n > 0)
		a->len += (size_t)n < a->max - a->len ? (size_t)n : a->max - a->len - 1;
}

/* A wrong stand-in for an argument. */
static void fz_bad_word(struct fz *fz, char *w, size_t max)
{
	switch (fz_below(&fz->rng, 6)) {
	case 0:
		snprintf(w, max, "%llu", (unsigned long long)fz_interesting(&fz->rng));
		break;
	case 1:
		snprintf(w, max, "-1");
		break;
	case 2:
		snprintf(w, max, "/dev/null");
		break;
	case 3:
		fz_word(&fz->rng, w, max < 40 ? max : 40, true);
		if (!w[0])
			snprintf(w, max, "x");
		break;
	case 4:
		snprintf(w, max, "%u:%u", (unsigned int)fz_below(&fz->rng, 300),
			 (unsigned int)fz_below(&fz->rng, 1 << 20));
		break;
	default:
		snprintf(w, max, "\\ \\\\");
		break;
	}
}

/* Appends one argument, or its damaged form at the chosen index. */
static void fz_args_add(struct fz_args *a, const char *fmt, ...)
{
	char word[256];
	va_list ap;

	if ((int)a->n++ == a->damage) {
		if (a->drop)
			return;
		fz_bad_word(a->fz, word, sizeof(word));
		fz_args_raw(a, word);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(word, sizeof(word), fmt, ap);
	va_end(ap);
	fz_args_raw(a, word);
}

/* A near-valid line may also carry one argument too many. */
static void fz_args_end(struct fz_args *a)
{
	if ((int)a->n == a->damage)
		fz_args_raw(a, a->drop ? "" : "0");
}

/*
 * A device reference: a ramdisk (by number or path), a pool device
 * (stacking), or one that cannot be opened.  *sectors is its size when
 * known, else 0.  COW references prefer the upper ramdisks.
 */
void fz_device_ref(struct fz *fz, char *out, size_t max, uint64_t *sectors,
		   bool for_cow)
{
	struct fz_rng *r = &fz->rng;
	unsigned int half = fz->nram / 2, i;
	char name[DM_NAME_LEN];
	uint64_t dev;

	*sectors = 0;
	switch (fz_below(r, 20)) {
	case 0 ... 12:
		i = for_cow ? half + fz_below(r, fz->nram - half) : fz_below(r, half);
		if (fz_chance(r, 10))
			i = fz_below(r, fz->nram);
		snprintf(out, max, "%s", fz_chance(r, 80) ? fz->ram[i].devno :
			 fz->ram[i].path);
		*sectors = fz->ram[i].sectors;
		return;
	case 13 ... 16:
		fz_pool_name(fz, name, sizeof(name));
		dev = fz_dev_of(fz, name);
		if (dev) {
			snprintf(out, max, "%u:%u", (unsigned int)((dev & 0xfff00) >> 8),
				 (unsigned int)((dev & 0xff) | ((dev >> 12) & 0xfff00)));
			return;
		}
		/* fall through */
	case 17:
		snprintf(out, max, "%u:%u", fz->dm_major,
			 (unsigned int)fz_below(r, 64));
		return;
	default:
		fz_bad_word(fz, out, max);
		return;
	}
}

/* A length of a data device's range that fits, usually. */
static uint64_t fz_offset_for(struct fz *fz, uint64_t dev_sectors, uint64_t len)
{
	if (!dev_sectors || len >= dev_sectors)
		return 0;
	if (fz_chance(&fz->rng, 40))
		return 0;
	return fz_below(&fz->rng, dev_sectors - len + 1) & ~7ULL;
}

static void fz_linear(struct fz_args *a, uint64_t len)
{
	uint64_t sectors;
	char dev[64];

	fz_device_ref(a->fz, dev, sizeof(dev), &sectors, false);
	fz_args_add(a, "%s", dev);
	fz_args_add(a, "%llu", (unsigned long long)fz_offset_for(a->fz, sectors, len));
	fz_args_end(a);
}

static void fz_striped(struct fz_args *a, uint64_t len)
{
	struct fz *fz = a->fz;
	unsigned int stripes = fz_below(&fz->rng, 4) + 1, i;
	uint64_t chunk = 8ULL << fz_below(&fz->rng, 6), sectors;
	char dev[64];

	/* A valid striped line needs len divisible by stripes * chunk. */
	while (chunk > 8 && len % (stripes * chunk))
		chunk >>= 1;
	if (fz_chance(&fz->rng, 10))
		chunk = fz_chance(&fz->rng, 50) ? 0 : 3 + fz_below(&fz->rng, 100);
	if (fz_chance(&fz->rng, 5))
		stripes = fz_chance(&fz->rng, 50) ? 0 : fz_interesting32(&fz->rng);
	fz_args_add(a, "%u", stripes);
	fz_args_add(a, "%llu", (unsigned long long)chunk);
	for (i = 0; i < stripes && i < 8; i++) {
		fz_device_ref(fz, dev, sizeof(dev), &sectors, false);
		fz_args_add(a, "%s", dev);
		fz_args_add(a, "%llu", (unsigned long long)
			    fz_offset_for(fz, sectors, len / (stripes ? stripes : 1)));
	}
	fz_args_end(a);
}

static void fz_nothing(struct fz_args *a, uint64_t len)
{
	(void)len;
	fz_args_end(a);
}

static void fz_origin(struct fz_args *a, uint64_t len)
{
	uint64_t sectors;
	char dev[64];

	(void)len;
	fz_device_ref(a->fz, dev, sizeof(dev), &sectors, false);
	fz_args_add(a, "%s", dev);
	fz_args_end(a);
}

static const char *fz_store(struct fz *fz, bool merge)
{
	static const char *const stores[] = { "P", "PO", "N", "p", "po", "n",
					      "X", "PP", "" };

	if (merge || fz_chance(&fz->rng, 80))
		return stores[merge ? 0 : fz_below(&fz->rng, 3)];
	return stores[fz_below(&fz->rng, FZ_ARRAY_SIZE(stores))];
}

static void fz_snapshot_common(struct fz_args *a, bool merge)
{
	struct fz *fz = a->fz;
	uint64_t sectors;
	char dev[64];

	fz_device_ref(fz, dev, sizeof(dev), &sectors, false);
	fz_args_add(a, "%s", dev);
	fz_device_ref(fz, dev, sizeof(dev), &sectors, true);
	fz_args_add(a, "%s", dev);
	fz_args_add(a, "%s", fz_store(fz, merge));
	fz_args_add(a, "%llu", (unsigned long long)(fz_chance(&fz->rng, 90) ?
			8ULL << fz_below(&fz->rng, 9) : fz_interesting(&fz->rng)));
	if (fz_chance(&fz->rng, 20)) {
		fz_args_add(a, "%s", fz_chance(&fz->rng, 70) ? "0" : "1");
		if (fz_chance(&fz->rng, 30))
			fz_args_add(a, "discard_zeroes_cow");
	}
	fz_args_end(a);
}

static void fz_snapshot(struct fz_args *a, uint64_t len)
{
	(void)len;
	fz_snapshot_common(a, false);
}

static void fz_snapshot_merge(struct fz_args *a, uint64_t len)
{
	(void)len;
	fz_snapshot_common(a, true);
}

/* Optional features: "<count> <word>...", the count sometimes wrong. */
static void fz_features(struct fz_args *a, const char *const *words,
			unsigned int nwords)
{
	struct fz *fz = a->fz;
	unsigned int n = fz_below(&fz->rng, 3), i;

	if (!nwords || fz_chance(&fz->rng, 40))
		return;
	fz_args_add(a, "%u", fz_chance(&fz->rng, 90) ? n : n + 1);
	for (i = 0; i < n; i++)
		fz_args_add(a, "%s", words[fz_below(&fz->rng, nwords)]);
}

static void fz_flakey(struct fz_args *a, uint64_t len)
{
	static const char *const feats[] = { "drop_writes", "error_writes",
					     "error_reads", "corrupt_bio_byte" };
	struct fz *fz = a->fz;
	uint64_t sectors;
	char dev[64];

	fz_device_ref(fz, dev, sizeof(dev), &sectors, false);
	fz_args_add(a, "%s", dev);
	fz_args_add(a, "%llu", (unsigned long long)fz_offset_for(fz, sectors, len));
	fz_args_add(a, "%llu", (unsigned long long)fz_below(&fz->rng, 5));
	fz_args_add(a, "%llu", (unsigned long long)fz_below(&fz->rng, 5));
	fz_features(a, feats, FZ_ARRAY_SIZE(feats));
	fz_args_end(a);
}

static void fz_delay(struct fz_args *a, uint64_t len)
{
	struct fz *fz = a->fz;
	unsigned int groups = fz_below(&fz->rng, 3) + 1, i;
	uint64_t sectors;
	char dev[64];

	for (i = 0; i < groups; i++) {
		fz_device_ref(fz, dev, sizeof(dev), &sectors, false);
		fz_args_add(a, "%s", dev);
		fz_args_add(a, "%llu", (unsigned long long)fz_offset_for(fz, sectors, len));
		fz_args_add(a, "%llu", (unsigned long long)fz_below(&fz->rng, 20));
	}
	fz_args_end(a);
}

static void fz_dust(struct fz_args *a, uint64_t len)
{
	struct fz *fz = a->fz;
	uint64_t sectors;
	char dev[64];

	fz_device_ref(fz, dev, sizeof(dev), &sectors, false);
	fz_args_add(a, "%s", dev);
	fz_args_add(a, "%llu", (unsigned long long)fz_offset_for(fz, sectors, len));
	fz_args_add(a, "%u", 512U << fz_below(&fz->rng, 5));
	fz_args_end(a);
}

static void fz_crypt(struct fz_args *a, uint64_t len)
{
	static const char *const ciphers[] = {
		"aes-xts-plain64", "aes-cbc-essiv:sha256", "aes-cbc-plain",
		"capi:xts(aes)-plain64", "aes-ecb", "serpent-xts-plain64",
		"aes-xts-random", "null",
	};
	static const char *const feats[] = {
		"allow_discards", "same_cpu_crypt", "submit_from_crypt_cpus",
		"no_read_workqueue", "no_write_workqueue", "sector_size:4096",
		"iv_large_sectors", "sector_size:512",
	};
	struct fz *fz = a->fz;
	unsigned int keylen = fz_chance(&fz->rng, 70) ? 64 : 32, i;
	char key[130], dev[64];
	uint64_t sectors;

	for (i = 0; i < keylen; i++)
		key[i] = "0123456789abcdef"[fz_below(&fz->rng, 16)];
	key[keylen] = '\0';
	fz_args_add(a, "%s", ciphers[fz_below(&fz->rng, FZ_ARRAY_SIZE(ciphers))]);
	if (fz_chance(&fz->rng, 10))
		fz_args_add(a, ":%u:logon:fz%u", keylen / 2,
			    (unsigned int)fz_below(&fz->rng, 3));
	else
		fz_args_add(a, "%s", key);
	fz_args_add(a, "%llu", (unsigned long long)fz_below(&fz->rng, 1000));
	fz_device_ref(fz, dev, sizeof(dev), &sectors, false);
	fz_args_add(a, "%s", dev);
	fz_args_add(a, "%llu", (unsigned long long)fz_offset_for(fz, sectors, len));
	fz_features(a, feats, FZ_ARRAY_SIZE(feats));
	fz_args_end(a);
}

static void fz_thin_pool(struct fz_args *a, uint64_t len)
{
	static const char *const feats[] = {
		"skip_block_zeroing", "ignore_discard", "no_discard_passdown",
		"read_only", "error_if_no_space",
	};
	struct fz *fz = a->fz;
	uint64_t sectors;
	char dev[64];

	(void)len;
	fz_device_ref(fz, dev, sizeof(dev), &sectors, true);
	fz_args_add(a, "%s", dev);
	fz_device_ref(fz, dev, sizeof(dev), &sectors, false);
	fz_args_add(a, "%s", dev);
	fz_args_add(a, "%llu", (unsigned long long)(128ULL << fz_below(&fz->rng, 5)));
	fz_args_add(a, "%llu", (unsigned long long)fz_below(&fz->rng, 100));
	fz_features(a, feats, FZ_ARRAY_SIZE(feats));
	fz_args_end(a);
}

static void fz_thin(struct fz_args *a, uint64_t len)
{
	struct fz *fz = a->fz;
	uint64_t sectors;
	char dev[64];

	(void)len;
	fz_device_ref(fz, dev, sizeof(dev), &sectors, false);
	fz_args_add(a, "%s", dev);
	fz_args_add(a, "%llu", (unsigned long long)fz_below(&fz->rng, 4));
	if (fz_chance(&fz->rng, 20)) {
		fz_device_ref(fz, dev, sizeof(dev), &sectors, false);
		fz_args_add(a, "%s", dev);
	}
	fz_args_end(a);
}

static void fz_mirror(struct fz_args *a, uint64_t len)
{
	struct fz *fz = a->fz;
	unsigned int legs = fz_below(&fz->rng, 3) + 1, i;
	uint64_t sectors;
	char dev[64];

	fz_args_add(a, "core");
	fz_args_add(a, "1");
	fz_args_add(a, "%u", 1024U);
	fz_args_add(a, "%u", legs);
	for (i = 0; i < legs; i++) {
		fz_device_ref(fz, dev, sizeof(dev), &sectors, false);
		fz_args_add(a, "%s", dev);
		fz_args_add(a, "%llu", (unsigned long long)fz_offset_for(fz, sectors, len));
	}
	fz_args_end(a);
}

/* Noise: device references and numbers, for types we know nothing of. */
static void fz_unknown(struct fz_args *a, uint64_t len)
{
	unsigned int n = fz_below(&a->fz->rng, 8), i;
	uint64_t sectors;
	char w[64];

	(void)len;
	for (i = 0; i < n; i++) {
		if (fz_chance(&a->fz->rng, 40))
			fz_device_ref(a->fz, w, sizeof(w), &sectors, false);
		else
			fz_number_text(&a->fz->rng, w, sizeof(w),
				       fz_below(&a->fz->rng, 4096));
		fz_args_raw(a, w);
	}
}

struct fz_grammar {
	const char *type;
	unsigned int args;	/* typical argument count, for damage */
	void (*gen)(struct fz_args *a, uint64_t len);
};

static const struct fz_grammar fz_grammars[] = {
	{ "linear", 2, fz_linear },
	{ "striped", 4, fz_striped },
	{ "error", 0, fz_nothing },
	{ "zero", 0, fz_nothing },
	{ "snapshot-origin", 1, fz_origin },
	{ "snapshot", 4, fz_snapshot },
	{ "snapshot-merge", 4, fz_snapshot_merge },
	{ "flakey", 4, fz_flakey },
	{ "delay", 3, fz_delay },
	{ "dust", 3, fz_dust },
	{ "crypt", 5, fz_crypt },
	{ "thin-pool", 4, fz_thin_pool },
	{ "thin", 2, fz_thin },
	{ "mirror", 6, fz_mirror },
};

static const struct fz_grammar *fz_grammar_of(const char *type)
{
	unsigned int i;

	for (i = 0; i < FZ_ARRAY_SIZE(fz_grammars); i++)
		if (!strcmp(fz_grammars[i].type, type))
			return &fz_grammars[i];
	return NULL;
}

void fz_target_params(struct fz *fz, const char *type, uint64_t len,
		      enum fz_validity v, char *out, size_t max)
{
	const struct fz_grammar *g = fz_grammar_of(type);
	struct fz_args a;

	fz_args_init(&a, fz, out, max, v, g ? g->args : 2);
	if (v == FZ_RANDOM || !g)
		fz_unknown(&a, len);
	else
		g->gen(&a, len);
}

/* A registered type mostly; sometimes one that is not, or is malformed. */
const char *fz_pick_type(struct fz *fz)
{
	static const char *const odd[] = {
		"", "linear ", "LINEAR", "no-such-target", "snapshot-origin2",
		"crypt", "thin", "flakey", "0123456789abcdef",
	};

	if (fz->ntypes && fz_chance(&fz->rng, 95)) {
		/* Favour the core targets the pool is built of. */
		if (fz_chance(&fz->rng, 40))
			return fz_chance(&fz->rng, 60) ? "linear" : "zero";
		return fz->types[fz_below(&fz->rng, fz->ntypes)];
	}
	return odd[fz_below(&fz->rng, FZ_ARRAY_SIZE(odd))];
}

static uint64_t fz_target_len(struct fz *fz)
{
	static const uint64_t lens[] = { 8, 64, 128, 1024, 2048, 4096, 8192,
					 16384, 32768 };

	if (fz_chance(&fz->rng, 90))
		return lens[fz_below(&fz->rng, FZ_ARRAY_SIZE(lens))];
	if (fz_chance(&fz->rng, 50))
		return fz_below(&fz->rng, 40000);
	/*
	 * Huge lengths overflow the device size (a known bug): keep them
	 * out while we avoid the known ones.
	 */
	return fz->avoid_known ? 1 + fz_below(&fz->rng, 7) : fz_interesting(&fz->rng);
}

/*
 * Target specs after the header.  Sector starts follow each other
 * unless damaged; next offsets are libdevmapper's unless damaged.
 */
size_t fz_table_payload(struct fz *fz, struct fz_req *rq)
{
	struct fz_rng *r = &fz->rng;
	unsigned int count, i;
	uint64_t start = 0;
	size_t pos = FZ_HDR;
	enum fz_validity v;

	count = fz_chance(r, 70) ? 1 : 1 + fz_below(r, fz_chance(r, 95) ? 6 : 300);
	for (i = 0; i < count; i++) {
		struct dm_target_spec *spec = (void *)((char *)rq->io + pos);
		const char *type = fz_pick_type(fz);
		uint64_t len = fz_target_len(fz);
		size_t plen, step;

		if (pos + sizeof(*spec) + 512 > FZ_REQ_SIZE)
			break;
		v = fz_chance(r, 60) ? FZ_VALID : fz_chance(r, 75) ? FZ_NEAR : FZ_RANDOM;
		fz_target_params(fz, type, len, v, (char *)(spec + 1),
				 FZ_REQ_SIZE - pos - sizeof(*spec) - 1);
		plen = strlen((char *)(spec + 1)) + 1;
		step = (sizeof(*spec) + plen + 7) & ~(size_t)7;

		spec->sector_start = start;
		spec->length = len;
		spec->status = 0;
		spec->next = step;
		memset(spec->target_type, 0, sizeof(spec->target_type));
		snprintf(spec->target_type, sizeof(spec->target_type), "%s", type);

		if (fz_chance(r, 2))
			spec->sector_start = fz_chance(r, 50) ? start + 1 :
				fz_interesting(r);
		if (fz_chance(r, 2))
			spec->length = 0;
		if (fz_chance(r, 2))
			spec->next = fz_chance(r, 50) ? fz_below(r, sizeof(*spec)) :
				fz_interesting32(r);
		if (fz_chance(r, 1))
			memset(spec->target_type, 'z', sizeof(spec->target_type));
		if (fz_chance(r, 1))
			memset(spec + 1, 'p', plen);	/* unterminated */

		start += len;
		pos += step;
	}
	rq->io->target_count = fz_chance(r, 95) ? i : i + fz_below(r, 3) - 1;
	rq->io->data_start = FZ_HDR;
	rq->used = pos;
	return pos;
}

void fz_message(struct fz *fz, char *out, size_t max)
{
	static const char *const msgs[] = {
		"@cancel_deferred_remove", "@cancel_deferred_remove now",
		"@stats_list", "@stats_create - /100", "@stats_print 0",
		"@stats_delete 0", "@unknown", "@", "@@",
		/* snapshot, dust, thin-pool, crypt, flakey and friends */
		"addbadblock 7", "removebadblock 7", "queryblock 7", "countbadblocks",
		"clearbadblocks", "listbadblocks", "enable", "disable", "quiet",
		"create_thin 0", "create_thin 1", "create_snap 2 0", "delete 0",
		"delete 1", "set_transaction_id 0 1", "reserve_metadata_snap",
		"release_metadata_snap", "key wipe",
		"key set 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		"drop_writes", "error_writes",
	};
	struct fz_rng *r = &fz->rng;
	size_t len, i;

	switch (fz_below(r, 6)) {
	case 0:
		fz_word(r, out, max < 200 ? max : 200, true);
		break;
	case 1:
		/* Long: many words, or one word with backslashes. */
		len = fz_below(r, max - 1);
		for (i = 0; i < len; i++)
			out[i] = fz_chance(r, 20) ? ' ' : fz_chance(r, 5) ? '\\' : 'm';
		out[len] = '\0';
		break;
	case 2:
		snprintf(out, max, "%s", fz_chance(r, 50) ? "" : "   \t ");
		break;
	default:
		snprintf(out, max, "%s", msgs[fz_below(r, FZ_ARRAY_SIZE(msgs))]);
		break;
	}
}
