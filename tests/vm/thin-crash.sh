#!/bin/sh
# Crash consistency of thin pools, over two boots of the VM sharing one
# virtio disk (the pattern of tests/vm/crash-snapshot.sh).
#
# Usage: sh tests/vm/thin-crash.sh [--stock] [--kill-after SECS]
#
# Boot 1 lays out a thin pool on the disk, an origin volume full of base
# data and two snapshots (one of the origin, one of that snapshot), and
# writes to all three from three processes; --kill-after SECS (default
# 8) after the storm starts, qemu is killed with SIGKILL.  Boot 2 runs
# thin_check on the metadata as the kill left it, loads the pool and
# checks every sector of every volume (intact, and written by the right
# side), deactivates and runs thin_check again; then does it all again
# with the other device-mapper (tests/vm/thin-crash-guest.sh).
#
# A kill loses the writes in flight, never a completed one (see
# crash-snapshot.sh): so this shows that no order in which dmx's writes
# complete leaves metadata pointing at unwritten blocks or the metadata
# inconsistent.
#
# Output is TAP from boot 2 and a summary line; exit status 0 iff all
# passed, the kernel logs of both boots are clean and boot 1 really was
# killed mid-storm.  Logs in ${DMX_BUILD:-tests/build}/thin-crash/.
set -eu
VM_DIR=$(cd "$(dirname "$0")" && pwd)
. "$VM_DIR/common.sh"

STOCK=
KILL_AFTER=8
TROUBLE='BUG:|kernel BUG at|WARNING:|Oops|Call Trace|general protection|soft lockup|hung task|blocked for more than|KASAN|UBSAN|[Kk]ernel panic|possible recursive locking|circular locking'
KLINE='^\[ *[0-9]+\.[0-9]+\] '

while [ $# -gt 0 ]; do
	case $1 in
	--stock) STOCK=1 ;;
	--kill-after) KILL_AFTER=$2; shift ;;
	*) die "usage: $0 [--stock] [--kill-after SECS]" ;;
	esac
	shift
done

OUT=$DMX_BUILD/thin-crash
DISK=$OUT/disk.img
mkdir -p "$OUT"
eval "$(sh "$VM_DIR/kernel.sh")"

# build_initrd: the usual initramfs plus the virtio modules, the guest
# script and its helper.
build_initrd() {
	sh "$VM_DIR/initramfs.sh" "$OUT/base.img"
	root=$OUT/extra
	rm -rf "$root"
	mkdir -p "$root/tests" "$root/usr/lib/modules/crash"
	gcc -static -O2 -Wall -Werror -o "$root/tests/crash-helper" "$VM_DIR/crash-helper.c"
	cp "$VM_DIR/thin-crash-guest.sh" "$root/tests/thin-crash-guest.sh"
	for m in virtio_blk virtio_pci; do
		modprobe -d "${DMX_MODULES%/lib/modules/*}" -S "$DMX_ABI" --show-depends "$m"
	done | awk '$1 == "insmod" { print $2 }' | sort -u | while read -r ko; do
		cp "$ko" "$root/usr/lib/modules/crash/"
	done
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
		gzip -1 >"$OUT/extra.cpio.gz"
	cat "$OUT/base.img" "$OUT/extra.cpio.gz" >"$OUT/initrd.img"
}

# qemu_cmd PHASE: the command line of boot PHASE.
qemu_cmd() {
	append="console=ttyS0 loglevel=5 panic=-1 slub_debug=FZPU dmx.mode=check"
	append="$append dmx.filter=thin-crash-guest dmx.timeout=600 dmx.crash=$1"
	[ -z "$STOCK" ] || append="$append dmx.stock=1"
	echo qemu-system-x86_64 -accel tcg -m 2048 -smp 2 -cpu max \
		-kernel "$DMX_VMLINUZ" -initrd "$OUT/initrd.img" -append "'$append'" \
		-display none -vga none -monitor none -no-reboot -net none \
		-drive "file=$DISK,if=virtio,format=raw" \
		-serial "file:$OUT/console$1.log" -serial "file:$OUT/results$1.log"
}

# boot_and_kill: boot 1, killed KILL_AFTER s after the storm starts.
boot_and_kill() {
	rm -f "$OUT/console1.log" "$OUT/results1.log"
	(eval "exec $(qemu_cmd 1)") </dev/null &
	qemu=$!
	i=0
	until grep -q '^# crash-storm-started' "$OUT/results1.log" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 600 ] || ! kill -0 $qemu 2>/dev/null; then
			kill -9 $qemu 2>/dev/null || true
			msg "boot 1 never started its storm"
			return 1
		fi
		sleep 0.5
	done
	sleep "$KILL_AFTER"
	kill -9 $qemu
	wait $qemu || true
}

boot_and_check() {
	rm -f "$OUT/console2.log" "$OUT/results2.log"
	eval "timeout -k 10 900 $(qemu_cmd 2)" </dev/null || true
}

# trouble FILE: print kernel reports found in FILE; false if none.
trouble() {
	tr -d '\r' <"$1" | grep -E "$KLINE" | grep -qE "$TROUBLE" || return 1
	echo "# kernel trouble in $1:"
	tr -d '\r' <"$1" | grep -E "$KLINE" | grep -E -A 20 -m 3 "$TROUBLE" | sed 's/^/#   /'
}

report() {
	tap=$OUT/tap.txt
	tr -d '\r' <"$OUT/results2.log" | sed '/^# dmesg-begin$/,/^# dmesg-end$/d' >"$tap"
	cat "$tap"
	passed=$(grep -c '^ok ' "$tap" || true)
	failed=$(grep -c '^not ok' "$tap" || true)
	if grep -q '^# crash-storm-started' "$OUT/results1.log" &&
		! grep -q '^# vm-done' "$OUT/results1.log"; then
		echo "ok - boot 1 killed during the storm ($(grep -c '^# [0-9]* writes' "$OUT/results1.log" || true) progress lines)"
		passed=$((passed + 1))
	else
		echo "not ok - boot 1 killed during the storm"
		failed=$((failed + 1))
	fi
	for log in "$OUT/console1.log" "$OUT/console2.log" "$OUT/results2.log"; do
		if trouble "$log"; then
			echo "not ok - kernel log clean: $log"
			failed=$((failed + 1))
		fi
	done
	if ! grep -q '^# vm-done' "$tap"; then
		echo "not ok - boot 2 finished"
		failed=$((failed + 1))
	fi
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

build_initrd
rm -f "$DISK"
truncate -s 160M "$DISK"
boot_and_kill || true
boot_and_check
report
