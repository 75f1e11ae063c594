# A device that never had a table: what dmsetup and the block layer see
# of it.  (dm-mod registers the disk at the first table load.)
run dmsetup create --notable nt
run dmsetup info nt
run dmsetup info -c --noheadings -o name,attr,tables_loaded,open,segments,read_ahead nt
run dmsetup mknodes nt
run blockdev --getsz $DMDIR/nt
runsh "ls /sys/block | grep -c '^dm-'"
run dmsetup load nt --table "0 8 zero"
run dmsetup info nt
run blockdev --getsz $DMDIR/nt
runsh "ls /sys/block | grep -c '^dm-'"
run dmsetup clear nt
run dmsetup info nt
run dmsetup remove nt
