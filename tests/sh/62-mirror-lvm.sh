#!/bin/sh
# dmx-test: timeout=900
# LVM2's mirrors on the mirror target, run the way users run them (no
# udev, no dmeventd: /etc/lvm/lvm.conf of the initramfs): lvcreate
# --type mirror with a core and a disk log reaching Cpy%Sync 100 with
# both images alike; lvconvert of a linear LV to a mirror and back;
# pvmove of a PV holding a mounted ext4 that is being written (alone,
# and beside a striped LV), every file checked afterwards; pvmove -b
# with its forked poller; pvmove -n of one LV; pvmove --abort leaving
# everything on the source; lvconvert --repair of a failed leg.  Each test makes its own volume group on fresh ramdisks.
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"

export LVM_SUPPRESS_FD_WARNINGS=1
VG=mirvg
MNT=/mnt/dmx-mirror
PVS="/dev/ram0 /dev/ram1 /dev/ram2"

lvm_field() {
	_cmd=$1 _field=$2
	shift 2
	$_cmd --noheadings --units s --nosuffix -o "$_field" "$@" | sed 's/^ *//; s/ *$//'
}

# shellcheck disable=SC2086 # PVS is a list
vg_setup() {
	ramdisks 4 64 && vgcreate -q $VG $PVS >/dev/null
}

lvm_teardown() {
	if grep -q " $MNT " /proc/mounts; then umount $MNT || return 1; fi
	dm_teardown && rm -rf /dev/$VG
}

# wait_synced LV: lvs says Cpy%Sync 100.00 within 120 s.
wait_synced() {
	_end=$(($(now_cs) + 12000))
	until [ "$(lvm_field lvs copy_percent $VG/$1)" = "100.00" ]; do
		if [ "$(now_cs)" -gt $_end ]; then
			echo "$1 not in sync: $(lvs -a $VG 2>&1)"
			dmsetup status
			return 1
		fi
		sleep 0.2
	done
}

# with_data LV SECTORS: LV holds pattern lvdata, also in $SCEN_TMP/data.
with_data() {
	pattern lvdata 0 "$2" >"$SCEN_TMP/data" &&
		put "$SCEN_TMP/data" /dev/$VG/$1 0 1048576 direct
}

# images_hold_data LV: both images of mirror LV hold the data.
images_hold_data() {
	for i in 0 1; do
		same_as "$SCEN_TMP/data" /dev/mapper/$VG-${1}_mimage_$i 0 ||
			{ echo "(image $i)"; return 1; }
	done
}

lvcreate_mirror_with_core_log_syncs() {
	vg_setup && lvcreate -q -y --type mirror -m1 --mirrorlog core -L 16M -n mir $VG \
		>/dev/null || return 1
	want_match table "$(dmsetup table $VG-mir)" \
		'^0 32768 mirror core 1 [0-9]+ 2 [0-9]+:[0-9]+ 0 [0-9]+:[0-9]+ 0( 1 handle_errors)?$' &&
		with_data mir 16384 && wait_synced mir && images_hold_data mir
}

lvcreate_mirror_with_disk_log_syncs() {
	vg_setup && lvcreate -q -y --type mirror -m1 --mirrorlog disk -L 16M -n mir $VG \
		>/dev/null || return 1
	want_match table "$(dmsetup table $VG-mir)" \
		'^0 32768 mirror disk 2 [0-9]+:[0-9]+ [0-9]+ 2 [0-9]+:[0-9]+ 0 [0-9]+:[0-9]+ 0' &&
		with_data mir 16384 && wait_synced mir && images_hold_data mir
}

# Deactivated and activated again, a disk-log mirror is in sync at once.
disk_log_mirror_is_in_sync_after_reactivation() {
	vg_setup && lvcreate -q -y --type mirror -m1 --mirrorlog disk -L 16M -n mir $VG \
		>/dev/null && wait_synced mir || return 1
	lvchange -an $VG/mir && lvchange -ay $VG/mir || return 1
	want_eq "Cpy%Sync" "$(lvm_field lvs copy_percent $VG/mir)" "100.00"
}

lvconvert_linear_to_mirror_and_back_keeps_data() {
	vg_setup && lvcreate -q -y -L 16M -n lin $VG /dev/ram0 >/dev/null &&
		with_data lin 32768 || return 1
	lvconvert -q -y --type mirror -m1 --mirrorlog core $VG/lin /dev/ram1 >/dev/null &&
		wait_synced lin && images_hold_data lin || return 1
	lvconvert -q -y -m0 $VG/lin /dev/ram1 >/dev/null || return 1
	want_eq segtype "$(lvm_field lvs segtype $VG/lin)" linear &&
		same_as "$SCEN_TMP/data" /dev/$VG/lin 0
}

