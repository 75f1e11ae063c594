# Versions and the target list.  The version numbers are normalised.  The
# list is filtered to the four targets dmx has (dm-mod also has the
# snapshot targets loaded) and sorted: its order is that of registration,
# which depends on the order modules were loaded in.
run dmsetup version
runsh 'dmsetup targets | grep -E "^(linear|striped|zero|error) " | sort'
