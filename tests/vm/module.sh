#!/bin/sh
# Build dmx.ko for the guest kernel (DMX_KERNEL, see tests/vm/kernel.sh)
# from the tree's sources, in a build directory of that kernel's own: one
# tree, one module per kernel, and the tree's own dmx.ko (make) untouched.
#
# Usage: eval "$(sh tests/vm/module.sh [MAKE ARGUMENTS...])"
#   prints DMX_KO=<path of the module>; build output goes to stderr.  Make
#   arguments are passed on (make lint: C=2 for sparse).
#
# Kbuild before 6.13 builds an external module only inside its source
# directory, so what Kbuild builds dmx from (Kbuild, the sources it lists,
# include/) is copied into $DMX_BUILD/module/<abi>/, made afresh each time:
# nothing a build in the tree generated, nor a removed source, comes along.
set -eu
VM_DIR=$(cd "$(dirname "$0")" && pwd)
. "$VM_DIR/common.sh"

eval "$(sh "$VM_DIR/kernel.sh")"
dir=$DMX_BUILD/module/$DMX_ABI
copy_module_sources "$dir"
msg "building dmx.ko for $DMX_ABI"
make -s -j"$(nproc)" -C "$DMX_KDIR" M="$dir" "$@" modules >&2 ||
	die "cannot build dmx.ko for $DMX_ABI (kbuild tree $DMX_KDIR)"
echo "DMX_KO=$dir/dmx.ko"
