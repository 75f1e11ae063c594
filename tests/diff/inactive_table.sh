# Loading into the inactive slot, querying it, clearing it, swapping it in.
run dmsetup create a --table "0 1024 linear $R0 0"
run dmsetup load a --table "0 2048 zero"
run dmsetup info a
run dmsetup table a
run dmsetup table --inactive a
run dmsetup status --inactive a
run dmsetup deps --inactive a
run blockdev --getsz $DMDIR/a
run dmsetup clear a
infoc a
run dmsetup table --inactive a
run dmsetup clear a
run dmsetup load a --table "0 512 linear $R1 0"
run dmsetup load a --table "0 256 linear $R2 0"
run dmsetup resume a
run dmsetup info a
run dmsetup deps a
run blockdev --getsz $DMDIR/a
note a device created without a table
run dmsetup create --notable n
infoc n
run dmsetup status n
run dmsetup load n --table "0 64 error"
run dmsetup info n
run dmsetup table --inactive n
run dmsetup resume n
run dmsetup table n
note an empty table, then wipe_table
: >empty.table
run dmsetup load n empty.table
run dmsetup wipe_table a
run dmsetup table a
