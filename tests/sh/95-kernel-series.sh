#!/bin/sh
# What the kernel's own targets do differently on 6.12 than on 6.1, which
# dmx follows on each: the error target may name a device and offset
# (held, and lending its limits), error and zero take discards of any
# size and have new versions, striped keeps bios within a chunk.  The
# same script passes on the stock dm of either kernel.  Leaves dmx loaded
# with no devices.
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"

use_dmx || die "cannot load the device-mapper"
ramdisks 2 16 || die "cannot set up ramdisks"
R0=/dev/ram0
R1=/dev/ram1
SERIES=$(kernel_series)

# on_612: true on 6.12, where the new behaviour is expected.
on_612() { [ "$SERIES" = 6.12 ]; }

# queue NAME ATTR: /sys/block/dm-N/queue/ATTR of device NAME.
queue() {
	cat "/sys/block/$(info_field "$1" blkdevname)/queue/$2"
}

# target_version TYPE: "vX.Y.Z" of a registered target type.
target_version() {
	dmsetup targets | awk -v t="$1" '$1 == t { print $2 }'
}

error_and_zero_versions_are_the_kernels() {
	err=v1.5.0
	zero=v1.1.0
	if on_612; then
		err=v1.7.0
		zero=v1.2.0
	fi
	want_eq "error version" "$(target_version error)" $err &&
		want_eq "zero version" "$(target_version zero)" $zero
}

# On 6.12 the device is held (deps, slaves); on 6.1 the arguments are
# ignored.
error_with_device_and_offset_holds_the_device_on_6_12() {
	dmsetup create kse --table "0 1024 error $R0 2048" || return 1
	deps=$(dmsetup deps kse) || return 1
	want=$(devno $R0 | sed 's/:/, /')
	if on_612; then
		want_match "deps of error over $R0" "$deps" "^ *1 dependencies.*\\($want\\)" &&
			want_eq "slaves" "$(ls "/sys/block/$(info_field kse blkdevname)/slaves")" ram0
	else
		want_match "deps of error over $R0" "$deps" "^ *0 dependencies"
	fi
}

error_with_bad_offset_is_refused_on_6_12() {
	if on_612; then
		! dmsetup create kseb --table "0 1024 error $R0 x" 2>/dev/null &&
			! dm_exists kseb
	else
		dmsetup create kseb --table "0 1024 error $R0 x"
	fi
}

error_ignores_other_arguments() {
	dmsetup create ksea --table "0 1024 error a" &&
		dmsetup create ksec --table "0 1024 error a b c"
}

error_takes_discards_of_any_size_on_6_12() {
	dmsetup create ksed --table "0 1024 error" || return 1
	want=0
	! on_612 || want=$((4294967295 * 512))
	want_eq "discard_max_bytes of error" "$(queue ksed discard_max_bytes)" $want
}

striped_keeps_bios_within_a_chunk_on_6_12() {
	dmsetup create kss --table "0 4096 striped 2 64 $R0 0 $R1 0" || return 1
	want=0
	! on_612 || want=64
	want_eq "chunk_sectors of striped" "$(queue kss chunk_sectors)" $want
}

check error_and_zero_versions_are_the_kernels error_and_zero_versions_are_the_kernels
check error_with_device_and_offset_holds_the_device_on_6_12 \
	error_with_device_and_offset_holds_the_device_on_6_12
check error_with_bad_offset_is_refused_on_6_12 error_with_bad_offset_is_refused_on_6_12
check error_ignores_other_arguments error_ignores_other_arguments
check error_takes_discards_of_any_size_on_6_12 error_takes_discards_of_any_size_on_6_12
check striped_keeps_bios_within_a_chunk_on_6_12 striped_keeps_bios_within_a_chunk_on_6_12
remove_all_dm
check no_devices_left no_devices_left
tap_done
