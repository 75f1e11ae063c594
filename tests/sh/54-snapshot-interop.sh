#!/bin/sh
# COW devices are byte-compatible with the stock dm-snapshot, both ways,
# in one boot: a store written by one implementation is unloaded, the
# other implementation is loaded, and every chunk of the snapshot and
# of the origin reads as it must; the status line agrees; the second
# implementation then adds exceptions to the same store (in the middle
# of a metadata area) and the first one reads those back too.  Stores
# that span several metadata areas, P and PO, two chunk sizes.
#
# With the stock dm-mod under test (run.sh --stock), "the other
# implementation" is the stock one again.  Leaves dmx loaded (the stock
# one with --stock) and no devices.
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"

SIZE=32768	# origin: 16 MiB of ram0

# switch_to stock|dmx: only that device-mapper loaded, no devices.
switch_to() {
	remove_all_dm
	if [ "$1" = stock ] || [ "$DMX_IMPL" = stock ]; then
		use_stock_dm
	else
		unload_dm && insmod "$DMX_KO"
	fi
}

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

# Round one on implementation FIRST: a fresh store, writes from both
# sides, the status remembered.
first_writes() {
	switch_to "$1" || return 1
	pattern base 0 $SIZE >"$SCEN_TMP/origin" &&
		cp "$SCEN_TMP/origin" "$SCEN_TMP/snap" &&
		put "$SCEN_TMP/origin" /dev/ram0 0 1048576 direct &&
		dd_quiet if=/dev/zero of="$2" bs=4096 count=1 oflag=direct &&
		devices "$2" "$3" "$4" || return 1
	# Over 1300 chunks copied for the origin: several metadata areas.
	write_both 1 0 24000 27003 2500 || return 1
	dmsetup status isnap | cut -d' ' -f4- >"$SCEN_TMP/status"
}

# The other implementation reads it all back and adds to it.
second_reads_and_adds() {
	switch_to "$1" || return 1
	devices "$2" "$3" "$4" || return 1
	want_eq status "$(dmsetup status isnap | cut -d' ' -f4-)" \
		"$(cat "$SCEN_TMP/status")" &&
		same_as "$SCEN_TMP/snap" /dev/mapper/isnap 0 &&
		same_as "$SCEN_TMP/origin" /dev/mapper/iorig 0 || return 1
	write_both 2 30011 1500 100 333 || return 1
	dmsetup status isnap | cut -d' ' -f4- >"$SCEN_TMP/status"
}

# And the first reads back what the second added.
first_reads_back() {
	switch_to "$1" || return 1
	devices "$2" "$3" "$4" || return 1
	want_eq status "$(dmsetup status isnap | cut -d' ' -f4-)" \
		"$(cat "$SCEN_TMP/status")" &&
		same_as "$SCEN_TMP/snap" /dev/mapper/isnap 0 &&
		same_as "$SCEN_TMP/origin" /dev/mapper/iorig 0 &&
		remove_all_dm
}

# interop NAME FIRST SECOND COW KIND CHUNK
interop() {
	check "${1}_written" first_writes "$2" "$4" "$5" "$6"
	check "${1}_read_by_other" second_reads_and_adds "$3" "$4" "$5" "$6"
	check "${1}_additions_read_back" first_reads_back "$2" "$4" "$5" "$6"
}

ramdisks 4 64 || die "cannot set up ramdisks"

interop stock_store_read_by_dmx stock dmx /dev/ram1 P 16
interop dmx_store_read_by_stock dmx stock /dev/ram2 P 8
interop dmx_po_store_read_by_stock dmx stock /dev/ram3 PO 32
check back_to_dmx switch_to dmx
check no_devices_left no_devices_left
rm -rf "$SCEN_TMP"
tap_done
