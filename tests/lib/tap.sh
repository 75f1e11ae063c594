# TAP helpers for the shell tests (sourced; POSIX sh for busybox ash).
#
#   . "${DMX_TESTLIB:-/tests/lib}/tap.sh"
#   use_dmx || die "cannot load dmx"
#   check "dmsetup_version_works" dmsetup version
#   tap_done
#
# Output is TAP: "ok N - name", "not ok N - name", "ok N - name # SKIP why",
# "# diagnostics".  tap_done prints the plan (unless tap_plan did) and exits
# non-zero if anything failed.  In the VM, DMX_KO names dmx.ko and
# DMX_IMPL=stock (dmx.stock=1 on the kernel command line) makes use_dmx load
# the stock dm-mod instead, to check the tests against the reference.
#
# A script that sets TAP_TEARDOWN to a command has it run after every
# check, expect_fail and timed_check, whatever the outcome, to undo what
# the test left behind (devices, mounts), so that the next test starts
# from the same state; a teardown that fails fails its test.
#
# ramdisks, wait_gone, is_stock and wait_in_io are the C tests' own
# helpers (tests/c/dmx_test.h), through the dmxt tool (tests/lib/dmxt.c).

DMX_KO=${DMX_KO:-/lib/modules/dmx.ko}
DMX_IMPL=${DMX_IMPL:-dmx}
export DM_DISABLE_UDEV=1

TAP_COUNT=0   # tests reported so far
TAP_FAILED=0  # of which failed
TAP_PLANNED=  # set by tap_plan
TAP_TEARDOWN= # run after each test, see above

# --- reporting ---------------------------------------------------------

tap_plan() {
	TAP_PLANNED=$1
	echo "1..$1"
}

ok() {
	TAP_COUNT=$((TAP_COUNT + 1))
	echo "ok $TAP_COUNT - $*"
}

