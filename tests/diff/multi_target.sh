# A table of four targets of all four types, from a table file.
table multi.table \
	"0 1024 linear $R0 0" \
	"1024 1024 zero" \
	"2048 1024 error" \
	"3072 2048 linear $R1 4096"
run dmsetup create multi multi.table
run dmsetup info multi
run dmsetup table multi
run dmsetup status multi
run dmsetup table --target zero multi
run dmsetup deps multi
run dmsetup ls --tree
note "write to the last target (sector 3073 is sector 4097 of ram1), read it back"
runsh "printf tail | dd of=$DMDIR/multi bs=512 seek=3073 conv=sync oflag=direct status=none; dd if=$R1 bs=512 skip=4097 count=1 iflag=direct status=none | tr -d '\\000'; echo"
note a read that spans linear and zero
runsh "dd if=$DMDIR/multi bs=512 skip=1000 count=48 iflag=direct status=none | md5sum"
note "writes to zero are dropped"
runsh "printf gone | dd of=$DMDIR/multi bs=512 seek=1030 conv=sync oflag=direct status=none; dd if=$DMDIR/multi bs=512 skip=1030 count=1 iflag=direct status=none | tr -d '\\000'; echo"
note reads and writes of error, and a read that spans zero and error
run dd if=$DMDIR/multi of=/dev/null bs=512 skip=2048 count=1 iflag=direct status=none
run dd if=$DMDIR/multi of=/dev/null bs=512 skip=2040 count=16 iflag=direct status=none
runsh "printf err | dd of=$DMDIR/multi bs=512 seek=2050 conv=sync oflag=direct status=none"
run dmsetup remove multi
