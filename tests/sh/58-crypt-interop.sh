#!/bin/sh
# Crypt volumes are byte-compatible with the stock dm-crypt, both ways,
# in one boot.  For each cipher setup (cipher, chain mode, IV mode, key
# size, sector size, iv_large_sectors, iv_offset, offset) the stock
# dm-crypt writes a pattern through a crypt device; it is unloaded, dmx
# is loaded, the same table reads the pattern back, and the same
# pattern written by dmx to a second, blank region leaves exactly the
# stock ciphertext there; then the stock dm-crypt is loaded again and
# reads dmx's copy back.
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
REGION=4096	# sectors per setup on each ramdisk: 2 MiB
DATA=2048	# sectors of pattern per setup: 1 MiB

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

# switch_to stock|dmx: only that device-mapper loaded, no devices.
switch_to() {
	remove_all_dm
	if [ "$1" = stock ] || [ "$DMX_IMPL" = stock ]; then
		use_stock_dm
	else
		unload_dm && insmod "$DMX_KO"
	fi
}

# setup_table NUMBER DEV: the crypt table of setup NUMBER (from 0) over
# its region of DEV.
setup_table() {
	echo "$SETUPS" | sed -n "$(($1 + 1))p" | {
		read -r _name _cipher _key _ivoff _extra _opts
		echo "0 $DATA crypt $_cipher $_key $_ivoff $2 $(($1 * REGION + _extra))${_opts:+ $_opts}"
	}
}

setup_name() {
	echo "$SETUPS" | sed -n "$(($1 + 1))p" | cut -d' ' -f1
}

setup_start() {
	echo "$SETUPS" | sed -n "$(($1 + 1))p" | {
		read -r _name _cipher _key _ivoff _extra _opts
		echo $(($1 * REGION + _extra))
	}
}

# setup_pattern NUMBER: the file holding the setup's pattern.
setup_pattern() {
	[ -f "$SCEN_TMP/p.$1" ] || pattern "$(setup_name "$1")" 0 $DATA >"$SCEN_TMP/p.$1"
	echo "$SCEN_TMP/p.$1"
}

# write_setup NUMBER DEV: the setup's pattern written through its table.
write_setup() {
	_p=$(setup_pattern "$1") &&
		dmsetup create ic --table "$(setup_table "$1" "$2")" &&
		put "$_p" /dev/mapper/ic 0 65536 direct &&
		dmsetup remove ic
}

# reads_back NUMBER DEV: the setup's table over DEV reads its pattern.
reads_back() {
	_p=$(setup_pattern "$1") &&
		dmsetup create ic --table "$(setup_table "$1" "$2")" || return 1
	same_as "$_p" /dev/mapper/ic 0 16384 direct
	_r=$?
	dmsetup remove ic && return $_r
}

# ciphertext NUMBER DEV: the raw bytes the setup put on DEV.
ciphertext() {
	get "$2" "$(setup_start "$1")" $DATA 65536 direct
}

count=$(echo "$SETUPS" | wc -l)

ramdisks 2 $((count * REGION / 2048 + 1)) || die "cannot set up ramdisks"
switch_to stock || die "cannot load the stock device-mapper"
i=0
while [ $i -lt "$count" ]; do
	n=$(setup_name $i)
	check "${n}_written_by_stock" write_setup $i /dev/ram0
	ciphertext $i /dev/ram0 >"$SCEN_TMP/ct.$i"
	i=$((i + 1))
done

switch_to dmx || die "cannot load dmx"
i=0
while [ $i -lt "$count" ]; do
	n=$(setup_name $i)
	check "${n}_read_by_dmx" reads_back $i /dev/ram0
	if write_setup $i /dev/ram1 && ciphertext $i /dev/ram1 >"$SCEN_TMP/ct"; then
		check "${n}_same_ciphertext_from_dmx" cmp_files "$SCEN_TMP/ct" \
			"$SCEN_TMP/ct.$i" "ciphertext of $n"
	else
		not_ok "${n}_same_ciphertext_from_dmx"
	fi
	i=$((i + 1))
done

switch_to stock || die "cannot load the stock device-mapper"
i=0
while [ $i -lt "$count" ]; do
	check "$(setup_name $i)_written_by_dmx_read_by_stock" reads_back $i /dev/ram1
	i=$((i + 1))
done

check back_to_dmx switch_to dmx
check no_devices_left no_devices_left
rm -rf "$SCEN_TMP"
tap_done
