#!/bin/sh
# dmx-test: timeout=300
# kpartx on a dmx linear device: sfdisk writes a DOS label (primary,
# extended and logical partitions), `kpartx -a` maps the partitions on
# top of the disk with uuids derived from the disk's, the partitions
# read and write at the right offsets of the disk and of the ramdisk
# below it, the disk cannot go while they are mapped, and `kpartx -d`
# removes them; then a GPT label, `kpartx -p p`, and `kpartx -u` after a
# partition is resized.
#
# Every test makes its own disk on a fresh ramdisk (the setups below);
# the teardown after each one removes every device.
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"

DISK=/dev/mapper/kpdisk
BASE=4096			# the disk starts at ram0 sector BASE
DISK_SECTORS=$((131072 - BASE))

DOS_LABEL='label: dos
start=2048, size=20480, type=83
start=22528, size=40960, type=83
start=63488, size=61440, type=5
start=65536, size=16384, type=83'

# Partition: name, start on the disk, size.
DOS_PARTS="kpdisk1 2048 20480
kpdisk2 22528 40960
kpdisk5 65536 16384"

GPT_LABEL='label: gpt
start=2048, size=8192
start=10240, size=30720
start=40960, size=8192'

# disk: the disk kpdisk, on fresh (zeroed) ramdisks.
disk() {
	ramdisks 4 64 &&
		dmsetup create kpdisk -u KPTEST-1 --table "0 $DISK_SECTORS linear /dev/ram0 $BASE"
}

# dos_disk: disk, with DOS_LABEL on it.
dos_disk() {
	disk && echo "$DOS_LABEL" | sfdisk -q --no-reread --no-tell-kernel $DISK
}

# dos_mapped: dos_disk, with its partitions mapped by kpartx.
dos_mapped() {
	dos_disk && kpartx -a $DISK
}

# gpt_mapped: disk with GPT_LABEL, its partitions mapped as kpdiskpN.
gpt_mapped() {
	disk && echo "$GPT_LABEL" | sfdisk -q --no-reread --no-tell-kernel $DISK &&
		kpartx -a -p p $DISK
}

sfdisk_writes_dos_label() {
	disk || return 1
	echo "$DOS_LABEL" | sfdisk -q --no-reread --no-tell-kernel $DISK || return 1
	got=$(sfdisk -d $DISK | grep '^/dev' | sed 's/^[^:]*: *//; s/  */ /g')
	want_eq "sfdisk -d" "$got" "start= 2048, size= 20480, type=83
start= 22528, size= 40960, type=83
start= 63488, size= 61440, type=5
start= 65536, size= 16384, type=83" || return 1
	# The MBR is on the ramdisk, BASE sectors in.
	sig=$(get /dev/ram0 $BASE 1 512 direct | od -An -tx1 -j510 -N2 | tr -d ' ')
	want_eq "MBR signature on ram0 at sector $BASE" "$sig" 55aa
}

kpartx_l_lists_partitions() {
	dos_disk || return 1
	want_eq "kpartx -l" "$(kpartx -l $DISK | sed 's/ *$//' | sed 's| /dev/[^ ]*| DEV|')" \
		"kpdisk1 : 0 20480 DEV 2048
kpdisk2 : 0 40960 DEV 22528
kpdisk3 : 0 2 DEV 63488
kpdisk5 : 0 16384 DEV 2048" || return 1
	# Listing maps nothing.
	want_eq "devices after kpartx -l" "$(dmsetup ls | cut -f1)" kpdisk
}

kpartx_a_creates_partition_maps() {
	dos_disk && kpartx -a $DISK || return 1
	d=$(devno $DISK)
	want_eq "tables" "$(dmsetup table | grep -v '^kpdisk:')" \
		"kpdisk1: 0 20480 linear $d 2048
kpdisk2: 0 40960 linear $d 22528
kpdisk3: 0 2 linear $d 63488
kpdisk5: 0 16384 linear $d 65536" || return 1
	echo "$DOS_PARTS" | while read -r name start size; do
		[ -b /dev/mapper/$name ] || { echo "/dev/mapper/$name missing"; return 1; }
		want_eq "size of $name" "$(size_of /dev/mapper/$name)" "$size" || return 1
	done
}

partition_uuids_derive_from_disk() {
	dos_mapped || return 1
	want_eq uuids "$(dmsetup info -c --noheadings -o name,uuid --separator ' ' | sort)" \
		"kpdisk KPTEST-1
kpdisk1 part1-KPTEST-1
kpdisk2 part2-KPTEST-1
kpdisk3 part3-KPTEST-1
kpdisk5 part5-KPTEST-1"
}

partitions_stack_on_disk() {
	dos_mapped || return 1
	out=$(dmsetup ls --tree) || return 1
	for p in kpdisk1 kpdisk2 kpdisk3 kpdisk5; do
		echo "$out" | grep -A1 "^$p " | grep -q "^ \`-kpdisk ($(devno $DISK))\$" ||
			{ echo "$p not shown on kpdisk:"; echo "$out"; return 1; }
	done
	want_eq "open count of the disk" "$(info_line kpdisk 'Open count')" 4
}

