#!/bin/sh
# dmx-test: timeout=600
# Differential test: every scenario of tests/diff/*.sh runs against the
# stock dm-mod, then against dmx, in this one boot; the transcripts (each
# command with its stdout, stderr and exit status) are normalised by
# diff_normalise (tests/lib/diff.sh, which says why each rule is there)
# and must be identical.  One TAP line per scenario, diff_<scenario>; a
# failing one carries the unified diff, stock (-) against dmx (+).
#
# Each scenario starts on fresh ramdisks and without devices.  Kernel log
# lines are not compared.  Leaves dmx loaded with no devices.
#
# No `set -e`: a failing scenario is reported and the next one still runs.
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/diff.sh"

# The scenarios: /tests/diff in the guest, tests/diff in the repository.
DIFF_DIR=${DMX_DIFFDIR:-${DMX_TESTLIB:-/tests/lib}/../diff}

if is_stock; then
	# use_dmx would load dm-mod too: there is nothing to compare.
	skip differential "reference run on stock dm-mod: nothing to compare with"
	tap_done
fi

DIFF_SCENARIOS=$(ls "$DIFF_DIR"/*.sh 2>/dev/null)
[ -n "$DIFF_SCENARIOS" ] ||
	die "no scenarios in $DIFF_DIR (tests/diff/*.sh must be in the initramfs)"

rm -rf "$DIFF_TMP"
mkdir -p "$DIFF_TMP"

# bail MESSAGE: a setup step failed; leave dmx loaded for the tests that
# follow, report and stop.
bail() {
	dmsetup remove_all >/dev/null 2>&1
	unload_dm >/dev/null 2>&1
	use_dmx >/dev/null 2>&1
	die "$*"
}

# elapsed_since START: whole seconds since START (date +%s).
elapsed_since() { echo $(($(date +%s) - $1)); }

dmsetup remove_all >/dev/null 2>&1
use_stock_dm || bail "cannot load the stock dm-mod"
start=$(date +%s)
diff_run_all stock || bail "cannot set up the ram disks"
stock_time=$(elapsed_since "$start")

dmsetup remove_all >/dev/null 2>&1
unload_dm || bail "cannot unload the stock dm-mod"
use_dmx || bail "cannot load dmx"
start=$(date +%s)
diff_run_all dmx || bail "cannot set up the ram disks"
dmx_time=$(elapsed_since "$start")

diag "scenarios took ${stock_time}s on dm-mod, ${dmx_time}s on dmx"
for s in $DIFF_SCENARIOS; do
	n=${s##*/}
	n=${n%.sh}
	if cmp -s "$DIFF_TMP/stock.n/$n" "$DIFF_TMP/dmx.n/$n"; then
		ok "diff_$n"
	else
		not_ok "diff_$n"
		diag "$(diff -u -L "dm-mod/$n" -L "dmx/$n" \
			"$DIFF_TMP/stock.n/$n" "$DIFF_TMP/dmx.n/$n")"
	fi
done

dmsetup remove_all >/dev/null 2>&1
tap_done
