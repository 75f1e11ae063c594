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
