# Striped devices: layout of the chunks on the stripes, and the table and
# status text for several geometries.
run dmsetup create st --table "0 4096 striped 2 8 $R0 0 $R1 16"
run dmsetup table st
run dmsetup status st
run dmsetup deps st
run dmsetup info st
note chunks 0, 1, 2 go to ram0 sector 0, ram1 sector 16, ram0 sector 8
runsh "for x in 0:A 8:B 16:C; do printf \${x#*:} | dd of=$DMDIR/st bs=512 seek=\${x%:*} conv=sync oflag=direct status=none; done"
runsh "for x in $R0:0 $R1:16 $R0:8; do dd if=\${x%:*} bs=512 skip=\${x#*:} count=1 iflag=direct status=none | tr -d '\\000'; done; echo"
note a read across chunks and stripes
runsh "dd if=$DMDIR/st bs=512 count=24 iflag=direct status=none | md5sum"
run dmsetup create st3 --table "0 4800 striped 3 16 $R1 100 $R2 0 $R3 7"
run dmsetup status st3
run dmsetup create st1 --table "0 1024 striped 1 8 $R2 2048"
run dmsetup table st1
note the same device twice
run dmsetup create stsame --table "0 1024 striped 2 256 $R3 0 $R3 4096"
run dmsetup table stsame
run dmsetup deps stsame
note a chunk size that is not a power of two
run dmsetup create stodd --table "0 600 striped 2 3 $R2 0 $R3 0"
run dmsetup table stodd
runsh "printf D | dd of=$DMDIR/stodd bs=512 seek=3 conv=sync oflag=direct status=none; dd if=$R3 bs=512 count=1 iflag=direct status=none | tr -d '\\000'; echo"
run dmsetup ls --tree
