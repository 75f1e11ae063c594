// SPDX-License-Identifier: GPL-2.0
/*
 * One generator per command, and the pool of devices they act on.
 *
 * Each worker has FZ_SLOTS device names of its own ("fz<worker>-<k>")
 * and, unless the known core bugs are avoided, shares FZ_SHARED_SLOTS
 * more ("fzs-<k>") with every other worker, and sometimes names
 * another worker's devices.  The fuzzer keeps no model of what exists:
 * a command on a name that is not there is as good a test as one that
 * is.  Besides single commands there are macros that build the states
 * worth reaching (a device with a valid stacked table, an origin with
 * a live snapshot, a merge), so that the single commands meet them.
 */
#include "fuzz.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


void fz_own_name(struct fz *fz, int slot, char *out, size_t max)
{
	snprintf(out, max, "fz%d-%d", fz->id, slot);
}

void fz_pool_name(struct fz *fz, char *out, size_t max)
{
	struct fz_rng *r = &fz->rng;
	unsigned int p = fz_below(r, 100);

	if (fz->shared && p >= 80 && p < 92)
		snprintf(out, max, "fzs-%u", (unsigned int)fz_below(r, FZ_SHARED_SLOTS));
	else if (fz->shared && p >= 92 && p < 96)
		snprintf(out, max, "fz%u-%u", (unsigned int)fz_below(r, fz->workers),
			 (unsigned int)fz_below(r, FZ_SLOTS));
	else if (p >= 96)
		fz_word(r, out, max < 40 ? max : 40, fz_chance(r, 80));
	else
		fz_own_name(fz, fz_below(r, FZ_SLOTS), out, max);
}

uint64_t fz_dev_of(struct fz *fz, const char *name)
{
	struct dm_ioctl io;

	if (fz_simple(fz, DM_DEV_STATUS_CMD, name, 0, &io))
		return 0;
	return io.dev;
}

/* The names of the types the module registers, from LIST_VERSIONS. */
void fz_setup_types(struct fz *fz)
{
	struct dm_ioctl *io = (struct dm_ioctl *)fz->aux;
	struct dm_target_versions *v;
	unsigned int n = 0;

	if (fz_simple(fz, DM_LIST_VERSIONS_CMD, NULL, 0, NULL))
		return;
	if (io->flags & DM_BUFFER_FULL_FLAG || io->data_size <= io->data_start)
		return;
	v = (void *)((char *)io + io->data_start);
	for (;;) {
		if (n < FZ_MAX_TYPES)
			snprintf(fz->types[n++], DM_MAX_TYPE_NAME, "%s", v->name);
		if (!v->next)
			break;
		v = (void *)((char *)v + v->next);
	}
	fz->ntypes = n;
}

/* --- single commands ------------------------------------------------- */

static void fz_uuid(struct fz *fz, char *out, size_t max)
{
	if (fz_chance(&fz->rng, 70))
		snprintf(out, max, "FZ-%d-%u", fz->id,
			 (unsigned int)fz_below(&fz->rng, FZ_SLOTS * 2));
	else
		fz_word(&fz->rng, out, max, fz_chance(&fz->rng, 80));
}

/* The slot of one of this worker's own names, or -1. */
static int fz_own_slot(struct fz *fz, const char *name)
{
	char own[DM_NAME_LEN];
	int k;

	for (k = 0; k < FZ_SLOTS; k++) {
		fz_own_name(fz, k, own, sizeof(own));
		if (!strcmp(own, name))
			return k;
	}
	return -1;
}

/* What the last answer says about whether an own name exists. */
static void fz_note_exists(struct fz *fz, const char *name, bool exists)
{
	int k = fz_own_slot(fz, name);

	if (k >= 0)
		fz->exists[k] = exists;
}

/*
 * A create of a name that exists costs a whole device set up and torn
 * down (as in the stock dm), so it is mostly skipped for own names
 * known to exist.
 */
