# Shared settings and helpers for the host-side VM scripts (sourced, POSIX sh).
#
# The sourcing script sets VM_DIR to its own directory first:
#   VM_DIR=$(cd "$(dirname "$0")" && pwd); . "$VM_DIR/common.sh"

DMX_ROOT=$(cd "$VM_DIR/../.." && pwd)           # top of the repository
DMX_CACHE=${DMX_CACHE:-/var/cache/dmx}           # downloads, kernels, harness
DMX_BUILD=${DMX_BUILD:-$DMX_ROOT/tests/build}    # every build output
export DMX_ROOT DMX_CACHE DMX_BUILD

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
