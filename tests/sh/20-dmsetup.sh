#!/bin/sh
# dmsetup scenarios: the life of mapped devices as the stock dmsetup
# drives them (create, load, resume, suspend, info, table, status, deps,
# ls, rename, message, remove, remove_all), multi-target and stacked
# tables, a striped map over a failing device, inactive tables and
# clear, read-only tables, uuids and persistent minors, the node
# housekeeping commands, the block device properties a table gives its
# device (I/O sizes, read-ahead, write cache, geometry, holders), and
# deferred removal.  Leaves dmx loaded with no devices.
#
# No `set -e`: a failing check is reported and the next one still runs.
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"

# 64 MiB each: 131072 sectors.
RAM_SECTORS=131072

# --- device life cycle ---------------------------------------------

create_with_table_makes_active_device() {
	dmsetup create s1 --table "0 2048 linear /dev/ram0 0" || return 1
	[ -b /dev/mapper/s1 ] || { echo "/dev/mapper/s1 is not a block device"; return 1; }
	want_eq "major of /dev/mapper/s1" "$(devno /dev/mapper/s1 | cut -d: -f1)" "$MAJ" &&
		want_eq size "$(size_of /dev/mapper/s1)" 2048 &&
		want_eq state "$(dm_state s1)" ACTIVE &&
		want_eq "tables present" "$(info_line s1 'Tables present')" LIVE &&
		want_eq targets "$(info_line s1 'Number of targets')" 1
}

# /sys/block/dm-N of a device (which may have no node yet).
sysfs_dir() {
	echo "/sys/block/dm-$(info_field "$1" minor | tr -d ' ')"
}

sysfs_names_device() {
	d=$(sysfs_dir s1)
	want_eq "$d/dm/name" "$(cat "$d/dm/name")" s1 &&
		want_eq "$d/dev" "$(cat "$d/dev")" "$(devno /dev/mapper/s1)" &&
		want_eq "$d/dm/suspended" "$(cat "$d/dm/suspended")" 0
}

# As with dm-mod v4, the disk dm-N appears with the first table loaded.
create_notable_has_no_tables_and_no_disk() {
	dmsetup create s2 --notable || return 1
	want_eq "tables present" "$(info_line s2 'Tables present')" None &&
		want_eq targets "$(info_line s2 'Number of targets')" 0 &&
		want_eq "live table" "$(dmsetup table s2)" "" &&
		want_eq "status" "$(dmsetup status s2)" "" || return 1
	[ ! -e "$(sysfs_dir s2)" ] || { echo "$(sysfs_dir s2) exists before any table"; return 1; }
}

load_stages_inactive_table() {
	dmsetup load s2 --table "0 4096 linear /dev/ram1 64" || return 1
	[ -e "$(sysfs_dir s2)" ] || { echo "no $(sysfs_dir s2) after the first load"; return 1; }
	want_eq "tables present" "$(info_line s2 'Tables present')" INACTIVE &&
		want_eq "inactive table" "$(dmsetup table --inactive s2)" "0 4096 linear $R1 64" &&
		want_eq "live table" "$(dmsetup table s2)" "" &&
		want_eq "size before resume" "$(cat "$(sysfs_dir s2)/size")" 0
}

resume_activates_loaded_table() {
	dmsetup resume s2 || return 1
	want_eq "tables present" "$(info_line s2 'Tables present')" LIVE &&
		want_eq "live table" "$(dmsetup table s2)" "0 4096 linear $R1 64" &&
		want_eq size "$(size_of /dev/mapper/s2)" 4096
}

create_with_bad_table_leaves_nothing() {
	for t in "0 2048 linear /dev/ram0" \
		"0 $((RAM_SECTORS + 8)) linear /dev/ram0 0" \
		"0 2048 nosuchtarget" \
		"0 1024 linear /dev/ram0 0
2048 1024 linear /dev/ram0 0"; do
		if dmsetup create bad --table "$t" 2>/dev/null; then
			echo "create with table '$t' succeeded"
			dmsetup remove bad
			return 1
		fi
		if dm_exists bad || [ -e /dev/mapper/bad ]; then
			echo "failed create with table '$t' left device 'bad' behind"
			dmsetup info bad
			dmsetup remove bad
			return 1
		fi
	done
}

io_reaches_ramdisk_at_offset() {
	pattern io 0 64 >"$SCEN_TMP/p" || return 1
	put "$SCEN_TMP/p" /dev/mapper/s2 100 4096 direct || return 1
	same_as "$SCEN_TMP/p" /dev/ram1 164 &&
		same_as "$SCEN_TMP/p" /dev/mapper/s2 100
}

# --- suspend and resume --------------------------------------------

suspend_sets_suspended_state() {
	dmsetup suspend s1 || return 1
	want_eq state "$(dm_state s1)" SUSPENDED &&
		want_eq "sysfs suspended" "$(cat "$(sysfs_dir s1)/dm/suspended")" 1 &&
		want_match "info -c attr" "$(info_field s1 attr)" '^L-s'
}

