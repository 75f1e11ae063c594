// SPDX-License-Identifier: GPL-2.0
/*
 * The control device, /dev/mapper/control: copies a request in,
 * validates its header, dispatches it to its command, and copies the
 * result out.  Also the commands that need no device: VERSION,
 * LIST_VERSIONS, GET_TARGET_VERSION and ARM_POLL.
 */
#include <linux/compat.h>
#include <linux/miscdevice.h>
#include <linux/nospec.h>
#include <linux/poll.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "dmx-ioctl.h"

/* The request header without its trailing padding: the minimum a caller sends. */
#define DMX_IOCTL_MIN_SIZE	offsetof(struct dm_ioctl, data)

/* Per open file of the control device. */
struct dmx_control_file {
	u32 armed_event_nr;	/* global event number at the last ARM_POLL */
};

/* Helpers for the commands. */

/*
 * The payload area of the caller's buffer, 8-byte aligned after the
 * header; *len is what fits.  A caller may send less than a whole
 * header, in which case nothing fits.
 */
void *dmx_ioctl_result_buffer(struct dm_ioctl *param, size_t param_size,
			      size_t *len)
{
	param->data_start = ALIGN(sizeof(*param), 8);
	if (param->data_start < param_size) {
		*len = param_size - param->data_start;
	} else {
		*len = 0;
		param->data_start = param_size;
	}
	return (char *)param + param->data_start;
}

/* True if a NUL ends str before end. */
bool dmx_ioctl_str_ok(const char *str, const void *end)
{
	return str < (const char *)end &&
	       memchr(str, '\0', (const char *)end - str);
}

/* Target versions. */

struct dmx_versions_iter {
	struct dm_target_versions *prev;
	struct dm_target_versions *next;
	const char *end;
	size_t needed;
	bool full;
};

static size_t dmx_version_record_size(struct dmx_target_type *tt)
{
	return ALIGN(sizeof(struct dm_target_versions) + strlen(tt->name) + 1, 8);
}

static void dmx_version_count(struct dmx_target_type *tt, void *data)
{
	struct dmx_versions_iter *it = data;

	it->needed += dmx_version_record_size(tt);
}

static void dmx_version_fill(struct dmx_target_type *tt, void *data)
{
	struct dmx_versions_iter *it = data;
	struct dm_target_versions *v = it->next;

	/* A type may have registered since we counted. */
	if ((char *)v + dmx_version_record_size(tt) > it->end) {
		it->full = true;
		return;
	}
	if (it->prev)
		it->prev->next = (char *)v - (char *)it->prev;
	memcpy(v->version, tt->version, sizeof(v->version));
	v->next = 0;
	strcpy(v->name, tt->name);
	it->prev = v;
	it->next = (void *)((char *)v + dmx_version_record_size(tt));
}

static int dmx_list_versions(struct dm_ioctl *param, size_t param_size,
			     const char *name)
{
	struct dmx_versions_iter it = { };
	struct dmx_target_type *tt = NULL;
	size_t len;
	void *buf;

	if (name) {
		tt = dmx_get_target_type(name);
		if (!tt)
			return -EINVAL;
		dmx_version_count(tt, &it);
	} else {
		dmx_target_iterate(dmx_version_count, &it);
	}

	buf = dmx_ioctl_result_buffer(param, param_size, &len);
	if (len < it.needed) {
		param->flags |= DM_BUFFER_FULL_FLAG;
		goto out;
	}
	param->data_size = param->data_start + it.needed;
	it.next = buf;
	it.end = (char *)buf + it.needed;
	if (tt)
		dmx_version_fill(tt, &it);
	else
		dmx_target_iterate(dmx_version_fill, &it);
	if (it.full)
		param->flags |= DM_BUFFER_FULL_FLAG;
out:
	if (tt)
		dmx_put_target_type(tt);
	return 0;
}

static int dmx_ioctl_list_versions(struct file *filp, struct dm_ioctl *param,
				   size_t size)
{
	return dmx_list_versions(param, size, NULL);
}

