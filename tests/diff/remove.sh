# Removing devices: open ones, deferred removal, remove_all with an open
# device, forced removal, missing devices.
run dmsetup create r1 --table "0 1024 linear $R0 0"
exec 3<$DMDIR/r1
run dmsetup info r1
run dmsetup remove r1
run dmsetup remove --deferred r1
run dmsetup info r1
run dmsetup message r1 0 @cancel_deferred_remove
infoc r1
run dmsetup remove --deferred r1
exec 3<&-
wait_gone r1
run dmsetup info r1
note remove_all leaves the open device
run dmsetup create r2 --table "0 1024 zero"
run dmsetup create r3 --table "0 1024 zero"
exec 3<$DMDIR/r2
run dmsetup remove_all
run dmsetup ls
exec 3<&-
note remove --force of an open device replaces its table with error
run dmsetup create r4 --table "0 1024 linear $R0 0"
exec 3<$DMDIR/r4
run dmsetup remove --force r4
run dmsetup table r4
exec 3<&-
run dmsetup remove r4
run dmsetup remove r4
run dmsetup remove --deferred nope
