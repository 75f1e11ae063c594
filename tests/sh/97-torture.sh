#!/bin/sh
# dmx-test: timeout=900
# Torture: verified I/O from several fio processes on three dmx devices
# while other processes, all at once, swap their tables, suspend and
# resume them, rename them, read their status, take snapshots of the
# one that is an origin, merge snapshots on an unrelated origin, and
# create and remove unrelated devices (tests/torture/lanes.sh).  Passes
# with zero verification errors, every command answering (in time, and
# as it should), every snapshot frozen and every merge reading right,
# and nothing in the kernel log; then every device goes and dmx
# unloads.
#
# Setting: dmx.torture=SECONDS of I/O (default 45).
set -u
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"
. "${DMX_TESTLIB:-/tests/lib}/scenario.sh"
. "${DMX_TESTLIB:-/tests/lib}/../fuzz/stress-lib.sh"
. "${DMX_TESTLIB:-/tests/lib}/../torture/lanes.sh"

TORTURE_SECS=$(guest_arg torture 45)
LANES="control readers snapshots merge churn"

use_dmx || die "cannot load the device-mapper"
ramdisks 6 64 || die "no ramdisks"
make_data_devices || die "cannot make the data devices"
dd if=/dev/urandom of="$TT/pattern.a" bs=64k count=64 2>/dev/null
dd if=/dev/urandom of="$TT/pattern.b" bs=64k count=64 2>/dev/null
SUM_A=$(md5sum <"$TT/pattern.a" | cut -d' ' -f1)
SUM_B=$(md5sum <"$TT/pattern.b" | cut -d' ' -f1)
rm -f "$STOP" "$TT"/fail.* "$TT"/rounds.* "$TT"/fio.* "$TT/hung"

dmesg_mark
fio_lane lin /dev/mapper/t-lin &
F1=$!
fio_lane str /dev/mapper/t-str --numjobs=2 --size=16m --offset_increment=16m &
F2=$!
fio_lane org /dev/mapper/t-org &
F3=$!
seed=1
for l in $LANES; do
	lane "$l" "$seed" &
	eval "PID_$l=\$!"
	seed=$((seed + 7919))
done
wait $F1 $F2 $F3
touch "$STOP"
for l in $LANES; do
	eval "wait \$PID_$l"
done

for n in lin str org; do
	if [ "$(cat "$TT/fio.$n" 2>/dev/null)" = 0 ]; then
		ok "fio_verify_on_t_${n}_under_torture"
	else
		not_ok "fio_verify_on_t_${n}_under_torture"
		diag "$(tail -n 15 "$TT/fio.$n.out")"
	fi
	# terse v3: field 47 is the KiB a job wrote.
	awk -F';' -v n="$n" '{ w += $47 } END { printf "# t-%s: %d MiB written and verified\n", n, w / 1024 }' \
		"$TT/fio.$n.out" 2>/dev/null
done
for l in $LANES; do
	if [ -s "$TT/fail.$l" ]; then
		not_ok "torture_lane_${l}_commands_all_answer_right"
		diag "$(sort "$TT/fail.$l" | uniq -c | head -n 20)"
	else
		ok "torture_lane_${l}_commands_all_answer_right"
	fi
	diag "lane $l: $(cat "$TT/rounds.$l" 2>/dev/null || echo '?') rounds in ${TORTURE_SECS} s"
done
if [ -s "$TT/hung" ]; then
	not_ok "torture_commands_never_hang"
	diag "$(head -n 10 "$TT/hung")"
else
	ok "torture_commands_never_hang"
fi
check_kernel_log kernel_log_clean_after_torture

for d in t-snap u-snap u-org t-org t-str t-lin t-lin.renamed; do
	dmsetup remove "$d" 2>/dev/null
done
dmsetup ls | awk '$1 ~ /^u-churn/ { print $1 }' | sort -r | while read -r d; do
	dmsetup remove "$d"
done
release_base_devices
check_unload dmx_unloads_after_torture
tap_done
