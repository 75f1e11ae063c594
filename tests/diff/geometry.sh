# setgeometry and what HDIO_GETGEO returns.
run dmsetup create g --table "0 65536 linear $R0 0"
run sfdisk -g $DMDIR/g
run dmsetup setgeometry g 64 32 32 0
run sfdisk -g $DMDIR/g
run dmsetup setgeometry g 70000 32 32 0
run dmsetup setgeometry g 64 256 32 0
run dmsetup setgeometry g a b c d
run sfdisk -g $DMDIR/g
