#!/bin/sh
# dmx-test: timeout=600
# I/O errors under every existing target, injected with flakey, dust
# and error devices below them: linear, striped, snapshot-origin (its
# origin failing), snapshot (its COW device failing for writes, or for
# reads of some chunks) and snapshot-merge (a COW chunk that cannot be
# read).  In each scenario the errors reach the caller as EIO, exactly
# where they were injected; a snapshot invalidates as README
# ("Snapshots") says; suspend, resume and remove keep working; and every
# write that completed reads back once the fault is gone, while those
# that failed changed nothing.  The number of errors each scenario
# injected (EIO seen by the caller) is printed as a diagnostic.  All I/O
# is 4 KiB O_DIRECT, one block per dd, so that each error is one block.
# Runs on the stock dm too.  Leaves no devices.
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"
# Every O_DIRECT block here is 4 KiB or more: busybox's dd (which the
# shell prefers) drops O_DIRECT for smaller ones, and GNU dd costs a
# third of a second per run in the emulated guest.

SIZE=8192		# sectors per device
BLOCKS=64		# 4 KiB blocks each scenario writes and checks
CHUNK=8			# snapshot chunk: one block
UP="3600 0"		# flakey intervals: always up, always down
DOWN="0 3600"

# --- I/O one block at a time, with the expected image -----------------

# seed SEED: $SCEN_TMP/seed.SEED is pattern SEED over BLOCKS blocks
# (made once: every exec counts in an emulated guest).
seed() {
	[ -f "$SCEN_TMP/seed.$1" ] || pattern "$1" 0 $((BLOCKS * 8)) >"$SCEN_TMP/seed.$1"
}

# image NAME SEED: the expected content of view NAME (first BLOCKS
# blocks) is pattern SEED; no errors counted for it yet.
image() {
	seed "$2" && cp "$SCEN_TMP/seed.$2" "$SCEN_TMP/$1.img" &&
		rm -f "$SCEN_TMP/$1.werr" "$SCEN_TMP/$1.rerr"
}

# counted NAME KIND: how many KIND (werr, rerr) errors NAME has seen.
counted() {
	if [ -f "$SCEN_TMP/$1.$2" ]; then wc -l <"$SCEN_TMP/$1.$2" | tr -d ' '; else echo 0; fi
}

# eio_or_explain: the last dd failed with EIO (else it says how).
eio_or_explain() {
	grep -q "Input/output error" "$SCEN_TMP/err" && return 0
	echo "failed, but not with EIO:"
	cat "$SCEN_TMP/err"
	return 1
}

# write_block DEV NAME B SEED: writes block B of pattern SEED.  Returns
# 0 if it was written (and NAME's image now has it), 2 on EIO (counted
# as a write error of NAME), 1 otherwise.
write_block() {
	seed "$4"
	if dd if="$SCEN_TMP/seed.$4" of="$1" bs=4096 skip="$3" seek="$3" count=1 \
		oflag=direct conv=notrunc 2>"$SCEN_TMP/err"; then
		dd if="$SCEN_TMP/seed.$4" of="$SCEN_TMP/$2.img" bs=4096 skip="$3" \
			seek="$3" count=1 conv=notrunc 2>/dev/null
		return 0
	fi
	eio_or_explain || return 1
	echo "$3" >>"$SCEN_TMP/$2.werr"
	return 2
}

# read_block DEV NAME B: reads block B.  Returns 0 if it reads what
# NAME's image says, 2 on EIO (counted as a read error), 1 otherwise.
read_block() {
	if ! dd if="$1" of="$SCEN_TMP/got" bs=4096 skip="$3" count=1 iflag=direct \
		2>"$SCEN_TMP/err"; then
		eio_or_explain || return 1
		echo "$3" >>"$SCEN_TMP/$2.rerr"
		return 2
	fi
	cmp -s -n 4096 "$SCEN_TMP/got" "$SCEN_TMP/$2.img" 0 $(($3 * 4096)) && return 0
	dd if="$SCEN_TMP/$2.img" of="$SCEN_TMP/want" bs=4096 skip="$3" count=1 2>/dev/null
	cmp_files "$SCEN_TMP/got" "$SCEN_TMP/want" "$1 block $3"
}

