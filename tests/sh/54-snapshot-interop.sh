#!/bin/sh
# COW devices are byte-compatible with the stock dm-snapshot, both ways,
# in one boot: a store written by one implementation is unloaded, the
# other implementation is loaded, and every chunk of the snapshot and
# of the origin reads as it must and the status line agrees; and when
# the second implementation adds exceptions to the same store (in the
# middle of a metadata area), the first one reads those back too.
# Stores that span several metadata areas, P and PO, three chunk sizes,
# one of them larger than a bio.  Each test writes its own store from
# scratch.
#
# With the stock dm-mod under test (run.sh --stock), "the other
# implementation" is the stock one again.  Leaves dmx loaded (the stock
# one with --stock) and no devices.
#
# dmx-test: timeout=900
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"

SIZE=32768	# origin: 16 MiB of ram0

# devices COW KIND CHUNK: base, origin and snapshot on COW.
devices() {
	dmsetup create ibase --table "0 $SIZE linear /dev/ram0 0" &&
		dmsetup create iorig --table "0 $SIZE snapshot-origin /dev/mapper/ibase" &&
		dmsetup suspend iorig &&
		dmsetup create isnap --table "0 $SIZE snapshot /dev/mapper/ibase $1 $2 $3" &&
		dmsetup resume iorig
}

# write_both TAG ORIGIN_SECTOR ORIGIN_LEN SNAP_SECTOR SNAP_LEN: patterned
# writes to the origin and to the snapshot, the expected images updated.
write_both() {
	pattern "o$1" 0 "$3" >"$SCEN_TMP/w" &&
		put "$SCEN_TMP/w" /dev/mapper/iorig "$2" 65536 direct &&
		splice "$SCEN_TMP/origin" "$2" "$SCEN_TMP/w" || return 1
	pattern "s$1" 0 "$5" >"$SCEN_TMP/w" &&
		put "$SCEN_TMP/w" /dev/mapper/isnap "$4" 12288 direct &&
		splice "$SCEN_TMP/snap" "$4" "$SCEN_TMP/w"
}

remember_status() {
	dmsetup status isnap | cut -d' ' -f4- >"$SCEN_TMP/status"
}

# reads_back: the devices read what the images say, the status agrees.
reads_back() {
	want_eq status "$(dmsetup status isnap | cut -d' ' -f4-)" \
		"$(cat "$SCEN_TMP/status")" &&
		same_as "$SCEN_TMP/snap" /dev/mapper/isnap 0 &&
		same_as "$SCEN_TMP/origin" /dev/mapper/iorig 0
}

# first_writes FIRST COW KIND CHUNK: a fresh store written on FIRST.
first_writes() {
	switch_dm_to "$1" || return 1
	pattern base 0 $SIZE >"$SCEN_TMP/origin" &&
		cp "$SCEN_TMP/origin" "$SCEN_TMP/snap" &&
		put "$SCEN_TMP/origin" /dev/ram0 0 1048576 direct &&
		dd_quiet if=/dev/zero of="$2" bs=65536 count=1 oflag=direct &&
		devices "$2" "$3" "$4" || return 1
	# 1500 chunks copied for the origin at 8 sectors: several areas.
	write_both 1 0 12000 27003 2500 && remember_status
}

# read_by FIRST SECOND COW KIND CHUNK: FIRST writes, SECOND reads.
read_by() {
	first_writes "$1" "$3" "$4" "$5" &&
		switch_dm_to "$2" && devices "$3" "$4" "$5" && reads_back
}

# additions_read_back FIRST SECOND COW KIND CHUNK: FIRST writes, SECOND
# adds exceptions, FIRST reads all of it.
additions_read_back() {
	first_writes "$1" "$3" "$4" "$5" &&
		switch_dm_to "$2" && devices "$3" "$4" "$5" &&
		write_both 2 30011 1500 100 333 && remember_status &&
		switch_dm_to "$1" && devices "$3" "$4" "$5" && reads_back
}

# interop NAME FIRST SECOND COW KIND CHUNK
interop() {
	check "${1}_read_by_$3" read_by "$2" "$3" "$4" "$5" "$6"
	remove_all_dm
	check "${1}_additions_by_${3}_read_back" additions_read_back \
		"$2" "$3" "$4" "$5" "$6"
	remove_all_dm
}

ramdisks 4 64 || die "cannot set up ramdisks"

interop stock_store stock dmx /dev/ram1 P 16
interop dmx_store dmx stock /dev/ram2 P 8
interop dmx_po_store dmx stock /dev/ram3 PO 32
interop dmx_two_mib_chunk_store dmx stock /dev/ram1 P 4096
switch_dm_to dmx || die "cannot load the device-mapper under test again"
no_devices_left || die "devices left"
rm -rf "$SCEN_TMP"
tap_done
