#!/bin/sh
# LVM2 on dmx (no udev: /etc/lvm/lvm.conf of the initramfs): pvcreate
# on three ramdisks, vgcreate, a linear and a two-stripe LV whose dm
# tables agree with LVM's own metadata and whose data lands on the PVs
# where the metadata says; ext4 on the linear LV grown online with
# lvextend and resize2fs; sane lvs output; deactivation and
# reactivation; lvremove, vgremove, pvremove.  Snapshots are tested
# elsewhere.  Leaves dmx loaded with no devices.
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"

export LVM_SUPPRESS_FD_WARNINGS=1
VG=dmxvg
MNT=/mnt/dmx-lvm
PVS="/dev/ram0 /dev/ram1 /dev/ram2"

# lvm_field CMD FIELD ARGS...: one bare report field (sectors for sizes).
lvm_field() {
	_cmd=$1 _field=$2
	shift 2
	$_cmd --noheadings --units s --nosuffix -o "$_field" "$@" | sed 's/^ *//; s/ *$//'
}

# expected_table LV: the dm table LVM's metadata implies for VG/LV: each
# segment's extents on its PVs, as linear or striped targets.
expected_table() {
	ext=$(lvm_field vgs vg_extent_size $VG)
	lvm_field lvs seg_start,seg_size,segtype,stripes,stripe_size,seg_pe_ranges "$VG/$1" |
		while read -r start size type stripes chunk ranges; do
			line="$start $size $type"
			[ "$type" = striped ] && line="$line $stripes $chunk"
			for r in $ranges; do
				pv=${r%%:*}
				first=${r#*:}
				first=${first%-*}
				line="$line $(devno "$pv") $(($(lvm_field pvs pe_start "$pv") + first * ext))"
			done
			echo "$line"
		done
}

# lv_offset LV PV: the sector of PV where the LV's first segment on PV starts.
lv_offset() {
	ext=$(lvm_field vgs vg_extent_size $VG)
	r=$(lvm_field lvs seg_pe_ranges "$VG/$1" | tr ' ' '\n' | grep "^$2:" | head -n 1)
	first=${r#*:}
	first=${first%-*}
	echo $(($(lvm_field pvs pe_start "$2") + first * ext))
}

pvcreate_on_ramdisks() {
	pvcreate -y $PVS || return 1
	want_eq pvs "$(lvm_field pvs pv_name | sort | tr '\n' ' ')" "$PVS "
}

vgcreate_over_three_pvs() {
	vgcreate $VG $PVS || return 1
	want_eq "pv count" "$(lvm_field vgs pv_count $VG)" 3
}

lvcreate_linear_makes_dm_device() {
	lvcreate -y -L 16M -n lin $VG || return 1
	[ -b /dev/mapper/$VG-lin ] || { echo "/dev/mapper/$VG-lin missing"; return 1; }
	[ "$(readlink -f /dev/$VG/lin)" = "/dev/mapper/$VG-lin" ] ||
		{ echo "/dev/$VG/lin does not lead to /dev/mapper/$VG-lin"; ls -l /dev/$VG; return 1; }
	want_match uuid "$(info_field $VG-lin uuid)" '^LVM-[A-Za-z0-9]{64}$' &&
		want_eq "dm table" "$(dmsetup table $VG-lin)" "$(expected_table lin)" &&
		want_eq size "$(size_of /dev/$VG/lin)" 32768
}

lvcreate_striped_makes_dm_device() {
	lvcreate -y -i2 -I64 -L 32M -n str $VG || return 1
	table=$(dmsetup table $VG-str)
	want_match "dm table" "$table" '^0 65536 striped 2 128 ' &&
		want_eq "dm table" "$table" "$(expected_table str)" &&
		want_eq size "$(size_of /dev/$VG/str)" 65536
}

lv_linear_data_lands_on_pv() {
	pattern lvl 0 16384 >"$SCEN_TMP/p" || return 1
	put "$SCEN_TMP/p" /dev/$VG/lin 0 1048576 direct || return 1
	same_as "$SCEN_TMP/p" /dev/ram0 "$(lv_offset lin /dev/ram0)" &&
		same_as "$SCEN_TMP/p" /dev/$VG/lin 0 1048576 direct
}

lv_striped_data_lands_on_pvs() {
	# The first 8 MiB: 4 MiB on each stripe.
	pattern lvs 0 16384 >"$SCEN_TMP/p" || return 1
	put "$SCEN_TMP/p" /dev/$VG/str 0 1048576 direct || return 1
	k=0
	for pv in $(lvm_field lvs seg_pe_ranges $VG/str); do
		pv=${pv%%:*}
		stripe_pattern lvs 0 8192 2 128 $k >"$SCEN_TMP/s" || return 1
		same_as "$SCEN_TMP/s" "$pv" "$(lv_offset str "$pv")" || { echo "(stripe $k)"; return 1; }
		k=$((k + 1))
	done
	drop_caches
	same_as "$SCEN_TMP/p" /dev/$VG/str 0 65536 buffered
}

lvs_reports_sane_values() {
	want_eq lvs "$(lvs --noheadings --units m --nosuffix -o lv_name,lv_size,segtype,stripes,lv_attr $VG |
		awk '{ $1 = $1; print }')" "lin 16.00 linear 1 -wi-a-----
str 32.00 striped 2 -wi-a-----" &&
		want_eq "lv count" "$(lvm_field vgs lv_count $VG)" 2
}

ext4_on_linear_lv() {
	grep -qw ext4 /proc/filesystems || modprobe ext4 || return 1
	mkfs.ext4 -q -F -b 4096 /dev/$VG/lin || return 1
	mkdir -p $MNT
	mount -t ext4 /dev/$VG/lin $MNT || return 1
	pattern lvf 0 8192 >"$SCEN_TMP/f" && cp "$SCEN_TMP/f" $MNT/f || return 1
	sync
	want_match "lv_attr while mounted" "$(lvm_field lvs lv_attr $VG/lin)" '^-wi-ao'
}

fs_kib() {
	df -k $MNT | awk 'NR == 2 { print $2 }'
}

lvextend_and_resize2fs_online() {
	before=$(fs_kib)
	lvextend -L +16M $VG/lin || return 1
	want_eq "dm table" "$(dmsetup table $VG-lin)" "$(expected_table lin)" &&
		want_eq size "$(size_of /dev/$VG/lin)" 65536 || return 1
	resize2fs /dev/$VG/lin >"$SCEN_TMP/resize.out" 2>&1 || {
		cat "$SCEN_TMP/resize.out"
		return 1
	}
	after=$(fs_kib)
	[ "$after" -gt "$before" ] || { echo "fs size $before KiB -> $after KiB"; return 1; }
	# 4 + 12 MiB of files and a 4 MiB journal need the new space.
	pattern lvg 0 24576 >"$SCEN_TMP/g" && cp "$SCEN_TMP/g" $MNT/g || return 1
	sync
	drop_caches
	cmp "$SCEN_TMP/f" $MNT/f && cmp "$SCEN_TMP/g" $MNT/g
}

umount_and_fsck_clean() {
	umount $MNT || return 1
	out=$(fsck.ext4 -f -n /dev/$VG/lin 2>&1)
	rc=$?
	[ $rc -eq 0 ] && return 0
	echo "fsck.ext4 -f -n exit $rc:"
	echo "$out"
	return 1
}

lvchange_deactivates_and_reactivates() {
	table=$(dmsetup table $VG-lin)
	lvchange -an $VG/lin || return 1
	! dm_exists $VG-lin || { echo "$VG-lin still mapped"; return 1; }
	[ ! -e /dev/$VG/lin ] || { echo "/dev/$VG/lin left"; return 1; }
	want_match "lv_attr inactive" "$(lvm_field lvs lv_attr $VG/lin)" '^-wi-{7}$' || return 1
	lvchange -ay $VG/lin || return 1
	want_eq "dm table after reactivation" "$(dmsetup table $VG-lin)" "$table" || return 1
	mount -t ext4 -o ro /dev/$VG/lin $MNT || return 1
	r=0
	cmp "$SCEN_TMP/f" $MNT/f && cmp "$SCEN_TMP/g" $MNT/g || r=1
	umount $MNT || r=1
	return $r
}

lvremove_removes_dm_devices() {
	lvremove -y $VG/lin $VG/str || return 1
	no_devices_left || return 1
	[ ! -e /dev/$VG ] || { echo "/dev/$VG left:"; ls -l /dev/$VG; return 1; }
}

vgremove_and_pvremove() {
	vgremove -y $VG && pvremove -y $PVS || return 1
	want_eq pvs "$(lvm_field pvs pv_name)" ""
}

use_dmx || die "cannot load the device-mapper"
ramdisks 4 64 || die "cannot set up ramdisks"
remove_all_dm || die "devices left over from an earlier test"

check pvcreate_on_ramdisks pvcreate_on_ramdisks
check vgcreate_over_three_pvs vgcreate_over_three_pvs
check lvcreate_linear_makes_dm_device lvcreate_linear_makes_dm_device
check lvcreate_striped_makes_dm_device lvcreate_striped_makes_dm_device
check lv_linear_data_lands_on_pv lv_linear_data_lands_on_pv
check lv_striped_data_lands_on_pvs lv_striped_data_lands_on_pvs
check lvs_reports_sane_values lvs_reports_sane_values
check ext4_on_linear_lv ext4_on_linear_lv
if grep -q " $MNT " /proc/mounts; then
	check lvextend_and_resize2fs_online lvextend_and_resize2fs_online
	check umount_and_fsck_clean umount_and_fsck_clean
	check lvchange_deactivates_and_reactivates lvchange_deactivates_and_reactivates
else
	for t in lvextend_and_resize2fs_online umount_and_fsck_clean \
		lvchange_deactivates_and_reactivates; do
		not_ok "$t"
		diag "not run: no filesystem mounted"
	done
fi
check lvremove_removes_dm_devices lvremove_removes_dm_devices
check vgremove_and_pvremove vgremove_and_pvremove

# Whatever happened, leave nothing mounted, no VG and no devices.
umount $MNT 2>/dev/null
vgremove -y -f $VG >/dev/null 2>&1
pvremove -y -ff $PVS >/dev/null 2>&1
remove_all_dm
rm -rf "$SCEN_TMP"
tap_done
