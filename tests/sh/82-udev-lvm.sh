#!/bin/sh
# dmx-test: timeout=900
# LVM2 as a distribution runs it: systemd-udevd with the rules of
# Debian's dmsetup and lvm2 (55-dm, 56-lvm, 60-persistent-storage-dm,
# 69-lvm, 95-dm-notify) and an lvm.conf with udev_sync, udev_rules and
# obtain_device_list_from_udev (tests/lib/udev.sh).  Every LVM command
# returns with its udev cookies released (each runs under a time limit,
# so a cookie wait that never ends fails its test instead of hanging
# the script); udev makes /dev/VG/LV, /dev/mapper/VG-LV and the by-id
# links, moves them on lvrename and drops them on deactivation and
# removal; an ext4 filesystem on an LV survives lvextend and lvreduce
# (with resize2fs, and with -r, LVM running fsadm),
# deactivation, vgsplit/vgmerge, vgexport/vgimport and vgcfgrestore,
# its files and fsck checking out after each.
#
# Every test makes its own volume group on fresh ramdisks; the teardown
# after each one removes every device and waits for udev to have dropped
# their links.
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"
. "${DMX_TESTLIB:-/tests/lib}/udev.sh"

export LVM_SUPPRESS_FD_WARNINGS=1
VG=udvg
VG2=udvg2
MNT=/mnt/dmx-udev-lvm
PVS="/dev/ram0 /dev/ram1 /dev/ram2"
LVM_LIMIT=90

# lv_links_ok VG LV: /dev/VG/LV and the mapper and by-id links lead to
# the LV's dm node.
lv_links_ok() {
	dm=$1-$2
	node=/dev/dm-$(info_field "$dm" minor) || return 1
	uuid=$(info_field "$dm" uuid) || return 1
	for l in /dev/$1/$2 /dev/mapper/$dm /dev/disk/by-id/dm-name-$dm \
		/dev/disk/by-id/dm-uuid-$uuid; do
		link_to "$l" "$node" || { echo "$l does not lead to $node:"; ls -l "$l" 2>&1; return 1; }
	done
}

# lv_links_gone VG LV: none of those links left.
lv_links_gone() {
	for l in /dev/$1/$2 /dev/mapper/$1-$2 /dev/disk/by-id/dm-name-$1-$2; do
		if [ -e "$l" ] || [ -L "$l" ]; then echo "$l left"; return 1; fi
	done
}

# vg_setup: $VG over $PVS on fresh ramdisks.
vg_setup() {
	udev_ramdisks && run_lvm vgcreate -q $VG $PVS >/dev/null
}

# lv_fs: vg_setup, the LV lin (16 MiB) with ext4 holding the file f
# (pattern uvf, also in $SCEN_TMP/f), unmounted.
lv_fs() {
	vg_setup && run_lvm lvcreate -q -y -L 16M -n lin $VG >/dev/null &&
		mkfs.ext4 -q -F -b 4096 /dev/$VG/lin || return 1
	mkdir -p $MNT
	mount -t ext4 /dev/$VG/lin $MNT || return 1
	pattern uvf 0 8192 >"$SCEN_TMP/f" && cp "$SCEN_TMP/f" $MNT/f || return 1
	umount $MNT
}

# fs_intact DEV: the filesystem on DEV checks clean and f reads back.
fs_intact() {
	fsck_clean "$1" || return 1
	mount -t ext4 -o ro "$1" $MNT || return 1
	cmp "$SCEN_TMP/f" $MNT/f
	r=$?
	umount $MNT
	return $r
}

lvm_teardown() {
	if grep -q " $MNT " /proc/mounts; then umount $MNT || return 1; fi
	dm_teardown && udev_settle
}

vgcreate_completes_with_udev_sync() {
	udev_ramdisks || return 1
	run_lvm pvcreate -y $PVS && run_lvm vgcreate $VG $PVS || return 1
	no_cookies_left &&
		want_eq "PVs of $VG" "$(lvm_field pvs pv_name -S vg_name=$VG | sort | tr '\n' ' ')" \
			"/dev/ram0 /dev/ram1 /dev/ram2 "
}

lvcreate_linear_makes_links() {
	vg_setup || return 1
	run_lvm lvcreate -y -L 16M -n lin $VG || return 1
	no_cookies_left && lv_links_ok $VG lin &&
		want_eq size "$(size_of /dev/$VG/lin)" 32768
}

