# /sys/block/dm-N: the dm directory (name, uuid, suspended, use_blk_mq:
# the attributes of a bio-based device), size, ro, the dev_t; /dev/dm-N.
dmattrs() {
	runsh "cd /sys/block/\$(dmsetup info -c --noheadings -o blkdevname $1) && for f in dm/name dm/uuid dm/suspended dm/use_blk_mq size ro removable dev; do echo \$f: \$(cat \$f); done; ls /dev/\${PWD##*/}"
}
run dmsetup create sy -u SY-UUID --table "0 2048 linear $R0 0"
run dmsetup suspend sy
dmattrs sy
run dmsetup resume sy
run dmsetup rename sy sz
dmattrs sz
run dmsetup create --readonly sro --table "0 4096 zero"
dmattrs sro
run dmsetup remove_all
runsh "ls /dev /sys/block | grep -c '^dm-'"
