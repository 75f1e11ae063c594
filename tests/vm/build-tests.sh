#!/bin/sh
# Compile the C tests into static binaries for the guest.
#
# Usage: sh tests/vm/build-tests.sh
#
# Every tests/c/NAME.c becomes $DMX_BUILD/bin/NAME (x86_64) and, unless it
# contains the comment "dmx-test: no-m32", $DMX_BUILD/bin/NAME-m32 (i386,
# which exercises the kernel's compat ioctl path).  A comment
# "dmx-test: timeout=SECS" gives each its per-test limit in the guest
# (NAME.timeout beside it).  The tests use the
# kernel's kselftest_harness.h, found in $DMX_HARNESS (tests/vm/kernel.sh
# extracts it), and include/uapi.  Every tests/lib/NAME.c, a tool the
# shell tests call (dmxt), becomes $DMX_BUILD/tools/NAME, which the guest
# has in its PATH.  A source with the comment "dmx-bench: helper" is a
# make bench tool, not a test: it becomes $DMX_BUILD/bench-bin/NAME only
# (tests/vm/initramfs.sh ships it in /tests/bench/bin, which the VM does
# not run).  Binaries are rebuilt only when older than their source or a
# header; binaries whose source is gone are removed, since the VM runs
# everything in bin/.
set -eu
VM_DIR=$(cd "$(dirname "$0")" && pwd)
. "$VM_DIR/common.sh"

BIN=$DMX_BUILD/bin
TOOLS=$DMX_BUILD/tools
BENCH_BIN=$DMX_BUILD/bench-bin

# newest_header: the most recently changed header a test may include.
newest_header() {
	ls -t "$DMX_ROOT"/include/uapi/*.h "$DMX_ROOT"/tests/c/*.h \
		"$DMX_HARNESS"/*.h 2>/dev/null | head -n 1
}

# stale OUT SRC: true if OUT must be rebuilt.  (-nt is not POSIX, but dash,
# bash and busybox all have it.)
# shellcheck disable=SC3013
stale() {
	[ ! -f "$1" ] || [ "$2" -nt "$1" ] || { [ -n "$HEADER" ] && [ "$HEADER" -nt "$1" ]; }
}

# compile OUT SRC [FLAGS...]: build OUT if stale; a failure is counted and
# leaves no OUT, so a broken test cannot run in its old form.
compile() {
	out=$1
	src=$2
	shift 2
	stale "$out" "$src" || return 0
	msg "cc ${out#"$DMX_ROOT"/}"
	rm -f "$out"
	if gcc -static -O2 -Wall -Werror -D_FILE_OFFSET_BITS=64 \
		-I"$DMX_ROOT/include/uapi" -I"$DMX_ROOT/tests/c" -I"$DMX_HARNESS" \
		"$@" -o "$out.tmp" "$src"; then
		mv "$out.tmp" "$out"
	else
		FAILED="$FAILED ${src##*/}${1:+ ($1)}"
	fi
}

# test_limit BIN SRC: BIN.timeout holds the seconds of SRC's comment
# "dmx-test: timeout=SECS", which the guest's init takes for BIN's
# per-test limit; no file without one.
test_limit() {
	secs=$(sed -n 's/.*dmx-test: timeout=\([0-9][0-9]*\).*/\1/p' "$2" | head -n 1)
	if [ -n "$secs" ]; then echo "$secs" >"$1.timeout"; else rm -f "$1.timeout"; fi
}

# prune DIR SRCDIR: remove binaries in DIR whose SRCDIR source is gone.
prune() {
	for bin in "$1"/*; do
		[ -f "$bin" ] || continue
		name=${bin##*/}
		name=${name%.timeout}
		name=${name%-m32}
		[ -f "$2/$name.c" ] || rm -f "$bin"
	done
}

main() {
	eval "$(sh "$VM_DIR/kernel.sh")"
	mkdir -p "$BIN" "$TOOLS" "$BENCH_BIN"
	prune "$BIN" "$DMX_ROOT/tests/c"
	prune "$BENCH_BIN" "$DMX_ROOT/tests/c"
	prune "$TOOLS" "$DMX_ROOT/tests/lib"
	HEADER=$(newest_header)
	FAILED=
	for src in "$DMX_ROOT"/tests/c/*.c; do
		[ -f "$src" ] || continue
		name=$(basename "$src" .c)
		if grep -q 'dmx-bench: helper' "$src"; then
			rm -f "$BIN/$name" "$BIN/$name-m32"
			compile "$BENCH_BIN/$name" "$src"
			continue
		fi
		compile "$BIN/$name" "$src"
		test_limit "$BIN/$name" "$src"
		if ! grep -q 'dmx-test: no-m32' "$src"; then
			compile "$BIN/$name-m32" "$src" -m32
			test_limit "$BIN/$name-m32" "$src"
		fi
	done
	for src in "$DMX_ROOT"/tests/lib/*.c; do
		[ -f "$src" ] || continue
		compile "$TOOLS/$(basename "$src" .c)" "$src"
	done
	[ -z "$FAILED" ] || die "failed to compile:$FAILED"
}

main "$@"
