#!/bin/sh
# dmx-test: timeout=300
# kpartx with systemd-udevd and the rules of Debian's dmsetup and kpartx
# (55-dm, 56-dm-parts, 60-persistent-storage-dm, 95-dm-notify), on disk
# images as a user has them: `kpartx -a IMAGE` attaches a loop device and
# maps the partitions of an MBR and of a GPT image; every map appears with
# its /dev/mapper and by-id links and, from the label, its by-partuuid
# link (by-partlabel for GPT names); data written through a partition
# lands at its offset in the image; `kpartx -d IMAGE` removes the maps,
# their links and the loop device.
#
# Every test makes its own image; the teardown after each one removes
# every device, detaches the loop devices and waits for udev.
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"
. "${DMX_TESTLIB:-/tests/lib}/udev.sh"

IMG=$SCEN_TMP/disk.img
KPARTX_LIMIT=60

MBR_LABEL='label: dos
label-id: 0x1d2c3b4a
start=2048, size=20480, type=83
start=22528, size=40960, type=83
start=63488, size=61440, type=5
start=65536, size=16384, type=83'
# Partition number, start in the image, size, by-partuuid.
MBR_PARTS="1 2048 20480 1d2c3b4a-01
2 22528 40960 1d2c3b4a-02
5 65536 16384 1d2c3b4a-05"

GPT_LABEL='label: gpt
label-id: 5F2B0C47-8E3A-4B6D-9C1E-2A7F4D8B3E61
start=2048, size=8192, name=boot, uuid=0A1B2C3D-0001-4E5F-8A9B-0C1D2E3F4A01
start=10240, size=30720, name=data, uuid=0A1B2C3D-0002-4E5F-8A9B-0C1D2E3F4A02
start=40960, size=8192, name=spare, uuid=0A1B2C3D-0003-4E5F-8A9B-0C1D2E3F4A03'
# Partition number, start, size, by-partuuid, by-partlabel.
GPT_PARTS="1 2048 8192 0a1b2c3d-0001-4e5f-8a9b-0c1d2e3f4a01 boot
2 10240 30720 0a1b2c3d-0002-4e5f-8a9b-0c1d2e3f4a02 data
3 40960 8192 0a1b2c3d-0003-4e5f-8a9b-0c1d2e3f4a03 spare"

kpx() {
	timeout -s KILL $KPARTX_LIMIT kpartx "$@"
}

# image LABEL: a 64 MiB image with sfdisk's LABEL on it.
image() {
	rm -f "$IMG"
	dd if=/dev/zero of="$IMG" bs=1M count=0 seek=64 2>/dev/null &&
		echo "$1" | sfdisk -q "$IMG"
}

# mapped LABEL: image LABEL with its partitions mapped; LOOP names the
# loop device kpartx attached (loopN).
mapped() {
	image "$1" && out=$(kpx -a -v "$IMG") || return 1
	LOOP=$(echo "$out" | sed -n 's/^add map \(loop[0-9]*\)p[0-9]* .*/\1/p' | head -n 1)
	[ -n "$LOOP" ] || { echo "kpartx -a -v said:"; echo "$out"; return 1; }
}

# part_ok N SIZE: partition N of LOOP mapped with SIZE sectors, its
# /dev/mapper and by-id links leading to its node.
part_ok() {
	name=${LOOP}p$1
	node=/dev/dm-$(info_field "$name" minor) || return 1
	want_eq "size of $name" "$(size_of "$node")" "$2" || return 1
	for l in /dev/mapper/$name /dev/disk/by-id/dm-name-$name; do
		link_to "$l" "$node" || { echo "$l does not lead to $node:"; ls -l "$l" 2>&1; return 1; }
	done
}

# by_link DIR NAME N: /dev/disk/DIR/NAME leads to partition N of LOOP.
by_link() {
	link_to "/dev/disk/$1/$2" "/dev/mapper/${LOOP}p$3" && return 0
	echo "/dev/disk/$1/$2 does not lead to ${LOOP}p$3:"
	ls -l "/dev/disk/$1" 2>&1
	return 1
}

# maps_gone: no partition maps of LOOP, nor their links, nor LOOP.
maps_gone() {
	left=$(dmsetup ls | grep "^${LOOP}p")
	[ -z "$left" ] || { echo "maps left: $left"; return 1; }
	for l in /dev/mapper/${LOOP}p* /dev/disk/by-id/dm-name-${LOOP}p*; do
		if [ -e "$l" ] || [ -L "$l" ]; then echo "$l left"; return 1; fi
	done
	if losetup -a | grep -q "^/dev/$LOOP:"; then
		echo "/dev/$LOOP still attached:"
		losetup -a
		return 1
	fi
}

