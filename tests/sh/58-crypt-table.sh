#!/bin/sh
# The crypt target's table line and what it answers, as Linux's dm-crypt
# does: the line read back with the key in hex or as its keyring
# reference, the options in Linux's order, an empty status line, the
# queue limits that sector_size and allow_discards set, the key
# messages of luksSuspend / luksResume (only while suspended, a wiped
# key blocking resume until a key is set), and the lines it refuses.
# Leaves no devices.
set -u
# A session keyring of our own for the keys we add, gone when we end.
if [ -z "${DMX_CRYPT_SESSION:-}" ]; then
	export DMX_CRYPT_SESSION=1
	# keyctl names the keyring it joined: not a line for the TAP output.
	exec 3>&1 4>&2
	exec keyctl session - sh -c 'exec sh "$@" >&3 2>&4 3>&- 4>&-' sh "$0" "$@" \
		>/dev/null 2>&1
fi
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"

K32=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
K64=${K32}202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f
# A key of printable bytes, for keyctl to read from a pipe.
KEY_TEXT=dmx-crypt-test-key-of-32-bytes!!
KEY_HEX=$(printf %s "$KEY_TEXT" | xxd -p | tr -d '\n')
LEN=8192
RAM0=

# crypt NAME REST: a crypt device over ram0, REST after "crypt".
crypt() {
	dmsetup create "$1" --table "0 $LEN crypt $2"
}

# done_with NAME STATUS: remove NAME; STATUS, or failure if that fails.
done_with() {
	dmsetup remove "$1" || return 1
	return "$2"
}

table_of() {
	dmsetup table --showkeys "$1" | cut -d' ' -f4-
}

# refused REST: a crypt table with REST fails to load and leaves nothing.
refused() {
	if crypt bad "$1" 2>/dev/null; then
		echo "loaded: $1"
		dmsetup remove bad
		return 1
	fi
	dmsetup remove bad 2>/dev/null
	! dm_exists bad
}

table_reads_back_as_loaded() {
	crypt c "aes-xts-plain64 $K64 0 /dev/ram0 0" || return 1
	want_eq table "$(table_of c)" "aes-xts-plain64 $K64 0 $RAM0 0"
	done_with c $?
}

table_without_showkeys_masks_the_key() {
	crypt c "aes-xts-plain64 $K32 0 /dev/ram0 0" || return 1
	want_eq table "$(dmsetup table c | cut -d' ' -f5)" \
		"$(echo $K32 | tr '[:xdigit:]' 0)"
	done_with c $?
}

status_line_is_empty() {
	crypt c "aes-xts-plain64 $K32 0 /dev/ram0 0" || return 1
	want_eq status "$(dmsetup status c)" "0 $LEN crypt "
	done_with c $?
}

iv_offset_and_offset_read_back() {
	crypt c "aes-cbc-essiv:sha256 $K32 77 /dev/ram0 1000" || return 1
	want_eq table "$(table_of c)" "aes-cbc-essiv:sha256 $K32 77 $RAM0 1000"
	done_with c $?
}

capi_spec_reads_back_as_loaded() {
	crypt c "capi:xts(aes)-plain64 $K64 0 /dev/ram0 0" || return 1
	want_eq table "$(table_of c)" "capi:xts(aes)-plain64 $K64 0 $RAM0 0"
	done_with c $?
}

options_read_back_in_linux_order() {
	crypt c "aes-xts-plain64 $K64 0 /dev/ram0 0 7 submit_from_crypt_cpus iv_large_sectors same_cpu_crypt No_Read_Workqueue sector_size:4096 ALLOW_DISCARDS no_write_workqueue" ||
		return 1
	want_eq table "$(table_of c)" "aes-xts-plain64 $K64 0 $RAM0 0 7 allow_discards same_cpu_crypt submit_from_crypt_cpus no_read_workqueue no_write_workqueue sector_size:4096 iv_large_sectors"
	done_with c $?
}

sector_size_512_is_not_shown() {
	crypt c "aes-xts-plain64 $K64 0 /dev/ram0 0 1 sector_size:512" || return 1
	want_eq table "$(table_of c)" "aes-xts-plain64 $K64 0 $RAM0 0"
	done_with c $?
}

no_key_for_cipher_null() {
	crypt c "cipher_null-ecb - 0 /dev/ram0 0" || return 1
	want_eq table "$(table_of c)" "cipher_null-ecb - 0 $RAM0 0"
	done_with c $?
}

ecb_takes_no_iv_mode() {
	crypt c "aes-ecb $K32 0 /dev/ram0 0" || return 1
	want_eq table "$(table_of c)" "aes-ecb $K32 0 $RAM0 0"
	done_with c $?
}