lvcreate_striped_makes_links() {
	vg_setup || return 1
	run_lvm lvcreate -y -i2 -I64 -L 32M -n str $VG || return 1
	no_cookies_left && lv_links_ok $VG str &&
		want_match table "$(dmsetup table $VG-str)" '^0 65536 striped 2 128 '
}

# lvextend of a mounted filesystem, then resize2fs online: udev sees
# the resize, the links stay, the files and fsck check out.
lvextend_grows_mounted_fs() {
	lv_fs && mount -t ext4 /dev/$VG/lin $MNT || return 1
	run_lvm lvextend -L 32M $VG/lin && resize2fs /dev/$VG/lin 2>&1 || return 1
	no_cookies_left && lv_links_ok $VG lin &&
		want_eq size "$(size_of /dev/$VG/lin)" 65536 || return 1
	want_eq "fs blocks" "$(dumpe2fs -h /dev/$VG/lin 2>/dev/null | sed -n 's/^Block count: *//p')" 8192 || return 1
	umount $MNT && fs_intact /dev/$VG/lin
}

# Shrinking takes the filesystem down first (resize2fs offline), then
# the LV.
lvreduce_after_resize2fs_keeps_fs() {
	lv_fs || return 1
	# resize2fs of an unmounted filesystem wants a check since its last
	# mount.
	run_lvm lvextend -L 32M $VG/lin && e2fsck -f -p /dev/$VG/lin &&
		resize2fs /dev/$VG/lin 2>&1 && resize2fs /dev/$VG/lin 12M 2>&1 || return 1
	run_lvm lvreduce -y -L 12M $VG/lin || return 1
	no_cookies_left && lv_links_ok $VG lin &&
		want_eq size "$(size_of /dev/$VG/lin)" 24576 && fs_intact /dev/$VG/lin
}

# lvextend -r: LVM runs fsadm, which grows the mounted ext4 online.
lvextend_r_grows_mounted_fs() {
	lv_fs && mount -t ext4 /dev/$VG/lin $MNT || return 1
	run_lvm lvextend -r -L 32M $VG/lin 2>&1 || return 1
	no_cookies_left && lv_links_ok $VG lin &&
		want_eq size "$(size_of /dev/$VG/lin)" 65536 &&
		want_eq "fs blocks" "$(dumpe2fs -h /dev/$VG/lin 2>/dev/null | sed -n 's/^Block count: *//p')" 8192 ||
		return 1
	umount $MNT && fs_intact /dev/$VG/lin
}

# lvreduce -r: fsadm checks and shrinks the filesystem first.
lvreduce_r_shrinks_fs_first() {
	lv_fs && run_lvm lvextend -r -L 32M $VG/lin 2>&1 || return 1
	run_lvm lvreduce -r -y -L 12M $VG/lin 2>&1 || return 1
	no_cookies_left && lv_links_ok $VG lin &&
		want_eq size "$(size_of /dev/$VG/lin)" 24576 &&
		want_eq "fs blocks" "$(dumpe2fs -h /dev/$VG/lin 2>/dev/null | sed -n 's/^Block count: *//p')" 3072 &&
		fs_intact /dev/$VG/lin
}

lvrename_moves_links() {
	lv_fs || return 1
	run_lvm lvrename $VG lin renamed || return 1
	no_cookies_left && lv_links_ok $VG renamed && lv_links_gone $VG lin &&
		fs_intact /dev/$VG/renamed
}

lvchange_an_drops_links_ay_restores_them() {
	lv_fs || return 1
	run_lvm lvchange -an $VG/lin || return 1
	no_cookies_left && lv_links_gone $VG lin || return 1
	! dm_exists $VG-lin || { echo "$VG-lin still mapped"; return 1; }
	run_lvm lvchange -ay $VG/lin || return 1
	no_cookies_left && lv_links_ok $VG lin && fs_intact /dev/$VG/lin
}

lvchange_refresh_keeps_links() {
	lv_fs || return 1
	table=$(dmsetup table $VG-lin)
	run_lvm lvchange --refresh $VG/lin || return 1
	no_cookies_left && lv_links_ok $VG lin &&
		want_eq table "$(dmsetup table $VG-lin)" "$table" && fs_intact /dev/$VG/lin
}

vgchange_an_ay_round_trip() {
	lv_fs && run_lvm lvcreate -q -y -L 8M -n two $VG >/dev/null || return 1
	run_lvm vgchange -an $VG || return 1
	no_cookies_left && lv_links_gone $VG lin && lv_links_gone $VG two || return 1
	[ ! -e /dev/$VG ] || { echo "/dev/$VG left:"; ls -l /dev/$VG; return 1; }
	run_lvm vgchange -ay $VG || return 1
	no_cookies_left && lv_links_ok $VG lin && lv_links_ok $VG two && fs_intact /dev/$VG/lin
}

