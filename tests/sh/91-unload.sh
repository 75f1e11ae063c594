#!/bin/sh
# The module stays while anything of it is in use, beyond a device that
# merely exists (00-module.sh): an open device, a table waiting in the
# inactive slot, a deferred removal not yet done, a suspended device
# holding I/O.  In each case rmmod is refused at once (it must not wait
# or hang), and once the use ends and the device goes, rmmod works.
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/../fuzz/stress-lib.sh"

MODULE=dmx
[ "$DMX_IMPL" = stock ] && MODULE=dm_mod

# refused WHAT: rmmod must fail now; reloads if it did not.
refused() {
	if rmmod $MODULE 2>/dev/null; then
		echo "rmmod $MODULE succeeded with $1"
		use_dmx
		return 1
	fi
}

# unloads: with everything gone, rmmod works (and the module comes back).
unloads() {
	[ "$(dm_device_count)" -eq 0 ] || { echo "devices left: $(dmsetup ls)"; return 1; }
	unload_dm || { echo "rmmod failed with nothing in use"; return 1; }
	use_dmx
}

unload_refused_while_a_device_is_open() {
	echo "0 64 zero" | dmsetup create ul-open || return 1
	exec 5</dev/mapper/ul-open
	refused "an open device" || { exec 5<&-; return 1; }
	exec 5<&-
	dmsetup remove ul-open || return 1
	unloads
}

unload_refused_while_an_inactive_table_waits() {
	dmsetup create ul-inactive --notable || return 1
	echo "0 64 zero" | dmsetup load ul-inactive || return 1
	refused "a table in the inactive slot" || return 1
	dmsetup clear ul-inactive && dmsetup remove ul-inactive || return 1
	unloads
}

unload_refused_while_a_deferred_removal_waits() {
	echo "0 64 zero" | dmsetup create ul-deferred || return 1
	exec 5</dev/mapper/ul-deferred
	dmsetup remove --deferred ul-deferred || { exec 5<&-; return 1; }
	refused "a deferred removal pending" || { exec 5<&-; return 1; }
	exec 5<&-
	# The last close queued the removal; a remove of our own may meet it.
	dmsetup remove ul-deferred 2>/dev/null
	dmsetup info ul-deferred >/dev/null 2>&1 && { echo "device outlived its deferred removal"; return 1; }
	unloads_once_removal_ends
}

# unloads_once_removal_ends: as unloads, for a removal the kernel does in
# its own time: the device leaves the name index before its worker has
# let go of the module, so rmmod may answer EAGAIN for a moment (10 s
# at most).
unloads_once_removal_ends() {
	[ "$(dm_device_count)" -eq 0 ] || { echo "devices left: $(dmsetup ls)"; return 1; }
	_tries=0
	until unload_dm 2>/dev/null; do
		_tries=$((_tries + 1))
		[ $_tries -lt 100 ] || { echo "rmmod failed for 10 s with nothing in use"; return 1; }
		sleep 0.1
	done
	use_dmx
}

unload_refused_while_a_suspended_device_holds_io() {
	echo "0 2048 zero" | dmsetup create ul-held || return 1
	dmsetup suspend ul-held || return 1
	dd if=/dev/mapper/ul-held of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null &
	reader=$!
	refused "I/O held by a suspended device"
	r=$?
	dmsetup resume ul-held || return 1
	wait $reader || { echo "the held read failed after resume"; return 1; }
	[ $r -eq 0 ] || return 1
	dmsetup remove ul-held || return 1
	unloads
}

use_dmx || die "cannot load the device-mapper"
check unload_refused_while_a_device_is_open unload_refused_while_a_device_is_open
check unload_refused_while_an_inactive_table_waits unload_refused_while_an_inactive_table_waits
check unload_refused_while_a_deferred_removal_waits unload_refused_while_a_deferred_removal_waits
check unload_refused_while_a_suspended_device_holds_io unload_refused_while_a_suspended_device_holds_io
use_dmx || die "cannot reload the device-mapper"
tap_done
