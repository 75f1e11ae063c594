#!/bin/sh
# make demo: what dmx can do, step by step.  Runs in the test VM with dmx
# loaded; every step says in one line what it shows, then shows it.
. "${DMX_TESTLIB:-/tests/lib}/tap.sh"

STEP=0
step() {
	STEP=$((STEP + 1))
	printf '\n=== %d. %s\n' "$STEP" "$*"
}

# show CMD...: echo a command, then run it.
show() {
	printf '$ %s\n' "$*"
	"$@"
}

step "dmx is loaded and owns the device-mapper control node"
show grep -E 'dmx|device-mapper' /proc/modules /proc/misc /proc/devices
show ls -l /dev/mapper/control

step "the stock dmsetup talks to it through the dm ioctl v4 interface"
show dmsetup version
show dmsetup targets

step "four 64 MiB ramdisks to map onto"
ramdisks 4 64
show ls /dev/ram0 /dev/ram1 /dev/ram2 /dev/ram3

step "a linear device: 32 MiB of ram0 starting at sector 2048"
show dmsetup create lin --table "0 65536 linear /dev/ram0 2048"
show dmsetup table lin
echo "dmx-demo: hello from a linear map" >/tmp/hello
show dd if=/tmp/hello of=/dev/mapper/lin bs=512 conv=sync status=none
echo "sector 2048 of ram0 now holds:"
show dd if=/dev/ram0 bs=512 skip=2048 count=1 status=none

step "a striped device: ram1 and ram2 in 64 KiB chunks"
show dmsetup create stripe --table "0 131072 striped 2 128 /dev/ram1 0 /dev/ram2 0"
show dmsetup table stripe
show dmsetup status stripe
show dmsetup ls --tree

step "an ext4 filesystem on the striped device survives suspend and resume"
modprobe ext4
show mkfs.ext4 -q /dev/mapper/stripe
mkdir -p /mnt
show mount /dev/mapper/stripe /mnt
show cp /tmp/hello /mnt/hello
show dmsetup suspend stripe
show dmsetup info stripe
show dmsetup resume stripe
show cat /mnt/hello
show umount /mnt
show fsck.ext4 -f -n /dev/mapper/stripe

step "a table swap under load: fio writes and verifies while tables are reloaded"
show dmsetup create vol --table "0 65536 linear /dev/ram3 0"
fio --name=load --filename=/dev/mapper/vol --rw=randwrite --bs=4k \
	--size=16m --direct=1 --verify=crc32c --do_verify=1 --loops=4 \
	--eta=never --output=/tmp/fio.out &
fio_pid=$!
i=0
while [ $i -lt 10 ]; do
	dmsetup load vol --table "0 65536 linear /dev/ram3 0"
	dmsetup resume vol
	i=$((i + 1))
done
echo "10 tables loaded and swapped in; event number now:"
show dmsetup info -c -o name,events vol
wait $fio_pid && echo "fio finished: no verify errors" ||
	echo "fio reported errors"
grep -E 'err=|verify' /tmp/fio.out | head -n 3

step "clean up: remove every device"
show dmsetup remove_all
show dmsetup ls

step "a snapshot keeps a filesystem's old content while the origin changes"
show dmsetup create base --table "0 131072 linear /dev/ram0 0"
show mkfs.ext4 -q /dev/mapper/base
mount /dev/mapper/base /mnt && echo "version 1: before the snapshot" >/mnt/file &&
	umount /mnt
# The COW device starts blank: no snapshot header in its first chunk.
dd if=/dev/zero of=/dev/ram1 bs=4096 count=1 oflag=direct status=none
show dmsetup create cow --table "0 131072 linear /dev/ram1 0"
show dmsetup create origin --table "0 131072 snapshot-origin /dev/mapper/base"
show dmsetup suspend origin
show dmsetup create snap --table "0 131072 snapshot /dev/mapper/base /dev/mapper/cow P 8"
show dmsetup resume origin
show mount /dev/mapper/origin /mnt
show sh -c 'echo "version 2: written after the snapshot" >/mnt/file'
show dd if=/dev/urandom of=/mnt/noise bs=1M count=8 status=none
show umount /mnt
mkdir -p /snap
show mount -o ro /dev/mapper/snap /snap
show mount -o ro /dev/mapper/origin /mnt
echo "the origin reads:"
show cat /mnt/file
show ls /mnt
echo "the snapshot still reads:"
show cat /snap/file
show ls /snap
show umount /snap
show umount /mnt
echo "status of the snapshot: <allocated>/<total> <metadata> sectors"
show dmsetup status snap

step "merging the snapshot back: the origin gets the old content again"
show dmsetup suspend snap
show dmsetup suspend origin
show dmsetup load origin --table "0 131072 snapshot-merge /dev/mapper/base /dev/mapper/cow P 8"
show dmsetup resume origin
show dmsetup remove snap
show dmsetup status origin
i=0
until dmsetup status origin | awk '{ split($4, a, "/"); exit a[1] != $5 }'; do
	i=$((i + 1))
	[ $i -lt 300 ] || break
	sleep 0.1