suspend_of_suspended_device_succeeds() {
	dmsetup suspend s1 && want_eq state "$(dm_state s1)" SUSPENDED
}

# A write issued while the device is suspended is held, not failed, and
# lands once the device resumes.
io_held_while_suspended_lands_on_resume() {
	pattern held 0 16 >"$SCEN_TMP/held" || return 1
	put "$SCEN_TMP/held" /dev/mapper/s1 512 4096 direct >"$SCEN_TMP/held.out" 2>&1 &
	pid=$!
	# The only way to see that it waits is to give it time to finish.
	sleep 1
	if ! kill -0 $pid 2>/dev/null; then
		echo "write finished while suspended:"
		cat "$SCEN_TMP/held.out"
		dmsetup resume s1
		return 1
	fi
	dmsetup resume s1 || { kill $pid; return 1; }
	wait $pid || { echo "held write failed:"; cat "$SCEN_TMP/held.out"; return 1; }
	same_as "$SCEN_TMP/held" /dev/ram0 512
}

resume_clears_suspended_state() {
	want_eq state "$(dm_state s1)" ACTIVE &&
		want_eq "sysfs suspended" "$(cat "$(sysfs_dir s1)/dm/suspended")" 0 &&
		want_match "info -c attr" "$(info_field s1 attr)" '^L--w'
}

resume_of_active_device_succeeds() {
	dmsetup resume s1 && want_eq state "$(dm_state s1)" ACTIVE
}

# --- reports -------------------------------------------------------

info_reports_identity() {
	want_eq name "$(info_line s1 Name)" s1 &&
		want_eq "major, minor" "$(info_line s1 'Major, minor' | tr -d ' ' | tr , :)" \
			"$(devno /dev/mapper/s1)" &&
		want_eq "info -c maj:min" "$(info_field s1 major,minor | tr -d ' ')" \
			"$(devno /dev/mapper/s1)" &&
		want_eq "open count" "$(info_line s1 'Open count')" 0 &&
		want_eq "uuid field" "$(info_field s1 uuid)" ""
}

info_open_count_follows_openers() {
	exec 7</dev/mapper/s1
	exec 8</dev/mapper/s1
	two=$(info_line s1 'Open count')
	exec 8<&-
	one=$(info_line s1 'Open count')
	exec 7<&-
	zero=$(info_line s1 'Open count')
	want_eq "open counts" "$two $one $zero" "2 1 0"
}

table_reports_lines_with_device_numbers() {
	want_eq "table s1" "$(dmsetup table s1)" "0 2048 linear $R0 0" &&
		want_eq "table s3" "$(dmsetup table s3)" "0 4096 striped 2 8 $R2 0 $R3 16"
}

status_reports_target_status() {
	want_eq "status s1" "$(dmsetup status s1 | sed 's/ *$//')" "0 2048 linear" &&
		want_eq "status s3" "$(dmsetup status s3)" "0 4096 striped 2 $R2 $R3 1 AA"
}

# deps: the underlying devices, the last one a table names first (the
# kernel adds each new device at the head of its list).
deps_lists_underlying_devices() {
	want_eq "deps s3" "$(dmsetup deps s3)" \
		"2 dependencies	: ($(echo "$R3" | sed 's/:/, /')) ($(echo "$R2" | sed 's/:/, /'))" &&
		want_eq "deps -o devname s3" "$(dmsetup deps -o devname s3)" \
			"2 dependencies	: (ram3) (ram2)"
}

ls_lists_every_device() {
	out=$(dmsetup ls) || return 1
	for n in s1 s2 s3; do
		line=$(echo "$out" | grep "^$n	") || { echo "$n missing from: $out"; return 1; }
		want_eq "ls line of $n" "$line" "$n	($(devno /dev/mapper/$n))" || return 1
	done
	want_eq "ls count" "$(echo "$out" | wc -l)" 3
}

# --- stacking ------------------------------------------------------

stacked_device_maps_through_lower_device() {
	dmsetup create top --table "0 1024 linear /dev/mapper/s1 256" || return 1
	want_eq "table top" "$(dmsetup table top)" "0 1024 linear $(devno /dev/mapper/s1) 256" &&
		want_eq "deps top" "$(dmsetup deps top | grep -o '(.*)')" \
			"($(devno /dev/mapper/s1 | sed 's/:/, /'))" &&
		want_eq "open count of s1" "$(info_line s1 'Open count')" 1 || return 1
	pattern stack 0 32 >"$SCEN_TMP/stack" || return 1
	put "$SCEN_TMP/stack" /dev/mapper/top 100 8192 direct || return 1
	# top 100 -> s1 356 -> ram0 356
	same_as "$SCEN_TMP/stack" /dev/ram0 356 &&
		same_as "$SCEN_TMP/stack" /dev/mapper/top 100
}

