#!/bin/sh
# LVM2 snapshots: lvcreate -s builds the four devices of snapshot.rst
# (origin, -real, -cow, snapshot) with upstream's tables; writes to the
# origin and to the snapshot each stay on their side; lvs reports the
# snapshot's usage as the status line implies; lvconvert --merge
# merges it back and the origin then holds the snapshot's content.
# Each test makes its own volume group; none is left after it.
#
# dmx-test: timeout=600
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"

export LVM_SUPPRESS_FD_WARNINGS=1
VG=snapvg
PVS="/dev/ram0 /dev/ram1"
LV_SECTORS=65536	# 32 MiB

lvm_field() {
	_cmd=$1 _field=$2
	shift 2
	$_cmd --noheadings --units s --nosuffix -o "$_field" "$@" | sed 's/^ *//; s/ *$//'
}

# shellcheck disable=SC2086 # PVS is a list
origin_lv_with_data() {
	pvcreate -y $PVS >/dev/null && vgcreate $VG $PVS >/dev/null &&
		lvcreate -y -L 32M -n lv $VG >/dev/null || return 1
	pattern lvbase 0 $LV_SECTORS >"$SCEN_TMP/origin" &&
		put "$SCEN_TMP/origin" /dev/$VG/lv 0 1048576 direct &&
		cp "$SCEN_TMP/origin" "$SCEN_TMP/snap"
}

snapshot_lv() {
	origin_lv_with_data && lvcreate -y -s -L 16M -c 8k -n snap $VG/lv >/dev/null
}

# Writes to the origin and to the snapshot, the images updated.
snapshot_lv_with_writes() {
	snapshot_lv || return 1
	pattern lvorig 0 5000 >"$SCEN_TMP/w" &&
		put "$SCEN_TMP/w" /dev/$VG/lv 3001 65536 direct &&
		splice "$SCEN_TMP/origin" 3001 "$SCEN_TMP/w" || return 1
	pattern lvsnap 0 7000 >"$SCEN_TMP/w" &&
		put "$SCEN_TMP/w" /dev/$VG/snap 20000 65536 direct &&
		splice "$SCEN_TMP/snap" 20000 "$SCEN_TMP/w"
}

merged_snapshot_lv() {
	snapshot_lv_with_writes && lvconvert --merge -i 1 $VG/snap
}

lvcreate_snapshot_makes_four_devices() {
	snapshot_lv || return 1
	real=$(devno /dev/mapper/$VG-lv-real)
	cow=$(devno /dev/mapper/$VG-snap-cow)
	want_eq origin "$(dmsetup table $VG-lv)" \
		"0 $LV_SECTORS snapshot-origin $real" &&
		want_match snapshot "$(dmsetup table $VG-snap)" \
			"^0 $LV_SECTORS snapshot $real $cow PO? 16\$"
}

writes_stay_on_their_side() {
	snapshot_lv_with_writes &&
		same_as "$SCEN_TMP/origin" /dev/$VG/lv 0 &&
		same_as "$SCEN_TMP/snap" /dev/$VG/snap 0
}

# Data% is allocated / total of the status line, as a percentage.
lvs_shows_snapshot_usage() {
	snapshot_lv_with_writes || return 1
	# shellcheck disable=SC2046 # the status line's fields
	set -- $(dmsetup status $VG-snap)
	want=$(echo "$4" | awk -F/ '{ printf "%.2f", 100 * $1 / $2 }')
	got=$(lvm_field lvs data_percent $VG/snap)
	diag "status $4 $5, lvs Data% $got"
	want_eq data_percent "$got" "$want"
}

lvconvert_merge_completes() {
	merged_snapshot_lv || return 1
	! dm_exists $VG-snap || { echo "$VG-snap still mapped"; return 1; }
	want_eq lvs "$(lvm_field lvs lv_name $VG)" lv
}

merged_origin_holds_snapshot_content() {
	merged_snapshot_lv && same_as "$SCEN_TMP/snap" /dev/$VG/lv 0
}

merged_origin_survives_reactivation() {
	merged_snapshot_lv && lvchange -an $VG/lv && lvchange -ay $VG/lv &&
		same_as "$SCEN_TMP/snap" /dev/$VG/lv 0
}

# t NAME: test NAME, then the volume group and every device go.
# shellcheck disable=SC2086 # PVS is a list
t() {
	check "$1" "$1"
	vgremove -y -f $VG >/dev/null 2>&1
	pvremove -y $PVS >/dev/null 2>&1
	remove_all_dm || die "devices left after $1"
}

use_dmx || die "cannot load the device-mapper"
ramdisks 4 64 || die "cannot set up ramdisks"
remove_all_dm || die "devices left over from an earlier test"

t lvcreate_snapshot_makes_four_devices
t writes_stay_on_their_side
t lvs_shows_snapshot_usage
t lvconvert_merge_completes
t merged_origin_holds_snapshot_content
t merged_origin_survives_reactivation
rm -rf "$SCEN_TMP"
tap_done
