#!/bin/sh
# make bench: dmx against the stock device-mapper and the raw devices
# underneath, in one VM boot.
#
# Sections (each a file sourced here, a function bench_NAME run for the
# loaded implementation IMPL): io.sh (linear and striped I/O, also on
# the raw devices), snapshot.sh (origin first writes, memory per
# exception), control.sh (the control plane, the suspend window, memory
# per device and per target), and every *.bench hook of a target
# (crypt, thin), which keeps its figures in $RESULTS/NAME.$IMPL.
#
# Every round runs every section for raw, stock and dmx in turn, the
# order reversed every other round, so that a slow stretch of the host
# does not fall on one implementation; the table gives the median of the
# rounds of each figure and the ratios (above 1: dmx is better).  Under
# TCG the absolute figures mean little; the ratios in one boot are the
# result.
#
# Settings, from the guest's command line (DMX_GUEST_ARGS on the host):
#   dmx.bench_rounds=N         rounds (default 3)
#   dmx.bench_runtime=TIME     timed part of a fio job (default 1 s)
#   dmx.bench_ramp=TIME        warm-up per fio job, not counted (250ms)
#   dmx.bench_devices=N[,N]    device counts of the control section (1000)
#   dmx.bench_ctl_rounds=N     rounds that run the control section (1)
#   dmx.bench_hook_rounds=N    rounds that run the *.bench hooks (1)
#   dmx.bench_sections=LIST    comma-separated subset of
#                              io,snapshot,control,hooks (all)
#   dmx.bench_hooks=LIST       comma-separated subset of the hooks,
#                              e.g. thin (all)
#   dmx.bench_layouts=LIST     the io section's layouts, a subset of
#                              linear,striped2,striped4 (all)
#
# Output: a TAP line per figure, and the table as "# md: " lines, which
# tests/bench/results.sh turns into bench/RESULTS.md (RESULTS-<kernel>.md
# for a kernel other than 6.1) on the host.
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"

BENCH_DIR=/tests/bench
BENCH_BIN=$BENCH_DIR/bin
BENCH_TMP=/tmp/bench
BIG_TARGETS=100000
FIGURES=$BENCH_TMP/figures	# ROUND IMPL ROW VALUE
ROWS=$BENCH_TMP/rows		# ROW SECTION UNIT higher|lower, first seen first
LOG=$BENCH_TMP/log

# setting NAME DEFAULT: dmx.bench_NAME= of the command line, or DEFAULT.
setting() {
	_v=$(tr ' ' '\n' </proc/cmdline | sed -n "s/^dmx\.bench_$1=//p" | tail -n 1)
	echo "${_v:-$2}"
}

ROUNDS=$(setting rounds 3)
RUNTIME=$(setting runtime 1)
RAMP=$(setting ramp 250ms)
DEVICES=$(setting devices 1000 | tr , ' ')
CTL_ROUNDS=$(setting ctl_rounds 1)
HOOK_ROUNDS=$(setting hook_rounds 1)
SECTIONS=$(setting sections io,snapshot,control,hooks | tr , ' ')
HOOKS=$(setting hooks all | tr , ' ')

# --- figures -----------------------------------------------------------

# describe ROW SECTION UNIT higher|lower: what a row measures.
describe() {
	grep -q "^$1 " "$ROWS" 2>/dev/null || echo "$1 $2 $3 $4" >>"$ROWS"
}

# record ROW VALUE: a figure of IMPL in this round.
record() {
	[ -n "$2" ] || return 0
	echo "$ROUND $IMPL $1 $2" >>"$FIGURES"
}

# run_logged CMD...: CMD with its errors in the log; a failure is
# reported as a diagnostic.
run_logged() {
	"$@" 2>>"$LOG" && return 0
	diag "$IMPL round $ROUND: failed: $*"
	diag "$(tail -n 3 "$LOG")"
	return 1
}

