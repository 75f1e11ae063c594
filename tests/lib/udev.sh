# udev for the tests that want it (sourced after tap.sh; POSIX sh for
# busybox ash).
#
#   . "${DMX_TESTLIB:-/tests/lib}/udev.sh"
#   start_udevd || die "systemd-udevd does not start"
#   ... tests ...
#   stop_dmeventd; stop_udevd
#
# The guest runs without udev (DM_DISABLE_UDEV=1, LVM making its own
# nodes); start_udevd makes this script's environment a distribution's:
# systemd-udevd with the rules of Debian's dmsetup, lvm2 and kpartx, so
# that libdevmapper waits on udev cookies and udev makes every node and
# link, and LVM with udev_sync, udev_rules, obtain_device_list_from_udev
# and dmeventd monitoring on (an lvm.conf of its own, LVM_SYSTEM_DIR).
# stop_udevd ends the daemon and forgets its database, so a later script
# starts clean.

UDEV_LVM_DIR=/run/dmx-udev/lvm
UDEV_DEADLINE=${UDEV_DEADLINE:-30}	# seconds any one wait may take

# udev_lvm_conf: the lvm.conf of the udev tests.  The autoextend
# settings only matter to the LVs that are monitored (snapshots, thin
# pools), which dmeventd grows by half when they are 70% full.
udev_lvm_conf() {
	mkdir -p $UDEV_LVM_DIR
	cat >$UDEV_LVM_DIR/lvm.conf <<-'EOF'
	activation {
		udev_sync = 1
		udev_rules = 1
		verify_udev_operations = 0
		monitoring = 1
		snapshot_autoextend_threshold = 70
		snapshot_autoextend_percent = 50
		thin_pool_autoextend_threshold = 70
		thin_pool_autoextend_percent = 50
	}
	devices {
		obtain_device_list_from_udev = 1
	}
	global {
		use_lvmpolld = 0
	}
	dmeventd {
		executable = "/usr/sbin/dmeventd"
	}
	EOF
}

# wait_until SECS CMD...: true as soon as CMD succeeds; false once SECS
# seconds have passed without that.  For what happens in a daemon's own
# time (dmeventd), where there is nothing to settle on.
wait_until() {
	_wu_end=$(($(cut -d. -f1 /proc/uptime) + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(cut -d. -f1 /proc/uptime)" -lt $_wu_end ] || return 1
		sleep 0.2
	done
}

# udev_settle: every uevent so far processed (bounded by UDEV_DEADLINE).
udev_settle() {
	udevadm settle --timeout=$UDEV_DEADLINE
}

udevd_running() {
	udevadm control --ping --timeout=1
}

udevd_gone() { ! udevd_running; }

# start_udevd: systemd-udevd running, every block device already there
# known to it (a coldplug), and this shell set up to use it.
start_udevd() {
	udev_lvm_conf
	unset DM_DISABLE_UDEV
	LVM_SYSTEM_DIR=$UDEV_LVM_DIR
	export LVM_SYSTEM_DIR
	rm -rf /run/udev
	# LVM_SYSTEM_DIR reaches the lvm that the rules run, too.
	/usr/lib/systemd/systemd-udevd --daemon --resolve-names=never \
		</dev/null >/dev/null 2>&1 || return 1
	wait_until $UDEV_DEADLINE udevd_running || {
		echo "systemd-udevd does not answer"
		return 1
	}
	udevadm trigger --action=add --subsystem-match=block &&
		udevadm trigger --action=add --subsystem-match=misc && udev_settle
}

# stop_udevd: the daemon gone, its database and this shell's udev
# settings with it.
stop_udevd() {
	udevadm control --exit --timeout=$UDEV_DEADLINE 2>/dev/null
	wait_until $UDEV_DEADLINE udevd_gone
	# Its last workers may still be writing the database.
	rm -rf /run/udev 2>/dev/null || rm -rf /run/udev
	DM_DISABLE_UDEV=1
	export DM_DISABLE_UDEV
	unset LVM_SYSTEM_DIR
}

# dmeventd_pid: the pid of the running dmeventd (LVM starts it when it
# first monitors an LV); false if there is none.
dmeventd_pid() {
	[ -f /run/dmeventd.pid ] && kill -0 "$(cat /run/dmeventd.pid)" 2>/dev/null &&
		cat /run/dmeventd.pid
}

dmeventd_gone() { ! dmeventd_pid >/dev/null; }

# stop_dmeventd: no dmeventd (as a distribution's shutdown leaves it).
stop_dmeventd() {
	_pid=$(dmeventd_pid) || return 0
	kill -TERM "$_pid"
	wait_until $UDEV_DEADLINE dmeventd_gone
}

# udev_cookies_left: the udev cookies (semaphores) still held, one a
# line; empty when every libdevmapper call has been completed by udev.
udev_cookies_left() {
	dmsetup udevcookies | sed 1d
}

# no_cookies_left: every udev semaphore of libdevmapper released (else
# the ones still held are said).
no_cookies_left() {
	left=$(udev_cookies_left)
	[ -z "$left" ] && return 0
	echo "udev cookies still held:"
	echo "$left"
	return 1
}

# udev_prop DEV KEY: KEY's value in udev's database for DEV.
udev_prop() {
	udevadm info --query=property --name="$1" | sed -n "s/^$2=//p"
}

# link_to LINK DEV: true if LINK (a symlink under /dev) resolves to the
# same node as DEV.
link_to() {
	[ -L "$1" ] && [ "$(readlink -f "$1")" = "$(readlink -f "$2")" ]
}

# udev_ramdisks: the four fresh 64 MiB ramdisks of scenario_start, with
# udev done with them (brd is reloaded only when nobody has them open).
udev_ramdisks() {
	udev_settle && ramdisks 4 64 && udev_settle
}

# run_lvm CMD ARGS...: an LVM command, killed (and failing) if it is
# still waiting after LVM_LIMIT seconds (default 120).
run_lvm() {
	timeout -s KILL "${LVM_LIMIT:-120}" lvm "$@"
}

# lvm_field CMD FIELD ARGS...: one field of an LVM report, in sectors,
# without padding.
lvm_field() {
	_cmd=$1 _field=$2
	shift 2
	run_lvm "$_cmd" --noheadings --units s --nosuffix -o "$_field" "$@" |
		sed 's/^ *//; s/ *$//'
}
