# Shared helpers for the userland scenario tests (sourced after tap.sh;
# POSIX sh for busybox ash).
#
#   . "${DMX_TESTLIB:-/tests/lib}/tap.sh"
#   . "${DMX_TESTLIB:-/tests/lib}/scenario.sh"
#
# Patterns: every 512-byte sector of a pattern is one line (511 bytes and
# a newline) that starts with "[SEED:N]", N being the sector's number in
# the pattern's own (logical) numbering, followed by filler derived from
# SEED and N.  Any sector therefore says where it belongs, and a sector
# that lands in the wrong place, or a stale one, is told apart from the
# right one by cmp.

SCEN_TMP=${SCEN_TMP:-/tmp/scen.$$}
mkdir -p "$SCEN_TMP"

# --- numbers and devices ---------------------------------------------

# devno PATH: "MAJOR:MINOR" of a block device node, in decimal.
devno() {
	set -- $(stat -L -c '%t %T' "$1") || return 1
	printf '%d:%d\n' "0x$1" "0x$2"
}

# size_of DEV: size in 512-byte sectors.
size_of() {
	blockdev --getsz "$1"
}

# info_field NAME FIELD: one `dmsetup info -c` field of device NAME.
info_field() {
	dmsetup info -c --noheadings -o "$2" "$1"
}

# info_line NAME KEY: the value of "KEY: value" in `dmsetup info NAME`.
info_line() {
	dmsetup info "$1" | sed -n "s/^$2: *//p"
}

# now_cs: a monotonic clock in centiseconds.
now_cs() {
	awk '{ split($1, t, "."); print t[1] * 100 + substr(t[2] "00", 1, 2) }' /proc/uptime
}

# cs_to_s CS: "S.SS" seconds.
cs_to_s() {
	awk -v c="$1" 'BEGIN { printf "%.2f", c / 100 }'
}

# drop_caches: forget cached pages of every block device, so a buffered
# read goes to the device.
drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

# --- expectations, for check functions ---------------------------------

# want_eq WHAT GOT EXPECTED: true if equal; else explains.
want_eq() {
	[ "$2" = "$3" ] && return 0
	echo "$1: got '$2', want '$3'"
	return 1
}

# want_match WHAT TEXT ERE: true if TEXT matches the extended regex.
want_match() {
	printf '%s\n' "$2" | grep -qE "$3" && return 0
	echo "$1: '$2' does not match /$3/"
	return 1
}

# dm_state NAME: "ACTIVE", "SUSPENDED", "ACTIVE (READ-ONLY)"...
dm_state() {
	info_line "$1" State
}

# dm_exists NAME: dmsetup knows the device.
dm_exists() {
	dmsetup info "$1" >/dev/null 2>&1
}

# remove_all_dm: remove every mapped device (the tests' cleanup).
remove_all_dm() {
	dmsetup remove_all >/dev/null 2>&1
	[ "$(dmsetup ls 2>&1)" = "No devices found" ]
}

# switch_dm_to stock|dmx: only that device-mapper loaded, no devices (for
# tests that write with one and read with the other); the stock one either
# way when it is under test (run.sh --stock).
switch_dm_to() {
	remove_all_dm
	if [ "$1" = stock ] || [ "$DMX_IMPL" = stock ]; then
		use_stock_dm
	else
		unload_dm && insmod "$DMX_KO"
	fi
}

# resume_all_dm: resume every suspended device, so that the I/O it holds
# completes and the devices stacked on it can go.
resume_all_dm() {
	dmxt resume-all
}

# dm_teardown: what the scripts that set TAP_TEARDOWN=dm_teardown start
# every test from: no mapped devices (resumed first, then removed) and no
# stale /dev/mapper nodes.  False, naming them, if some are left (open,
# or stuck).  One process: it runs after every test.
dm_teardown() {
	dmxt remove-all
}

# no_devices_left: the end state every script leaves.
no_devices_left() {
	out=$(dmsetup ls 2>&1)
	[ "$out" = "No devices found" ] && return 0
	echo "devices left:"
	echo "$out"
	return 1
}

# --- patterns ------------------------------------------------------

# The generator, as awk functions: init() (after setting seed) and
# sector(L), the 511 bytes of logical sector L of pattern seed without
# the newline.  init() also sets filler, a line of dots, for sectors no
# pattern has touched.
SCEN_GEN_AWK_FN='
function init(   j, x) {
	alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	x = 7
	for (j = 1; j <= length(seed); j++)
		x = (x * 31 + index(alpha, substr(seed, j, 1))) % 4294967296
	base = ""
	for (j = 0; j < 1100; j++) {
		x = (x * 69069 + 1) % 4294967296
		base = base substr(alpha, int(x / 65536) % 62 + 1, 1)
	}
	filler = sprintf("%511s", "")
	gsub(/ /, ".", filler)
}
function sector(l,   h) {
	h = sprintf("[%s:%d]", seed, l)
	return h substr(base, l % 512 + 1, 511 - length(h))
}'

# Sectors FIRST..FIRST+N-1 of pattern SEED.  With STRIPES > 1 instead, in
# order, the logical sectors that land on stripe K of a striped range
# starting at logical sector FIRST whose per-stripe length is N sectors
# and chunk CHUNK sectors: what that stripe's device must hold.
SCEN_GEN_AWK=$SCEN_GEN_AWK_FN'
BEGIN {
	init()
	for (p = 0; p < n; p++) {
		if (stripes > 1)
			print sector(first + (int(p / chunk) * stripes + k) * chunk + p % chunk)
		else
			print sector(first + p)
	}
}'

