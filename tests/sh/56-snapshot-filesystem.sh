#!/bin/sh
# Filesystems and snapshots: a snapshot of a device holding ext4 is a
# clean filesystem with the same files, even when taken while the
# origin is mounted and being written (after a freeze, as LVM does);
# mkfs on the snapshot gives a new clean filesystem and leaves the
# origin's alone.  Leaves no devices.
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"

SIZE=98304	# origin: 48 MiB of ram0
MNT=/mnt/dmx-snapfs
SMNT=/mnt/dmx-snapfs-snap

setup() {
	mkdir -p $MNT $SMNT &&
		modprobe ext4 &&
		dmsetup create fsbase --table "0 $SIZE linear /dev/ram0 0" &&
		dd_quiet if=/dev/zero of=/dev/ram1 bs=4096 count=1 oflag=direct &&
		dd_quiet if=/dev/zero of=/dev/ram2 bs=4096 count=1 oflag=direct &&
		dmsetup create fsorig --table "0 $SIZE snapshot-origin /dev/mapper/fsbase"
}

# Files of several sizes, with their checksums.
populate() {
	mkdir -p "$1/d" || return 1
	dd_quiet if=/dev/urandom of="$1/big" bs=1M count=8 &&
		dd_quiet if=/dev/urandom of="$1/d/small" bs=1k count=37 &&
		seq 1 20000 >"$1/d/seq" || return 1
	(cd "$1" && md5sum big d/small d/seq) >"$SCEN_TMP/$2.md5"
}

filesystem_on_origin() {
	mkfs.ext4 -q -F /dev/mapper/fsorig && mount /dev/mapper/fsorig $MNT &&
		populate $MNT first && umount $MNT
}

# snap_create NAME COW: snapshot of fsbase, origin suspended around it.
snap_create() {
	dmsetup suspend fsorig &&
		dmsetup create "$1" --table "0 $SIZE snapshot /dev/mapper/fsbase $2 P 8" &&
		dmsetup resume fsorig
}

snapshot_fsck_clean() {
	snap_create fssnap /dev/ram1 && e2fsck -fn /dev/mapper/fssnap
}

# The origin changes a lot; the snapshot's files do not.
snapshot_keeps_files_while_origin_changes() {
	mount /dev/mapper/fsorig $MNT &&
		rm -f $MNT/big && populate $MNT second && sync || return 1
	umount $MNT && mount -o ro /dev/mapper/fssnap $SMNT || return 1
	r=0
	(cd $SMNT && md5sum -c "$SCEN_TMP/first.md5") || r=1
	umount $SMNT || r=1
	e2fsck -fn /dev/mapper/fsorig || r=1
	return $r
}

# Taken with the filesystem mounted and busy: dmsetup suspend freezes it.
live_snapshot_of_mounted_fs_is_clean() {
	mount /dev/mapper/fsorig $MNT || return 1
	(i=0; while [ $i -lt 40 ]; do
		dd if=/dev/urandom of=$MNT/busy.$((i % 4)) bs=64k count=16 conv=fsync 2>/dev/null
		i=$((i + 1))
	done) &
	writer=$!
	snap_create fslive /dev/ram2
	r=$?
	wait $writer
	umount $MNT || r=1
	[ $r -eq 0 ] && e2fsck -fn /dev/mapper/fslive && e2fsck -fn /dev/mapper/fsorig
}

mkfs_on_snapshot_leaves_origin_alone() {
	mkfs.ext4 -q -F /dev/mapper/fssnap && e2fsck -fn /dev/mapper/fssnap || return 1
	mount -o ro /dev/mapper/fsorig $MNT || return 1
	r=0
	(cd $MNT && md5sum -c "$SCEN_TMP/second.md5") || r=1
	umount $MNT || r=1
	e2fsck -fn /dev/mapper/fsorig || r=1
	return $r
}

cleanup() {
	dmsetup remove fslive; dmsetup remove fssnap && dmsetup remove fsorig &&
		dmsetup remove fsbase && no_devices_left
}

use_dmx || die "cannot load the device-mapper"
ramdisks 4 64 || die "cannot set up ramdisks"
remove_all_dm
setup || die "cannot set up the devices"

check filesystem_on_origin filesystem_on_origin
check snapshot_fsck_clean snapshot_fsck_clean
check snapshot_keeps_files_while_origin_changes snapshot_keeps_files_while_origin_changes
check live_snapshot_of_mounted_fs_is_clean live_snapshot_of_mounted_fs_is_clean
check mkfs_on_snapshot_leaves_origin_alone mkfs_on_snapshot_leaves_origin_alone
check cleanup cleanup
rm -rf "$SCEN_TMP"
tap_done
