#!/bin/sh
# make bench: dmx against the stock device-mapper, in one VM boot.
#
# Each workload runs through a dm device of each implementation over the
# same ramdisks.  The implementations alternate over several rounds, and
# each keeps its best figure, so a busy host slowing one stretch of the
# run does not decide the comparison.  A line per workload gives both
# figures and the ratio dmx/stock (above 1: dmx is faster).  Absolute
# numbers mean little under TCG emulation; the ratio is the result.
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"

RUNTIME=${DMX_BENCH_RUNTIME:-5}
ROUNDS=${DMX_BENCH_ROUNDS:-3}
RESULTS=/tmp/bench
mkdir -p "$RESULTS"

# fio_iops NAME FIO-ARGS...: IOPS of a time-based run on /dev/mapper/bench
# (reads and writes added: terse v3 fields 8 and 49).
fio_iops() {
	_name=$1
	shift
	fio --name="$_name" --filename=/dev/mapper/bench --direct=1 \
		--time_based --runtime="$RUNTIME" --ramp_time=1 \
		--output-format=terse --terse-version=3 "$@" 2>/dev/null |
		awk -F';' '{ printf "%d\n", $8 + $49 }'
}

# workload NAME TABLE FIO-ARGS...: one figure for the loaded implementation.
workload() {
	_name=$1
	_table=$2
	shift 2
	dmsetup create bench --table "$_table" || return 1
	_iops=$(fio_iops "$_name" "$@")
	dmsetup remove bench
	_best=$(cat "$RESULTS/$_name.$IMPL" 2>/dev/null || echo 0)
	[ "${_iops:-0}" -gt "$_best" ] && _best=$_iops
	echo "$_best" >"$RESULTS/$_name.$IMPL"
}

run_workloads() {
	workload linear-randread-4k "0 131072 linear /dev/ram0 0" \
		--rw=randread --bs=4k --numjobs=2 --group_reporting
	workload linear-randwrite-4k "0 131072 linear /dev/ram0 0" \
		--rw=randwrite --bs=4k --numjobs=2 --group_reporting
	workload striped-read-64k "0 131072 striped 2 64 /dev/ram1 0 /dev/ram2 0" \
		--rw=read --bs=64k --numjobs=2 --group_reporting
	for hook in /tests/bench/*.bench; do
		[ -f "$hook" ] && . "$hook"
	done
}

# report NAME: both figures and the ratio, as a TAP line.
report() {
	_s=$(cat "$RESULTS/$1.stock" 2>/dev/null)
	_d=$(cat "$RESULTS/$1.dmx" 2>/dev/null)
	if [ -z "$_s" ] || [ -z "$_d" ] || [ "$_s" -eq 0 ]; then
		not_ok "bench_$1 (no figure: stock '${_s}' dmx '${_d}')"
		return
	fi
	ok "bench_$1 stock=${_s} dmx=${_d} ratio=$(awk -v d="$_d" -v s="$_s" \
		'BEGIN { printf "%.2f", d / s }')"
}

# switch_to IMPL: unload whichever dm is loaded and load IMPL.
switch_to() {
	dmsetup remove_all >/dev/null 2>&1
	unload_dm || die "cannot unload the loaded device-mapper"
	if [ "$1" = stock ]; then
		use_stock_dm || die "cannot load the stock dm-mod"
	else
		use_dmx || die "cannot load dmx"
	fi
	IMPL=$1
}

ramdisks 4 64 || die "cannot make ramdisks"
round=0
while [ $round -lt "$ROUNDS" ]; do
	switch_to stock
	run_workloads
	switch_to dmx
	run_workloads
	round=$((round + 1))
done

for f in "$RESULTS"/*.stock; do
	n=${f##*/}
	report "${n%.stock}"
done
tap_done
