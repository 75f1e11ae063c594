# An underlying device of size 0 (a loop device without a backing file):
# dm-mod does not check the target against the size of such a device.
modprobe loop 2>/dev/null
run blockdev --getsz /dev/loop0
run dmsetup create zs --table "0 1024 linear /dev/loop0 0"
run dmsetup table zs
run dmsetup deps zs
run dd if=$DMDIR/zs of=/dev/null bs=512 count=1 iflag=direct status=none
run dmsetup remove zs
run dmsetup create zs2 --table "0 1024 striped 2 8 /dev/loop0 0 $R0 0"
run dmsetup table zs2
run dmsetup remove zs2
