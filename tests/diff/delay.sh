# delay: table, status and IMA lines with one, two and three device
# sets, the lines the constructor refuses, I/O through it, and suspend.
run dmsetup create dl --table "0 2048 delay $R0 0 0"
run dmsetup table dl
run dmsetup status dl
run dmsetup measure dl
run dmsetup deps dl
note I/O with no delay, then with short ones
runsh "printf 'delay me' | dd of=$DMDIR/dl bs=512 seek=5 conv=sync oflag=direct status=none; dd if=$R0 bs=512 skip=5 count=1 iflag=direct status=none | tr -d '\\000'; echo"
run dmsetup load dl --table "0 2048 delay $R0 100 20 $R1 200 30 $R2 300 40"
run dmsetup resume dl
run dmsetup table dl
run dmsetup status dl
run dmsetup deps dl
runsh "printf 'to ram1' | dd of=$DMDIR/dl bs=512 seek=7 conv=sync oflag=direct status=none; dd if=$R1 bs=512 skip=207 count=1 iflag=direct status=none | tr -d '\\000'; echo"
runsh "dd if=$DMDIR/dl bs=512 skip=0 count=2 iflag=direct status=none | wc -c"
run dmsetup status dl
run dmsetup suspend dl
run dmsetup status dl
run dmsetup resume dl
note table lines, loaded into the inactive slot
t() { load_table dl "$1"; }
t "0 2048 delay $R0 8 500"
t "0 2048 delay $R0 8 0 $R1 16 500"
t "0 2048 delay $R0 010 0 $R0 0 +5 $R1 0 4294967295"
note lines the constructor refuses
t "0 2048 delay $R0 0"
t "0 2048 delay $R0 0 1 $R1"
t "0 2048 delay $R0 0 1 $R1 0 1 $R2 0"
t "0 2048 delay $R0 0 1 $R1 0 1 $R2 0 1 $R3"
t "0 2048 delay $R0 x 1"
t "0 2048 delay $R0 0 -1"
t "0 2048 delay $R0 0 1.5"
t "0 2048 delay $R0 0 4294967296"
t "0 2048 delay $R0 0 1 $R1 0 x"
t "0 2048 delay $R0 0 1 /dev/nosuch 0 1"
t "0 2048 delay $R0 0 1 $R1 0 1 /dev/nosuch 0 1"
run dmsetup remove dl
