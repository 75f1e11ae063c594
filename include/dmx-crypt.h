/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internals shared by the crypt target's files: the target itself
 * (dm-target-crypt.c: table line, status, messages), the cipher spec and
 * its transforms (dm-crypt-cipher.c), the IV generators
 * (dm-crypt-iv.c), the key and where it comes from (dm-crypt-key.c) and
 * the bio path (dm-crypt-io.c).
 *
 * Vocabulary: a unit is one sector_size piece of data, encrypted on its
 * own with its own IV; its number ("crypt sector") counts 512-byte
 * sectors from the start of the target plus iv_offset, whatever the
 * sector_size.
 */
#ifndef DMX_CRYPT_H
#define DMX_CRYPT_H

#include <linux/bio.h>
#include <linux/mempool.h>
#include <linux/mutex.h>
#include <linux/workqueue.h>
#include <crypto/skcipher.h>

#include "dmx.h"

#define CRYPT_PREFIX		DMX_MSG_PREFIX ": crypt: "

/* The largest sector_size; a unit never spans more than a page. */
#define CRYPT_MAX_SECTOR_SIZE	4096

enum crypt_iv_mode {
	CRYPT_IV_NONE,		/* the cipher takes no IV (ecb) */
	CRYPT_IV_PLAIN,		/* low 32 bits of the sector, little endian */
	CRYPT_IV_PLAIN64,	/* the sector, little endian */
	CRYPT_IV_PLAIN64BE,	/* the sector, big endian, in the last 8 bytes */
	CRYPT_IV_ESSIV,		/* plain64, encrypted by the essiv() template */
	CRYPT_IV_BENBI,		/* big-endian narrow-block count, from 1 */
	CRYPT_IV_NULL,		/* all zeroes */
	CRYPT_IV_EBOIV,		/* the unit's byte offset, encrypted */
};

/* An IV generator and what it needs besides the sector. */
struct crypt_iv {
	enum crypt_iv_mode mode;
	unsigned int size;		/* bytes handed to the cipher, >= 8 */
	unsigned int benbi_shift;	/* log2 of cipher blocks per sector */
	unsigned int sector_size;	/* eboiv: bytes per unit */
	/* eboiv: the volume's cipher, synchronous, keyed as transform 0 */
	struct crypto_sync_skcipher *eboiv_tfm;
};

/* What <cipher> names: the transforms and the IV generator. */
struct crypt_cipher {
	char *spec;			/* the <cipher> field as loaded */
	struct crypto_skcipher **tfms;
	unsigned int tfms_count;	/* keycount: a power of two */
	struct crypt_iv iv;
};

/* The key: its bytes while the table line shows them, and its source. */
struct crypt_key {
	unsigned int size;		/* bytes */
	u8 *bytes;			/* size bytes; zero unless hex-given */
	char *keyring;			/* "<type>:<description>", or NULL */
	bool valid;			/* in the transforms; resume allowed */
};

/* The optional parameters of the table line. */
struct crypt_options {
	bool allow_discards;
	bool same_cpu_crypt;
	bool submit_from_crypt_cpus;
	bool no_read_workqueue;
	bool no_write_workqueue;
	bool iv_large_sectors;
	unsigned int sector_size;	/* bytes: 512..4096, a power of two */
	unsigned int sector_shift;	/* log2(sector_size / 512) */
};

struct crypt_ctx {
	struct dmx_target *ti;
	struct dmx_dev *dev;
	sector_t start;			/* first data sector on dev */
	u64 iv_offset;			/* added to the sector for the IV */
	struct crypt_options opt;
	struct crypt_cipher cipher;

	/*
	 * Serialises key changes (messages) with each other, with status
	 * reading the key, and with resume: key, suspended.
	 */
	struct mutex key_lock;
	struct crypt_key key;
	bool suspended;			/* between postsuspend and resume */

	/* The bio path (dm-crypt-io.c). */
	unsigned int helpers;		/* workers a large bio may enlist */
	unsigned int io_unit_offset;	/* first unit in the per-io data */
	unsigned int unit_req_offset;	/* skcipher request in a unit */
	unsigned int unit_iv_offset;	/* IV in a unit, before aligning */
	unsigned int unit_iv_align;	/* what the cipher wants the IV at */
	unsigned int unit_size;
	mempool_t unit_pool;		/* units beyond the one in each bio */
	mempool_t page_pool;		/* ciphertext pages of writes */
	struct bio_set out_set;		/* ciphertext bios of writes */
	/* One blocking page allocation at a time: see crypt_alloc_pages(). */
	struct mutex page_lock;
	struct workqueue_struct *crypt_wq;	/* crypto that must wait */
	struct workqueue_struct *io_wq;		/* ciphertext submission */
};

/* dm-crypt-cipher.c */
int crypt_cipher_ctr(struct crypt_cipher *c, const char *spec,
		     unsigned int sector_size, const char **error);
void crypt_cipher_dtr(struct crypt_cipher *c);
int crypt_cipher_setkey(struct crypt_cipher *c, const u8 *key,
			unsigned int size);
struct crypto_skcipher *crypt_cipher_tfm(struct crypt_cipher *c, u64 sector);
const char *crypt_cipher_driver(struct crypt_cipher *c);

/* dm-crypt-iv.c */
int crypt_iv_select(struct crypt_iv *iv, const char *name,
		    const char **error);
int crypt_iv_ctr(struct crypt_iv *iv, struct crypto_skcipher *tfm,
		 const char *cipher_api, unsigned int sector_size,
		 const char **error);
void crypt_iv_dtr(struct crypt_iv *iv);
int crypt_iv_setkey(struct crypt_iv *iv, const u8 *key, unsigned int size);
int crypt_iv_generate(struct crypt_iv *iv, u8 *out, u64 iv_sector);

/* dm-crypt-key.c */
int crypt_key_parse_size(const char *arg, unsigned int *size);
int crypt_key_fetch(unsigned int size, char *arg, u8 *bytes, char **keyring);
void crypt_key_emit(const struct crypt_key *k, char *result,
		    unsigned int maxlen, unsigned int *sz);

/* dm-crypt-io.c */
int crypt_io_ctr(struct crypt_ctx *cc, const char **error);
void crypt_io_dtr(struct crypt_ctx *cc);
int crypt_io_map(struct crypt_ctx *cc, struct bio *bio);

#endif /* DMX_CRYPT_H */
