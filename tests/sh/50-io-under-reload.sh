#!/bin/sh
# dmx-test: timeout=300
# No I/O is lost or misdirected while tables are swapped and the device
# is suspended and resumed under load.  A verifying writer (fio with
# crc32c verification, or a dd writer checked with cmp afterwards) runs
# on a dmx device while a bounded loop swaps between tables that all map
# the device the same way (one linear target, two, sixteen, or seven of
# odd lengths), or suspends and resumes it in every flavour.  The loops
# stop when the writer does, or after a fixed number of rounds.
#
# Every test makes the device afresh (rl_setup); the teardown after each
# one removes it.
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"

DEV=/dev/mapper/rl
SECTORS=32768	# 16 MiB, on ram0 from sector OFF
OFF=2048
MAX_ROUNDS=16	# upper bound of every reload loop
MIN_ROUNDS=5	# rounds that must overlap the writer for a test to count

# --- equivalent tables ---------------------------------------------

# linear_split LENGTH...: linear targets of these lengths covering the
# device in order, all mapping sector s to ram0 sector OFF + s.
linear_split() {
	awk -v off=$OFF 'BEGIN {
		start = 0
		for (i = 1; i < ARGC; i++) {
			printf "%d %d linear /dev/ram0 %d\n", start, ARGV[i], off + start
			start += ARGV[i]
		}
	}' "$@"
}

# rl_setup: the four equivalent tables in $SCEN_TMP/t0..t3, and the
# device rl with the first of them.
rl_setup() {
	linear_split $SECTORS >"$SCEN_TMP/t0" &&
		linear_split 16384 16384 >"$SCEN_TMP/t1" &&
		linear_split $(i=0; while [ $i -lt 16 ]; do printf '2048 '; i=$((i + 1)); done) \
			>"$SCEN_TMP/t2" &&
		linear_split 1 1000 3 12287 8192 7 $((SECTORS - 1 - 1000 - 3 - 12287 - 8192 - 7)) \
			>"$SCEN_TMP/t3" || return 1
	for t in 0 1 2 3; do
		n=$(awk '{ s += $2 } END { print s }' "$SCEN_TMP/t$t")
		want_eq "length of table $t" "$n" $SECTORS || return 1
	done
	dmsetup create rl "$SCEN_TMP/t0"
}

# --- the loops -----------------------------------------------------

# reload_while PID: swap tables while PID runs, at most MAX_ROUNDS times.
# Prints the number of rounds; fails if a load or resume fails.
reload_while() {
	i=0
	while [ $i -lt $MAX_ROUNDS ] && kill -0 "$1" 2>/dev/null; do
		t=$((i % 4))
		dmsetup load rl "$SCEN_TMP/t$t" || { echo "load of table $t failed"; return 1; }
		dmsetup resume rl || { echo "resume with table $t failed"; return 1; }
		i=$((i + 1))
	done
	echo "$i"
}

# suspend_while PID: suspend and resume while PID runs, rotating lockfs,
# --nolockfs and --noflush, at most MAX_ROUNDS times.
suspend_while() {
	i=0
	while [ $i -lt $MAX_ROUNDS ] && kill -0 "$1" 2>/dev/null; do
		case $((i % 3)) in
		0) flags= ;;
		1) flags=--nolockfs ;;
		2) flags=--noflush ;;
		esac
		dmsetup suspend $flags rl || { echo "suspend $flags failed"; return 1; }
		dmsetup resume rl || { echo "resume after suspend $flags failed"; return 1; }
		i=$((i + 1))
	done
	echo "$i"
}

# rounds_overlapped ROUNDS: enough rounds ran while the writer did.
rounds_overlapped() {
	note "$1 rounds while the writer ran"
	[ "$1" -ge $MIN_ROUNDS ] || {
		echo "fewer than $MIN_ROUNDS rounds overlapped the writer"
		return 1
	}
}

# --- fio -----------------------------------------------------------

# fio_job FILE DIRECT EXTRA...: two verifying jobs on $DEV: 4 KiB random
# writes over the first 6 MiB and 128 KiB sequential writes over 6 MiB
# from 8 MiB, each block checked (crc32c) while writing and at the end.
fio_job() {
	f=$1 direct=$2
	shift 2
	cat >"$f" <<-EOF
	[global]
	filename=$DEV
	direct=$direct
	ioengine=libaio
	iodepth=16
	verify=crc32c
	verify_fatal=1
	verify_backlog=256
	do_verify=1
	randrepeat=1
	$(for x in "$@"; do echo "$x"; done)

	[rand4k]
	rw=randwrite
	bs=4k
	offset=0
	size=6m

	[seq128k]
	rw=write
	bs=128k
	offset=8m
	size=6m
	EOF
}