ls_tree_shows_stacking() {
	out=$(dmsetup ls --tree) || return 1
	echo "$out"
	echo "$out" | grep -qx "top ($(devno /dev/mapper/top))" &&
		echo "$out" | grep -qx " \`-s1 ($(devno /dev/mapper/s1))" &&
		echo "$out" | grep -qx "    \`- ($R0)"
}

remove_of_device_under_another_fails() {
	if dmsetup remove s1 2>&1; then
		echo "removed s1 while top is stacked on it"
		return 1
	fi
	dm_exists s1 && [ -b /dev/mapper/s1 ] && want_eq state "$(dm_state s1)" ACTIVE
}

# --- rename --------------------------------------------------------

rename_changes_name_node_and_sysfs() {
	old=$(devno /dev/mapper/s2)
	dmsetup rename s2 s2new || return 1
	! dm_exists s2 || { echo "s2 still answers"; return 1; }
	[ ! -e /dev/mapper/s2 ] || { echo "/dev/mapper/s2 still exists"; return 1; }
	want_eq "devno of s2new" "$(devno /dev/mapper/s2new)" "$old" &&
		want_eq "sysfs name" "$(cat "$(sysfs_dir s2new)/dm/name")" s2new &&
		want_eq "table" "$(dmsetup table s2new)" "0 4096 linear $R1 64"
}

rename_to_existing_name_fails() {
	if dmsetup rename s2new s1 2>&1; then
		echo "renamed s2new onto existing s1"
		return 1
	fi
	dm_exists s2new && dm_exists s1 &&
		want_eq "table s1" "$(dmsetup table s1)" "0 2048 linear $R0 0"
}

rename_setuuid_sets_uuid_once() {
	dmsetup rename s2new --setuuid SCEN-UUID-2 || return 1
	want_eq uuid "$(info_field s2new uuid)" SCEN-UUID-2 &&
		want_eq "sysfs uuid" "$(cat "$(sysfs_dir s2new)/dm/uuid")" SCEN-UUID-2 &&
		want_eq "lookup by uuid" "$(dmsetup info -c --noheadings -o name -u SCEN-UUID-2)" s2new ||
		return 1
	if dmsetup rename s2new --setuuid SCEN-UUID-OTHER 2>&1; then
		echo "uuid changed a second time"
		return 1
	fi
	want_eq "uuid after refused change" "$(info_field s2new uuid)" SCEN-UUID-2
}

# Stock: a rename raises the device's event number (it has a live
# table); a table swap by itself does not.  dmx raises it on every table
# swap too, as its issue asks (README: differences on purpose); dmsetup
# create swaps in the first table.
event_number_counts_renames_and_swaps() {
	dmsetup create ev --table "0 1024 zero" || return 1
	a=$(info_line ev 'Event number')
	dmsetup load ev --table "0 2048 zero" && dmsetup resume ev || return 1
	b=$(info_line ev 'Event number')
	dmsetup rename ev ev2 || return 1
	c=$(info_line ev2 'Event number')
	dmsetup remove ev2
	if [ "$DMX_IMPL" = stock ]; then
		want_eq "event numbers after create, swap, rename" "$a $b $c" "0 0 1"
	else
		want_eq "event numbers after create, swap, rename" "$a $b $c" "1 2 3"
	fi
}

# --- messages ------------------------------------------------------

message_to_linear_fails_cleanly() {
	if out=$(dmsetup message s1 0 hello world 2>&1); then
		echo "message to a linear target succeeded: $out"
		return 1
	fi
	echo "$out"
	echo "$out" | grep -q 'Invalid argument' || { echo "want EINVAL"; return 1; }
	want_eq state "$(dm_state s1)" ACTIVE &&
		same_as "$SCEN_TMP/held" /dev/mapper/s1 512
}

message_to_missing_device_fails() {
	! dmsetup message nosuchdev 0 hello 2>&1
}

# --- multi-target tables -------------------------------------------

# sectors: linear [0,1024) on ram3 at 4096; zero [1024,2048); error
# [2048,3072); striped [3072,5120) over ram3 at 8192 and ram2 at 8192,
# 16-sector chunks.
MT_TABLE="0 1024 linear /dev/ram3 4096
1024 1024 zero
2048 1024 error
3072 2048 striped 2 16 /dev/ram3 8192 /dev/ram2 8192"

multi_target_table_round_trips() {
	dmsetup create mt --table "$MT_TABLE" || return 1
	want="0 1024 linear $R3 4096
1024 1024 zero
2048 1024 error
3072 2048 striped 2 16 $R3 8192 $R2 8192"
	want_eq "table mt" "$(dmsetup table mt | sed 's/ *$//')" "$want" &&
		want_eq targets "$(info_line mt 'Number of targets')" 4 &&
		want_eq size "$(size_of /dev/mapper/mt)" 5120 &&
		want_eq "status of striped" "$(dmsetup status mt | tail -n 1)" \
			"3072 2048 striped 2 $R3 $R2 1 AA"
}

