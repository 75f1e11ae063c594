# Shared settings and helpers for the host-side VM scripts (sourced, POSIX sh).
#
# The sourcing script sets VM_DIR to its own directory first:
#   VM_DIR=$(cd "$(dirname "$0")" && pwd); . "$VM_DIR/common.sh"

DMX_ROOT=$(cd "$VM_DIR/../.." && pwd)           # top of the repository
DMX_CACHE=${DMX_CACHE:-/var/cache/dmx}           # downloads, kernels, harness
DMX_BUILD=${DMX_BUILD:-$DMX_ROOT/tests/build}    # every build output
export DMX_ROOT DMX_CACHE DMX_BUILD

# The guest kernel (tests/vm/kernel.sh): 6.1 (Debian 12's), 6.12 or debug.
DMX_KERNEL=${DMX_KERNEL:-6.1}
[ "$DMX_KERNEL" != stock ] || DMX_KERNEL=6.1
export DMX_KERNEL

# The kernels `make check` runs on, in order.
DMX_KERNELS_ALL="6.1 6.12"

# vm_out: where a VM run for DMX_KERNEL keeps its logs and images; 6.1
# (and the debug kernel) in vm/, as always, others in vm-<kernel>/.
vm_out() {
	case $DMX_KERNEL in
	6.1 | debug) echo "$DMX_BUILD/vm" ;;
	*) echo "$DMX_BUILD/vm-$DMX_KERNEL" ;;
	esac
}

# Debian keeps admin tools in /usr/sbin; make sure we see them as non-root.
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
export PATH

# Progress messages go to stderr so stdout stays usable for results.
msg() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { msg "error: $*"; exit 1; }

# now_ms: wall clock in milliseconds, for the timings we print.
now_ms() { date +%s%3N; }

