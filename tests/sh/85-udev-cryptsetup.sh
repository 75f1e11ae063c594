#!/bin/sh
# dmx-test: timeout=600
# cryptsetup as a distribution runs it: systemd-udevd with the rules of
# Debian's dmsetup and lvm2 (tests/lib/udev.sh), and cryptsetup without
# DM_DISABLE_UDEV, so that libdevmapper passes a udev cookie with every
# crypt device it creates, resumes and removes, and udev makes the
# nodes.  A LUKS2 volume opened that way has its /dev/mapper/NAME and
# by-id links from udev and the cookie released; lsblk shows it as a
# crypt device under its backing device, and an LV on it under it in
# turn; luksSuspend / luksResume keep the links; close (and vgchange
# -an for the LV) removes every node and link.
#
# Every test formats its own volume on fresh ramdisks; the teardown
# after each one removes every device and waits for udev to have
# dropped their links.
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"
. "${DMX_TESTLIB:-/tests/lib}/udev.sh"

export LVM_SUPPRESS_FD_WARNINGS=1
NAME=udcr
VG=udcvg
PASS=$SCEN_TMP/pass
# Cheap key derivation: the tests are about the device, not the KDF.
FORMAT="luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file $PASS"
# A hung cookie wait is a failure, not a hung script.
CS_LIMIT=60

# cs ARGS...: cryptsetup under CS_LIMIT, its chatter shown only if it
# fails.
cs() {
	# shellcheck disable=SC2068 # FORMAT is a word list
	timeout -s KILL $CS_LIMIT cryptsetup $@ >"$SCEN_TMP/cs.out" 2>&1 && return 0
	echo "cryptsetup $* failed:"
	cat "$SCEN_TMP/cs.out"
	return 1
}

# luks_open: a LUKS2 volume on a fresh ram0, opened as NAME.
luks_open() {
	udev_ramdisks && cs $FORMAT /dev/ram0 &&
		cs open --key-file "$PASS" /dev/ram0 $NAME
}

# crypt_uuid: the DM uuid cryptsetup gives NAME (CRYPT-LUKS2-...).
crypt_uuid() {
	info_field $NAME uuid
}

# has_crypt_links: /dev/mapper/NAME and the by-id links udev makes for
# a dm device lead to NAME's node.
has_crypt_links() {
	node=/dev/dm-$(info_field $NAME minor) || return 1
	[ -b "$node" ] || { echo "$node missing"; return 1; }
	uuid=$(crypt_uuid) || return 1
	for l in /dev/mapper/$NAME /dev/disk/by-id/dm-name-$NAME \
		/dev/disk/by-id/dm-uuid-$uuid; do
		link_to "$l" "$node" || { echo "$l does not lead to $node:"; ls -l "$l" 2>&1; return 1; }
	done
}

# gone PATH...: none of PATH left.
gone() {
	for l in "$@"; do
		if [ -e "$l" ] || [ -L "$l" ]; then echo "$l left"; ls -l "$l"; return 1; fi
	done
}

# tree DEV: lsblk's tree of DEV and what is stacked on it, "NAME TYPE"
# a line, in ASCII, runs of blanks squeezed.
tree() {
	lsblk -n --ascii -o NAME,TYPE "$1" | sed 's/  */ /g; s/ $//'
}

# lv_on_luks: luks_open, and the LV lv of VG on it, as a PV.
lv_on_luks() {
	luks_open && run_lvm pvcreate -q -y /dev/mapper/$NAME >/dev/null &&
		run_lvm vgcreate -q $VG /dev/mapper/$NAME >/dev/null &&
		run_lvm lvcreate -q -y -L 16M -n lv $VG >/dev/null
}

crypt_teardown() {
	dm_teardown && udev_settle
}

luks_open_releases_udev_cookie() {
	luks_open || return 1
	no_cookies_left
}

luks_open_makes_mapper_and_by_id_links() {
	luks_open || return 1
	has_crypt_links &&
		want_match uuid "$(crypt_uuid)" "^CRYPT-LUKS2-$(cryptsetup luksUUID /dev/ram0 | tr -d -)-$NAME\$"
}

# udev's database has the device as the rules saw it.
udev_db_names_crypt_device() {
	luks_open || return 1
	node=/dev/dm-$(info_field $NAME minor)
	want_eq DM_NAME "$(udev_prop "$node" DM_NAME)" $NAME &&
		want_eq DM_UUID "$(udev_prop "$node" DM_UUID)" "$(crypt_uuid)" &&
		want_eq DM_SUSPENDED "$(udev_prop "$node" DM_SUSPENDED)" 0
}

lsblk_shows_crypt_under_its_device() {
	luks_open || return 1
	want_eq tree "$(tree /dev/ram0)" "ram0 disk
\`-$NAME crypt"
}

lsblk_shows_lvm_on_luks_below_it() {
	lv_on_luks || return 1
	no_cookies_left && link_to /dev/$VG/lv /dev/mapper/$VG-lv &&
		want_eq tree "$(tree /dev/ram0)" "ram0 disk
\`-$NAME crypt
 \`-$VG-lv lvm"
}

# Suspend and resume send uevents too (DM_SUSPENDED), each with a
# cookie; the links must stay.
luks_suspend_resume_keeps_links() {
	luks_open && cs luksSuspend $NAME || return 1
	no_cookies_left && want_eq state "$(dm_state $NAME)" SUSPENDED || return 1
	cs luksResume --key-file "$PASS" $NAME || return 1
	udev_settle && no_cookies_left && has_crypt_links
}

close_removes_nodes_and_releases_cookie() {
	luks_open || return 1
	node=/dev/dm-$(info_field $NAME minor)
	uuid=$(crypt_uuid)
	cs close $NAME || return 1
	no_cookies_left &&
		gone "$node" /dev/mapper/$NAME /dev/disk/by-id/dm-name-$NAME \
			"/dev/disk/by-id/dm-uuid-$uuid" &&
		want_eq tree "$(tree /dev/ram0)" "ram0 disk"
}

vgchange_an_and_close_remove_the_stack() {
	lv_on_luks || return 1
	run_lvm vgchange -q -an $VG >/dev/null && cs close $NAME || return 1
	no_cookies_left && no_devices_left &&
		gone /dev/$VG /dev/mapper/$VG-lv /dev/mapper/$NAME &&
		want_eq tree "$(tree /dev/ram0)" "ram0 disk"
}

scenario_start
start_udevd || die "systemd-udevd starts"
printf %s "correct horse battery staple" >"$PASS"
TAP_TEARDOWN=crypt_teardown

check_each \
	luks_open_releases_udev_cookie \
	luks_open_makes_mapper_and_by_id_links \
	udev_db_names_crypt_device \
	lsblk_shows_crypt_under_its_device \
	lsblk_shows_lvm_on_luks_below_it \
	luks_suspend_resume_keeps_links \
	close_removes_nodes_and_releases_cookie \
	vgchange_an_and_close_remove_the_stack

stop_dmeventd
stop_udevd
rm -rf "$SCEN_TMP"
tap_done
