#!/bin/sh
# make torture: the torture test on the debug kernel, ten minutes of I/O
# by default.
#
# Usage: sh tests/torture/run.sh [SECONDS]
set -eu
VM_DIR=$(cd "$(dirname "$0")/../vm" && pwd)
. "$VM_DIR/common.sh"

SECS=${1:-600}
LIMIT=$((SECS * 2 + 600))

echo "make torture: $SECS s of I/O under commands, limit ${LIMIT}s"
# no_timer_check: on a loaded host the TCG guest can fail the boot-time
# check of the timer interrupt ("IO-APIC + timer doesn't work" panic).
DMX_GUEST_ARGS="${DMX_GUEST_ARGS:-} no_timer_check dmx.torture=$SECS"
export DMX_GUEST_ARGS
exec sh "$VM_DIR/run.sh" --kernel debug --filter 97-torture \
	--test-timeout "$LIMIT" --timeout $((LIMIT + 300))
