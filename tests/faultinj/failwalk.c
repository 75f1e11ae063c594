// SPDX-License-Identifier: GPL-2.0
/*
 * failwalk [-l] [-k STRIDE] [-d DEV]... [WALK...]: every allocation of a
 * control-plane command, failed in turn (or every STRIDE-th: 1, 1 + K,
 * 1 + 2K..., for a shorter run).
 *
 * For each walk (one command on a device in a given state) and for
 * n = 1, 2, ...: set the state up, make the n-th slab allocation of the
 * calling task fail (/proc/thread-self/fail-nth; failslab with
 * ignore-gfp-wait=N, so that GFP_KERNEL allocations count), make the
 * call, then check with ordinary calls that it ended cleanly: success
 * or an errno, and the device either as the command leaves it or as it
 * was, usable (a read works) and removable.  The walk ends at the
 * first n that the call does not reach, which must then succeed.
 *
 * Needs CONFIG_FAILSLAB with debugfs set up by the caller (96-faults.sh).
 * The devices come in fours (default /dev/ram0..3, the ramdisks of
 * tests/c): data, data, data, COW.  Each four gets a worker process of
 * its own, with device names of its own, and the walks are shared out
 * among them (fail-nth belongs to the task, so they do not disturb
 * each other).  -l lists the walks.
 * Output: "# walk NAME: ..." lines with the figures, "# FAULT-VIOLATION"
 * lines for broken rules; exit status 0 iff there were none.
 */
#define _GNU_SOURCE
#include <stdarg.h>

#include <linux/fs.h>

#include "../c/dmx_test.h"

#define MAX_STEPS	3000
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define MAX_WORKERS	8

static int ctl;
static char ram[4][32];		/* "major:minor" of this worker's four */
static const char *ram_path[4];
static uint64_t ram_len;	/* sectors: the smallest of the four */
static unsigned long violations;

/* This worker's device names and uuids. */
static char A[16], B[16], O[16], S[16], UA[24], UB[24], UO[24];

/* A length of 0 in a walk: the whole device. */
#define WHOLE	0

struct walk;
typedef int (*walk_fn)(const struct walk *w);

struct walk {
	const char *name;
	walk_fn setup;		/* the state before the call; 0 or -errno */
	walk_fn call;		/* the command under test */
	walk_fn check;		/* after it, given its result in last_ret */
	const char *type;	/* target type, for the table walks */
	const char *params;	/* its line, ramdisks as $1 .. $4 */
	uint64_t len;
	bool io_fails;		/* reads of the device end in EIO (error) */
	unsigned long cmd;	/* call_command's ioctl, its flags, its device */
	uint32_t cmd_flags;
	char on;		/* 'A', 'B' or 0 for none */
};

static int last_ret;
static unsigned long step, stride = 1;

