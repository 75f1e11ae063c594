/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The dmx target API: what a target type implements and what the core
 * offers it.  A target maps one contiguous range of a mapped device; the
 * core finds the target for each bio, clones the bio, hands the clone to
 * the target's map function and completes the original once every clone
 * has completed.
 */
#ifndef DMX_H
#define DMX_H

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/refcount.h>

#include "dmx-compat.h"

#define DMX_MSG_PREFIX "dmx"

struct dmx_table;
struct dmx_target;

/* What a map function did with the clone it was given. */
enum dmx_map_result {
	DMX_MAPIO_REMAPPED,	/* clone retargeted: the core submits it */
	DMX_MAPIO_SUBMITTED,	/* target owns the clone and will end it */
	DMX_MAPIO_KILL,		/* fail the clone with an I/O error */
};

/* A message function's return when it wrote an answer for userland. */
#define DMX_MESSAGE_HAS_RESULT	1

/* What an end_io function wants done with a completed clone. */
enum dmx_endio_result {
	DMX_ENDIO_DONE,		/* complete the original with *error */
	DMX_ENDIO_INCOMPLETE,	/* target resubmitted it and ends it later */
};

enum dmx_status_type {
	DMX_STATUS_INFO,	/* dmsetup status */
	DMX_STATUS_TABLE,	/* dmsetup table: the constructor line */
	DMX_STATUS_IMA,		/* key=value;  for DM_IMA_MEASUREMENT_FLAG */
};

/* Starts every DMX_STATUS_IMA line: which target, which version. */
#define DMX_EMIT_IMA_TARGET(result, maxlen, sz, tt) \
	dmx_emit(result, maxlen, sz, "target_name=%s,target_version=%u.%u.%u", \
		 (tt)->name, (tt)->version[0], (tt)->version[1], (tt)->version[2])

/* An underlying device a table refers to; shared by its targets. */
struct dmx_dev {
	struct list_head list;		/* in dmx_table.devices */
	struct dmx_bdev_handle handle;
	struct block_device *bdev;	/* == handle.bdev */
	bool holder_linked;		/* listed in the disk's slaves/ */
	refcount_t count;		/* targets of the table using it */
	char name[16];			/* "major:minor" */
};

typedef int (*dmx_iterate_fn)(struct dmx_target *ti, struct dmx_dev *dev,
			      sector_t start, sector_t len, void *data);

/* dmx_target_type.features */
#define DMX_TARGET_NOWAIT	(1U << 0)	/* map never blocks the submitter */

struct dmx_target_type {
	const char *name;
	struct module *module;
	unsigned int version[3];
	unsigned int features;		/* DMX_TARGET_* */

	/* ctr sets ti->error to a short reason when it fails. */
	int (*ctr)(struct dmx_target *ti, unsigned int argc, char **argv);
	void (*dtr)(struct dmx_target *ti);
	/* Allocation-free fast path; bio is a clone inside the target. */
	int (*map)(struct dmx_target *ti, struct bio *bio);
	int (*end_io)(struct dmx_target *ti, struct bio *bio, blk_status_t *error);
	void (*presuspend)(struct dmx_target *ti);
	void (*postsuspend)(struct dmx_target *ti);
	int (*preresume)(struct dmx_target *ti);
	void (*resume)(struct dmx_target *ti);
	void (*status)(struct dmx_target *ti, enum dmx_status_type type,
		       char *result, unsigned int maxlen);
	/*
	 * 0 or -errno; DMX_MESSAGE_HAS_RESULT once it has written a
	 * NUL-terminated answer to result.
	 */
	int (*message)(struct dmx_target *ti, unsigned int argc, char **argv,
		       char *result, unsigned int maxlen);
	int (*iterate_devices)(struct dmx_target *ti, dmx_iterate_fn fn,
			       void *data);
	/* Adjusts the limits stacked from the target's devices (io_min...). */
	void (*io_hints)(struct dmx_target *ti, struct queue_limits *limits);

	struct list_head list;		/* in the registry, under its lock */
};

struct dmx_target {
	struct dmx_table *table;
	struct dmx_target_type *type;
	sector_t begin;			/* first sector on the mapped device */
	sector_t len;			/* sectors */
	void *private;			/* the target's own context */
	const char *error;		/* why ctr failed, for the one dmesg line */

	/* Set by ctr; read by the core's bio path. */
	u32 max_io_len;			/* split bios at multiples; 0: never */
	unsigned int num_flush_bios;	/* clones of each empty flush */
	unsigned int num_discard_bios;	/* 0: discards fail with EOPNOTSUPP */
	unsigned int num_secure_erase_bios; /* 0: secure erase EOPNOTSUPP */
	unsigned int num_write_zeroes_bios; /* 0: the device offers none */
	/*
	 * Discards are advertised only if every target takes them: a
	 * target that handles them itself says so here, the others need
	 * every one of their devices to take them.
	 */
	bool discards_supported;
	unsigned int per_io_data_size;	/* bytes of per-clone target data */
};

/* Registry. */
int dmx_register_target(struct dmx_target_type *tt);
void dmx_unregister_target(struct dmx_target_type *tt);

/* Underlying devices: path or "major:minor", opened for the table's mode. */
int dmx_get_device(struct dmx_target *ti, const char *path,
		   struct dmx_dev **result);
void dmx_put_device(struct dmx_target *ti, struct dmx_dev *dev);

/* Per-clone data and flush copies, valid inside map and end_io. */
void *dmx_per_io_data(struct bio *clone);
unsigned int dmx_bio_flush_index(struct bio *clone);

/* Signal an event on the target's device (DEV_WAIT, poll wake up). */
void dmx_target_event(struct dmx_target *ti);

/* Mode of the target's table: DMX_MODE_READ, maybe | DMX_MODE_WRITE. */
dmx_mode_t dmx_target_mode(struct dmx_target *ti);

/* The number of the mapped device the target's table belongs to. */
dev_t dmx_target_devt(struct dmx_target *ti);

/*
 * Status output: appends to result, never beyond maxlen.  *sz is the
 * running length; on overflow it becomes maxlen, which the ioctl layer
 * reports as DM_BUFFER_FULL_FLAG.
 */
__printf(4, 5)
void dmx_emit(char *result, unsigned int maxlen, unsigned int *sz,
	      const char *fmt, ...);

/* Parses a non-negative sector count or offset; false on junk. */
bool dmx_parse_sector(const char *arg, sector_t *out);

/* Registered at module load by dm-module.c. */
int dmx_linear_init(void);
void dmx_linear_exit(void);
int dmx_striped_init(void);
void dmx_striped_exit(void);
int dmx_error_init(void);
void dmx_error_exit(void);
int dmx_zero_init(void);
void dmx_zero_exit(void);
int dmx_snapshot_init(void);
void dmx_snapshot_exit(void);
int dmx_flakey_init(void);
void dmx_flakey_exit(void);
int dmx_delay_init(void);
void dmx_delay_exit(void);
int dmx_dust_init(void);
void dmx_dust_exit(void);
int dmx_crypt_init(void);
void dmx_crypt_exit(void);
int dmx_thin_pool_init(void);
void dmx_thin_pool_exit(void);
int dmx_thin_init(void);
void dmx_thin_exit(void);
int dmx_mirror_init(void);
void dmx_mirror_exit(void);

#endif /* DMX_H */
