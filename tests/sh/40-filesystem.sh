#!/bin/sh
# ext4 on a striped dmx device: mkfs (which finds the stripe geometry),
# mount, files written and read back; suspend and resume while mounted
# (freezing the filesystem, with --nolockfs, with --noflush) with a
# writer running; a table reload that grows the device followed by an
# online resize2fs, twice; umount and a clean `fsck.ext4 -f -n`; the
# files survive a remount.  Leaves dmx loaded with no devices.
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"

MNT=/mnt/dmx-fs
DEV=/dev/mapper/fs
# Two stripes of 64 KiB chunks.  The stripe mapping of a sector does not
# depend on the target's length, so a longer table keeps the data where
# it is.
fs_table() {
	echo "0 $(($1 * 2)) striped 2 128 /dev/ram0 0 /dev/ram1 0"
}
SIZE1=32768	# sectors per stripe: 32 MiB device
SIZE2=49152	# 48 MiB after the first growth
LIN=16384	# then 8 MiB of linear on ram2: 56 MiB

ext4_available() {
	grep -qw ext4 /proc/filesystems || modprobe ext4 || return 1
	grep -qw ext4 /proc/filesystems
}

mkfs_ext4_on_striped_device() {
	dmsetup create fs --table "$(fs_table $SIZE1)" || return 1
	mkfs.ext4 -q -F -b 4096 "$DEV"
}

# mkfs.ext4 reads the stripe geometry from the device's I/O sizes: a
# 64 KiB chunk is 16 blocks, a full stripe 32.
mkfs_ext4_detects_stripe_geometry() {
	out=$(dumpe2fs -h "$DEV" 2>/dev/null) || return 1
	want_eq "RAID stride" "$(echo "$out" | sed -n 's/^RAID stride: *//p')" 16 &&
		want_eq "RAID stripe width" "$(echo "$out" | sed -n 's/^RAID stripe width: *//p')" 32
}

mount_ext4() {
	mkdir -p $MNT
	mount -t ext4 "$DEV" $MNT || return 1
	grep -q "^$DEV $MNT ext4 " /proc/mounts || { cat /proc/mounts; return 1; }
}

# fs_blocks: the filesystem's size in KiB.
fs_kib() {
	df -k $MNT | awk 'NR == 2 { print $2 }'
}

# make_file NAME SEED SECTORS: a pattern file in $SCEN_TMP/src.
make_file() {
	mkdir -p "$SCEN_TMP/src"
	pattern "$2" 0 "$3" >"$SCEN_TMP/src/$1"
}

# verify_files: every file copied so far equals its source.
verify_files() {
	r=0
	for f in "$SCEN_TMP"/src/*; do
		n=${f##*/}
		cmp "$f" "$MNT/$n" || r=1
	done
	return $r
}

files_written_read_back() {
	make_file a.bin fsa 2048 && make_file b.bin fsb 8192 && make_file c.bin fsc 7 || return 1
	for f in a.bin b.bin c.bin; do
		cp "$SCEN_TMP/src/$f" $MNT/$f || return 1
	done
	mkdir -p $MNT/dir
	i=0
	while [ $i -lt 50 ]; do
		echo "small file $i" >$MNT/dir/f$i || return 1
		i=$((i + 1))
	done
	sync
	drop_caches
	verify_files || return 1
	i=0
	while [ $i -lt 50 ]; do
		want_eq "dir/f$i" "$(cat $MNT/dir/f$i)" "small file $i" || return 1
		i=$((i + 1))
	done
}

# With lockfs (the default) suspend freezes the filesystem: a write
# blocks until resume, and the device holds a clean filesystem.
suspend_freezes_filesystem() {
	dmsetup suspend fs || return 1
	want_eq state "$(dm_state fs)" SUSPENDED || { dmsetup resume fs; return 1; }
	echo "written while frozen" >$MNT/frozen.txt &
	pid=$!
	# The only way to see that it waits is to give it time to finish.
	sleep 1
	if ! kill -0 $pid 2>/dev/null; then
		echo "a write finished on the frozen filesystem"
		dmsetup resume fs
		return 1
	fi
	# A second view of the same stripes: what is on the devices now
	# must be a clean filesystem (the freeze wrote everything back).
	dmsetup create fsview --readonly --table "$(fs_table $SIZE1)" || {
		dmsetup resume fs
		return 1
	}
	out=$(e2fsck -f -n /dev/mapper/fsview 2>&1)
	rc=$?
	dmsetup remove fsview
	dmsetup resume fs || return 1
	wait $pid || { echo "the held write failed"; return 1; }
	[ $rc -eq 0 ] || { echo "e2fsck -f -n on the frozen image (exit $rc):"; echo "$out"; return 1; }
	want_eq state "$(dm_state fs)" ACTIVE &&
		want_eq frozen.txt "$(cat $MNT/frozen.txt)" "written while frozen"
}