static int dmx_ioctl_get_target_version(struct file *filp,
					struct dm_ioctl *param, size_t size)
{
	return dmx_list_versions(param, size, param->name);
}

static int dmx_ioctl_arm_poll(struct file *filp, struct dm_ioctl *param,
			      size_t size)
{
	struct dmx_control_file *cf = filp->private_data;

	cf->armed_event_nr = dmx_global_event_nr();
	return 0;
}

/* Dispatch. */

#define DMX_CMD_NO_PARAMS	(1U << 0)	/* payload is not read */
#define DMX_CMD_GLOBAL_EVENT	(1U << 1)	/* success wakes pollers */

struct dmx_command {
	dmx_ioctl_fn fn;
	unsigned int flags;
};

static const struct dmx_command dmx_commands[] = {
	[DM_VERSION_CMD]	 = { NULL, DMX_CMD_NO_PARAMS },
	[DM_REMOVE_ALL_CMD]	 = { dmx_ioctl_remove_all,
				     DMX_CMD_NO_PARAMS | DMX_CMD_GLOBAL_EVENT },
	[DM_LIST_DEVICES_CMD]	 = { dmx_ioctl_list_devices, 0 },
	[DM_DEV_CREATE_CMD]	 = { dmx_ioctl_dev_create,
				     DMX_CMD_NO_PARAMS | DMX_CMD_GLOBAL_EVENT },
	[DM_DEV_REMOVE_CMD]	 = { dmx_ioctl_dev_remove,
				     DMX_CMD_NO_PARAMS | DMX_CMD_GLOBAL_EVENT },
	[DM_DEV_RENAME_CMD]	 = { dmx_ioctl_dev_rename, DMX_CMD_GLOBAL_EVENT },
	[DM_DEV_SUSPEND_CMD]	 = { dmx_ioctl_dev_suspend, DMX_CMD_NO_PARAMS },
	[DM_DEV_STATUS_CMD]	 = { dmx_ioctl_dev_status, DMX_CMD_NO_PARAMS },
	[DM_DEV_WAIT_CMD]	 = { dmx_ioctl_dev_wait, 0 },
	[DM_TABLE_LOAD_CMD]	 = { dmx_ioctl_table_load, 0 },
	[DM_TABLE_CLEAR_CMD]	 = { dmx_ioctl_table_clear, DMX_CMD_NO_PARAMS },
	[DM_TABLE_DEPS_CMD]	 = { dmx_ioctl_table_deps, 0 },
	[DM_TABLE_STATUS_CMD]	 = { dmx_ioctl_table_status, 0 },
	[DM_LIST_VERSIONS_CMD]	 = { dmx_ioctl_list_versions, 0 },
	[DM_TARGET_MSG_CMD]	 = { dmx_ioctl_target_msg, 0 },
	[DM_DEV_SET_GEOMETRY_CMD] = { dmx_ioctl_dev_set_geometry, 0 },
	[DM_DEV_ARM_POLL_CMD]	 = { dmx_ioctl_arm_poll, DMX_CMD_NO_PARAMS },
	[DM_GET_TARGET_VERSION_CMD] = { dmx_ioctl_get_target_version, 0 },
};

/* Checks the caller's interface version and always reports ours. */
static int dmx_ioctl_check_version(unsigned int cmd, struct dm_ioctl __user *user,
				   struct dm_ioctl *header)
{
	static const u32 ours[3] = {
		DMX_VERSION_MAJOR, DMX_VERSION_MINOR, DMX_VERSION_PATCHLEVEL
	};
	int r = 0;

	if (copy_from_user(header->version, user->version, sizeof(ours)))
		return -EFAULT;
	if (header->version[0] != DMX_VERSION_MAJOR ||
	    header->version[1] > DMX_VERSION_MINOR) {
		DMX_IOCTL_ERR("interface mismatch: ours %u.%u.%u, caller's %u.%u.%u, cmd %u",
			      ours[0], ours[1], ours[2], header->version[0],
			      header->version[1], header->version[2], cmd);
		r = -EINVAL;
	}
	memcpy(header->version, ours, sizeof(ours));
	if (copy_to_user(user->version, ours, sizeof(ours)))
		return -EFAULT;
	return r;
}

