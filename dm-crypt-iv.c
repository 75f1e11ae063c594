// SPDX-License-Identifier: GPL-2.0
/*
 * IV generators of the crypt target: the IV of each unit from its IV
 * sector (the crypt sector, or the unit number with iv_large_sectors).
 * They reproduce Linux's dm-crypt bit for bit, so that a volume written
 * by either reads back through the other:
 *
 *   plain      low 32 bits of the IV sector, little endian, zero padded
 *   plain64    the IV sector, 64-bit little endian, zero padded
 *   plain64be  the IV sector, 64-bit big endian, in the last 8 bytes
 *   essiv      plain64; the essiv() template around the cipher encrypts
 *              it with the hash of the key (dm-crypt-cipher.c asks for it)
 *   benbi      big-endian count of cipher blocks from the start, plus
 *              one, in the last 8 bytes (narrow block modes, e.g. lrw)
 *   null       zeroes
 *   eboiv      the unit's byte offset, 64-bit little endian, encrypted
 *              with the volume's cipher and key (BitLocker); the
 *              encryption is one block of the cipher on a zero block
 *              with the offset as IV, as Linux does it
 *
 * Every IV is at least 8 bytes, zero padded, even for ciphers whose IV
 * is smaller, as in Linux.  Nothing here allocates or sleeps: eboiv
 * uses a synchronous transform of its own with a request on the stack,
 * so an IV can be made in any context the bio path runs crypto in.
 */
#include <linux/log2.h>
#include <linux/scatterlist.h>
#include <linux/string.h>
#include <crypto/skcipher.h>

#include "dmx-crypt.h"

/*
 * Picks the generator for the IV mode of a cipher spec (NULL: none).
 * The modes that need per-unit metadata or extra secrets (random, lmk,
 * tcw, elephant) are refused.
 */
int crypt_iv_select(struct crypt_iv *iv, const char *name, const char **error)
{
	static const struct {
		const char *name;
		enum crypt_iv_mode mode;
	} modes[] = {
		{ "plain", CRYPT_IV_PLAIN },
		{ "plain64", CRYPT_IV_PLAIN64 },
		{ "plain64be", CRYPT_IV_PLAIN64BE },
		{ "essiv", CRYPT_IV_ESSIV },
		{ "benbi", CRYPT_IV_BENBI },
		{ "null", CRYPT_IV_NULL },
		{ "eboiv", CRYPT_IV_EBOIV },
	};
	static const char * const unsupported[] = {
		"random", "lmk", "tcw", "elephant",
	};
	unsigned int i;

	iv->mode = CRYPT_IV_NONE;
	if (!name)
		return 0;
	for (i = 0; i < ARRAY_SIZE(modes); i++) {
		if (!strcmp(name, modes[i].name)) {
			iv->mode = modes[i].mode;
			return 0;
		}
	}
	for (i = 0; i < ARRAY_SIZE(unsupported); i++) {
		if (!strcmp(name, unsupported[i])) {
			*error = "IV mode not supported by dmx (random, lmk, tcw, elephant)";
			return -EINVAL;
		}
	}
	*error = "Invalid IV mode";
	return -EINVAL;
}

static int crypt_iv_benbi_ctr(struct crypt_iv *iv, struct crypto_skcipher *tfm,
			      const char **error)
{
	unsigned int bs = crypto_skcipher_blocksize(tfm);

	if (!is_power_of_2(bs)) {
		*error = "cypher blocksize is not a power of 2";
		return -EINVAL;
	}
	if (bs > 512) {
		*error = "cypher blocksize is > 512";
		return -EINVAL;
	}
	iv->benbi_shift = 9 - ilog2(bs);
	return 0;
}

static int crypt_iv_eboiv_ctr(struct crypt_iv *iv, struct crypto_skcipher *tfm,
			      const char *cipher_api, const char **error)
{
	struct crypto_sync_skcipher *sync;

	if (crypto_skcipher_blocksize(tfm) != iv->size) {
		*error = "Block size of EBOIV cipher does not match IV size of block cipher";
		return -EINVAL;
	}
	sync = crypto_alloc_sync_skcipher(cipher_api, 0, 0);
	if (IS_ERR(sync)) {
		*error = "Error allocating EBOIV transform";
		return PTR_ERR(sync);
	}
	iv->eboiv_tfm = sync;
	return 0;
}