static void fz_op_create(struct fz *fz)
{
	struct fz_req rq;
	char name[DM_NAME_LEN];
	int k, r;

	fz_pool_name(fz, name, sizeof(name));
	k = fz_own_slot(fz, name);
	if (k >= 0 && fz->exists[k] && fz_chance(&fz->rng, 85))
		return;
	fz_req_init(fz, &rq, DM_DEV_CREATE_CMD, name);
	if (fz_chance(&fz->rng, 40))
		fz_uuid(fz, rq.io->uuid, sizeof(rq.io->uuid));
	if (fz_chance(&fz->rng, 10)) {
		unsigned int minor = fz_chance(&fz->rng, 70) ?
			fz_below(&fz->rng, 64) : fz_interesting32(&fz->rng);

		rq.io->flags |= DM_PERSISTENT_DEV_FLAG;
		rq.io->dev = (minor & 0xff) | ((uint64_t)fz->dm_major << 8) |
			     ((uint64_t)(minor & ~0xffU) << 12);
	}
	fz_req_mutate_header(fz, &rq);
	r = fz_call(fz, &rq);
	if (!r || r == -EBUSY)
		fz_note_exists(fz, name, true);
}

static void fz_op_remove(struct fz *fz)
{
	struct fz_req rq;
	char name[DM_NAME_LEN];
	int r;

	fz_pool_name(fz, name, sizeof(name));
	fz_req_init(fz, &rq, DM_DEV_REMOVE_CMD, name);
	if (fz_chance(&fz->rng, 25))
		rq.io->flags |= DM_DEFERRED_REMOVE;
	rq.io->event_nr = fz_chance(&fz->rng, 20) ? fz_interesting32(&fz->rng) : 0;
	fz_req_mutate_header(fz, &rq);
	r = fz_call(fz, &rq);
	if (r == -ENXIO || (!r && !(rq.io->flags & DM_DEFERRED_REMOVE)))
		fz_note_exists(fz, name, false);
}

static void fz_op_remove_all(struct fz *fz)
{
	struct fz_req rq;

	fz_req_init(fz, &rq, DM_REMOVE_ALL_CMD, NULL);
	if (fz_chance(&fz->rng, 50))
		rq.io->flags |= DM_DEFERRED_REMOVE;
	fz_call(fz, &rq);
	memset(fz->exists, 0, sizeof(fz->exists));
}

static void fz_op_load(struct fz *fz)
{
	struct fz_req rq;
	char name[DM_NAME_LEN];

	fz_pool_name(fz, name, sizeof(name));
	fz_req_init(fz, &rq, DM_TABLE_LOAD_CMD, name);
	fz_table_payload(fz, &rq);
	if (fz_chance(&fz->rng, 10))
		rq.io->flags |= DM_READONLY_FLAG;
	if (fz_chance(&fz->rng, 3))
		rq.io->flags |= DM_SECURE_DATA_FLAG;
	rq.io->data_size = fz_chance(&fz->rng, 50) ? rq.used : FZ_REQ_SIZE;
	fz_req_mutate_header(fz, &rq);
	fz_call(fz, &rq);
}

/* Suspend or resume, with the flags userland combines. */
static void fz_op_suspend(struct fz *fz, bool suspend)
{
	struct fz_req rq;
	char name[DM_NAME_LEN];

	fz_pool_name(fz, name, sizeof(name));
	fz_req_init(fz, &rq, DM_DEV_SUSPEND_CMD, name);
	if (suspend)
		rq.io->flags |= DM_SUSPEND_FLAG;
	if (fz_chance(&fz->rng, 40))
		rq.io->flags |= DM_NOFLUSH_FLAG;
	if (fz_chance(&fz->rng, 40))
		rq.io->flags |= DM_SKIP_LOCKFS_FLAG;
	if (fz_chance(&fz->rng, 20))
		rq.io->event_nr = (uint32_t)fz_rand(&fz->rng);
	rq.timeout_ms = 2000;
	fz_req_mutate_header(fz, &rq);
	fz_call(fz, &rq);
}

