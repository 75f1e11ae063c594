#!/bin/sh
# dmx-test: timeout=3600
# Fault injection (needs the debug kernel's failslab and
# fail_make_request; skipped elsewhere):
#  1. every control-plane command (tests/faultinj/failwalk.c: create,
#     load of each target type, snapshot set-up, resume, rename,
#     message, remove, list, status...) with each of its slab
#     allocations failed in turn: it ends in success or an errno, and
#     the device is left usable or absent, and removable;
#  2. I/O with failslab on the submitting task (probability, task
#     filter, GFP_KERNEL included) on linear, striped over three
#     flushing devices, an origin with two snapshots, and writes to a
#     snapshot itself: verified I/O ends in success or EIO, nothing
#     hangs, the snapshots keep their contents;
#  3. fail_make_request on the devices under each target: the errors
#     reach the caller (or invalidate the snapshot whose COW fails),
#     nothing hangs.
# Stacks of injected failures (failslab verbose=2) go to the kernel
# log with the console quiet; they are collected from /dev/kmsg as they
# come, the first dmx frame of each counted as an allocation site, and
# anything else the kernel reports meanwhile fails the test and is
# logged again for the runner.  Then kmemleak must find nothing of
# ours, and dmx must unload.
#
# Settings: dmx.faults_walks=NAME[,NAME] (default every walk),
# dmx.faults_stride=K (fail every K-th allocation only, default 1),
# dmx.faults_io=OPS (verified I/O operations per target, default 1500).
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/../fuzz/stress-lib.sh"

FS=/sys/kernel/debug/failslab
FMR=/sys/kernel/debug/fail_make_request
WALKS=$(guest_arg faults_walks "" | tr , ' ')
IO_OPS=$(guest_arg faults_io 1500)
STRIDE=$(guest_arg faults_stride 1)
KMSG=$STRESS_TMP/kmsg

if [ "$DMX_IMPL" = stock ] || ! debug_kernel || [ ! -d $FMR ]; then
	skip "fault_injection" "needs dmx on a kernel with failslab and fail_make_request"
	tap_done
fi
use_dmx || die "cannot load dmx"

# --- the knobs ---------------------------------------------------------

# knob FILE VALUE
knob() { echo "$2" >"$1"; }

failslab_defaults() {
	knob $FS/probability 0
	knob $FS/interval 1
	knob $FS/times -1
	knob $FS/space 0
	knob $FS/task-filter N
	knob $FS/ignore-gfp-wait N
	knob $FS/verbose 2
	knob $FS/verbose_ratelimit_interval_ms 0
	knob $FMR/probability 0
	knob $FMR/verbose 0
	knob $FMR/times -1
}

CONSOLE_LEVEL=$(awk '{ print $1 }' /proc/sys/kernel/printk)

# quiet_start: the console stops printing (one stack per injected
# failure would swamp it) and kmsg-tee collects the log instead.
quiet_start() {
	"$STRESS_TOOLS/kmsg-tee" "$KMSG" &
	KMSG_PID=$!
	echo 1 >/proc/sys/kernel/printk
}

quiet_stop() {
	echo "$CONSOLE_LEVEL" >/proc/sys/kernel/printk
	kill -TERM $KMSG_PID
	wait $KMSG_PID
}

# --- 1. control plane ------------------------------------------------------

walks() {
	# shellcheck disable=SC2086 # one word per walk
	# Two workers, each with four ramdisks of its own.
	"$STRESS_TOOLS/failwalk" -k "$STRIDE" $(for i in 0 1 2 3 4 5 6 7; do
		printf ' -d /dev/ram%d' $i; done) $WALKS 2>&1 | tee "$STRESS_TMP/walks"
	sed -n 's/^# walk \([^:]*\): .*; \([0-9]*\) violation(s)$/\1 \2/p' \
		"$STRESS_TMP/walks" >"$STRESS_TMP/walks.sum"
	while read -r name n; do
		if [ "$n" -eq 0 ]; then
			ok "failslab_walk_${name}_ends_cleanly"
		else
			not_ok "failslab_walk_${name}_ends_cleanly"
		fi
	done <"$STRESS_TMP/walks.sum"
	grep -q '^# failwalk: 0 walk(s)' "$STRESS_TMP/walks"
}

