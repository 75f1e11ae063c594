#!/bin/sh
# Crypt volumes are byte-compatible with the stock dm-crypt, both ways,
# in one boot.  Each cipher setup (cipher, chain mode, IV mode, key
# size, sector size, iv_large_sectors, iv_offset, offset) is one crypt
# target of a table, over its own region of a ramdisk.  The stock
# dm-crypt writes a pattern through the table; it is unloaded, dmx is
# loaded, the same table reads the pattern back, and the same pattern
# written by dmx over a second, blank ramdisk leaves exactly the stock
# ciphertext there; then the stock dm-crypt is loaded again and reads
# dmx's copy back.  One TAP line per setup and step.
#
# With the stock dm-mod under test (run.sh --stock), "dmx" is the stock
# one again.  Leaves dmx loaded (the stock one with --stock) and no
# devices.
# dmx-test: timeout=600
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"

K16=00112233445566778899aabbccddeeff
K32=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
K64=${K32}f0e1d2c3b4a5968778695a4b3c2d1e0f0123456789abcdeffedcba9876543210
DATA=256	# sectors of pattern per setup: 128 KiB, 32 units of 4 KiB
REGION=2048	# sectors of each ramdisk per setup

# The setups, one a line: NAME CIPHER KEY IV_OFFSET EXTRA_OFFSET [OPTIONS...]
# (EXTRA_OFFSET: sectors into the setup's region where the data starts).
SETUPS="aes_xts_512 aes-xts-plain64 $K64 0 0
aes_xts_256 aes-xts-plain64 $K32 0 0
aes_cbc_essiv aes-cbc-essiv:sha256 $K32 0 0
serpent_xts serpent-xts-plain64 $K64 0 0
twofish_cbc twofish-cbc-plain64 $K32 0 0
aes_xts_4k aes-xts-plain64 $K64 0 0 1 sector_size:4096
aes_xts_4k_large aes-xts-plain64 $K64 0 0 2 sector_size:4096 iv_large_sectors
aes_xts_offsets aes-xts-plain64 $K64 1000 77
aes_xts_4k_offsets aes-xts-plain64 $K64 4096 1024 2 iv_large_sectors sector_size:4096
aes_cbc_plain aes-cbc-plain $K16 12345 0
aes_cbc_plain64be aes-cbc-plain64be $K32 0 0
aes_lrw_benbi aes-lrw-benbi $K32$K16 0 0
aes_cbc_null aes-cbc-null $K32 0 0
aes_cbc_eboiv aes-cbc-eboiv $K32 0 0
aes_cbc_eboiv_4k aes-cbc-eboiv $K32 0 0 2 sector_size:4096 iv_large_sectors
aes_ecb aes-ecb $K32 0 0
aes_ctr aes-ctr-plain64 $K32 0 0
aes_keycount aes:4-cbc-plain64 $K32$K32$K32$K32 5 0
capi_xts capi:xts(aes)-plain64 $K64 0 0
capi_essiv capi:cbc(aes)-essiv:sha256 $K32 0 0
adiantum capi:adiantum(xchacha12,aes)-plain64 $K32 0 0 1 sector_size:4096
async_xts capi:cryptd(xts(ecb(aes-generic)))-plain64 $K64 0 0"

# table DEV: one crypt target per setup, DATA sectors each, in order;
# setup i's data lies at sector i * REGION + its extra offset of DEV.
table() {
	echo "$SETUPS" | awk -v dev="$1" -v data=$DATA -v region=$REGION '{
		opts = ""
		for (f = 6; f <= NF; f++)
			opts = opts " " $f
		printf "%d %d crypt %s %s %s %s %d%s\n", (NR - 1) * data, data,
			$2, $3, $4, dev, (NR - 1) * region + $5, opts
	}'
}

# written_by IMPL DEV: the pattern written through every setup over DEV
# by IMPL; the raw bytes of DEV then in $SCEN_TMP/raw.IMPL.
written_by() {
	switch_dm_to "$1" && table "$2" >"$SCEN_TMP/table" &&
		dmsetup create ic "$SCEN_TMP/table" &&
		put "$SCEN_TMP/p" /dev/mapper/ic 0 65536 direct &&
		dmsetup remove ic &&
		get "$2" 0 $((count * REGION)) 65536 direct >"$SCEN_TMP/raw.$1"
}

# read_by IMPL DEV: what every setup over DEV reads through IMPL, in
# $SCEN_TMP/read.
read_by() {
	switch_dm_to "$1" && table "$2" >"$SCEN_TMP/table" &&
		dmsetup create ic "$SCEN_TMP/table" &&
		get /dev/mapper/ic 0 $((count * DATA)) 16384 direct >"$SCEN_TMP/read" &&
		dmsetup remove ic
}

# slice FILE SECTOR: DATA sectors of FILE from SECTOR on stdout.
slice() {
	dd if="$1" bs=512 skip="$2" count=$DATA 2>/dev/null
}

# same_data I: setup I read back its part of the pattern.
same_data() {
	slice "$SCEN_TMP/read" $(($1 * DATA)) >"$SCEN_TMP/got" &&
		slice "$SCEN_TMP/p" $(($1 * DATA)) >"$SCEN_TMP/want" &&
		cmp_files "$SCEN_TMP/got" "$SCEN_TMP/want" "data of setup $1"
}

# same_ciphertext I: both implementations left the same bytes for I.
same_ciphertext() {
	_at=$(($1 * REGION + $(echo "$SETUPS" | sed -n "$(($1 + 1))p" | cut -d' ' -f5)))
	slice "$SCEN_TMP/raw.dmx" $_at >"$SCEN_TMP/got" &&
		slice "$SCEN_TMP/raw.stock" $_at >"$SCEN_TMP/want" &&
		cmp_files "$SCEN_TMP/got" "$SCEN_TMP/want" "ciphertext of setup $1"
}

# each CHECK NAME_SUFFIX: one TAP line per setup.
each() {
	_i=0
	for _n in $(echo "$SETUPS" | cut -d' ' -f1); do
		check "${_n}_$2" "$1" $_i
		_i=$((_i + 1))
	done
}

count=$(echo "$SETUPS" | wc -l)
ramdisks 2 $((count * REGION / 2048 + 1)) || die "cannot set up ramdisks"
pattern interop 0 $((count * DATA)) >"$SCEN_TMP/p" || die "cannot make the pattern"

check every_setup_written_by_stock written_by stock /dev/ram0
check every_setup_read_by_dmx read_by dmx /dev/ram0
each same_data read_by_dmx
check every_setup_written_by_dmx written_by dmx /dev/ram1
each same_ciphertext same_ciphertext_from_dmx
check every_setup_read_by_stock read_by stock /dev/ram1
each same_data written_by_dmx_read_by_stock

check back_to_dmx switch_dm_to dmx
check no_devices_left no_devices_left
rm -rf "$SCEN_TMP"
tap_done
