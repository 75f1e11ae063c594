#!/bin/sh
# Write bench/RESULTS.md from a make bench run (host side; make bench
# calls it after tests/vm/run.sh --mode bench).
#
# Usage: sh tests/bench/results.sh TAP OUT COMMAND
#
# TAP is the run's tests/build/vm/tap.txt; the guest's bench.sh printed
# the table there as "# md: " lines.  OUT gets a header (date, command),
# that table and the notes of tests/bench/NOTES.md.  Nothing is written
# when the run printed no table, so a failed boot keeps the last results.
set -eu
TAP=$1
OUT=$2
CMD=$3
DIR=$(cd "$(dirname "$0")" && pwd)

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
