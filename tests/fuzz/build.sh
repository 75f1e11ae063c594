#!/bin/sh
# Compile the stress tools into static binaries for the guest.
#
# Usage: sh tests/fuzz/build.sh
#
# tests/fuzz/*.c is one program, dmx-fuzz, built for x86_64 and, as
# dmx-fuzz-m32, for i386 (the kernel's compat ioctl path); every
# tests/torture/*.c and tests/faultinj/*.c is a program of its own,
# named after its file, for x86_64.  They land in $DMX_BUILD/tools, which the
# initramfs carries as /tests/tools: helpers the tests in tests/sh run,
# not tests themselves.  Binaries are rebuilt only when older than one
# of their sources or include/uapi.
set -eu
VM_DIR=$(cd "$(dirname "$0")/../vm" && pwd)
. "$VM_DIR/common.sh"

OUT=$DMX_BUILD/tools
CFLAGS="-static -O2 -Wall -Werror -D_FILE_OFFSET_BITS=64 -I$DMX_ROOT/include/uapi"

# stale OUT SRC...: true if OUT is missing or older than a SRC or the uapi.
# (-nt is not POSIX, but dash, bash and busybox all have it.)
# shellcheck disable=SC3013
stale() {
	out=$1
	shift
	[ -f "$out" ] || return 0
	for src in "$@" "$DMX_ROOT"/include/uapi/*.h "$0"; do
		[ "$src" -nt "$out" ] && return 0
	done
	return 1
}

# program ARCHS NAME SRC...: NAME (and NAME-m32 if ARCHS has -m32).
program() {
	archs=$1
	name=$2
	shift 2
	for arch in $archs; do
		[ "$arch" = native ] && arch=
		out=$OUT/$name$arch
		stale "$out" "$@" || continue
		msg "cc ${out#"$DMX_ROOT"/}"
		rm -f "$out"
		# shellcheck disable=SC2086 # CFLAGS is a list of words
		if gcc $CFLAGS $arch -I"$(dirname "$1")" -o "$out.tmp" $(printf '%s\n' "$@" | grep '\.c$'); then
			mv "$out.tmp" "$out"
		else
			FAILED="$FAILED $name$arch"
		fi
	done
}

main() {
	mkdir -p "$OUT"
	FAILED=
	program "native -m32" dmx-fuzz "$DMX_ROOT"/tests/fuzz/*.c "$DMX_ROOT"/tests/fuzz/*.h
	for src in "$DMX_ROOT"/tests/torture/*.c "$DMX_ROOT"/tests/faultinj/*.c; do
		[ -f "$src" ] || continue
		program native "$(basename "$src" .c)" "$src" "$DMX_ROOT"/tests/c/dmx_test.h
	done
	[ -z "$FAILED" ] || die "failed to compile:$FAILED"
}

main "$@"