multi_target_linear_segment_maps() {
	pattern mtl 0 1024 >"$SCEN_TMP/mtl" || return 1
	put "$SCEN_TMP/mtl" /dev/mapper/mt 0 65536 direct || return 1
	same_as "$SCEN_TMP/mtl" /dev/ram3 4096 && same_as "$SCEN_TMP/mtl" /dev/mapper/mt 0
}

multi_target_zero_segment_reads_zeros() {
	pattern mtz 0 1024 >"$SCEN_TMP/mtz" || return 1
	put "$SCEN_TMP/mtz" /dev/mapper/mt 1024 65536 direct || {
		echo "write to zero target failed"
		return 1
	}
	dd if=/dev/zero bs=512 count=1024 of="$SCEN_TMP/zeros" 2>/dev/null
	same_as "$SCEN_TMP/zeros" /dev/mapper/mt 1024
}

multi_target_error_segment_fails_io() {
	if get /dev/mapper/mt 2048 8 4096 direct >/dev/null 2>&1; then
		echo "read from the error target succeeded"
		return 1
	fi
	if put "$SCEN_TMP/held" /dev/mapper/mt 2100 4096 direct >/dev/null 2>&1; then
		echo "write to the error target succeeded"
		return 1
	fi
	# The neighbours still work.
	same_as "$SCEN_TMP/zeros" /dev/mapper/mt 1024
}

multi_target_striped_segment_maps() {
	pattern mts 3072 2048 >"$SCEN_TMP/mts" || return 1
	stripe_pattern mts 3072 1024 2 16 0 >"$SCEN_TMP/mts0" &&
		stripe_pattern mts 3072 1024 2 16 1 >"$SCEN_TMP/mts1" || return 1
	put "$SCEN_TMP/mts" /dev/mapper/mt 3072 65536 direct || return 1
	same_as "$SCEN_TMP/mts0" /dev/ram3 8192 &&
		same_as "$SCEN_TMP/mts1" /dev/ram2 8192 &&
		same_as "$SCEN_TMP/mts" /dev/mapper/mt 3072
}

# One request spanning linear and zero targets is split between them.
io_spanning_targets_is_split() {
	pattern span 512 1024 >"$SCEN_TMP/span" || return 1
	# A single 512 KiB write over linear [512,1024) and zero [1024,1536).
	put "$SCEN_TMP/span" /dev/mapper/mt 512 524288 direct || return 1
	head -c 262144 "$SCEN_TMP/span" >"$SCEN_TMP/span.lin"
	same_as "$SCEN_TMP/span.lin" /dev/ram3 $((4096 + 512)) || return 1
	# A single 512 KiB read: the linear half, then zeros.
	{ cat "$SCEN_TMP/span.lin"; head -c 262144 "$SCEN_TMP/zeros"; } >"$SCEN_TMP/span.want"
	same_as "$SCEN_TMP/span.want" /dev/mapper/mt 512 524288 direct
}

# A striped map over a healthy ramdisk and a device that fails every
# I/O: I/O to the bad stripe fails, the stripe is reported dead ('D') in
# the status and an event is raised; the good stripe keeps working.
striped_status_marks_failed_stripe() {
	dmsetup create sbad --table "0 4096 error" &&
		dmsetup create sdeg --table "0 8192 striped 2 8 /dev/ram0 8192 /dev/mapper/sbad 0" ||
		return 1
	bad=$(devno /dev/mapper/sbad)
	want_eq "status before" "$(dmsetup status sdeg)" "0 8192 striped 2 $R0 $bad 1 AA" ||
		return 1
	ev=$(info_line sdeg 'Event number')
	# Sectors 8..15 are the first chunk of stripe 1.
	if get /dev/mapper/sdeg 8 8 4096 direct >/dev/null 2>&1; then
		echo "read from the failing stripe succeeded"
		return 1
	fi
	want_eq "status after" "$(dmsetup status sdeg)" "0 8192 striped 2 $R0 $bad 1 AD" || return 1
	ev2=$(info_line sdeg 'Event number')
	[ "$ev2" -gt "$ev" ] || { echo "event number $ev -> $ev2: no event raised"; return 1; }
	pattern sdeg 0 8 >"$SCEN_TMP/sdeg" || return 1
	put "$SCEN_TMP/sdeg" /dev/mapper/sdeg 16 4096 direct &&
		same_as "$SCEN_TMP/sdeg" /dev/ram0 $((8192 + 8)) || return 1
	dmsetup remove sdeg && dmsetup remove sbad
}

# --- inactive table clear ------------------------------------------

