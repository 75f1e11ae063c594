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

# TRACE: tracefs, where the io_uring_queue_async_work event counts every
# request io_uring hands to its io-wq workers (a thread list, sampled,
# can miss a short-lived worker; the event cannot).
TRACE=/sys/kernel/tracing
EVENT=$TRACE/events/io_uring/io_uring_queue_async_work

# async_punts DEV: how many requests io_uring handed to io-wq workers
# while fio's io_uring engine read DEV for two seconds; "fail" if fio or
# the tracing did not work.
async_punts() {
	[ -e "$EVENT/enable" ] || mount -t tracefs tracefs $TRACE 2>/dev/null
	[ -e "$EVENT/enable" ] || { echo "no $EVENT" >&2; echo fail; return; }
	echo 0 >$TRACE/tracing_on
	: >$TRACE/trace
	echo 1 >"$EVENT/enable"
	echo 1 >$TRACE/tracing_on
	fio --name=nowait --filename="$1" --ioengine=io_uring --direct=1 \
		--rw=randread --bs=4k --iodepth=16 --time_based --runtime=2 \
		--output=/dev/null >/dev/null 2>&1
	rc=$?
	echo 0 >$TRACE/tracing_on
	echo 0 >"$EVENT/enable"
	[ "$rc" -eq 0 ] || { echo "fio failed on $1" >&2; echo fail; return; }
	grep -c 'io_uring_queue_async_work:' $TRACE/trace
}

io_uring_needs_no_workers_on_nowait_stack() {
	dmsetup create nw1 --table "0 8192 linear /dev/ram0 0" || return 1
	punts=$(async_punts /dev/mapper/nw1)
	dmsetup remove nw1
	want_eq "requests handed to io-wq workers" "$punts" 0
}

# snapshot-origin cannot take REQ_NOWAIT, so neither can its device.
io_uring_falls_back_to_workers_without_nowait() {
	dmsetup create nw2 --table "0 8192 snapshot-origin /dev/ram0" || return 1
	punts=$(async_punts /dev/mapper/nw2)
	dmsetup remove nw2
	[ "$punts" != fail ] && [ "$punts" -gt 0 ] ||
		{ echo "requests handed to io-wq workers: got '$punts', want some"; return 1; }
}

use_dmx || die "cannot load the device-mapper"
ramdisks 4 64 || die "cannot set up ramdisks"
tap_plan 3
check iostat_lists_device_with_its_io iostat_lists_device_with_its_io
check io_uring_needs_no_workers_on_nowait_stack io_uring_needs_no_workers_on_nowait_stack
check io_uring_falls_back_to_workers_without_nowait io_uring_falls_back_to_workers_without_nowait
rm -rf "$SCEN_TMP"
tap_done
