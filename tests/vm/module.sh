#!/bin/sh
# Build dmx.ko for the guest kernel (DMX_KERNEL, see tests/vm/kernel.sh)
# from the tree's sources, for that kernel alone: one tree, one module per
# kernel, and the tree's own dmx.ko (make) untouched.
#
# Usage: eval "$(sh tests/vm/module.sh [MAKE ARGUMENTS...])"
#   prints DMX_KO=<path of the module>; build output goes to stderr.  Make
#   arguments are passed on (make lint: C=2 for sparse).
#
# Kbuild before 6.13 builds an external module only inside its source
# directory, so what Kbuild builds dmx from (Kbuild, the sources it lists,
# include/) is copied into a directory made afresh for this build: nothing
# a build in the tree generated, nor a removed source, comes along, and two
# runs at once never build in one directory.  The module lands in
# $DMX_BUILD/module/<abi>/dmx.ko, replaced in one rename.
set -eu
VM_DIR=$(cd "$(dirname "$0")" && pwd)
. "$VM_DIR/common.sh"

eval "$(sh "$VM_DIR/kernel.sh")"
dir=$DMX_BUILD/module/$DMX_ABI
mkdir -p "$dir"
build=$(mktemp -d "$dir.build.XXXXXX")
trap 'rm -rf "$build"' EXIT
copy_module_sources "$build"
msg "building dmx.ko for $DMX_ABI"
make -s -j"$(nproc)" -C "$DMX_KDIR" M="$build" "$@" modules >&2 ||
	die "cannot build dmx.ko for $DMX_ABI (kbuild tree $DMX_KDIR)"
cp "$build/dmx.ko" "$dir/dmx.ko.$$"
mv -f "$dir/dmx.ko.$$" "$dir/dmx.ko"
echo "DMX_KO=$dir/dmx.ko"