# The LV lies on ram0 only (lvcreate names the PV), so vgsplit can take
# ram0 away with it; vgmerge brings it back.
vgsplit_and_vgmerge_move_lv() {
	vg_setup && run_lvm lvcreate -q -y -L 16M -n lin $VG /dev/ram0 >/dev/null &&
		mkfs.ext4 -q -F /dev/$VG/lin && mkdir -p $MNT &&
		mount -t ext4 /dev/$VG/lin $MNT || return 1
	pattern uvf 0 8192 >"$SCEN_TMP/f" && cp "$SCEN_TMP/f" $MNT/f && umount $MNT || return 1
	run_lvm vgchange -an $VG && run_lvm vgsplit $VG $VG2 /dev/ram0 &&
		run_lvm vgchange -ay $VG2 || return 1
	no_cookies_left && lv_links_ok $VG2 lin && lv_links_gone $VG lin &&
		fs_intact /dev/$VG2/lin || return 1
	run_lvm vgchange -an $VG2 && run_lvm vgmerge $VG $VG2 &&
		run_lvm vgchange -ay $VG || return 1
	no_cookies_left && lv_links_ok $VG lin && lv_links_gone $VG2 lin &&
		fs_intact /dev/$VG/lin
}

vgexport_and_vgimport_round_trip() {
	lv_fs || return 1
	run_lvm vgchange -an $VG && run_lvm vgexport $VG || return 1
	want_match "vg_attr exported" "$(lvm_field vgs vg_attr $VG)" '^..x' || return 1
	run_lvm vgimport $VG && run_lvm vgchange -ay $VG || return 1
	no_cookies_left && lv_links_ok $VG lin && fs_intact /dev/$VG/lin
}

# An LV removed by mistake comes back from the metadata backup, its
# data with it (lvremove does not touch the extents).
vgcfgrestore_brings_back_removed_lv() {
	lv_fs || return 1
	run_lvm vgcfgbackup -f "$SCEN_TMP/$VG.vg" $VG || return 1
	run_lvm lvremove -y $VG/lin || return 1
	lv_links_gone $VG lin || return 1
	run_lvm vgcfgrestore -f "$SCEN_TMP/$VG.vg" $VG && run_lvm lvchange -ay $VG/lin || return 1
	no_cookies_left && lv_links_ok $VG lin && fs_intact /dev/$VG/lin
}

lvremove_drops_links() {
	vg_setup && run_lvm lvcreate -q -y -L 16M -n lin $VG >/dev/null &&
		run_lvm lvcreate -q -y -i2 -L 16M -n str $VG >/dev/null || return 1
	run_lvm lvremove -y $VG/lin $VG/str || return 1
	no_cookies_left && lv_links_gone $VG lin && lv_links_gone $VG str &&
		no_devices_left || return 1
	[ ! -e /dev/$VG ] || { echo "/dev/$VG left:"; ls -l /dev/$VG; return 1; }
}

vgremove_takes_active_lvs_down() {
	vg_setup && run_lvm lvcreate -q -y -L 16M -n lin $VG >/dev/null || return 1
	run_lvm vgremove -f $VG || return 1
	no_cookies_left && lv_links_gone $VG lin && no_devices_left &&
		want_eq "volume groups" "$(lvm_field vgs vg_name)" ""
}

scenario_start
grep -qw ext4 /proc/filesystems || modprobe ext4 || die "ext4 is not available"
start_udevd || die "systemd-udevd starts"
TAP_TEARDOWN=lvm_teardown

check_each \
	vgcreate_completes_with_udev_sync \
	lvcreate_linear_makes_links \
	lvcreate_striped_makes_links \
	lvextend_grows_mounted_fs \
	lvreduce_after_resize2fs_keeps_fs \
	lvextend_r_grows_mounted_fs \
	lvreduce_r_shrinks_fs_first \
	lvrename_moves_links \
	lvchange_an_drops_links_ay_restores_them \
	lvchange_refresh_keeps_links \
	vgchange_an_ay_round_trip \
	vgsplit_and_vgmerge_move_lv \
	vgexport_and_vgimport_round_trip \
	vgcfgrestore_brings_back_removed_lv \
	lvremove_drops_links \
	vgremove_takes_active_lvs_down

stop_dmeventd
stop_udevd
rm -rf "$SCEN_TMP"
tap_done
