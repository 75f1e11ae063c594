/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every target type the device-mapper must register, with the version
 * it reports: those of Linux 6.1's own targets, whose table and status
 * syntax dmx implements (the stock 6.1 dm reports the same).  The one
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
};

static const struct dmx_target_version dmx_expected_targets[] = {
	{ "linear",		{ 1, 4, 0 } },
	{ "striped",		{ 1, 6, 0 } },
	{ "error",		{ 1, 5, 0 } },
	{ "zero",		{ 1, 1, 0 } },
	{ "snapshot-origin",	{ 1, 9, 0 } },
	{ "snapshot",		{ 1, 16, 0 } },
	{ "snapshot-merge",	{ 1, 5, 0 } },
	{ NULL }
};

#endif /* DMX_TARGETS_H */