# writer: appends numbered files to $MNT until $MNT/stop appears.
writer() {
	n=0
	while [ ! -e $MNT/stop ]; do
		pattern "w$n" 0 64 >$MNT/f$n && sync
		n=$((n + 1))
	done
}

# files_intact: every file the writer wrote holds its pattern.
files_intact() {
	for f in $MNT/f*; do
		n=${f##*/f}
		pattern "w$n" 0 64 | cmp -s - "$f" || { echo "$f differs"; return 1; }
	done
}

# pvmove_while_writing ARGS...: pvmove ARGS while writer() keeps
# writing files to the filesystem on MNT; pvmove's output if it fails.
pvmove_while_writing() {
	writer &
	wpid=$!
	pvmove "$@" >"$SCEN_TMP/pvmove.out" 2>&1
	rc=$?
	touch $MNT/stop
	wait $wpid
	[ $rc -eq 0 ] || { cat "$SCEN_TMP/pvmove.out"; return 1; }
}

pvmove_moves_mounted_filesystem_being_written() {
	vg_setup && lvcreate -q -y -L 32M -n lin $VG /dev/ram0 >/dev/null &&
		mkfs.ext4 -q -F /dev/$VG/lin && mkdir -p $MNT &&
		mount -t ext4 /dev/$VG/lin $MNT || return 1
	pattern big 0 16384 >$MNT/big && sync && md5sum <$MNT/big >"$SCEN_TMP/big.md5"
	pvmove_while_writing -i1 /dev/ram0 /dev/ram1 || return 1
	want_eq devices "$(lvm_field lvs devices $VG/lin)" "/dev/ram1(0)" &&
		files_intact && want_eq big "$(md5sum <$MNT/big)" "$(cat "$SCEN_TMP/big.md5")" &&
		umount $MNT && fsck_clean /dev/$VG/lin
}

# A linear LV with a mounted ext4 being written and an LV striped over
# ram0 and ram1 both leave ram0 for ram2 in one foreground pvmove; the
# striped LV keeps its other stripe on ram1.
pvmove_moves_linear_and_striped_lvs_in_use() {
	ramdisks 4 64 && vgcreate -q $VG /dev/ram0 /dev/ram1 /dev/ram2 >/dev/null &&
		lvcreate -q -y -L 16M -n lin $VG /dev/ram0 >/dev/null &&
		lvcreate -q -y -i2 -I64 -L 16M -n str $VG /dev/ram0 /dev/ram1 >/dev/null &&
		with_data str 32768 && mkfs.ext4 -q -F /dev/$VG/lin && mkdir -p $MNT &&
		mount -t ext4 /dev/$VG/lin $MNT || return 1
	pattern big 0 8192 >$MNT/big && sync && md5sum <$MNT/big >"$SCEN_TMP/big.md5"
	pvmove_while_writing -i1 /dev/ram0 /dev/ram2 || return 1
	want_eq "lin on" "$(lvm_field lvs devices $VG/lin)" "/dev/ram2(0)" &&
		want_eq "str on" "$(lvm_field lvs devices $VG/str)" "/dev/ram2(4),/dev/ram1(0)" &&
		want_eq "ram0 used" "$(lvm_field pvs pv_used /dev/ram0)" 0 &&
		same_as "$SCEN_TMP/data" /dev/$VG/str 0 && files_intact &&
		want_eq big "$(md5sum <$MNT/big)" "$(cat "$SCEN_TMP/big.md5")" &&
		umount $MNT && fsck_clean /dev/$VG/lin
}

# pvmove -b returns at once and leaves the move to a poller it forks;
# the move is over when no pvmove LV is left.
pvmove_in_background_completes() {
	vg_setup && lvcreate -q -y -L 32M -n lin $VG /dev/ram0 >/dev/null &&
		with_data lin 65536 || return 1
	pvmove -b -i1 /dev/ram0 /dev/ram1 >"$SCEN_TMP/pvmove.out" 2>&1 ||
		{ cat "$SCEN_TMP/pvmove.out"; return 1; }
	_end=$(($(now_cs) + 12000))
	while lvs -a --noheadings -o lv_name $VG | grep -q pvmove; do
		if [ "$(now_cs)" -gt $_end ]; then
			echo "pvmove still running: $(lvs -a $VG 2>&1)"
			return 1
		fi
		sleep 0.2
	done
	want_eq "lin on" "$(lvm_field lvs devices $VG/lin)" "/dev/ram1(0)" &&
		want_eq "ram0 used" "$(lvm_field pvs pv_used /dev/ram0)" 0 &&
		same_as "$SCEN_TMP/data" /dev/$VG/lin 0
}

pvmove_of_one_lv_leaves_the_others() {
	vg_setup && lvcreate -q -y -L 8M -n a $VG /dev/ram0 >/dev/null &&
		lvcreate -q -y -L 8M -n b $VG /dev/ram0 >/dev/null &&
		with_data a 16384 || return 1
	pvmove -i1 -n a /dev/ram0 /dev/ram1 >/dev/null || return 1
	want_eq "a on" "$(lvm_field lvs devices $VG/a)" "/dev/ram1(0)" &&
		want_match "b on" "$(lvm_field lvs devices $VG/b)" '^/dev/ram0' &&
		same_as "$SCEN_TMP/data" /dev/$VG/a 0
}

# The destination is slow (every write delayed), so the move is still
# copying when it is aborted.  It starts 1 MiB into ram1, so that LVM
# does not see its PV label on ram1 as well.
pvmove_abort_leaves_everything_on_source() {
	ramdisks 4 64 &&
		dmsetup create slow --table "0 120000 delay /dev/ram1 2048 0 /dev/ram1 2048 1000" &&
		vgcreate -q $VG /dev/ram0 /dev/mapper/slow >/dev/null &&
		lvcreate -q -y -L 32M -n lin $VG /dev/ram0 >/dev/null &&
		with_data lin 65536 || return 1
	pvmove -b /dev/ram0 /dev/mapper/slow >/dev/null || return 1
	pvmove --abort >/dev/null || return 1
	want_match "lin on" "$(lvm_field lvs devices $VG/lin)" '^/dev/ram0' &&
		want_eq "pvmove LV" "$(lvs -a --noheadings -o lv_name $VG | grep -c pvmove)" 0 &&
		same_as "$SCEN_TMP/data" /dev/$VG/lin 0
}

# A leg's PV (a linear device 1 MiB into ram1) turns into an error target
# under a synced mirror; a write marks the leg D, and lvconvert --repair
# puts a new image on the spare PV ram2, synced, the data intact.
repair_replaces_failed_leg_from_spare_pv() {
	ramdisks 4 64 &&
		dmsetup create pvb --table "0 120000 linear /dev/ram1 2048" &&
		vgcreate -q $VG /dev/ram0 /dev/mapper/pvb /dev/ram2 >/dev/null &&
		lvcreate -q -y --type mirror -m1 --mirrorlog core -L 16M -n mir $VG \
			/dev/ram0 /dev/mapper/pvb >/dev/null &&
		with_data mir 16384 && wait_synced mir || return 1
	dmsetup load pvb --table "0 120000 error" && dmsetup resume pvb || return 1
	# Linux holds the write (handle_errors) until the repair's reload.
	pattern lvdata2 0 128 >"$SCEN_TMP/w" &&
		splice "$SCEN_TMP/data" 0 "$SCEN_TMP/w" || return 1
	put "$SCEN_TMP/w" /dev/$VG/mir 0 65536 direct &
	wpid=$!
	_end=$(($(now_cs) + 6000))
	until [ "$(dmsetup status $VG-mir | cut -d' ' -f9)" = AD ]; do
		if [ "$(now_cs)" -gt $_end ]; then
			echo "leg not marked D: $(dmsetup status $VG-mir)"
			kill $wpid
			return 1
		fi
		sleep 0.1
	done
	lvconvert -q -y --repair $VG/mir /dev/ram2 >"$SCEN_TMP/repair.out" 2>&1 ||
		{ cat "$SCEN_TMP/repair.out"; return 1; }
	wait $wpid || { echo "the write failed"; return 1; }
	wait_synced mir || return 1
	want_match "images on" "$(lvs -a --noheadings -o devices $VG 2>/dev/null | tr -d ' ' | tr '\n' ' ')" \
		'/dev/ram2' && same_as "$SCEN_TMP/data" /dev/$VG/mir 0 && images_hold_data mir
}

TAP_TEARDOWN=lvm_teardown
use_dmx || die "cannot load the device-mapper"
check_each lvcreate_mirror_with_core_log_syncs \
	lvcreate_mirror_with_disk_log_syncs \
	disk_log_mirror_is_in_sync_after_reactivation \
	lvconvert_linear_to_mirror_and_back_keeps_data \
	pvmove_moves_mounted_filesystem_being_written \
	pvmove_moves_linear_and_striped_lvs_in_use \
	pvmove_in_background_completes \
	pvmove_of_one_lv_leaves_the_others \
	pvmove_abort_leaves_everything_on_source \
	repair_replaces_failed_leg_from_spare_pv
tap_done
