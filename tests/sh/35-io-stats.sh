#!/bin/sh
# What monitoring and io_uring see of a mapped device: iostat -x lists
# it with the I/O done through it, and fio's io_uring engine runs on a
# stack that takes REQ_NOWAIT without handing its I/O to io-wq workers
# (it does hand it over on a stack that cannot: the control case).
#
# No `set -e`: a failing check is reported and the next one still runs.
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"

# dm_kname NAME: the kernel's name of a mapped device, dm-N.
dm_kname() {
	echo "dm-$(info_field "$1" minor | tr -d ' ')"
}

# iostat -x lists the device; iostat -d -k gives its totals since boot
# (Device tps kB_read/s kB_wrtn/s kB_dscd/s kB_read kB_wrtn kB_dscd).
iostat_lists_device_with_its_io() {
	dmsetup create st1 --table "0 8192 linear /dev/ram0 0" || return 1
	dd if=/dev/mapper/st1 of=/dev/null bs=4k count=256 iflag=direct 2>/dev/null &&
		dd if=/dev/zero of=/dev/mapper/st1 bs=4k count=64 oflag=direct 2>/dev/null || {
		dmsetup remove st1
		return 1
	}
	k=$(dm_kname st1)
	x=$(iostat -x -d "$k" | awk -v k="$k" '$1 == k')
	totals=$(iostat -d -k "$k" | awk -v k="$k" '$1 == k { print $6, $7 }')
	dmsetup remove st1
	[ -n "$x" ] || { echo "iostat -x does not list $k"; return 1; }
	want_eq "kB read and written" "$totals" "1024 256"
}

# io_workers_seen DEV: the most io_uring workers (iou-wrk threads) alive
# at once while fio's io_uring engine reads DEV for two seconds.
io_workers_seen() {
	fio --name=nowait --filename="$1" --ioengine=io_uring --direct=1 \
		--rw=randread --bs=4k --iodepth=16 --time_based --runtime=2 \
		--output=/dev/null >/dev/null 2>&1 &
	pid=$!
	max=0
	while kill -0 $pid 2>/dev/null; do
		n=$(cat /proc/[0-9]*/task/*/comm 2>/dev/null | grep -c '^iou-wrk')
		[ "$n" -le "$max" ] || max=$n
	done
	wait $pid || { echo "fio failed on $1" >&2; echo fail; return; }
	echo "$max"
}

io_uring_needs_no_workers_on_nowait_stack() {
	dmsetup create nw1 --table "0 8192 linear /dev/ram0 0" || return 1
	seen=$(io_workers_seen /dev/mapper/nw1)
	dmsetup remove nw1
	want_eq "io-wq workers" "$seen" 0
}

# snapshot-origin cannot take REQ_NOWAIT, so neither can its device.
io_uring_falls_back_to_workers_without_nowait() {
	dmsetup create nw2 --table "0 8192 snapshot-origin /dev/ram0" || return 1
	seen=$(io_workers_seen /dev/mapper/nw2)
	dmsetup remove nw2
	[ "$seen" != fail ] && [ "$seen" -gt 0 ] ||
		{ echo "io-wq workers: got '$seen', want some"; return 1; }
}

use_dmx || die "cannot load the device-mapper"
ramdisks 4 64 || die "cannot set up ramdisks"
tap_plan 3
check iostat_lists_device_with_its_io iostat_lists_device_with_its_io
check io_uring_needs_no_workers_on_nowait_stack io_uring_needs_no_workers_on_nowait_stack
check io_uring_falls_back_to_workers_without_nowait io_uring_falls_back_to_workers_without_nowait
rm -rf "$SCEN_TMP"
tap_done
