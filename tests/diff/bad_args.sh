# Target lines the constructors must refuse (and a few they must accept),
# loaded into one device that never gets a live table.  (None of these
# fails on the size of a device: that check is the subject of
# offset_past_end.sh.)
run dmsetup create --notable bad
t() { load_table bad "$1"; }
t "0 1024 nosuch"
note linear
t "0 1024 linear $R0"
t "0 1024 linear $R0 0 0"
t "0 1024 linear $R0 abc"
t "0 1024 linear $R0 12abc"
t "0 1024 linear $R0 -1"
t "0 1024 linear $R0 +8"
t "0 1024 linear $R0 0x10"
t "0 1024 linear $R0 010"
note zero and error
t "0 1024 zero extra"
t "0 1024 error extra args"
note a table line dmsetup itself rejects
t "0 abc linear $R0 0"
infoc bad
