# UUIDs: create with one, look up by it, set one later, set it twice,
# duplicates.
run dmsetup create u1 -u UUID-1 --table "0 1024 zero"
run dmsetup info -u UUID-1
run dmsetup create u2 -u UUID-1 --table "0 1024 zero"
run dmsetup create u3 --table "0 1024 zero"
run dmsetup rename u3 --setuuid UUID-3
run dmsetup info u3
run dmsetup rename u3 --setuuid UUID-4
run dmsetup rename u3 --setuuid UUID-3
run dmsetup create u4 --table "0 1024 zero"
run dmsetup rename u4 --setuuid UUID-1
run dmsetup rename u4 --setuuid UUID-4
run dmsetup rename nope --setuuid UUID-5
run dmsetup info -c --noheadings -o name,uuid
note a uuid of 129 characters is too long, 128 is fine
U128=$(printf '%0128d' 0 | tr 0 u)
run dmsetup create u5 -u "${U128}x" --table "0 8 zero"
run dmsetup create u5 -u "$U128" --table "0 8 zero"
run dmsetup suspend -u "$U128"
infoc -u "$U128"
run dmsetup remove -u UUID-1
run dmsetup remove -u UUID-1
