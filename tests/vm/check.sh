#!/bin/sh
# make check: every test, on every kernel, in the kinds of run there are.
#
# Usage: sh tests/vm/check.sh [--stock] [--gate-follows] [--once]
#                             [--filter GLOBS] [--kernels "6.1 6.12"]
#
# For each kernel (tests/vm/kernel.sh; default both, or env DMX_KERNELS),
# with dmx.ko built for it from the tree's sources (tests/vm/module.sh):
#   dkms   dkms.conf adds, builds, installs and removes dmx against the
#          kernel's headers, host side, in scratch trees (tests/vm/dkms.sh)
#   suite  one VM boot, every test in tests/c and tests/sh (tests/vm/run.sh)
#   crash  the crash test of persistent snapshots (two boots sharing a
#          disk, the first one killed; tests/vm/crash.sh snapshot)
#   thin-crash  the same for thin pools (tests/vm/crash.sh thin)
# --stock runs the VM parts on the stock dm instead (and skips dkms).
# --filter runs only the suite's tests that match (run.sh --filter).
# --once: the tests that check what no kernel changes run on one kernel
# only: $DMX_ONCE_FIRST_TESTS on the first, $DMX_ONCE_LAST_TESTS on the
# last (tests/vm/common.sh).
# --gate-follows: the debug-kernel gate runs next (as in .ci/run), so the
# suite on the gate's series leaves out the tests the gate runs there on
# a kernel with every checker on ($DMX_GATE_TESTS in tests/vm/common.sh).
#
# Each part prints its own results and a "N passed, N failed" line; this
# adds them up, lists every part with its counts and time, and prints the
# total as the last line.  Exit status 0 iff every part passed.  Logs in
# ${DMX_BUILD:-tests/build}/check/<kernel>/<part>.log.
set -u
VM_DIR=$(cd "$(dirname "$0")" && pwd)
. "$VM_DIR/common.sh"

STOCK=
GATE_FOLLOWS=
ONCE=
FILTER=
KERNELS=${DMX_KERNELS:-$DMX_KERNELS_ALL}
while [ $# -gt 0 ]; do
	case $1 in
	--stock) STOCK=--stock ;;
	--gate-follows) GATE_FOLLOWS=1 ;;
	--once) ONCE=1 ;;
	--filter) FILTER=$2; shift ;;
	--kernels) KERNELS=$2; shift ;;
	*) die "usage: $0 [--stock] [--gate-follows] [--once] [--filter GLOBS] [--kernels \"6.1 6.12\"]" ;;
	esac
	shift
done

LOG=$DMX_BUILD/check
mkdir -p "$LOG"
total_passed=0
total_failed=0
PARTS=

# record NAME PASSED FAILED SECS: one line of the closing table, kept in
# $LOG/<kernel>/parts (a kernel's parts run in a process of their own).
record() {
	echo "$1 $2 $3 $4" >>"$LOG/$DMX_KERNEL/parts"
}

# add_up KERNEL: KERNEL's lines of the closing table into PARTS and the
# totals.
add_up() {
	while read -r r_name r_passed r_failed r_secs; do
		total_passed=$((total_passed + r_passed))
		total_failed=$((total_failed + r_failed))
		PARTS="$PARTS$(printf '#   %-12s %4d passed, %3d failed  %7s s' \
			"$r_name" "$r_passed" "$r_failed" "$r_secs")
"
	done <"$LOG/$1/parts"
}

# part NAME COMMAND...: runs COMMAND with its output on ours and in
# $LOG/NAME.log, and adds its summary line to the totals (a part that
# ends without one counts as one failure).
part() {
	name=$1
	shift
	start=$(now_ms)
	"$@" 2>&1 | tee "$LOG/$name.log"
	secs=$(elapsed "$start")
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$LOG/$name.log" | tail -n 1)
	if [ -z "$line" ]; then
		echo "not ok - $name reported no summary"
		record "$name" 0 1 "$secs"
		return
	fi
	set -- $line
	record "$name" "$1" "$3" "$secs"
}

# suite_skips KERNEL: the comma-separated globs of the tests KERNEL's
# suite leaves out (--gate-follows, --once), or nothing.
suite_skips() {
	ss=
	if [ -n "$GATE_FOLLOWS" ] && [ "$1" = "$DMX_SOURCE_SERIES" ]; then
		ss=$DMX_GATE_TESTS
	fi
	if [ -n "$ONCE" ] && [ "$1" != "$FIRST_KERNEL" ]; then
		ss=${ss:+$ss,}$DMX_ONCE_FIRST_TESTS
	fi
	if [ -n "$ONCE" ] && [ "$1" != "$LAST_KERNEL" ]; then
		ss=${ss:+$ss,}$DMX_ONCE_LAST_TESTS
	fi
	echo "$ss"
}

# kernel_parts KERNEL: every part on KERNEL.
kernel_parts() {
	DMX_KERNEL=$1
	export DMX_KERNEL
	start=$(now_ms)
	if ! ko=$(sh "$VM_DIR/module.sh" 2>"$LOG/$1/module.log"); then
		cat "$LOG/$1/module.log"
		echo "not ok - dmx.ko builds for $1"
		record "$1/module" 0 1 "$(elapsed "$start")"
		return
	fi
	eval "$ko"
	export DMX_KO
	[ -n "$STOCK" ] || part "$1/dkms" sh "$VM_DIR/dkms.sh"
	skip=$(suite_skips "$1")
	part "$1/suite" sh "$VM_DIR/run.sh" --mode check $STOCK \
		${FILTER:+--filter "$FILTER"} ${skip:+--skip "$skip"}
	part "$1/crash" sh "$VM_DIR/crash.sh" snapshot $STOCK
	part "$1/thin-crash" sh "$VM_DIR/crash.sh" thin $STOCK
}

# The kernels run side by side: a TCG guest keeps about one host core
# busy, so two of them take little longer than one.  The first kernel's
# output is shown live; each other one's when it is done.
start_all=$(now_ms)
for k in $KERNELS; do
	case " $DMX_KERNELS_ALL " in
	*" $k "*) ;;
	*) die "unknown kernel $k (known: $DMX_KERNELS_ALL)" ;;
	esac
	mkdir -p "$LOG/$k"
	: >"$LOG/$k/parts"
	# Downloads and unpacking one kernel at a time (apt's state is one),
	# before they run side by side; a failure shows in the parts below.
	DMX_KERNEL=$k sh "$VM_DIR/kernel.sh" >/dev/null || :
done
# shellcheck disable=SC2086 # one word per kernel
set -- $KERNELS
live=$1
FIRST_KERNEL=$1
eval "LAST_KERNEL=\${$#}"
shift
others=
for k in "$@"; do
	(kernel_parts "$k") >"$LOG/$k/output.log" 2>&1 &
	others="$others $!"
done
(kernel_parts "$live")
for p in $others; do
	wait "$p" || :
done
for k in "$@"; do
	echo "# ---- $k ----"
	cat "$LOG/$k/output.log"
done
for k in $KERNELS; do
	add_up "$k"
done

echo "# ---- make check: $KERNELS${STOCK:+ (stock dm)}, $(elapsed "$start_all") s ----"
printf '%s' "$PARTS"
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
