#!/bin/sh
# dmx-test: timeout=300
# A 100,000-target table: 100,000 linear targets of 8 sectors each over
# the first 16 MiB of one ramdisk, in a scrambled order, loads from
# stdin, reports back exactly as loaded, serves I/O correctly (a pattern
# written through the map lands in the right slots of the ramdisk, data
# put in the slots reads back through the map, also through targets
# that alias the same slots), is swapped for a copy of itself, and is
# removed.  The load, readout, swap and removal times are printed as
# TAP diagnostics.
#
# Loading the table takes seconds in the emulated guest, so the tests
# that only look at it or do I/O through it share one device, big, made
# before them and never changed by them (each writes the ramdisk data it
# reads back); the tests that change a device (swap, removal) make their
# own.  The teardown after each test removes every device but big.
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"

TARGETS=100000
SLOTS=4096		# 8-sector slots in the first 16 MiB of ram0
MUL=1517		# target i maps to slot (i * MUL + ADD) mod SLOTS;
ADD=123			# MUL is odd, so any SLOTS consecutive targets get
			# distinct slots, and i and i + SLOTS share one
WIN=40000		# targets WIN .. WIN+1023 get a pattern with O_DIRECT,
TAIL=99936		# targets TAIL .. 99999 one through the page cache
ALIAS=$((WIN + 5 * SLOTS))	# targets that alias the window's slots
TABLE=$SCEN_TMP/big.table

make_table() {
	awk -v n=$TARGETS -v slots=$SLOTS -v mul=$MUL -v add=$ADD -v dev="$R0" 'BEGIN {
		for (i = 0; i < n; i++)
			printf "%d 8 linear %s %d\n", i * 8, dev, ((i * mul + add) % slots) * 8
	}' >"$TABLE"
	want_eq "table lines" "$(wc -l <"$TABLE")" $TARGETS
}

# timed CMD...: run CMD, leave its time (seconds) in $SCEN_TMP/secs.
timed() {
	_t0=$(now_cs)
	"$@"
	_rc=$?
	cs_to_s $(($(now_cs) - _t0)) >"$SCEN_TMP/secs"
	return $_rc
}

# big_teardown: no devices but the shared one, which is live, with no
# inactive table.
big_teardown() {
	resume_all_dm
	for n in $(dmsetup ls | cut -f1); do
		[ "$n" = big ] || dmsetup remove "$n" || return 1
	done
	dmsetup clear big >/dev/null
}

big_table_loaded_from_stdin_has_every_target() {
	want_eq targets "$(info_line big 'Number of targets')" $TARGETS &&
		want_eq size "$(size_of /dev/mapper/big)" $((TARGETS * 8)) &&
		want_eq state "$(dm_state big)" ACTIVE
}

big_table_reads_back_as_loaded() {
	timed sh -c 'dmsetup table big >"$1"' sh "$SCEN_TMP/readout" || return 1
	note "table readout took $(cat "$SCEN_TMP/secs")s"
	cmp_files "$SCEN_TMP/readout" "$TABLE" "dmsetup table big"
}

big_table_status_lists_every_target() {
	want_eq "status lines" "$(dmsetup status big | wc -l)" $TARGETS
}

big_table_deps_has_one_device() {
	want_eq deps "$(dmsetup deps big)" "1 dependencies	: ($(echo "$R0" | sed 's/:/, /'))"
}

# expected_image: what the first 16 MiB of ram0 must hold once the
# window and the tail are written: their sectors in their slots, the
# filler everywhere else.
expected_image() {
	awk -v seed=big -v slots=$SLOTS -v mul=$MUL -v add=$ADD \
		-v win=$WIN -v tail=$TAIL -v n=$TARGETS "$SCEN_GEN_AWK_FN"'
	BEGIN {
		init()
		for (i = win; i < win + 1024; i++) at[(i * mul + add) % slots] = i
		for (i = tail; i < n; i++) at[(i * mul + add) % slots] = i
		for (s = 0; s < slots; s++)
			for (j = 0; j < 8; j++)
				if (s in at) print sector(at[s] * 8 + j)
				else print filler
	}'
}

