# Underlying devices that do not exist or are not block devices, loaded
# into one device that never gets a live table.
run dmsetup create --notable bad
t() { load_table bad "$1"; }
t "0 1024 linear /dev/nonexistent 0"
t "0 1024 linear /dev/null 0"
t "0 1024 linear nonexistent 0"
t "0 1024 linear 240:0 0"
t "0 1024 linear 4096:0 0"
t "0 1024 linear 1:1048576 0"
t "0 1024 linear 1:0x 0"
t "0 1024 striped 2 8 $R0 0 /dev/nonexistent 0"
note a symbolic link to ram0
ln -s $R0 ramlink
t "0 1024 linear $PWD/ramlink 0"
note dmsetup create cleans up after a failed load
run dmsetup create bad2 --table "0 1024 linear /dev/nonexistent 0"
run dmsetup ls
