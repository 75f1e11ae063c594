# A mapped device on top of another: deps, tree, open counts, removal
# order.
run dmsetup create low --table "0 2048 linear $R0 0"
runsh "dmsetup create up --table \"0 1024 linear $DMDIR/low 512\""
run dmsetup table up
run dmsetup deps up
run dmsetup deps -o blkdevname up
run dmsetup info low
run dmsetup ls --tree
run dmsetup ls --tree -o inverted
runsh "ls /sys/block/\$(dmsetup info -c --noheadings -o blkdevname low)/holders /sys/block/\$(dmsetup info -c --noheadings -o blkdevname up)/slaves"
run dmsetup remove low
runsh "printf up | dd of=$DMDIR/up bs=512 seek=1 conv=sync oflag=direct status=none; dd if=$R0 bs=512 skip=513 count=1 iflag=direct status=none | tr -d '\\000'; echo"
note a third level, by major:minor
runsh "dmsetup create top --table \"0 512 linear \$(dmsetup info -c --noheadings -o devno up) 0\""
run dmsetup ls --tree
run dmsetup remove up
run dmsetup remove top
infoc low
run dmsetup remove up
note remove_all removes a whole stack
runsh "dmsetup create up --table \"0 1024 linear $DMDIR/low 0\""
run dmsetup remove_all
run dmsetup ls
