# One linear device: create, every query, I/O through it, remove.
run dmsetup create lin --table "0 2048 linear $R0 1024"
run dmsetup info lin
run dmsetup table lin
run dmsetup status lin
run dmsetup ls
run dmsetup ls --tree
run dmsetup ls --target linear
run dmsetup deps lin
run dmsetup deps -o devname lin
run dmsetup info -c --noheadings -o name,devno,attr,tables_loaded,open,segments,uuid,read_ahead lin
runsh "for o in --getsz --getss --getro --getra; do blockdev \$o $DMDIR/lin; done"
note "write sector 3 of lin (sector 1027 of ram0), read it back through both"
runsh "printf 'hello dm' | dd of=$DMDIR/lin bs=512 seek=3 conv=sync oflag=direct status=none; dd if=$R0 bs=512 skip=1027 count=1 iflag=direct status=none | tr -d '\\000'; echo; dd if=$DMDIR/lin bs=512 skip=3 count=1 iflag=direct status=none | tr -d '\\000'; echo"
note reading at and beyond the end
runsh "dd if=$DMDIR/lin bs=512 skip=2047 count=2 iflag=direct status=none | wc -c; dd if=$DMDIR/lin bs=512 skip=2048 count=1 iflag=direct status=none | wc -c"
run dmsetup remove lin
run dmsetup info lin
run dmsetup ls