# --- 2 and 3. the I/O path ---------------------------------------------

SECTORS=65536	# 32 MiB per device

# zero_head DEV: a blank start, as LVM gives a new COW device.
zero_head() { dd if=/dev/zero of="$1" bs=64k count=1 oflag=direct 2>/dev/null; }

make_targets() {
	LOOPS=$(make_loops 3 32) || return 1
	STRESS_LOOPS=$(echo $LOOPS)
	set -- $LOOPS
	dmsetup create fi-lin --table "0 $SECTORS linear /dev/ram0 0" &&
		dmsetup create fi-str --table "0 $((3 * SECTORS)) striped 3 128 $1 0 $2 0 $3 0" &&
		zero_head /dev/ram2 && zero_head /dev/ram3 &&
		dd if=/dev/ram1 of="$STRESS_TMP/origin.before" bs=1M count=2 2>/dev/null &&
		dmsetup create fi-s1 --table "0 $SECTORS snapshot /dev/ram1 /dev/ram2 P 8" &&
		dmsetup create fi-s2 --table "0 $SECTORS snapshot /dev/ram1 /dev/ram3 N 16" &&
		dmsetup create fi-org --table "0 $SECTORS snapshot-origin /dev/ram1"
}

remove_targets() {
	for d in fi-sw fi-org fi-s1 fi-s2 fi-str fi-lin; do
		dmsetup remove "$d" 2>/dev/null
	done
	release_base_devices
}

# ioload NAME DEV ARGS...: verified I/O, which must end within limits.
ioload() {
	_name=$1
	_dev=$2
	shift 2
	_out=$(timeout 900 "$STRESS_TOOLS/ioload" -n "$IO_OPS" -b 256 -f 16 "$@" "$_dev" 2>&1)
	_rc=$?
	if [ $_rc -eq 0 ]; then ok "$_name"; else not_ok "$_name"; fi
	case $_rc in 124 | 137 | 143) diag "ioload on $_dev did not finish in 900 s: a hang" ;; esac
	diag "$_out"
	IO_EIO=$(echo "$_out" | sed -n 's/.*: \([0-9]*\) EIO,.*/\1/p' | tail -n 1)
}

# snapshot_kept NAME SNAP: SNAP still reads as the origin was at its start.
snapshot_kept() {
	dd if="/dev/mapper/$2" of="$STRESS_TMP/snap.now" bs=1M count=2 iflag=direct 2>/dev/null &&
		check "$1" cmp "$STRESS_TMP/origin.before" "$STRESS_TMP/snap.now"
}

# failslab_on: one in five slab allocations of the tasks marked by
# ioload -F fails, GFP_KERNEL ones too.
failslab_on() {
	knob $FS/task-filter Y
	knob $FS/times 1000000
	knob $FS/probability 20
}

# failslab_off: no more failures; the ones made are added to FAILED_IO
# (silent ones too: mempools try the slab first with __GFP_NOWARN).
failslab_off() {
	knob $FS/probability 0
	knob $FS/task-filter N
	FAILED_IO=$((${FAILED_IO:-0} + 1000000 - $(cat $FS/times)))
	knob $FS/times -1
}

failslab_io() {
	failslab_on
	ioload failslab_on_linear_io_ends_in_success_or_eio /dev/mapper/fi-lin -F
	ioload failslab_on_striped_io_with_flushes_ends_in_success_or_eio /dev/mapper/fi-str -F -f 4
	ioload failslab_on_origin_io_ends_in_success_or_eio /dev/mapper/fi-org -F
	failslab_off
	snapshot_kept persistent_snapshot_keeps_origin_data_through_failslab fi-s1
	snapshot_kept transient_snapshot_keeps_origin_data_through_failslab fi-s2
	failslab_snapshot_writes 8 ram5 ram4
	failslab_snapshot_writes 16 ram7 ram6
}