/* Commands that name a device and report on it, with a reply room. */
static void fz_op_report(struct fz *fz, unsigned int nr)
{
	static const uint32_t rooms[] = { 0, 1, 8, 40, 41, 48, 64, 100, 200 };
	struct fz_req rq;
	char name[DM_NAME_LEN];

	fz_pool_name(fz, name, sizeof(name));
	fz_req_init(fz, &rq, nr, name);
	if (fz_chance(&fz->rng, 30))
		rq.io->flags |= DM_QUERY_INACTIVE_TABLE_FLAG;
	if (fz_chance(&fz->rng, 50))
		rq.io->flags |= DM_STATUS_TABLE_FLAG;
	if (fz_chance(&fz->rng, 5))
		rq.io->flags |= DM_IMA_MEASUREMENT_FLAG;
	if (fz_chance(&fz->rng, 30))
		rq.io->data_size = FZ_HDR + rooms[fz_below(&fz->rng, FZ_ARRAY_SIZE(rooms))];
	if (nr == DM_DEV_WAIT_CMD) {
		/* The current event waits for the next; a timer ends it. */
		struct dm_ioctl io;

		if (fz_chance(&fz->rng, 60) && !fz_simple(fz, DM_DEV_STATUS_CMD, name, 0, &io))
			rq.io->event_nr = io.event_nr;
		else
			rq.io->event_nr = fz_interesting32(&fz->rng);
		rq.timeout_ms = 20 + fz_below(&fz->rng, 30);
	}
	fz_req_mutate_header(fz, &rq);
	fz_call(fz, &rq);
}

static void fz_op_list(struct fz *fz, unsigned int nr)
{
	struct fz_req rq;

	fz_req_init(fz, &rq, nr, NULL);
	if (nr == DM_LIST_DEVICES_CMD) {
		if (fz_chance(&fz->rng, 50))
			rq.io->flags |= DM_UUID_FLAG;
		if (fz_chance(&fz->rng, 30))
			snprintf(rq.io->name, sizeof(rq.io->name), "fz%u",
				 (unsigned int)fz_below(&fz->rng, 3));
		if (fz_chance(&fz->rng, 10))
			snprintf(rq.io->uuid, sizeof(rq.io->uuid), "FZ-");
	} else if (nr == DM_GET_TARGET_VERSION_CMD) {
		snprintf(rq.io->name, sizeof(rq.io->name), "%s", fz_pick_type(fz));
	}
	if (fz_chance(&fz->rng, 40))
		rq.io->data_size = FZ_HDR + fz_below(&fz->rng, 300);
	fz_req_mutate_header(fz, &rq);
	fz_call(fz, &rq);
}

static void fz_op_rename(struct fz *fz)
{
	struct fz_req rq;
	char name[DM_NAME_LEN];
	char *new;
	size_t max = FZ_REQ_SIZE - FZ_HDR;

	fz_pool_name(fz, name, sizeof(name));
	fz_req_init(fz, &rq, DM_DEV_RENAME_CMD, name);
	new = fz_req_payload(&rq);
	if (fz_chance(&fz->rng, 25)) {
		rq.io->flags |= DM_UUID_FLAG;
		fz_uuid(fz, new, DM_UUID_LEN + 8);
	} else if (fz_chance(&fz->rng, 85)) {
		fz_pool_name(fz, new, DM_NAME_LEN + 8);
	} else {
		memset(new, 'n', fz_chance(&fz->rng, 50) ? DM_NAME_LEN : DM_NAME_LEN - 1);
		new[fz_chance(&fz->rng, 50) ? DM_NAME_LEN : DM_NAME_LEN - 1] = '\0';
	}
	rq.used = FZ_HDR + strnlen(new, max) + 1;
	if (fz_chance(&fz->rng, 5)) {
		/* The new name runs to the end of the request, unterminated. */
		rq.io->data_size = rq.used - 1;
	}
	rq.io->event_nr = fz_chance(&fz->rng, 20) ? (uint32_t)fz_rand(&fz->rng) : 0;
	fz_req_mutate_header(fz, &rq);
	if (!fz_call(fz, &rq) && !(rq.io->flags & DM_UUID_FLAG)) {
		fz_note_exists(fz, name, false);
		fz_note_exists(fz, new, true);
	}
}

static void fz_op_message(struct fz *fz)
{
	struct fz_req rq;
	struct dm_target_msg *msg;
	char name[DM_NAME_LEN];

	fz_pool_name(fz, name, sizeof(name));
	fz_req_init(fz, &rq, DM_TARGET_MSG_CMD, name);
	msg = fz_req_payload(&rq);
	msg->sector = fz_chance(&fz->rng, 70) ? fz_below(&fz->rng, 4096) :
		fz_interesting(&fz->rng);
	fz_message(fz, msg->message, FZ_REQ_SIZE - FZ_HDR - sizeof(*msg) - 1);
	rq.used = FZ_HDR + sizeof(*msg) + strlen(msg->message) + 1;
	if (fz_chance(&fz->rng, 30))
		rq.io->data_size = rq.used + fz_below(&fz->rng, 64);
	fz_req_mutate_header(fz, &rq);
	fz_call(fz, &rq);
}