# writes DEV NAME FIRST COUNT SEED WANT: writes blocks FIRST.. with
# pattern SEED; each must end as WANT says: ok, eio, or even/odd (ok on
# even blocks, EIO on the others, or the other way round).
writes() {
	_b=$3
	while [ $_b -lt $(($3 + $4)) ]; do
		write_block "$1" "$2" $_b "$5"
		outcome_is $? "$6" "write of block $_b" || return 1
		_b=$((_b + 1))
	done
}

# reads DEV NAME FIRST COUNT WANT: the same for reads; a block read
# must always hold what the image says.
reads() {
	_b=$3
	while [ $_b -lt $(($3 + $4)) ]; do
		read_block "$1" "$2" $_b
		outcome_is $? "$5" "read of block $_b" || return 1
		_b=$((_b + 1))
	done
}

# reads_failing_only DEV NAME FIRST COUNT BAD...: reads FIRST.. and only
# the BAD blocks fail.
reads_failing_only() {
	_dev=$1 _name=$2 _first=$3 _count=$4
	shift 4
	_b=$_first
	while [ $_b -lt $((_first + _count)) ]; do
		_want=ok
		for _bad in "$@"; do [ "$_bad" = $_b ] && _want=eio; done
		read_block "$_dev" "$_name" $_b
		outcome_is $? $_want "read of block $_b" || return 1
		_b=$((_b + 1))
	done
}

# outcome_is RC WANT WHAT: RC (0 done, 2 EIO) is what WANT allows for
# block _b.
outcome_is() {
	case $2:$1 in
	ok:0 | eio:2) return 0 ;;
	even:0 | odd:2) [ $((_b % 2)) = 0 ] && return 0 ;;
	even:2 | odd:0) [ $((_b % 2)) = 1 ] && return 0 ;;
	esac
	[ "$1" = 1 ] && return 1
	echo "$3: got $([ "$1" = 0 ] && echo success || echo EIO), want $2"
	return 1
}

# intact DEV NAME: DEV's first BLOCKS blocks are NAME's image: every
# write that succeeded is there, every one that failed changed nothing.
intact() {
	same_as "$SCEN_TMP/$1.img" "$2" 0
}

# report NAME WHAT: the errors NAME injected, for the diagnostic that
# timed_check prints.
report() {
	_w=$(counted "$1" werr)
	_r=$(counted "$1" rerr)
	note "$1: $((_w + _r)) I/O errors injected ($_w writes, $_r reads)${2:+, $2};"
}

# flakey_state DEV ARGS: DEV's flakey table gets intervals ARGS.
flakey_state() {
	_low=$(dmsetup table "$1" | cut -d' ' -f4)
	dmsetup load "$1" --table "0 $SIZE flakey $_low 0 $2" && dmsetup resume "$1"
}

# cycle DEV...: each DEV suspends and resumes.
cycle() {
	for _d in "$@"; do
		dmsetup suspend "$_d" && dmsetup resume "$_d" || return 1
	done
}

snap_status() {
	dmsetup status "$1" | cut -d' ' -f4-
}

# fresh_base DEV: DEV (a ram disk) holds the base pattern.
fresh_base() {
	image base base && put "$SCEN_TMP/base.img" "$1" 0 1048576 direct
}

# new_cow DEV: an empty COW device (zeroed header).
new_cow() {
	dd_quiet if=/dev/zero of="$1" bs=4096 count=1 oflag=direct
}

# --- linear over flakey -------------------------------------------------

linear_flakey_setup() {
	fresh_base /dev/ram0 && image lf base &&
		dmsetup create lf_low --table "0 $SIZE flakey /dev/ram0 0 $UP" &&
		dmsetup create lf --table "0 $SIZE linear /dev/mapper/lf_low 0"
}

