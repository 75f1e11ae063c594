#!/bin/sh
# The crypt target under and over the rest of the stack, driven by
# cryptsetup and LVM2 as users do: ext4 on a LUKS2 volume keeps its
# files across close and open and checks clean; LVM on LUKS (a PV on
# the opened volume) and LUKS on LVM (a volume on an LV) keep their
# data across deactivation; and a verifying fio writer on a LUKS2
# volume sees no error and no corruption while the volume is suspended
# and resumed again and again, its key wiped and set each time
# (luksSuspend / luksResume).  Leaves no devices.
# dmx-test: timeout=600
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"

export LVM_SUPPRESS_FD_WARNINGS=1
PASS=$SCEN_TMP/pass
FORMAT="luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file $PASS"
OPEN="open --key-file $PASS"
MNT=$SCEN_TMP/mnt
VG=cryptvg
MAX_ROUNDS=12	# suspend/resume rounds at most
MIN_ROUNDS=3	# rounds that must overlap the writer

# cs ARGS...: cryptsetup, its chatter shown only if it fails.
cs() {
	# shellcheck disable=SC2068 # FORMAT and OPEN are word lists
	cryptsetup $@ >"$SCEN_TMP/cs.out" 2>&1 && return 0
	echo "cryptsetup $* failed:"
	cat "$SCEN_TMP/cs.out"
	return 1
}

# quiet CMD...: CMD, its output shown only if it fails.
quiet() {
	"$@" >"$SCEN_TMP/q.out" 2>&1 && return 0
	echo "$* failed:"
	tail -n 20 "$SCEN_TMP/q.out"
	return 1
}

# files_on DIR: a few files of several sizes, and their checksums.
files_on() {
	dd if=/dev/urandom of="$1/big" bs=1M count=12 2>/dev/null &&
		dd if=/dev/urandom of="$1/small" bs=3000 count=1 2>/dev/null &&
		mkdir -p "$1/dir" && seq 1 20000 >"$1/dir/numbers" &&
		(cd "$1" && md5sum big small dir/numbers) >"$SCEN_TMP/sums"
}

same_files_on() {
	(cd "$1" && md5sum -c "$SCEN_TMP/sums" >/dev/null) ||
		{ echo "checksums differ on $1"; return 1; }
}

ext4_on_luks_keeps_its_files_and_checks_clean() {
	cs $FORMAT /dev/ram0 && cs $OPEN /dev/ram0 fs &&
		quiet mkfs.ext4 -q /dev/mapper/fs && mount /dev/mapper/fs "$MNT" &&
		files_on "$MNT" && umount "$MNT" && cs close fs || return 1
	cs $OPEN /dev/ram0 fs && quiet e2fsck -f -n /dev/mapper/fs &&
		mount /dev/mapper/fs "$MNT" && same_files_on "$MNT"
	r=$?
	umount "$MNT"
	cs close fs && return $r
}

lvm_on_luks_keeps_its_data() {
	cs $FORMAT /dev/ram0 && cs $OPEN /dev/ram0 pv &&
		quiet pvcreate -y /dev/mapper/pv && quiet vgcreate $VG /dev/mapper/pv &&
		quiet lvcreate -y -L 16M -n lv $VG || return 1
	pattern lvonluks 0 32768 >"$SCEN_TMP/p" &&
		put "$SCEN_TMP/p" /dev/$VG/lv 0 65536 direct &&
		quiet vgchange -an $VG && cs close pv &&
		cs $OPEN /dev/ram0 pv && quiet vgchange -ay $VG &&
		want_match table "$(dmsetup table $VG-lv)" "linear $(devno /dev/mapper/pv) " &&
		same_as "$SCEN_TMP/p" /dev/$VG/lv 0
	r=$?
	quiet vgremove -y -f $VG && quiet pvremove -y /dev/mapper/pv &&
		cs close pv && return $r
}

luks_on_lvm_keeps_its_data() {
	quiet pvcreate -y /dev/ram1 && quiet vgcreate $VG /dev/ram1 &&
		quiet lvcreate -y -L 40M -n lv $VG &&
		cs $FORMAT /dev/$VG/lv && cs $OPEN /dev/$VG/lv onlv || return 1
	pattern luksonlvm 0 32768 >"$SCEN_TMP/p" &&
		put "$SCEN_TMP/p" /dev/mapper/onlv 0 65536 direct &&
		want_match table "$(dmsetup table onlv)" " $(devno /dev/$VG/lv) 32768 " &&
		cs close onlv && quiet vgchange -an $VG &&
		quiet vgchange -ay $VG && cs $OPEN /dev/$VG/lv onlv &&
		same_as "$SCEN_TMP/p" /dev/mapper/onlv 0
	r=$?
	cs close onlv
	quiet vgremove -y -f $VG && quiet pvremove -y /dev/ram1 && return $r
}

# fio_ok FILE: fio's output shows neither an error nor a verify failure.
fio_ok() {
	if grep -qiE 'verify.*(fail|bad)|bad magic|crc32c.*wanted|err= *[1-9]|error' "$1"; then
		grep -iE 'verify|bad magic|crc|err=|error' "$1" | head -n 20
		return 1
	fi
	grep -qE 'err= *0' "$1" || { tail -n 20 "$1"; return 1; }
}

# suspend_loop NAME PID: luksSuspend and luksResume while PID runs.
suspend_loop() {
	i=0
	while [ $i -lt $MAX_ROUNDS ] && kill -0 "$2" 2>/dev/null; do
		cs luksSuspend "$1" || return 1
		want_match wiped "$(dmsetup table --showkeys "$1")" " 0{128} 0 " ||
			return 1
		cs luksResume --key-file "$PASS" "$1" || return 1
		i=$((i + 1))
	done
	note "$i suspend rounds while the writer ran"
	[ $i -ge $MIN_ROUNDS ] ||
		{ echo "fewer than $MIN_ROUNDS rounds overlapped the writer"; return 1; }
}

fio_verifies_across_suspend_and_key_wipe() {
	cs $FORMAT /dev/ram2 && cs $OPEN /dev/ram2 sv || return 1
	fio --filename=/dev/mapper/sv --direct=1 --ioengine=libaio --iodepth=8 \
		--verify=crc32c --verify_fatal=1 --do_verify=1 --randrepeat=1 \
		--name=w4k --rw=randwrite --bs=4k --size=8m \
		--name=w256k --rw=write --bs=256k --offset=12m --size=12m \
		--loops=2 >"$SCEN_TMP/fio.out" 2>&1 &
	pid=$!
	suspend_loop sv $pid
	r=$?
	wait $pid && fio_ok "$SCEN_TMP/fio.out" || r=1
	cs close sv && return $r
}

use_dmx || die "cannot load the device-mapper"
ramdisks 3 64 || die "cannot set up ramdisks"
grep -qw ext4 /proc/filesystems || modprobe ext4 || die "cannot load ext4"
printf %s "correct horse battery staple" >"$PASS"
mkdir -p "$MNT"

timed_check ext4_on_luks_keeps_its_files_and_checks_clean \
	ext4_on_luks_keeps_its_files_and_checks_clean
timed_check lvm_on_luks_keeps_its_data lvm_on_luks_keeps_its_data
timed_check luks_on_lvm_keeps_its_data luks_on_lvm_keeps_its_data
timed_check fio_verifies_across_suspend_and_key_wipe \
	fio_verifies_across_suspend_and_key_wipe
check no_devices_left no_devices_left
rm -rf "$SCEN_TMP"
tap_done