# add_key TYPE DESC: KEY_TEXT into the session keyring.
add_key() {
	printf %s "$KEY_TEXT" | keyctl padd "$1" "$2" @s >/dev/null
}

keyring_key_is_shown_by_reference() {
	add_key logon dmxtest:ref || return 1
	crypt c "aes-xts-plain64 :32:logon:dmxtest:ref 0 /dev/ram0 0" || return 1
	want_eq table "$(table_of c)" \
		"aes-xts-plain64 :32:logon:dmxtest:ref 0 $RAM0 0"
	done_with c $?
}

# The same data through a hex key and through the keyring key with the
# same bytes, for both key types.
keyring_key_encrypts_like_its_bytes() {
	add_key logon dmxtest:same && add_key user dmxtest-user || return 1
	pattern kr 0 256 >"$SCEN_TMP/p" || return 1
	crypt c "aes-xts-plain64 $KEY_HEX 0 /dev/ram0 0" &&
		put "$SCEN_TMP/p" /dev/mapper/c 0 65536 direct &&
		dmsetup remove c || return 1
	crypt c "aes-xts-plain64 :32:logon:dmxtest:same 0 /dev/ram0 0" &&
		same_as "$SCEN_TMP/p" /dev/mapper/c 0 &&
		dmsetup remove c || return 1
	crypt c "aes-xts-plain64 :32:user:dmxtest-user 0 /dev/ram0 0" &&
		same_as "$SCEN_TMP/p" /dev/mapper/c 0
	done_with c $?
}

missing_keyring_key_is_refused() {
	refused "aes-xts-plain64 :32:logon:dmxtest:nosuchkey 0 /dev/ram0 0"
}

keyring_key_of_other_size_is_refused() {
	add_key logon dmxtest:size || return 1
	refused "aes-xts-plain64 :64:logon:dmxtest:size 0 /dev/ram0 0"
}

key_messages_need_a_suspended_device() {
	crypt c "aes-xts-plain64 $K32 0 /dev/ram0 0" || return 1
	if dmsetup message c 0 key wipe 2>/dev/null; then
		echo "key wipe accepted while active"
		dmsetup remove c
		return 1
	fi
	want_eq table "$(table_of c)" "aes-xts-plain64 $K32 0 $RAM0 0"
	done_with c $?
}

key_wipe_clears_the_key_and_blocks_resume() {
	crypt c "aes-xts-plain64 $K32 0 /dev/ram0 0" &&
		dmsetup suspend c && dmsetup message c 0 key wipe || return 1
	want_eq table "$(table_of c)" \
		"aes-xts-plain64 $(echo $K32 | tr '[:xdigit:]' 0) 0 $RAM0 0" || return 1
	if dmsetup resume c 2>/dev/null; then
		echo "resumed without a key"
		return 1
	fi
	want_eq state "$(dm_state c)" SUSPENDED
	# Leave it resumable for the removal.
	dmsetup message c 0 key set $K32 && dmsetup resume c
	done_with c $?
}

key_set_brings_the_data_back() {
	pattern ks 0 512 >"$SCEN_TMP/p" || return 1
	crypt c "aes-xts-plain64 $K64 0 /dev/ram0 0" &&
		put "$SCEN_TMP/p" /dev/mapper/c 0 65536 direct &&
		dmsetup suspend c && dmsetup message c 0 key wipe &&
		dmsetup message c 0 key set $K64 && dmsetup resume c || return 1
	want_eq table "$(table_of c)" "aes-xts-plain64 $K64 0 $RAM0 0" &&
		same_as "$SCEN_TMP/p" /dev/mapper/c 0
	done_with c $?
}

key_set_of_other_size_is_refused() {
	crypt c "aes-xts-plain64 $K64 0 /dev/ram0 0" &&
		dmsetup suspend c && dmsetup message c 0 key wipe || return 1
	if dmsetup message c 0 key set $K32 2>/dev/null; then
		echo "key of another size accepted"
		return 1
	fi
	dmsetup message c 0 key set $K64 && dmsetup resume c
	done_with c $?
}

keyring_key_is_forgotten_by_wipe_and_named_again_by_set() {
	add_key logon dmxtest:wipe || return 1
	crypt c "aes-xts-plain64 :32:logon:dmxtest:wipe 0 /dev/ram0 0" &&
		dmsetup suspend c && dmsetup message c 0 key wipe || return 1
	want_eq wiped "$(table_of c)" \
		"aes-xts-plain64 $(echo $K32 | tr '[:xdigit:]' 0) 0 $RAM0 0" || return 1
	dmsetup message c 0 key set :32:logon:dmxtest:wipe && dmsetup resume c ||
		return 1
	want_eq set "$(table_of c)" \
		"aes-xts-plain64 :32:logon:dmxtest:wipe 0 $RAM0 0"
	done_with c $?
}