# elapsed SINCE_MS: seconds since SINCE_MS with one decimal.
elapsed() { awk -v a="$1" -v b="$(now_ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }'; }

# module_sources: the module's C sources, one a line relative to DMX_ROOT,
# as Kbuild lists them: never a dmx.mod.c a build in the tree left, nor a
# file that is no source any more.
module_sources() {
	printf 'include %s/Kbuild\n$(info $(patsubst %%.o,%%.c,$(dmx-y)))\nall: ;\n' \
		"$DMX_ROOT" | make -s -f - all | tr ' ' '\n' | sed '/^$/d'
}

# copy_module_sources DIR: DIR made afresh, holding what Kbuild builds dmx
# from (Kbuild, the module's sources, include/), with their times.
copy_module_sources() {
	rm -rf "$1"
	mkdir -p "$1"
	(cd "$DMX_ROOT" && cp -pR Kbuild $(module_sources) include "$1/") ||
		die "cannot copy the module's sources to $1"
}

# --- Debian packages, fetched into the cache ----------------------------

# APT...: apt-get or apt-cache (first word) on the host's apt state, or on
# the private one when APT_DIR is set.
apt_run() {
	tool=$1
	shift
	if [ -z "${APT_DIR:-}" ]; then
		"$tool" "$@"
		return
	fi
	"$tool" -o Dir::Etc::SourceList="$APT_DIR/sources.list" \
		-o Dir::Etc::SourceParts="$APT_DIR/sources.list.d" \
		-o Dir::State::Lists="$APT_DIR/lists" \
		-o Dir::State::status="$APT_DIR/status" \
		-o Dir::Cache="$APT_DIR/cache" "$@"
}

apt_update() {
	[ "$(id -u)" -eq 0 ] || die "apt-get update needed (run as root)"
	msg "apt-get update${APT_DIR:+ ($APT_DIR)}"
	apt_run apt-get update -qq >&2
}

# cached_deb PKG: path of PKG's .deb in the cache, downloading it if needed.
cached_deb() {
	deb=$(ls "$DMX_CACHE/$1"_*.deb 2>/dev/null | tail -n 1 || true)
	if [ -z "$deb" ]; then
		msg "downloading $1"
		mkdir -p "$DMX_CACHE"
		if ! (cd "$DMX_CACHE" && apt_run apt-get download "$1" >&2); then
			# An empty or stale package list is the usual reason.
			apt_update
			(cd "$DMX_CACHE" && apt_run apt-get download "$1" >&2) ||
				die "apt-get download $1 failed"
		fi
		deb=$(ls "$DMX_CACHE/$1"_*.deb | tail -n 1)
	fi
	echo "$deb"
}

# Debian 12's own kernel source: the kselftest harness, checkpatch.pl and
# the debug kernel all come from it.
DMX_SOURCE_SERIES=6.1

# The tests the debug-kernel gate (tests/vm/debug-gate.sh) runs: the C
# ioctl suites, the lifecycle races, the fuzzer, fault injection and the
# torture.  When the gate follows, make check leaves them out of its run
# on the gate's series (tests/vm/check.sh --gate-follows).
DMX_GATE_TESTS='ioctl_*,privilege*,reply_bytes*,lifecycle_races*,fuzz_found*,95-fuzz,96-faults,97-torture'

# The tests whose subject does not change with the kernel, which make
# check --once runs on one kernel only (CI does, for time; make check
# alone runs them on both): LVM2's workflows over the ioctl interface on
# the first kernel, and on the last one the on-disk formats shared with
# the stock dm (a store written by one read by the other) and the
# side-by-side differential run, which balances the two kernels' runs.
DMX_ONCE_FIRST_TESTS='57-snapshot-lvm,59-thin-lvm,62-mirror-lvm,80-lvm,82-udev-lvm'
DMX_ONCE_LAST_TESTS='54-snapshot-interop,58-crypt-interop,59-thin-interop,90-differential'

# linux_source_unpack SERIES DIR [TAR ARGUMENTS...]: DIR made from the
# tarball in linux-source-SERIES's .deb: the members the TAR ARGUMENTS
# name (with options such as --strip-components), or else all of it.
# Unpacked beside DIR and renamed, so that an interrupted run leaves no
# half a DIR behind.
linux_source_unpack() {
	ls_series=$1
	ls_dir=$2
	shift 2
	ls_deb=$(cached_deb "linux-source-$ls_series")
	msg "unpacking $ls_deb"
	rm -rf "$ls_dir.tmp"
	mkdir -p "$ls_dir.tmp"
	# Stream: .deb -> data tar -> the source .tar.xz -> what was asked for.
	dpkg-deb --fsys-tarfile "$ls_deb" |
		tar -xOf - "./usr/src/linux-source-$ls_series.tar.xz" |
		tar -xJf - -C "$ls_dir.tmp" "$@" ||
		die "cannot unpack linux-source-$ls_series from $ls_deb"
	rm -rf "$ls_dir"
	mv "$ls_dir.tmp" "$ls_dir"
}

# --- the test VM --------------------------------------------------------

# vm_qemu TIMEOUT INITRD CMDLINE CONSOLE RESULTS [QEMU ARGUMENTS...]: boot
# DMX_VMLINUZ with INITRD under TCG, the machine every run uses, for at
# most TIMEOUT seconds (0: no limit); ttyS0 (the kernel console) goes to
# qemu's serial device CONSOLE (e.g. file:PATH, stdio), ttyS1 (the guest's
# results) to the file RESULTS.  The guest's command line is CMDLINE after
# the settings every run has: an Oops panics, and the panic powers the VM
# off (panic=-1 with -no-reboot), since after an Oops the kernel holds dead
# locks and going on only wastes the time limit.  User space runs without
# address randomisation (norandmaps): QEMU finds the code it translated
# for one process again in the next only at the same addresses, and the
# suite is mostly short-lived processes (dmsetup, lvm: twice as fast to
# start, 80-lvm.sh 20% faster).  The kernel's own KASLR stays.  Slab debugging
# (slub_debug=FZPU: red zones, poisoning, sanity checks) is on unless
# VM_SLUB_DEBUG says otherwise (run.sh sets it empty in bench mode: it
# costs every slab allocation a stack trace, which is not what a
# production kernel measures; and on the debug kernel, where KASAN
# checks slab accesses instead).  --foreground keeps qemu in the
# terminal's process group, so ^C stops it.
#
# It execs qemu (or timeout): call it in a subshell, e.g. (vm_qemu ...) &,
# whose pid is then qemu's.
vm_qemu() {
	vq_timeout=$1
	vq_initrd=$2
	vq_cmdline="console=ttyS0 loglevel=5 panic=-1 oops=panic norandmaps ${VM_SLUB_DEBUG-slub_debug=FZPU} $3"
	vq_console=$4
	vq_results=$5
	shift 5
	set -- qemu-system-x86_64 -accel tcg -m 2048 -smp 2 -cpu max \
		-kernel "$DMX_VMLINUZ" -initrd "$vq_initrd" -append "$vq_cmdline" \
		-display none -vga none -monitor none -no-reboot -net none \
		-serial "$vq_console" -serial "file:$vq_results" "$@"
	[ "$vq_timeout" -eq 0 ] || set -- timeout --foreground -k 10 "$vq_timeout" "$@"
	exec "$@"
}

# What counts as kernel trouble, looked for in timestamped kernel lines
# only (so a test's own "WARNING:" on the console does not count).
VM_TROUBLE='dmx-leak: unreferenced object|BUG:|kernel BUG at|BUG [^ ]+ \(.*[Tt]ainted\)|WARNING:|Oops|Call Trace|general protection|soft lockup|hung task|blocked for more than|KASAN|UBSAN|[Kk]ernel panic|possible recursive locking|circular locking'
VM_KLINE='^\[ *[0-9]+\.[0-9]+\] '

# kernel_trouble FILE: print the context of the first kernel reports in
# FILE; false if there are none.
kernel_trouble() {
	[ -s "$1" ] || return 1
	tr -d '\r' <"$1" | grep -aE "$VM_KLINE" | grep -aqE "$VM_TROUBLE" || return 1
	echo "# kernel trouble in $1:"
	tr -d '\r' <"$1" | grep -aE "$VM_KLINE" | grep -anE -B 2 -A 25 -m 2 "$VM_TROUBLE" |
		head -n 60 | sed 's/^/#   /'
}
