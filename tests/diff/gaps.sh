# Tables whose targets do not cover the device exactly once from sector 0,
# loaded into one device that never gets a live table.
run dmsetup create --notable g
t() {
	table t.table "$@"
	printf '#   %s\n' "$@"
	run dmsetup load g t.table
	if [ "$_rc" = 0 ]; then
		run dmsetup table --inactive g
		dmsetup clear g
	fi
}
note a gap, an overlap, not starting at 0, out of order
t "0 100 linear $R0 0" "200 100 linear $R0 200"
t "0 100 linear $R0 0" "50 100 linear $R0 50"
t "100 100 linear $R0 0"
t "100 100 zero" "0 100 zero"
note zero-length targets
t "0 0 zero"
t "0 100 zero" "100 0 zero" "100 100 zero"
note adjoining targets are fine
t "0 100 zero" "100 100 error" "200 1 linear $R0 0"
infoc g
note the same with dmsetup create
table gap.table "0 100 zero" "101 100 zero"
run dmsetup create gap gap.table
run dmsetup ls
