# Suspend and resume, twice over, with the flags dmsetup passes.
run dmsetup create s --table "0 1024 linear $R0 0"
run dmsetup suspend s
run dmsetup info s
run dmsetup status s
run dmsetup suspend s
run dmsetup resume s
run dmsetup info s
run dmsetup resume s
run dmsetup suspend --nolockfs --noflush s
infoc s
run dmsetup resume --noflush s
infoc s
note a device without a table
run dmsetup create --notable nt
run dmsetup suspend nt
infoc nt
run dmsetup resume nt
infoc nt
run dmsetup load nt --table "0 8 zero"
run dmsetup resume nt
infoc nt
