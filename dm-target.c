// SPDX-License-Identifier: GPL-2.0
/*
 * The registry of target types, and the small helpers every target's
 * constructor and status function use.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/rwsem.h>
#include <linux/slab.h>

#include "dmx-core.h"

/* Protects dmx_target_types and each type's list node. */
static DECLARE_RWSEM(dmx_target_types_lock);
static LIST_HEAD(dmx_target_types);

static struct dmx_target_type *dmx_find_target_type(const char *name)
{
	struct dmx_target_type *tt;

	list_for_each_entry(tt, &dmx_target_types, list)
		if (!strcmp(name, tt->name))
			return tt;
	return NULL;
}

int dmx_register_target(struct dmx_target_type *tt)
{
	int r = 0;

	down_write(&dmx_target_types_lock);
	if (dmx_find_target_type(tt->name))
		r = -EEXIST;
	else
		list_add_tail(&tt->list, &dmx_target_types);
	up_write(&dmx_target_types_lock);

	if (r)
		pr_err(DMX_MSG_PREFIX ": target type %s already registered\n",
		       tt->name);
	return r;
}

void dmx_unregister_target(struct dmx_target_type *tt)
{
	down_write(&dmx_target_types_lock);
	list_del(&tt->list);
	up_write(&dmx_target_types_lock);
}

/* Takes a module reference so the type outlives the lookup. */
struct dmx_target_type *dmx_get_target_type(const char *name)
{
	struct dmx_target_type *tt;

	down_read(&dmx_target_types_lock);
	tt = dmx_find_target_type(name);
	if (tt && !try_module_get(tt->module))
		tt = NULL;
	up_read(&dmx_target_types_lock);
	return tt;
}

void dmx_put_target_type(struct dmx_target_type *tt)
{
	module_put(tt->module);
}

void dmx_target_iterate(void (*fn)(struct dmx_target_type *tt, void *data),
			void *data)
{
	struct dmx_target_type *tt;

	down_read(&dmx_target_types_lock);
	list_for_each_entry(tt, &dmx_target_types, list)
		fn(tt, data);
	up_read(&dmx_target_types_lock);
}

void dmx_emit(char *result, unsigned int maxlen, unsigned int *sz,
	      const char *fmt, ...)
{
	va_list args;
	int n;

	if (*sz >= maxlen)
		return;
	va_start(args, fmt);
	n = vsnprintf(result + *sz, maxlen - *sz, fmt, args);
	va_end(args);
	*sz = (n < 0 || *sz + n >= maxlen) ? maxlen : *sz + n;
}
EXPORT_SYMBOL_GPL(dmx_emit);

bool dmx_parse_sector(const char *arg, sector_t *out)
{
	unsigned long long value;
	char dummy;

	if (sscanf(arg, "%llu%c", &value, &dummy) != 1)
		return false;
	if (value != (sector_t)value)
		return false;
	*out = value;
	return true;
}
EXPORT_SYMBOL_GPL(dmx_parse_sector);