unknown_message_is_refused() {
	crypt c "aes-xts-plain64 $K32 0 /dev/ram0 0" && dmsetup suspend c ||
		return 1
	r=0
	for m in "key" "key rotate" "key set" "frobnicate now"; do
		# shellcheck disable=SC2086 # the message's words
		if dmsetup message c 0 $m 2>/dev/null; then
			echo "accepted: $m"
			r=1
		fi
	done
	dmsetup resume c
	done_with c $r
}

sector_size_sets_the_block_sizes() {
	crypt c "aes-xts-plain64 $K64 0 /dev/ram0 0 1 sector_size:4096" || return 1
	q=/sys/dev/block/$(devno /dev/mapper/c)/queue
	want_eq logical "$(cat $q/logical_block_size)" 4096 &&
		want_eq physical "$(cat $q/physical_block_size)" 4096 &&
		want_eq io_min "$(cat $q/minimum_io_size)" 4096
	done_with c $?
}

io_smaller_than_sector_size_fails() {
	crypt c "aes-xts-plain64 $K64 0 /dev/ram0 0 1 sector_size:4096" || return 1
	# fio, not dd: dd retries a refused O_DIRECT write through the cache.
	out=$(fio --name=small --filename=/dev/mapper/c --rw=write --bs=512 \
		--size=4k --direct=1 --output-format=terse --terse-version=3 2>&1)
	want_match fio "$out" "Invalid argument"
	done_with c $?
}

discards_are_off_unless_allowed() {
	crypt c "aes-xts-plain64 $K64 0 /dev/ram0 0" || return 1
	q=/sys/dev/block/$(devno /dev/mapper/c)/queue
	want_eq discard_max_bytes "$(cat $q/discard_max_bytes)" 0 || {
		dmsetup remove c
		return 1
	}
	if blkdiscard /dev/mapper/c 2>/dev/null; then
		echo "blkdiscard went through"
		dmsetup remove c
		return 1
	fi
	done_with c 0
}

# Over a loop device on tmpfs, which punches holes for discards.
allowed_discards_reach_the_device() {
	truncate -s 8M "$SCEN_TMP/disc.img" &&
		loop=$(/usr/sbin/losetup -f --show "$SCEN_TMP/disc.img") || return 1
	pattern disc 0 16384 >"$SCEN_TMP/p" && put "$SCEN_TMP/p" "$loop" 0 65536 direct &&
		dmsetup create c --table "0 16384 crypt aes-xts-plain64 $K64 0 $loop 0 1 allow_discards" ||
		{ /usr/sbin/losetup -d "$loop"; return 1; }
	q=/sys/dev/block/$(devno /dev/mapper/c)/queue
	if [ "$(cat $q/discard_max_bytes)" -gt 0 ] &&
		blkdiscard -o 1048576 -l 1048576 /dev/mapper/c; then
		head -c 1048576 /dev/zero >"$SCEN_TMP/z"
		same_as "$SCEN_TMP/z" "$loop" 2048
		r=$?
	else
		echo "discard_max_bytes $(cat $q/discard_max_bytes); blkdiscard failed"
		r=1
	fi
	dmsetup remove c && /usr/sbin/losetup -d "$loop" && return $r
}

not_enough_arguments_is_refused() {
	refused "aes-xts-plain64 $K64 0 /dev/ram0"
}

unknown_cipher_is_refused() {
	refused "nosuchcipher-xts-plain64 $K64 0 /dev/ram0 0"
}

unknown_iv_mode_is_refused() {
	refused "aes-cbc-nosuchiv $K32 0 /dev/ram0 0"
}

chain_mode_without_iv_mode_is_refused() {
	refused "aes-cbc $K32 0 /dev/ram0 0"
}

essiv_without_hash_is_refused() {
	refused "aes-cbc-essiv $K32 0 /dev/ram0 0"
}

key_count_not_a_power_of_two_is_refused() {
	refused "aes:3-cbc-plain $K32$K32$K32 0 /dev/ram0 0"
}

key_not_hex_is_refused() {
	refused "aes-cbc-plain $(echo $K32 | tr 0 z) 0 /dev/ram0 0"
}

key_of_wrong_size_for_cipher_is_refused() {
	refused "aes-xts-plain64 0011223344556677 0 /dev/ram0 0"
}

missing_key_is_refused() {
	refused "aes-xts-plain64 - 0 /dev/ram0 0"
}

# Linux takes at most 8 options on 6.1 and 9 on 6.12 (high_priority
# came in 6.10): 10 is too many on both.
too_many_options_are_refused() {
	refused "aes-xts-plain64 $K64 0 /dev/ram0 0 10 allow_discards allow_discards allow_discards allow_discards allow_discards allow_discards allow_discards allow_discards allow_discards allow_discards"
}

