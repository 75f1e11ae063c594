# make bench, section snapshot: origin first writes, writes to a
# snapshot, reads of a half-copied snapshot, and merging (sourced by
# bench.sh; stock and dmx).
#
# An origin of SNAP_SECTORS on ram0 (through a linear device, as LVM
# stacks it) with 1 or 4 persistent snapshots, each with its own
# exception store on ram4..ram7, chunks of 8 or 64 sectors.  Rows:
#   snapshot-first-write-Nsnap-cC-qdD   IOPS of one pass of random
#       writes of one chunk each over SNAP_WRITES chunks of the origin
#       (fio's random map: no chunk twice), so every write is a first
#       write: it waits for a chunk copy to each snapshot and a
#       metadata commit.  Queue depth 1 (psync) and 16 (libaio).
#   snapshot-write-snap-cC-qdD   the same pass written to the snapshot
#       itself (1 snapshot): a write that covers its chunk needs no
#       copy of the origin, only the metadata commit.
#   snapshot-read-half-copied-qdD   IOPS of 4 KiB random reads of a
#       snapshot (8-sector chunks) half of whose chunks the origin's
#       writes have copied: half the reads go to the COW device, half
#       to the origin.
#   snapshot-merge-c8   MB/s merging a snapshot whose every chunk was
#       written (4096 exceptions of 8 sectors) back into its origin,
#       started as LVM starts it (the origin's table becomes
#       snapshot-merge, the suspended snapshot hands its store over),
#       from the resume until the status has nothing left to merge.
#   exception-mem-*   kernel memory per exception, from the 1-snapshot,
#       8-sector, depth 16 first-write run (one exception per write)

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

# snap_engine DEPTH: fio's engine lines for a queue depth.
snap_engine() {
	if [ "$1" = 1 ]; then
		echo ioengine=psync
	else
		printf 'ioengine=libaio\niodepth=%s\n' "$1"
	fi
}

# snap_pass_bytes CHUNK: the bytes of one pass of SNAP_WRITES chunks,
# at most the whole origin.
snap_pass_bytes() {
	_b=$((SNAP_WRITES * $1 * 512))
	[ $_b -le $((SNAP_SECTORS * 512)) ] || _b=$((SNAP_SECTORS * 512))
	echo $_b
}

# snap_first_write SNAPSHOTS CHUNK DEPTH
snap_first_write() {
	_row=snapshot-first-write-${1}snap-c$2-qd$3
	describe "$_row" snapshot IOPS higher
	snap_setup "$1" "$2" || { remove_all_dm; return 1; }
	_measure_mem=
	[ "$1/$2/$3" = 1/8/16 ] && _measure_mem=1
	fio_begin "$BENCH_TMP/snap.fio" direct=1 randrepeat=0
	job "$_row" iops 0 filename=/dev/mapper/bench-origin \
		"size=$(snap_pass_bytes "$2")" rw=randwrite "bs=$(($2 * 512))" \
		"$(snap_engine "$3")"
	[ -z "$_measure_mem" ] || _before=$(mem_snapshot)
	fio_run
	if [ -n "$_measure_mem" ]; then
		describe_mem exception
		record_mem exception "$_before" "$(mem_snapshot)" "$SNAP_WRITES"
	fi
	snap_teardown "$1" | dm_setup
}

# snap_write_to_snapshot CHUNK DEPTH
snap_write_to_snapshot() {
	_row=snapshot-write-snap-c$1-qd$2
	describe "$_row" snapshot IOPS higher
	snap_setup 1 "$1" || { remove_all_dm; return 1; }
	fio_begin "$BENCH_TMP/snap.fio" direct=1 randrepeat=0
	job "$_row" iops 0 filename=/dev/mapper/bench-snap1 \
		"size=$(snap_pass_bytes "$1")" rw=randwrite "bs=$(($1 * 512))" \
		"$(snap_engine "$2")"
	fio_run
	snap_teardown 1 | dm_setup
}

# snap_read_half_copied DEPTH
snap_read_half_copied() {
	_row=snapshot-read-half-copied-qd$1
	describe "$_row" snapshot IOPS higher
	snap_setup 1 8 || { remove_all_dm; return 1; }
	# Half the 4 KiB chunks, each once (fio's random map).
	run_logged fio --name=half --filename=/dev/mapper/bench-origin \
		--direct=1 --rw=randwrite --bs=4k --size=$((SNAP_SECTORS * 512)) \
		--number_ios=$((SNAP_SECTORS / 16)) --randrepeat=0 \
		--output=/dev/null || { remove_all_dm; return 1; }
	fio_begin "$BENCH_TMP/snap.fio" direct=1 randrepeat=0 norandommap=1 \
		time_based=1 "runtime=$RUNTIME" "ramp_time=$RAMP"
	job "$_row" iops 0 filename=/dev/mapper/bench-snap1 \
		"size=$((SNAP_SECTORS * 512))" rw=randread bs=4k \
		"$(snap_engine "$1")"
	fio_run
	snap_teardown 1 | dm_setup
}

# snap_merged DEV: a snapshot-merge's status shows nothing left to merge
# (its allocated sectors are its metadata sectors).
snap_merged() {
	set -- $(dmsetup status "$1" 2>/dev/null)
	[ $# -eq 5 ] && [ "${4%%/*}" = "$5" ]
}

# snap_merge: the merge row; at most a minute of polling its status.
snap_merge() {
	_row=snapshot-merge-c8
	describe "$_row" snapshot MB/s higher
	snap_setup 1 8 || { remove_all_dm; return 1; }
	run_logged dd if=/dev/zero of=/dev/mapper/bench-snap1 bs=1M \
		count=$((SNAP_SECTORS / 2048)) oflag=direct &&
		run_logged dmsetup suspend bench-snap1 &&
		run_logged dmsetup suspend bench-origin &&
		run_logged dmsetup load bench-origin --table \
			"0 $SNAP_SECTORS snapshot-merge /dev/mapper/bench-base $(devnum ram4) P 8" ||
		{ remove_all_dm; return 1; }
	_m0=$(uptime_cs)
	run_logged dmsetup resume bench-origin || { remove_all_dm; return 1; }
	_i=0
	until snap_merged bench-origin; do
		_i=$((_i + 1))
		[ $_i -le 6000 ] || { diag "$IMPL: merge did not end"; break; }
		sleep 0.01
	done
	_cs=$(($(uptime_cs) - _m0))
	snap_merged bench-origin &&
		record "$_row" "$(awk -v mb=$((SNAP_SECTORS / 2048)) -v cs="$_cs" \
			'BEGIN { printf "%.1f", mb * 100 / (cs > 0 ? cs : 1) }')"
	snap_teardown 1 | dm_setup
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
	for _chunk in 8 64; do
		for _depth in 1 16; do
			snap_write_to_snapshot $_chunk $_depth
		done
	done
	snap_read_half_copied 1
	snap_read_half_copied 16
	snap_merge
}
