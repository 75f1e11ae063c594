# The lanes of the torture test (sourced by tests/sh/97-torture.sh after
# tap.sh, scenario.sh and stress-lib.sh; POSIX sh for busybox ash).
#
# Data lanes: fio with verification on three devices (a linear one, a
# striped one over two flushing loop devices, a snapshot origin), each
# for TORTURE_SECS.  Meanwhile, until the data lanes end:
#   control    swaps those devices' tables for equivalent ones (same
#              mapping, other target boundaries), suspends and resumes
#              them with and without noflush and lockfs, loads and
#              clears, renames, sends messages
#   readers    status, table, deps, info, ls, ls --tree, wait, poll
#   snapshots  snapshots of the origin come and go under its writer,
#              each read twice, which must give the same bytes
#   merge      on an unrelated origin: pattern A, snapshot, pattern B,
#              the snapshot holds A; merge, and the origin reads A
# Ramdisks: ram0 under t-lin, ram1 under t-org, ram2 its snapshots'
# COW, ram3 under u-org, ram4 its snapshot's COW.
#   churn      unrelated devices created, loaded, renamed, removed
# Each lane appends its count of rounds to $TT/rounds.LANE and a line
# per failure to $TT/fail.LANE.  Every dmsetup call has a time limit;
# running into it is a failure (a hang).

TT=$STRESS_TMP/torture
STOP=$TT/stop
SECTORS=65536		# 32 MiB of each data device
mkdir -p "$TT"

# dm ARGS...: dmsetup, which must answer within 120 s.
dm() {
	timeout 120 dmsetup "$@"
	_rc=$?
	case $_rc in 124 | 137 | 143) echo "dmsetup $* did not answer in 120 s" >>"$TT/hung" ;; esac
	return $_rc
}

# lane_fail LANE TEXT
lane_fail() { echo "$2" >>"$TT/fail.$1"; }

running() { [ ! -e "$STOP" ]; }

# --- the data devices --------------------------------------------------

# linear_table SPLIT: t-lin on ram0, in one target or split at SPLIT.
linear_table() {
	if [ "$1" -eq 0 ]; then
		echo "0 $SECTORS linear /dev/ram0 0"
	else
		echo "0 $1 linear /dev/ram0 0"
		echo "$1 $((SECTORS - $1)) linear /dev/ram0 $1"
	fi
}

# striped_table SPLIT: t-str over two loops in 64-sector chunks, in one
# target or two; SPLIT is a multiple of 256 so both map alike.
striped_table() {
	if [ "$1" -eq 0 ]; then
		echo "0 $SECTORS striped 2 64 $LOOP_A 0 $LOOP_B 0"
	else
		echo "0 $1 striped 2 64 $LOOP_A 0 $LOOP_B 0"
		echo "$1 $((SECTORS - $1)) striped 2 64 $LOOP_A $(($1 / 2)) $LOOP_B $(($1 / 2))"
	fi
}

origin_table() { echo "0 $SECTORS snapshot-origin /dev/ram1"; }

make_data_devices() {
	_loops=$(make_loops 2 32) || return 1
	STRESS_LOOPS=$(echo $_loops)
	set -- $_loops
	LOOP_A=$1
	LOOP_B=$2
	linear_table 0 | dm create t-lin &&
		striped_table 0 | dm create t-str &&
		origin_table | dm create t-org
}

# fio_lane NAME DEV [FIO ARGS...]: verified random writes for the
# run's length; fio's own verdict lands in $TT/fio.NAME.
fio_lane() {
	_n=$1
	_d=$2
	shift 2
	fio --name="$_n" --filename="$_d" --direct=1 --ioengine=libaio --iodepth=8 \
		--rw=randwrite --bs=4k --size=$((SECTORS / 2))k --verify=crc32c \
		--verify_backlog=128 --verify_fatal=1 --do_verify=1 --time_based \
		--runtime="$TORTURE_SECS" --randrepeat=0 --output-format=terse \
		--terse-version=3 "$@" >"$TT/fio.$_n.out" 2>&1
	echo $? >"$TT/fio.$_n"
}

# --- control -------------------------------------------------------------

