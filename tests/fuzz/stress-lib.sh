# Helpers of the stress tests: fuzzing, fault injection, torture
# (sourced after tap.sh; POSIX sh for busybox ash).
#
#   . "${DMX_TESTLIB:-/tests/lib}/tap.sh"
#   . "${DMX_TESTLIB:-/tests/lib}/../fuzz/stress-lib.sh"
#
# Their settings come from the guest's kernel command line, words like
# dmx.fuzz=100000 (tests/vm/run.sh puts $DMX_GUEST_ARGS there), so that
# one initramfs serves the short runs of make check and the long ones
# of make fuzz, make torture and the debug-kernel gate.

STRESS_TOOLS=${STRESS_TOOLS:-${DMX_TESTLIB:-/tests/lib}/../tools}
STRESS_TMP=${STRESS_TMP:-/tmp/stress.$$}
mkdir -p "$STRESS_TMP"

# What counts as a kernel report: the runner's list (tests/vm/run.sh).
STRESS_TROUBLE='dmx-leak: unreferenced object|BUG:|kernel BUG at|WARNING:|Oops|Call Trace|general protection|soft lockup|hung task|blocked for more than|KASAN|UBSAN|[Kk]ernel panic|possible recursive locking|circular locking'

# guest_arg NAME DEFAULT: the value of dmx.NAME= on the kernel command
# line, or DEFAULT.
guest_arg() {
	_val=$2
	for _w in $(cat /proc/cmdline); do
		case $_w in "dmx.$1="*) _val=${_w#*=} ;; esac
	done
	echo "$_val"
}

# debug_kernel: true on a kernel with fault injection in debugfs.
debug_kernel() {
	[ -d /sys/kernel/debug/failslab ]
}

# kernel_reports: kernel reports logged since the last dmesg_mark, with
# some context; empty if none.
kernel_reports() {
	dmesg_since | grep -E -B 2 -A 20 -m 3 "$STRESS_TROUBLE" | head -n 60
}

# check_kernel_log NAME: ok if nothing was reported since dmesg_mark.
check_kernel_log() {
	_rep=$(kernel_reports)
	if [ -z "$_rep" ]; then
		ok "$1"
	else
		not_ok "$1"
		diag "$_rep"
	fi
}

# make_loops N MB: N loop devices over tmpfs files of MB each (they have
# a write cache, so flushes reach them); prints them.  Callers add them
# to STRESS_LOOPS for release_base_devices (a command substitution
# cannot set it for them).
make_loops() {
	modprobe loop 2>/dev/null
	_i=0
	while [ $_i -lt "$1" ]; do
		_f=$STRESS_TMP/loop.$_i.$(date +%s)
		dd if=/dev/zero of="$_f" bs=1M count=0 seek="$2" 2>/dev/null || return 1
		# busybox's losetup has no --show
		_l=$(/usr/sbin/losetup -f --show "$_f") || return 1
		echo "$_l"
		_i=$((_i + 1))
	done
}

# base_devices RAMS LOOPS MB: RAMS ramdisks and LOOPS loop devices of MB
# each.  Prints the devices, data ones first, then as many COW ones: the
# ramdisks and loops are split evenly between the two halves.
base_devices() {
	ramdisks "$1" "$3" || return 1
	STRESS_LOOPS=
	_loops=$(make_loops "$2" "$3") || return 1
	STRESS_LOOPS=$(echo $_loops)
	_r=0
	_half=$(($1 / 2))
	_data= _cow=
	while [ $_r -lt "$1" ]; do
		if [ $_r -lt $_half ]; then _data="$_data /dev/ram$_r"; else _cow="$_cow /dev/ram$_r"; fi
		_r=$((_r + 1))
	done
	_i=0
	for _l in $_loops; do
		if [ $_i -lt $(($2 / 2)) ]; then _data="$_data $_l"; else _cow="$_cow $_l"; fi
		_i=$((_i + 1))
	done
	echo $_data $_cow
}

# release_base_devices: detach the loops base_devices made.
release_base_devices() {
	for _l in ${STRESS_LOOPS:-}; do /usr/sbin/losetup -d "$_l" 2>/dev/null; done
	STRESS_LOOPS=
	rm -f "$STRESS_TMP"/loop.*
}

# dm_device_count: devices the loaded device-mapper has.
dm_device_count() {
	dmsetup ls 2>/dev/null | grep -vc '^No devices found' || true
}

# check_unload NAME: every device gone, then dmx unloads and loads again.
check_unload() {
	_n=$(dm_device_count)
	if [ "$DMX_IMPL" = stock ]; then
		skip "$1" "stock dm-mod"
		return
	fi
	if [ "$_n" -ne 0 ]; then
		not_ok "$1"
		diag "$_n device(s) left:"
		diag "$(dmsetup ls 2>&1)"
		return
	fi
	if _out=$(rmmod dmx 2>&1) && use_dmx; then
		ok "$1"
	else
		not_ok "$1"
		diag "rmmod dmx: $_out"
		use_dmx
	fi
}