/*
 * Checks and prepares the generator for the cipher (tfm, allocated as
 * cipher_api) once its IV size is known.
 */
int crypt_iv_ctr(struct crypt_iv *iv, struct crypto_skcipher *tfm,
		 const char *cipher_api, unsigned int sector_size,
		 const char **error)
{
	iv->sector_size = sector_size;
	switch (iv->mode) {
	case CRYPT_IV_BENBI:
		return crypt_iv_benbi_ctr(iv, tfm, error);
	case CRYPT_IV_EBOIV:
		return crypt_iv_eboiv_ctr(iv, tfm, cipher_api, error);
	default:
		return 0;
	}
}

void crypt_iv_dtr(struct crypt_iv *iv)
{
	if (iv->eboiv_tfm)
		crypto_free_sync_skcipher(iv->eboiv_tfm);
	iv->eboiv_tfm = NULL;
}

/* Keys the generator's own transform with transform 0's key. */
int crypt_iv_setkey(struct crypt_iv *iv, const u8 *key, unsigned int size)
{
	if (!iv->eboiv_tfm)
		return 0;
	return crypto_sync_skcipher_setkey(iv->eboiv_tfm, key, size);
}

/* The IV is only byte-aligned: values go in with memcpy(). */
static void crypt_iv_put_le64(u8 *out, u64 value)
{
	__le64 v = cpu_to_le64(value);

	memcpy(out, &v, sizeof(v));
}

static void crypt_iv_put_be64(u8 *out, u64 value)
{
	__be64 v = cpu_to_be64(value);

	memcpy(out, &v, sizeof(v));
}

static int crypt_iv_eboiv(struct crypt_iv *iv, u8 *out, u64 iv_sector)
{
	SYNC_SKCIPHER_REQUEST_ON_STACK(req, iv->eboiv_tfm);
	u8 offset[16];
	struct scatterlist src, dst;
	int r;

	/* eboiv's IV size is the block size: a block cipher's, at most 16. */
	if (WARN_ON_ONCE(iv->size > sizeof(offset)))
		return -EINVAL;
	memset(offset, 0, iv->size);
	crypt_iv_put_le64(offset, iv_sector * iv->sector_size);

	sg_init_one(&src, page_address(ZERO_PAGE(0)), iv->size);
	sg_init_one(&dst, out, iv->size);
	skcipher_request_set_sync_tfm(req, iv->eboiv_tfm);
	skcipher_request_set_callback(req, 0, NULL, NULL);
	skcipher_request_set_crypt(req, &src, &dst, iv->size, offset);
	r = crypto_skcipher_encrypt(req);
	skcipher_request_zero(req);
	memzero_explicit(offset, sizeof(offset));
	return r;
}

/* Writes the iv->size bytes of the IV for iv_sector to out. */
int crypt_iv_generate(struct crypt_iv *iv, u8 *out, u64 iv_sector)
{
	switch (iv->mode) {
	case CRYPT_IV_NONE:
		return 0;
	case CRYPT_IV_PLAIN:
		memset(out, 0, iv->size);
		crypt_iv_put_le64(out, lower_32_bits(iv_sector));
		return 0;
	case CRYPT_IV_PLAIN64:
	case CRYPT_IV_ESSIV:
		memset(out, 0, iv->size);
		crypt_iv_put_le64(out, iv_sector);
		return 0;
	case CRYPT_IV_PLAIN64BE:
		memset(out, 0, iv->size);
		crypt_iv_put_be64(out + iv->size - sizeof(u64), iv_sector);
		return 0;
	case CRYPT_IV_BENBI:
		memset(out, 0, iv->size);
		crypt_iv_put_be64(out + iv->size - sizeof(u64),
				  (iv_sector << iv->benbi_shift) + 1);
		return 0;
	case CRYPT_IV_NULL:
		memset(out, 0, iv->size);
		return 0;
	case CRYPT_IV_EBOIV:
		return crypt_iv_eboiv(iv, out, iv_sector);
	}
	return -EINVAL;
}
