#!/bin/sh
# The module itself: it loads, registers the control node and the block
# major, answers dmsetup with its version and every target it has,
# refuses to load beside the stock dm-mod and unloads cleanly.  Every
# test starts, and leaves, with the device-mapper loaded and no devices.
#
# No `set -e`: a failing check is reported and the next one still runs.
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"

CONTROL=/dev/mapper/control

# block_major_registered: /proc/devices lists a block major "device-mapper".
block_major_registered() {
	sed -n '/^Block devices:/,$p' /proc/devices | grep -q ' device-mapper$'
}

# misc_minor_registered: /proc/misc lists minor 236 as "device-mapper".
misc_minor_registered() {
	grep -q '^ *236 device-mapper$' /proc/misc
}

control_node_present() {
	[ -c $CONTROL ] || { echo "$CONTROL is missing"; return 1; }
	# misc major 10, minor 236 (stat prints them in hex)
	node=$(stat -c '%t:%T' $CONTROL)
	[ "$node" = "a:ec" ] || { echo "$CONTROL is $node, want a:ec (10:236)"; return 1; }
	block_major_registered || { echo "no block major device-mapper"; cat /proc/devices; return 1; }
	misc_minor_registered || { echo "no misc 236 device-mapper"; cat /proc/misc; return 1; }
}

# That of the kernel's own dm: 4.47.0 on 6.1, 4.48.0 on 6.12.
driver_version_is_the_kernels() {
	case $(uname -r) in
	6.1.*) want=4.47.0 ;;
	6.12.*) want=4.48.0 ;;
	*) echo "no known dm version for kernel $(uname -r)"; return 1 ;;
	esac
	out=$(dmsetup version) || return 1
	echo "$out"
	echo "$out" | grep -q "^Driver version: *$want\$"
}

# Every target of expected_targets is listed, at its exact version, and
# every line is "name vX.Y.Z".  (The stock dm lists a target once its
# module is loaded; asking for its version by name loads it.)
targets_listed() {
	want=$(expected_targets) || return 1
	if is_stock; then
		echo "$want" | while read -r t v; do
			dmsetup target-version "$t" >/dev/null
		done
	fi
	out=$(dmsetup targets) || return 1
	bad=$(echo "$out" | grep -Ev '^[a-z0-9_-]+ +v[0-9]+\.[0-9]+\.[0-9]+$') || true
	[ -z "$bad" ] || { echo "malformed: $bad"; return 1; }
	r=0
	while read -r t v; do
		echo "$out" | grep -qE "^$t +$v\$" && continue
		echo "want $t $v, have: $(echo "$out" | grep -E "^$t " || echo none)"
		r=1
	done <<-EOF
	$want
	EOF
	return $r
}

# dmx must not load while dm-mod owns misc minor 236 and the
# "device-mapper" name, must say why in dmesg, and load once it is gone.
refused_beside_stock_dm() {
	unload_dm || { echo "cannot unload dmx"; return 1; }
	modprobe dm-mod || return 1
	dmesg_mark
	if insmod "$DMX_KO"; then
		echo "insmod dmx.ko succeeded beside dm-mod"
		return 1
	fi
	why=$(dmesg_since | grep 'dmx:')
	rmmod dm_mod || return 1
	[ -n "$why" ] || { echo "no 'dmx:' line in dmesg after the refused load"; return 1; }
	echo "$why"
	insmod "$DMX_KO"
}

# After rmmod nothing is left registered, and the module loads again.
rmmod_leaves_nothing() {
	unload_dm || { echo "rmmod failed"; return 1; }
	[ ! -e $CONTROL ] || { echo "$CONTROL still exists"; return 1; }
	! misc_minor_registered || { echo "misc 236 still registered"; return 1; }
	! block_major_registered || { echo "block major still registered"; return 1; }
	use_dmx || { echo "reload failed"; return 1; }
	[ -c $CONTROL ] || { echo "$CONTROL missing after reload"; return 1; }
}

# rmmod fails while a device exists, even one without a table, and
# works once it is gone.
rmmod_refused_while_devices_exist() {
	module=dmx
	is_stock && module=dm_mod
	dmsetup create rmmod-busy --notable || return 1
	if rmmod "$module" 2>/dev/null; then
		echo "rmmod $module succeeded with a device present"
		return 1
	fi
	dmsetup remove rmmod-busy || return 1
	unload_dm || { echo "rmmod failed once the device was gone"; return 1; }
}

# module_teardown: the device-mapper under test loaded, no devices.
module_teardown() {
	use_dmx || { echo "cannot load the device-mapper"; return 1; }
	dm_teardown
}

use_dmx || die "cannot load the device-mapper"
TAP_TEARDOWN=module_teardown
tap_plan 6
check module_loads_and_creates_control_node control_node_present
check dmsetup_version_reports_driver_version driver_version_is_the_kernels
check dmsetup_targets_lists_registered_targets targets_listed
if is_stock; then
	skip load_refused_while_stock_dm_holds_control "reference run on stock dm-mod"
else
	check load_refused_while_stock_dm_holds_control refused_beside_stock_dm
fi
check rmmod_is_clean rmmod_leaves_nothing
check rmmod_refused_while_devices_exist rmmod_refused_while_devices_exist
tap_done
