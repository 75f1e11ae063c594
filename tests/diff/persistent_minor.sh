# Devices created with a chosen minor (-j major -m minor).
runsh 'dmsetup create p1 -j $DMMAJ -m 77 --table "0 8 zero"'
run dmsetup info -c --noheadings -o name,minor p1
runsh 'dmsetup create p2 -j $DMMAJ -m 77 --table "0 8 zero"'
runsh 'dmsetup create p3 -j $DMMAJ -m 1048575 --table "0 8 zero"'
run dmsetup info -c --noheadings -o name,minor p3
runsh 'dmsetup create p4 -j $DMMAJ -m 1048576 --table "0 8 zero"'
runsh 'dmsetup create --notable p5 -j $DMMAJ -m 78'
run dmsetup info -c --noheadings -o name,minor,attr p5
run dmsetup ls
