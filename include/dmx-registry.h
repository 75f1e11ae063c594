/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The registry of mapped devices (dm-registry.c): the names and uuids
 * userland knows them by, and each device's inactive table.  What it
 * keeps per device is its own (struct dmx_cell); everything else goes
 * through these functions.
 */
#ifndef DMX_REGISTRY_H
#define DMX_REGISTRY_H

#include "dmx-core.h"

int dmx_registry_add(struct mapped_device *md, const char *name,
		     const char *uuid);
struct mapped_device *dmx_registry_find(struct dm_ioctl *param);

/* Removal: what dmx_registry_unlist() did with the device named. */
enum dmx_unlist_result {
	DMX_UNLISTED,		/* taken out: the caller destroys it */
	DMX_UNLIST_DEFERRED,	/* open: removed on its last close */
};
int dmx_registry_unlist(struct dm_ioctl *param, bool deferred,
			struct mapped_device **md, struct dmx_table **inactive);
void dmx_registry_remove_all(bool mark_deferred);
void dmx_registry_remove_deferred(void);

int dmx_registry_rename(struct dm_ioctl *param, const char *new,
			bool set_uuid, struct mapped_device **md);
int dmx_registry_copy_name_uuid(struct mapped_device *md, char *name,
				char *uuid);

/* Visits every listed device in name order, under the registry lock. */
typedef bool (*dmx_registry_visit_fn)(struct mapped_device *md,
				      const char *name, const char *uuid,
				      void *data);
void dmx_registry_for_each(dmx_registry_visit_fn fn, void *data);

/* The inactive slot. */
int dmx_registry_stage_inactive(struct mapped_device *md,
				struct dmx_table *table,
				struct dmx_table **replaced);
struct dmx_table *dmx_registry_take_inactive(struct mapped_device *md);
struct dmx_table *dmx_registry_restage_inactive(struct mapped_device *md,
						struct dmx_table *table);
struct dmx_table *dmx_registry_peek_inactive(struct mapped_device *md);

#endif /* DMX_REGISTRY_H */
