/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the control device (dm-ioctl.c) and its command families:
 * device commands (dm-ioctl-dev.c), suspend and resume
 * (dm-ioctl-suspend.c), table commands (dm-ioctl-table.c), and what
 * they all report (dm-ioctl-report.c).
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

/* dm-ioctl-report.c: what the commands report about a device. */
typedef void (*dmx_table_report_fn)(struct dmx_table *t, struct dm_ioctl *param,
				    size_t size);
void dmx_ioctl_fill_status(struct mapped_device *md, struct dm_ioctl *param);
struct dmx_table *dmx_ioctl_get_table(struct mapped_device *md, bool inactive,
				      int *srcu_idx);
void dmx_ioctl_retrieve_status(struct dmx_table *t, struct dm_ioctl *param,
			       size_t param_size);
void dmx_ioctl_retrieve_deps(struct dmx_table *t, struct dm_ioctl *param,
			     size_t size);
void dmx_ioctl_report_table(struct mapped_device *md, struct dm_ioctl *param,
			    size_t size, dmx_table_report_fn report);

/* dm-ioctl-dev.c */
int dmx_ioctl_remove_all(struct file *filp, struct dm_ioctl *param, size_t size);
int dmx_ioctl_list_devices(struct file *filp, struct dm_ioctl *param, size_t size);
int dmx_ioctl_dev_create(struct file *filp, struct dm_ioctl *param, size_t size);
int dmx_ioctl_dev_remove(struct file *filp, struct dm_ioctl *param, size_t size);
int dmx_ioctl_dev_rename(struct file *filp, struct dm_ioctl *param, size_t size);
int dmx_ioctl_dev_status(struct file *filp, struct dm_ioctl *param, size_t size);
int dmx_ioctl_dev_wait(struct file *filp, struct dm_ioctl *param, size_t size);
int dmx_ioctl_dev_set_geometry(struct file *filp, struct dm_ioctl *param,
			       size_t size);

/* dm-ioctl-suspend.c */
int dmx_ioctl_dev_suspend(struct file *filp, struct dm_ioctl *param, size_t size);

/* dm-ioctl-table.c */
int dmx_ioctl_table_load(struct file *filp, struct dm_ioctl *param, size_t size);
int dmx_ioctl_table_clear(struct file *filp, struct dm_ioctl *param, size_t size);
int dmx_ioctl_table_deps(struct file *filp, struct dm_ioctl *param, size_t size);
int dmx_ioctl_table_status(struct file *filp, struct dm_ioctl *param, size_t size);
int dmx_ioctl_target_msg(struct file *filp, struct dm_ioctl *param, size_t size);

#endif /* DMX_IOCTL_H */