done
echo "merged: allocated sectors equal metadata sectors"
show dmsetup status origin
show dmsetup load origin --table "0 131072 snapshot-origin /dev/mapper/base"
show dmsetup resume origin
show mount -o ro /dev/mapper/origin /mnt
show cat /mnt/file
show ls /mnt
show umount /mnt
show fsck.ext4 -f -n /dev/mapper/base
show dmsetup remove_all
show dmsetup ls

step "an encrypted LUKS2 volume: the stock cryptsetup on dmx, LVM and ext4 on it"
export LVM_SUPPRESS_FD_WARNINGS=1
printf %s "demo passphrase" >/tmp/pass
show cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
	--key-file /tmp/pass /dev/ram0
show cryptsetup open --key-file /tmp/pass /dev/ram0 secret
show cryptsetup status secret
echo "the volume key stays in the kernel keyring; the table names it:"
show dmsetup table secret
show pvcreate -q /dev/mapper/secret
show vgcreate -q demovg /dev/mapper/secret
show lvcreate -q -y -L 24M -n data demovg
show mkfs.ext4 -q /dev/demovg/data
show mount /dev/demovg/data /mnt
show sh -c 'echo "a secret line, kept encrypted" >/mnt/secret'
show umount /mnt
show dmsetup ls --tree
echo "ram0 itself holds only ciphertext: the line is nowhere on it"
show sh -c 'grep -c "kept encrypted" /dev/ram0 || true'
show vgchange -q -an demovg
show cryptsetup close secret
show cryptsetup open --key-file /tmp/pass /dev/ram0 secret
show vgchange -q -ay demovg
show mount -o ro /dev/demovg/data /mnt
show cat /mnt/secret
show umount /mnt
show vgchange -q -an demovg
show cryptsetup close secret
show dmsetup ls

step "thin provisioning: an LVM thin pool, thin volumes and snapshots sharing its blocks"
show vgcreate -q -y thinvg /dev/ram1 /dev/ram2
show lvcreate -q -y -L 64M -T thinvg/pool
show lvcreate -q -y -V 20M -T thinvg/pool -n vol
show mkfs.ext4 -q /dev/thinvg/vol
mount /dev/thinvg/vol /mnt && echo "version 1: before the snapshots" >/mnt/file &&
	umount /mnt
echo "a thin snapshot costs no space; LVM leaves it inactive until -K:"
show lvcreate -q -s -n snap thinvg/vol
show lvchange -ay -K thinvg/snap
show lvcreate -q -s -n snap2 thinvg/snap
show lvchange -ay -K thinvg/snap2
show mount /dev/thinvg/vol /mnt
show sh -c 'echo "version 2: written after the snapshots" >/mnt/file'
show dd if=/dev/urandom of=/mnt/noise bs=1M count=8 conv=fsync status=none
mkdir -p /snap
show mount -o ro /dev/thinvg/snap2 /snap
echo "the origin, and the snapshot of its snapshot:"
show cat /mnt/file /snap/file
show umount /snap
echo "Data% is the pool's share in use: the noise took new blocks"
show lvs -o lv_name,lv_size,data_percent,metadata_percent,pool_lv,origin thinvg
show rm /mnt/noise
show sync
show fstrim -v /mnt
show umount /mnt
echo "fstrim gave the freed blocks back to the pool:"
show lvs -o lv_name,data_percent thinvg/pool
show vgchange -q -an thinvg
echo "thin_check reads the metadata dmx wrote (LVM also runs it at every activation):"
show lvchange -q -ay -y thinvg/pool_tmeta
show thin_check /dev/thinvg/pool_tmeta
show lvchange -q -an thinvg/pool_tmeta
show vgremove -q -y thinvg
show pvremove -q /dev/ram1 /dev/ram2

step "LVM2 as a distribution runs it: systemd-udevd and the dm/LVM rules make every node and link"
. "${DMX_TESTLIB:-/tests/lib}/udev.sh"
start_udevd
echo "lvm.conf: udev_sync, udev_rules, obtain_device_list_from_udev and monitoring on"
show grep -E 'udev|monitoring' "$LVM_SYSTEM_DIR/lvm.conf"
udev_ramdisks
show vgcreate demovg /dev/ram0 /dev/ram1 /dev/ram2
show lvcreate -y -L 96M -i 2 -n home demovg
show mkfs.ext4 -q -L home /dev/demovg/home
show mount /dev/demovg/home /mnt
show sh -c 'echo "a file on an LV on dmx" >/mnt/hello'
udev_settle
echo "the links udev made (none by libdevmapper: DM_DISABLE_UDEV is unset):"
show ls -l /dev/demovg/ /dev/mapper/
show sh -c 'ls -l /dev/disk/by-id/ /dev/disk/by-label/ | grep dm'
show dmsetup udevcookies
show lvs -o lv_name,vg_name,lv_size,segtype,stripes,devices demovg
show df -h /mnt
show cat /mnt/hello