not_ok() {
	TAP_COUNT=$((TAP_COUNT + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_COUNT - $*"
}

# skip NAME REASON
skip() {
	TAP_COUNT=$((TAP_COUNT + 1))
	echo "ok $TAP_COUNT - $1 # SKIP ${2:-}"
}

# diag TEXT...: each line of TEXT as a TAP comment.
diag() {
	printf '%s\n' "$*" | sed 's/^/# /'
}

# tap_teardown: run TAP_TEARDOWN, if set; false (with its output in
# _tout) if it fails.
tap_teardown() {
	_tout=
	[ -n "$TAP_TEARDOWN" ] || return 0
	_tout=$($TAP_TEARDOWN 2>&1) && return 0
	_tout="teardown ($TAP_TEARDOWN) failed: $_tout"
	return 1
}

# tap_report NAME PASSED WHAT: the TAP line of test NAME (PASSED is 0 or
# 1), with WHAT, its output (_out) and a failed teardown as diagnostics
# when it fails.
tap_report() {
	if [ "$2" = 1 ]; then
		ok "$1"
		return
	fi
	not_ok "$1"
	[ -z "$3" ] || diag "$3"
	[ -z "$_out" ] || diag "$(printf '%s\n' "$_out" | tail -n 20)"
	[ -z "$_tout" ] || diag "$(printf '%s\n' "$_tout" | tail -n 20)"
}

# check NAME CMD...: ok if CMD succeeds (and the teardown after it);
# its output becomes diagnostics when it fails.
check() {
	_name=$1
	shift
	_pass=1
	_why=
	_out=$("$@" 2>&1)
	_rc=$?
	if [ $_rc -ne 0 ]; then
		_why="\$ $* (exit $_rc)"
		_pass=0
	fi
	tap_teardown || _pass=0
	tap_report "$_name" $_pass "$_why"
}

# check_each NAME...: check NAME NAME for each NAME: every test a function
# of its own name.
check_each() {
	for _t in "$@"; do
		check "$_t" "$_t"
	done
}

# expect_fail NAME CMD...: ok if CMD fails (and the teardown after it
# succeeds).
expect_fail() {
	_name=$1
	shift
	_pass=0
	_why="\$ $* succeeded but should have failed"
	if ! _out=$("$@" 2>&1); then
		_pass=1
		_why=
	fi
	tap_teardown || _pass=0
	tap_report "$_name" $_pass "$_why"
}

# tap_done: plan (if not given up front) and exit status.
tap_done() {
	[ -n "$TAP_PLANNED" ] || echo "1..$TAP_COUNT"
	if [ -n "$TAP_PLANNED" ] && [ "$TAP_PLANNED" -ne "$TAP_COUNT" ]; then
		diag "planned $TAP_PLANNED tests but ran $TAP_COUNT"
		exit 1
	fi
	exit $((TAP_FAILED > 0))
}

# die MESSAGE: a setup step failed; report it and stop the script.
die() {
	not_ok "$*"
	[ -n "$TAP_PLANNED" ] || echo "1..$TAP_COUNT"
	exit 1
}

# --- kernel log --------------------------------------------------------

# dmesg_mark: put a marker in the kernel log; dmesg_since prints what came
# after it.  Unlike counting lines, this stays right when the ring buffer
# has dropped old messages.  (init turns off /dev/kmsg rate limiting.)
TAP_MARKS=0
dmesg_mark() {
	TAP_MARKS=$((TAP_MARKS + 1))
	# check runs tests in $(...) subshells, which forget the count: the
	# uptime keeps their marks apart.
	read -r _uptime _ </proc/uptime
	TAP_MARK="dmx-test: mark $$.$TAP_MARKS.$_uptime"
	echo "<5>$TAP_MARK" >/dev/kmsg
}

dmesg_since() {
	dmesg | sed -n "/$TAP_MARK\$/,\$p" | sed 1d
}

# --- kernel ------------------------------------------------------------

# kernel_series: X.Y of the running kernel (6.1, 6.12).  dmx answers as the
# kernel's own dm does, and a few answers changed between the two.
kernel_series() {
	uname -r | cut -d. -f1,2
}

# --- modules -----------------------------------------------------------

# module_loaded NAME: true if NAME (dashes or underscores) is loaded.
module_loaded() {
	grep -q "^$(echo "$1" | tr - _) " /proc/modules
}

# unload_modules NAME...: rmmod those of NAME... that are loaded, in order.
unload_modules() {
	for _m in "$@"; do
		if module_loaded "$_m"; then
			rmmod "$_m" || return 1
		fi
	done
}

# dm_major: the block major of the loaded device-mapper.
dm_major() {
	sed -n '/^Block devices:/,$p' /proc/devices |
		awk '$2 == "device-mapper" { print $1; exit }'
}

# use_dmx: make dmx the loaded device-mapper (stock dm-mod if DMX_IMPL=stock).
use_dmx() {
	if [ "$DMX_IMPL" = stock ]; then
		use_stock_dm
		return
	fi
	module_loaded dmx && return 0
	unload_modules dm_thin_pool dm_persistent_data dm_bio_prison || return 1
	unload_modules dm_mirror dm_region_hash dm_log || return 1
	unload_modules dm_crypt dm_snapshot dm_zero dm_bufio dm_flakey \
		dm_delay dm_dust dm_mod || return 1
	insmod "$DMX_KO"
}

# use_stock_dm: make the stock dm-mod (with snapshot, zero, crypt, flakey,
# delay and, where the kernel has it, dust) the loaded one.
use_stock_dm() {
	unload_modules dmx || return 1
	modprobe dm-mod && modprobe dm-snapshot && modprobe dm-zero &&
		modprobe dm-crypt && modprobe dm-flakey && modprobe dm-delay &&
		modprobe dm-thin-pool && modprobe dm-mirror || return 1
	modprobe dm-dust 2>/dev/null || :
}

# unload_dm: unload whichever device-mapper is loaded, dmx or stock.
unload_dm() {
	unload_modules dmx dm_thin_pool dm_persistent_data dm_bio_prison \
		dm_mirror dm_region_hash dm_log dm_crypt dm_snapshot dm_zero dm_bufio dm_flakey dm_delay \
		dm_dust dm_mod
}

# --- shared with the C tests (dmxt) -------------------------------------

# ramdisks N SIZE_MB: /dev/ram0 .. /dev/ram(N-1) of SIZE_MB each, zeroed
# (brd loaded afresh); kept as they are if brd is in use with that
# geometry already.
ramdisks() {
	dmxt ramdisks "$1" "$2"
}

# wait_gone NAME: true once no mapped device is called NAME, for removals
# that happen in the kernel's own time (deferred removal on last close);
# false, saying so on stderr, if NAME is still there after 10 s.
wait_gone() {
	dmxt wait-gone "$1"
}

# is_stock: true if the loaded device-mapper is the stock dm-mod (the
# reference run), not dmx.
is_stock() {
	dmxt is-stock
}

# wait_in_io PID: true once process PID sleeps waiting for I/O (state D):
# its I/O was issued and has not completed.  False, saying so on
# stderr, if PID ends first or 10 s pass.
wait_in_io() {
	dmxt wait-in-io "$1"
}

# expected_targets: the target types the device-mapper must register, one
# "NAME vX.Y.Z" a line (tests/c/dmx_targets.h).
expected_targets() {
	dmxt targets
}