static void dmx_ioctl_free_params(struct dm_ioctl *param,
				  struct dm_ioctl *header, size_t size, bool wipe)
{
	if (wipe)
		memzero_explicit(param, size);
	if (param != header)
		kvfree(param);
}

/*
 * Copies the request in: the header always, the payload unless the
 * command ignores it.  A request with DM_SECURE_DATA_FLAG (a key in a
 * table line) is wiped from the caller's buffer once we hold it.
 */
static int dmx_ioctl_copy_params(struct dm_ioctl __user *user,
				 struct dm_ioctl *header, unsigned int cmd_flags,
				 struct dm_ioctl **result)
{
	size_t skip = sizeof(header->version);
	struct dm_ioctl *param;
	unsigned int noio;
	bool secure;

	if (copy_from_user((char *)header + skip, (char __user *)user + skip,
			   DMX_IOCTL_MIN_SIZE - skip))
		return -EFAULT;
	if (header->data_size < DMX_IOCTL_MIN_SIZE ||
	    header->data_size > DMX_MAX_IOCTL_SIZE) {
		DMX_IOCTL_ERR("invalid data_size %u in request",
			      header->data_size);
		return -EINVAL;
	}
	secure = header->flags & DM_SECURE_DATA_FLAG;

	if (cmd_flags & DMX_CMD_NO_PARAMS) {
		param = header;
		param->data_size = DMX_IOCTL_MIN_SIZE;
	} else {
		/* A suspended device may sit under our allocation. */
		noio = memalloc_noio_save();
		param = kvmalloc(header->data_size, GFP_KERNEL | __GFP_HIGH);
		memalloc_noio_restore(noio);
		if (!param) {
			if (secure && clear_user(user, header->data_size))
				return -EFAULT;
			return -ENOMEM;
		}
		memcpy(param, header, DMX_IOCTL_MIN_SIZE);
		if (copy_from_user(param->data, user->data,
				   header->data_size - DMX_IOCTL_MIN_SIZE))
			goto bad;
	}
	if (secure && clear_user(user, header->data_size))
		goto bad;
	*result = param;
	return 0;

bad:
	dmx_ioctl_free_params(param, header, header->data_size, secure);
	return -EFAULT;
}

static int dmx_ioctl_validate(unsigned int cmd, unsigned int cmd_flags,
			      struct dm_ioctl *param)
{
	param->flags &= ~(DM_BUFFER_FULL_FLAG | DM_UEVENT_GENERATED_FLAG |
			  DM_DATA_OUT_FLAG | DM_SECURE_DATA_FLAG);

	if (!(cmd_flags & DMX_CMD_NO_PARAMS) &&
	    (param->data_start < DMX_IOCTL_MIN_SIZE ||
	     param->data_start > param->data_size)) {
		DMX_IOCTL_ERR("data_start %u outside the request, cmd %u",
			      param->data_start, cmd);
		return -EINVAL;
	}

	if (cmd == DM_REMOVE_ALL_CMD || cmd == DM_LIST_DEVICES_CMD ||
	    cmd == DM_LIST_VERSIONS_CMD)
		return 0;

	if (!memchr(param->name, '\0', sizeof(param->name)) ||
	    !memchr(param->uuid, '\0', sizeof(param->uuid))) {
		DMX_IOCTL_ERR("unterminated name or uuid, cmd %u", cmd);
		return -EINVAL;
	}
	if (cmd == DM_DEV_CREATE_CMD) {
		if (!*param->name) {
			DMX_IOCTL_ERR("no name given to create a device");
			return -EINVAL;
		}
	} else if (*param->uuid && *param->name) {
		DMX_IOCTL_ERR("both name and uuid given, cmd %u", cmd);
		return -EINVAL;
	}
	return 0;
}