# make_data: the test data, made once: the patterns of the window and
# the tail as written through the map ($SCEN_TMP/win, $SCEN_TMP/tail),
# and the image of the slots that holds them ($SCEN_TMP/image).
make_data() {
	pattern big $((WIN * 8)) 8192 >"$SCEN_TMP/win" &&
		pattern big $((TAIL * 8)) $(((TARGETS - TAIL) * 8)) >"$SCEN_TMP/tail" &&
		expected_image >"$SCEN_TMP/image"
}

# put_image: the slots hold the window and the tail, written directly.
put_image() {
	put "$SCEN_TMP/image" /dev/ram0 0 1048576 direct
}

io_through_big_table_lands_in_slots() {
	# Fill the slots with a known filler: 512-byte lines of dots.
	yes "$(printf '%511s' '' | tr ' ' '.')" |
		dd of=/dev/ram0 bs=1048576 count=16 iflag=fullblock oflag=direct 2>/dev/null ||
		return 1
	# 256 KiB O_DIRECT writes: each spans 64 targets.
	timed put "$SCEN_TMP/win" /dev/mapper/big $((WIN * 8)) 262144 direct || return 1
	note "4 MiB O_DIRECT write over 1024 targets and fsync took $(cat "$SCEN_TMP/secs")s;"
	# A flush goes to every target whose devices have a write cache.
	timed /usr/bin/dd if=/dev/null of=/dev/mapper/big conv=notrunc,fsync status=none ||
		return 1
	note "an fsync alone took $(cat "$SCEN_TMP/secs")s"
	put "$SCEN_TMP/tail" /dev/mapper/big $((TAIL * 8)) 4096 || return 1
	same_as "$SCEN_TMP/image" /dev/ram0 0 1048576 direct
}

big_table_reads_what_the_slots_hold() {
	put_image || return 1
	same_as "$SCEN_TMP/win" /dev/mapper/big $((WIN * 8)) 1048576 direct || return 1
	drop_caches
	same_as "$SCEN_TMP/tail" /dev/mapper/big $((TAIL * 8)) 4096 buffered
}

# Targets ALIAS.. map to the window's slots, so they read its data.
aliasing_targets_read_the_same_slots() {
	put_image || return 1
	same_as "$SCEN_TMP/win" /dev/mapper/big $((ALIAS * 8)) 65536 direct
}

big_table_swaps_for_a_copy() {
	dmsetup create bigswap <"$TABLE" && put_image || return 1
	dmsetup load bigswap <"$TABLE" || return 1
	want_eq "tables present" "$(info_line bigswap 'Tables present')" "LIVE & INACTIVE" ||
		return 1
	timed dmsetup resume bigswap || return 1
	note "swap to a fresh copy (resume) took $(cat "$SCEN_TMP/secs")s"
	want_eq "tables present" "$(info_line bigswap 'Tables present')" LIVE &&
		same_as "$SCEN_TMP/win" /dev/mapper/bigswap $((WIN * 8)) 1048576 direct
}

big_table_device_removes() {
	dmsetup create bigrm <"$TABLE" || return 1
	timed dmsetup remove bigrm || return 1
	note "remove took $(cat "$SCEN_TMP/secs")s"
	! dm_exists bigrm
}

scenario_start
R0=$(devno /dev/ram0)

make_table >"$SCEN_TMP/make.out" 2>&1 && make_data >>"$SCEN_TMP/make.out" 2>&1 ||
	die "cannot make the table and data: $(cat "$SCEN_TMP/make.out")"
timed dmsetup create big <"$TABLE" >"$SCEN_TMP/create.out" 2>&1 ||
	die "cannot load the table of $TARGETS targets: $(cat "$SCEN_TMP/create.out")"
diag "load of $TARGETS targets (dmsetup create) took $(cat "$SCEN_TMP/secs")s"
TAP_TEARDOWN=big_teardown

timed_check_each \
	big_table_loaded_from_stdin_has_every_target \
	big_table_reads_back_as_loaded \
	big_table_status_lists_every_target \
	big_table_deps_has_one_device \
	io_through_big_table_lands_in_slots \
	big_table_reads_what_the_slots_hold \
	aliasing_targets_read_the_same_slots \
	big_table_swaps_for_a_copy \
	big_table_device_removes

TAP_TEARDOWN=
remove_all_dm
rm -rf "$SCEN_TMP"
tap_done
