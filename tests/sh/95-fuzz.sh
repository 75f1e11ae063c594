#!/bin/sh
# dmx-test: timeout=900
# The ioctl fuzzer (tests/fuzz) against the loaded device-mapper: random
# and mutated requests, per-target table lines and command sequences on
# a pool of live devices (stacked, snapshotted, suspended, with I/O in
# flight), from several processes at once, then the same from a 32-bit
# build through the compat ioctl path.  Passes if no reply breaks a rule
# of the interface, nothing is reported in the kernel log, every device
# can be removed afterwards and the module unloads.
#
# Settings (kernel command line; tests/vm/run.sh's DMX_GUEST_ARGS):
#   dmx.fuzz=CALLS        calls in all (default 20000): four fifths
#                         from the 64-bit build, one fifth from the 32-bit
#   dmx.fuzz_seed=SEED    default 1, so that make check repeats itself
#   dmx.fuzz_jobs=N       worker processes (default 3)
#   dmx.fuzz_trace=1      print every call before it is made
#   dmx.fuzz_avoid_known=1  stay clear of bugs the core once had (dmx-fuzz -K)
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/../fuzz/stress-lib.sh"

CALLS=$(guest_arg fuzz 20000)
SEED=$(guest_arg fuzz_seed 1)
JOBS=$(guest_arg fuzz_jobs 3)
KNOWN=
[ "$(guest_arg fuzz_avoid_known 0)" = 1 ] && KNOWN=-K
TRACE=
[ "$(guest_arg fuzz_trace 0)" = 1 ] && TRACE=-t

use_dmx || die "cannot load the device-mapper"
DEVS=$(base_devices 4 4 16) || die "cannot set up ramdisks and loop devices"

# fuzz NAME BINARY CALLS: one run; its figures (TAP comments) as it goes.
fuzz() {
	_args="-s $SEED -n $3 -j $JOBS $KNOWN $TRACE"
	for _d in $DEVS; do _args="$_args -d $_d"; done
	dmesg_mark
	# shellcheck disable=SC2086 # one word per argument
	{ "$2" $_args 2>&1; echo "exit $?" >"$STRESS_TMP/rc"; } | tee "$STRESS_TMP/out"
	if [ "$(cat "$STRESS_TMP/rc")" = "exit 0" ]; then
		ok "$1"
	else
		not_ok "$1"
		diag "$(cat "$STRESS_TMP/rc")"
	fi
	check_kernel_log "kernel_log_clean_after_$1"
}

fuzz "fuzz_64bit_breaks_no_rule" "$STRESS_TOOLS/dmx-fuzz" $((CALLS - CALLS / 5))
fuzz "fuzz_32bit_compat_breaks_no_rule" "$STRESS_TOOLS/dmx-fuzz-m32" $((CALLS / 5))

release_base_devices
check_unload "dmx_unloads_after_fuzzing"
tap_done
