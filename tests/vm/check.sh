#!/bin/sh
# make check: every test, in the two kinds of VM run there are.
#
# Usage: sh tests/vm/check.sh [--stock]
#
# First the suite (tests/vm/run.sh: one boot, every test in tests/c and
# tests/sh), then the crash test of persistent snapshots
# (tests/vm/crash-snapshot.sh: two boots sharing a disk, the first one
# killed), and the same for thin pools (tests/vm/thin-crash.sh).  Each
# prints its own results and a "N passed, N failed" line; this adds them
# up into the last line.  Exit status 0 iff all passed.
set -u
VM_DIR=$(cd "$(dirname "$0")" && pwd)
. "$VM_DIR/common.sh"

STOCK=
case ${1:-} in
--stock) STOCK=--stock ;;
"") ;;
*) die "usage: $0 [--stock]" ;;
esac

LOG=$DMX_BUILD/check
mkdir -p "$LOG"
total_passed=0
total_failed=0

# part NAME COMMAND...: runs COMMAND with its output on ours and in
# $LOG/NAME.log, and adds its summary line to the totals (a part that
# ends without one counts as one failure).
part() {
	name=$1
	shift
	"$@" $STOCK 2>&1 | tee "$LOG/$name.log"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$LOG/$name.log" | tail -n 1)
	if [ -z "$line" ]; then
		echo "not ok - $name reported no summary"
		total_failed=$((total_failed + 1))
		return
	fi
	set -- $line
	total_passed=$((total_passed + $1))
	total_failed=$((total_failed + $3))
}

part suite sh "$VM_DIR/run.sh" --mode check
part crash sh "$VM_DIR/crash-snapshot.sh"
part thin-crash sh "$VM_DIR/thin-crash.sh"

echo "# ---- make check: suite and crash test ----"
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
