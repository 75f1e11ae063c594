# Read-only tables: the flag, the block device, writes refused.
run dmsetup create ro --readonly --table "0 1024 linear $R0 0"
run dmsetup info ro
runsh "blockdev --getro $DMDIR/ro; cat /sys/block/\$(dmsetup info -c --noheadings -o blkdevname ro)/ro"
runsh "printf x | dd of=$DMDIR/ro bs=512 conv=sync oflag=direct status=none"
run dd if=$DMDIR/ro of=/dev/null bs=512 count=1 iflag=direct status=none
note a read-write table replaces it
run dmsetup load ro --table "0 1024 linear $R0 0"
infoc ro
run dmsetup resume ro
infoc ro
runsh "blockdev --getro $DMDIR/ro; printf x | dd of=$DMDIR/ro bs=512 conv=sync oflag=direct status=none"
note and a read-only one again
run dmsetup load --readonly ro --table "0 1024 linear $R0 0"
infoc ro
run dmsetup resume ro
run dmsetup info ro
run blockdev --getro $DMDIR/ro
