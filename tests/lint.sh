#!/bin/sh
# make lint: checkpatch.pl over every source file, and sparse over the
# build for every kernel dmx supports (6.1 and 6.12: tests/vm/kernel.sh
# fetches what each needs, tests/vm/module.sh builds in a directory of its
# own).
#
# Usage: sh tests/lint.sh
# checkpatch.pl is not in the headers package: it is taken once from
# Debian 12's linux-source package (6.1) into $DMX_CACHE/checkpatch/.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VM_DIR=$ROOT/tests/vm
. "$VM_DIR/common.sh"
CP_DIR=$DMX_CACHE/checkpatch

# fetch_checkpatch: scripts/checkpatch.pl and the data files it reads.
fetch_checkpatch() {
	[ -x "$CP_DIR/scripts/checkpatch.pl" ] && return
	src=linux-source-$DMX_SOURCE_SERIES/scripts
	linux_source_unpack "$DMX_SOURCE_SERIES" "$CP_DIR" --strip-components=1 \
		"$src/checkpatch.pl" "$src/spelling.txt" "$src/const_structs.checkpatch"
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
	$cp -f $(sources_but_compat) || rc=1
	# Tests build enums of ABI numbers with a token-pasting macro.
	$cp --ignore COMPLEX_MACRO -f tests/c/*.c $(ls tests/c/*.h 2>/dev/null) || rc=1
	if grep -n LINUX_VERSION_CODE $(sources_but_compat); then
		echo "LINUX_VERSION_CODE belongs in include/dmx-compat.h only"
		rc=1
	fi
	if conditionals; then
		echo "conditional compilation belongs in include/dmx-compat.h only"
		rc=1
	fi
	return $rc
}

# sources_but_compat: the module's sources (Kbuild's, so no generated
# dmx.mod.c) and headers, less include/dmx-compat.h.
sources_but_compat() {
	{ module_sources; ls include/*.h include/uapi/*.h; } | grep -v dmx-compat.h
}

# conditionals: print every #if/#ifdef/#ifndef/#elif outside the compat
# header but a header's include guard (an #ifndef X_H followed by its
# #define X_H); true if there is one.
conditionals() {
	# shellcheck disable=SC2046 # one argument per file
	awk '/^[ \t]*#[ \t]*(if|ifdef|ifndef|elif)([ \t(]|$)/ {
			guard = ""
			if ($1 == "#ifndef" && FILENAME ~ /\.h$/ && !seen[FILENAME]++) {
				guard = $2
				getline next_line
				if (next_line ~ ("^#define[ \t]+" guard "([ \t]|$)"))
					next
			}
			print FILENAME ":" FNR ": " $0
			found = 1
		}
		END { exit !found }' $(sources_but_compat)
}

# run_sparse KERNEL: sparse over the build for KERNEL.
run_sparse() {
	# C=2 checks every file; sparse's findings make the build log noisy,
	# so they are collected and counted.
	out=$(DMX_KERNEL=$1 sh "$VM_DIR/module.sh" C=2 CF="-D__CHECK_ENDIAN__" \
		2>&1 >/dev/null | grep -E '(warning|error):|cannot build' || true)
	if [ -n "$out" ]; then
		printf '%s\n' "$out"
		return 1
	fi
}

fetch_checkpatch
rc=0
echo "== checkpatch.pl"
run_checkpatch || rc=1
for k in $DMX_KERNELS_ALL; do
	echo "== sparse ($k)"
	run_sparse "$k" || rc=1
done
[ $rc -eq 0 ] && echo "lint: clean" || echo "lint: findings above"
exit $rc
