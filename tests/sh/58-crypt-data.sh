#!/bin/sh
# Data through the crypt target: whatever the size and alignment of the
# requests, synchronous or asynchronous crypto, direct or buffered, the
# ciphertext on the device is that of the data, unit by unit, and reads
# give the data back; concurrent verifying writers see no corruption;
# I/O errors below come back as errors; a read-only table refuses
# writes; crypt stacks on crypt; the table can be swapped under a
# writer.  The reference ciphertext of each test is the one that 64 KiB
# direct writes leave.  Leaves no devices.
# dmx-test: timeout=600
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"

K32=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
K64=${K32}202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f
LEN=8192	# 4 MiB
XTS="aes-xts-plain64 $K64 16"
ASYNC="capi:cryptd(xts(ecb(aes-generic)))-plain64 $K64 16"

# crypt NAME DEV REST: NAME over DEV from sector 0, REST after the
# device (options).
crypt() {
	dmsetup create "$1" --table "0 $LEN crypt $XTS $2 0${3:+ $3}"
}

# done_with NAME STATUS: remove NAME; STATUS, or failure if that fails.
done_with() {
	dmsetup remove "$1" || return 1
	return "$2"
}

# reference [OPTIONS]: the pattern in $SCEN_TMP/p, written with 64 KiB
# direct writes through XTS over ram1; its ciphertext in $SCEN_TMP/ct.
reference() {
	crypt ref /dev/ram1 "${1:-}" &&
		put "$SCEN_TMP/p" /dev/mapper/ref 0 65536 direct &&
		dmsetup remove ref &&
		get /dev/ram1 0 $LEN 65536 direct >"$SCEN_TMP/ct"
}

# ram2_holds_reference: ram2 has the reference ciphertext.
ram2_holds_reference() {
	get /dev/ram2 0 $LEN 65536 direct >"$SCEN_TMP/got" &&
		cmp_files "$SCEN_TMP/got" "$SCEN_TMP/ct" "ciphertext on ram2"
}

# With a 1 MiB request the crypto of one bio is shared between CPUs.
large_requests_round_trip() {
	reference && crypt c /dev/ram2 || return 1
	put "$SCEN_TMP/p" /dev/mapper/c 0 1048576 direct &&
		ram2_holds_reference &&
		same_as "$SCEN_TMP/p" /dev/mapper/c 0 1048576 direct
	done_with c $?
}

large_requests_round_trip_at_4k() {
	reference "1 sector_size:4096" && crypt c /dev/ram2 "1 sector_size:4096" ||
		return 1
	put "$SCEN_TMP/p" /dev/mapper/c 0 1048576 direct &&
		ram2_holds_reference &&
		same_as "$SCEN_TMP/p" /dev/mapper/c 0 1048576 direct
	done_with c $?
}

# 3.5 KiB requests from sector 5: no request starts or ends on a page.
odd_requests_round_trip() {
	reference && crypt c /dev/ram2 || return 1
	put "$SCEN_TMP/p" /dev/mapper/c 0 1048576 direct || {
		dmsetup remove c
		return 1
	}
	get "$SCEN_TMP/p" 5 7000 512 >"$SCEN_TMP/part" &&
		put "$SCEN_TMP/part" /dev/mapper/c 5 3584 direct &&
		ram2_holds_reference &&
		same_as "$SCEN_TMP/part" /dev/mapper/c 5 2560 direct
	done_with c $?
}

buffered_io_round_trips() {
	reference && crypt c /dev/ram2 || return 1
	put "$SCEN_TMP/p" /dev/mapper/c 0 1048576 && drop_caches &&
		ram2_holds_reference &&
		same_as "$SCEN_TMP/p" /dev/mapper/c 0 4096 buffered
	done_with c $?
}

# cryptd completes every request in a worker; a 1 MiB write queues more
# requests than it takes at once, so some are backlogged (-EBUSY).
async_crypto_round_trips() {
	reference || return 1
	dmsetup create c --table "0 $LEN crypt $ASYNC /dev/ram2 0" || return 1
	put "$SCEN_TMP/p" /dev/mapper/c 0 1048576 direct &&
		ram2_holds_reference &&
		same_as "$SCEN_TMP/p" /dev/mapper/c 0 1048576 direct &&
		same_as "$SCEN_TMP/p" /dev/mapper/c 0 4096 direct
	done_with c $?
}

# fio_ok FILE: fio's output shows neither an error nor a verify failure.
fio_ok() {
	if grep -qiE 'verify.*(fail|bad)|bad magic|crc32c.*wanted|err= *[1-9]|error' "$1"; then
		grep -iE 'verify|bad magic|crc|err=|error' "$1" | head -n 20
		return 1
	fi
	grep -qE 'err= *0' "$1" || { tail -n 20 "$1"; return 1; }
}

