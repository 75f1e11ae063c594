# make bench, section snapshot: origin first writes (sourced by
# bench.sh; stock and dmx).
#
# An origin of SNAP_SECTORS on ram0 (through a linear device, as LVM
# stacks it) with 1 or 4 persistent snapshots, each with its own
# exception store on ram4..ram7, chunks of 8 or 64 sectors.  One pass
# of random writes of one chunk each over SNAP_WRITES chunks of the
# origin (fio's random map: no chunk twice), so every write is a first
# write: it waits for a chunk copy to each snapshot and a metadata
# commit.  Queue depth 1 (psync) and 16 (libaio).  Rows:
#   snapshot-first-write-Nsnap-cC-qdD   IOPS
#   exception-mem-*   kernel memory per exception, from the 1-snapshot,
#                     8-sector, depth 16 run (one exception per write)

SNAP_SECTORS=32768	# 16 MiB
SNAP_WRITES=2048	# 8 MiB of 8-sector chunks, all 16 MiB of 64-sector ones

# snap_setup SNAPSHOTS CHUNK: bench-origin, bench-snap1..SNAPSHOTS.
snap_setup() {
	_i=1
	while [ $_i -le "$1" ]; do
		dd if=/dev/zero of=/dev/ram$((3 + _i)) bs=4096 count=1 \
			oflag=direct 2>/dev/null || return 1
		_i=$((_i + 1))
	done
	{
		echo "create bench-base 0 $SNAP_SECTORS linear $(devnum ram0) 0"
		echo "create bench-origin 0 $SNAP_SECTORS snapshot-origin /dev/mapper/bench-base"
	} | dm_setup || return 1
	run_logged dmsetup suspend bench-origin || return 1
	_i=1
	while [ $_i -le "$1" ]; do
		echo "create bench-snap$_i 0 $SNAP_SECTORS snapshot /dev/mapper/bench-base $(devnum ram$((3 + _i))) P $2"
		_i=$((_i + 1))
	done | dm_setup || return 1
	run_logged dmsetup resume bench-origin
}

snap_teardown() {
	_i=1
	while [ $_i -le "$1" ]; do
		echo "remove bench-snap$_i"
		_i=$((_i + 1))
	done
	echo "remove bench-origin"
	echo "remove bench-base"
}

# snap_first_write SNAPSHOTS CHUNK DEPTH
snap_first_write() {
	_row=snapshot-first-write-${1}snap-c$2-qd$3
	describe "$_row" snapshot IOPS higher
	snap_setup "$1" "$2" || { remove_all_dm; return 1; }
	_engine="ioengine=libaio
iodepth=$3"
	[ "$3" = 1 ] && _engine=ioengine=psync
	_measure_mem=
	[ "$1/$2/$3" = 1/8/16 ] && _measure_mem=1
	fio_begin "$BENCH_TMP/snap.fio" direct=1 randrepeat=0
	job "$_row" iops 0 filename=/dev/mapper/bench-origin \
		"size=$((SNAP_WRITES * $2 * 512 > SNAP_SECTORS * 512 ? SNAP_SECTORS * 512 : SNAP_WRITES * $2 * 512))" \
		rw=randwrite "bs=$(($2 * 512))" \
		"$_engine"
	[ -z "$_measure_mem" ] || _before=$(mem_snapshot)
	fio_run
	if [ -n "$_measure_mem" ]; then
		describe_mem exception
		record_mem exception "$_before" "$(mem_snapshot)" "$SNAP_WRITES"
	fi
	snap_teardown "$1" | dm_setup
}

# bench_snapshot: the section for $IMPL.
bench_snapshot() {
	for _chunk in 8 64; do
		for _snaps in 1 4; do
			for _depth in 1 16; do
				snap_first_write $_snaps $_chunk $_depth
			done
		done
	done
}