# Each partition gets its own pattern, written through it with O_DIRECT
# and then checked on the disk, on the ramdisk, and through the
# partition; the partitions written before are checked again so no
# write spilled over.
partitions_map_to_disk_offsets() {
	dos_mapped || return 1
	r=0
	echo "$DOS_PARTS" | while read -r name start size; do
		n=$((size < 8192 ? size : 8192))
		# The last n sectors of the partition.
		first=$((size - n))
		pattern "$name" "$first" $n >"$SCEN_TMP/$name" || exit 1
		put "$SCEN_TMP/$name" /dev/mapper/$name $first 65536 direct || exit 1
		same_as "$SCEN_TMP/$name" $DISK $((start + first)) &&
			same_as "$SCEN_TMP/$name" /dev/ram0 $((BASE + start + first)) &&
			same_as "$SCEN_TMP/$name" /dev/mapper/$name $first || exit 1
	done || r=1
	echo "$DOS_PARTS" | while read -r name start size; do
		n=$((size < 8192 ? size : 8192))
		same_as "$SCEN_TMP/$name" /dev/ram0 $((BASE + start + size - n)) || exit 1
	done || r=1
	return $r
}

partition_buffered_io_maps() {
	dos_mapped || return 1
	pattern kp1b 0 2048 >"$SCEN_TMP/kp1b" || return 1
	put "$SCEN_TMP/kp1b" /dev/mapper/kpdisk1 0 1048576 || return 1
	same_as "$SCEN_TMP/kp1b" /dev/ram0 $((BASE + 2048)) || return 1
	drop_caches
	same_as "$SCEN_TMP/kp1b" /dev/mapper/kpdisk1 0 65536 buffered
}

disk_cannot_be_removed_under_partitions() {
	dos_mapped || return 1
	if dmsetup remove kpdisk 2>&1; then
		echo "removed the disk under its partitions"
		return 1
	fi
	dm_exists kpdisk
}

kpartx_d_removes_partition_maps() {
	dos_mapped && kpartx -d $DISK || return 1
	want_eq devices "$(dmsetup ls | cut -f1)" kpdisk || return 1
	for p in kpdisk1 kpdisk2 kpdisk3 kpdisk5; do
		[ ! -e /dev/mapper/$p ] || { echo "/dev/mapper/$p left"; return 1; }
	done
	want_eq "open count of the disk" "$(info_line kpdisk 'Open count')" 0
}

kpartx_maps_gpt_partitions_with_delimiter() {
	disk && echo "$GPT_LABEL" | sfdisk -q --no-reread --no-tell-kernel $DISK || return 1
	kpartx -a -p p $DISK || return 1
	d=$(devno $DISK)
	want_eq "tables" "$(dmsetup table | grep -v '^kpdisk:')" \
		"kpdiskp1: 0 8192 linear $d 2048
kpdiskp2: 0 30720 linear $d 10240
kpdiskp3: 0 8192 linear $d 40960" || return 1
	pattern gpt2 0 30720 >"$SCEN_TMP/gpt2" || return 1
	put "$SCEN_TMP/gpt2" /dev/mapper/kpdiskp2 0 1048576 direct || return 1
	same_as "$SCEN_TMP/gpt2" /dev/ram0 $((BASE + 10240)) &&
		same_as "$SCEN_TMP/gpt2" /dev/mapper/kpdiskp2 0
}

# Growing partition 3 on disk and running `kpartx -u` reloads its map;
# the others keep theirs, and their data.
kpartx_u_updates_resized_partition() {
	gpt_mapped || return 1
	pattern gpt2 0 30720 >"$SCEN_TMP/gpt2" || return 1
	put "$SCEN_TMP/gpt2" /dev/mapper/kpdiskp2 0 1048576 direct || return 1
	echo "$GPT_LABEL" | sed 's/start=40960, size=8192/start=40960, size=16384/' |
		sfdisk -q --no-reread --no-tell-kernel $DISK || return 1
	kpartx -u -p p $DISK || return 1
	want_eq "table of p3" "$(dmsetup table kpdiskp3)" "0 16384 linear $(devno $DISK) 40960" &&
		want_eq "size of p3" "$(size_of /dev/mapper/kpdiskp3)" 16384 &&
		want_eq "table of p2" "$(dmsetup table kpdiskp2)" "0 30720 linear $(devno $DISK) 10240" &&
		same_as "$SCEN_TMP/gpt2" /dev/mapper/kpdiskp2 0
}

kpartx_d_removes_gpt_partition_maps() {
	gpt_mapped && kpartx -d -p p $DISK || return 1
	want_eq devices "$(dmsetup ls | cut -f1)" kpdisk || return 1
	for p in kpdiskp1 kpdiskp2 kpdiskp3; do
		[ ! -e /dev/mapper/$p ] || { echo "/dev/mapper/$p left"; return 1; }
	done
	want_eq "open count of the disk" "$(info_line kpdisk 'Open count')" 0
}

scenario_start

check_each \
	sfdisk_writes_dos_label \
	kpartx_l_lists_partitions \
	kpartx_a_creates_partition_maps \
	partition_uuids_derive_from_disk \
	partitions_stack_on_disk \
	partitions_map_to_disk_offsets \
	partition_buffered_io_maps \
	disk_cannot_be_removed_under_partitions \
	kpartx_d_removes_partition_maps \
	kpartx_maps_gpt_partitions_with_delimiter \
	kpartx_u_updates_resized_partition \
	kpartx_d_removes_gpt_partition_maps

rm -rf "$SCEN_TMP"
tap_done
