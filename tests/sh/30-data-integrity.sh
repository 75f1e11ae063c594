#!/bin/sh
# dmx-test: timeout=300
# Data integrity through linear and striped maps: patterned data written
# through a map lands at the right offsets of the backing ramdisks (read
# directly, with O_DIRECT, and compared), and reading back through the
# map returns it; data put on the ramdisks is read back through the map
# in logical order.  Several stripe counts and chunk sizes (powers of two
# or not, down to one sector), odd offsets, multi-target tables,
# O_DIRECT and buffered I/O, large and odd-sized requests.
#
# Every sector of a pattern names its logical sector (see scenario.sh),
# so a misplaced sector shows up in the diagnostics as "holds [seed:N]".
# Every test makes its own devices and data; the teardown after each one
# removes every device.
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"

RAM_SECTORS=131072	# 64 MiB ramdisks

# --- linear --------------------------------------------------------

# lin: 8192 sectors of ram0 from the odd sector 1031.
make_lin() {
	dmsetup create lin --table "0 8192 linear /dev/ram0 1031"
}

# 4 MiB at an odd sector offset, O_DIRECT in 128 KiB requests.
linear_direct_write_lands_at_offset() {
	make_lin || return 1
	pattern lind 0 8192 >"$SCEN_TMP/p" || return 1
	put "$SCEN_TMP/p" /dev/mapper/lin 0 131072 direct || return 1
	same_as "$SCEN_TMP/p" /dev/ram0 1031 &&
		same_as "$SCEN_TMP/p" /dev/mapper/lin 0 1048576 direct
}

# Buffered 1 MiB writes and fsync; read back buffered from a cold cache.
linear_buffered_write_lands_at_offset() {
	make_lin || return 1
	pattern linb 0 8192 >"$SCEN_TMP/p" || return 1
	put "$SCEN_TMP/p" /dev/mapper/lin 0 1048576 || return 1
	same_as "$SCEN_TMP/p" /dev/ram0 1031 || return 1
	drop_caches
	same_as "$SCEN_TMP/p" /dev/mapper/lin 0 65536 buffered
}

# 7-sector O_DIRECT requests from an odd sector: no request is aligned
# to anything, and the sectors around them keep what they held.
linear_odd_sized_direct_io() {
	make_lin || return 1
	pattern linb 0 8192 >"$SCEN_TMP/p" &&
		put "$SCEN_TMP/p" /dev/ram0 1031 1048576 direct || return 1
	pattern lino 0 1400 >"$SCEN_TMP/o" || return 1
	put "$SCEN_TMP/o" /dev/mapper/lin 5 3584 direct || return 1
	same_as "$SCEN_TMP/o" /dev/ram0 $((1031 + 5)) &&
		same_as "$SCEN_TMP/o" /dev/mapper/lin 5 2560 direct || return 1
	pattern linb 0 5 >"$SCEN_TMP/before" &&
		pattern linb 1405 100 >"$SCEN_TMP/after" || return 1
	same_as "$SCEN_TMP/before" /dev/ram0 1031 &&
		same_as "$SCEN_TMP/after" /dev/ram0 $((1031 + 1405))
}

# Data put on the ramdisk reads back through the map, both ways.
linear_reads_what_the_ramdisk_holds() {
	make_lin || return 1
	pattern linr 0 8192 >"$SCEN_TMP/p" || return 1
	put "$SCEN_TMP/p" /dev/ram0 1031 1048576 direct || return 1
	same_as "$SCEN_TMP/p" /dev/mapper/lin 0 1048576 direct || return 1
	drop_caches
	same_as "$SCEN_TMP/p" /dev/mapper/lin 0 4096 buffered
}

# Four linear segments on three ramdisks, out of order, one of them at
# the very end of its ramdisk; one 1 MiB O_DIRECT write spans them.
LS_TABLE="0 4096 linear /dev/ram1 20000
4096 2048 linear /dev/ram0 60000
6144 8192 linear /dev/ram1 0
14336 2048 linear /dev/ram2 $((RAM_SECTORS - 2048))"

