// SPDX-License-Identifier: GPL-2.0
/*
 * The crypt target's <cipher> field and the crypto API transforms it
 * names.  Two forms, as in Linux:
 *
 *   <cipher>[:<keycount>]-<chainmode>-<ivmode>[:<ivopts>]
 *       aes-xts-plain64 is the transform "xts(aes)" with IV mode plain64.
 *       A bare cipher means cbc-plain; every chain mode but ecb needs an
 *       IV mode.  keycount transforms (a power of two) share the key in
 *       equal parts; unit n uses transform n mod keycount.
 *   capi:<crypto API name>-<ivmode>[:<ivopts>]
 *       the transform by its crypto API name, e.g. capi:xts(aes)-plain64;
 *       split at the last ':' and the last '-'.
 *
 * essiv:<hash> wraps the transform in the essiv() template, which makes
 * the IV from the hash of the key.  Whatever the kernel's crypto API
 * offers under those names works (serpent, twofish, adiantum, ...): the
 * API loads the modules and picks the fastest implementation, which may
 * be asynchronous (aesni through cryptd); implementations that allocate
 * memory per request are excluded, since the bio path must not.
 * Authenticated (AEAD) modes are not supported.
 */
#include <linux/log2.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <crypto/skcipher.h>

#include "dmx-crypt.h"

/* As many transforms as Linux's lmk mode uses; more is no use. */
#define CRYPT_MAX_TFMS		64

/* The split-up spec: pointers into a copy of it. */
struct crypt_spec {
	char *api;		/* crypto API name, built or given */
	const char *ivmode;	/* NULL: none */
	const char *ivopts;
	unsigned int tfms_count;
};

static int crypt_spec_api_name(struct crypt_spec *s, const char *chainmode,
			       const char *cipher, const char **error)
{
	if (s->ivmode && !strcmp(s->ivmode, "essiv")) {
		if (!s->ivopts) {
			*error = "Digest algorithm missing for ESSIV mode";
			return -EINVAL;
		}
		s->api = cipher ? kasprintf(GFP_KERNEL, "essiv(%s(%s),%s)",
					    chainmode, cipher, s->ivopts) :
				  kasprintf(GFP_KERNEL, "essiv(%s,%s)",
					    chainmode, s->ivopts);
	} else {
		s->api = cipher ? kasprintf(GFP_KERNEL, "%s(%s)", chainmode, cipher) :
				  kstrdup(chainmode, GFP_KERNEL);
	}
	if (!s->api) {
		*error = "Cannot allocate cipher strings";
		return -ENOMEM;
	}
	if (strlen(s->api) >= CRYPTO_MAX_ALG_NAME) {
		*error = "Cipher name too long";
		return -EINVAL;
	}
	return 0;
}

/* capi:<api>-<ivmode>[:<ivopts>]; spec is the part after "capi:". */
static int crypt_spec_parse_capi(struct crypt_spec *s, char *spec,
				 const char **error)
{
	char *opts, *mode;

	s->tfms_count = 1;
	opts = strrchr(spec, ':');
	if (opts) {
		*opts++ = '\0';
		s->ivopts = opts;
	}
	mode = strrchr(spec, '-');
	if (mode) {
		*mode++ = '\0';
		s->ivmode = mode;
	}
	return crypt_spec_api_name(s, spec, NULL, error);
}

/* <cipher>[:<keycount>]-<chainmode>-<ivmode>[:<ivopts>] */
static int crypt_spec_parse_old(struct crypt_spec *s, char *spec,
				const char **error)
{
	char *rest = spec, *keycount, *cipher, *chainmode;
	char dummy;

	if (strchr(spec, '(')) {
		*error = "Bad cipher specification";
		return -EINVAL;
	}
	keycount = strsep(&rest, "-");
	cipher = strsep(&keycount, ":");
	s->tfms_count = 1;
	if (keycount && (sscanf(keycount, "%u%c", &s->tfms_count, &dummy) != 1 ||
			 !is_power_of_2(s->tfms_count) ||
			 s->tfms_count > CRYPT_MAX_TFMS)) {
		*error = "Bad cipher key count specification";
		return -EINVAL;
	}

	chainmode = strsep(&rest, "-");
	s->ivmode = strsep(&rest, ":");
	s->ivopts = rest;
	/* The original table format: a bare cipher, or <cipher>-plain. */
	if (!chainmode || (!strcmp(chainmode, "plain") && !s->ivmode)) {
		chainmode = "cbc";
		s->ivmode = "plain";
	}
	if (strcmp(chainmode, "ecb") && !s->ivmode) {
		*error = "IV mechanism required";
		return -EINVAL;
	}
	return crypt_spec_api_name(s, chainmode, cipher, error);
}

