#!/bin/sh
# DKMS builds, installs and removes dmx from its dkms.conf for the kernel
# of DMX_KERNEL (tests/vm/kernel.sh), step by step as `dkms add`, `dkms
# build` and `dkms install` do on a real machine, but in a scratch
# directory: --sourcetree, --dkmstree and --installtree point there, the
# module is signed with a throwaway key made there, and depmod is not run.
# The host's own DKMS state (/usr/src, /var/lib/dkms, /lib/modules) is
# left alone.
#
# Usage: sh tests/vm/dkms.sh       (as root, like dkms itself)
# Output: TAP and a "N passed, N failed" line; exit status 0 iff all passed.
set -u
VM_DIR=$(cd "$(dirname "$0")" && pwd)
. "$VM_DIR/common.sh"

PASSED=0
FAILED=0

ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $*"; }

# step NAME CMD...: ok if CMD succeeds, else not ok with its output's tail.
step() {
	name=$1
	shift
	if out=$("$@" 2>&1); then
		ok "$name"
	else
		not_ok "$name"
		printf '%s\n' "$out" | tail -n 25 | sed 's/^/#   /'
	fi
}

# installed_module: the installed dmx.ko (compressed or not), if any.
installed_module() {
	ls "$TMP/install/$DMX_ABI/updates/dkms/"dmx.ko* 2>/dev/null | head -n 1
}

vermagic_is_abi() {
	ko=$(installed_module)
	[ -n "$ko" ] || return 1
	magic=$(modinfo -F vermagic "$ko" | cut -d' ' -f1)
	echo "$ko: vermagic $magic"
	[ "$magic" = "$DMX_ABI" ]
}

status_says_installed() {
	out=$(dkms_here status -m dmx -v "$VER" -k "$DMX_ABI")
	echo "$out"
	echo "$out" | grep -q ': installed'
}

removed() { [ -z "$(installed_module)" ]; }

dkms_here() {
	dkms --sourcetree "$TMP/src" --dkmstree "$TMP/tree" \
		--installtree "$TMP/install" "$@"
}

main() {
	[ "$(id -u)" -eq 0 ] || die "dkms needs root"
	command -v dkms >/dev/null || die "dkms not installed (tests/vm/deps.sh)"
	eval "$(sh "$VM_DIR/kernel.sh")"
	VER=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$DMX_ROOT/dkms.conf")
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/dmx-dkms.XXXXXX")
	trap 'rm -rf "$TMP"' EXIT
	# What `dkms add` would copy from a clean checkout.
	src=$TMP/src/dmx-$VER
	mkdir -p "$TMP/tree" "$TMP/install/$DMX_ABI"
	copy_module_sources "$src"
	cp -p "$DMX_ROOT/Makefile" "$DMX_ROOT/dkms.conf" "$src/"
	# dkms reads these from the environment unless framework.conf sets them.
	mok_signing_key=$TMP/mok.key
	mok_certificate=$TMP/mok.pub
	sign_file=$DMX_KDIR/scripts/sign-file
	export mok_signing_key mok_certificate sign_file
	k=$DMX_KERNEL

	step "dkms_add_registers_dmx_${VER}_for_$k" dkms_here add -m dmx -v "$VER"
	step "dkms_build_builds_against_the_${k}_headers" \
		dkms_here build -m dmx -v "$VER" -k "$DMX_ABI" --kernelsourcedir "$DMX_KDIR"
	step "dkms_install_puts_dmx_in_updates_dkms_for_$k" \
		dkms_here install -m dmx -v "$VER" -k "$DMX_ABI" \
		--kernelsourcedir "$DMX_KDIR" --no-depmod
	step "dkms_installed_module_is_built_for_$DMX_ABI" vermagic_is_abi
	step "dkms_status_says_installed_for_$k" status_says_installed
	step "dkms_remove_takes_dmx_out_for_$k" \
		dkms_here remove -m dmx -v "$VER" -k "$DMX_ABI" --no-depmod
	step "dkms_remove_leaves_no_module_for_$k" removed
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

main "$@"
