# Helpers for the differential test, tests/sh/90-differential.sh, and its
# scenarios, tests/diff/*.sh (sourced; POSIX sh for busybox ash).
#
# A scenario is a list of commands, each run through `run`, which prints
#
#   $ the command
#   its stdout
#   ! its stderr, line by line
#   -> exit status
#
# The same scenarios run once against the stock dm-mod and once against
# dmx; diff_normalise then removes what legitimately differs between the
# two (every rule says why) and the outputs must be identical.
#
# Scenarios run in a subshell with the working directory set to a scratch
# directory ($DIFF_TMP/work) and these variables:
#   R0..R3   /dev/ram0../dev/ram3, 64 MiB (131072 sectors) each, zeroed
#            before each scenario: none sees what another wrote
#   DMDIR    /dev/mapper
#   DMMAJ    the device-mapper block major (write '$DMMAJ' inside a runsh
#            string, so that the transcript shows the name, not the value)
# and the helpers of tap.sh (wait_gone for a deferred removal, say).

DIFF_TMP=${DIFF_TMP:-/tmp/diff}

# run CMD...: run CMD, print it, its output and its exit status.  stdout
# comes before stderr: the interleaving of the two is not stable anyway.
run() {
	printf '$'
	for _a in "$@"; do
		case $_a in
		*\'*) printf ' "%s"' "$_a" ;;
		'' | *[!A-Za-z0-9_./:=@+,%-]*) printf " '%s'" "$_a" ;;
		*) printf ' %s' "$_a" ;;
		esac
	done
	printf '\n'
	"$@" >"$DIFF_TMP/cmd.out" 2>"$DIFF_TMP/cmd.err"
	_rc=$?
	# Shell loops rather than cat and sed: two forks less per command
	# count in an emulated guest.  A last line without its newline
	# gets one.
	while IFS= read -r _l || [ -n "$_l" ]; do
		printf '%s\n' "$_l"
	done <"$DIFF_TMP/cmd.out"
	while IFS= read -r _l || [ -n "$_l" ]; do
		printf '! %s\n' "$_l"
	done <"$DIFF_TMP/cmd.err"
	echo "-> $_rc"
}

# runsh SCRIPT: run a shell snippet (pipes, redirections) like `run`.
runsh() {
	run sh -c "$1"
}

# note TEXT: a comment line in the transcript.
note() {
	echo "# $*"
}

# table FILE LINE...: write a table file, one target line per argument.
table() {
	_f=$1
	shift
	printf '%s\n' "$@" >"$_f"
}

# diff_normalise MAJOR: stdin to stdout, with the differences that are not
# the implementation's behaviour replaced by tokens; MAJOR is the dm block
# major.  Everything else - exit statuses, errno strings, flags, status
# and table text - is compared as it is.  The "$ command" lines are left
# alone: they are the same by construction.
diff_normalise() {
	awk -v maj="$1" '
	# tok(minor): symbolic name of a dm minor number, numbered in order
	# of first appearance in this transcript.
	function tok(m) {
		if (!(m in toks))
			toks[m] = "m" (ntoks++)
		return toks[m]
	}
	# sub_minor(s, re, lit, pre): replace every match of re in s, which
	# is an optional non-digit, the literal lit and a minor number, by
	# that non-digit, pre and the token of the minor.
	function sub_minor(s, re, lit, pre,    out, m, at, len, lead) {
		out = ""
		while (match(s, re)) {
			at = RSTART
			len = RLENGTH
			m = substr(s, at, len)
			lead = substr(m, 1, length(lit)) == lit ? "" : substr(m, 1, 1)
			match(m, /[0-9]+$/)
			out = out substr(s, 1, at - 1) lead pre \
				tok(substr(m, RSTART) + 0)
			s = substr(s, at + len)
		}
		return out s
	}
	/^\$ / { print; next }
	{
		line = $0

		# The dm block major is allocated dynamically (register_blkdev
		# with 0) by both implementations, and minors come from
		# different allocators: devices are named by token instead.
		# Forms: "254:3" (ls, ls --tree, table of a stacked device,
		# error messages), "254, 3" (deps, info "Major, minor"),
		# "dm-3" (kernel disk name: /dev/dm-3, blkdevname, sysfs).
		# Only numbers with the dm major are touched: ramdisks
		# (major 1) stay as they are.
		line = sub_minor(line, "(^|[^0-9])" maj ":[0-9]+", maj ":", "DM:")
		line = sub_minor(line, "(^|[^0-9])" maj ", +[0-9]+", maj ",", "DM, ")
		line = sub_minor(line, "(^|[^a-z0-9])dm-[0-9]+", "dm-", "dm-")

		# The event counter is not comparable: dmx bumps it on every
		# table swap by design, dm-mod only when a target signals an
		# event or the device is renamed.
		if (line ~ /^Event number: /)
			line = "Event number: N"

		# The kernel interface version: dmx reports what it
		# implements, the stock kernel what it was built with.
		if (line ~ /^Driver version: /)
			line = "Driver version: X"

		# Target versions (dmsetup targets): each implementation
		# versions its own targets.  The list itself is compared.
		if (line ~ /^[a-z0-9_-]+ +v[0-9]+\.[0-9]+\.[0-9]+$/)
			sub(/v[0-9]+\.[0-9]+\.[0-9]+$/, "vX", line)

		print line
	}'
}