linear_over_flakey_passes_io_while_up() {
	writes /dev/mapper/lf lf 0 32 a ok && reads /dev/mapper/lf lf 0 32 ok
}

linear_over_flakey_fails_io_with_eio_while_down() {
	flakey_state lf_low "$DOWN" &&
		writes /dev/mapper/lf lf 32 16 b eio && reads /dev/mapper/lf lf 0 16 eio
}

linear_over_flakey_fio_sees_eio() {
	if fio --name=eio --filename=/dev/mapper/lf --rw=write --bs=4k --size=64k \
		--direct=1 --ioengine=psync >"$SCEN_TMP/fio" 2>&1; then
		echo "fio succeeded on a failing device"
		return 1
	fi
	echo fio >>"$SCEN_TMP/lf.werr"
	grep -q "Input/output error" "$SCEN_TMP/fio" && return 0
	cat "$SCEN_TMP/fio"
	return 1
}

linear_over_flakey_suspends_while_down() {
	cycle lf lf_low
}

linear_over_flakey_keeps_acked_writes() {
	flakey_state lf_low "$UP" && intact lf /dev/mapper/lf
}

linear_over_flakey_removes() {
	report lf
	dmsetup remove lf && dmsetup remove lf_low
}

# --- striped over flakey and a healthy device ---------------------------

# Stripe 0 (even blocks) is flakey, stripe 1 (odd blocks) is ram2.
striped_flakey_setup() {
	image sf base &&
		dmsetup create sf_low --table "0 $SIZE flakey /dev/ram1 0 $UP" &&
		dmsetup create sf --table "0 $((2 * SIZE)) striped 2 8 /dev/mapper/sf_low 0 /dev/ram2 0" &&
		put "$SCEN_TMP/sf.img" /dev/mapper/sf 0 1048576 direct
}

striped_over_flakey_passes_io_while_up() {
	writes /dev/mapper/sf sf 0 32 a ok && reads /dev/mapper/sf sf 0 32 ok
}

striped_over_flakey_fails_only_its_stripe() {
	flakey_state sf_low "$DOWN" &&
		writes /dev/mapper/sf sf 32 16 b odd && reads /dev/mapper/sf sf 0 16 odd
}

striped_marks_failed_stripe() {
	want_eq "stripe states" "$(dmsetup status sf | awk '{ print $NF }')" DA
}

striped_over_flakey_suspends_while_down() {
	cycle sf sf_low
}

striped_over_flakey_keeps_acked_writes() {
	flakey_state sf_low "$UP" && intact sf /dev/mapper/sf
}

striped_over_flakey_removes() {
	report sf
	dmsetup remove sf && dmsetup remove sf_low
}

# --- dust under linear and striped --------------------------------------

dust_setup() {
	fresh_base /dev/ram3 && image ld base &&
		dmsetup create ld_low --table "0 $SIZE dust /dev/ram3 0 4096" &&
		dmsetup create ld --table "0 $SIZE linear /dev/mapper/ld_low 0" &&
		dmsetup message ld_low 0 addbadblock 5 && dmsetup message ld_low 0 addbadblock 9 &&
		dmsetup message ld_low 0 addbadblock 13 && dmsetup message ld_low 0 enable
}

linear_over_dust_fails_bad_blocks_only() {
	reads_failing_only /dev/mapper/ld ld 0 16 5 9 13
}

linear_over_dust_write_remaps_block() {
	writes /dev/mapper/ld ld 9 1 r ok && reads_failing_only /dev/mapper/ld ld 0 16 5 13
}

linear_over_dust_keeps_acked_writes() {
	dmsetup message ld_low 0 disable && intact ld /dev/mapper/ld
}

linear_over_dust_removes() {
	report ld
	cycle ld ld_low && dmsetup remove ld && dmsetup remove ld_low
}

