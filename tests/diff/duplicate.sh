# Names and uuids already in use.
run dmsetup create d1 -u U1 --table "0 1024 zero"
run dmsetup create d1 --table "0 1024 zero"
run dmsetup create d2 -u U1 --table "0 1024 zero"
run dmsetup create d1 -u U2 --table "0 1024 zero"
run dmsetup create --notable d3
run dmsetup create --notable d3
run dmsetup create --notable d4 -u U1
run dmsetup ls
run dmsetup info -c --noheadings -o name,uuid
