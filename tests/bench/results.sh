#!/bin/sh
# Write the results of a make bench run (host side; make bench calls it
# after tests/vm/run.sh --mode bench).
#
# Usage: sh tests/bench/results.sh COMMAND [OUT]
#
# The run's tap.txt (in the VM directory of DMX_KERNEL, tests/vm/
# common.sh vm_out) holds the table the guest's bench.sh printed, as
# "# md: " lines.  OUT, or else bench/RESULTS.md (6.1) or
# bench/RESULTS-<kernel>.md (another kernel), gets a header (date,
# command), that table and the notes of tests/bench/NOTES.md.  Nothing
# is written when the run printed no table, so a failed boot keeps the
# last results.
set -eu
CMD=$1
DIR=$(cd "$(dirname "$0")" && pwd)
VM_DIR=$(cd "$DIR/../vm" && pwd)
. "$VM_DIR/common.sh"
TAP=$(vm_out)/tap.txt
case ${2:-}:$DMX_KERNEL in
:6.1) OUT=$DMX_ROOT/bench/RESULTS.md ;;
:*) OUT=$DMX_ROOT/bench/RESULTS-$DMX_KERNEL.md ;;
*) OUT=$2 ;;
esac

grep -q '^# md: |' "$TAP" || { echo "results.sh: no table in $TAP" >&2; exit 1; }
mkdir -p "$(dirname "$OUT")"
{
	echo "# make bench results"
	echo
	echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); command: \`$CMD\`;" \
		"host: $(nproc) CPUs, $(uname -r)."
	sed -n 's/^# md: \{0,1\}//p' "$TAP"
	echo
	[ ! -f "$DIR/NOTES.md" ] || cat "$DIR/NOTES.md"
} >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "results.sh: wrote $OUT"
