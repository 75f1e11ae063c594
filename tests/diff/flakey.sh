# flakey: the table, status and IMA lines of each feature set, the lines
# the constructor refuses, and I/O while the device is down.  dmx prints
# Linux 6.1's lines; later kernels print their own (6.12: no trailing
# space, more features), so there is nothing to compare on them.
case $(uname -r) in
6.1.*) ;;
*)
	note "not compared: this kernel's flakey is not 6.1's"
	return 0
	;;
esac
run dmsetup create fl --table "0 2048 flakey $R0 0 0 5"
run dmsetup table fl
run dmsetup status fl
run dmsetup measure fl
run dmsetup ls --target flakey
run dmsetup deps fl
note reads and writes while down
runsh "dd if=$DMDIR/fl of=/dev/null bs=4096 count=1 iflag=direct status=none"
runsh "dd if=/dev/zero of=$DMDIR/fl bs=4096 count=1 oflag=direct status=none"
note feature sets, loaded into the inactive slot
t() { load_table fl "$1"; }
t "0 2048 flakey $R0 8 10 5 1 drop_writes"
t "0 2048 flakey $R0 0 1 1 1 Error_Writes"
t "0 2048 flakey $R0 0 0 5 5 corrupt_bio_byte 32 r 1 0"
t "0 2048 flakey $R0 0 0 5 5 corrupt_bio_byte 512 W 255 4096"
t "0 2048 flakey $R0 0 0 5 6 drop_writes corrupt_bio_byte 1 r 0 0"
t "0 2048 flakey $R0 0 0 5 6 corrupt_bio_byte 1 r 0 0 error_writes"
t "0 2048 flakey $R0 0 0 5 10 corrupt_bio_byte 1 r 0 0 corrupt_bio_byte 2 r 3 4"
t "0 2048 flakey $R0 0 0 5 1 drop_writes trailing words"
t "0 2048 flakey $R0 0 0 5 0"
t "0 2048 flakey $R0 0 3600 0"
t "0 2048 flakey $R0 0 4294967294 1"
t "0 2048 flakey $R0 010 +1 1"
note lines the constructor refuses
t "0 2048 flakey $R0 0 1"
t "0 2048 flakey $R0 x 1 1"
t "0 2048 flakey $R0 0 -1 1"
t "0 2048 flakey $R0 0 0 0"
t "0 2048 flakey $R0 0 4294967295 1"
t "0 2048 flakey $R0 0 4294967295 2"
t "0 2048 flakey $R0 0 0 1 7 a b c d e f g"
t "0 2048 flakey $R0 0 0 1 2 drop_writes"
t "0 2048 flakey $R0 0 0 1 1 nosuch"
t "0 2048 flakey $R0 0 0 1 2 drop_writes drop_writes"
t "0 2048 flakey $R0 0 0 1 2 error_writes drop_writes"
t "0 2048 flakey $R0 0 0 1 1 corrupt_bio_byte"
t "0 2048 flakey $R0 0 0 1 5 corrupt_bio_byte 0 r 1 0"
t "0 2048 flakey $R0 0 0 1 5 corrupt_bio_byte 1 rw 1 0"
t "0 2048 flakey $R0 0 0 1 5 corrupt_bio_byte 1 r 256 0"
t "0 2048 flakey $R0 0 0 1 4 corrupt_bio_byte 1 r 1 0"
t "0 2048 flakey $R0 0 0 1 6 drop_writes corrupt_bio_byte 1 w 1 0"
t "0 2048 flakey /dev/nosuch 0 0 1"
t "0 2048 flakey $R0 0 1 1 1 drop_writes extra"
run dmsetup remove fl
