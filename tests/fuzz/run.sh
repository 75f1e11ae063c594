#!/bin/sh
# make fuzz: the fuzzer on the debug kernel, a million calls by default.
#
# Usage: sh tests/fuzz/run.sh [CALLS [SEED [JOBS]]]
#
# CALLS (default 1000000) are shared between the 64-bit build (four
# fifths) and the 32-bit one (through the compat ioctl path); SEED
# defaults to the clock and is printed first, so that a crash can be
# repeated: sh tests/fuzz/run.sh CALLS SEED (with JOBS=1 the sequence
# of calls repeats exactly; add dmx.fuzz_trace=1 to DMX_GUEST_ARGS to
# see each call).  Ends with the runner's "N passed, N failed".
set -eu
VM_DIR=$(cd "$(dirname "$0")/../vm" && pwd)
. "$VM_DIR/common.sh"

CALLS=${1:-1000000}
SEED=${2:-$(date +%s)}
JOBS=${3:-3}
# The debug kernel makes 50 to 150 calls a second under TCG: leave room.
LIMIT=$((CALLS / 25 + 900))

echo "make fuzz: seed $SEED, $CALLS calls, $JOBS workers, limit ${LIMIT}s"
# no_timer_check: on a loaded host the TCG guest can fail the boot-time
# check of the timer interrupt ("IO-APIC + timer doesn't work" panic).
DMX_GUEST_ARGS="${DMX_GUEST_ARGS:-} no_timer_check dmx.fuzz=$CALLS dmx.fuzz_seed=$SEED dmx.fuzz_jobs=$JOBS"
export DMX_GUEST_ARGS
exec sh "$VM_DIR/run.sh" --kernel debug --filter 95-fuzz \
	--test-timeout "$LIMIT" --timeout $((LIMIT + 300))