static void fz_op_geometry(struct fz *fz)
{
	struct fz_req rq;
	char name[DM_NAME_LEN];
	char *text;

	fz_pool_name(fz, name, sizeof(name));
	fz_req_init(fz, &rq, DM_DEV_SET_GEOMETRY_CMD, name);
	text = fz_req_payload(&rq);
	switch (fz_below(&fz->rng, 4)) {
	case 0:
		snprintf(text, 200, "%u %u %u %u", (unsigned int)fz_below(&fz->rng, 70000),
			 (unsigned int)fz_below(&fz->rng, 300),
			 (unsigned int)fz_below(&fz->rng, 300),
			 (unsigned int)fz_below(&fz->rng, 1 << 20));
		break;
	case 1:
		snprintf(text, 200, "%llu %llu %llu %llu",
			 (unsigned long long)fz_interesting(&fz->rng),
			 (unsigned long long)fz_interesting(&fz->rng),
			 (unsigned long long)fz_interesting(&fz->rng),
			 (unsigned long long)fz_interesting(&fz->rng));
		break;
	case 2:
		fz_word(&fz->rng, text, 64, true);
		break;
	default:
		snprintf(text, 200, "16 4 32 %u", (unsigned int)fz_below(&fz->rng, 4096));
		break;
	}
	rq.used = FZ_HDR + strlen(text) + 1;
	fz_req_mutate_header(fz, &rq);
	fz_call(fz, &rq);
}

static void fz_op_poll(struct fz *fz)
{
	struct pollfd pfd = { .fd = fz->ctl, .events = POLLIN };
	struct fz_req rq;

	fz_req_init(fz, &rq, DM_DEV_ARM_POLL_CMD, NULL);
	fz_req_mutate_header(fz, &rq);
	fz_call(fz, &rq);
	poll(&pfd, 1, 0);
}

static void fz_op_version(struct fz *fz)
{
	struct fz_req rq;

	fz_req_init(fz, &rq, DM_VERSION_CMD, NULL);
	fz_req_mutate_header(fz, &rq);
	fz_call(fz, &rq);
}

/* Any command number, any size and direction, any argument. */
static void fz_op_raw(struct fz *fz)
{
	struct fz_rng *r = &fz->rng;
	struct fz_req rq;
	unsigned int nr = fz_below(r, 40), i;

	/* REMOVE_ALL takes only a version: leave it to its rare op. */
	if (nr == DM_REMOVE_ALL_CMD)
		nr = DM_VERSION_CMD;
	static const uintptr_t bad[] = { 0, 1, 4095, 0x1000, (uintptr_t)-1,
					 (uintptr_t)-4096 };

	fz_req_init(fz, &rq, nr < 32 ? nr : 31, NULL);
	rq.no_check = true;
	rq.cmd = _IOC(fz_below(r, 4), fz_chance(r, 90) ? DM_IOCTL : fz_below(r, 256),
		      nr, fz_chance(r, 70) ? sizeof(struct dm_ioctl) : fz_below(r, 1 << 14));
	for (i = 0; i < FZ_HDR; i++)
		((unsigned char *)rq.io)[i] = fz_rand(r);
	if (fz_chance(r, 60)) {
		rq.io->version[0] = DM_VERSION_MAJOR;
		rq.io->version[1] = fz_below(r, DM_VERSION_MINOR + 2);
		rq.io->data_size = fz_below(r, FZ_REQ_SIZE);
		rq.io->data_start = fz_below(r, FZ_REQ_SIZE);
	}
	if (fz_chance(r, 10))
		rq.arg = (void *)bad[fz_below(r, FZ_ARRAY_SIZE(bad))];
	rq.timeout_ms = 50;
	rq.used = FZ_HDR;
	fz_call(fz, &rq);
}

/* --- macros: states worth reaching --------------------------------------- */

