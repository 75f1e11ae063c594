# make bench, section io: I/O through linear and striped devices, and
# the same I/O on the raw devices underneath (sourced by bench.sh).
#
# Layouts: linear (64 MiB of one device), striped over 2 and over 4
# devices (64 MiB of each, 64 KiB chunks).  Backing: brd ramdisks, and
# null_blk with memory_backed=0 and irqmode=0, which moves no data and
# completes in the submitter, so that the mapping's own cost is not
# hidden behind a memory copy.  The raw figure of a layout is the same
# job on the same devices without a mapping (fio spreads a job over
# several files in turn, as striping spreads it over the devices).
#
# Workloads, each RUNTIME seconds after RAMP: 4 KiB random reads and
# writes with psync and one job (qd1), and with io_uring (libaio if
# the kernel has no io_uring) at depth 32 with 2 jobs; on the ramdisks
# also 1 MiB sequential reads and writes at depth 4, in MB/s.  Every
# workload also gives its system CPU time per I/O (the -cpu rows).
# And, when the control section runs too, the raw figure of its
# 100,000-target table: 4 KiB random reads on the null_blk device it
# maps.

IO_SECTORS=131072	# 64 MiB per device
# dmx.bench_layouts=LIST: a subset of linear,striped2,striped4 (all),
# for quicker runs while profiling one of them.
IO_LAYOUTS=$(setting layouts linear,striped2,striped4 | tr , ' ')

# io_devices BACKING COUNT: the first COUNT devices of a backing.
io_devices() {
	case $1 in
	brd) _prefix=ram ;;
	null) _prefix=nullb ;;
	esac
	_i=0
	while [ $_i -lt "$2" ]; do
		echo "$_prefix$_i"
		_i=$((_i + 1))
	done
}

# io_stripes LAYOUT: how many devices a layout spans.
io_stripes() {
	case $1 in
	linear) echo 1 ;;
	striped2) echo 2 ;;
	striped4) echo 4 ;;
	esac
}

# io_table LAYOUT BACKING: the table of bench-LAYOUT-BACKING.
io_table() {
	_n=$(io_stripes "$1")
	if [ "$_n" -eq 1 ]; then
		echo "0 $IO_SECTORS linear $(devnum "$(io_devices "$2" 1)") 0"
		return
	fi
	_t="0 $((IO_SECTORS * _n)) striped $_n 128"
	for _d in $(io_devices "$2" "$_n"); do
		_t="$_t $(devnum "$_d") 0"
	done
	echo "$_t"
}

# io_target LAYOUT BACKING: what fio opens for IMPL: the mapped device,
# or the raw devices as fio's colon-separated list.
io_target() {
	if [ "$IMPL" != raw ]; then
		echo "/dev/mapper/bench-$1-$2"
		return
	fi
	io_devices "$2" "$(io_stripes "$1")" | sed 's|^|/dev/|' | tr '\n' : | sed 's/:$//'
}

io_describe() {
	describe "$1" io "$2" higher
	describe "$1-cpu" io us lower
}

# io_jobs LAYOUT BACKING: the workloads of one device.
io_jobs() {
	_row=$1-$2
	_common="filename=$(io_target "$1" "$2")
size=$(($(io_stripes "$1") * IO_SECTORS * 512))"
	_deep="ioengine=$IO_ENGINE
iodepth=32
numjobs=2"
	io_describe "$_row-randread-4k-qd1" IOPS
	job "$_row-randread-4k-qd1" iops 1 "$_common" rw=randread bs=4k \
		ioengine=psync numjobs=1
	io_describe "$_row-randwrite-4k-qd1" IOPS
	job "$_row-randwrite-4k-qd1" iops 1 "$_common" rw=randwrite bs=4k \
		ioengine=psync numjobs=1
	io_describe "$_row-randread-4k-$IO_DEEP" IOPS
	job "$_row-randread-4k-$IO_DEEP" iops 2 "$_common" rw=randread bs=4k "$_deep"
	io_describe "$_row-randwrite-4k-$IO_DEEP" IOPS
	job "$_row-randwrite-4k-$IO_DEEP" iops 2 "$_common" rw=randwrite bs=4k "$_deep"
	[ "$2" = brd ] || return 0
	io_describe "$_row-read-1m-qd4" MB/s
	job "$_row-read-1m-qd4" mbs 1 "$_common" rw=read bs=1m \
		ioengine="$IO_ENGINE" iodepth=4 numjobs=1
	io_describe "$_row-write-1m-qd4" MB/s
	job "$_row-write-1m-qd4" mbs 1 "$_common" rw=write bs=1m \
		ioengine="$IO_ENGINE" iodepth=4 numjobs=1
}

# io_engine: io_uring if the kernel offers it, else libaio; sets
# IO_ENGINE, and IO_DEEP for the names of the deep workloads.
io_engine() {
	IO_ENGINE=libaio
	IO_DEEP=libaio-qd32x2
	if grep -q ' __x64_sys_io_uring_setup$' /proc/kallsyms &&
		[ "$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null || echo 0)" = 0 ]; then
		IO_ENGINE=io_uring
		IO_DEEP=uring-qd32x2
	fi
}

# bench_io: the section for $IMPL (raw, stock or dmx).
bench_io() {
	if [ "$IMPL" != raw ]; then
		for _b in brd null; do
			for _l in $IO_LAYOUTS; do
				echo "create bench-$_l-$_b $(io_table "$_l" "$_b")"
			done
		done | dm_setup || return 1
	fi
	fio_begin "$BENCH_TMP/io.fio" direct=1 time_based=1 \
		"runtime=$RUNTIME" "ramp_time=$RAMP" group_reporting=1 \
		randrepeat=0 norandommap=1
	for _b in brd null; do
		for _l in $IO_LAYOUTS; do
			io_jobs "$_l" "$_b"
		done
	done
	if [ "$IMPL" = raw ] && in_sections control; then
		describe bigtable-randread-4k-qd1 control IOPS higher
		job bigtable-randread-4k-qd1 iops 0 filename=/dev/nullb0 \
			"size=$((BIG_TARGETS * 8 * 512))" rw=randread bs=4k \
			ioengine=psync numjobs=1
	fi
	fio_run
	[ "$IMPL" = raw ] && return 0
	for _b in brd null; do
		for _l in $IO_LAYOUTS; do
			echo "remove bench-$_l-$_b"
		done
	done | dm_setup
}
