#!/bin/sh
# Boot the test VM and report its results.
#
# Usage: sh tests/vm/run.sh [--mode check|demo|bench|shell] [--filter GLOB[,GLOB]]
#                           [--skip GLOB[,GLOB]]
#                           [--timeout SECS] [--test-timeout SECS] [--stock]
#                           [--kernel 6.1|6.12|debug]
#
#   --mode check    run every test in the guest (default); TAP on stdout
#   --mode demo     run tests/demo/demo.sh with the console live on the terminal
#   --mode bench    run tests/bench/bench.sh; its output is echoed like TAP
#   --mode shell    interactive guest shell on the terminal (debugging)
#   --filter        run only tests whose file name matches (without .sh too)
#   --skip          leave out the tests whose file name matches
#   --timeout       hard limit for the whole VM (default 5400 s, bench 3600 s)
#   --test-timeout  per-test limit inside the guest (default 120 s)
#   --stock         load the stock dm-mod instead of dmx.ko: checks the tests
#                   themselves against the reference implementation
#   --kernel        the guest kernel (tests/vm/kernel.sh): 6.1, Debian 12's
#                   (default); 6.12, the series of Debian 13, from
#                   bookworm-backports; debug, the debug kernel (KASAN,
#                   lockdep, kmemleak; built once by tests/vm/debug-kernel.sh)
#   DMX_GUEST_ARGS  (environment) more words for the guest's command line:
#                   settings of the tests, e.g. dmx.fuzz=100000
#
# dmx.ko is built for the guest kernel from the tree's sources, in
# ${DMX_BUILD:-tests/build}/module/<abi>/ (tests/vm/module.sh), unless
# DMX_KO names one.  Logs land in ${DMX_BUILD:-tests/build}/vm/ (vm-6.12/ on
# 6.12): console.log (ttyS0, the kernel log) and results.log (ttyS1: TAP, a
# dmesg dump, "# vm-done").  The last line printed is "N passed, N
# failed[, N skipped]"; exit status 0 iff no test failed, the kernel log is
# clean and the VM finished.
set -eu
VM_DIR=$(cd "$(dirname "$0")" && pwd)
. "$VM_DIR/common.sh"

MODE=check
FILTER=
SKIP=
TIMEOUT=
TEST_TIMEOUT=
STOCK=

usage() {
	sed -n '3,24s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

parse_args() {
	while [ $# -gt 0 ]; do
		case $1 in
		--mode) MODE=$2; shift ;;
		--filter) FILTER=$2; shift ;;
		--skip) SKIP=$2; shift ;;
		--timeout) TIMEOUT=$2; shift ;;
		--test-timeout) TEST_TIMEOUT=$2; shift ;;
		--stock) STOCK=1 ;;
		--kernel) DMX_KERNEL=$2; export DMX_KERNEL; shift ;;
		-h | --help) usage ;;
		*) msg "unknown argument: $1"; usage ;;
		esac
		shift
	done
	case $MODE in
	check | demo | shell) : "${TIMEOUT:=5400}" ;;
	bench)
		: "${TIMEOUT:=3600}"
		# Figures of a kernel as shipped: no slab debugging.
		VM_SLUB_DEBUG=${VM_SLUB_DEBUG-}
		;;
	*) msg "unknown mode: $MODE"; usage ;;
	esac
	# The debug kernel's KASAN checks every slab access, with red zones
	# and a quarantine of freed objects of its own: slub_debug on top
	# adds no check, and would send every allocation down the slow path
	# (it halves the fuzzer's calls per second there).
	if [ "${DMX_KERNEL:-}" = debug ]; then
		VM_SLUB_DEBUG=${VM_SLUB_DEBUG-}
	fi
}

# test_cmdline: the guest's command line for this run, beyond what
# vm_qemu gives every run.
test_cmdline() {
	printf 'dmx.mode=%s' "$MODE"
	[ -z "$FILTER" ] || printf ' dmx.filter=%s' "$FILTER"
	[ -z "$SKIP" ] || printf ' dmx.skip=%s' "$SKIP"
	[ -z "$TEST_TIMEOUT" ] || printf ' dmx.timeout=%s' "$TEST_TIMEOUT"
	[ -z "$STOCK" ] || printf ' dmx.stock=1'
	# Settings for the tests themselves, e.g. dmx.fuzz=100000.
	[ -z "${DMX_GUEST_ARGS:-}" ] || printf ' %s' "$DMX_GUEST_ARGS"
}