# suspend_with_writer FLAGS...: suspend and resume with FLAGS while a
# writer streams a file with fsync; the writer neither fails nor loses
# data.
suspend_with_writer() {
	name=w$(echo "$*" | tr -dc a-z)
	make_file $name.bin "$name" 4096 || return 1
	dd if="$SCEN_TMP/src/$name.bin" of=$MNT/$name.bin bs=65536 conv=fsync \
		2>"$SCEN_TMP/w.err" &
	pid=$!
	r=0
	i=0
	while [ $i -lt 3 ]; do
		dmsetup suspend "$@" fs || r=1
		want_eq state "$(dm_state fs)" SUSPENDED || r=1
		dmsetup resume fs || r=1
		i=$((i + 1))
	done
	wait $pid || { echo "writer failed:"; cat "$SCEN_TMP/w.err"; r=1; }
	sync
	drop_caches
	verify_files || r=1
	return $r
}

suspend_nolockfs_while_mounted() {
	suspend_with_writer --nolockfs
}

suspend_noflush_while_mounted() {
	suspend_with_writer --noflush
}

suspend_lockfs_with_writer() {
	suspend_with_writer
}

# grow SECTORS TABLE: load TABLE, resume, resize2fs online.
grow() {
	before=$(fs_kib)
	dmsetup load fs --table "$2" && dmsetup resume fs || return 1
	want_eq "device size" "$(size_of $DEV)" "$1" || return 1
	resize2fs "$DEV" >"$SCEN_TMP/resize.out" 2>&1 || {
		cat "$SCEN_TMP/resize.out"
		return 1
	}
	after=$(fs_kib)
	[ "$after" -gt "$before" ] || { echo "fs size $before KiB -> $after KiB"; return 1; }
	echo "fs size $before KiB -> $after KiB"
	verify_files
}

reload_grows_device_and_resize2fs_follows() {
	grow $((SIZE2 * 2)) "$(fs_table $SIZE2)"
}

# 24 MiB more data, 35 MiB in all: more than the 32 MiB the filesystem
# started with.
new_space_holds_data() {
	mkdir -p "$SCEN_TMP/src"
	pattern fsbig 0 4096 >"$SCEN_TMP/chunk" || return 1
	i=0
	while [ $i -lt 12 ]; do
		cat "$SCEN_TMP/chunk"
		i=$((i + 1))
	done >"$SCEN_TMP/src/big.bin"
	cp "$SCEN_TMP/src/big.bin" $MNT/big.bin || { df -k $MNT; return 1; }
	sync
	drop_caches
	verify_files
}

reload_appending_linear_target_grows_again() {
	grow $((SIZE2 * 2 + LIN)) "$(fs_table $SIZE2)
$((SIZE2 * 2)) $LIN linear /dev/ram2 0"
}

umount_and_fsck_clean() {
	umount $MNT || return 1
	out=$(fsck.ext4 -f -n "$DEV" 2>&1)
	rc=$?
	[ $rc -eq 0 ] && return 0
	echo "fsck.ext4 -f -n exit $rc:"
	echo "$out"
	return 1
}

files_survive_remount() {
	mount -t ext4 -o ro "$DEV" $MNT || return 1
	r=0
	verify_files || r=1
	want_eq frozen.txt "$(cat $MNT/frozen.txt)" "written while frozen" || r=1
	want_eq dir/f49 "$(cat $MNT/dir/f49)" "small file 49" || r=1
	umount $MNT || r=1
	return $r
}

remove_device() {
	dmsetup remove fs
}

use_dmx || die "cannot load the device-mapper"
ramdisks 4 64 || die "cannot set up ramdisks"
remove_all_dm || die "devices left over from an earlier test"

check ext4_available ext4_available
check mkfs_ext4_on_striped_device mkfs_ext4_on_striped_device
check mkfs_ext4_detects_stripe_geometry mkfs_ext4_detects_stripe_geometry
check mount_ext4 mount_ext4
if grep -q " $MNT " /proc/mounts; then
	check files_written_read_back files_written_read_back
	check suspend_freezes_filesystem suspend_freezes_filesystem
	check suspend_lockfs_with_writer suspend_lockfs_with_writer
	check suspend_nolockfs_while_mounted suspend_nolockfs_while_mounted
	check suspend_noflush_while_mounted suspend_noflush_while_mounted
	check reload_grows_device_and_resize2fs_follows reload_grows_device_and_resize2fs_follows
	check new_space_holds_data new_space_holds_data
	check reload_appending_linear_target_grows_again reload_appending_linear_target_grows_again
	check umount_and_fsck_clean umount_and_fsck_clean
	check files_survive_remount files_survive_remount
else
	for t in files_written_read_back suspend_freezes_filesystem \
		suspend_lockfs_with_writer suspend_nolockfs_while_mounted \
		suspend_noflush_while_mounted reload_grows_device_and_resize2fs_follows \
		new_space_holds_data reload_appending_linear_target_grows_again \
		umount_and_fsck_clean files_survive_remount; do
		not_ok "$t"
		diag "not run: no filesystem mounted"
	done
fi
check remove_device remove_device

# Whatever happened, leave nothing mounted and no devices.
dmsetup resume fs 2>/dev/null
umount $MNT 2>/dev/null
remove_all_dm
rm -rf "$SCEN_TMP"
tap_done
