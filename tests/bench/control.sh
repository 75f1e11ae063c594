# make bench, section control: the control plane, and kernel memory per
# device and per table target (sourced by bench.sh; stock and dmx).
#
# bench_ctl (tests/c/bench_ctl.c) times the ioctls themselves, issued as
# libdevmapper issues them (16 KiB buffers, one device at a time),
# without the cost of starting dmsetup.  Figures in milliseconds.
# For each N of DEVICES:
# - control-N-create-load-resume: N devices made one after another,
#   each by DEV_CREATE, TABLE_LOAD of "0 8 linear <nullb0> 8i" and
#   DEV_SUSPEND (resume); -create, -load and -resume are its parts.
# - control-N-list: one LIST_DEVICES of the N devices.
# - control-N-status: TABLE_STATUS of each device.
# - control-N-remove: DEV_REMOVE of each device.
# - control-N-remove-all: the N devices made again, then one REMOVE_ALL.
# - memory: device-N-*: kernel memory per device, around the first N.
# Then one device gets a table of BIG_TARGETS (100,000) 8-sector linear
# targets over nullb0:
# - control-bigtable-load, -resume: its TABLE_LOAD and DEV_SUSPEND
#   (resume); -remove: DEV_REMOVE of the device with that table.
# - bigtable-randread-4k-qd1: 4 KiB random reads (psync) over it; the
#   raw figure is the same job on nullb0 (io section).
# - memory: table-target-*: kernel memory per target of that table.
# And the suspend window (bench_ctl window): the longest 4 KiB O_DIRECT
# read, in microseconds, a reader of a 1024-target device over nullb1
# sees while another thread loads and resumes SWAPS (40) new tables
# (suspend-window-swaps), and while it does nothing for as long
# (suspend-window-idle).

# ctl_run PREFIX ARGS...: bench_ctl ARGS; each "KEY MS" it prints is
# recorded as row PREFIX-KEY.
ctl_run() {
	_prefix=$1
	shift
	run_logged "$BENCH_BIN/bench_ctl" "$@" >"$BENCH_TMP/ctl.out" || return 1
	while read -r _key _ms; do
		record "$_prefix-$_key" "$_ms"
	done <"$BENCH_TMP/ctl.out"
}

ctl_describe() {
	for _p in create-load-resume create load resume list status remove remove-all; do
		describe "control-$1-$_p" control ms lower
	done
}

# ctl_devices N DEV: the rows of N devices over DEV.
ctl_devices() {
	ctl_describe "$1"
	describe_mem "device-$1"
	_before=$(mem_snapshot)
	ctl_run "control-$1" create "ctl$1-" "$1" "$2" || return 1
	record_mem "device-$1" "$_before" "$(mem_snapshot)" "$1"
	ctl_run "control-$1" list "$1" &&
		ctl_run "control-$1" status "ctl$1-" "$1" &&
		ctl_run "control-$1" remove "ctl$1-" "$1" || return 1
	run_logged "$BENCH_BIN/bench_ctl" create "ctl$1-" "$1" "$2" >/dev/null &&
		ctl_run "control-$1" remove-all
}

# ctl_big_table DEV: the rows of the BIG_TARGETS-target table over DEV.
ctl_big_table() {
	for _p in load resume remove; do
		describe "control-bigtable-$_p" control ms lower
	done
	describe bigtable-randread-4k-qd1 control IOPS higher
	describe_mem table-target
	echo "create bigtable0 0 8 linear $1 0" | dm_setup || return 1
	_before=$(mem_snapshot)
	ctl_run control-bigtable big bigtable0 "$BIG_TARGETS" "$1" || return 1
	record_mem table-target "$_before" "$(mem_snapshot)" $((BIG_TARGETS - 1))
	fio_begin "$BENCH_TMP/bigtable.fio" direct=1 time_based=1 \
		"runtime=$RUNTIME" "ramp_time=$RAMP" randrepeat=0 norandommap=1
	job bigtable-randread-4k-qd1 iops 0 filename=/dev/mapper/bigtable0 \
		"size=$((BIG_TARGETS * 8 * 512))" rw=randread bs=4k ioengine=psync
	fio_run
	ctl_run control-bigtable remove bigtable 1
}

SWAPS=40

# ctl_window DEV: the suspend window rows over DEV.
ctl_window() {
	describe suspend-window-swaps control us lower
	describe suspend-window-idle control us lower
	echo "create window0 0 8 linear $1 0" | dm_setup || return 1
	ctl_run suspend-window window window0 "$1" "$SWAPS"
	echo "remove window0" | dm_setup
}

# bench_control: the section for $IMPL.
bench_control() {
	_dev=$(devnum nullb0)
	for _n in $DEVICES; do
		ctl_devices "$_n" "$_dev" || remove_all_dm
	done
	ctl_big_table "$_dev" || remove_all_dm
	ctl_window "$(devnum nullb1)" || remove_all_dm
	remove_all_dm
}