# fio_ok OUTPUT_FILE: fio's output shows no error and no verify failure.
fio_ok() {
	if grep -qiE 'verify.*(fail|bad)|bad magic|crc32c.*wanted|err= *[1-9]|error' "$1"; then
		grep -iE 'verify|bad magic|crc|err=|error' "$1" | head -n 20
		return 1
	fi
	grep -qE 'err= *0' "$1" || { tail -n 20 "$1"; return 1; }
}

# fio_under LOOP DIRECT EXTRA...: fio in the background, LOOP beside it.
fio_under() {
	loop=$1 direct=$2
	shift 2
	fio_job "$SCEN_TMP/job" "$direct" "$@"
	fio "$SCEN_TMP/job" >"$SCEN_TMP/fio.out" 2>&1 &
	pid=$!
	rounds=$($loop $pid)
	lrc=$?
	wait $pid
	frc=$?
	r=0
	[ $lrc -eq 0 ] || { echo "$rounds"; r=1; }
	[ $frc -eq 0 ] || { echo "fio exited $frc"; r=1; }
	fio_ok "$SCEN_TMP/fio.out" || r=1
	[ $lrc -ne 0 ] || rounds_overlapped "$rounds" || r=1
	return $r
}

# Verified while written, and once more afterwards, all of it, through
# whichever table is live by then.
fio_direct_verifies_across_table_swaps() {
	rl_setup && fio_under reload_while 1 || return 1
	fio_job "$SCEN_TMP/job" 1 verify_only=1
	fio "$SCEN_TMP/job" >"$SCEN_TMP/fio.out" 2>&1 || { tail -n 20 "$SCEN_TMP/fio.out"; return 1; }
	fio_ok "$SCEN_TMP/fio.out"
}

fio_buffered_verifies_across_table_swaps() {
	rl_setup && fio_under reload_while 0 fsync=32
}

fio_direct_verifies_across_suspend_cycles() {
	rl_setup && fio_under suspend_while 1
}

fio_buffered_verifies_across_suspend_cycles() {
	rl_setup && fio_under suspend_while 0 fsync=32
}

# --- dd writer -----------------------------------------------------

# dd_writer FILE CHUNKS: FILE to $DEV in 256 KiB chunks, one dd each,
# alternating O_DIRECT and buffered (fsync'd) writes.
dd_writer() {
	c=0
	while [ $c -lt "$2" ]; do
		if [ $((c % 2)) -eq 0 ]; then fl=direct,seek_bytes; else fl=seek_bytes; fi
		dd if="$1" of=$DEV bs=262144 skip=$c seek=$((c * 262144)) count=1 \
			oflag=$fl conv=notrunc,fsync 2>/dev/null || {
			echo "chunk $c failed"
			return 1
		}
		c=$((c + 1))
	done
}

dd_writer_lands_across_table_swaps() {
	rl_setup || return 1
	pattern ddw 0 16384 >"$SCEN_TMP/p" || return 1
	dd_writer "$SCEN_TMP/p" 32 >"$SCEN_TMP/w.out" 2>&1 &
	pid=$!
	rounds=$(reload_while $pid)
	lrc=$?
	wait $pid
	wrc=$?
	r=0
	[ $lrc -eq 0 ] || { echo "$rounds"; r=1; }
	[ $wrc -eq 0 ] || { echo "writer failed:"; cat "$SCEN_TMP/w.out"; r=1; }
	[ $lrc -ne 0 ] || rounds_overlapped "$rounds" || r=1
	same_as "$SCEN_TMP/p" /dev/ram0 $OFF || r=1
	drop_caches
	same_as "$SCEN_TMP/p" $DEV 0 1048576 buffered || r=1
	return $r
}

scenario_start

timed_check_each \
	fio_direct_verifies_across_table_swaps \
	fio_buffered_verifies_across_table_swaps \
	fio_direct_verifies_across_suspend_cycles \
	fio_buffered_verifies_across_suspend_cycles \
	dd_writer_lands_across_table_swaps

rm -rf "$SCEN_TMP"
tap_done
