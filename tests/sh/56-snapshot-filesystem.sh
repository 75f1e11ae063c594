#!/bin/sh
# Filesystems and snapshots: a snapshot of a device holding ext4 is a
# clean filesystem with the same files, even when taken while the
# origin is mounted and being written (after a freeze, as LVM does);
# mkfs on the snapshot gives a new clean filesystem and leaves the
# origin's alone.  Each test makes its own filesystem and devices; none
# is left after it.
#
# dmx-test: timeout=600
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"
. "${DMX_TESTLIB:-/tests/lib}/snapshot.sh"

SIZE=98304	# origin: 48 MiB of ram0
MNT=/mnt/dmx-snapfs
SMNT=/mnt/dmx-snapfs-snap

# Files of several sizes, with their checksums in $SCEN_TMP/NAME.md5.
populate() {
	mkdir -p "$1/d" || return 1
	dd_quiet if=/dev/urandom of="$1/big" bs=1M count=8 &&
		dd_quiet if=/dev/urandom of="$1/d/small" bs=1k count=37 &&
		seq 1 20000 >"$1/d/seq" || return 1
	(cd "$1" && md5sum big d/small d/seq) >"$SCEN_TMP/$2.md5"
}

# origin_with_files: an ext4 origin holding files (first.md5).
origin_with_files() {
	mkdir -p $MNT $SMNT &&
		modprobe ext4 &&
		dmsetup create fsbase --table "0 $SIZE linear /dev/ram0 0" &&
		blank_cow /dev/ram1 && blank_cow /dev/ram2 &&
		dmsetup create fsorig --table "0 $SIZE snapshot-origin /dev/mapper/fsbase" &&
		mkfs.ext4 -q -F /dev/mapper/fsorig && mount /dev/mapper/fsorig $MNT &&
		populate $MNT first && umount $MNT
}

# snap_create NAME COW: snapshot of fsbase, origin suspended around it.
snap_create() {
	snap_create_under fsorig "$1" "0 $SIZE snapshot /dev/mapper/fsbase $2 P 8"
}

# files_match DEV SUMS: DEV, mounted read-only, holds the files of SUMS.
files_match() {
	mount -o ro "$1" $SMNT || return 1
	r=0
	(cd $SMNT && md5sum -c "$SCEN_TMP/$2.md5") || r=1
	umount $SMNT || r=1
	return $r
}

snapshot_of_filesystem_is_clean() {
	origin_with_files && snap_create fssnap /dev/ram1 &&
		e2fsck -fn /dev/mapper/fssnap
}

# The origin changes a lot; the snapshot's files do not.
snapshot_keeps_files_while_origin_changes() {
	origin_with_files && snap_create fssnap /dev/ram1 &&
		mount /dev/mapper/fsorig $MNT || return 1
	rm -f $MNT/big && populate $MNT second && sync
	r=$?
	umount $MNT || r=1
	[ $r -eq 0 ] && files_match /dev/mapper/fssnap first &&
		e2fsck -fn /dev/mapper/fsorig
}

# Taken with the filesystem mounted and busy: dmsetup suspend freezes it.
live_snapshot_of_mounted_fs_is_clean() {
	origin_with_files && mount /dev/mapper/fsorig $MNT || return 1
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
	origin_with_files && snap_create fssnap /dev/ram1 &&
		mkfs.ext4 -q -F /dev/mapper/fssnap && e2fsck -fn /dev/mapper/fssnap &&
		files_match /dev/mapper/fsorig first && e2fsck -fn /dev/mapper/fsorig
}

# t NAME: test NAME, then no mount and no device may be left.
t() {
	check "$1" "$1"
	umount $SMNT 2>/dev/null
	umount $MNT 2>/dev/null
	remove_all_dm || die "devices left after $1"
}

use_dmx || die "cannot load the device-mapper"
ramdisks 4 64 || die "cannot set up ramdisks"
remove_all_dm || die "devices left over from an earlier test"

t snapshot_of_filesystem_is_clean
t snapshot_keeps_files_while_origin_changes
t live_snapshot_of_mounted_fs_is_clean
t mkfs_on_snapshot_leaves_origin_alone
rm -rf "$SCEN_TMP"
tap_done