# Stripe 1 is dust: its block 3 is the striped device's block 7.
striped_dust_setup() {
	image sd base &&
		dmsetup create sd_low --table "0 $SIZE dust /dev/ram3 0 4096" &&
		dmsetup create sd --table "0 $((2 * SIZE)) striped 2 8 /dev/ram2 0 /dev/mapper/sd_low 0" &&
		put "$SCEN_TMP/sd.img" /dev/mapper/sd 0 1048576 direct &&
		dmsetup message sd_low 0 addbadblock 3 && dmsetup message sd_low 0 enable
}

striped_over_dust_fails_bad_block_only() {
	reads_failing_only /dev/mapper/sd sd 0 16 7 &&
		want_eq "stripe states" "$(dmsetup status sd | awk '{ print $NF }')" AD
}

striped_over_dust_removes() {
	report sd
	dmsetup message sd_low 0 disable && intact sd /dev/mapper/sd &&
		dmsetup remove sd && dmsetup remove sd_low
}

# --- error under linear ---------------------------------------------------

linear_over_error_fails_all_io() {
	fresh_base /dev/ram0 && image le base &&
		dmsetup create le_low --table "0 $SIZE linear /dev/ram0 0" &&
		dmsetup create le --table "0 $SIZE linear /dev/mapper/le_low 0" &&
		writes /dev/mapper/le le 0 8 a ok || return 1
	dmsetup load le_low --table "0 $SIZE error" && dmsetup resume le_low &&
		writes /dev/mapper/le le 8 8 b eio && reads /dev/mapper/le le 0 8 eio
}

linear_over_error_recovers_on_reload() {
	cycle le le_low &&
		dmsetup load le_low --table "0 $SIZE linear /dev/ram0 0" &&
		dmsetup resume le_low && intact le /dev/mapper/le || return 1
	report le
	dmsetup remove le && dmsetup remove le_low
}

# --- snapshot-origin over a failing origin device ------------------------

origin_setup() {
	fresh_base /dev/ram0 && image oo base && image os base && new_cow /dev/ram1 &&
		dmsetup create oo_low --table "0 $SIZE flakey /dev/ram0 0 $UP" &&
		dmsetup create oo --table "0 $SIZE snapshot-origin /dev/mapper/oo_low" &&
		dmsetup suspend oo &&
		dmsetup create os --table "0 $SIZE snapshot /dev/mapper/oo_low /dev/ram1 P $CHUNK" &&
		dmsetup resume oo
}

origin_writes_copy_while_up() {
	writes /dev/mapper/oo oo 0 16 a ok && reads /dev/mapper/os os 0 16 ok &&
		want_eq status "$(snap_status os)" \
			"$((18 * CHUNK))/$(size_of /dev/ram1) $((2 * CHUNK))"
}

# The chunk copies read the failing origin device: as in Linux, the
# snapshot is lost and the origin write fails.
origin_fails_io_with_eio_while_down() {
	flakey_state oo_low "$DOWN" &&
		writes /dev/mapper/oo oo 16 8 b eio && reads /dev/mapper/oo oo 0 8 eio
}

origin_failure_invalidates_snapshot() {
	want_eq status "$(snap_status os)" Invalid
}

origin_suspends_while_down() {
	cycle oo os oo_low
}

origin_keeps_acked_writes() {
	flakey_state oo_low "$UP" && intact oo /dev/mapper/oo &&
		intact oo /dev/mapper/oo_low
}

invalid_snapshot_fails_io() {
	reads /dev/mapper/os os 0 4 eio && writes /dev/mapper/os os 0 4 s eio
}

origin_removes() {
	report oo
	report os "after the origin failed"
	dmsetup remove os && dmsetup remove oo && dmsetup remove oo_low
}

# --- snapshot over a COW device whose writes fail ------------------------

cow_setup() {
	fresh_base /dev/ram0 && image co base && image cs base && new_cow /dev/ram1 &&
		dmsetup create co_low --table "0 $SIZE linear /dev/ram0 0" &&
		dmsetup create co_cow --table "0 $SIZE flakey /dev/ram1 0 $UP" &&
		dmsetup create co --table "0 $SIZE snapshot-origin /dev/mapper/co_low" &&
		dmsetup suspend co &&
		dmsetup create cs --table "0 $SIZE snapshot /dev/mapper/co_low /dev/mapper/co_cow P $CHUNK" &&
		dmsetup resume co
}

