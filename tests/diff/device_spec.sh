# Less common ways to name the underlying device that dm-mod's lookup
# (major:minor, a path, else the boot-time name_to_dev_t rules) accepts.
run dmsetup create --notable spec
t() { load_table spec "$1"; }
note major:minor with leading zeros
t "0 1024 linear 01:00 0"
note "a hexadecimal dev_t: 0x100 is 1:0"
t "0 1024 linear 100 0"
note a kernel disk name without a node in /dev
mv /dev/ram3 /dev/ram3.moved
t "0 1024 linear /dev/ram3 0"
mv /dev/ram3.moved /dev/ram3
