#!/bin/sh
# LVM2 thin provisioning, unmodified, the way users run it: a thin pool
# (lvcreate -T, with thin_check at every activation), thin volumes,
# thin snapshots and snapshots of snapshots activated with -K, writes on
# every side checked, the pool's data and metadata grown with lvextend,
# a removed snapshot and an fstrim giving blocks back to the pool, a
# thin snapshot merged back with lvconvert --merge, the volume group
# deactivated and reactivated, and the pool repaired with lvconvert
# --repair.  (Autoextension by dmeventd runs with udevd: 84-udev-dmeventd's
# thin_pool_autoextends_past_threshold.)  Leaves no devices.
# dmx-test: timeout=900
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"
. "${DMX_TESTLIB:-/tests/lib}/thin.sh"

export LVM_SUPPRESS_FD_WARNINGS=1
VG=thinvg
PVS="/dev/ram0 /dev/ram1 /dev/ram2 /dev/ram3"
MNT=/mnt/dmx-thin
LV_SECTORS=65536	# 32 MiB thin volumes

lvm_field() {
	_cmd=$1 _field=$2
	shift 2
	$_cmd --noheadings --units s --nosuffix -o "$_field" "$@" | sed 's/^ *//; s/ *$//'
}

tpool() {
	echo "$VG-pool-tpool"
}

# write LV IMAGE SEED SECTOR COUNT: a patterned write, the image updated.
write() {
	pattern "$3" 0 "$5" >"$SCEN_TMP/w" &&
		put "$SCEN_TMP/w" "/dev/$VG/$1" "$4" 65536 direct &&
		splice "$SCEN_TMP/$2" "$4" "$SCEN_TMP/w"
}

reads_as() {
	same_as "$SCEN_TMP/$2" "/dev/$VG/$1" 0
}

# shellcheck disable=SC2086 # PVS is a list
lvcreate_thin_pool() {
	pvcreate -y $PVS >/dev/null && vgcreate $VG $PVS >/dev/null &&
		lvcreate -y -L 64M -T $VG/pool || return 1
	want_match attr "$(lvm_field lvs lv_attr $VG/pool)" '^t'
}

lvcreate_thin_volume() {
	lvcreate -y -V 32M -T $VG/pool -n thin1 || return 1
	want_eq table "$(dmsetup table $VG-thin1)" \
		"0 $LV_SECTORS thin $(devno "/dev/mapper/$(tpool)") 1" &&
		want_match pool "$(dmsetup table "$(tpool)")" "^0 [0-9]+ thin-pool " &&
		want_eq mode "$(pool_status_field "$(tpool)" 5)" rw &&
		want_eq needs_check "$(pool_status_field "$(tpool)" 8)" - || return 1
	zeroes $LV_SECTORS >"$SCEN_TMP/thin1"
	reads_as thin1 thin1 &&
		write thin1 thin1 l1a 0 20000 && write thin1 thin1 l1b 40000 3000 &&
		reads_as thin1 thin1
}

thin_snapshot_activates_with_k() {
	lvcreate -y -s $VG/thin1 -n snap1 || return 1
	! dm_exists $VG-snap1 || { echo "snapshot activated without -K"; return 1; }
	lvchange -ay -K $VG/snap1 || return 1
	cp "$SCEN_TMP/thin1" "$SCEN_TMP/snap1"
	reads_as snap1 snap1
}

writes_stay_on_their_side() {
	write thin1 thin1 l1c 5000 4000 && write snap1 snap1 s1a 18000 5000 &&
		reads_as thin1 thin1 && reads_as snap1 snap1
}

snapshot_of_snapshot() {
	lvcreate -y -s $VG/snap1 -n snap2 && lvchange -ay -K $VG/snap2 || return 1
	cp "$SCEN_TMP/snap1" "$SCEN_TMP/snap2"
	write snap2 snap2 s2a 17000 2000 && write snap1 snap1 s1b 0 600 &&
		reads_as snap2 snap2 && reads_as snap1 snap1 && reads_as thin1 thin1
}

lvextend_grows_pool_data() {
	before=$(pool_status_field "$(tpool)" 3 | cut -d/ -f2)
	lvextend -y -L +32M $VG/pool || return 1
	after=$(pool_status_field "$(tpool)" 3 | cut -d/ -f2)
	[ "$after" -gt "$before" ] || { echo "data blocks $before -> $after"; return 1; }
	reads_as thin1 thin1 && reads_as snap1 snap1 && reads_as snap2 snap2
}

