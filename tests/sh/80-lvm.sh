#!/bin/sh
# dmx-test: timeout=300
# LVM2 on dmx (no udev: /etc/lvm/lvm.conf of the initramfs): a volume
# group on three ramdisks, a linear and a two-stripe LV whose dm tables
# agree with LVM's own metadata and whose data lands on the PVs where
# the metadata says; sane lvs output; ext4 on the linear LV, open while
# mounted, grown online with lvextend and resize2fs and checking clean
# afterwards; deactivation and reactivation; lvremove and vgremove.
# Snapshots are tested elsewhere.
#
# Every test makes its own volume group on fresh ramdisks (vg_setup),
# and the LVs it needs; the teardown after each one unmounts and
# removes every device.
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

# vg_setup: the volume group $VG over $PVS, fresh (zeroed) ramdisks that
# vgcreate makes PVs of.
vg_setup() {
	ramdisks 4 64 && vgcreate -q $VG $PVS >/dev/null
}

# lv_lin, lv_str: the linear LV (16 MiB) and the striped one (2 x 64 KiB
# stripes, 32 MiB).
lv_lin() { lvcreate -q -y -L 16M -n lin $VG >/dev/null; }
lv_str() { lvcreate -q -y -i2 -I64 -L 32M -n str $VG >/dev/null; }

# lvm_teardown: nothing mounted, no devices, no LVM device links; the
# next vg_setup zeroes the ramdisks, metadata and all.
lvm_teardown() {
	if grep -q " $MNT " /proc/mounts; then umount $MNT || return 1; fi
	dm_teardown && rm -rf /dev/$VG
}

lvcreate_linear_makes_dm_device() {
	vg_setup || return 1
	lvcreate -y -L 16M -n lin $VG || return 1
	[ -b /dev/mapper/$VG-lin ] || { echo "/dev/mapper/$VG-lin missing"; return 1; }
	[ "$(readlink -f /dev/$VG/lin)" = "/dev/mapper/$VG-lin" ] ||
		{ echo "/dev/$VG/lin does not lead to /dev/mapper/$VG-lin"; ls -l /dev/$VG; return 1; }
	want_match uuid "$(info_field $VG-lin uuid)" '^LVM-[A-Za-z0-9]{64}$' &&
		want_eq "dm table" "$(dmsetup table $VG-lin)" "$(expected_table lin)" &&
		want_eq size "$(size_of /dev/$VG/lin)" 32768
}

lvcreate_striped_makes_dm_device() {
	vg_setup || return 1
	lvcreate -y -i2 -I64 -L 32M -n str $VG || return 1
	table=$(dmsetup table $VG-str)
	want_match "dm table" "$table" '^0 65536 striped 2 128 ' &&
		want_eq "dm table" "$table" "$(expected_table str)" &&
		want_eq size "$(size_of /dev/$VG/str)" 65536
}

lv_linear_data_lands_on_pv() {
	vg_setup && lv_lin || return 1
	pattern lvl 0 16384 >"$SCEN_TMP/p" || return 1
	put "$SCEN_TMP/p" /dev/$VG/lin 0 1048576 direct || return 1
	same_as "$SCEN_TMP/p" /dev/ram0 "$(lv_offset lin /dev/ram0)" &&
		same_as "$SCEN_TMP/p" /dev/$VG/lin 0 1048576 direct
}

lv_striped_data_lands_on_pvs() {
	vg_setup && lv_str || return 1
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
	vg_setup && lv_lin && lv_str || return 1
	want_eq lvs "$(lvs --noheadings --units m --nosuffix -o lv_name,lv_size,segtype,stripes,lv_attr $VG |
		awk '{ $1 = $1; print }')" "lin 16.00 linear 1 -wi-a-----
str 32.00 striped 2 -wi-a-----" &&
		want_eq "lv count" "$(lvm_field vgs lv_count $VG)" 2
}

# lin_fs: vg_setup and lv_lin with ext4 on it, mounted on $MNT, holding
# the file f (pattern lvf, also in $SCEN_TMP/f).
lin_fs() {
	vg_setup && lv_lin && mkfs.ext4 -q -F -b 4096 /dev/$VG/lin || return 1
	mkdir -p $MNT
	mount -t ext4 /dev/$VG/lin $MNT || return 1
	pattern lvf 0 8192 >"$SCEN_TMP/f" && cp "$SCEN_TMP/f" $MNT/f && sync
}

# LVM reads the open count of the LV's device: 'o' in the attributes.
lv_attr_shows_mounted_lv_open() {
	lin_fs || return 1
	want_match "lv_attr while mounted" "$(lvm_field lvs lv_attr $VG/lin)" '^-wi-ao'
}

fs_kib() {
	df -k $MNT | awk 'NR == 2 { print $2 }'
}

# Then the files read back, and the unmounted filesystem checks clean.
lvextend_and_resize2fs_online() {
	lin_fs || return 1
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
	cmp "$SCEN_TMP/f" $MNT/f && cmp "$SCEN_TMP/g" $MNT/g || return 1
	umount $MNT && fsck_clean /dev/$VG/lin
}

lvchange_deactivates_and_reactivates() {
	lin_fs && umount $MNT || return 1
	table=$(dmsetup table $VG-lin)
	lvchange -an $VG/lin || return 1
	! dm_exists $VG-lin || { echo "$VG-lin still mapped"; return 1; }
	[ ! -e /dev/$VG/lin ] || { echo "/dev/$VG/lin left"; return 1; }
	want_match "lv_attr inactive" "$(lvm_field lvs lv_attr $VG/lin)" '^-wi-{7}$' || return 1
	lvchange -ay $VG/lin || return 1
	want_eq "dm table after reactivation" "$(dmsetup table $VG-lin)" "$table" || return 1
	mount -t ext4 -o ro /dev/$VG/lin $MNT || return 1
	cmp "$SCEN_TMP/f" $MNT/f
}

lvremove_removes_dm_devices() {
	vg_setup && lv_lin && lv_str || return 1
	lvremove -y $VG/lin $VG/str || return 1
	no_devices_left || return 1
	[ ! -e /dev/$VG ] || { echo "/dev/$VG left:"; ls -l /dev/$VG; return 1; }
}

# vgremove -f takes the active LVs down with the group.
vgremove_removes_active_lvs() {
	vg_setup && lv_lin && lv_str || return 1
	vgremove -f $VG || return 1
	no_devices_left || return 1
	[ ! -e /dev/$VG ] || { echo "/dev/$VG left:"; ls -l /dev/$VG; return 1; }
	want_eq "volume groups" "$(lvm_field vgs vg_name)" ""
}

scenario_start
grep -qw ext4 /proc/filesystems || modprobe ext4 || die "ext4 is not available"
TAP_TEARDOWN=lvm_teardown

check_each \
	lvcreate_linear_makes_dm_device \
	lvcreate_striped_makes_dm_device \
	lv_linear_data_lands_on_pv \
	lv_striped_data_lands_on_pvs \
	lvs_reports_sane_values \
	lv_attr_shows_mounted_lv_open \
	lvextend_and_resize2fs_online \
	lvchange_deactivates_and_reactivates \
	lvremove_removes_dm_devices \
	vgremove_removes_active_lvs

rm -rf "$SCEN_TMP"
tap_done