cow_snapshot_works_while_up() {
	writes /dev/mapper/co co 0 8 a ok && writes /dev/mapper/cs cs 32 8 s ok &&
		reads /dev/mapper/cs cs 0 40 ok
}

# An origin write needs a copy on the COW device; its failure loses the
# snapshot, and the origin write goes on.
cow_failure_lets_origin_writes_through() {
	flakey_state co_cow "$DOWN" && writes /dev/mapper/co co 8 8 b ok
}

cow_failure_invalidates_snapshot() {
	want_eq status "$(snap_status cs)" Invalid
}

cow_invalid_snapshot_fails_io() {
	reads /dev/mapper/cs cs 0 8 eio && reads /dev/mapper/cs cs 32 8 eio &&
		writes /dev/mapper/cs cs 48 4 t eio
}

cow_suspends_while_down() {
	cycle co cs co_cow
}

cow_origin_keeps_acked_writes() {
	flakey_state co_cow "$UP" && intact co /dev/mapper/co &&
		want_eq status "$(snap_status cs)" Invalid
}

cow_removes() {
	report cs
	dmsetup remove cs && dmsetup remove co && dmsetup remove co_cow &&
		dmsetup remove co_low
}

# --- snapshot over a COW device with unreadable chunks -------------------

# cow_chunk_of DEV SEED B: the COW chunk (4 KiB block of DEV) holding
# block B of pattern SEED.
cow_chunk_of() {
	_head="[$2:$(($3 * 8))]"
	_c=2
	while [ $_c -lt 64 ]; do
		if dd if="$1" bs=4096 skip=$_c count=1 iflag=direct 2>/dev/null |
			head -c ${#_head} | grep -qF "$_head"; then
			echo $_c
			return 0
		fi
		_c=$((_c + 1))
	done
	return 1
}

dust_cow_setup() {
	fresh_base /dev/ram0 && image do base && image ds base && new_cow /dev/ram1 &&
		dmsetup create do_low --table "0 $SIZE linear /dev/ram0 0" &&
		dmsetup create do_cow --table "0 $SIZE dust /dev/ram1 0 4096" &&
		dmsetup create do --table "0 $SIZE snapshot-origin /dev/mapper/do_low" &&
		dmsetup suspend do &&
		dmsetup create ds --table "0 $SIZE snapshot /dev/mapper/do_low /dev/mapper/do_cow P $CHUNK" &&
		dmsetup resume do &&
		writes /dev/mapper/do do 0 4 a ok || return 1
	bad=$(cow_chunk_of /dev/mapper/do_cow base 1) ||
		{ echo "no COW chunk holds block 1"; return 1; }
	dmsetup message do_cow 0 addbadblock "$bad" && dmsetup message do_cow 0 enable
}

# Reads of a chunk the COW device cannot read fail; the snapshot stays
# valid, as in Linux.
cow_read_error_reaches_reader() {
	reads_failing_only /dev/mapper/ds ds 0 8 1
}

cow_read_error_keeps_snapshot_valid() {
	want_eq status "$(snap_status ds)" "$((6 * CHUNK))/$SIZE $((2 * CHUNK))"
}

# A snapshot write to that chunk rewrites it, which dust takes as a remap.
cow_rewritten_chunk_reads_again() {
	writes /dev/mapper/ds ds 1 1 s ok && reads /dev/mapper/ds ds 0 8 ok &&
		intact do /dev/mapper/do
}

dust_cow_removes() {
	report ds
	cycle do ds do_cow && dmsetup remove ds && dmsetup remove do &&
		dmsetup remove do_cow && dmsetup remove do_low
}

# --- snapshot-merge from a COW device with an unreadable chunk ----------

merge_setup() {
	fresh_base /dev/ram0 && image mo base && new_cow /dev/ram1 &&
		dmsetup create mo_low --table "0 $SIZE linear /dev/ram0 0" &&
		dmsetup create mo_cow --table "0 $SIZE dust /dev/ram1 0 4096" &&
		dmsetup create mo --table "0 $SIZE snapshot-origin /dev/mapper/mo_low" &&
		dmsetup suspend mo &&
		dmsetup create ms --table "0 $SIZE snapshot /dev/mapper/mo_low /dev/mapper/mo_cow P $CHUNK" &&
		dmsetup resume mo &&
		writes /dev/mapper/ms mo 0 8 s ok || return 1
	bad=$(cow_chunk_of /dev/mapper/mo_cow s 3) ||
		{ echo "no COW chunk holds block 3"; return 1; }
	dmsetup message mo_cow 0 addbadblock "$bad" && dmsetup message mo_cow 0 enable
}

merge_fails_on_unreadable_chunk() {
	dmsetup suspend ms && dmsetup suspend mo &&
		dmsetup load mo --table "0 $SIZE snapshot-merge /dev/mapper/mo_low /dev/mapper/mo_cow P $CHUNK" &&
		dmsetup resume mo && dmsetup remove ms || return 1
	i=0
	until [ "$(snap_status mo)" = "Merge failed" ]; do
		i=$((i + 1))
		[ $i -le 100 ] || { echo "status: $(dmsetup status mo)"; return 1; }
		sleep 0.1
	done
}

# The origin reads the snapshot's data, but not the chunk that failed.
merge_failed_origin_reads_all_but_bad_chunk() {
	reads_failing_only /dev/mapper/mo mo 0 16 3
}

merge_failed_origin_takes_writes() {
	writes /dev/mapper/mo mo 16 8 w ok && reads /dev/mapper/mo mo 16 8 ok
}

merge_failed_suspends_and_removes() {
	report mo
	cycle mo mo_cow && dmsetup remove mo && dmsetup remove mo_cow &&
		dmsetup remove mo_low
}

# --- a flakey device cycling on its own, under linear ------------------

# Writes (at most 400) until at least 8 have failed and 8 succeeded on a
# device that is up 1 s, down 1 s; then every success must read back.
cycling_flakey_keeps_acked_writes() {
	fresh_base /dev/ram0 && image cy base &&
		dmsetup create cy_low --table "0 $SIZE flakey /dev/ram0 0 1 1" &&
		dmsetup create cy --table "0 $SIZE linear /dev/mapper/cy_low 0" || return 1
	n=0 good=0
	while [ $n -lt 400 ]; do
		write_block /dev/mapper/cy cy $((n % BLOCKS)) "c$((n / BLOCKS))"
		case $? in
		0) good=$((good + 1)) ;;
		2) ;;
		*) return 1 ;;
		esac
		n=$((n + 1))
		[ $good -ge 8 ] && [ "$(counted cy werr)" -ge 8 ] && break
	done
	flakey_state cy_low "$UP" && intact cy /dev/mapper/cy || return 1
	report cy "$good writes succeeded"
	dmsetup remove cy && dmsetup remove cy_low
}

