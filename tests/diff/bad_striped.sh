# Striped constructor errors, loaded into one device that never gets a
# live table.
run dmsetup create --notable bad
t() { load_table bad "$1"; }
t "0 1024 striped 2"
t "0 1024 striped 0 8 $R0 0"
t "0 1024 striped x 8 $R0 0"
t "0 1024 striped 2 0 $R0 0 $R1 0"
t "0 1024 striped 2 abc $R0 0 $R1 0"
t "0 1024 striped 2 8 $R0 0"
t "0 1024 striped 2 8 $R0 0 $R1 0 $R2 0"
t "0 1023 striped 2 8 $R0 0 $R1 0"
t "0 1000 striped 2 8 $R0 0 $R1 0"
t "0 1024 striped 2 8 $R0 0 $R1 abc"
t "0 1024 striped 4294967295 8 $R0 0"
note chunk sizes that are accepted
t "0 1024 striped 2 1 $R0 0 $R1 0"
t "0 1024 striped 2 512 $R0 0 $R1 0"