static int crypt_cipher_alloc_tfms(struct crypt_cipher *c, const char *api)
{
	unsigned int i;

	c->tfms = kcalloc(c->tfms_count, sizeof(*c->tfms), GFP_KERNEL);
	if (!c->tfms)
		return -ENOMEM;
	for (i = 0; i < c->tfms_count; i++) {
		c->tfms[i] = crypto_alloc_skcipher(api, 0,
						   CRYPTO_ALG_ALLOCATES_MEMORY);
		if (IS_ERR(c->tfms[i])) {
			int r = PTR_ERR(c->tfms[i]);

			c->tfms[i] = NULL;
			return r;
		}
	}
	return 0;
}

/* The IV size a cipher gets: at least a 64-bit sector number. */
static void crypt_cipher_iv_size(struct crypt_cipher *c, const char *ivmode)
{
	unsigned int size = crypto_skcipher_ivsize(c->tfms[0]);

	if (size) {
		c->iv.size = max_t(unsigned int, size, sizeof(u64));
		return;
	}
	c->iv.size = 0;
	if (ivmode)
		pr_warn(CRYPT_PREFIX "%s takes no IV: IV mode %s ignored\n",
			c->spec, ivmode);
	c->iv.mode = CRYPT_IV_NONE;
}

/*
 * Parses spec and allocates its transforms and IV generator; on
 * failure *error says why and the caller runs crypt_cipher_dtr().
 */
int crypt_cipher_ctr(struct crypt_cipher *c, const char *spec,
		     unsigned int sector_size, const char **error)
{
	struct crypt_spec s = { };
	char *copy;
	int r;

	c->spec = kstrdup(spec, GFP_KERNEL);
	copy = kstrdup(spec, GFP_KERNEL);
	if (!c->spec || !copy) {
		*error = "Cannot allocate cipher strings";
		r = -ENOMEM;
		goto out;
	}
	if (strstarts(copy, "capi:"))
		r = crypt_spec_parse_capi(&s, copy + strlen("capi:"), error);
	else
		r = crypt_spec_parse_old(&s, copy, error);
	if (r)
		goto out;
	r = crypt_iv_select(&c->iv, s.ivmode, error);
	if (r)
		goto out;

	c->tfms_count = s.tfms_count;
	r = crypt_cipher_alloc_tfms(c, s.api);
	if (r) {
		*error = "Error allocating crypto tfm";
		goto out;
	}
	crypt_cipher_iv_size(c, s.ivmode);
	r = crypt_iv_ctr(&c->iv, c->tfms[0], s.api, sector_size, error);
out:
	kfree(s.api);
	kfree(copy);
	return r;
}

void crypt_cipher_dtr(struct crypt_cipher *c)
{
	unsigned int i;

	crypt_iv_dtr(&c->iv);
	if (c->tfms) {
		for (i = 0; i < c->tfms_count; i++)
			if (c->tfms[i])
				crypto_free_skcipher(c->tfms[i]);
		kfree(c->tfms);
	}
	c->tfms = NULL;
	kfree(c->spec);
	c->spec = NULL;
}

/*
 * Keys every transform with its share of key.  A failure may leave
 * some keyed, some not: the caller marks the key invalid.
 */
int crypt_cipher_setkey(struct crypt_cipher *c, const u8 *key,
			unsigned int size)
{
	unsigned int part = size >> ilog2(c->tfms_count);
	unsigned int i;
	int r, err = 0;

	for (i = 0; i < c->tfms_count; i++) {
		r = crypto_skcipher_setkey(c->tfms[i], key + i * part, part);
		if (r)
			err = r;
	}
	r = crypt_iv_setkey(&c->iv, key, part);
	return err ?: r;
}

/* The transform for the unit whose crypt sector is sector. */
struct crypto_skcipher *crypt_cipher_tfm(struct crypt_cipher *c, u64 sector)
{
	return c->tfms[sector & (c->tfms_count - 1)];
}

/* The implementation the crypto API picked, for the log. */
const char *crypt_cipher_driver(struct crypt_cipher *c)
{
	return crypto_tfm_alg_driver_name(crypto_skcipher_tfm(c->tfms[0]));
}