# pattern SEED FIRST COUNT: sectors FIRST.. of pattern SEED on stdout.
pattern() {
	awk -v seed="$1" -v first="$2" -v n="$3" -v stripes=1 "$SCEN_GEN_AWK"
}

# stripe_pattern SEED FIRST PER_STRIPE STRIPES CHUNK K: what stripe K of a
# striped target starting at logical sector FIRST holds, from its own
# offset on.
stripe_pattern() {
	awk -v seed="$1" -v first="$2" -v n="$3" -v stripes="$4" \
		-v chunk="$5" -v k="$6" "$SCEN_GEN_AWK"
}

# dd_quiet ARGS...: dd, its chatter shown only if it fails.
dd_quiet() {
	dd "$@" 2>"$SCEN_TMP/dd.err" && return 0
	echo "dd $* failed:"
	cat "$SCEN_TMP/dd.err"
	return 1
}

# put FILE DEV SECTOR BS [direct]: FILE written onto DEV from SECTOR in
# BS-byte writes, through the page cache (then fsync) or with O_DIRECT.
put() {
	_fl=seek_bytes
	[ "${5:-}" = direct ] && _fl=$_fl,direct
	dd_quiet if="$1" of="$2" bs="$4" seek=$(($3 * 512)) oflag=$_fl \
		conv=notrunc,fsync
}

# get DEV SECTOR COUNT BS [direct]: COUNT sectors of DEV from SECTOR on
# stdout, in BS-byte reads, buffered or with O_DIRECT.
get() {
	_fl=skip_bytes,count_bytes
	[ "${5:-}" = direct ] && _fl=$_fl,direct
	dd_quiet if="$1" bs="$4" skip=$(($2 * 512)) count=$(($3 * 512)) iflag=$_fl
}

# splice IMAGE SECTOR FILE: IMAGE with FILE written over it at SECTOR
# (the expected image of a device after a write).
splice() {
	_len=$(($(wc -c <"$3") / 512))
	{
		head -c $(($2 * 512)) "$1"
		cat "$3"
		tail -c +$((($2 + _len) * 512 + 1)) "$1"
	} >"$1.new" && mv "$1.new" "$1"
}

# same_as FILE DEV SECTOR [BS [direct]]: DEV holds FILE at SECTOR (read
# with O_DIRECT unless told "buffered"); explains the first difference.
same_as() {
	_n=$(($(wc -c <"$1") / 512))
	[ "$_n" -gt 0 ] || { echo "same_as: $1 is empty: nothing to compare"; return 1; }
	get "$2" "$3" "$_n" "${4:-65536}" "${5:-direct}" >"$SCEN_TMP/got" || return 1
	cmp_files "$SCEN_TMP/got" "$1" "$2 at sector $3"
}

# cmp_files GOT WANT WHERE: cmp, and on a difference the headers of the
# first differing sector in both.
cmp_files() {
	if _out=$(cmp "$1" "$2" 2>&1); then
		return 0
	fi
	echo "$3: $_out"
	_byte=$(echo "$_out" | sed -nE 's/.* (byte|char) ([0-9]+).*/\2/p')
	if [ -n "$_byte" ]; then
		_sec=$(((_byte - 1) / 512))
		echo "sector +$_sec holds: $(sector_head "$1" $_sec)"
		echo "sector +$_sec wants: $(sector_head "$2" $_sec)"
	fi
	return 1
}

# sector_head FILE N: the first bytes of sector N of FILE, printable.
sector_head() {
	dd if="$1" bs=512 skip="$2" count=1 2>/dev/null | head -c 32 |
		tr -c '[:print:]' '.'
}

# --- filesystems ---------------------------------------------------

# fsck_clean DEV: `fsck.ext4 -f -n DEV` finds nothing to fix; else what
# it says.
fsck_clean() {
	_fsck=$(fsck.ext4 -f -n "$1" 2>&1)
	_rc=$?
	[ $_rc -eq 0 ] && return 0
	echo "fsck.ext4 -f -n $1 exit $_rc:"
	echo "$_fsck"
	return 1
}

# --- the start of a script -----------------------------------------

# scenario_start: the device-mapper under test loaded, no devices, four
# fresh 64 MiB ramdisks, and dm_teardown after every test; the script
# stops (die) if any of that fails.
scenario_start() {
	use_dmx || die "cannot load the device-mapper"
	remove_all_dm || die "devices left over from an earlier test"
	ramdisks 4 64 || die "cannot set up ramdisks"
	TAP_TEARDOWN=dm_teardown
}

# --- timing --------------------------------------------------------

# timed_check NAME CMD...: check, then a diagnostic with its run time and
# whatever CMD left in $SCEN_NOTE (one line of facts worth seeing even
# when it passes, such as round counts or load times).
SCEN_NOTE=$SCEN_TMP/note
timed_check() {
	rm -f "$SCEN_NOTE"
	_t0=$(now_cs)
	check "$@"
	_t=$(cs_to_s $(($(now_cs) - _t0)))
	if [ -s "$SCEN_NOTE" ]; then
		diag "$1: ${_t}s; $(cat "$SCEN_NOTE")"
	else
		diag "$1: ${_t}s"
	fi
}

# timed_check_each NAME...: timed_check NAME NAME for each NAME.
timed_check_each() {
	for _t in "$@"; do
		timed_check "$_t" "$_t"
	done
}

# note TEXT: add TEXT to the current timed_check's diagnostic.
note() {
	printf '%s ' "$*" >>"$SCEN_NOTE"
}
