#!/bin/sh
# dmx-test: timeout=300
# ext4 on a striped dmx device: mkfs finds the stripe geometry; files
# written read back; suspend freezes the mounted filesystem (and a write
# waits until resume) unless --nolockfs or --noflush; suspend and resume
# in every flavour with a writer running; table reloads that grow the
# device followed by an online resize2fs; a clean `fsck.ext4 -f -n`
# after all that; the files survive a remount.
#
# Every test makes its own filesystem (fs_setup: a fresh device, mkfs,
# mount); the teardown after each one resumes, unmounts and removes
# everything.
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"

MNT=/mnt/dmx-fs
VIEW=/mnt/dmx-fs-view
DEV=/dev/mapper/fs
# Two stripes of 64 KiB chunks.  The stripe mapping of a sector does not
# depend on the target's length, so a longer table keeps the data where
# it is.
fs_table() {
	echo "0 $(($1 * 2)) striped 2 128 /dev/ram0 0 /dev/ram1 0"
}
SIZE1=32768	# sectors per stripe: 32 MiB device
SIZE2=49152	# 48 MiB after growing the stripes
LIN=16384	# or 8 MiB of linear on ram2 after them

ext4_available() {
	grep -qw ext4 /proc/filesystems || modprobe ext4 || return 1
	grep -qw ext4 /proc/filesystems
}

# fs_mkfs: the device fs (32 MiB) with a fresh ext4 on it.
fs_mkfs() {
	rm -rf "$SCEN_TMP/src"
	dmsetup create fs --table "$(fs_table $SIZE1)" &&
		mkfs.ext4 -q -F -b 4096 "$DEV"
}

# fs_setup: fs_mkfs, mounted on $MNT.
fs_setup() {
	fs_mkfs || return 1
	mkdir -p $MNT
	mount -t ext4 "$DEV" $MNT || return 1
	grep -q "^$DEV $MNT ext4 " /proc/mounts || { cat /proc/mounts; return 1; }
}

# fs_teardown: nothing mounted, no devices.
fs_teardown() {
	resume_all_dm
	for m in $VIEW $MNT; do
		if grep -q " $m " /proc/mounts; then umount $m || return 1; fi
	done
	dm_teardown
}

# fs_kib: the filesystem's size in KiB.
fs_kib() {
	df -k $MNT | awk 'NR == 2 { print $2 }'
}

# make_file NAME SEED SECTORS: a pattern file in $SCEN_TMP/src, copied
# to the filesystem.
make_file() {
	mkdir -p "$SCEN_TMP/src"
	pattern "$2" 0 "$3" >"$SCEN_TMP/src/$1" && cp "$SCEN_TMP/src/$1" "$MNT/$1"
}

# verify_files: every file made so far reads back as made.
verify_files() {
	r=0
	for f in "$SCEN_TMP"/src/*; do
		[ -f "$f" ] || continue
		n=${f##*/}
		cmp "$f" "$MNT/$n" || r=1
	done
	return $r
}

# some_files: three pattern files and a directory of 50 small ones.
some_files() {
	make_file a.bin fsa 2048 && make_file b.bin fsb 8192 && make_file c.bin fsc 7 ||
		return 1
	mkdir -p $MNT/dir
	i=0
	while [ $i -lt 50 ]; do
		echo "small file $i" >$MNT/dir/f$i || return 1
		i=$((i + 1))
	done
	sync
}

# small_files_read_back: the 50 small files of some_files.
small_files_read_back() {
	i=0
	while [ $i -lt 50 ]; do
		want_eq "dir/f$i" "$(cat $MNT/dir/f$i)" "small file $i" || return 1
		i=$((i + 1))
	done
}

# mkfs.ext4 reads the stripe geometry from the device's I/O sizes: a
# 64 KiB chunk is 16 blocks, a full stripe 32.
mkfs_ext4_detects_stripe_geometry() {
	fs_mkfs || return 1
	out=$(dumpe2fs -h "$DEV" 2>/dev/null) || return 1
	want_eq "RAID stride" "$(echo "$out" | sed -n 's/^RAID stride: *//p')" 16 &&
		want_eq "RAID stripe width" "$(echo "$out" | sed -n 's/^RAID stripe width: *//p')" 32
}

files_written_read_back() {
	fs_setup && some_files || return 1
	drop_caches
	verify_files && small_files_read_back
}

