#!/bin/sh
# The debug-kernel part of CI: on the debug kernel (KASAN, lockdep,
# kmemleak, UBSAN, hung-task detection, fault injection), the C ioctl
# suites and the lifecycle tests, the fuzzer (100000 calls), every
# fault-injection walk and I/O run, and a short torture.  Any kernel
# report fails it (the runner's log scan), as does a failed test.
#
# Usage: sh tests/vm/debug-gate.sh
# Settings: DMX_GATE_FUZZ (calls, default 100000), DMX_GATE_TORTURE
# (seconds of I/O, default 30), DMX_GATE_STRIDE (fault walks fail every
# K-th allocation, default 4), DMX_GATE_SEED (default 1: CI repeats
# itself; a crash it finds repeats with tests/fuzz/run.sh CALLS SEED).
# Ends with "N passed, N failed" and the time it took.
set -eu
VM_DIR=$(cd "$(dirname "$0")" && pwd)
. "$VM_DIR/common.sh"

FUZZ=${DMX_GATE_FUZZ:-100000}
TORTURE=${DMX_GATE_TORTURE:-30}
SEED=${DMX_GATE_SEED:-1}
STRIDE=${DMX_GATE_STRIDE:-4}

start=$(now_ms)
# no_timer_check: on a loaded host the TCG guest can fail the boot-time
# check of the timer interrupt ("IO-APIC + timer doesn't work" panic).
DMX_GUEST_ARGS="${DMX_GUEST_ARGS:-} no_timer_check dmx.fuzz=$FUZZ dmx.fuzz_seed=$SEED dmx.torture=$TORTURE dmx.faults_stride=$STRIDE"
export DMX_GUEST_ARGS
rc=0
sh "$VM_DIR/run.sh" --kernel debug --filter "$DMX_GATE_TESTS" --test-timeout $((FUZZ / 25 + 900)) \
	--timeout $((FUZZ / 25 + 9000)) || rc=$?
echo "# debug-kernel gate: $(elapsed "$start") s"
exit $rc
