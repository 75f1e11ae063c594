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
# directory, so the sources (Kbuild, *.c, include/) are copied into
# $DMX_BUILD/module/<abi>/ with their times kept: make then rebuilds what
# changed since the last run only.
set -eu
VM_DIR=$(cd "$(dirname "$0")" && pwd)
. "$VM_DIR/common.sh"

eval "$(sh "$VM_DIR/kernel.sh")"
dir=$DMX_BUILD/module/$DMX_ABI
mkdir -p "$dir"
# Sources gone from the tree must not linger in the copy.
rm -rf "$dir/include" "$dir/Kbuild"
rm -f "$dir"/*.c
cp -p "$DMX_ROOT/Kbuild" "$DMX_ROOT"/*.c "$dir/"
cp -pR "$DMX_ROOT/include" "$dir/include"
msg "building dmx.ko for $DMX_ABI"
make -s -C "$DMX_KDIR" M="$dir" "$@" modules >&2 ||
	die "cannot build dmx.ko for $DMX_ABI (kbuild tree $DMX_KDIR)"
echo "DMX_KO=$dir/dmx.ko"
