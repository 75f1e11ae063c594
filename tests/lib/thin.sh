# Helpers for the thin provisioning tests (sourced after tap.sh and
# scenario.sh; POSIX sh for busybox ash).
#
# A pool is made on two ramdisks, metadata on THIN_META, data on
# THIN_DATA, with data blocks of THIN_BS sectors; thin devices are
# THIN_VOL sectors.  pool_status_field N gives the N-th word of the
# pool's status line (1: transaction id, 2: used/total metadata,
# 3: used/total data, 4: held root, 5: mode, 6: discards, 7: no space,
# 8: needs_check, 9: metadata low water mark).

THIN_META=${THIN_META:-/dev/ram0}
THIN_DATA=${THIN_DATA:-/dev/ram1}
THIN_BS=${THIN_BS:-128}
THIN_VOL=${THIN_VOL:-32768}

# pool_create NAME [FEATURES...]: a pool over fresh (zeroed) metadata.
pool_create() {
	_name=$1
	shift
	dd_quiet if=/dev/zero of="$THIN_META" bs=4096 count=1 oflag=direct &&
		pool_load "$_name" "$@"
}

# pool_load NAME [FEATURES...]: a pool over whatever the metadata holds.
pool_load() {
	_name=$1
	shift
	dmsetup create "$_name" --table \
		"0 $(size_of "$THIN_DATA") thin-pool $THIN_META $THIN_DATA $THIN_BS 0 $# $*"
}

# pool_status_field POOL N
pool_status_field() {
	dmsetup status "$1" | awk -v n="$2" '{ print $(n + 3) }'
}

# pool_used_data POOL: data blocks in use.
pool_used_data() {
	pool_status_field "$1" 3 | cut -d/ -f1
}

# pool_msg POOL MESSAGE...: a pool message, its error shown if it fails.
pool_msg() {
	_pool=$1
	shift
	dmsetup message "$_pool" 0 "$@"
}

# thin_create NAME POOL ID [SECTORS]: a thin device of id ID (made already).
thin_create() {
	dmsetup create "$1" --table "0 ${4:-$THIN_VOL} thin /dev/mapper/$2 $3"
}

# thin_new NAME POOL ID [SECTORS]: create_thin ID, then its device.
thin_new() {
	pool_msg "$2" create_thin "$3" && thin_create "$@"
}

# thin_snap NAME POOL ID ORIGIN_ID [ORIGIN_NAME]: a snapshot of ORIGIN_ID,
# with its active device (ORIGIN_NAME) suspended around it, as LVM does.
thin_snap() {
	if [ -n "${5:-}" ]; then
		dmsetup suspend "$5" || return 1
	fi
	pool_msg "$2" create_snap "$3" "$4"
	_r=$?
	if [ -n "${5:-}" ]; then
		dmsetup resume "$5" || return 1
	fi
	[ $_r -eq 0 ] && thin_create "$1" "$2" "$3"
}

# thin_status_words NAME: the thin device's status after the type.
thin_status_words() {
	dmsetup status "$1" | cut -d' ' -f4-
}

# zeroes SECTORS: that many zero sectors on stdout.
zeroes() {
	dd if=/dev/zero bs=512 count="$1" 2>/dev/null
}