# devnum NAME: MAJOR:MINOR of /dev/NAME.
devnum() {
	cat "/sys/block/$1/dev"
}

# dm_setup: "create NAME TABLE" and "remove NAME" lines from stdin.
dm_setup() {
	while read -r _op _name _table; do
		case $_op in
		create) run_logged dmsetup create "$_name" --table "$_table" ;;
		remove) run_logged dmsetup remove "$_name" ;;
		esac || return 1
	done
}

remove_all_dm() {
	dmsetup remove_all >/dev/null 2>&1 || :
}

# uptime_cs: the time since boot in hundredths of a second.
uptime_cs() {
	awk '{ split($1, t, "."); print t[1] * 100 + substr(t[2] "00", 1, 2) }' /proc/uptime
}

# --- memory ------------------------------------------------------------

# mem_snapshot: "SLAB VMALLOC PERCPU" in KiB, after RCU callbacks ran.
mem_snapshot() {
	sync
	echo 2 >/proc/sys/vm/drop_caches
	awk '/^Slab:/ { s = $2 } /^VmallocUsed:/ { v = $2 } /^Percpu:/ { p = $2 }
		END { print s + 0, v + 0, p + 0 }' /proc/meminfo
}

describe_mem() {
	for _k in slab vmalloc percpu; do
		describe "$1-mem-$_k" memory B lower
	done
}

# record_mem PREFIX BEFORE AFTER COUNT: bytes per item of each kind.
record_mem() {
	set -- "$1" $2 $3 "$4"
	_prefix=$1
	_count=${8:-1}
	record "$_prefix-mem-slab" $(((($5 - $2) * 1024) / _count))
	record "$_prefix-mem-vmalloc" $(((($6 - $3) * 1024) / _count))
	record "$_prefix-mem-percpu" $(((($7 - $4) * 1024) / _count))
}

# --- fio ---------------------------------------------------------------

# fio_begin FILE OPTION...: a job file with OPTIONs as its globals.
# Jobs are threads: under TCG, forking fio costs more than a short job.
fio_begin() {
	FIO_FILE=$1
	shift
	printf '[global]\nthread=1\n' >"$FIO_FILE"
	for _o in "$@"; do echo "$_o"; done >>"$FIO_FILE"
	: >"$FIO_FILE.jobs"
}

# job NAME iops|mbs JOBS OPTION...: a job of its own group, after the
# previous one; JOBS (its numjobs, 0 for none) also gives the NAME-cpu
# row, system CPU microseconds per I/O.  An OPTION may hold several
# lines.
job() {
	_name=$1
	echo "$1 $2 $3" >>"$FIO_FILE.jobs"
	shift 3
	{
		echo "[$_name]"
		echo stonewall
		echo new_group
		for _o in "$@"; do echo "$_o"; done
	} >>"$FIO_FILE"
}

# fio_run: run the job file; record each job's figure (terse v3: field 3
# the job name, 7/48 read/write KiB/s, 8/49 IOPS, 89 system CPU %).
fio_run() {
	run_logged fio --output-format=terse --terse-version=3 "$FIO_FILE" \
		>"$FIO_FILE.out" || return 1
	awk -F';' -v jobs="$FIO_FILE.jobs" '
		BEGIN { while ((getline l < jobs) > 0) { split(l, f, " ");
			kind[f[1]] = f[2]; n[f[1]] = f[3] } }
		$1 == 3 && ($3 in kind) {
			iops = $8 + $49
			if (kind[$3] == "mbs") print $3, ($7 + $48) / 1000
			else print $3, int(iops)
			sys = $89; sub(/%/, "", sys)
			if (n[$3] > 0 && iops > 0)
				print $3 "-cpu", sys * n[$3] * 10000 / iops
		}' "$FIO_FILE.out" | while read -r _row _v; do
		record "$_row" "$_v"
	done
}

