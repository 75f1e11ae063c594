#!/bin/sh
# The modprobe configuration the README gives for using dmx in place of
# dm_mod, checked with kmod's own modprobe (the one Debian runs, not
# busybox's) over a module tree that holds the stock modules and dmx.ko
# under updates/, as `make install` or DKMS leave it:
#   blacklist dm_mod            the kernel's request for the control
#                               device's alias loads dmx only
#   alias dm_mod dmx            `modprobe dm-mod`, or of a module dmx
#   alias dm_snapshot dmx       replaces, loads dmx instead (an alias in
#   alias dm_zero dmx           the configuration wins over a module name)
# and what happens to a module that needs dm_mod's symbols.  Leaves dmx
# loaded with no devices.
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"

ROOT=/tmp/modprobe-root
REL=$(uname -r)
CONF=$ROOT/etc/modprobe.d
KMOD=/tmp/modprobe-bin

if [ "$DMX_IMPL" != dmx ]; then
	skip modprobe_config "it checks how dmx stands in for dm_mod"
	tap_done
fi
[ -x /usr/bin/kmod ] || die "kmod is not in the guest"

# The module tree: the stock modules, dmx.ko in updates/, a modules.dep
# made by kmod's depmod; modprobe and depmod as kmod names them.
make_tree() {
	rm -rf "$ROOT" "$KMOD"
	mkdir -p "$ROOT/lib/modules" "$CONF" "$KMOD"
	cp -a "/lib/modules/$REL" "$ROOT/lib/modules/$REL" &&
		mkdir -p "$ROOT/lib/modules/$REL/updates" &&
		cp "$DMX_KO" "$ROOT/lib/modules/$REL/updates/dmx.ko" || return 1
	ln -s /usr/bin/kmod "$KMOD/modprobe"
	ln -s /usr/bin/kmod "$KMOD/depmod"
	"$KMOD/depmod" -b "$ROOT" "$REL"
}

# kmodprobe ARGS...: kmod's modprobe on that tree and configuration.
kmodprobe() {
	"$KMOD/modprobe" -d "$ROOT" -C "$CONF" "$@"
}

# configure LINES: the configuration, one line per argument.
configure() {
	printf '%s\n' "$@" >"$CONF/dmx.conf"
}

# The README's /etc/modprobe.d/dmx.conf.
configure_as_readme() {
	configure "blacklist dm_mod" "alias dm_mod dmx" "alias dm_snapshot dmx" \
		"alias dm_zero dmx"
}

loaded_exactly() {
	for m in "$@"; do
		case $m in
		!*) ! module_loaded "${m#!}" || { echo "${m#!} is loaded"; return 1; } ;;
		*) module_loaded "$m" || { echo "$m is not loaded"; return 1; } ;;
		esac
	done
}

blacklist_makes_the_control_alias_load_dmx() {
	unload_dm || return 1
	configure_as_readme
	# What the kernel runs when /dev/mapper/control is opened unowned.
	kmodprobe -q -- char-major-10-236 || return 1
	loaded_exactly dmx !dm_mod && dmsetup version
}

without_blacklist_the_alias_names_both() {
	configure ""
	out=$(kmodprobe --show-depends char-major-10-236) || return 1
	echo "$out"
	echo "$out" | grep -q 'updates/dmx\.ko' &&
		echo "$out" | grep -q 'dm-mod\.ko'
}

alias_makes_modprobe_dm_mod_load_dmx() {
	unload_dm || return 1
	configure_as_readme
	kmodprobe dm-mod || return 1
	loaded_exactly dmx !dm_mod && dmsetup version
}

alias_makes_modprobe_of_a_replaced_target_module_load_dmx() {
	unload_dm || return 1
	configure_as_readme
	kmodprobe dm-snapshot && kmodprobe dm-zero || return 1
	loaded_exactly dmx !dm_mod !dm_snapshot !dm_zero &&
		dmsetup targets | grep -q '^snapshot ' &&
		dmsetup targets | grep -q '^zero '
}

# A module built on dm_mod (here dm-bufio, which dm-snapshot, dm-thin-pool
# and others need) cannot load: its dependency is the real dm_mod, which
# cannot register the control device dmx holds.  The failure is clean and
# dmx stays usable.
module_needing_dm_mod_fails_cleanly() {
	unload_dm || return 1
	configure_as_readme
	kmodprobe dmx || return 1
	if kmodprobe dm-bufio 2>/dev/null; then
		echo "modprobe dm-bufio succeeded"
		return 1
	fi
	loaded_exactly dmx !dm_mod !dm_bufio &&
		dmsetup create mpz --table "0 64 zero" && dmsetup remove mpz
}

# Without the configuration, dm_mod itself fails beside dmx: the control
# device is taken.
dm_mod_cannot_load_beside_dmx() {
	configure ""
	use_dmx || return 1
	if kmodprobe dm-mod 2>/dev/null; then
		echo "modprobe dm-mod succeeded beside dmx"
		return 1
	fi
	loaded_exactly dmx !dm_mod && dmsetup version
}

going_back_loads_dm_mod_again() {
	unload_dm || return 1
	configure ""
	kmodprobe dm-mod || return 1
	loaded_exactly dm_mod !dmx && dmsetup version
}

make_tree || die "cannot build the module tree"
check blacklist_makes_the_control_alias_load_dmx blacklist_makes_the_control_alias_load_dmx
check without_blacklist_the_alias_names_both without_blacklist_the_alias_names_both
check alias_makes_modprobe_dm_mod_load_dmx alias_makes_modprobe_dm_mod_load_dmx
check alias_makes_modprobe_of_a_replaced_target_module_load_dmx \
	alias_makes_modprobe_of_a_replaced_target_module_load_dmx
check module_needing_dm_mod_fails_cleanly module_needing_dm_mod_fails_cleanly
check dm_mod_cannot_load_beside_dmx dm_mod_cannot_load_beside_dmx
check going_back_loads_dm_mod_again going_back_loads_dm_mod_again
unload_dm
use_dmx || not_ok "dmx loads again"
rm -rf "$ROOT" "$KMOD"
tap_done
