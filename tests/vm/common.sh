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