# Split points: sector multiples of 256 inside the device, or none.
SPLITS="0 256 8192 16384 30720 65280"

# pick WORD...: one of the words.  Each lane (a subshell) draws from
# its own sequence, seeded by lane().
pick() {
	LANE_SEED=$(( (LANE_SEED * 1103515245 + 12345) % 2147483648 ))
	_k=$(( LANE_SEED / 65536 % $# + 1 ))
	eval echo "\${$_k}"
}

control_round() {
	_split=$(pick $SPLITS)
	case $(pick reload reload suspend noflush clear rename message) in
	reload)
		linear_table "$_split" | dm load t-lin && dm resume t-lin ||
			lane_fail control "reload of t-lin at $_split"
		striped_table "$_split" | dm load t-str && dm resume --noflush t-str ||
			lane_fail control "reload of t-str at $_split"
		origin_table | dm load t-org && dm resume t-org ||
			lane_fail control "reload of t-org"
		;;
	suspend)
		for _d in t-lin t-str t-org; do
			dm suspend "$_d" && dm resume "$_d" || lane_fail control "suspend of $_d"
		done
		;;
	noflush)
		for _d in t-lin t-str; do
			dm suspend --noflush --nolockfs "$_d" && dm resume "$_d" ||
				lane_fail control "noflush suspend of $_d"
		done
		;;
	clear)
		linear_table "$_split" | dm load t-lin && dm clear t-lin ||
			lane_fail control "load and clear of t-lin"
		;;
	rename)
		dm rename t-lin t-lin.renamed && dm rename t-lin.renamed t-lin ||
			lane_fail control "rename of t-lin"
		;;
	message)
		dm message t-str 0 @cancel_deferred_remove ||
			lane_fail control "message to t-str"
		;;
	esac
}

# --- readers ---------------------------------------------------------------

# gone_meanwhile ERRFILE: dmsetup's errors in ERRFILE say that a device
# it had listed was gone when it asked about it, and nothing else.  The
# tree walk adds a line of its own naming the device it lost.
gone_meanwhile() {
	_gone='No such device or address|^Device does not exist\.$'
	_walk='^_deps: task run failed for \([0-9]+:[0-9]+\)$'
	grep -q -E "$_gone" "$1" &&
		! grep -v -E "$_gone|$_walk|^Command failed\.$" "$1" | grep -q .
}

readers_round() {
	for _d in t-lin t-str t-org; do
		# A rename in flight can hide t-lin for a moment.
		dm status "$_d" >/dev/null 2>&1 || [ "$_d" = t-lin ] || lane_fail readers "status $_d"
		dm table "$_d" >/dev/null 2>&1 || [ "$_d" = t-lin ] || lane_fail readers "table $_d"
		dm deps "$_d" >/dev/null 2>&1 || [ "$_d" = t-lin ] || lane_fail readers "deps $_d"
		dm info "$_d" >/dev/null 2>&1 || [ "$_d" = t-lin ] || lane_fail readers "info $_d"
	done
	dm ls >/dev/null || lane_fail readers "ls"
	# The churn lane's devices may go between the list and the query
	# of one, on any device-mapper: dmsetup then says ENXIO (a deps
	# query), or "Device does not exist." (a status query, whose ENXIO
	# libdevmapper reads as the device's absence).
	dm ls --tree >/dev/null 2>"$TT/readers-tree.err" ||
		gone_meanwhile "$TT/readers-tree.err" ||
		lane_fail readers "ls --tree: $(tr '\n' ' ' <"$TT/readers-tree.err")"
	dm status >/dev/null 2>"$TT/readers-status.err" ||
		gone_meanwhile "$TT/readers-status.err" ||
		lane_fail readers "status of all: $(tr '\n' ' ' <"$TT/readers-status.err")"
	# The next event of t-str: the control lane's next swap or suspend.
	_ev=$(dm info -c --noheadings -o events t-str 2>/dev/null)
	[ -z "$_ev" ] || timeout 5 dmsetup wait t-str "$_ev" >/dev/null 2>&1
	# Any device's next event, as dmeventd waits for it.
	"$STRESS_TOOLS/pollwait" 5000
	[ $? -ne 2 ] || lane_fail readers "poll on the control device"
}