missing_options_are_refused() {
	refused "aes-xts-plain64 $K64 0 /dev/ram0 0 2 allow_discards"
}

unknown_option_is_refused() {
	refused "aes-xts-plain64 $K64 0 /dev/ram0 0 1 go_faster"
}

bad_sector_sizes_are_refused() {
	refused "aes-xts-plain64 $K64 0 /dev/ram0 0 1 sector_size:1000" &&
		refused "aes-xts-plain64 $K64 0 /dev/ram0 0 1 sector_size:8192" &&
		refused "aes-xts-plain64 $K64 0 /dev/ram0 0 1 sector_size:256"
}

iv_offset_not_a_multiple_of_sector_size_is_refused() {
	refused "aes-xts-plain64 $K64 3 /dev/ram0 0 1 sector_size:4096"
}

integrity_is_refused() {
	refused "aes-xts-plain64 $K64 0 /dev/ram0 0 1 integrity:28:aead"
}

missing_device_is_refused() {
	refused "aes-xts-plain64 $K64 0 /dev/nosuchdevice 0"
}

bad_offset_is_refused() {
	refused "aes-xts-plain64 $K64 0 /dev/ram0 zero"
}

bad_iv_offset_is_refused() {
	refused "aes-xts-plain64 $K64 -1 /dev/ram0 0"
}

use_dmx || die "cannot load the device-mapper"
ramdisks 1 64 || die "cannot set up ramdisks"
modprobe loop || die "cannot load loop"
RAM0=$(devno /dev/ram0)

check table_reads_back_as_loaded table_reads_back_as_loaded
check table_without_showkeys_masks_the_key table_without_showkeys_masks_the_key
check status_line_is_empty status_line_is_empty
check iv_offset_and_offset_read_back iv_offset_and_offset_read_back
check capi_spec_reads_back_as_loaded capi_spec_reads_back_as_loaded
check options_read_back_in_linux_order options_read_back_in_linux_order
check sector_size_512_is_not_shown sector_size_512_is_not_shown
check no_key_for_cipher_null no_key_for_cipher_null
check ecb_takes_no_iv_mode ecb_takes_no_iv_mode
check keyring_key_is_shown_by_reference keyring_key_is_shown_by_reference
check keyring_key_encrypts_like_its_bytes keyring_key_encrypts_like_its_bytes
check missing_keyring_key_is_refused missing_keyring_key_is_refused
check keyring_key_of_other_size_is_refused keyring_key_of_other_size_is_refused
check key_messages_need_a_suspended_device key_messages_need_a_suspended_device
check key_wipe_clears_the_key_and_blocks_resume key_wipe_clears_the_key_and_blocks_resume
check key_set_brings_the_data_back key_set_brings_the_data_back
check key_set_of_other_size_is_refused key_set_of_other_size_is_refused
check keyring_key_is_forgotten_by_wipe_and_named_again_by_set \
	keyring_key_is_forgotten_by_wipe_and_named_again_by_set
check unknown_message_is_refused unknown_message_is_refused
check sector_size_sets_the_block_sizes sector_size_sets_the_block_sizes
check io_smaller_than_sector_size_fails io_smaller_than_sector_size_fails
check discards_are_off_unless_allowed discards_are_off_unless_allowed
check allowed_discards_reach_the_device allowed_discards_reach_the_device
check not_enough_arguments_is_refused not_enough_arguments_is_refused
check unknown_cipher_is_refused unknown_cipher_is_refused
check unknown_iv_mode_is_refused unknown_iv_mode_is_refused
check chain_mode_without_iv_mode_is_refused chain_mode_without_iv_mode_is_refused
check essiv_without_hash_is_refused essiv_without_hash_is_refused
check key_count_not_a_power_of_two_is_refused key_count_not_a_power_of_two_is_refused
check key_not_hex_is_refused key_not_hex_is_refused
check key_of_wrong_size_for_cipher_is_refused key_of_wrong_size_for_cipher_is_refused
check missing_key_is_refused missing_key_is_refused
check too_many_options_are_refused too_many_options_are_refused
check missing_options_are_refused missing_options_are_refused
check unknown_option_is_refused unknown_option_is_refused
check bad_sector_sizes_are_refused bad_sector_sizes_are_refused
check iv_offset_not_a_multiple_of_sector_size_is_refused \
	iv_offset_not_a_multiple_of_sector_size_is_refused
check integrity_is_refused integrity_is_refused
check missing_device_is_refused missing_device_is_refused
check bad_offset_is_refused bad_offset_is_refused
check bad_iv_offset_is_refused bad_iv_offset_is_refused
check no_devices_left no_devices_left
rm -rf "$SCEN_TMP"
tap_done
