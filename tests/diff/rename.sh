# Renames: plain, onto an existing name, of a missing device, to an
# invalid name, of an open device.
run dmsetup create a --table "0 1024 zero"
run dmsetup create b -u uuid-b --table "0 1024 zero"
run dmsetup rename a c
run dmsetup ls
run dmsetup info c
run dmsetup rename c b
run dmsetup rename c c
run dmsetup rename nope x
run dmsetup rename c 'x/y'
run dmsetup rename -u uuid-b d
run dmsetup rename b d
note a 127-character name is the longest
L127=$(printf '%0127d' 0 | tr 0 n)
run dmsetup rename c "$L127"
run dmsetup rename "$L127" "${L127}x"
note renaming an open device
exec 3<$DMDIR/d
run dmsetup rename d e
infoc
exec 3<&-
run dmsetup table e