use_dmx || die "cannot load the device-mapper"
ramdisks 4 64 || die "cannot set up ramdisks"
remove_all_dm
HAVE_DUST=
dmsetup targets | grep -q '^dust ' && HAVE_DUST=1

# check_dust NAME: (timed_)check NAME NAME, or a skip where there is no
# dust.
check_dust() {
	if [ -n "$HAVE_DUST" ]; then
		timed_check "$1" "$1"
	else
		skip "$1" "this device-mapper has no dust target"
	fi
}

linear_flakey_setup || die "cannot set up linear over flakey"
check linear_over_flakey_passes_io_while_up linear_over_flakey_passes_io_while_up
check linear_over_flakey_fails_io_with_eio_while_down linear_over_flakey_fails_io_with_eio_while_down
check linear_over_flakey_fio_sees_eio linear_over_flakey_fio_sees_eio
check linear_over_flakey_suspends_while_down linear_over_flakey_suspends_while_down
check linear_over_flakey_keeps_acked_writes linear_over_flakey_keeps_acked_writes
timed_check linear_over_flakey_removes linear_over_flakey_removes

striped_flakey_setup || die "cannot set up striped over flakey"
check striped_over_flakey_passes_io_while_up striped_over_flakey_passes_io_while_up
check striped_over_flakey_fails_only_its_stripe striped_over_flakey_fails_only_its_stripe
check striped_marks_failed_stripe striped_marks_failed_stripe
check striped_over_flakey_suspends_while_down striped_over_flakey_suspends_while_down
check striped_over_flakey_keeps_acked_writes striped_over_flakey_keeps_acked_writes
timed_check striped_over_flakey_removes striped_over_flakey_removes

