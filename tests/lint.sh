#!/bin/sh
# make lint: checkpatch.pl over every source file and sparse over the build.
#
# Usage: sh tests/lint.sh KDIR
# checkpatch.pl is not in the headers package: it is taken once from
# Debian's linux-source package into $DMX_CACHE/checkpatch/.
set -eu
KDIR=$1
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DMX_CACHE=${DMX_CACHE:-/var/cache/dmx}
CP_DIR=$DMX_CACHE/checkpatch

# fetch_checkpatch: scripts/checkpatch.pl and the data files it reads.
fetch_checkpatch() {
	[ -x "$CP_DIR/scripts/checkpatch.pl" ] && return
	series=$(sed -n 's/^VERSION = \([0-9]*\)$/\1/p;s/^PATCHLEVEL = \([0-9]*\)$/.\1/p' \
		"$KDIR/Makefile" | tr -d '\n')
	[ -n "$series" ] || series=6.1
	deb=$(ls "$DMX_CACHE"/linux-source-"$series"_*.deb 2>/dev/null | head -n 1)
	if [ -z "$deb" ]; then
		(cd "$DMX_CACHE" && apt-get download "linux-source-$series" >&2)
		deb=$(ls "$DMX_CACHE"/linux-source-"$series"_*.deb | head -n 1)
	fi
	src=linux-source-$series/scripts
	rm -rf "$CP_DIR.tmp"
	mkdir -p "$CP_DIR.tmp/scripts"
	dpkg-deb --fsys-tarfile "$deb" |
		tar -xOf - "./usr/src/linux-source-$series.tar.xz" |
		tar -xJf - -C "$CP_DIR.tmp/scripts" --strip-components=2 \
			"$src/checkpatch.pl" "$src/spelling.txt" \
			"$src/const_structs.checkpatch"
	rm -rf "$CP_DIR"
	mv "$CP_DIR.tmp" "$CP_DIR"
}

run_checkpatch() {
	cd "$ROOT"
	# --no-tree: we are not a kernel tree; SPDX on .h/.c as in the kernel.
	cp="$CP_DIR/scripts/checkpatch.pl --no-tree --quiet --show-types"
	cp="$cp --max-line-length=100 --ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG"
	rc=0
	# The compat header is where version tests and the mode typedef live.
	$cp --ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON,NEW_TYPEDEFS \
		-f include/dmx-compat.h || rc=1
	$cp -f $(ls ./*.c include/*.h include/uapi/*.h | grep -v dmx-compat.h) || rc=1
	# Tests build enums of ABI numbers with a token-pasting macro.
	$cp --ignore COMPLEX_MACRO -f tests/c/*.c $(ls tests/c/*.h 2>/dev/null) || rc=1
	if grep -n LINUX_VERSION_CODE ./*.c $(ls include/*.h | grep -v dmx-compat.h); then
		echo "LINUX_VERSION_CODE belongs in include/dmx-compat.h only"
		rc=1
	fi
	return $rc
}

run_sparse() {
	# C=2 checks every file; sparse's findings make the build log noisy,
	# so they are collected and counted.
	out=$(make -s -C "$KDIR" M="$ROOT" C=2 CF="-D__CHECK_ENDIAN__" modules 2>&1 |
		grep -E '(warning|error):' || true)
	if [ -n "$out" ]; then
		printf '%s\n' "$out"
		return 1
	fi
}

fetch_checkpatch
rc=0
echo "== checkpatch.pl"
run_checkpatch || rc=1
echo "== sparse"
run_sparse || rc=1
[ $rc -eq 0 ] && echo "lint: clean" || echo "lint: findings above"
exit $rc
