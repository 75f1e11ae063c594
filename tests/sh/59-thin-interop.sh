#!/bin/sh
# Thin pool metadata is byte-compatible with the stock dm-thin, both
# ways, in one boot.  The same operations (thin volumes, snapshots,
# snapshots of snapshots, partial-block writes, discards, a delete, a
# transaction id) run on a fresh pool with each implementation: both
# pools must pass thin_check, and thin_dump must print the same for
# both, block numbers included.  Then each implementation activates the
# pool the other one wrote, reads every volume back as it must be, and
# adds a second round of changes; the first one reads those back too.
#
# With the stock dm-mod under test (run.sh --stock), "the other
# implementation" is the stock one again.  Leaves dmx loaded (the stock
# one with --stock) and no devices.
# dmx-test: timeout=900
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"
. "${DMX_TESTLIB:-/tests/lib}/thin.sh"

THIN_VOL=8192		# 4 MiB volumes
VOLS="0 1 2 3 4"

# on_pool A|B: THIN_META and THIN_DATA of pool A (ram0, ram1) or B.
on_pool() {
	case $1 in
	A) THIN_META=/dev/ram0 THIN_DATA=/dev/ram1 ;;
	B) THIN_META=/dev/ram2 THIN_DATA=/dev/ram3 ;;
	esac
}

# write VOL SEED SECTOR COUNT: patterned O_DIRECT write to volume VOL;
# the expected image $SCEN_TMP/img.$POOL.VOL follows.
write() {
	pattern "$2" 0 "$4" >"$SCEN_TMP/w" &&
		put "$SCEN_TMP/w" "/dev/mapper/v$1" "$3" 65536 direct &&
		splice "$SCEN_TMP/img.$POOL.$1" "$3" "$SCEN_TMP/w"
}

# snap NEW ORIGIN: snapshot volume ORIGIN (active, so suspended around it).
snap() {
	thin_snap "v$1" pool "$1" "$2" "v$2" &&
		cp "$SCEN_TMP/img.$POOL.$2" "$SCEN_TMP/img.$POOL.$1"
}

# discard VOL SECTOR COUNT
discard() {
	blkdiscard -o $(($2 * 512)) -l $(($3 * 512)) "/dev/mapper/v$1" &&
		zeroes "$3" >"$SCEN_TMP/w" &&
		splice "$SCEN_TMP/img.$POOL.$1" "$2" "$SCEN_TMP/w"
}

first_round() {
	POOL=$1
	pool_create pool && thin_new v0 pool 0 || return 1
	zeroes $THIN_VOL >"$SCEN_TMP/img.$POOL.0"
	write 0 r1a 100 3000 && snap 1 0 &&
		write 0 r1b 1000 700 && write 1 r1c 2900 500 &&
		snap 2 1 && write 2 r1d 0 300 && write 1 r1e 8000 192 &&
		thin_new v3 pool 3 || return 1
	zeroes $THIN_VOL >"$SCEN_TMP/img.$POOL.3"
	write 3 r1f 4000 1500 && discard 0 256 512 && discard 2 0 1024 &&
		pool_msg pool set_transaction_id 0 4
}

second_round() {
	POOL=$1
	write 0 r2a 3000 900 && snap 4 2 && write 4 r2b 128 256 &&
		write 2 r2c 7000 600 && discard 1 2560 1024 &&
		dmsetup remove v3 && pool_msg pool delete 3 &&
		rm -f "$SCEN_TMP/img.$POOL.3" &&
		pool_msg pool set_transaction_id 4 9
}

# activate: the pool and every volume it has an image of.
activate() {
	pool_load pool || return 1
	for v in $VOLS; do
		if [ -f "$SCEN_TMP/img.$POOL.$v" ]; then
			thin_create "v$v" pool "$v" || return 1
		fi
	done
}

# reads_back POOL: every volume of POOL reads as its image.
reads_back() {
	POOL=$1
	for v in $VOLS; do
		if [ -f "$SCEN_TMP/img.$POOL.$v" ]; then
			same_as "$SCEN_TMP/img.$POOL.$v" "/dev/mapper/v$v" 0 || return 1
		fi
	done
}

# deactivate_and_check POOL: removes the devices, then thin_check and a
# thin_dump of the metadata into $SCEN_TMP/dump.POOL.
deactivate_and_check() {
	remove_all_dm || return 1
	thin_check "$THIN_META" || return 1
	thin_dump "$THIN_META" >"$SCEN_TMP/dump.$1"
}

# fresh IMPL POOL: IMPL builds POOL from scratch.
fresh() {
	switch_dm_to "$1" && on_pool "$2" && first_round "$2" && reads_back "$2" &&
		deactivate_and_check "$2"
}

same_dumps() {
	cmp_files "$SCEN_TMP/dump.A" "$SCEN_TMP/dump.B" "thin_dump of A and B" || {
		diff "$SCEN_TMP/dump.A" "$SCEN_TMP/dump.B" | head -n 20
		return 1
	}
}

same_images() {
	for v in $VOLS; do
		if [ -f "$SCEN_TMP/img.A.$v" ]; then
			cmp_files "$SCEN_TMP/img.A.$v" "$SCEN_TMP/img.B.$v" "volume $v" ||
				return 1
		fi
	done
}

# crossed IMPL POOL: IMPL activates POOL, reads it back, adds round two.
crossed() {
	switch_dm_to "$1" && on_pool "$2" && POOL=$2 && activate && reads_back "$2" &&
		second_round "$2" && reads_back "$2" && deactivate_and_check "$2"
}

# reread IMPL POOL: IMPL activates POOL and reads it back.
reread() {
	switch_dm_to "$1" && on_pool "$2" && POOL=$2 && activate && reads_back "$2" &&
		deactivate_and_check "$2"
}

ramdisks 4 64 || die "cannot set up ramdisks"

check stock_builds_pool_a fresh stock A
check dmx_builds_pool_b fresh dmx B
check thin_dump_of_both_pools_is_the_same same_dumps
check volumes_of_both_pools_are_the_same same_images
check dmx_reads_and_extends_stock_pool crossed dmx A
check stock_reads_and_extends_dmx_pool crossed stock B
check stock_reads_back_dmx_additions reread stock A
check dmx_reads_back_stock_additions reread dmx B
check thin_dump_after_crossed_rounds_is_the_same same_dumps
check back_to_dmx switch_dm_to dmx
check no_devices_left no_devices_left
rm -rf "$SCEN_TMP"
tap_done
