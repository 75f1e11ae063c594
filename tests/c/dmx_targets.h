/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every target type the device-mapper must register, with the version
 * it reports: those of the running kernel's own targets, whose table and
 * status syntax dmx implements (the stock dm reports the same): version
 * on 6.1, v612 on 6.12 where a target changed (all zero: unchanged).  The one
 * list of them: tests/c/ioctl_targets.c checks it against
 * LIST_VERSIONS and GET_TARGET_VERSION, tests/sh/00-module.sh against
 * `dmsetup targets` (through `dmxt targets`).  A new target adds its
 * line here, before the NULL that ends the list.
 */
#ifndef DMX_TARGETS_H
#define DMX_TARGETS_H

struct dmx_target_version {
	const char *name;
	unsigned int version[3];
	unsigned int v612[3];
};

static const struct dmx_target_version dmx_expected_targets[] = {
	{ "linear",		{ 1, 4, 0 } },
	{ "striped",		{ 1, 6, 0 } },
	{ "error",		{ 1, 5, 0 },	{ 1, 7, 0 } },
	{ "zero",		{ 1, 1, 0 },	{ 1, 2, 0 } },
	{ "snapshot-origin",	{ 1, 9, 0 } },
	{ "snapshot",		{ 1, 16, 0 } },
	{ "snapshot-merge",	{ 1, 5, 0 } },
	{ "mirror",		{ 1, 14, 0 } },
	{ NULL }
};

/* The version t must report on the running kernel. */
static inline const unsigned int *
dmx_target_version_here(const struct dmx_target_version *t)
{
	if (dmx_kernel_series() >= 612 && t->v612[0])
		return t->v612;
	return t->version;
}

#endif /* DMX_TARGETS_H */
