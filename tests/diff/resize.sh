# Growing and shrinking a device by loading a bigger or smaller table.
run dmsetup create r --table "0 1024 linear $R0 0"
run dmsetup load r --table "0 4096 linear $R0 0"
run blockdev --getsz $DMDIR/r
run dmsetup resume r
run blockdev --getsz $DMDIR/r
table grow.table "0 4096 linear $R0 0" "4096 4096 zero"
run dmsetup reload r grow.table
run dmsetup resume r
run blockdev --getsz $DMDIR/r
run dmsetup load r --table "0 100 linear $R1 0"
run dmsetup resume r
run dmsetup info r
run blockdev --getsz $DMDIR/r