load_then_clear_drops_inactive_table() {
	dmsetup load s1 --table "0 2048 linear /dev/ram0 4096" || return 1
	want_eq "tables present after load" "$(info_line s1 'Tables present')" "LIVE & INACTIVE" &&
		want_eq "inactive table" "$(dmsetup table --inactive s1)" "0 2048 linear $R0 4096" &&
		want_eq "live table" "$(dmsetup table s1)" "0 2048 linear $R0 0" || return 1
	dmsetup clear s1 || return 1
	want_eq "tables present after clear" "$(info_line s1 'Tables present')" LIVE &&
		want_eq "inactive table after clear" "$(dmsetup table --inactive s1)" "" || return 1
	# A resume now has nothing to swap in.
	dmsetup suspend s1 && dmsetup resume s1 || return 1
	want_eq "live table after resume" "$(dmsetup table s1)" "0 2048 linear $R0 0" &&
		same_as "$SCEN_TMP/held" /dev/mapper/s1 512
}

clear_on_notable_device_is_harmless() {
	dmsetup create nt --notable || return 1
	dmsetup clear nt || { dmsetup remove nt; return 1; }
	t=$(info_line nt 'Tables present')
	dmsetup remove nt || return 1
	want_eq "tables present" "$t" None
}

# --- read-only tables ----------------------------------------------

readonly_create_refuses_writes() {
	dmsetup create ro --readonly --table "0 2048 linear /dev/ram3 0" || return 1
	want_eq state "$(dm_state ro)" "ACTIVE (READ-ONLY)" &&
		want_match "info -c attr" "$(info_field ro attr)" '^L--r' &&
		want_eq "blockdev --getro" "$(blockdev --getro /dev/mapper/ro)" 1 || return 1
	if put "$SCEN_TMP/held" /dev/mapper/ro 0 4096 direct >/dev/null 2>&1; then
		echo "direct write to a read-only table succeeded"
		return 1
	fi
	# Reads work.
	get /dev/ram3 0 2048 65536 direct >"$SCEN_TMP/ram3" &&
		same_as "$SCEN_TMP/ram3" /dev/mapper/ro 0
}

readonly_table_reloaded_read_write_accepts_writes() {
	dmsetup load ro --table "0 2048 linear /dev/ram3 0" && dmsetup resume ro || return 1
	want_eq state "$(dm_state ro)" ACTIVE &&
		want_eq "blockdev --getro" "$(blockdev --getro /dev/mapper/ro)" 0 || return 1
	put "$SCEN_TMP/held" /dev/mapper/ro 0 4096 direct && same_as "$SCEN_TMP/held" /dev/ram3 0
}

# --- identities ----------------------------------------------------

create_with_uuid_is_found_by_uuid() {
	dmsetup create u1 -u SCEN-UUID-1 --table "0 1024 zero" || return 1
	want_eq uuid "$(info_field u1 uuid)" SCEN-UUID-1 &&
		want_eq "name by uuid" "$(dmsetup info -c --noheadings -o name -u SCEN-UUID-1)" u1 &&
		want_eq "sysfs uuid" "$(cat "$(sysfs_dir u1)/dm/uuid")" SCEN-UUID-1
}

create_with_taken_uuid_or_name_fails() {
	if dmsetup create u2 -u SCEN-UUID-1 --table "0 1024 zero" 2>&1; then
		echo "second device with uuid SCEN-UUID-1 created"
		return 1
	fi
	! dm_exists u2 || { echo "u2 exists after failed create"; return 1; }
	if dmsetup create u1 --table "0 1024 zero" 2>&1; then
		echo "second device named u1 created"
		return 1
	fi
	want_eq "u1 uuid" "$(info_field u1 uuid)" SCEN-UUID-1
}

create_with_persistent_minor() {
	dmsetup create pm -j "$MAJ" -m 200 --table "0 1024 zero" || return 1
	want_eq "info -c maj:min" "$(info_field pm major,minor | tr -d ' ')" "$MAJ:200" &&
		want_eq "node" "$(devno /dev/mapper/pm)" "$MAJ:200" &&
		want_eq "sysfs name" "$(cat /sys/block/dm-200/dm/name)" pm || return 1
	if dmsetup create pm2 -j "$MAJ" -m 200 --table "0 1024 zero" 2>&1; then
		echo "second device with minor 200 created"
		return 1
	fi
	! dm_exists pm2
}

# --- node housekeeping ---------------------------------------------

mknodes_restores_missing_and_drops_stale_nodes() {
	rm -f /dev/mapper/pm || return 1
	mknod /dev/mapper/stale b 1 3 || return 1
	dmsetup mknodes || return 1
	[ ! -e /dev/mapper/stale ] || { echo "stale node kept"; rm -f /dev/mapper/stale; return 1; }
	[ -b /dev/mapper/pm ] || { echo "/dev/mapper/pm not recreated"; return 1; }
	want_eq "recreated node" "$(devno /dev/mapper/pm)" "$MAJ:200"
}

udevcomplete_all_is_harmless() {
	before=$(dmsetup ls; dmsetup table)
	dmsetup -y udevcomplete_all || return 1
	want_eq "devices and tables" "$(dmsetup ls; dmsetup table)" "$before" &&
		same_as "$SCEN_TMP/held" /dev/mapper/s1 512
}