lvextend_grows_pool_metadata() {
	before=$(pool_status_field "$(tpool)" 2 | cut -d/ -f2)
	lvextend -y --poolmetadatasize +4M $VG/pool || return 1
	after=$(pool_status_field "$(tpool)" 2 | cut -d/ -f2)
	[ "$after" -gt "$before" ] || { echo "metadata blocks $before -> $after"; return 1; }
	reads_as thin1 thin1 && reads_as snap1 snap1
}

lvremove_snapshot_frees_blocks() {
	before=$(pool_used_data "$(tpool)")
	lvremove -y $VG/snap2 || return 1
	after=$(pool_used_data "$(tpool)")
	[ "$after" -lt "$before" ] || { echo "used blocks $before -> $after"; return 1; }
	reads_as snap1 snap1 && reads_as thin1 thin1
}

# The inode tables and journal are written by mkfs itself, not by
# ext4lazyinit after the mount, which would provision blocks while the
# test counts them.
fstrim_returns_blocks() {
	lvcreate -y -V 64M -T $VG/pool -n fs &&
		mkfs.ext4 -q -E nodiscard,lazy_itable_init=0,lazy_journal_init=0 /dev/$VG/fs &&
		mkdir -p $MNT && mount /dev/$VG/fs $MNT || return 1
	dd if=/dev/urandom of=$MNT/f bs=1M count=16 conv=fsync 2>/dev/null
	full=$(pool_used_data "$(tpool)")
	rm $MNT/f && sync && fstrim $MNT
	trimmed=$(pool_used_data "$(tpool)")
	umount $MNT
	[ $((full - trimmed)) -ge 200 ] || { echo "used blocks $full -> $trimmed"; return 1; }
	e2fsck -fn /dev/$VG/fs >/dev/null
}

lvconvert_merges_thin_snapshot() {
	lvconvert --merge $VG/snap1 || return 1
	# Merging needs the origin inactive: on its next activation if it is not.
	if dm_exists $VG-snap1; then
		lvchange -an $VG/thin1 && lvchange -ay $VG/thin1 || return 1
	fi
	! lvs $VG/snap1 >/dev/null 2>&1 || { echo "snap1 still there"; return 1; }
	reads_as thin1 snap1
}

vgchange_reactivates_after_thin_check() {
	cat >"$SCEN_TMP/thin_check" <<-EOF
	#!/bin/sh
	echo "\$@" >>$SCEN_TMP/thin_check.log
	exec /usr/sbin/thin_check "\$@"
	EOF
	chmod +x "$SCEN_TMP/thin_check"
	vgchange -an $VG || return 1
	dm_exists "$(tpool)" && { echo "pool still active"; return 1; }
	vgchange -ay --config "global/thin_check_executable=\"$SCEN_TMP/thin_check\"" $VG ||
		return 1
	grep -q "$VG-pool_tmeta" "$SCEN_TMP/thin_check.log" ||
		{ echo "thin_check did not run:"; cat "$SCEN_TMP/thin_check.log"; return 1; }
	reads_as thin1 snap1
}

lvconvert_repairs_pool() {
	vgchange -an $VG && lvconvert -y --repair $VG/pool || return 1
	vgchange -ay $VG || return 1
	reads_as thin1 snap1 && mount /dev/$VG/fs $MNT && umount $MNT
}

# shellcheck disable=SC2086 # PVS is a list
cleanup() {
	vgremove -y -f $VG >/dev/null && pvremove -y $PVS >/dev/null &&
		no_devices_left
}

use_dmx || die "cannot load the device-mapper"
modprobe ext4 || die "cannot load ext4"
ramdisks 4 64 || die "cannot set up ramdisks"
remove_all_dm || die "devices left over from an earlier test"

check lvcreate_thin_pool lvcreate_thin_pool
check lvcreate_thin_volume lvcreate_thin_volume
check thin_snapshot_activates_with_k thin_snapshot_activates_with_k
check writes_stay_on_their_side writes_stay_on_their_side
check snapshot_of_snapshot snapshot_of_snapshot
check lvextend_grows_pool_data lvextend_grows_pool_data
check lvextend_grows_pool_metadata lvextend_grows_pool_metadata
check lvremove_snapshot_frees_blocks lvremove_snapshot_frees_blocks
check fstrim_returns_blocks fstrim_returns_blocks
check lvconvert_merges_thin_snapshot lvconvert_merges_thin_snapshot
check vgchange_reactivates_after_thin_check vgchange_reactivates_after_thin_check
check lvconvert_repairs_pool lvconvert_repairs_pool
check cleanup cleanup
rm -rf "$SCEN_TMP"
tap_done
