# Every command on a device that does not exist.
run dmsetup info nope
run dmsetup table nope
run dmsetup status nope
run dmsetup deps nope
run dmsetup suspend nope
run dmsetup resume nope
run dmsetup load nope --table "0 8 zero"
run dmsetup clear nope
run dmsetup remove nope
run dmsetup message nope 0 hello
run dmsetup rename nope other
run dmsetup setgeometry nope 1 1 1 0
note and with no devices at all
run dmsetup info
run dmsetup table
run dmsetup ls --tree
