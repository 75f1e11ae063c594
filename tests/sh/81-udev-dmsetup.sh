#!/bin/sh
# dmx-test: timeout=300
# dmsetup with systemd-udevd and the rules Debian's dmsetup ships (55-dm,
# 60-persistent-storage-dm, 95-dm-notify): libdevmapper passes a udev
# cookie with every create, resume, rename and remove, and waits until
# udev has run the rules for the uevent the device-mapper sends with it;
# so every command returns with its semaphore released and with
# /dev/mapper/NAME and the /dev/disk/by-id/dm-name-*, dm-uuid-* links
# made, moved or gone as it said.  udev's database names the device, and
# a filesystem made on it gets its by-uuid link.
#
# Every test makes its own device; the teardown after each one removes
# every device and waits for udev to have dropped their links.
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"
. "${DMX_TESTLIB:-/tests/lib}/udev.sh"

NAME=udvdev
UUID=DMXUDEV-0001
TABLE="0 32768 linear /dev/ram0 2048"
# A hung cookie wait is a failure, not a hung script.
DMSETUP_LIMIT=60

dms() {
	timeout -s KILL $DMSETUP_LIMIT dmsetup "$@"
}

# udv: the device NAME (with UUID) over ram0, created with udev sync.
udv() {
	udev_ramdisks && dms create $NAME -u $UUID --table "$TABLE"
}

# links_of NAME UUID: the links udev makes for a device.
links_of() {
	echo "/dev/mapper/$1 /dev/disk/by-id/dm-name-$1 /dev/disk/by-id/dm-uuid-$2"
}

# has_links NAME UUID: each link of links_of there, leading to the
# device's node.
has_links() {
	node=/dev/dm-$(info_field "$1" minor) || return 1
	[ -b "$node" ] || { echo "$node missing"; return 1; }
	for l in $(links_of "$1" "$2"); do
		link_to "$l" "$node" || { echo "$l does not lead to $node:"; ls -l "$l" 2>&1; return 1; }
	done
}

# no_links NAME UUID: none of the links of links_of left.
no_links() {
	for l in $(links_of "$1" "$2"); do
		if [ -e "$l" ] || [ -L "$l" ]; then echo "$l left"; return 1; fi
	done
}

udev_teardown() {
	dm_teardown && udev_settle
}

dmsetup_create_releases_udev_cookie() {
	udv || return 1
	no_cookies_left
}

dmsetup_create_makes_mapper_and_by_id_links() {
	udv || return 1
	has_links $NAME $UUID
}

udev_db_names_device() {
	udv || return 1
	node=/dev/dm-$(info_field $NAME minor)
	want_eq DM_NAME "$(udev_prop "$node" DM_NAME)" $NAME &&
		want_eq DM_UUID "$(udev_prop "$node" DM_UUID)" $UUID &&
		want_eq DM_SUSPENDED "$(udev_prop "$node" DM_SUSPENDED)" 0 &&
		want_eq DM_UDEV_RULES_VSN "$(udev_prop "$node" DM_UDEV_RULES_VSN)" 2
}

# A device created without a table has no disk udev may look at yet;
# the resume that brings the table makes the links.
dmsetup_load_then_resume_makes_links() {
	udev_ramdisks && dms create $NAME -u $UUID --notable || return 1
	dms load $NAME --table "$TABLE" && dms resume $NAME || return 1
	no_cookies_left && has_links $NAME $UUID
}

dmsetup_suspend_resume_releases_udev_cookie() {
	udv || return 1
	dms suspend $NAME && dms resume $NAME || return 1
	no_cookies_left && has_links $NAME $UUID
}

dmsetup_remove_releases_cookie_and_drops_links() {
	udv || return 1
	dms remove $NAME || return 1
	no_cookies_left && no_links $NAME $UUID
}

dmsetup_rename_moves_links() {
	udv || return 1
	dms rename $NAME ${NAME}2 || return 1
	no_cookies_left && has_links ${NAME}2 $UUID || return 1
	for l in /dev/mapper/$NAME /dev/disk/by-id/dm-name-$NAME; do
		if [ -e "$l" ] || [ -L "$l" ]; then echo "$l left"; return 1; fi
	done
}

dmsetup_set_uuid_adds_uuid_link() {
	udev_ramdisks && dms create $NAME --table "$TABLE" || return 1
	dms rename $NAME --setuuid $UUID || return 1
	no_cookies_left && has_links $NAME $UUID
}

# The rules watch the device: closing it after a write makes udev probe
# it again, and the new filesystem gets its by-uuid link.
mkfs_adds_by_uuid_link() {
	udv || return 1
	mkfs.ext4 -q -F -U 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0 /dev/mapper/$NAME || return 1
	udev_settle || return 1
	link_to /dev/disk/by-uuid/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0 /dev/mapper/$NAME ||
		{ echo "no by-uuid link:"; ls -l /dev/disk/by-uuid 2>&1; return 1; }
}

dmsetup_remove_all_drops_every_link() {
	udev_ramdisks || return 1
	dms create ${NAME}a -u ${UUID}a --table "0 8192 linear /dev/ram0 0" &&
		dms create ${NAME}b -u ${UUID}b --table "0 8192 linear /dev/ram1 0" || return 1
	dms remove_all || return 1
	no_cookies_left && no_links ${NAME}a ${UUID}a && no_links ${NAME}b ${UUID}b
}

scenario_start
start_udevd || die "systemd-udevd starts"
TAP_TEARDOWN=udev_teardown

check_each \
	dmsetup_create_releases_udev_cookie \
	dmsetup_create_makes_mapper_and_by_id_links \
	udev_db_names_device \
	dmsetup_load_then_resume_makes_links \
	dmsetup_suspend_resume_releases_udev_cookie \
	dmsetup_remove_releases_cookie_and_drops_links \
	dmsetup_rename_moves_links \
	dmsetup_set_uuid_adds_uuid_link \
	mkfs_adds_by_uuid_link \
	dmsetup_remove_all_drops_every_link

stop_udevd
rm -rf "$SCEN_TMP"
tap_done