/* TABLE_LOAD of one target line; the flags as given. */
static int fz_load_line(struct fz *fz, const char *name, const char *type,
			uint64_t len, const char *params, uint32_t flags)
{
	struct fz_req rq;
	struct dm_target_spec *spec;
	size_t plen = strlen(params) + 1;

	fz_req_init(fz, &rq, DM_TABLE_LOAD_CMD, name);
	rq.fixed = true;
	spec = fz_req_payload(&rq);
	spec->sector_start = 0;
	spec->length = len;
	spec->next = (sizeof(*spec) + plen + 7) & ~(size_t)7;
	snprintf(spec->target_type, sizeof(spec->target_type), "%s", type);
	memcpy(spec + 1, params, plen);
	rq.io->target_count = 1;
	rq.io->flags = flags;
	rq.used = FZ_HDR + spec->next;
	return fz_call(fz, &rq);
}

static void fz_create_quiet(struct fz *fz, const char *name)
{
	int k = fz_own_slot(fz, name);

	if (k >= 0 && fz->exists[k])
		return;
	fz_simple(fz, DM_DEV_CREATE_CMD, name, 0, NULL);
	fz_note_exists(fz, name, true);
}

/* A device with a valid (often stacked) table, resumed. */
static void fz_macro_build(struct fz *fz)
{
	struct fz_req rq;
	char name[DM_NAME_LEN];
	unsigned int i, n;
	uint64_t start = 0;
	size_t pos = FZ_HDR;

	fz_own_name(fz, fz_below(&fz->rng, FZ_SLOTS), name, sizeof(name));
	if (fz->shared && fz_chance(&fz->rng, 20))
		snprintf(name, sizeof(name), "fzs-%u",
			 (unsigned int)fz_below(&fz->rng, FZ_SHARED_SLOTS));
	fz_create_quiet(fz, name);

	fz_req_init(fz, &rq, DM_TABLE_LOAD_CMD, name);
	rq.fixed = true;
	n = 1 + fz_below(&fz->rng, 3);
	for (i = 0; i < n; i++) {
		static const char *const types[] = { "linear", "linear", "striped",
						     "zero", "error" };
		struct dm_target_spec *spec = (void *)((char *)rq.io + pos);
		const char *type = types[fz_below(&fz->rng, FZ_ARRAY_SIZE(types))];
		uint64_t len = 64ULL << fz_below(&fz->rng, 6);
		size_t plen;

		fz_target_params(fz, type, len, FZ_VALID, (char *)(spec + 1), 1024);
		plen = strlen((char *)(spec + 1)) + 1;
		spec->sector_start = start;
		spec->length = len;
		spec->next = (sizeof(*spec) + plen + 7) & ~(size_t)7;
		snprintf(spec->target_type, sizeof(spec->target_type), "%s", type);
		pos += spec->next;
		start += len;
	}
	rq.io->target_count = n;
	rq.used = pos;
	if (!fz_call(fz, &rq))
		fz_simple(fz, DM_DEV_SUSPEND_CMD, name, 0, NULL);
}

/*
 * An origin over one lower ramdisk and a snapshot of it with its COW on
 * an upper one, resumed snapshot first as LVM does; sometimes then a
 * merge: the origin reloaded as snapshot-merge.
 */
static void fz_macro_snapshot(struct fz *fz)
{
	struct fz_rng *r = &fz->rng;
	unsigned int half = fz->nram / 2;
	struct fz_ram *data = &fz->ram[fz_below(r, half)];
	struct fz_ram *cow = &fz->ram[half + fz_below(r, fz->nram - half)];
	char origin[DM_NAME_LEN], snap[DM_NAME_LEN], params[160];
	static const char *const stores[] = { "P", "N", "PO" };
	unsigned int chunk = 8U << fz_below(r, 5);
	const char *store = stores[fz_below(r, 3)];
	int a = fz_below(r, FZ_SLOTS), b = (a + 1 + fz_below(r, FZ_SLOTS - 1)) % FZ_SLOTS;

	fz_own_name(fz, a, origin, sizeof(origin));
	fz_own_name(fz, b, snap, sizeof(snap));
	fz_create_quiet(fz, origin);
	fz_create_quiet(fz, snap);

	snprintf(params, sizeof(params), "%s %s %s %u", data->devno, cow->devno,
		 store, chunk);
	if (!fz_load_line(fz, snap, "snapshot", data->sectors, params, 0))
		fz_simple(fz, DM_DEV_SUSPEND_CMD, snap, 0, NULL);
	if (!fz_load_line(fz, origin, "snapshot-origin", data->sectors, data->devno, 0))
		fz_simple(fz, DM_DEV_SUSPEND_CMD, origin, 0, NULL);

	if (fz_chance(r, 25) && store[0] == 'P') {
		snprintf(params, sizeof(params), "%s %s P %u", data->devno,
			 cow->devno, chunk);
		fz_simple(fz, DM_DEV_SUSPEND_CMD, origin,
			  DM_SUSPEND_FLAG | (fz_chance(r, 50) ? DM_NOFLUSH_FLAG : 0), NULL);
		if (!fz_load_line(fz, origin, "snapshot-merge", data->sectors, params, 0))
			fz_simple(fz, DM_DEV_SUSPEND_CMD, origin, 0, NULL);
		else
			fz_simple(fz, DM_DEV_SUSPEND_CMD, origin, 0, NULL);
	}
}

