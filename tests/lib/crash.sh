# The guest side of tests/vm/crash.sh, shared by its kinds (sourced after
# tap.sh by tests/vm/crash-KIND-guest.sh; POSIX sh for busybox ash): the
# virtio disk, and what each of the two boots does.  A kind's script
# defines
#   lower       the linear devices that map /dev/vda
#   storm       the stack laid out on them, then crash_storm
#   verify_all WHO  the stack loaded again from the disk and every device
#               checked, one TAP line each named WHO_..., devices removed
# and then calls crash_main.

CRASH_HELPER=/tests/crash-helper

# crash_builtin NAME: NAME is part of the kernel image (6.12 builds in
# virtio_pci, so crash.sh has no module of it to ship).
crash_builtin() {
	grep -q "/$1\.ko\$" "/lib/modules/$(uname -r)/modules.builtin"
}

# crash_load_virtio: /dev/vda, from the modules crash.sh ships.
crash_load_virtio() {
	for _m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev \
		virtio_pci virtio_blk; do
		insmod /lib/modules/crash/$_m.ko 2>/dev/null || module_loaded $_m ||
			crash_builtin $_m || return 1
	done
	_i=0
	while [ ! -b /dev/vda ] && [ $_i -lt 50 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	[ -b /dev/vda ]
}

# crash_storm SECTORS DEVICE...: writers over the first SECTORS of every
# DEVICE, three processes with seeds of their own (the helper says what
# they write), until the host kills the VM.
crash_storm() {
	_sectors=$1
	shift
	for _seed in 1 2 3; do
		$CRASH_HELPER storm "$_sectors" $_seed "$@" &
	done
	echo "# crash-storm-started"
	wait
}

# crash_main: the boot dmx.crash= on the kernel command line names.
# 1: the storm, to be killed in; 2: the disk checked by the device-mapper
# under test, then by the other one (stock after dmx, dmx after stock).
crash_main() {
	_phase=$(sed -n 's/.*dmx\.crash=\([0-9]\).*/\1/p' /proc/cmdline)
	crash_load_virtio || die "no /dev/vda"
	case $_phase in
	1)
		use_dmx || die "cannot load the device-mapper"
		lower || die "cannot map /dev/vda"
		storm
		not_ok "storm ended before the VM was killed"
		;;
	2)
		use_dmx || die "cannot load the device-mapper"
		verify_all "$DMX_IMPL"
		if [ "$DMX_IMPL" = stock ]; then
			if ! unload_dm || ! insmod "$DMX_KO"; then
				die "cannot load dmx"
			fi
			verify_all dmx_after_stock
		else
			use_stock_dm || die "cannot load the stock dm"
			verify_all stock_after_dmx
			unload_dm && insmod "$DMX_KO"
		fi
		;;
	*)
		die "no dmx.crash= phase on the command line"
		;;
	esac
	tap_done
}