static void violation(const struct walk *w, const char *fmt, ...)
{
	va_list ap;

	violations++;
	printf("# FAULT-VIOLATION walk %s step %lu (call returned %d): ", w->name,
	       step, last_ret);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* --- fail-nth ------------------------------------------------------------ */

static int nth_fd = -1;

static int nth_open(void)
{
	nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	return nth_fd < 0 ? -errno : 0;
}

/* Arms the n-th allocation from now (0 disarms). */
static void nth_set(unsigned long n)
{
	char buf[24];
	int len = snprintf(buf, sizeof(buf), "%lu", n);

	if (pwrite(nth_fd, buf, len, 0) != len) {
		perror("fail-nth");
		exit(2);
	}
}

/* True if the armed failure was injected (the count ran out). */
static bool nth_fired(void)
{
	char buf[24] = "";

	if (pread(nth_fd, buf, sizeof(buf) - 1, 0) <= 0)
		return false;
	return strtoul(buf, NULL, 10) == 0;
}

/* --- helpers --------------------------------------------------------------- */

/* The walk's line with $1 .. $4 replaced by the ramdisks. */
static void line_params(const struct walk *w, char *out, size_t max)
{
	const char *p = w->params;
	size_t n = 0;

	while (*p && n + 1 < max) {
		if (p[0] == '$' && p[1] >= '1' && p[1] <= '4') {
			n += snprintf(out + n, max - n, "%s", ram[p[1] - '1']);
			p += 2;
		} else {
			out[n++] = *p++;
		}
	}
	out[n < max ? n : max - 1] = '\0';
}

static int load_walk_table(const struct walk *w, const char *name)
{
	char params[512];
	struct dmx_line line = { 0, w->len ? w->len : ram_len, w->type, params };

	line_params(w, params, sizeof(params));
	return dmx_load(ctl, name, &line, 1);
}

/* A table of many linear targets, so the load allocates per target. */
static int load_many(const char *name)
{
	static struct dmx_req r;
	char params[64];
	int i, ret;

	dmx_req_init(&r, name);
	for (i = 0; i < 64; i++) {
		snprintf(params, sizeof(params), "%s %d", ram[i % 3], i * 64);
		ret = dmx_req_add_target(&r, i * 64, 64, "linear", params);
		if (ret)
			return ret;
	}
	return dmx_call(ctl, DM_TABLE_LOAD, &r);
}

/* Zeroes the start of the fourth device, the COW: a blank store. */
static int blank_cow(void)
{
	static void *zero;
	int fd, r = 0;

	if (!zero && posix_memalign(&zero, 4096, 1 << 16))
		return -ENOMEM;
	memset(zero, 0, 1 << 16);
	fd = open(ram_path[3], O_WRONLY | O_DIRECT);
	if (fd < 0)
		return -errno;
	if (pwrite(fd, zero, 1 << 16, 0) != 1 << 16)
		r = -errno;
	close(fd);
	return r;
}

/* One 4 KiB O_DIRECT read: 0, or -errno. */
static int read_device(const char *name)
{
	struct dmx_io_arg a = { dmx_dev_of(ctl, name), 0, 4096, false };
	long r;

	if (!a.dev)
		return -ENXIO;
	r = dmx_direct_io(&a);
	return r == 4096 ? 0 : r < 0 ? (int)r : -EIO;
}

static bool exists(const char *name)
{
	return !dmx_status(ctl, name, NULL);
}

/* The device works: a read (EIO expected from the error target). */
static void expect_usable(const struct walk *w, const char *name)
{
	int r = read_device(name);

	if (w->io_fails ? r != -EIO : r != 0)
		violation(w, "%s: read after the call: %s", name, strerror(-r));
}

/* Removes every fw- device, resuming first; a failure is a violation. */
static void teardown(const struct walk *w)
{
	const char *const names[] = { S, A, B, O };
	unsigned int i, pass;

	for (pass = 0; pass < 3; pass++) {
		for (i = 0; i < ARRAY_SIZE(names); i++) {
			if (!exists(names[i]))
				continue;
			dmx_resume(ctl, names[i]);
			dmx_remove(ctl, names[i]);
		}
	}
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (exists(names[i]))
			violation(w, "%s cannot be removed afterwards", names[i]);
}

/* --- setups ------------------------------------------------------------------ */

static int setup_none(const struct walk *w)
{
	(void)w;
	return 0;
}

static int setup_created(const struct walk *w)
{
	(void)w;
	return dmx_create_ex(ctl, A, UA, 0, 0, NULL);
}

/* A snapshot (on ram3) of ram0, resumed: the store is formatted. */
static int make_snapshot(const char *name, const char *store)
{
	char params[96];
	struct dmx_line line = { 0, ram_len, "snapshot", params };

	snprintf(params, sizeof(params), "%s %s %s 8", ram[0], ram[3], store);
	return dmx_create_table(ctl, name, &line, 1);
}

static int setup_for_load(const struct walk *w)
{
	bool snapshot = w->type && !strncmp(w->type, "snapshot", 8);
	int r = snapshot ? blank_cow() : 0;

	/* A merge needs a store written by a snapshot first. */
	if (!r && w->type && !strcmp(w->type, "snapshot-merge")) {
		r = make_snapshot(S, "P");
		if (!r)
			r = dmx_remove(ctl, S);
	}
	return r ? r : setup_created(w);
}

static int setup_loaded(const struct walk *w)
{
	int r = setup_for_load(w);

	if (!r)
		r = w->type ? load_walk_table(w, A) : load_many(A);
	return r;
}

static int setup_active(const struct walk *w)
{
	int r = setup_loaded(w);

	if (!r)
		r = dmx_resume(ctl, A);
	return r;
}

/* An active device with a second table waiting: resume swaps them. */
static int setup_reload(const struct walk *w)
{
	int r = setup_active(w);

	if (!r)
		r = load_walk_table(w, A);
	return r;
}

/* An origin (A, over ram0) with a live snapshot S. */
static int setup_origin_and_snapshot(const struct walk *w)
{
	char params[96];
	struct dmx_line line = { 0, ram_len, "snapshot-origin", params };
	int r = blank_cow();

	(void)w;
	if (!r)
		r = make_snapshot(S, "P");
	if (r)
		return r;
	snprintf(params, sizeof(params), "%s", ram[0]);
	return dmx_create_table(ctl, A, &line, 1);
}

/* Origin and snapshot, the origin loaded but not resumed. */
static int setup_origin_loaded(const struct walk *w)
{
	char params[96];
	struct dmx_line line = { 0, ram_len, "snapshot-origin", params };
	int r = blank_cow();

	(void)w;
	if (!r)
		r = make_snapshot(S, "P");
	if (!r)
		r = dmx_create(ctl, A);
	if (r)
		return r;
	snprintf(params, sizeof(params), "%s", ram[0]);
	return dmx_load(ctl, A, &line, 1);
}

/* Three devices, one stacked on another, for the listing walks. */
static int setup_three(const struct walk *w)
{
	char params[64];
	struct dmx_line line = { 0, 2048, "linear", params };
	uint64_t dev;
	int r = setup_active(w);

	if (r)
		return r;
	dev = dmx_dev_of(ctl, A);
	snprintf(params, sizeof(params), "%u:%u 0", dmx_dev_major(dev), dmx_dev_minor(dev));
	r = dmx_create_table(ctl, B, &line, 1);
	return r ? r : dmx_create_ex(ctl, O, UO, 0, 0, NULL);
}

/* --- calls ----------------------------------------------------------------- */

static int call_create(const struct walk *w)
{
	(void)w;
	return dmx_create_ex(ctl, A, UA, 0, 0, NULL);
}

static int call_load(const struct walk *w)
{
	return w->type ? load_walk_table(w, A) : load_many(A);
}

static int call_resume(const struct walk *w)
{
	(void)w;
	return dmx_resume(ctl, A);
}

static int call_suspend(const struct walk *w)
{
	(void)w;
	return dmx_suspend_flags(ctl, A, DM_SUSPEND_FLAG | DM_NOFLUSH_FLAG, NULL);
}

static int call_rename(const struct walk *w)
{
	(void)w;
	return dmx_rename(ctl, A, B);
}

static int call_set_uuid(const struct walk *w)
{
	(void)w;
	return dmx_rename_flags(ctl, B, UB, DM_UUID_FLAG, NULL);
}

static int call_message(const struct walk *w)
{
	static struct dmx_req r;
	struct dm_target_msg *msg = (struct dm_target_msg *)r.data;

	(void)w;
	dmx_req_init(&r, A);
	msg->sector = 0;
	strcpy(msg->message, "@cancel_deferred_remove");
	return dmx_call(ctl, DM_TARGET_MSG, &r);
}

static int call_remove(const struct walk *w)
{
	(void)w;
	return dmx_remove(ctl, A);
}

static int call_remove_all(const struct walk *w)
{
	static struct dmx_req r;

	(void)w;
	dmx_req_init(&r, NULL);
	return dmx_call(ctl, DM_REMOVE_ALL, &r);
}

/* A command named by the walk, with no payload of its own. */
static int call_command(const struct walk *w)
{
	static struct dmx_req r;

	dmx_req_init(&r, w->on == 'A' ? A : w->on == 'B' ? B : NULL);
	r.io.flags = w->cmd_flags;
	if (w->cmd == DM_DEV_WAIT)
		r.io.event_nr = ~0U;	/* not the current event: no waiting */
	if (w->cmd == DM_DEV_SET_GEOMETRY)
		snprintf(r.data, sizeof(r.data), "16 4 32 0");
	return dmx_call(ctl, w->cmd, &r);
}

/* --- checks --------------------------------------------------------------- */

static int check_create(const struct walk *w)
{
	struct dmx_req r;

	dmx_req_init_uuid(&r, UA);
	if (!last_ret) {
		if (!exists(A))
			violation(w, "created device is not there");
		return 0;
	}
	if (exists(A) || !dmx_call(ctl, DM_DEV_STATUS, &r))
		violation(w, "a failed create left the device behind");
	if (call_create(w))
		violation(w, "create after a failed one fails");
	return 0;
}

/* After a load: the table waits (success) or nothing waits (failure). */
static int check_load(const struct walk *w)
{
	struct dm_ioctl io;
	int r;

	if (dmx_status(ctl, A, &io)) {
		violation(w, "device gone after a load");
		return 0;
	}
	if (!last_ret != !!(io.flags & DM_INACTIVE_PRESENT_FLAG))
		violation(w, "inactive table %s after the load %s",
			  io.flags & DM_INACTIVE_PRESENT_FLAG ? "present" : "absent",
			  last_ret ? "failed" : "succeeded");
	r = last_ret ? call_load(w) : 0;
	if (r)
		violation(w, "load after a failed one: %s", strerror(-r));
	r = dmx_resume(ctl, A);
	if (r)
		violation(w, "resume after the load: %s", strerror(-r));
	else
		expect_usable(w, A);
	return 0;
}

/* After a resume: running with the new table, or a retry gets it there. */
static int check_resume(const struct walk *w)
{
	struct dm_ioctl io;
	int r;

	r = last_ret ? dmx_resume(ctl, A) : 0;
	if (r)
		violation(w, "resume after a failed one: %s", strerror(-r));
	if (dmx_status(ctl, A, &io)) {
		violation(w, "device gone after a resume");
		return 0;
	}
	if (io.flags & (DM_SUSPEND_FLAG | DM_INACTIVE_PRESENT_FLAG) ||
	    !(io.flags & DM_ACTIVE_PRESENT_FLAG))
		violation(w, "after resuming: flags 0x%x", io.flags);
	else
		expect_usable(w, A);
	if (!strcmp(w->name, "resume-origin-with-snapshot") && read_device(S))
		violation(w, "the snapshot does not read after its origin resumed");
	return 0;
}

static int check_suspend(const struct walk *w)
{
	struct dm_ioctl io;

	if (dmx_status(ctl, A, &io)) {
		violation(w, "device gone after a suspend");
		return 0;
	}
	if (!last_ret != !!(io.flags & DM_SUSPEND_FLAG))
		violation(w, "suspended flag 0x%x after the suspend returned %d",
			  io.flags, last_ret);
	if (dmx_resume(ctl, A))
		violation(w, "resume after the suspend fails");
	expect_usable(w, A);
	return 0;
}

static int check_rename(const struct walk *w)
{
	bool a = exists(A), b = exists(B);

	if (last_ret ? !a || b : a || !b)
		violation(w, "after the rename: %s %s, %s %s", A, a ? "exists" : "gone",
			  B, b ? "exists" : "gone");
	expect_usable(w, a ? A : B);
	return 0;
}

static int check_set_uuid(const struct walk *w)
{
	struct dmx_req r;

	dmx_req_init_uuid(&r, UB);
	if (!last_ret != !dmx_call(ctl, DM_DEV_STATUS, &r))
		violation(w, "uuid lookup disagrees with the call's result");
	expect_usable(w, B);
	return 0;
}

static int check_remove(const struct walk *w)
{
	bool there = exists(A);

	if (!last_ret == there)
		violation(w, "device %s after the remove %s", there ? "there" : "gone",
			  last_ret ? "failed" : "succeeded");
	if (there) {
		expect_usable(w, A);
		if (dmx_remove(ctl, A))
			violation(w, "remove after a failed one fails");
	}
	if (exists(S) && read_device(S))
		violation(w, "the snapshot does not read after its origin went");
	return 0;
}

static int check_remove_all(const struct walk *w)
{
	call_remove_all(w);
	if (exists(A) || exists(B) || exists(O))
		violation(w, "devices left after a second remove_all");
	return 0;
}

/* A reading command: the device as it was, still usable. */
static int check_unchanged(const struct walk *w)
{
	struct dm_ioctl io;

	if (dmx_status(ctl, A, &io) || !(io.flags & DM_ACTIVE_PRESENT_FLAG) ||
	    (io.flags & DM_SUSPEND_FLAG)) {
		violation(w, "device changed by a command that only reads");
		return 0;
	}
	expect_usable(w, A);
	return 0;
}

static int check_cleared(const struct walk *w)
{
	struct dm_ioctl io;

	if (dmx_status(ctl, A, &io))
		violation(w, "device gone after a clear");
	else if (!last_ret && (io.flags & DM_INACTIVE_PRESENT_FLAG))
		violation(w, "inactive table left after a successful clear");
	return 0;
}

/* --- the walks ------------------------------------------------------------ */

#define LOAD(n, t, p, l, e) \
	{ "load-" n, setup_for_load, call_load, check_load, t, p, l, e }
#define RESUME(n, s, t, p, l) \
	{ "resume-" n, s, call_resume, check_resume, t, p, l, false }
/* A plain command on A, B or no device ('A', 'B', 0). */
#define COMMAND(n, s, chk, cmd, flags, on, t, p, l) \
	{ n, s, call_command, chk, t, p, l, false, cmd, flags, on }

static const struct walk walks[] = {
	{ "create", setup_none, call_create, check_create, NULL, NULL, 0, false },
	LOAD("linear", "linear", "$1 2048", 8192, false),
	LOAD("striped-3", "striped", "3 64 $1 0 $2 64 $3 128", 3 * 8192, false),
	LOAD("zero", "zero", "", 8192, false),
	LOAD("error", "error", "", 8192, true),
	LOAD("snapshot-origin", "snapshot-origin", "$1", WHOLE, false),
	LOAD("snapshot-P", "snapshot", "$1 $4 P 8", WHOLE, false),
	LOAD("snapshot-PO", "snapshot", "$1 $4 PO 16", WHOLE, false),
	LOAD("snapshot-N", "snapshot", "$1 $4 N 8", WHOLE, false),
	LOAD("snapshot-merge", "snapshot-merge", "$1 $4 P 8", WHOLE, false),
	{ "load-64-targets", setup_created, call_load, check_load, NULL, NULL, 0, false },
	RESUME("linear", setup_loaded, "linear", "$1 0", 8192),
	RESUME("striped-3", setup_loaded, "striped", "3 64 $1 0 $2 0 $3 0", 3 * 8192),
	RESUME("snapshot-P", setup_loaded, "snapshot", "$1 $4 P 8", WHOLE),
	RESUME("snapshot-N", setup_loaded, "snapshot", "$1 $4 N 8", WHOLE),
	RESUME("snapshot-merge", setup_loaded, "snapshot-merge", "$1 $4 P 8",
	       WHOLE),
	RESUME("reload-linear", setup_reload, "linear", "$2 0", 8192),
	{ "resume-origin-with-snapshot", setup_origin_loaded, call_resume, check_resume,
	  NULL, NULL, 0, false },
	{ "suspend-linear", setup_active, call_suspend, check_suspend, "linear",
	  "$1 0", 8192, false },
	{ "rename", setup_active, call_rename, check_rename, "zero", "", 64, false },
	{ "message", setup_active, call_message, check_unchanged, "zero", "", 64, false },
	{ "remove-linear", setup_active, call_remove, check_remove, "linear",
	  "$1 0", 8192, false },
	{ "remove-origin-with-snapshot", setup_origin_and_snapshot, call_remove,
	  check_remove, NULL, NULL, 0, false },
	{ "remove-all", setup_three, call_remove_all, check_remove_all, "linear",
	  "$1 0", 8192, false },
	COMMAND("list-devices", setup_three, check_unchanged, DM_LIST_DEVICES,
		DM_UUID_FLAG, 0, "linear", "$1 0", 8192),
	COMMAND("list-versions", setup_active, check_unchanged, DM_LIST_VERSIONS, 0, 0,
		"zero", "", 64),
	COMMAND("status", setup_active, check_unchanged, DM_DEV_STATUS, 0, 'A', "zero",
		"", 64),
	COMMAND("table", setup_three, check_unchanged, DM_TABLE_STATUS,
		DM_STATUS_TABLE_FLAG, 'A', "linear", "$1 0", 8192),
	COMMAND("info-snapshot", setup_active, check_unchanged, DM_TABLE_STATUS, 0, 'A',
		"snapshot", "$1 $4 P 8", WHOLE),
	COMMAND("deps", setup_three, check_unchanged, DM_TABLE_DEPS, 0, 'B', "linear",
		"$1 0", 8192),
	COMMAND("wait", setup_active, check_unchanged, DM_DEV_WAIT, DM_STATUS_TABLE_FLAG,
		'A', "zero", "", 64),
	COMMAND("geometry", setup_active, check_unchanged, DM_DEV_SET_GEOMETRY, 0, 'A',
		"zero", "", 64),
	COMMAND("clear", setup_reload, check_cleared, DM_TABLE_CLEAR, 0, 'A', "zero", "",
		64),
};

/* Setting a uuid needs a device without one: B, active, created bare. */
static int setup_without_uuid(const struct walk *w)
{
	int r = dmx_create(ctl, B);

	if (!r)
		r = load_walk_table(w, B);
	if (!r)
		r = dmx_resume(ctl, B);
	return r;
}

static const struct walk uuid_walk = {
	"set-uuid", setup_without_uuid, call_set_uuid, check_set_uuid, "zero", "", 64,
	false
};

static const char *errname(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "?";
}

static int run_walk(const struct walk *w)
{
	unsigned long fired = 0, ok_with_fault = 0, errs[134] = { 0 };
	unsigned long before = violations;
	bool done = false;
	unsigned int e;
	int r;

	for (step = 1; step <= MAX_STEPS && !done; step += stride) {
		last_ret = 0;
		r = w->setup(w);
		if (r) {
			violation(w, "set-up failed without any fault: %s", strerror(-r));
			teardown(w);
			break;
		}
		nth_set(step);
		last_ret = w->call(w);
		done = !nth_fired();
		nth_set(0);
		if (!done) {
			fired++;
			if (!last_ret)
				ok_with_fault++;
			else if (-last_ret < (int)ARRAY_SIZE(errs))
				errs[-last_ret]++;
		} else if (last_ret) {
			violation(w, "fails without a fault: %s", strerror(-last_ret));
		}
		if (last_ret > 0 || last_ret < -133)
			violation(w, "returned %d, not an errno", last_ret);
		w->check(w);
		teardown(w);
	}
	if (!done)
		violation(w, "still allocating after %d steps", MAX_STEPS);
	printf("# walk %s: %lu allocations failed in turn, %lu calls still succeeded, errors:",
	       w->name, fired, ok_with_fault);
	for (e = 0; e < ARRAY_SIZE(errs); e++)
		if (errs[e])
			printf(" %s=%lu", errname(e), errs[e]);
	printf("; %lu violation(s)\n", violations - before);
	fflush(stdout);
	return violations == before ? 0 : 1;
}

static bool selected(const char *name, int argc, char **argv)
{
	int i;

	if (argc <= optind)
		return true;
	for (i = optind; i < argc; i++)
		if (!strcmp(argv[i], name))
			return true;
	return false;
}

/* Worker w's four devices, names and control fd. */
static int worker_setup(int w, const char *const *devs)
{
	unsigned int i;

	snprintf(A, sizeof(A), "fw%d-a", w);
	snprintf(B, sizeof(B), "fw%d-b", w);
	snprintf(O, sizeof(O), "fw%d-o", w);
	snprintf(S, sizeof(S), "fw%d-s", w);
	snprintf(UA, sizeof(UA), "FW%d-UUID-A", w);
	snprintf(UB, sizeof(UB), "FW%d-UUID-B", w);
	snprintf(UO, sizeof(UO), "FW%d-UUID-O", w);
	ram_len = ~0ULL;
	for (i = 0; i < 4; i++) {
		uint64_t bytes = 0;
		struct stat st;
		int fd;

		ram_path[i] = devs[w * 4 + i];
		if (stat(ram_path[i], &st) || !S_ISBLK(st.st_mode))
			return -ENOTBLK;
		snprintf(ram[i], sizeof(ram[i]), "%u:%u", major(st.st_rdev),
			 minor(st.st_rdev));
		fd = open(ram_path[i], O_RDONLY);
		if (fd < 0 || ioctl(fd, BLKGETSIZE64, &bytes))
			return -errno;
		close(fd);
		if (bytes >> 9 < ram_len)
			ram_len = bytes >> 9;
	}
	ctl = dmx_open_control();
	return ctl < 0 || nth_open() ? -ENODEV : 0;
}

/* Worker w of n: every n-th selected walk, from the w-th.  Failed walks. */
static unsigned int worker(int w, int n, int argc, char **argv)
{
	unsigned int i, k = 0, failed = 0;
	const struct walk *all[ARRAY_SIZE(walks) + 1];

	for (i = 0; i < ARRAY_SIZE(walks); i++)
		all[i] = &walks[i];
	all[i] = &uuid_walk;
	teardown(all[0]);
	for (i = 0; i <= ARRAY_SIZE(walks); i++) {
		if (!selected(all[i]->name, argc, argv))
			continue;
		if (k++ % n == (unsigned int)w)
			failed += run_walk(all[i]);
	}
	return failed;
}

int main(int argc, char **argv)
{
	static const char *const defaults[] = { "/dev/ram0", "/dev/ram1",
						"/dev/ram2", "/dev/ram3" };
	const char *devs[4 * MAX_WORKERS];
	unsigned int i, ndevs = 0, failed = 0;
	pid_t pids[MAX_WORKERS];
	int c, w, n, status;

	while ((c = getopt(argc, argv, "lk:d:")) != -1) {
		switch (c) {
		case 'k':
			stride = strtoul(optarg, NULL, 0) ? : 1;
			break;
		case 'd':
			if (ndevs < ARRAY_SIZE(devs))
				devs[ndevs++] = optarg;
			break;
		case 'l':
			for (i = 0; i < ARRAY_SIZE(walks); i++)
				printf("%s\n", walks[i].name);
			printf("%s\n", uuid_walk.name);
			return 0;
		default:
			return 2;
		}
	}
	if (!ndevs)
		for (i = 0; i < 4; i++)
			devs[ndevs++] = defaults[i];
	n = ndevs / 4;
	if (!n || ndevs % 4) {
		fprintf(stderr, "failwalk: devices come in fours\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (w = 0; w < n; w++) {
		pids[w] = fork();
		if (pids[w] < 0)
			return 2;
		if (pids[w])
			continue;
		if (worker_setup(w, devs)) {
			fprintf(stderr, "failwalk: worker %d: needs %s, its devices and fail-nth\n",
				w, DMX_CONTROL_PATH);
			_exit(255);
		}
		failed = worker(w, n, argc, argv);
		_exit(failed > 254 ? 254 : failed);
	}
	for (w = 0; w < n; w++) {
		if (waitpid(pids[w], &status, 0) < 0 || !WIFEXITED(status))
			failed++;
		else
			failed += WEXITSTATUS(status);
	}
	printf("# failwalk: %u walk(s) broke a rule\n", failed);
	return failed ? 1 : 0;
}