# diff_scenario FILE OUT: run one scenario into OUT (raw transcript) and
# clean up after it; false if the ramdisks cannot be set up.
diff_scenario() {
	rm -rf "$DIFF_TMP/work"
	mkdir -p "$DIFF_TMP/work"
	ramdisks 4 64 || return 1
	(
		cd "$DIFF_TMP/work" || exit 1
		R0=/dev/ram0 R1=/dev/ram1 R2=/dev/ram2 R3=/dev/ram3
		DMDIR=/dev/mapper
		DMMAJ=$(dm_major)
		export DMMAJ
		# shellcheck disable=SC1090
		. "$1"
	) >"$2" 2>&1
	# Whatever the scenario left behind (its open fds are closed now
	# that its subshell is gone): part of the transcript, then gone.
	_left=$(dmsetup ls 2>&1)
	printf '# left over:\n%s\n' "$_left" >>"$2"
	[ "$_left" = "No devices found" ] || dmsetup remove_all >/dev/null 2>&1
}

# diff_run_all IMPL: every scenario of $DIFF_SCENARIOS against the loaded
# device-mapper, raw transcripts into $DIFF_TMP/IMPL, normalised ones into
# $DIFF_TMP/IMPL.n; false if the ram disks cannot be set up.
diff_run_all() {
	mkdir -p "$DIFF_TMP/$1" "$DIFF_TMP/$1.n"
	_maj=$(dm_major)
	for _s in $DIFF_SCENARIOS; do
		_n=${_s##*/}
		_n=${_n%.sh}
		diff_scenario "$_s" "$DIFF_TMP/$1/$_n" || return 1
		diff_normalise "$_maj" <"$DIFF_TMP/$1/$_n" >"$DIFF_TMP/$1.n/$_n"
	done
}

# blkdev NAME: the kernel name (dm-N) of the mapped device NAME.
blkdev() {
	dmsetup info -c --noheadings -o blkdevname "$1"
}

# infoc NAME...: `dmsetup info` in columns, without the read-ahead, which
# dmsetup looks up in the block layer: for devices that have never had a
# table, see notable_device.sh for that.
infoc() {
	run dmsetup info -c --noheadings -o name,attr,tables_loaded,open,segments,uuid "$@"
}

# load_table NAME LINE: load a one-line table into NAME; if that worked,
# show it and clear it again.
load_table() {
	run dmsetup load "$1" --table "$2"
	if [ "$_rc" = 0 ]; then
		run dmsetup table --inactive "$1"
		dmsetup clear "$1"
	fi
}