# With lockfs (the default) suspend freezes the filesystem: a write
# waits (the writer sleeps in D state) until resume, what the devices
# hold meanwhile is a clean filesystem without the new file, and the
# file is there after the resume.
suspend_freezes_filesystem() {
	fs_setup && some_files || return 1
	dmsetup suspend fs || return 1
	want_eq state "$(dm_state fs)" SUSPENDED || return 1
	# Its output goes nowhere near check's pipe: a test that fails
	# leaves it waiting until the teardown resumes the device.
	echo "written while frozen" >$MNT/frozen.txt 2>"$SCEN_TMP/frozen.err" &
	pid=$!
	wait_in_io $pid || { echo "a write went through on the frozen filesystem"; return 1; }
	# A second view of the same stripes: what is on the devices now
	# must be a clean filesystem (the freeze wrote everything back),
	# without the file being written.
	dmsetup create fsview --readonly --table "$(fs_table $SIZE1)" || return 1
	out=$(e2fsck -f -n /dev/mapper/fsview 2>&1) || {
		echo "e2fsck -f -n on the frozen image:"
		echo "$out"
		return 1
	}
	mkdir -p $VIEW
	mount -t ext4 -o ro,noload /dev/mapper/fsview $VIEW || return 1
	[ -e $VIEW/a.bin ] || { echo "the frozen image lacks a.bin"; return 1; }
	[ ! -e $VIEW/frozen.txt ] || { echo "the held write reached the devices"; return 1; }
	umount $VIEW && dmsetup remove fsview || return 1
	dmsetup resume fs || return 1
	wait $pid || { echo "the held write failed"; return 1; }
	want_eq state "$(dm_state fs)" ACTIVE &&
		want_eq frozen.txt "$(cat $MNT/frozen.txt)" "written while frozen"
}

# suspend_with_writer FLAGS...: suspend and resume with FLAGS while a
# writer streams a file with fsync; the writer neither fails nor loses
# data.
suspend_with_writer() {
	fs_setup && some_files || return 1
	name=w$(echo "$*" | tr -dc a-z)
	mkdir -p "$SCEN_TMP/src"
	pattern "$name" 0 4096 >"$SCEN_TMP/src/$name.bin" || return 1
	dd if="$SCEN_TMP/src/$name.bin" of=$MNT/$name.bin bs=65536 conv=fsync \
		>"$SCEN_TMP/w.err" 2>&1 &
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

suspend_lockfs_with_writer() {
	suspend_with_writer
}

suspend_nolockfs_while_mounted() {
	suspend_with_writer --nolockfs
}

suspend_noflush_while_mounted() {
	suspend_with_writer --noflush
}

# grow SECTORS TABLE: load TABLE, resume, resize2fs online; the
# filesystem is larger and the files are intact.
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
	fs_setup && some_files || return 1
	grow $((SIZE2 * 2)) "$(fs_table $SIZE2)"
}

# 30 MiB of data: more than the 32 MiB filesystem had room for.
new_space_holds_data() {
	fs_setup && grow $((SIZE2 * 2)) "$(fs_table $SIZE2)" || return 1
	mkdir -p "$SCEN_TMP/src"
	pattern fsbig 0 4096 >"$SCEN_TMP/chunk" || return 1
	i=0
	while [ $i -lt 15 ]; do
		cat "$SCEN_TMP/chunk"
		i=$((i + 1))
	done >"$SCEN_TMP/src/big.bin"
	cp "$SCEN_TMP/src/big.bin" $MNT/big.bin || { df -k $MNT; return 1; }
	sync
	drop_caches
	verify_files
}

reload_appending_linear_target_grows_filesystem() {
	fs_setup && some_files || return 1
	grow $((SIZE1 * 2 + LIN)) "$(fs_table $SIZE1)
$((SIZE1 * 2)) $LIN linear /dev/ram2 0"
}

# After files, suspends with and without lockfs, and two growths, the
# unmounted filesystem checks clean.
filesystem_checks_clean_after_suspends_and_growth() {
	fs_setup && some_files || return 1
	dmsetup suspend fs && dmsetup resume fs &&
		dmsetup suspend --nolockfs fs && dmsetup resume fs || return 1
	grow $((SIZE2 * 2)) "$(fs_table $SIZE2)" >/dev/null &&
		grow $((SIZE2 * 2 + LIN)) "$(fs_table $SIZE2)
$((SIZE2 * 2)) $LIN linear /dev/ram2 0" >/dev/null || return 1
	umount $MNT && fsck_clean "$DEV"
}

files_survive_remount() {
	fs_setup && some_files || return 1
	umount $MNT || return 1
	mount -t ext4 -o ro "$DEV" $MNT || return 1
	verify_files && small_files_read_back
}

scenario_start
ext4_available || die "ext4 is not available"
TAP_TEARDOWN=fs_teardown

check_each \
	mkfs_ext4_detects_stripe_geometry \
	files_written_read_back \
	suspend_freezes_filesystem \
	suspend_lockfs_with_writer \
	suspend_nolockfs_while_mounted \
	suspend_noflush_while_mounted \
	reload_grows_device_and_resize2fs_follows \
	new_space_holds_data \
	reload_appending_linear_target_grows_filesystem \
	filesystem_checks_clean_after_suspends_and_growth \
	files_survive_remount

rm -rf "$SCEN_TMP"
tap_done
