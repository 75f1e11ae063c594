# dust, compared with the stock dm-dust by tests/sh/93-dust.sh (run like
# a tests/diff scenario, but only where the stock kernel has dm-dust):
# table and status lines, every message with its answer and exit status,
# reads and writes of bad blocks, the lines the constructor refuses.
# (GNU dd: busybox's drops O_DIRECT for 512-byte blocks.)
DD=/usr/bin/dd
run dmsetup create du --table "0 2048 dust $R0 0 512"
run dmsetup table du
run dmsetup status du
run dmsetup measure du
m() { run dmsetup message du 0 "$@"; }
m countbadblocks
m listbadblocks
m clearbadblocks
m addbadblock 60
m addbadblock 67 2
m addbadblock 60
m AddBadBlock 72
m queryblock 67
m queryblock 68
m countbadblocks
m listbadblocks
m removebadblock 72
m removebadblock 72
m addbadblock
m queryblock
m addbadblock x
m addbadblock 131072
m addbadblock 131073
m removebadblock 131072
m addbadblock 5 256
m queryblock 5 1
m frobnicate
m frobnicate 5
m addbadblock 1 2 3
note bypass: bad blocks read and write
runsh "$DD if=$DMDIR/du of=/dev/null bs=512 skip=60 count=1 iflag=direct status=none"
m Enable
run dmsetup status du
runsh "$DD if=$DMDIR/du of=/dev/null bs=512 skip=60 count=1 iflag=direct status=none"
runsh "$DD if=$DMDIR/du of=/dev/null bs=512 skip=59 count=1 iflag=direct status=none"
runsh "$DD if=/dev/zero of=$DMDIR/du bs=512 seek=60 count=1 oflag=direct status=none"
runsh "$DD if=$DMDIR/du of=/dev/null bs=512 skip=60 count=1 iflag=direct status=none"
note a write fail count of 2
runsh "$DD if=/dev/zero of=$DMDIR/du bs=512 seek=67 count=1 oflag=direct status=none"
runsh "$DD if=/dev/zero of=$DMDIR/du bs=512 seek=67 count=1 oflag=direct status=none"
m listbadblocks
runsh "$DD if=/dev/zero of=$DMDIR/du bs=512 seek=67 count=1 oflag=direct status=none"
m listbadblocks
m quiet
run dmsetup status du
m addbadblock 100
m quiet
run dmsetup status du
m disable
run dmsetup status du
runsh "$DD if=$DMDIR/du of=/dev/null bs=512 skip=100 count=1 iflag=direct status=none"
m clearbadblocks
m clearbadblocks
m listbadblocks
run dmsetup remove du
note 4 KiB blocks, an offset, lines the constructor refuses
run dmsetup create du4 --table "0 2048 dust $R0 8 4096"
run dmsetup table du4
run dmsetup message du4 0 addbadblock 4
run dmsetup message du4 0 enable
runsh "for s in 22 23 24 31 32; do $DD if=$DMDIR/du4 of=/dev/null bs=512 skip=\$s count=1 iflag=direct status=none && echo \$s ok; done"
run dmsetup message du4 0 addbadblock 16384
run dmsetup message du4 0 addbadblock 16385
run dmsetup remove du4
run dmsetup create --notable bad
t() { load_table bad "$1"; }
t "0 2048 dust $R0 0"
t "0 2048 dust $R0 0 512 1"
t "0 2048 dust $R0 0 x"
t "0 2048 dust $R0 0 0"
t "0 2048 dust $R0 0 256"
t "0 2048 dust $R0 0 1000"
t "0 2048 dust $R0 0 2097152"
t "0 8 dust $R0 0 8192"
t "0 2048 dust $R0 0 +512"
t "0 2048 dust $R0 x 512"
t "0 2048 dust /dev/nosuch 0 512"
run dmsetup remove bad
