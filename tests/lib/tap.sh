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

DMX_KO=${DMX_KO:-/lib/modules/dmx.ko}
DMX_IMPL=${DMX_IMPL:-dmx}
export DM_DISABLE_UDEV=1

TAP_COUNT=0   # tests reported so far
TAP_FAILED=0  # of which failed
TAP_PLANNED=  # set by tap_plan

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

# check NAME CMD...: ok if CMD succeeds; its output becomes diagnostics
# when it fails.
check() {
	_name=$1
	shift
	if _out=$("$@" 2>&1); then
		ok "$_name"
	else
		_rc=$?
		not_ok "$_name"
		diag "\$ $* (exit $_rc)"
		[ -z "$_out" ] || diag "$(printf '%s\n' "$_out" | tail -n 20)"
	fi
}

# expect_fail NAME CMD...: ok if CMD fails.
expect_fail() {
	_name=$1
	shift
	if _out=$("$@" 2>&1); then
		not_ok "$_name"
		diag "\$ $* succeeded but should have failed"
		[ -z "$_out" ] || diag "$(printf '%s\n' "$_out" | tail -n 20)"
	else
		ok "$_name"
	fi
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
	TAP_MARK="dmx-test: mark $$.$TAP_MARKS"
	echo "<5>$TAP_MARK" >/dev/kmsg
}

dmesg_since() {
	dmesg | sed -n "/$TAP_MARK\$/,\$p" | sed 1d
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

# use_dmx: make dmx the loaded device-mapper (stock dm-mod if DMX_IMPL=stock).
use_dmx() {
	if [ "$DMX_IMPL" = stock ]; then
		use_stock_dm
		return
	fi
	module_loaded dmx && return 0
	unload_modules dm_thin_pool dm_persistent_data dm_bio_prison || return 1
	unload_modules dm_snapshot dm_zero dm_bufio dm_mod || return 1
	insmod "$DMX_KO"
}

# use_stock_dm: make the stock dm-mod (with snapshot and zero) the loaded one.
use_stock_dm() {
	unload_modules dmx || return 1
	modprobe dm-mod && modprobe dm-snapshot && modprobe dm-zero &&
		modprobe dm-thin-pool
}

# unload_dm: unload whichever device-mapper is loaded, dmx or stock.
unload_dm() {
	unload_modules dmx dm_thin_pool dm_persistent_data dm_bio_prison \
		dm_snapshot dm_zero dm_bufio dm_mod
}

# ramdisks N SIZE_MB: /dev/ram0 .. /dev/ram(N-1) of SIZE_MB each, fresh
# (zeroed) unless brd is in use with the same geometry already.
ramdisks() {
	_kb=$(($2 * 1024))
	if module_loaded brd && ! rmmod brd 2>/dev/null; then
		[ "$(cat /sys/module/brd/parameters/rd_nr)" = "$1" ] &&
			[ "$(cat /sys/module/brd/parameters/rd_size)" = "$_kb" ] && return 0
		echo "ramdisks: brd is in use with another geometry" >&2
		return 1
	fi
	modprobe brd rd_nr="$1" rd_size="$_kb" || return 1
	[ -b "/dev/ram$(($1 - 1))" ]
}