# --- snapshots of the live origin -----------------------------------------

# read_sum DEV: checksum of the first 4 MiB, read past the page cache.
read_sum() {
	dd if="$1" bs=64k count=64 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1
}

snapshots_round() {
	dd if=/dev/zero of=/dev/ram2 bs=64k count=1 oflag=direct 2>/dev/null
	_store=$(pick P N PO)
	# LVM suspends the origin around it; dmx allows it live too.
	_live=$(pick yes no)
	[ "$_live" = yes ] || dm suspend t-org || lane_fail snapshots "suspend of t-org"
	echo "0 $SECTORS snapshot /dev/ram1 /dev/ram2 $_store 8" | dm create t-snap ||
		lane_fail snapshots "create of a $_store snapshot"
	[ "$_live" = yes ] || dm resume t-org || lane_fail snapshots "resume of t-org"
	if [ -b /dev/mapper/t-snap ]; then
		_a=$(read_sum /dev/mapper/t-snap)
		_b=$(read_sum /dev/mapper/t-snap)
		[ "$_a" = "$_b" ] ||
			lane_fail snapshots "a $_store snapshot changed under its origin's writer"
		dm status t-snap | grep -q Invalid &&
			lane_fail snapshots "a $_store snapshot became invalid"
	fi
	dm remove t-snap || lane_fail snapshots "remove of a $_store snapshot"
}

# --- merge, on an origin nobody else writes -----------------------------

merge_round() {
	dd if=/dev/zero of=/dev/ram4 bs=64k count=1 oflag=direct 2>/dev/null
	echo "0 $SECTORS snapshot-origin /dev/ram3" | dm create u-org || {
		lane_fail merge "create of u-org"
		return
	}
	dd if="$TT/pattern.a" of=/dev/mapper/u-org bs=64k oflag=direct 2>/dev/null
	dm suspend u-org
	echo "0 $SECTORS snapshot /dev/ram3 /dev/ram4 P 8" | dm create u-snap
	dm resume u-org
	dd if="$TT/pattern.b" of=/dev/mapper/u-org bs=64k oflag=direct 2>/dev/null
	[ "$(read_sum /dev/mapper/u-snap)" = "$SUM_A" ] ||
		lane_fail merge "the snapshot lost the origin's first contents"
	[ "$(read_sum /dev/mapper/u-org)" = "$SUM_B" ] ||
		lane_fail merge "the origin lost its second contents"
	# LVM's order: suspend the origin, drop the snapshot, merge.
	dm suspend u-org && dm remove u-snap &&
		echo "0 $SECTORS snapshot-merge /dev/ram3 /dev/ram4 P 8" | dm load u-org &&
		dm resume u-org || lane_fail merge "start of a merge"
	[ "$(read_sum /dev/mapper/u-org)" = "$SUM_A" ] ||
		lane_fail merge "the merging origin does not read as the snapshot"
	# Removed while it merges: nothing waits for the merge.
	dm remove u-org || lane_fail merge "remove of a merging origin"
}

# --- churn -----------------------------------------------------------------

churn_round() {
	_n=u-churn.$1
	echo "0 2048 zero" | dm create "$_n" || lane_fail churn "create of $_n"
	echo "0 1024 linear /dev/mapper/$_n 0" | dm create "$_n.top" ||
		lane_fail churn "create of $_n.top"
	dm rename "$_n.top" "$_n.up" || lane_fail churn "rename of $_n.top"
	dm remove "$_n" 2>/dev/null && lane_fail churn "remove of $_n under $_n.up worked"
	dm remove "$_n.up" && dm remove "$_n" || lane_fail churn "remove of $_n and $_n.up"
}

# lane NAME SEED: runs NAME_round until the data lanes end, counting
# rounds.
lane() {
	LANE_SEED=$2
	_r=0
	command -v "${1}_round" >/dev/null || lane_fail "$1" "no lane called $1"
	while running; do
		"${1}_round" "$_r"
		_r=$((_r + 1))
	done
	echo "$_r" >"$TT/rounds.$1"
}