# boot: run the VM; the console goes to console.log (and to the terminal in
# demo and shell modes), the results port to results.log.
boot() {
	rm -f "$CONSOLE" "$RESULTS"
	cmdline=$(test_cmdline)
	case $MODE in
	check | bench)
		(vm_qemu "$TIMEOUT" "$INITRD" "$cmdline" "file:$CONSOLE" "$RESULTS") \
			</dev/null || true
		;;
	demo)
		(vm_qemu "$TIMEOUT" "$INITRD" "$cmdline" stdio "$RESULTS") |
			tee "$CONSOLE" || true
		;;
	shell)
		(vm_qemu 0 "$INITRD" "$cmdline" mon:stdio "$RESULTS") || true
		;;
	esac
}

# split_results: results.log into tap.txt and dmesg.txt (no \r).
split_results() {
	touch "$RESULTS"
	tr -d '\r' <"$RESULTS" | awk -v tap="$OUT/tap.txt" -v dm="$OUT/dmesg.txt" '
		/^# dmesg-begin$/ { in_dmesg = 1; next }
		/^# dmesg-end$/   { in_dmesg = 0; next }
		{ print > (in_dmesg ? dm : tap) }
		END { printf "" > tap; printf "" > dm }'
}

# count PATTERN FILE: number of lines matching the extended regex.
count() { grep -acE "$1" "$2" || true; }

# failing_lines: each "not ok" line, prefixed with its test program.
failing_lines() {
	awk '/^# test: / { prog = $3 ": " } /^not ok/ { print "  " prog $0 }' "$OUT/tap.txt"
}

report() {
	echo "# ---- guest TAP ($RESULTS) ----"
	cat "$OUT/tap.txt"
	echo "# ---- summary ----"
	passed=$(count '^ok ' "$OUT/tap.txt")
	skipped=$(count '^ok .*# [Ss][Kk][Ii][Pp]' "$OUT/tap.txt")
	passed=$((passed - skipped))
	failed=$(count '^not ok' "$OUT/tap.txt")
	[ "$failed" -eq 0 ] || { echo "# failing:"; failing_lines; }

	if kernel_trouble "$CONSOLE" || kernel_trouble "$OUT/dmesg.txt"; then
		echo "not ok - kernel log clean"
		failed=$((failed + 1))
	else
		echo "ok - kernel log clean"
		passed=$((passed + 1))
	fi

	if [ "$MODE" = check ] && ! grep -aq '^# test: ' "$OUT/tap.txt"; then
		echo "not ok - tests ran (none found, or --filter matched none)"
		failed=$((failed + 1))
	fi

	if ! grep -aq '^# vm-done$' "$OUT/tap.txt"; then
		last=$(sed -n 's/^# test: //p' "$OUT/tap.txt" | tail -n 1)
		echo "not ok - vm finished (hang, panic or ${TIMEOUT}s timeout; last test: ${last:-none})"
		echo "# last console lines ($CONSOLE):"
		tr -d '\r' <"$CONSOLE" 2>/dev/null | tail -n 40 | sed 's/^/#   /'
		failed=$((failed + 1))
	fi

	echo "# initramfs ${BUILD_TIME}s, vm ${VM_TIME}s; logs in $OUT"
	summary="$passed passed, $failed failed"
	[ "$skipped" -eq 0 ] || summary="$summary, $skipped skipped"
	echo "$summary"
	[ "$failed" -eq 0 ]
}

main() {
	parse_args "$@"
	OUT=$(vm_out)
	INITRD=$OUT/initramfs.img
	CONSOLE=$OUT/console.log
	RESULTS=$OUT/results.log
	mkdir -p "$OUT"
	eval "$(sh "$VM_DIR/kernel.sh")"
	# KASAN and lockdep under TCG run several times slower.
	[ "$DMX_KERNEL" != debug ] || : "${TEST_TIMEOUT:=900}"

	start=$(now_ms)
	sh "$VM_DIR/initramfs.sh" "$INITRD"
	BUILD_TIME=$(elapsed "$start")

	start=$(now_ms)
	boot
	VM_TIME=$(elapsed "$start")
	[ "$MODE" != shell ] || exit 0

	split_results
	report
}

main "$@"
