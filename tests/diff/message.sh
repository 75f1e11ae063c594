# Target messages: targets without a message method, sectors outside the
# device, core messages, a device without a table.
table m.table "0 1024 linear $R0 0" "1024 1024 zero" "2048 1024 error" \
	"3072 1024 striped 2 8 $R1 0 $R2 0"
run dmsetup create m m.table
run dmsetup message m 0 hello
run dmsetup message m 1024 hello
run dmsetup message m 2048 hello world
run dmsetup message m 3072 hello
run dmsetup message m 4096 hello
run dmsetup message m 0 @cancel_deferred_remove
run dmsetup message m 0 @cancel_deferred_remove now
run dmsetup message m 0 @nosuch
run dmsetup message m x hello
run dmsetup create --notable mt
run dmsetup message mt 0 hello
run dmsetup message mt 0 @cancel_deferred_remove
infoc m