# fio_iops NAME FIO-ARGS...: IOPS of a timed run on /dev/mapper/bench,
# for the hooks.
fio_iops() {
	_name=$1
	shift
	fio --name="$_name" --filename=/dev/mapper/bench --direct=1 \
		--time_based --runtime="$RUNTIME" --ramp_time="$RAMP" \
		--output-format=terse --terse-version=3 "$@" 2>>"$LOG" |
		awk -F';' '{ printf "%d\n", $8 + $49 }'
}

# --- sections ------------------------------------------------------------

. "$BENCH_DIR/io.sh"
. "$BENCH_DIR/snapshot.sh"
. "$BENCH_DIR/control.sh"

# hook_unit NAME: the unit a hook's figure is in, from its name.
hook_unit() {
	case $1 in
	*-mbs) echo MB/s ;;
	*-create-*) echo per-min ;;
	*) echo IOPS ;;
	esac
}

# bench_hooks: each *.bench, its figures collected from $RESULTS.
bench_hooks() {
	for _hook in "$BENCH_DIR"/*.bench; do
		[ -f "$_hook" ] || continue
		_section=$(basename "$_hook" .bench)
		case " $HOOKS " in *" all "* | *" $_section "*) ;; *) continue ;; esac
		RESULTS=$BENCH_TMP/hook-$_section-$ROUND-$IMPL
		mkdir -p "$RESULTS"
		(. "$_hook") >>"$LOG" 2>&1
		remove_all_dm
		for _f in "$RESULTS"/*."$IMPL"; do
			[ -f "$_f" ] || continue
			_row=$(basename "$_f" ".$IMPL")
			describe "$_row" "$_section" "$(hook_unit "$_row")" higher
			record "$_row" "$(cat "$_f")"
		done
	done
}

in_sections() {
	case " $SECTIONS " in *" $1 "*) return 0 ;; esac
	return 1
}

# switch_to IMPL: the device-mapper IMPL names loaded (raw keeps what is).
switch_to() {
	IMPL=$1
	[ "$1" = raw ] && return 0
	remove_all_dm
	unload_dm || die "cannot unload the loaded device-mapper"
	if [ "$1" = stock ]; then
		use_stock_dm || die "cannot load the stock dm-mod"
	else
		DMX_IMPL=dmx use_dmx || die "cannot load dmx"
	fi
}

# section NAME: bench_NAME, if selected, and how long it took.
section() {
	in_sections "$1" || return 0
	_t0=$(cut -d' ' -f1 /proc/uptime)
	"bench_$1"
	diag "round $ROUND $IMPL $1: $(awk -v a="$_t0" '{ printf "%d", $1 - a }' /proc/uptime) s"
}

# run_impl IMPL: every section for IMPL in this round.
run_impl() {
	switch_to "$1"
	section io
	[ "$IMPL" != raw ] || return 0
	section snapshot
	[ "$ROUND" -gt "$CTL_ROUNDS" ] || section control
	[ "$ROUND" -gt "$HOOK_ROUNDS" ] || section hooks
}

# --- the table ---------------------------------------------------------

# report: a TAP line per row and the markdown table, from the medians.
report() {
	awk -v rowsfile="$ROWS" '
		function median(key,   c, i, j, t, a) {
			c = cnt[key]
			if (!c) return ""
			for (i = 1; i <= c; i++) a[i] = val[key, i]
			for (i = 2; i <= c; i++)
				for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
					t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
				}
			if (c % 2) return a[(c + 1) / 2]
			return (a[c / 2] + a[c / 2 + 1]) / 2
		}
		function ratio(better, worse, dir) {
			if (better == "" || worse == "") return ""
			if (dir == "higher") return worse > 0 ? sprintf("%.2f", better / worse) : ""
			return better > 0 ? sprintf("%.2f", worse / better) : ""
		}
		function fmt(v) {
			if (v == "") return "-"
			if (v >= 100 || v == int(v)) return sprintf("%d", v + 0.5)
			return sprintf("%.2f", v)
		}
		{ k = $3 SUBSEP $2; val[k, ++cnt[k]] = $4 + 0 }
		END {
			print "# md: | row | unit | raw | stock | dmx | dmx vs stock | dmx vs raw | stock vs raw | rounds |"
			print "# md: |---|---|---:|---:|---:|---:|---:|---:|---:|"
			# The rows of a section together, sections in first-seen order.
			while ((getline l < rowsfile) > 0) {
				split(l, f, " ")
				if (!(f[2] in seen)) { seen[f[2]] = 1; order[++nsec] = f[2] }
				line[f[2], ++nrow[f[2]]] = l
			}
			for (si = 1; si <= nsec; si++) for (ri = 1; ri <= nrow[order[si]]; ri++) {
				split(line[order[si], ri], f, " ")
				row = f[1]; unit = f[3]; dir = f[4]
				r = median(row SUBSEP "raw")
				s = median(row SUBSEP "stock")
				d = median(row SUBSEP "dmx")
				vs = ratio(d, s, dir)
				vr = ratio(d, r, dir); sr = ratio(s, r, dir)
				n = cnt[row SUBSEP "dmx"]
				if (section != f[2]) {
					section = f[2]
					print "# md: | **" section "** | | | | | | | | |"
				}
				printf "# md: | %s | %s | %s | %s | %s | %s | %s | %s | %d |\n",
					row, unit, fmt(r), fmt(s), fmt(d),
					vs == "" ? "-" : vs, vr == "" ? "-" : vr,
					sr == "" ? "-" : sr, n
				tap = "bench_" row " raw=" fmt(r) " stock=" fmt(s) " dmx=" fmt(d) " ratio=" (vs == "" ? "-" : vs)
				if (d == "" || (s == "" && r == "")) printf "not ok - %s (no figure)\n", tap
				else printf "ok - %s\n", tap
			}
		}' "$FIGURES"
}

main() {
	rm -rf "$BENCH_TMP"
	mkdir -p "$BENCH_TMP"
	: >"$FIGURES"
	: >"$ROWS"
	ramdisks 8 64 || die "cannot make ramdisks"
	unload_modules null_blk
	modprobe null_blk nr_devices=4 gb=4 memory_backed=0 irqmode=0 \
		queue_mode=2 || die "cannot load null_blk"
	# Writeback throttling would pace null_blk's writes (and dm's on
	# it) by its latency timer, not by the cost of the I/O path.
	for _q in /sys/block/nullb*/queue/wbt_lat_usec; do
		echo 0 >"$_q"
	done
	io_engine
	_start=$(cut -d' ' -f1 /proc/uptime)
	ROUND=1
	while [ "$ROUND" -le "$ROUNDS" ]; do
		if [ $((ROUND % 2)) = 1 ]; then
			_order="raw stock dmx"
		else
			_order="dmx stock raw"
		fi
		for _impl in $_order; do
			run_impl "$_impl"
		done
		ROUND=$((ROUND + 1))
	done
	_secs=$(awk -v a="$_start" '{ printf "%d", $1 - a }' /proc/uptime)
	echo "# md: Kernel \`$(uname -r)\` ($(uname -v)), 2 vCPUs under TCG;" \
		"$ROUNDS rounds (control section: $CTL_ROUNDS, crypt and thin:" \
		"$HOOK_ROUNDS), fio jobs of" \
		"${RUNTIME}s after a ${RAMP} ramp, $IO_ENGINE for the deep" \
		"queues; $DEVICES devices in the control section;" \
		"the measuring took $_secs s."
	echo "# md:"
	report
	# Every figure of every round, to judge the spread behind a median.
	sed 's/^/# fig: /' "$FIGURES"
	diag "errors logged during the run:"
	diag "$(tail -n 20 "$LOG")"
}

main
