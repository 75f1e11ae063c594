#!/bin/sh
# Build the host tests of the persistent-data engine and the thin pool
# metadata: the kernel files themselves, over tests/host/shim.
#
# Usage: sh tests/host/build.sh [OUTDIR]   (default $DMX_BUILD/host)
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-${DMX_BUILD:-$ROOT/tests/build}/host}
mkdir -p "$OUT"
SRC="dm-pdata-tm.c dm-pdata-sm-meta.c dm-pdata-sm-disk.c dm-pdata-btree.c
dm-pdata-btree-remove.c dm-thin-metadata.c"
# shellcheck disable=SC2086 # word lists
set -- $(for f in $SRC; do echo "$ROOT/$f"; done)
gcc -O1 -g -Wall -Werror -Wno-unused-function -fsanitize=address,undefined \
	-fno-omit-frame-pointer -I"$ROOT/tests/host/shim" -I"$ROOT/include" \
	-o "$OUT/thin_md_model" "$@" "$ROOT/tests/host/pdata_bm_host.c" \
	"$ROOT/tests/host/thin_md_model.c"
echo "$OUT/thin_md_model"
