# Targets reaching past the end of their device (ram disks are 131072
# sectors).  dm-mod checks the device size at the first table load of a
# device (and otherwise only at resume), so every load here is a first
# load: a new device each time.
t() {
	run dmsetup create big --table "$1"
	if [ "$_rc" = 0 ]; then
		run dmsetup table big
		dmsetup remove big
	fi
}
t "0 1024 linear $R0 131000"
t "0 1024 linear $R0 131072"
t "0 131073 linear $R0 0"
t "0 131072 linear $R0 0"
t "0 1024 striped 2 8 $R0 0 $R1 131072"
t "0 2048 striped 2 8 $R0 130048 $R1 0"
table two.table "0 1024 linear $R0 0" "1024 1024 linear $R1 131071"
run dmsetup create big two.table
note first load by create --notable and load
run dmsetup create --notable nt
run dmsetup load nt --table "0 1024 linear $R0 131000"
infoc nt
run dmsetup remove nt