linear_segments_land_in_their_places() {
	dmsetup create ls --table "$LS_TABLE" || return 1
	# ram1 serves two segments but is one dependency.
	want_eq "deps -o devname" "$(dmsetup deps -o devname ls)" \
		"3 dependencies	: (ram2) (ram0) (ram1)" || return 1
	pattern lseg 0 16384 >"$SCEN_TMP/p" || return 1
	put "$SCEN_TMP/p" /dev/mapper/ls 0 1048576 direct || return 1
	r=0
	# segment: logical start, length, device, offset
	for seg in "0 4096 /dev/ram1 20000" "4096 2048 /dev/ram0 60000" \
		"6144 8192 /dev/ram1 0" "14336 2048 /dev/ram2 $((RAM_SECTORS - 2048))"; do
		set -- $seg
		pattern lseg "$1" "$2" >"$SCEN_TMP/seg" || return 1
		same_as "$SCEN_TMP/seg" "$3" "$4" || r=1
	done
	drop_caches
	same_as "$SCEN_TMP/p" /dev/mapper/ls 0 65536 buffered || r=1
	return $r
}

# --- striped -------------------------------------------------------

# striped_case NAME STRIPES CHUNK PER_STRIPE WRITE_MODE READ_MODE WRITE_BS
#              DEV OFFSET...
# Creates a striped device, writes a pattern over all of it, checks each
# stripe's device and reads it back through the map.
striped_case() {
	name=$1 n=$2 chunk=$3 per=$4 wmode=$5 rmode=$6 wbs=$7
	shift 7
	total=$((n * per))
	dmsetup create "$name" --table "0 $total striped $n $chunk $*" || return 1
	pattern "$name" 0 "$total" >"$SCEN_TMP/p" || return 1
	put "$SCEN_TMP/p" "/dev/mapper/$name" 0 "$wbs" "$wmode" || return 1
	r=0
	k=0
	while [ $# -gt 0 ]; do
		stripe_pattern "$name" 0 "$per" "$n" "$chunk" $k >"$SCEN_TMP/s" || return 1
		same_as "$SCEN_TMP/s" "$1" "$2" || { echo "(stripe $k)"; r=1; }
		k=$((k + 1))
		shift 2
	done
	[ "$rmode" = buffered ] && drop_caches
	same_as "$SCEN_TMP/p" "/dev/mapper/$name" 0 1048576 "$rmode" || r=1
	return $r
}

striped_2x4k_direct() {
	striped_case st2 2 8 4096 direct direct 1048576 \
		/dev/ram0 0 /dev/ram1 512
}

striped_2x128k_buffered() {
	striped_case st2b 2 256 4096 buffered buffered 1048576 \
		/dev/ram2 4096 /dev/ram3 77
}

# Non-power-of-two chunk (24 sectors), odd offsets, 64 KiB writes that
# straddle chunks.
striped_3x12k_odd_offsets() {
	striped_case st3 3 24 4800 direct buffered 65536 \
		/dev/ram0 100000 /dev/ram1 7 /dev/ram2 3333
}

striped_4x64k_direct() {
	striped_case st4 4 128 2048 direct direct 1048576 \
		/dev/ram0 40960 /dev/ram1 40960 /dev/ram2 40960 /dev/ram3 40960
}

# One-sector chunks: every sector goes to the next stripe.
striped_4x1_sector_chunks() {
	striped_case st1 4 1 1024 direct direct 131072 \
		/dev/ram3 9 /dev/ram2 0 /dev/ram1 1000 /dev/ram0 65536
}

# Two stripes on the same ramdisk, interleaved regions.
striped_same_device_twice() {
	striped_case stsd 2 16 2048 buffered direct 8192 \
		/dev/ram1 50000 /dev/ram1 52048
}

# str: 3 stripes of 40-sector chunks, 12000 sectors, whose stripes are
# written directly with pattern strr in its striped layout.
make_str_holding_strr() {
	dmsetup create str --table "0 12000 striped 3 40 /dev/ram0 8 /dev/ram2 16 /dev/ram3 24" ||
		return 1
	k=0
	for dev in "/dev/ram0 8" "/dev/ram2 16" "/dev/ram3 24"; do
		stripe_pattern strr 0 4000 3 40 $k >"$SCEN_TMP/s" || return 1
		set -- $dev
		put "$SCEN_TMP/s" "$1" "$2" 1048576 direct || return 1
		k=$((k + 1))
	done
}

# Data put on the stripes reads back through the map in logical order.
striped_reads_what_the_stripes_hold() {
	make_str_holding_strr || return 1
	pattern strr 0 12000 >"$SCEN_TMP/p" || return 1
	same_as "$SCEN_TMP/p" /dev/mapper/str 0 1048576 direct || return 1
	drop_caches
	same_as "$SCEN_TMP/p" /dev/mapper/str 0 12000 buffered
}

# A write over part of the device changes exactly that part.
striped_partial_overwrite_stays_in_range() {
	make_str_holding_strr || return 1
	# Overwrite sectors [1000, 1500).
	pattern strw 1000 500 >"$SCEN_TMP/w" || return 1
	put "$SCEN_TMP/w" /dev/mapper/str 1000 4096 direct || return 1
	{
		pattern strr 0 1000
		cat "$SCEN_TMP/w"
		pattern strr 1500 $((12000 - 1500))
	} >"$SCEN_TMP/want" || return 1
	same_as "$SCEN_TMP/want" /dev/mapper/str 0 1048576 direct
}

# --- mixed tables --------------------------------------------------

# mix: linear, striped (3 x 32 sectors), linear, striped (2 x 8 sectors).
make_mix() {
	dmsetup create mix --table "0 2048 linear /dev/ram3 0
2048 6144 striped 3 32 /dev/ram0 70000 /dev/ram1 70000 /dev/ram2 70000
8192 2048 linear /dev/ram3 50000
10240 4096 striped 2 8 /dev/ram2 90000 /dev/ram0 90000"
}

mixed_table_direct_io_lands_in_place() {
	make_mix || return 1
	pattern mix 0 14336 >"$SCEN_TMP/p" || return 1
	put "$SCEN_TMP/p" /dev/mapper/mix 0 1048576 direct || return 1
	r=0
	pattern mix 0 2048 >"$SCEN_TMP/x" && same_as "$SCEN_TMP/x" /dev/ram3 0 || r=1
	k=0
	for dev in /dev/ram0 /dev/ram1 /dev/ram2; do
		stripe_pattern mix 2048 2048 3 32 $k >"$SCEN_TMP/x" &&
			same_as "$SCEN_TMP/x" $dev 70000 || r=1
		k=$((k + 1))
	done
	pattern mix 8192 2048 >"$SCEN_TMP/x" && same_as "$SCEN_TMP/x" /dev/ram3 50000 || r=1
	stripe_pattern mix 10240 2048 2 8 0 >"$SCEN_TMP/x" &&
		same_as "$SCEN_TMP/x" /dev/ram2 90000 || r=1
	stripe_pattern mix 10240 2048 2 8 1 >"$SCEN_TMP/x" &&
		same_as "$SCEN_TMP/x" /dev/ram0 90000 || r=1
	same_as "$SCEN_TMP/p" /dev/mapper/mix 0 1048576 direct || r=1
	return $r
}

mixed_table_buffered_io_lands_in_place() {
	make_mix || return 1
	pattern mixb 0 14336 >"$SCEN_TMP/p" || return 1
	put "$SCEN_TMP/p" /dev/mapper/mix 0 262144 || return 1
	r=0
	pattern mixb 8192 2048 >"$SCEN_TMP/x" && same_as "$SCEN_TMP/x" /dev/ram3 50000 || r=1
	stripe_pattern mixb 2048 2048 3 32 1 >"$SCEN_TMP/x" &&
		same_as "$SCEN_TMP/x" /dev/ram1 70000 || r=1
	stripe_pattern mixb 10240 2048 2 8 1 >"$SCEN_TMP/x" &&
		same_as "$SCEN_TMP/x" /dev/ram0 90000 || r=1
	drop_caches
	same_as "$SCEN_TMP/p" /dev/mapper/mix 0 65536 buffered || r=1
	return $r
}

# --- main ----------------------------------------------------------

scenario_start

check_each \
	linear_direct_write_lands_at_offset \
	linear_buffered_write_lands_at_offset \
	linear_odd_sized_direct_io \
	linear_reads_what_the_ramdisk_holds \
	linear_segments_land_in_their_places \
	striped_2x4k_direct \
	striped_2x128k_buffered \
	striped_3x12k_odd_offsets \
	striped_4x64k_direct \
	striped_4x1_sector_chunks \
	striped_same_device_twice \
	striped_reads_what_the_stripes_hold \
	striped_partial_overwrite_stays_in_range \
	mixed_table_direct_io_lands_in_place \
	mixed_table_buffered_io_lands_in_place

rm -rf "$SCEN_TMP"
tap_done