# failslab_snapshot_writes CHUNK ORIGIN COW: verified I/O written to a
# persistent snapshot itself, with failslab on: 4 KiB writes cover an
# 8-sector chunk (the write is the copy), and need a copy of a
# 16-sector one; each first write of a chunk makes its exception in the
# map call, or in the worker if memory is short.
failslab_snapshot_writes() {
	zero_head "/dev/$3"
	if ! dmsetup create fi-sw --table "0 $SECTORS snapshot /dev/$2 /dev/$3 P $1"; then
		not_ok "failslab_on_snapshot_writes_c${1}_ends_in_success_or_eio"
		return
	fi
	failslab_on
	ioload "failslab_on_snapshot_writes_c${1}_ends_in_success_or_eio" /dev/mapper/fi-sw -F
	failslab_off
	dmsetup remove fi-sw
}

# fail_below NAME DEV DISK: fail_make_request on DISK while ioload runs
# on DEV; the errors must reach the caller.
fail_below() {
	ioload "$1" "$2" -e "/sys/block/$3/make-it-fail" -z "/sys/block/$3/make-it-fail"
	if [ "${IO_EIO:-0}" -gt 0 ]; then
		ok "${1}_sees_eio"
	else
		not_ok "${1}_sees_eio"
	fi
}

fail_make_request_io() {
	knob $FMR/probability 10
	knob $FMR/interval 1
	knob $FMR/times 1000000
	fail_below fail_make_request_under_linear /dev/mapper/fi-lin ram0
	fail_below fail_make_request_under_one_stripe /dev/mapper/fi-str "$(basename "$(echo $LOOPS | cut -d' ' -f2)")"
	fail_below fail_make_request_under_origin /dev/mapper/fi-org ram1

	# A failing COW store invalidates its snapshot; the origin goes on.
	# (Blocks from 8 MiB on: chunks no write has copied yet.)
	knob /sys/block/ram2/make-it-fail 1
	ioload fail_make_request_on_cow_leaves_origin_io_clean /dev/mapper/fi-org -o 2048
	knob /sys/block/ram2/make-it-fail 0
	check persistent_snapshot_with_failed_cow_is_invalid \
		sh -c 'dmsetup status fi-s1 | grep -q Invalid'
	expect_fail invalid_snapshot_reads_fail \
		dd if=/dev/mapper/fi-s1 of=/dev/null bs=4k count=1 iflag=direct
	INJECTED_IO=$((1000000 - $(cat $FMR/times)))
	knob $FMR/probability 0
	knob $FMR/times -1
}

# --- the log ---------------------------------------------------------------

# scan_log: "site FRAME" for each failslab stack with a dmx frame (the
# first reliable one), "trouble LINE" for each report outside the
# stacks of injected failures and of allocation failure warnings.  A
# stack (Call Trace: to </TASK>) is an injected failure's if it passes
# through should_fail*(), an allocation warning's if through
# warn_alloc() or kmem_cache_create_usercopy() (a slab cache that could
# not be made, e.g. by bioset_init() in a table load, prints its stack);
# any other stack, and any report line outside a stack, is trouble.  Two walkers may fail allocations at once and their
# stacks interleave: then they read as one stack, still a failure's.
scan_log() {
	awk -v trouble="$STRESS_TROUBLE" '
		function end_block() {
			if (fault) {
				if (slab)
					print "site", site == "" ? "(none)" : site
			} else if (!alloc) {
				print "trouble", first
				printf "%s", block
			}
			inblock = 0
		}
		{ sub(/^\[ *[0-9.]+\] /, "") }
		/Call Trace:/ && !inblock {
			inblock = 1; fault = 0; slab = 0; alloc = 0; site = ""
			first = prev; block = "stack " prev "\nstack " $0 "\n"; next }
		inblock {
			block = block "stack " $0 "\n"
			if ($0 ~ /should_fail/) fault = 1
			if ($0 ~ /should_failslab/) slab = 1
			if ($0 ~ /warn_alloc|kmem_cache_create_usercopy/) alloc = 1
			if (site == "" && $0 ~ /\[dmx\]/ && $1 != "?") {
				site = $1; sub(/\/0x[0-9a-f]+$/, "", site)
			}
			if ($0 ~ /<\/TASK>/) end_block()
			next }
		/FAULT_INJECTION: forcing a failure|^name [a-z_]+, interval/ { next }
		/page allocation failure:|vmalloc error:|kmemleak: Cannot allocate/ { next }
		$0 ~ trouble { print "trouble", $0 }
		{ prev = $0 }
		END { if (inblock) end_block() }
	' "$KMSG"
}