# verify_jobs DEV SIZE_MB: four verifying writers of different sizes,
# each on its own quarter of DEV, at queue depth 8.
verify_jobs() {
	q=$(($2 / 4))
	fio --filename="$1" --direct=1 --ioengine=libaio --iodepth=8 \
		--verify=crc32c --verify_fatal=1 --do_verify=1 --randrepeat=1 \
		--name=w4k --rw=randwrite --bs=4k --offset=0 --size=${q}m \
		--name=w64k --rw=randwrite --bs=64k --offset=${q}m --size=${q}m \
		--name=w1m --rw=write --bs=1m --offset=$((2 * q))m --size=${q}m \
		--name=mixed --rw=randrw --bsrange=4k-256k --offset=$((3 * q))m \
		--size=${q}m >"$SCEN_TMP/fio.out" 2>&1
}

concurrent_writers_verify() {
	crypt c /dev/ram2 || return 1
	verify_jobs /dev/mapper/c 4 && fio_ok "$SCEN_TMP/fio.out"
	done_with c $?
}

concurrent_writers_verify_async() {
	dmsetup create c --table "0 $LEN crypt $ASYNC /dev/ram2 0" || return 1
	verify_jobs /dev/mapper/c 4 && fio_ok "$SCEN_TMP/fio.out"
	done_with c $?
}

# Sectors 4096-6143 of the device below are an error target.
errors_below_come_back() {
	dmsetup create below --table "0 4096 linear /dev/ram2 0
4096 2048 error
6144 10240 linear /dev/ram2 6144" &&
		crypt c /dev/mapper/below || return 1
	r=0
	dd if=/dev/mapper/c of=/dev/null bs=4096 skip=512 count=1 iflag=direct 2>/dev/null &&
		{ echo "read from the error range succeeded"; r=1; }
	dd if=/dev/zero of=/dev/mapper/c bs=4096 seek=600 count=1 oflag=direct 2>/dev/null &&
		{ echo "write to the error range succeeded"; r=1; }
	dd if=/dev/mapper/c of=/dev/null bs=4096 count=16 iflag=direct 2>/dev/null ||
		{ echo "read beside the error range failed"; r=1; }
	dmsetup remove c && dmsetup remove below && return $r
}

read_only_table_refuses_writes() {
	reference || return 1
	dmsetup create --readonly c --table "0 $LEN crypt $XTS /dev/ram1 0" || return 1
	r=0
	dd if=/dev/zero of=/dev/mapper/c bs=4096 count=1 oflag=direct 2>/dev/null &&
		{ echo "write to a read-only table succeeded"; r=1; }
	same_as "$SCEN_TMP/p" /dev/mapper/c 0 || r=1
	done_with c $r
}

# Two crypt layers: the outer one's ciphertext is the inner one's data.
crypt_stacks_on_crypt() {
	reference || return 1
	dmsetup create inner --table "0 $LEN crypt aes-cbc-essiv:sha256 $K32 0 /dev/ram2 0" &&
		dmsetup create outer --table "0 $LEN crypt $XTS /dev/mapper/inner 0" ||
		return 1
	put "$SCEN_TMP/p" /dev/mapper/outer 0 1048576 direct &&
		same_as "$SCEN_TMP/ct" /dev/mapper/inner 0 &&
		same_as "$SCEN_TMP/p" /dev/mapper/outer 0 65536 direct
	r=$?
	dmsetup remove outer && dmsetup remove inner && return $r
}

# reload_loop NAME TABLE PID: at most 16 load + resume rounds while PID runs.
reload_loop() {
	i=0
	while [ $i -lt 16 ] && kill -0 "$3" 2>/dev/null; do
		dmsetup load "$1" --table "$2" && dmsetup resume "$1" || return 1
		i=$((i + 1))
	done
	note "$i reloads while the writer ran"
}

# The same mapping loaded again and again (cryptsetup refresh does this).
table_swaps_under_a_writer() {
	crypt c /dev/ram2 || return 1
	verify_jobs /dev/mapper/c 4 &
	pid=$!
	reload_loop c "0 $LEN crypt $XTS /dev/ram2 0 1 no_read_workqueue" $pid
	r=$?
	wait $pid && fio_ok "$SCEN_TMP/fio.out" || r=1
	done_with c $r
}

use_dmx || die "cannot load the device-mapper"
ramdisks 3 64 || die "cannot set up ramdisks"
pattern ref 0 $LEN >"$SCEN_TMP/p" || die "cannot make the pattern"

timed_check large_requests_round_trip large_requests_round_trip
timed_check large_requests_round_trip_at_4k large_requests_round_trip_at_4k
timed_check odd_requests_round_trip odd_requests_round_trip
timed_check buffered_io_round_trips buffered_io_round_trips
timed_check async_crypto_round_trips async_crypto_round_trips
timed_check concurrent_writers_verify concurrent_writers_verify
timed_check concurrent_writers_verify_async concurrent_writers_verify_async
check errors_below_come_back errors_below_come_back
check read_only_table_refuses_writes read_only_table_refuses_writes
check crypt_stacks_on_crypt crypt_stacks_on_crypt
timed_check table_swaps_under_a_writer table_swaps_under_a_writer
check no_devices_left no_devices_left
rm -rf "$SCEN_TMP"
tap_done