static int dmx_ctl_ioctl(struct file *file, unsigned int command,
			 struct dm_ioctl __user *user)
{
	const struct dmx_command *c;
	struct dm_ioctl header, *param;
	unsigned int cmd;
	size_t in_size;
	bool secure;
	int r;

	if (!capable(CAP_SYS_ADMIN))
		return -EACCES;
	if (_IOC_TYPE(command) != DM_IOCTL)
		return -ENOTTY;

	cmd = _IOC_NR(command);
	r = dmx_ioctl_check_version(cmd, user, &header);
	if (r)
		return r;
	if (cmd == DM_VERSION_CMD)
		return 0;
	if (cmd >= ARRAY_SIZE(dmx_commands))
		return -ENOTTY;
	c = &dmx_commands[array_index_nospec(cmd, ARRAY_SIZE(dmx_commands))];
	if (!c->fn)
		return -ENOTTY;

	r = dmx_ioctl_copy_params(user, &header, c->flags, &param);
	if (r)
		return r;
	in_size = param->data_size;
	secure = param->flags & DM_SECURE_DATA_FLAG;

	r = dmx_ioctl_validate(cmd, c->flags, param);
	if (r)
		goto out;

	param->data_size = DMX_IOCTL_MIN_SIZE;
	r = c->fn(file, param, in_size);

	if (!r && (c->flags & DMX_CMD_GLOBAL_EVENT))
		dmx_global_event();
	if (!r && copy_to_user(user, param, param->data_size))
		r = -EFAULT;
out:
	dmx_ioctl_free_params(param, &header, in_size, secure);
	return r;
}

static long dmx_ctl_unlocked_ioctl(struct file *file, unsigned int command,
				   unsigned long arg)
{
	return dmx_ctl_ioctl(file, command, (struct dm_ioctl __user *)arg);
}

static int dmx_ctl_open(struct inode *inode, struct file *filp)
{
	struct dmx_control_file *cf;
	int r;

	r = nonseekable_open(inode, filp);
	if (r)
		return r;
	cf = kmalloc(sizeof(*cf), GFP_KERNEL);
	if (!cf)
		return -ENOMEM;
	cf->armed_event_nr = dmx_global_event_nr();
	filp->private_data = cf;
	return 0;
}

static int dmx_ctl_release(struct inode *inode, struct file *filp)
{
	kfree(filp->private_data);
	return 0;
}

static __poll_t dmx_ctl_poll(struct file *filp, poll_table *wait)
{
	struct dmx_control_file *cf = filp->private_data;

	poll_wait(filp, dmx_global_event_queue(), wait);
	if ((int)(dmx_global_event_nr() - cf->armed_event_nr) > 0)
		return EPOLLIN;
	return 0;
}

static const struct file_operations dmx_ctl_fops = {
	.owner		= THIS_MODULE,
	.open		= dmx_ctl_open,
	.release	= dmx_ctl_release,
	.poll		= dmx_ctl_poll,
	.unlocked_ioctl	= dmx_ctl_unlocked_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice dmx_misc = {
	.minor		= MAPPER_CTRL_MINOR,
	.name		= DMX_NAME,
	.nodename	= DM_DIR "/" DM_CONTROL_NODE,
	.fops		= &dmx_ctl_fops,
};

int dmx_ioctl_init(void)
{
	int r = misc_register(&dmx_misc);

	if (r)
		pr_err(DMX_MSG_PREFIX ": cannot register control device %s (misc minor %d): %d; is dm_mod loaded?\n",
		       DM_DIR "/" DM_CONTROL_NODE, MAPPER_CTRL_MINOR, r);
	return r;
}

void dmx_ioctl_exit(void)
{
	misc_deregister(&dmx_misc);
}

MODULE_ALIAS_MISCDEV(MAPPER_CTRL_MINOR);
MODULE_ALIAS("devname:" DM_DIR "/" DM_CONTROL_NODE);