if [ -n "$HAVE_DUST" ]; then
	dust_setup || die "cannot set up linear over dust"
	check_dust linear_over_dust_fails_bad_blocks_only
	check_dust linear_over_dust_write_remaps_block
	check_dust linear_over_dust_keeps_acked_writes
	check_dust linear_over_dust_removes
	striped_dust_setup || die "cannot set up striped over dust"
	check_dust striped_over_dust_fails_bad_block_only
	check_dust striped_over_dust_removes
else
	for t in linear_over_dust_fails_bad_blocks_only linear_over_dust_write_remaps_block \
		linear_over_dust_keeps_acked_writes linear_over_dust_removes \
		striped_over_dust_fails_bad_block_only striped_over_dust_removes; do
		check_dust $t
	done
fi

check linear_over_error_fails_all_io linear_over_error_fails_all_io
timed_check linear_over_error_recovers_on_reload linear_over_error_recovers_on_reload

origin_setup || die "cannot set up the snapshot of a flakey origin"
check origin_writes_copy_while_up origin_writes_copy_while_up
check origin_fails_io_with_eio_while_down origin_fails_io_with_eio_while_down
check origin_failure_invalidates_snapshot origin_failure_invalidates_snapshot
check origin_suspends_while_down origin_suspends_while_down
check origin_keeps_acked_writes origin_keeps_acked_writes
check invalid_snapshot_fails_io invalid_snapshot_fails_io
timed_check origin_removes origin_removes

cow_setup || die "cannot set up the snapshot on a flakey COW device"
check cow_snapshot_works_while_up cow_snapshot_works_while_up
check cow_failure_lets_origin_writes_through cow_failure_lets_origin_writes_through
check cow_failure_invalidates_snapshot cow_failure_invalidates_snapshot
check cow_invalid_snapshot_fails_io cow_invalid_snapshot_fails_io
check cow_suspends_while_down cow_suspends_while_down
check cow_origin_keeps_acked_writes cow_origin_keeps_acked_writes
timed_check cow_removes cow_removes

if [ -n "$HAVE_DUST" ]; then
	check dust_cow_setup dust_cow_setup
	check_dust cow_read_error_reaches_reader
	check_dust cow_read_error_keeps_snapshot_valid
	check_dust cow_rewritten_chunk_reads_again
	check_dust dust_cow_removes
	check merge_setup merge_setup
	check_dust merge_fails_on_unreadable_chunk
	check_dust merge_failed_origin_reads_all_but_bad_chunk
	check_dust merge_failed_origin_takes_writes
	check_dust merge_failed_suspends_and_removes
else
	for t in dust_cow_setup cow_read_error_reaches_reader cow_read_error_keeps_snapshot_valid \
		cow_rewritten_chunk_reads_again dust_cow_removes merge_setup \
		merge_fails_on_unreadable_chunk merge_failed_origin_reads_all_but_bad_chunk \
		merge_failed_origin_takes_writes merge_failed_suspends_and_removes; do
		check_dust $t
	done
fi

timed_check cycling_flakey_keeps_acked_writes cycling_flakey_keeps_acked_writes

check cleanup no_devices_left
rm -rf "$SCEN_TMP"
tap_done