/* --- the step ---------------------------------------------------------- */

struct fz_op {
	unsigned int weight;
	void (*fn)(struct fz *fz);
};

static void fz_op_resume(struct fz *fz) { fz_op_suspend(fz, false); }
static void fz_op_do_suspend(struct fz *fz) { fz_op_suspend(fz, true); }
static void fz_op_status(struct fz *fz) { fz_op_report(fz, DM_DEV_STATUS_CMD); }
static void fz_op_table(struct fz *fz) { fz_op_report(fz, DM_TABLE_STATUS_CMD); }
static void fz_op_deps(struct fz *fz) { fz_op_report(fz, DM_TABLE_DEPS_CMD); }
static void fz_op_wait(struct fz *fz) { fz_op_report(fz, DM_DEV_WAIT_CMD); }
static void fz_op_clear(struct fz *fz) { fz_op_report(fz, DM_TABLE_CLEAR_CMD); }
static void fz_op_ls(struct fz *fz) { fz_op_list(fz, DM_LIST_DEVICES_CMD); }
static void fz_op_versions(struct fz *fz) { fz_op_list(fz, DM_LIST_VERSIONS_CMD); }
static void fz_op_target_version(struct fz *fz)
{
	fz_op_list(fz, DM_GET_TARGET_VERSION_CMD);
}

static void fz_op_rare_remove_all(struct fz *fz)
{
	/* Rare: it takes the whole pool, every worker's, with it. */
	if (fz_chance(&fz->rng, 1))
		fz_op_remove_all(fz);
}

/*
 * Most calls are cheap (lookups, reports, malformed requests that fail
 * early, 1 ms or less on the debug kernel); the ones that change state
 * cost tens of milliseconds there, so they get about a sixth of the
 * weight: enough to keep the pool changing under the cheap ones, few
 * enough for a million calls in an hour or two.
 */
static const struct fz_op fz_ops[] = {
	{ 20, fz_op_create },
	{ 15, fz_op_remove },
	{ 45, fz_op_load },
	{ 20, fz_op_resume },
	{ 15, fz_op_do_suspend },
	{ 10, fz_macro_build },
	{ 5, fz_macro_snapshot },
	{ 15, fz_io_step },
	{ 3, fz_cow_scribble },
	{ 2, fz_op_rare_remove_all },
	{ 20, fz_op_clear },
	{ 150, fz_op_status },
	{ 120, fz_op_table },
	{ 50, fz_op_deps },
	{ 30, fz_op_wait },
	{ 50, fz_op_ls },
	{ 20, fz_op_versions },
	{ 20, fz_op_target_version },
	{ 40, fz_op_rename },
	{ 60, fz_op_message },
	{ 30, fz_op_geometry },
	{ 20, fz_op_poll },
	{ 30, fz_op_version },
	{ 80, fz_op_raw },
};

void fz_step(struct fz *fz)
{
	static unsigned int total;
	unsigned int i, pick;

	if (!total)
		for (i = 0; i < FZ_ARRAY_SIZE(fz_ops); i++)
			total += fz_ops[i].weight;
	pick = fz_below(&fz->rng, total);
	for (i = 0; i < FZ_ARRAY_SIZE(fz_ops); i++) {
		if (pick < fz_ops[i].weight) {
			fz_ops[i].fn(fz);
			break;
		}
		pick -= fz_ops[i].weight;
	}
	fz_io_reap(fz, false);
	fz_children_reap(fz, false);
}

/* --- teardown ------------------------------------------------------------ */

/*
 * Gets a device going again so that held I/O can finish: drop its
 * inactive table, resume; if it has no table to resume with, give it
 * one.  Returns the resume's result.
 */