check_log() {
	scan_log >"$STRESS_TMP/scan"
	_sites=$(awk '$1 == "site" && $2 != "(none)" { print $2 }' "$STRESS_TMP/scan" | sort -u | wc -l)
	_faults=$(grep -c '^site ' "$STRESS_TMP/scan")
	diag "$_faults injected failures printed a stack; $_sites distinct allocation sites in dmx:"
	awk '$1 == "site" { print $2 }' "$STRESS_TMP/scan" | sort | uniq -c | sort -rn |
		awk '{ printf "#   %6d %s\n", $1, $2 }'
	diag "slab allocations failed in walks: $(sed -n 's/^# walk [^:]*: \([0-9]*\) allocations.*/\1/p' "$STRESS_TMP/walks" | awk '{ n += $1 } END { print n + 0 }'), on the I/O path: ${FAILED_IO:-0}"
	diag "I/O errors injected by fail_make_request: ${INJECTED_IO:-0}"
	grep '^kmsg-tee:' "$KMSG" | sed 's/^/# /'
	if grep -q '^trouble ' "$STRESS_TMP/scan"; then
		not_ok kernel_log_clean_during_fault_injection
		diag "the reports (a stack: the line before it, then the stack):"
		grep '^trouble \|^stack ' "$STRESS_TMP/scan" | head -n 200 | sed 's/^/# /'
		# The console did not show it: make sure the runner sees it.
		grep '^trouble ' "$STRESS_TMP/scan" | head -n 5 |
			while IFS= read -r _l; do echo "<3>dmx-faults: ${_l#trouble }" >/dev/kmsg; done
	else
		ok kernel_log_clean_during_fault_injection
	fi
	# The stacks of injected failures are not reports: drop them.
	dmesg -c >/dev/null
}

# Linux 6.1's sysfs_slab_add() does not put the kobject whose
# kobject_init_and_add() failed, so a failed kmem_cache_create() (from
# bioset_init() in a table load) leaks the cache's name: the kernel's
# bug, not ours.
KERNEL_LEAK='sysfs_slab_add'

check_kmemleak() {
	_f=/sys/kernel/debug/kmemleak
	if [ ! -w $_f ]; then
		skip kmemleak_finds_no_dmx_leak "no kmemleak"
		return
	fi
	if ! echo scan >$_f 2>/dev/null; then
		not_ok kmemleak_finds_no_dmx_leak
		diag "kmemleak is off (it may have run out of its own memory)"
		return
	fi
	echo scan >$_f
	awk -v known="$KERNEL_LEAK" '
		function done() { if (rec ~ /\[dmx\]/) print (rec ~ known ? "kernel" : "dmx") }
		/^unreferenced object/ { done(); rec = "" }
		{ rec = rec $0 "\n" }
		END { done() }' $_f >"$STRESS_TMP/leaks"
	_ours=$(grep -c '^dmx' "$STRESS_TMP/leaks")
	_kernel=$(grep -c '^kernel' "$STRESS_TMP/leaks")
	if [ "$_ours" -eq 0 ]; then
		ok kmemleak_finds_no_dmx_leak
		if [ "$_kernel" -gt 0 ]; then
			diag "$_kernel leak(s) of the kernel's own error path ($KERNEL_LEAK), forgotten"
			echo clear >$_f
		fi
	else
		not_ok kmemleak_finds_no_dmx_leak
		diag "$_ours leak(s) through dmx (and $_kernel of the kernel's); see the kernel log"
	fi
}

# --- main --------------------------------------------------------------------

failslab_defaults
ramdisks 8 32 || die "no ramdisks"
dmesg_mark
quiet_start
if walks; then ok failslab_walks_end_cleanly; else not_ok failslab_walks_end_cleanly; fi
if make_targets; then
	failslab_io
	fail_make_request_io
else
	not_ok "fault_injection_targets_set_up"
fi
knob $FS/probability 0
knob $FS/verbose 0
quiet_stop
remove_targets
check_log
check_kmemleak
check_unload dmx_unloads_after_fault_injection
tap_done