# detach_loops: every loop device detached (busybox losetup has no -D).
detach_loops() {
	for l in $(losetup -a | cut -d: -f1); do
		losetup -d "$l" || return 1
	done
}

# A loop device left on a removed image would be found again by the
# image's path, and take the next test's maps to the old file.
kpartx_teardown() {
	dm_teardown && detach_loops && udev_settle && rm -f "$IMG"
}

kpartx_maps_mbr_image_partitions() {
	mapped "$MBR_LABEL" || return 1
	no_cookies_left || return 1
	echo "$MBR_PARTS" | while read -r n start size uuid; do
		part_ok "$n" "$size" || exit 1
	done
}

mbr_partitions_get_by_partuuid_links() {
	mapped "$MBR_LABEL" && udev_settle || return 1
	echo "$MBR_PARTS" | while read -r n start size uuid; do
		by_link by-partuuid "$uuid" "$n" || exit 1
	done
}

# Each partition gets its own pattern through its map, found at its
# offset in the image once the maps are gone.
mbr_partition_writes_land_in_image() {
	mapped "$MBR_LABEL" || return 1
	echo "$MBR_PARTS" | while read -r n start size uuid; do
		pattern "mbr$n" 0 2048 >"$SCEN_TMP/p$n" &&
			put "$SCEN_TMP/p$n" "/dev/mapper/${LOOP}p$n" 0 65536 direct || exit 1
	done || return 1
	# Closing a partition written to makes udev probe it (the rules
	# watch it), and a map being probed cannot be removed.
	udev_settle && kpx -d "$IMG" || { echo "kpartx -d $IMG failed"; dmsetup info -c; return 1; }
	echo "$MBR_PARTS" | while read -r n start size uuid; do
		same_as "$SCEN_TMP/p$n" "$IMG" "$start" 65536 buffered || exit 1
	done
}

kpartx_d_removes_mbr_maps_and_links() {
	mapped "$MBR_LABEL" || return 1
	kpx -d "$IMG" || return 1
	no_cookies_left && maps_gone
}

kpartx_maps_gpt_image_partitions() {
	mapped "$GPT_LABEL" || return 1
	no_cookies_left || return 1
	echo "$GPT_PARTS" | while read -r n start size uuid label; do
		part_ok "$n" "$size" || exit 1
	done
}

gpt_partitions_get_by_partuuid_and_partlabel_links() {
	mapped "$GPT_LABEL" && udev_settle || return 1
	echo "$GPT_PARTS" | while read -r n start size uuid label; do
		by_link by-partuuid "$uuid" "$n" && by_link by-partlabel "$label" "$n" || exit 1
	done
}

gpt_partition_writes_land_in_image() {
	mapped "$GPT_LABEL" || return 1
	echo "$GPT_PARTS" | while read -r n start size uuid label; do
		pattern "gpt$n" 0 2048 >"$SCEN_TMP/p$n" &&
			put "$SCEN_TMP/p$n" "/dev/mapper/${LOOP}p$n" 0 65536 direct || exit 1
	done || return 1
	# Closing a partition written to makes udev probe it (the rules
	# watch it), and a map being probed cannot be removed.
	udev_settle && kpx -d "$IMG" || { echo "kpartx -d $IMG failed"; dmsetup info -c; return 1; }
	echo "$GPT_PARTS" | while read -r n start size uuid label; do
		same_as "$SCEN_TMP/p$n" "$IMG" "$start" 65536 buffered || exit 1
	done
}

kpartx_d_removes_gpt_maps_and_links() {
	mapped "$GPT_LABEL" || return 1
	kpx -d "$IMG" || return 1
	no_cookies_left && maps_gone
}

scenario_start
modprobe loop 2>/dev/null
[ -e /dev/loop-control ] || die "loop devices are available"
start_udevd || die "systemd-udevd starts"
TAP_TEARDOWN=kpartx_teardown

check_each \
	kpartx_maps_mbr_image_partitions \
	mbr_partitions_get_by_partuuid_links \
	mbr_partition_writes_land_in_image \
	kpartx_d_removes_mbr_maps_and_links \
	kpartx_maps_gpt_image_partitions \
	gpt_partitions_get_by_partuuid_and_partlabel_links \
	gpt_partition_writes_land_in_image \
	kpartx_d_removes_gpt_maps_and_links

stop_udevd
rm -rf "$SCEN_TMP"
tap_done
