# What the block layer reports for mapped devices: sizes, alignment,
# read-ahead, as stacked from the underlying devices.
limits() {
	runsh "blockdev --getra $DMDIR/$1; cd /sys/block/\$(dmsetup info -c --noheadings -o blkdevname $1)/queue && cat ../size; for f in logical_block_size physical_block_size minimum_io_size optimal_io_size read_ahead_kb max_sectors_kb rotational discard_granularity discard_max_bytes; do echo \$f \$(cat \$f); done"
}
run dmsetup create l --table "0 2048 linear $R0 0"
limits l
run dmsetup create s256 --table "0 8192 striped 4 256 $R0 8192 $R1 8192 $R2 0 $R3 0"
limits s256
run dmsetup create z --table "0 2048 zero"
limits z
table mix.table "0 2048 linear $R0 0" "2048 2048 striped 2 64 $R1 0 $R2 0"
run dmsetup create mix mix.table
limits mix
