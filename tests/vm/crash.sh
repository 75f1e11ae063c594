#!/bin/sh
# Crash consistency over two boots of the VM sharing one virtio disk
# (run.sh boots once, without a disk, so this is a mode of its own), for
# one KIND of device stack:
#   snapshot  an origin and two P snapshots
#   thin      a thin pool: an origin volume full of base data, a snapshot
#             of it and a snapshot of that snapshot
#
# Usage: sh tests/vm/crash.sh KIND [--stock] [--kill-after LINES]
#
# Boot 1 lays the stack out on the disk and writes to three of its
# devices from three processes; once the storm has reported --kill-after
# LINES (default 4) progress lines, each one 250 more writes of one
# process, qemu is killed with SIGKILL.  Boot 2 checks what the disk
# holds (tests/vm/crash-KIND-guest.sh says what; tests/vm/crash-helper.c
# checks every sector), then does it again with the other device-mapper
# (stock after dmx; dmx after stock with --stock, which runs both boots on
# the stock one).
#
# What a kill can lose: qemu hands each write of the guest to the image
# file as the guest submits it, and completes it once the file has it,
# so the writes in flight at the kill may or may not be there, while
# completed ones always are.  The test so shows that no order in which
# dmx's writes are completed leaves metadata pointing at garbage; it
# cannot show that a missing flush would lose a volatile disk cache.
#
# Output is TAP from boot 2 and a summary line; exit status 0 iff all
# passed, the kernel logs of both boots are clean and boot 1 really was
# killed mid-storm.  Logs in ${DMX_BUILD:-tests/build}/crash-KIND-ABI/.
set -eu
VM_DIR=$(cd "$(dirname "$0")" && pwd)
. "$VM_DIR/common.sh"

STOCK=
KILL_AFTER=4

usage() {
	die "usage: $0 snapshot|thin [--stock] [--kill-after LINES]"
}

[ $# -gt 0 ] || usage
KIND=$1
shift
case $KIND in
snapshot | thin) ;;
*) usage ;;
esac
while [ $# -gt 0 ]; do
	case $1 in
	--stock) STOCK=1 ;;
	--kill-after) KILL_AFTER=$2; shift ;;
	*) usage ;;
	esac
	shift
done

GUEST=crash-$KIND-guest
eval "$(sh "$VM_DIR/kernel.sh")"
OUT=$DMX_BUILD/crash-$KIND-$DMX_ABI
DISK=$OUT/disk.img
mkdir -p "$OUT"

# build_initrd: the usual initramfs plus the virtio modules, the guest
# script and its helper.
build_initrd() {
	sh "$VM_DIR/initramfs.sh" "$OUT/base.img"
	root=$OUT/extra
	rm -rf "$root"
	mkdir -p "$root/tests" "$root/usr/lib/modules/crash"
	gcc -static -O2 -Wall -Werror -o "$root/tests/crash-helper" "$VM_DIR/crash-helper.c"
	cp "$VM_DIR/$GUEST.sh" "$root/tests/$GUEST.sh"
	for m in virtio_blk virtio_pci; do
		modprobe -d "${DMX_MODULES%/lib/modules/*}" -S "$DMX_ABI" --show-depends "$m"
	done | awk '$1 == "insmod" { print $2 }' | sort -u | while read -r ko; do
		cp "$ko" "$root/usr/lib/modules/crash/"
	done
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
		gzip -1 >"$OUT/extra.cpio.gz"
	cat "$OUT/base.img" "$OUT/extra.cpio.gz" >"$OUT/initrd.img"
}

# boot PHASE TIMEOUT: boot PHASE (1 or 2) on the disk, for at most TIMEOUT
# seconds (0: no limit); execs qemu, so call it in a subshell.
boot() {
	cmdline="dmx.mode=check dmx.filter=$GUEST dmx.timeout=600 dmx.crash=$1"
	[ -z "$STOCK" ] || cmdline="$cmdline dmx.stock=1"
	vm_qemu "$2" "$OUT/initrd.img" "$cmdline" "file:$OUT/console$1.log" \
		"$OUT/results$1.log" -drive "file=$DISK,if=virtio,format=raw"
}

# progress_lines: how many progress lines boot 1's storm has printed.
progress_lines() {
	n=$(grep -c '^# [0-9]* writes' "$OUT/results1.log" 2>/dev/null || true)
	echo "${n:-0}"
}

# boot_and_kill: boot 1, killed once its storm has printed KILL_AFTER
# progress lines: the kill comes in the middle of a known amount of
# work, however fast the machine is.  Polls the results file.
boot_and_kill() {
	rm -f "$OUT/console1.log" "$OUT/results1.log"
	(boot 1 0) </dev/null &
	qemu=$!
	i=0
	until [ "$(progress_lines)" -ge "$KILL_AFTER" ]; do
		i=$((i + 1))
		if [ $i -gt 1200 ] || ! kill -0 $qemu 2>/dev/null; then
			kill -9 $qemu 2>/dev/null || true
			msg "boot 1 never got $KILL_AFTER progress lines into its storm"
			return 1
		fi
		sleep 0.5
	done
	kill -9 $qemu
	wait $qemu || true
}

boot_and_check() {
	rm -f "$OUT/console2.log" "$OUT/results2.log"
	(boot 2 900) </dev/null || true
}

report() {
	tap=$OUT/tap.txt
	tr -d '\r' <"$OUT/results2.log" | sed '/^# dmesg-begin$/,/^# dmesg-end$/d' >"$tap"
	cat "$tap"
	passed=$(grep -c '^ok ' "$tap" || true)
	failed=$(grep -c '^not ok' "$tap" || true)
	if grep -q '^# crash-storm-started' "$OUT/results1.log" &&
		! grep -q '^# vm-done' "$OUT/results1.log"; then
		echo "ok - boot 1 killed during the storm ($(progress_lines) progress lines)"
		passed=$((passed + 1))
	else
		echo "not ok - boot 1 killed during the storm"
		failed=$((failed + 1))
	fi
	for log in "$OUT/console1.log" "$OUT/console2.log" "$OUT/results2.log"; do
		if kernel_trouble "$log"; then
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
