// SPDX-License-Identifier: GPL-2.0
/*
 * dmxt: the helpers the shell tests share with the C tests, one
 * implementation each (tests/c/dmx_test.h), as subcommands that
 * tests/lib/tap.sh wraps:
 *
 *   dmxt ramdisks COUNT MB   /dev/ram0.. of MB MiB each, fresh (ramdisks)
 *   dmxt wait-gone NAME      until no device is called NAME (wait_gone)
 *   dmxt is-stock            status 0 if the loaded dm is stock (is_stock)
 *   dmxt wait-in-io PID      until PID waits for I/O, state D (wait_in_io)
 *   dmxt targets             the target types the dm must register, one
 *                            "NAME vX.Y.Z" a line (expected_targets)
 *   dmxt resume-all          resume every suspended device (resume_all_dm)
 *   dmxt remove-all          resume and remove every device, and drop the
 *                            /dev/mapper nodes of devices that are gone;
 *                            fails naming those left (dm_teardown)
 *
 * Every wait is bounded (DMX_FINISH_MS) and says on stderr why it gave
 * up.  Built by tests/vm/build-tests.sh into $DMX_BUILD/tools/ and put
 * in the guest's PATH, not among the tests.
 */
#define _GNU_SOURCE
#include <dirent.h>

#include "dmx_test.h"
#include "dmx_targets.h"

static int bad_usage(void)
{
	fprintf(stderr, "usage: dmxt ramdisks COUNT MB | wait-gone NAME | is-stock |\n"
		"       wait-in-io PID | targets | resume-all | remove-all\n");
	return 2;
}

static int cmd_ramdisks(const char *count, const char *mb)
{
	int n = atoi(count), size = atoi(mb);

	if (n < 1 || size < 1)
		return bad_usage();
	return dmx_ramdisks_n(n, size) ? 1 : 0;
}

static int cmd_wait_gone(const char *name)
{
	int ctl = dmx_open_control();
	int ret;

	if (ctl < 0) {
		fprintf(stderr, "wait-gone: open %s: %s\n", DMX_CONTROL_PATH,
			strerror(errno));
		return 1;
	}
	ret = dmx_wait_gone(ctl, name, DMX_FINISH_MS);
	close(ctl);
	if (ret) {
		fprintf(stderr, "wait-gone: %s still exists after %d ms\n",
			name, DMX_FINISH_MS);
		return 1;
	}
	return 0;
}

static int cmd_wait_in_io(const char *pid)
{
	if (dmx_wait_state(atoi(pid), "D", DMX_FINISH_MS))
		return 0;
	fprintf(stderr, "wait-in-io: process %s is %s\n", pid,
		dmx_task_state(atoi(pid)) ? "not waiting for I/O" : "gone");
	return 1;
}

/*
 * Without udev, dmsetup keeps /dev/mapper itself; devices removed by
 * ioctl leave their nodes behind, which would stand in for devices of
 * the same name later.
 */
static void drop_stale_nodes(int ctl)
{
	DIR *d = opendir("/dev/" DM_DIR);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, DM_CONTROL_NODE) ||
		    dmx_status(ctl, e->d_name, NULL) != -ENXIO)
			continue;
		unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

/* what: "resume-all" or "remove-all". */
static int cmd_all(const char *what)
{
	int ctl = dmx_open_control();
	int ret;

	if (ctl < 0) {
		fprintf(stderr, "%s: open %s: %s\n", what, DMX_CONTROL_PATH,
			strerror(errno));
		return 1;
	}
	if (!strcmp(what, "resume-all")) {
		ret = dmx_resume_all(ctl);
	} else {
		ret = dmx_remove_all(ctl);
		drop_stale_nodes(ctl);
	}
	close(ctl);
	if (ret < 0)
		fprintf(stderr, "%s: %s\n", what, strerror(-ret));
	return ret ? 1 : 0;
}

static int cmd_targets(void)
{
	const struct dmx_target_version *t;
	const unsigned int *v;

	for (t = dmx_expected_targets; t->name; t++) {
		v = dmx_target_version_here(t);
		printf("%s v%u.%u.%u\n", t->name, v[0], v[1], v[2]);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "ramdisks"))
		return cmd_ramdisks(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "wait-gone"))
		return cmd_wait_gone(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "is-stock"))
		return dmx_is_stock() ? 0 : 1;
	if (argc == 3 && !strcmp(argv[1], "wait-in-io"))
		return cmd_wait_in_io(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "targets"))
		return cmd_targets();
	if (argc == 2 && (!strcmp(argv[1], "resume-all") ||
			  !strcmp(argv[1], "remove-all")))
		return cmd_all(argv[1]);
	return bad_usage();
}