targets_lists_core_targets() {
	out=$(dmsetup targets) || return 1
	for t in linear striped zero error; do
		echo "$out" | grep -qE "^$t +v[0-9]+\.[0-9]+\.[0-9]+$" ||
			{ echo "no $t in:"; echo "$out"; return 1; }
	done
}

# --- block device properties ---------------------------------------

# queue_attr NAME ATTR: /sys/block/dm-N/queue/ATTR of device NAME.
queue_attr() {
	cat "$(sysfs_dir "$1")/queue/$2"
}

striped_device_advertises_stripe_io_sizes() {
	dmsetup create bp2 --table "0 8192 striped 2 256 /dev/ram1 0 /dev/ram2 0" &&
		dmsetup create bp3 --table "0 3072 striped 3 8 /dev/ram1 8192 /dev/ram2 8192 /dev/ram3 0" ||
		return 1
	# A chunk is the minimum (but not below the 4 KiB physical block of
	# brd), a full stripe the optimum.
	want_eq "bp2 minimum_io_size" "$(queue_attr bp2 minimum_io_size)" 131072 &&
		want_eq "bp2 optimal_io_size" "$(queue_attr bp2 optimal_io_size)" 262144 &&
		want_eq "bp3 minimum_io_size" "$(queue_attr bp3 minimum_io_size)" 4096 &&
		want_eq "bp3 optimal_io_size" "$(queue_attr bp3 optimal_io_size)" 12288 &&
		want_eq "bp2 logical_block_size" "$(queue_attr bp2 logical_block_size)" 512 &&
		want_eq "bp2 physical_block_size" "$(queue_attr bp2 physical_block_size)" 4096
}

# Read-ahead is twice the optimal I/O size (at least 128 KiB), set anew
# at each table swap; on 6.12 a swap only ever raises it.
read_ahead_follows_stripe_width() {
	want_eq "read ahead of bp2" "$(info_line bp2 'Read Ahead')" 1024 &&
		want_eq "read ahead of bp3" "$(info_line bp3 'Read Ahead')" 256 || return 1
	dmsetup load bp2 --table "0 8192 linear /dev/ram1 0" && dmsetup resume bp2 || return 1
	want=256
	[ "$(kernel_series)" = 6.1 ] || want=1024
	want_eq "read ahead of bp2 after reload as linear" "$(info_line bp2 'Read Ahead')" $want
}

readahead_option_sets_read_ahead() {
	dmsetup create bpra --readahead 4096 --table "0 2048 linear /dev/ram0 0" || return 1
	want_eq "read ahead after create" "$(info_line bpra 'Read Ahead')" 4096 &&
		want_eq "blockdev --getra" "$(blockdev --getra /dev/mapper/bpra)" 4096 || return 1
	dmsetup suspend bpra && dmsetup resume --readahead 64 bpra || return 1
	want_eq "read ahead after resume --readahead 64" "$(info_line bpra 'Read Ahead')" 64
}

# brd has no volatile cache and is not rotational; neither is a map of it.
write_cache_and_rotational_follow_devices() {
	want_eq "write_cache over brd" "$(queue_attr bpra write_cache)" "write through" &&
		want_eq "fua over brd" "$(queue_attr bpra fua)" 0 &&
		want_eq "rotational over brd" "$(queue_attr bpra rotational)" 0
}

# zero and error have no devices and no write-zeroes support; on 6.12
# they take discards of any size (UINT_MAX sectors).
zero_target_advertises_no_write_zeroes() {
	dmsetup create bpz --table "0 2048 zero" || return 1
	discard=0
	[ "$(kernel_series)" = 6.1 ] || discard=$((4294967295 * 512))
	want_eq "write_zeroes_max_bytes of zero" "$(queue_attr bpz write_zeroes_max_bytes)" 0 &&
		want_eq "discard_max_bytes of zero" "$(queue_attr bpz discard_max_bytes)" $discard &&
		want_eq "write_cache of zero" "$(queue_attr bpz write_cache)" "write through"
}

setgeometry_is_reported_to_hdio_getgeo() {
	dmsetup setgeometry bpra 4 16 32 0 || return 1
	want_match "sfdisk -g" "$(sfdisk -g /dev/mapper/bpra)" ' 16 heads, 32 sectors/track$'
}

wipe_table_leaves_an_error_table() {
	dmsetup wipe_table bpra || return 1
	want_eq table "$(dmsetup table bpra | sed 's/ *$//')" "0 2048 error" || return 1
	if get /dev/mapper/bpra 0 8 4096 direct >/dev/null 2>&1; then
		echo "read after wipe_table succeeded"
		return 1
	fi
	dmsetup remove bpra && dmsetup remove bpz && dmsetup remove bp2 && dmsetup remove bp3
}

