/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the control device (dm-ioctl.c) and its command families:
 * device commands and the name registry (dm-ioctl-dev.c), table
 * commands (dm-ioctl-table.c).
 */
#ifndef DMX_IOCTL_H
#define DMX_IOCTL_H

#include <linux/fs.h>

#include "dmx-core.h"

#define DMX_IOCTL_ERR(fmt, ...) \
	pr_err(DMX_MSG_PREFIX ": " fmt "\n", ##__VA_ARGS__)

/*
 * Every command gets the kernel copy of the request and the size of the
 * buffer the caller gave; it writes results in place.
 */
typedef int (*dmx_ioctl_fn)(struct file *filp, struct dm_ioctl *param,
			    size_t param_size);

/* dm-ioctl.c */
void *dmx_ioctl_result_buffer(struct dm_ioctl *param, size_t param_size,
			      size_t *len);
bool dmx_ioctl_str_ok(const char *str, const void *end);

/* dm-ioctl-dev.c */
struct mapped_device *dmx_registry_find(struct dm_ioctl *param);
struct dmx_table *dmx_registry_take_inactive(struct mapped_device *md);
int dmx_registry_stage_inactive(struct mapped_device *md,
				struct dmx_table *table,
				struct dmx_table **replaced);
struct dmx_table *dmx_md_get_table(struct mapped_device *md, bool inactive,
				   int *srcu_idx);
void dmx_ioctl_fill_status(struct mapped_device *md, struct dm_ioctl *param);
int dmx_ioctl_remove_all(struct file *filp, struct dm_ioctl *param, size_t size);
int dmx_ioctl_list_devices(struct file *filp, struct dm_ioctl *param, size_t size);
int dmx_ioctl_dev_create(struct file *filp, struct dm_ioctl *param, size_t size);
int dmx_ioctl_dev_remove(struct file *filp, struct dm_ioctl *param, size_t size);
int dmx_ioctl_dev_rename(struct file *filp, struct dm_ioctl *param, size_t size);
int dmx_ioctl_dev_suspend(struct file *filp, struct dm_ioctl *param, size_t size);
int dmx_ioctl_dev_status(struct file *filp, struct dm_ioctl *param, size_t size);
int dmx_ioctl_dev_wait(struct file *filp, struct dm_ioctl *param, size_t size);
int dmx_ioctl_dev_set_geometry(struct file *filp, struct dm_ioctl *param,
			       size_t size);

/* dm-ioctl-table.c */
void dmx_ioctl_retrieve_status(struct dmx_table *table, struct dm_ioctl *param,
			       size_t param_size);
int dmx_ioctl_table_load(struct file *filp, struct dm_ioctl *param, size_t size);
int dmx_ioctl_table_clear(struct file *filp, struct dm_ioctl *param, size_t size);
int dmx_ioctl_table_deps(struct file *filp, struct dm_ioctl *param, size_t size);
int dmx_ioctl_table_status(struct file *filp, struct dm_ioctl *param, size_t size);
int dmx_ioctl_target_msg(struct file *filp, struct dm_ioctl *param, size_t size);

#endif /* DMX_IOCTL_H */
