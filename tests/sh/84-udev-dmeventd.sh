#!/bin/sh
# dmx-test: timeout=600
# dmeventd monitoring, as a distribution runs LVM2: systemd-udevd with
# the dm and LVM rules, and an lvm.conf (tests/lib/udev.sh) with
# monitoring = 1 and autoextend thresholds of 70% growing by 50%.  LVM
# starts dmeventd when it first activates a snapshot or a thin pool and
# registers the LV with it; when writes fill a snapshot's COW space or a
# thin pool's data past the threshold, dmeventd's plugin runs lvextend
# itself, the LV grows without anyone asking, nothing is lost on either
# side, and the snapshot stays valid.  dmeventd works in its own time
# (it looks at a monitored LV every 10 s, and on each dm event), so the
# growth is waited for with a deadline.  And a snapshot merge asked for
# while its origin is mounted waits for the origin's next activation,
# then completes.
#
# Every test makes its own volume group on fresh ramdisks; the teardown
# after each one removes every device, and dmeventd with them.
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"
. "${DMX_TESTLIB:-/tests/lib}/udev.sh"

export LVM_SUPPRESS_FD_WARNINGS=1
VG=evvg
PVS="/dev/ram0 /dev/ram1 /dev/ram2 /dev/ram3"
LVM_LIMIT=90
# dmeventd's 10 s period, its lvextend, and a slow TCG guest.
GROW_DEADLINE=180
MNT=/mnt/dmx-dmeventd

vg_setup() {
	udev_ramdisks && run_lvm vgcreate -q $VG $PVS >/dev/null
}

# write LV SEED SECTOR COUNT: a patterned O_DIRECT write to VG/LV, kept in
# $SCEN_TMP/SEED.
write() {
	pattern "$2" 0 "$4" >"$SCEN_TMP/$2" &&
		put "$SCEN_TMP/$2" "/dev/$VG/$1" "$3" 65536 direct
}

# lv_bigger_than LV SECTORS: the LV is now larger than SECTORS.
lv_bigger_than() {
	[ "$(lvm_field lvs lv_size "$VG/$1")" -gt "$2" ]
}

# grows LV SECTORS: wait (GROW_DEADLINE) until dmeventd has grown the LV
# past SECTORS; else say how full it is.
grows() {
	wait_until $GROW_DEADLINE lv_bigger_than "$1" "$2" && return 0
	echo "$VG/$1 still $(lvm_field lvs lv_size "$VG/$1") sectors after ${GROW_DEADLINE}s:"
	run_lvm lvs -a -o lv_name,lv_size,data_percent,snap_percent,seg_monitor $VG
	echo "dmeventd: $(dmeventd_pid || echo none)"
	return 1
}

dmeventd_teardown() {
	if grep -q " $MNT " /proc/mounts; then umount $MNT || return 1; fi
	dm_teardown && stop_dmeventd && udev_settle
}

snapshot_is_monitored_by_dmeventd() {
	vg_setup && run_lvm lvcreate -q -y -L 32M -n origin $VG >/dev/null &&
		run_lvm lvcreate -y -s -L 8M -n snap $VG/origin || return 1
	want_eq seg_monitor "$(lvm_field lvs seg_monitor $VG/snap)" monitored || return 1
	dmeventd_pid >/dev/null || { echo "no dmeventd running"; return 1; }
}

# 6 MiB of origin writes copy 6 MiB into the 8 MiB COW device: past 70%.
snapshot_autoextends_past_threshold() {
	vg_setup && run_lvm lvcreate -q -y -L 32M -n origin $VG >/dev/null || return 1
	write origin old 0 12288 || return 1
	run_lvm lvcreate -q -y -s -L 8M -n snap $VG/origin >/dev/null || return 1
	write origin new 0 12288 || return 1
	grows snap 16384 || return 1
	want_match "snapshot attributes" "$(lvm_field lvs lv_attr $VG/snap)" '^s.{3}a' &&
		same_as "$SCEN_TMP/old" /dev/$VG/snap 0 &&
		same_as "$SCEN_TMP/new" /dev/$VG/origin 0
}

thin_pool_is_monitored_by_dmeventd() {
	vg_setup && run_lvm lvcreate -y -L 16M -T $VG/pool || return 1
	want_eq seg_monitor "$(lvm_field lvs seg_monitor $VG/pool)" monitored
}

# 13 MiB written to a thin volume of a 16 MiB pool: past 70% of its data.
thin_pool_autoextends_past_threshold() {
	vg_setup && run_lvm lvcreate -q -y -L 16M -T $VG/pool >/dev/null &&
		run_lvm lvcreate -q -y -V 64M -T $VG/pool -n thin >/dev/null || return 1
	write thin data 0 26624 || return 1
	grows pool 32768 || return 1
	want_match "pool attributes" "$(lvm_field lvs lv_attr $VG/pool)" '^t.{3}a' &&
		same_as "$SCEN_TMP/data" /dev/$VG/thin 0
}

no_lv() {
	! run_lvm lvs "$VG/$1"
}

# lvconvert --merge of a snapshot whose origin holds a mounted
# filesystem cannot start at once: LVM marks it and starts it at the
# origin's next activation, then polls it to the end and removes the
# snapshot; the filesystem is the snapshot's again.
snapshot_merge_of_open_origin_runs_at_reactivation() {
	vg_setup && run_lvm lvcreate -q -y -L 32M -n origin $VG >/dev/null &&
		mkfs.ext4 -q -F /dev/$VG/origin && mkdir -p $MNT &&
		mount -t ext4 /dev/$VG/origin $MNT || return 1
	pattern old 0 4096 >"$SCEN_TMP/old" && cp "$SCEN_TMP/old" $MNT/f && sync || return 1
	run_lvm lvcreate -q -y -s -L 16M -n snap $VG/origin >/dev/null || return 1
	pattern new 0 4096 >$MNT/f && sync || return 1
	run_lvm lvconvert --merge $VG/snap >"$SCEN_TMP/merge.out" 2>&1 ||
		{ cat "$SCEN_TMP/merge.out"; return 1; }
	grep -q "Delaying merge" "$SCEN_TMP/merge.out" ||
		{ echo "lvconvert did not delay:"; cat "$SCEN_TMP/merge.out"; return 1; }
	umount $MNT && run_lvm lvchange -an $VG/origin || return 1
	# The poll it starts outlives the command: keep it off our pipe.
	run_lvm lvchange -ay $VG/origin >"$SCEN_TMP/act.out" 2>&1 ||
		{ cat "$SCEN_TMP/act.out"; return 1; }
	wait_until $GROW_DEADLINE no_lv snap ||
		{ echo "snapshot still there:"; run_lvm lvs -a $VG; return 1; }
	fsck_clean /dev/$VG/origin && mount -t ext4 -o ro /dev/$VG/origin $MNT || return 1
	cmp "$SCEN_TMP/old" $MNT/f
}

scenario_start
grep -qw ext4 /proc/filesystems || modprobe ext4 || die "ext4 is not available"
start_udevd || die "systemd-udevd starts"
TAP_TEARDOWN=dmeventd_teardown

check_each \
	snapshot_is_monitored_by_dmeventd \
	snapshot_autoextends_past_threshold \
	thin_pool_is_monitored_by_dmeventd \
	thin_pool_autoextends_past_threshold \
	snapshot_merge_of_open_origin_runs_at_reactivation

stop_dmeventd
stop_udevd
rm -rf "$SCEN_TMP"
tap_done
