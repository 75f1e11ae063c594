# Device names: '/' (refused by dmsetup, even as a /dev/mapper/ prefix),
# the longest name, unusual characters.
run dmsetup create 'a/b' --table "0 8 zero"
run dmsetup create $DMDIR/pre --table "0 8 zero"
L127=$(printf '%0127d' 0 | tr 0 n)
run dmsetup create "$L127" --table "0 8 zero"
run dmsetup create "${L127}x" --table "0 8 zero"
run dmsetup create 'sp ace' --table "0 8 zero"
run dmsetup create 'dots.-_+:=@' --table "0 8 zero"
run dmsetup info 'sp ace'
run dmsetup rename 'sp ace' 'x/y'
run dmsetup rename 'sp ace' "$DMDIR/y"
run dmsetup ls