static int fz_release(struct fz *fz, const char *name)
{
	struct dm_ioctl io;
	int r;

	if (fz_simple(fz, DM_DEV_STATUS_CMD, name, 0, &io))
		return -ENXIO;
	if (!(io.flags & DM_SUSPEND_FLAG))
		return 0;
	r = fz_simple(fz, DM_DEV_SUSPEND_CMD, name, 0, NULL);
	if (r && r != -EINVAL) {
		/* The inactive table would not go in: resume the active one. */
		fz_simple(fz, DM_TABLE_CLEAR_CMD, name, 0, NULL);
		r = fz_simple(fz, DM_DEV_SUSPEND_CMD, name, 0, NULL);
	}
	if (r == -EINVAL && !fz_load_line(fz, name, "zero", 8, "", 0))
		r = fz_simple(fz, DM_DEV_SUSPEND_CMD, name, 0, NULL);
	return r;
}

/* Every listed device name, into names (each DM_NAME_LEN), up to max. */
static unsigned int fz_list_all(struct fz *fz, char (*names)[DM_NAME_LEN],
				unsigned int max)
{
	struct dm_ioctl *io = (struct dm_ioctl *)fz->aux;
	struct dm_name_list *nl;
	unsigned int n = 0;

	if (fz_simple(fz, DM_LIST_DEVICES_CMD, NULL, 0, NULL))
		return 0;
	if (io->flags & DM_BUFFER_FULL_FLAG)
		fprintf(stderr, "fuzz: device list truncated\n");
	nl = (void *)((char *)io + io->data_start);
	if (io->data_size <= io->data_start || !nl->dev)
		return 0;
	for (;;) {
		if (n < max)
			snprintf(names[n++], DM_NAME_LEN, "%s", nl->name);
		if (!nl->next)
			break;
		nl = (void *)((char *)nl + nl->next);
	}
	return n;
}

/*
 * Resumes every suspended device, so that held I/O (any worker's) can
 * finish.  One child per device: a resume can itself wait for I/O to
 * a device further down that is suspended too (a snapshot reading its
 * COW store), which another child resumes meanwhile.  Waits at most
 * secs for them; returns how many were still busy then.
 */
int fz_rescue_all(struct fz *fz, int secs)
{
	static char names[512][DM_NAME_LEN];
	unsigned int n = fz_list_all(fz, names, 512), i, busy = 0;
	pid_t pids[512];
	time_t deadline = time(NULL) + secs;

	for (i = 0; i < n; i++) {
		pids[i] = fork();
		if (!pids[i]) {
			fz->ctl = open(FZ_CONTROL, O_RDWR | O_CLOEXEC);
			fz->beat = NULL;
			fz->trace = false;
			_exit(fz->ctl < 0 ? 2 : fz_release(fz, names[i]) ? 1 : 0);
		}
	}
	for (i = 0; i < n; i++) {
		if (pids[i] <= 0)
			continue;
		while (waitpid(pids[i], NULL, WNOHANG) == 0) {
			if (time(NULL) > deadline) {
				busy++;
				break;
			}
			usleep(10000);
		}
	}
	return busy;
}

/*
 * Removes every device, top of each stack first: passes of removal
 * until one makes no progress.  Returns how many are left.
 */
int fz_teardown(struct fz *fz)
{
	static char names[512][DM_NAME_LEN];
	unsigned int n, i, left = 0, pass;

	for (pass = 0; pass < 64; pass++) {
		unsigned int removed = 0;

		n = fz_list_all(fz, names, 512);
		if (!n)
			return 0;
		fz_rescue_all(fz, 60);
		for (i = 0; i < n; i++)
			if (!fz_simple(fz, DM_DEV_REMOVE_CMD, names[i], 0, NULL))
				removed++;
		if (!removed)
			break;
	}
	n = fz_list_all(fz, names, 512);
	for (i = 0; i < n; i++) {
		struct dm_ioctl io;
		int r = fz_simple(fz, DM_DEV_REMOVE_CMD, names[i], 0, &io);

		if (r) {
			fz_simple(fz, DM_DEV_STATUS_CMD, names[i], 0, &io);
			fprintf(stderr, "# FUZZ-VIOLATION teardown: cannot remove %s: %s (open_count %d, flags 0x%x)\n",
				names[i], strerror(-r), io.open_count, io.flags);
			left++;
		}
	}
	return left;
}
