// SPDX-License-Identifier: GPL-2.0
/*
 * The crypt target's <key> field: where the key comes from and how the
 * table line shows it.
 *
 *   <hex digits>              the key itself, two digits a byte
 *   -                         no key (a cipher that takes none)
 *   :<size>:<type>:<desc>     a key of <size> bytes in the kernel keyring:
 *                             type logon or user (and encrypted where the
 *                             kernel has it built in), found with
 *                             request_key() in the caller's keyrings
 *
 * cryptsetup adds a LUKS2 volume key to its thread keyring just before
 * the table load, so the lookup must run in the loading ioctl, as here.
 * A hex key in the table line is overwritten with '0's once decoded;
 * the ioctl layer wipes the whole request too when it carries
 * DM_SECURE_DATA_FLAG.  Only a hex key is kept (the table line shows
 * it, as Linux's does); a keyring key is forgotten once it is in the
 * transforms, and the table line names it instead.
 */
#include <linux/ctype.h>
#include <linux/key.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <keys/encrypted-type.h>
#include <keys/user-type.h>

#include "dmx-crypt.h"

/* Far above any real key (64 transforms of 64 bytes), below a warning. */
#define CRYPT_MAX_KEY_SIZE	8192

int crypt_key_parse_size(const char *arg, unsigned int *size)
{
	const char *colon;
	char digits[12];
	size_t len;

	if (arg[0] != ':') {
		len = strlen(arg);
		if (!strcmp(arg, "-")) {
			*size = 0;
			return 0;
		}
		if (len % 2 || len / 2 > CRYPT_MAX_KEY_SIZE)
			return -EINVAL;
		*size = len / 2;
		return 0;
	}

	colon = strchr(arg + 1, ':');
	if (!colon || colon == arg + 1 || colon - arg - 1 >= sizeof(digits))
		return -EINVAL;
	memcpy(digits, arg + 1, colon - arg - 1);
	digits[colon - arg - 1] = '\0';
	if (kstrtouint(digits, 10, size) || *size > CRYPT_MAX_KEY_SIZE)
		return -EINVAL;
	return 0;
}

static bool crypt_key_has_space(const char *s)
{
	for (; *s; s++)
		if (isspace(*s))
			return true;
	return false;
}

/* logon and user keys: the payload is the key. */
static int crypt_key_copy_user(const struct key *key, u8 *bytes,
			       unsigned int size)
{
	const struct user_key_payload *ukp = user_key_payload_locked(key);

	if (!ukp)
		return -EKEYREVOKED;
	if (ukp->datalen != size)
		return -EINVAL;
	memcpy(bytes, ukp->data, size);
	return 0;
}

/* encrypted keys: the decrypted payload is the key. */
static int crypt_key_copy_encrypted(const struct key *key, u8 *bytes,
				    unsigned int size)
{
	const struct encrypted_key_payload *ekp = key->payload.data[0];

	if (!ekp)
		return -EKEYREVOKED;
	if (ekp->decrypted_datalen != size)
		return -EINVAL;
	memcpy(bytes, ekp->decrypted_data, size);
	return 0;
}

typedef int (*crypt_key_copy_fn)(const struct key *key, u8 *bytes,
				 unsigned int size);

/*
 * The key type named by the len bytes at name.  encrypted only where
 * it is built in: a module's key type would make dmx depend on it.
 */
static struct key_type *crypt_key_type(const char *name, size_t len,
				       crypt_key_copy_fn *copy)
{
	*copy = crypt_key_copy_user;
	if (len == 5 && !strncmp(name, "logon", len))
		return &key_type_logon;
	if (len == 4 && !strncmp(name, "user", len))
		return &key_type_user;
	if (IS_BUILTIN(CONFIG_ENCRYPTED_KEYS) && len == 9 &&
	    !strncmp(name, "encrypted", len)) {
		*copy = crypt_key_copy_encrypted;
		return &key_type_encrypted;
	}
	return NULL;
}

/* spec is "<type>:<description>". */
static int crypt_key_from_keyring(unsigned int size, const char *spec,
				  u8 *bytes, char **keyring)
{
	const char *desc = strchr(spec, ':');
	struct key_type *type;
	crypt_key_copy_fn copy;
	struct key *key;
	char *name;
	int r;

	/* The table line could not show a description with a space. */
	if (!desc || desc == spec || !desc[1] || crypt_key_has_space(spec))
		return -EINVAL;
	type = crypt_key_type(spec, desc - spec, &copy);
	if (!type)
		return -EINVAL;
	name = kstrdup(spec, GFP_KERNEL);
	if (!name)
		return -ENOMEM;

	key = request_key(type, desc + 1, NULL);
	if (IS_ERR(key)) {
		r = PTR_ERR(key);
		goto bad;
	}
	down_read(&key->sem);
	r = copy(key, bytes, size);
	up_read(&key->sem);
	key_put(key);
	if (r)
		goto bad;
	*keyring = name;
	return 0;

bad:
	kfree(name);
	return r;
}

static int crypt_key_from_hex(unsigned int size, const char *hex, u8 *bytes)
{
	if (strlen(hex) != 2 * (size_t)size)
		return -EINVAL;
	return hex2bin(bytes, hex, size);
}

/*
 * Fills bytes (size of them) from the <key> field arg, whose size
 * crypt_key_parse_size() gave.  *keyring becomes the "<type>:<desc>"
 * of a keyring key, or NULL.  arg is overwritten; on failure bytes may
 * hold part of a key and the caller wipes them.
 */
int crypt_key_fetch(unsigned int size, char *arg, u8 *bytes, char **keyring)
{
	const char *spec;
	int r;

	*keyring = NULL;
	if (arg[0] == ':') {
		spec = strchr(arg + 1, ':');
		r = size && spec ? crypt_key_from_keyring(size, spec + 1, bytes,
							  keyring) : -EINVAL;
	} else if (!strcmp(arg, "-")) {
		r = size ? -EINVAL : 0;
	} else {
		r = size ? crypt_key_from_hex(size, arg, bytes) : -EINVAL;
	}
	memset(arg, '0', strlen(arg));
	return r;
}

/* The <key> field of the table line. */
void crypt_key_emit(const struct crypt_key *k, char *result,
		    unsigned int maxlen, unsigned int *sz)
{
	unsigned int i, n;

	if (!k->size) {
		dmx_emit(result, maxlen, sz, "-");
		return;
	}
	if (k->keyring) {
		dmx_emit(result, maxlen, sz, ":%u:%s", k->size, k->keyring);
		return;
	}
	/* %*phN prints at most 64 bytes at a time. */
	for (i = 0; i < k->size; i += n) {
		n = min(k->size - i, 64U);
		dmx_emit(result, maxlen, sz, "%*phN", n, k->bytes + i);
	}
}