# Underlying devices name the map as holder, for tables live or staged.
holders_link_underlying_devices() {
	d=$(sysfs_dir s1)
	n=${d##*/}
	[ -e /sys/block/ram0/holders/$n ] || { echo "ram0 does not list $n as holder"; return 1; }
	[ -e "$d/slaves/ram0" ] || { echo "$n does not list ram0 as slave"; return 1; }
	dmsetup load s1 --table "0 2048 linear /dev/ram3 0" || return 1
	[ -e /sys/block/ram3/holders/$n ] || { echo "inactive table: ram3 does not list $n"; return 1; }
	want_eq "deps --inactive" "$(dmsetup deps --inactive s1 | grep -o '(.*)')" \
		"($(echo "$R3" | sed 's/:/, /'))" || return 1
	dmsetup clear s1 || return 1
	[ ! -e /sys/block/ram3/holders/$n ] || { echo "ram3 still lists $n after clear"; return 1; }
	[ -e /sys/block/ram0/holders/$n ] || { echo "ram0 lost $n after clear"; return 1; }
}

# --- deferred removal ----------------------------------------------

# gone_soon NAME: NAME disappears within about 5 s (deferred removal runs
# from a work queue after the last close).
gone_soon() {
	i=0
	while [ $i -lt 50 ]; do
		dm_exists "$1" || return 0
		sleep 0.1
		i=$((i + 1))
	done
	echo "$1 still exists"
	return 1
}

deferred_remove_waits_for_last_close() {
	dmsetup create dr --table "0 1024 zero" || return 1
	exec 7</dev/mapper/dr
	dmsetup remove --deferred dr || { exec 7<&-; return 1; }
	st=$(dm_state dr)
	exec 7<&-
	want_eq "state while open" "$st" "ACTIVE (DEFERRED REMOVE)" && gone_soon dr
}

deferred_remove_is_cancelled_by_message() {
	dmsetup create dr --table "0 1024 zero" || return 1
	exec 7</dev/mapper/dr
	dmsetup remove --deferred dr &&
		dmsetup message dr 0 @cancel_deferred_remove || { exec 7<&-; return 1; }
	st=$(dm_state dr)
	exec 7<&-
	want_eq "state after cancel" "$st" ACTIVE || return 1
	# Give a wrongly kept deferred removal the time to happen.
	sleep 0.5
	dm_exists dr || { echo "dr removed on close after the cancel"; return 1; }
	dmsetup remove dr
}

remove_all_skips_open_devices() {
	dmsetup create ro1 --table "0 1024 zero" && dmsetup create ro2 --table "0 1024 zero" ||
		return 1
	exec 7</dev/mapper/ro1
	dmsetup remove_all
	left=$(dmsetup ls | cut -f1 | grep '^ro[12]$' | tr '\n' ' ')
	exec 7<&-
	want_eq "left after remove_all" "$left" "ro1 " && dmsetup remove ro1
}

# --- removal -------------------------------------------------------

remove_deletes_device_and_node() {
	d=$(sysfs_dir pm)
	dmsetup remove pm || return 1
	! dm_exists pm || { echo "pm still answers"; return 1; }
	[ ! -e /dev/mapper/pm ] || { echo "/dev/mapper/pm still exists"; return 1; }
	[ ! -e "$d" ] || { echo "$d still exists"; return 1; }
}

remove_of_open_device_fails() {
	exec 7</dev/mapper/u1
	if dmsetup remove u1 2>&1; then
		exec 7<&-
		echo "removed u1 while open"
		return 1
	fi
	dm_exists u1 || { exec 7<&-; echo "u1 gone"; return 1; }
	exec 7<&-
	dmsetup remove u1 && ! dm_exists u1
}

remove_of_suspended_device() {
	dmsetup create rs --table "0 1024 linear /dev/ram0 0" && dmsetup suspend rs || return 1
	dmsetup remove rs || { dmsetup resume rs; return 1; }
	! dm_exists rs && [ ! -e /dev/mapper/rs ]
}

remove_top_then_lower_device() {
	dmsetup remove top || return 1
	want_eq "open count of s1" "$(info_line s1 'Open count')" 0 &&
		dmsetup remove s1 && ! dm_exists s1
}

remove_all_removes_every_device() {
	# A fresh stack, so remove_all has to take the top first.
	dmsetup create ra1 --table "0 2048 linear /dev/ram0 0" &&
		dmsetup create ra2 --table "0 1024 linear /dev/mapper/ra1 8" &&
		dmsetup create ra3 --table "0 512 linear /dev/mapper/ra2 8" || return 1
	dmsetup remove_all || return 1
	no_devices_left || return 1
	for n in s2new s3 mt ro ra1 ra2 ra3; do
		[ ! -e /dev/mapper/$n ] || { echo "/dev/mapper/$n left"; return 1; }
	done
}

# --- main ----------------------------------------------------------

use_dmx || die "cannot load the device-mapper"
ramdisks 4 64 || die "cannot set up ramdisks"
remove_all_dm || die "devices left over from an earlier test"
MAJ=$(dm_major)
R0=$(devno /dev/ram0)
R1=$(devno /dev/ram1)
R2=$(devno /dev/ram2)
R3=$(devno /dev/ram3)

check create_with_table_makes_active_device create_with_table_makes_active_device
check sysfs_names_device sysfs_names_device
check create_notable_has_no_tables_and_no_disk create_notable_has_no_tables_and_no_disk
check load_stages_inactive_table load_stages_inactive_table
check resume_activates_loaded_table resume_activates_loaded_table
check create_with_bad_table_leaves_nothing create_with_bad_table_leaves_nothing
check io_reaches_ramdisk_at_offset io_reaches_ramdisk_at_offset
dmsetup create s3 --table "0 4096 striped 2 8 /dev/ram2 0 /dev/ram3 16" ||
	die "cannot create striped device s3"

check suspend_sets_suspended_state suspend_sets_suspended_state
check suspend_of_suspended_device_succeeds suspend_of_suspended_device_succeeds
check io_held_while_suspended_lands_on_resume io_held_while_suspended_lands_on_resume
check resume_clears_suspended_state resume_clears_suspended_state
check resume_of_active_device_succeeds resume_of_active_device_succeeds

check info_reports_identity info_reports_identity
check info_open_count_follows_openers info_open_count_follows_openers
check table_reports_lines_with_device_numbers table_reports_lines_with_device_numbers
check status_reports_target_status status_reports_target_status
check deps_lists_underlying_devices deps_lists_underlying_devices
check ls_lists_every_device ls_lists_every_device

check stacked_device_maps_through_lower_device stacked_device_maps_through_lower_device
check ls_tree_shows_stacking ls_tree_shows_stacking
check remove_of_device_under_another_fails remove_of_device_under_another_fails

check rename_changes_name_node_and_sysfs rename_changes_name_node_and_sysfs
check rename_to_existing_name_fails rename_to_existing_name_fails
check rename_setuuid_sets_uuid_once rename_setuuid_sets_uuid_once
check event_number_counts_renames_and_swaps event_number_counts_renames_and_swaps

check message_to_linear_fails_cleanly message_to_linear_fails_cleanly
check message_to_missing_device_fails message_to_missing_device_fails

check multi_target_table_round_trips multi_target_table_round_trips
check multi_target_linear_segment_maps multi_target_linear_segment_maps
check multi_target_zero_segment_reads_zeros multi_target_zero_segment_reads_zeros
check multi_target_error_segment_fails_io multi_target_error_segment_fails_io
check multi_target_striped_segment_maps multi_target_striped_segment_maps
check io_spanning_targets_is_split io_spanning_targets_is_split
check striped_status_marks_failed_stripe striped_status_marks_failed_stripe

check load_then_clear_drops_inactive_table load_then_clear_drops_inactive_table
check clear_on_notable_device_is_harmless clear_on_notable_device_is_harmless

check readonly_create_refuses_writes readonly_create_refuses_writes
check readonly_table_reloaded_read_write_accepts_writes readonly_table_reloaded_read_write_accepts_writes

check create_with_uuid_is_found_by_uuid create_with_uuid_is_found_by_uuid
check create_with_taken_uuid_or_name_fails create_with_taken_uuid_or_name_fails
check create_with_persistent_minor create_with_persistent_minor

check mknodes_restores_missing_and_drops_stale_nodes mknodes_restores_missing_and_drops_stale_nodes
check udevcomplete_all_is_harmless udevcomplete_all_is_harmless
check targets_lists_core_targets targets_lists_core_targets

check striped_device_advertises_stripe_io_sizes striped_device_advertises_stripe_io_sizes
check read_ahead_follows_stripe_width read_ahead_follows_stripe_width
check readahead_option_sets_read_ahead readahead_option_sets_read_ahead
check write_cache_and_rotational_follow_devices write_cache_and_rotational_follow_devices
check zero_target_advertises_no_write_zeroes zero_target_advertises_no_write_zeroes
check setgeometry_is_reported_to_hdio_getgeo setgeometry_is_reported_to_hdio_getgeo
check wipe_table_leaves_an_error_table wipe_table_leaves_an_error_table
check holders_link_underlying_devices holders_link_underlying_devices

check deferred_remove_waits_for_last_close deferred_remove_waits_for_last_close
check deferred_remove_is_cancelled_by_message deferred_remove_is_cancelled_by_message

check remove_deletes_device_and_node remove_deletes_device_and_node
check remove_of_open_device_fails remove_of_open_device_fails
check remove_of_suspended_device remove_of_suspended_device
check remove_top_then_lower_device remove_top_then_lower_device
check remove_all_removes_every_device remove_all_removes_every_device
check remove_all_skips_open_devices remove_all_skips_open_devices

remove_all_dm
rm -rf "$SCEN_TMP"
tap_done
