# Helpers for the snapshot tests (sourced after tap.sh and scenario.sh;
# POSIX sh for busybox ash).
#
# The persistent store's on-disk facts these helpers write are in
# shared/docs/snapshot-format.md: chunk 0 is the header, chunk 1 the
# first metadata area of 16-byte (old_chunk, new_chunk) entries.

SNAP_MAGIC=1883336275	# 0x70416e53, "SnAp" on disk

# snap_test NAME: test NAME (the function of that name), which sets up
# what it needs, with its run time as a diagnostic; then no device may
# be left, or the script stops.
snap_test() {
	timed_check "$1" "$1"
	remove_all_dm || die "devices left after $1"
}

# snap_test_dmx NAME WHY: snap_test on dmx; on the stock dm, which
# behaves otherwise on purpose or by a known defect of its own, a skip
# saying WHY.
snap_test_dmx() {
	if [ "$DMX_IMPL" = stock ]; then
		skip "$1" "$2"
	else
		snap_test "$1"
	fi
}

# snap_status DEV: the status line of DEV after its target type.
snap_status() {
	dmsetup status "$1" | cut -d' ' -f4-
}

# snap_allocated DEV, snap_metadata DEV: the two numbers of a status line
# "<allocated>/<total> <metadata>".
snap_allocated() {
	dmsetup status "$1" | awk '{ split($4, a, "/"); print a[1] }'
}

snap_metadata() {
	dmsetup status "$1" | awk '{ print $5 }'
}

# merge_done DEV: a snapshot-merge has nothing left to merge (LVM's test).
merge_done() {
	_a=$(snap_allocated "$1") && [ -n "$_a" ] && [ "$_a" = "$(snap_metadata "$1")" ]
}

# wait_until SECS WHAT CMD...: polls CMD, as a user watching the status
# would, until it succeeds; false with WHAT explained after SECS seconds.
wait_until() {
	_secs=$1 _what=$2
	shift 2
	_i=0
	until "$@" >/dev/null 2>&1; do
		_i=$((_i + 1))
		if [ $_i -gt $((_secs * 10)) ]; then
			echo "still not $_what after ${_secs}s"
			return 1
		fi
		sleep 0.1
	done
}

# status_is DEV TEXT: the status line of DEV after its type is TEXT.
status_is() {
	[ "$(snap_status "$1")" = "$2" ]
}

# snap_create_under ORIGIN NAME TABLE: creates NAME with TABLE, the
# snapshot-origin ORIGIN suspended around it as snapshot.rst asks.
snap_create_under() {
	dmsetup suspend "$1" || return 1
	dmsetup create "$2" --table "$3"
	_r=$?
	dmsetup resume "$1" || return 1
	return $_r
}

# blank_cow DEV: DEV's first 64 KiB zeroed, which is how LVM hands a new
# COW device to the snapshot target.
blank_cow() {
	dd_quiet if=/dev/zero of="$1" bs=65536 count=1 oflag=direct conv=notrunc
}

# le_bytes N VALUE: VALUE as N little-endian bytes on stdout.
le_bytes() {
	_n=$1 _v=$2
	while [ "$_n" -gt 0 ]; do
		# shellcheck disable=SC2059 # the format is the byte itself
		printf "\\$(printf %03o $((_v & 255)))"
		_v=$((_v >> 8))
		_n=$((_n - 1))
	done
}

# A hand-made persistent store is built in a file, then written to the
# COW device in one O_DIRECT write, so that no page cache of the device
# holds a stale copy of it.

# cow_image FILE CHUNK_SECTORS: FILE becomes a blank store image of 64 KiB
# (or of header, area and one data chunk, if larger).
cow_image() {
	_bytes=$(($2 * 3 * 512))
	[ $_bytes -ge 65536 ] || _bytes=65536
	dd_quiet if=/dev/zero of="$1" bs=512 count=$((_bytes / 512))
}

# image_header FILE CHUNK [VALID [VERSION [MAGIC]]]: the header of the
# image FILE with those fields (defaults: valid, version 1, "SnAp").
image_header() {
	{
		le_bytes 4 "${5:-$SNAP_MAGIC}"
		le_bytes 4 "${3:-1}"
		le_bytes 4 "${4:-1}"
		le_bytes 4 "$2"
	} >"$SCEN_TMP/bytes" &&
		dd_quiet if="$SCEN_TMP/bytes" of="$1" bs=16 count=1 conv=notrunc
}

# image_entry FILE CHUNK INDEX OLD NEW: entry INDEX of metadata area 0 of
# the image FILE (chunk size CHUNK) says that origin chunk OLD lives in
# COW chunk NEW.
image_entry() {
	{
		le_bytes 8 "$4"
		le_bytes 8 "$5"
	} >"$SCEN_TMP/bytes" &&
		dd_quiet if="$SCEN_TMP/bytes" of="$1" bs=16 seek=$(($2 * 32 + $3)) count=1 conv=notrunc
}

# put_image FILE DEV: the image FILE (whole 4 KiB blocks, as cow_image
# makes them) onto DEV from sector 0, on the device when this returns.
# 4 KiB blocks because busybox's dd drops O_DIRECT for smaller ones, and
# fsync because a buffered write stays in DEV's page cache, unseen by a
# table that holds DEV open, until writeback lands it over whatever the
# table wrote meanwhile.
put_image() {
	dd_quiet if="$1" of="$2" bs=4096 oflag=direct conv=notrunc,fsync
}

# header_field DEV INDEX: the INDEXth 32-bit field of DEV's header
# (0 magic, 1 valid, 2 version, 3 chunk size), in decimal.
header_field() {
	dd if="$1" bs=4096 count=1 iflag=direct 2>/dev/null |
		dd bs=4 skip="$2" count=1 2>/dev/null | od -An -tu4 | tr -d ' '
}

# merge_stack SIZE COW_SECTORS CHUNK: what a merge starts from, as LVM
# lays it out: mbase on ram0 holding $SCEN_TMP/base, mcow a blank
# linear device on ram1, the origin morig and a P snapshot msnap on
# mcow.  $SCEN_TMP/origin and $SCEN_TMP/snap are what they read.
merge_stack() {
	dmsetup create mbase --table "0 $1 linear /dev/ram0 0" &&
		put "$SCEN_TMP/base" /dev/mapper/mbase 0 1048576 direct &&
		blank_cow /dev/ram1 &&
		dmsetup create mcow --table "0 $2 linear /dev/ram1 0" &&
		dmsetup create morig --table "0 $1 snapshot-origin /dev/mapper/mbase" &&
		snap_create_under morig msnap \
			"0 $1 snapshot /dev/mapper/mbase /dev/mapper/mcow P $3" &&
		cp "$SCEN_TMP/base" "$SCEN_TMP/origin" &&
		cp "$SCEN_TMP/base" "$SCEN_TMP/snap"
}
