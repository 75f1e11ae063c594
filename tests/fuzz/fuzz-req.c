// SPDX-License-Identifier: GPL-2.0
/*
 * Requests: where they sit in memory, how their header is damaged, and
 * the call itself with the checks every reply must pass whatever the
 * input was:
 *   - nothing is written beyond the data_size the caller gave, and
 *     nothing but the version when the call fails;
 *   - a reply's data_size never exceeds the caller's;
 *   - the records of a successful reply stay inside data_size and
 *     their strings end there.
 * A request can be placed so that it ends at an unmapped page, so a
 * size that lies about the buffer meets EFAULT rather than our memory.
 */
#include "fuzz.h"

#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>


#define FZ_CANARY		0xa5
#define FZ_CANARY_SPAN		4096

/* The copy of a request before the call, to compare the reply with. */
static unsigned char fz_before[FZ_BUF_SIZE];

static void fz_alarm(int sig)
{
	(void)sig;
}

void fz_req_setup(struct fz *fz)
{
	struct sigaction sa;
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *p;

	p = mmap(NULL, FZ_BUF_SIZE + page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	if (mprotect(p + FZ_BUF_SIZE, page, PROT_NONE)) {
		perror("mprotect");
		exit(2);
	}
	fz->buf = p;
	fz->aux = malloc(FZ_AUX_SIZE);
	if (!fz->aux)
		exit(2);

	/* No SA_RESTART: a timed-out wait returns EINTR to us. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fz_alarm;
	sigaction(SIGALRM, &sa, NULL);
}

void fz_violation(struct fz *fz, const char *fmt, ...)
{
	va_list ap;

	fz->st.violations++;
	fprintf(stderr, "# FUZZ-VIOLATION worker %d iteration %llu: ", fz->id,
		(unsigned long long)fz->iteration);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int fz_req_init(struct fz *fz, struct fz_req *rq, unsigned int nr,
		const char *name)
{
	size_t misalign = fz_chance(&fz->rng, 5) ? fz_below(&fz->rng, 8) : 0;

	memset(rq, 0, sizeof(*rq));
	rq->io = (struct dm_ioctl *)(fz->buf + misalign);
	rq->room = FZ_BUF_SIZE - misalign;
	rq->nr = nr;
	rq->cmd = _IOWR(DM_IOCTL, nr, struct dm_ioctl);
	rq->arg = rq->io;
	rq->timeout_ms = 3000;
	memset(rq->io, 0, FZ_REQ_SIZE);
	rq->io->version[0] = DM_VERSION_MAJOR;
	rq->io->version[1] = fz_chance(&fz->rng, 50) ? 0 : DM_VERSION_MINOR;
	rq->io->version[2] = 0;
	rq->io->data_size = FZ_REQ_SIZE;
	rq->io->data_start = FZ_HDR;
	rq->used = FZ_HDR;
	if (name)
		fz_req_set_name(fz, rq, name);
	return 0;
}

void *fz_req_payload(struct fz_req *rq)
{
	return (char *)rq->io + FZ_HDR;
}

void fz_req_set_name(struct fz *fz, struct fz_req *rq, const char *name)
{
	(void)fz;
	snprintf(rq->io->name, sizeof(rq->io->name), "%s", name);
}

static const uint32_t fz_known_flags[] = {
	DM_READONLY_FLAG, DM_SUSPEND_FLAG, DM_PERSISTENT_DEV_FLAG,
	DM_STATUS_TABLE_FLAG, DM_ACTIVE_PRESENT_FLAG, DM_INACTIVE_PRESENT_FLAG,
	DM_BUFFER_FULL_FLAG, DM_SKIP_BDGET_FLAG, DM_SKIP_LOCKFS_FLAG,
	DM_NOFLUSH_FLAG, DM_QUERY_INACTIVE_TABLE_FLAG, DM_UEVENT_GENERATED_FLAG,
	DM_UUID_FLAG, DM_SECURE_DATA_FLAG, DM_DATA_OUT_FLAG, DM_DEFERRED_REMOVE,
	DM_INTERNAL_SUSPEND_FLAG, DM_IMA_MEASUREMENT_FLAG,
};

static void fz_mutate_flags(struct fz *fz, struct dm_ioctl *io)
{
	unsigned int i, n;

	if (fz_chance(&fz->rng, 5)) {
		io->flags = (uint32_t)fz_rand(&fz->rng);
		return;
	}
	n = fz_below(&fz->rng, 3) + 1;
	for (i = 0; i < n; i++)
		io->flags ^= fz_known_flags[fz_below(&fz->rng,
						     FZ_ARRAY_SIZE(fz_known_flags))];
}

/* A name or uuid field: unterminated, overlong, empty, with a slash. */
static void fz_mutate_string(struct fz *fz, char *field, size_t size)
{
	switch (fz_below(&fz->rng, 6)) {
	case 0:
		memset(field, 'x', size);		/* no NUL at all */
		break;
	case 1:
		memset(field, 'y', size - 1);		/* exactly full */
		field[size - 1] = '\0';
		break;
	case 2:
		field[0] = '\0';
		break;
	case 3:
		snprintf(field, size, "a/b%llu",
			 (unsigned long long)fz_below(&fz->rng, 10));
		break;
	case 4:
		fz_word(&fz->rng, field, size, false);
		break;
	default:
		fz_word(&fz->rng, field, size, true);
		break;
	}
}

void fz_req_mutate_header(struct fz *fz, struct fz_req *rq)
{
	struct dm_ioctl *io = rq->io;
	struct fz_rng *r = &fz->rng;

	if (fz_chance(r, 4))
		io->version[0] = fz_chance(r, 50) ? fz_interesting32(r) : 3 + 2 * fz_below(r, 2);
	if (fz_chance(r, 4))
		io->version[1] = fz_chance(r, 50) ? DM_VERSION_MINOR + 1 + fz_below(r, 3) :
			fz_interesting32(r);
	if (fz_chance(r, 3))
		io->version[2] = fz_interesting32(r);
	if (fz_chance(r, 15))
		fz_mutate_flags(fz, io);
	if (fz_chance(r, 4))
		fz_mutate_string(fz, io->name, sizeof(io->name));
	if (fz_chance(r, 4))
		fz_mutate_string(fz, io->uuid, sizeof(io->uuid));
	if (fz_chance(r, 3))
		io->dev = fz_chance(r, 50) ? fz->ram[fz_below(r, fz->nram)].dev :
			fz_interesting(r);
	if (fz_chance(r, 5))
		io->event_nr = fz_interesting32(r);
	if (fz_chance(r, 3))
		io->target_count = fz_interesting32(r);
	if (fz_chance(r, 3))
		io->open_count = (int32_t)fz_interesting32(r);
	if (fz_chance(r, 2))
		io->padding = fz_interesting32(r);

	/* Sizes: the reply room, and lies about the buffer. */
	if (fz_chance(r, 10)) {
		switch (fz_below(r, 8)) {
		case 0:
			io->data_size = FZ_HDR_MIN - fz_below(r, 2);
			break;
		case 1:
			io->data_size = FZ_HDR + fz_below(r, 64);
			break;
		case 2:
			io->data_size = rq->used + fz_below(r, 16);
			break;
		case 3:
			io->data_size = fz_interesting32(r);
			break;
		case 4:
			io->data_size = (64U << 20) + fz_below(r, 2);
			break;
		case 5:
			io->data_size = FZ_BUF_SIZE + 4096;	/* past the guard */
			break;
		default:
			io->data_size = fz_below(r, FZ_BUF_SIZE);
			break;
		}
	}
	if (fz_chance(r, 6)) {
		switch (fz_below(r, 5)) {
		case 0:
			io->data_start = fz_below(r, FZ_HDR + 8);
			break;
		case 1:
			io->data_start = io->data_size + fz_below(r, 3);
			break;
		case 2:
			io->data_start = fz_interesting32(r);
			break;
		default:
			io->data_start = FZ_HDR + fz_below(r, 16);
			break;
		}
	}
}

/* The whole request moved so that it ends at the guard page. */
static void fz_place_at_guard(struct fz *fz, struct fz_req *rq)
{
	size_t len = rq->used;
	unsigned char *to;

	if (len > FZ_BUF_SIZE)
		return;
	to = fz->buf + FZ_BUF_SIZE - len;
	memmove(to, rq->io, len);
	rq->io = (struct dm_ioctl *)to;
	rq->room = len;
	rq->arg = to;
}

static const char *const fz_cmd_names[] = {
	"version", "remove_all", "list_devices", "dev_create", "dev_remove",
	"dev_rename", "dev_suspend", "dev_status", "dev_wait", "table_load",
	"table_clear", "table_deps", "table_status", "list_versions",
	"target_msg", "dev_set_geometry", "dev_arm_poll", "get_target_version",
};

const char *fz_cmd_name(unsigned int nr);
const char *fz_cmd_name(unsigned int nr)
{
	return nr < FZ_ARRAY_SIZE(fz_cmd_names) ? fz_cmd_names[nr] : "raw";
}

/* The printable start of a name, for traces. */
static void fz_clean(char *out, const char *in, size_t max)
{
	size_t i;

	for (i = 0; i + 1 < max && in[i]; i++)
		out[i] = (in[i] > ' ' && in[i] < 127) ? in[i] : '?';
	out[i] = '\0';
}

/* One line saying what a call is, for traces and the watchdog. */
static void fz_describe(struct fz *fz, struct fz_req *rq, char *out, size_t max)
{
	char name[40], uuid[40];

	if (rq->arg != rq->io) {
		snprintf(out, max, "fz%d #%llu raw ioctl 0x%lx arg %p", fz->id,
			 (unsigned long long)fz->iteration, rq->cmd, rq->arg);
		return;
	}
	fz_clean(name, rq->io->name, sizeof(name));
	fz_clean(uuid, rq->io->uuid, sizeof(uuid));
	snprintf(out, max, "fz%d #%llu %s v%u.%u size %u start %u count %u flags 0x%x event %u dev 0x%llx name '%s' uuid '%s'%s",
		 fz->id, (unsigned long long)fz->iteration, fz_cmd_name(rq->nr),
		 rq->io->version[0], rq->io->version[1], rq->io->data_size,
		 rq->io->data_start, rq->io->target_count, rq->io->flags,
		 rq->io->event_nr, (unsigned long long)rq->io->dev, name, uuid,
		 rq->room < rq->io->data_size ? " (ends at the guard page)" : "");
}

/* Says what is about to happen: to the watchdog, and traced if asked. */
void fz_note(struct fz *fz, const char *what)
{
	if (fz->beat) {
		snprintf(fz->beat->last, sizeof(fz->beat->last), "%s", what);
		__atomic_add_fetch(&fz->beat->calls, 1, __ATOMIC_RELAXED);
	}
	if (fz->trace) {
		fprintf(stderr, "%s\n", what);
		fflush(stderr);
	}
}

static void fz_trace(struct fz *fz, struct fz_req *rq)
{
	char line[256];

	if (!fz->beat && !fz->trace)
		return;
	fz_describe(fz, rq, line, sizeof(line));
	fz_note(fz, line);
}

static bool fz_str_in(const char *s, const char *end)
{
	return s < end && memchr(s, '\0', end - s);
}

/* Walks a chain of records whose next counts from the record itself. */
static void fz_check_chain(struct fz *fz, struct fz_req *rq, size_t next_off,
			   size_t name_off, bool from_first)
{
	struct dm_ioctl *io = rq->io;
	char *base = (char *)io;
	char *end = base + io->data_size;
	char *first = base + io->data_start;
	char *rec = first;
	unsigned int n;

	if (io->data_size <= io->data_start)
		return;
	for (n = 0; n < 100000; n++) {
		uint32_t next;

		if (rec + name_off > end) {
			fz_violation(fz, "%s: record %u outside data_size %u",
				     fz_cmd_name(rq->nr), n, io->data_size);
			return;
		}
		if (name_off && !fz_str_in(rec + name_off, end)) {
			fz_violation(fz, "%s: record %u name runs past data_size",
				     fz_cmd_name(rq->nr), n);
			return;
		}
		memcpy(&next, rec + next_off, sizeof(next));
		if (!next)
			return;
		rec = (from_first ? first : rec) + next;
		if (from_first && n + 1 >= io->target_count)
			return;
	}
	fz_violation(fz, "%s: endless record chain", fz_cmd_name(rq->nr));
}

static void fz_check_reply(struct fz *fz, struct fz_req *rq)
{
	struct dm_ioctl *io = rq->io;

	if (io->flags & DM_BUFFER_FULL_FLAG)
		return;
	switch (rq->nr) {
	case DM_LIST_DEVICES_CMD:
		/* dev (8), next (4), name */
		if (io->data_size > io->data_start + 8 &&
		    *(uint64_t *)((char *)io + io->data_start))
			fz_check_chain(fz, rq, offsetof(struct dm_name_list, next),
				       offsetof(struct dm_name_list, name), false);
		break;
	case DM_LIST_VERSIONS_CMD:
	case DM_GET_TARGET_VERSION_CMD:
		fz_check_chain(fz, rq, offsetof(struct dm_target_versions, next),
			       offsetof(struct dm_target_versions, name), false);
		break;
	case DM_TABLE_STATUS_CMD:
	case DM_DEV_WAIT_CMD:
		if (io->target_count &&
		    io->data_size >= io->data_start + sizeof(struct dm_target_spec))
			fz_check_chain(fz, rq, offsetof(struct dm_target_spec, next),
				       sizeof(struct dm_target_spec), true);
		break;
	case DM_TABLE_DEPS_CMD:
		if (io->data_size > io->data_start) {
			struct dm_target_deps *d = (void *)((char *)io + io->data_start);

			if (io->data_start + 8 + (uint64_t)d->count * 8 > io->data_size)
				fz_violation(fz, "deps: %u devices do not fit data_size %u",
					     d->count, io->data_size);
		}
		break;
	case DM_TARGET_MSG_CMD:
		if ((io->flags & DM_DATA_OUT_FLAG) &&
		    !fz_str_in((char *)io + io->data_start, (char *)io + io->data_size))
			fz_violation(fz, "message answer not terminated");
		break;
	}
}

/*
 * Bytes the kernel must not have touched: beyond what the reply says
 * it used, up to what we gave, and the canary after that.  With
 * DM_SECURE_DATA_FLAG the request may have been wiped to zeroes.
 */
static void fz_check_untouched(struct fz *fz, struct fz_req *rq, uint32_t in_size,
			       bool secure, int r)
{
	unsigned char *p = (unsigned char *)rq->io;
	size_t from = r ? sizeof(rq->io->version) : rq->io->data_size;
	size_t to = in_size, i;

	if (!r && rq->io->data_size > in_size) {
		fz_violation(fz, "%s: reply data_size %u exceeds the caller's %u",
			     fz_cmd_name(rq->nr), rq->io->data_size, in_size);
		return;
	}
	for (i = from; i < to; i++) {
		if (p[i] == fz_before[i] || (secure && !p[i]))
			continue;
		fz_violation(fz, "%s (r=%d): byte %zu of %u changed 0x%02x -> 0x%02x",
			     fz_cmd_name(rq->nr), r, i, in_size, fz_before[i], p[i]);
		return;
	}
	for (i = to; i < rq->room && i < to + FZ_CANARY_SPAN; i++) {
		if (p[i] == FZ_CANARY)
			continue;
		fz_violation(fz, "%s (r=%d): byte %zu beyond data_size %u written",
			     fz_cmd_name(rq->nr), r, i, in_size);
		return;
	}
}

/*
 * SIGALRM every ms until disarmed (0): a call that blocks for good (a
 * DEV_WAIT for an event that never comes) is interrupted even when the
 * first signal came before the call got to its wait, as it can on a
 * loaded host.
 */
static void fz_arm_timer(int ms)
{
	struct timeval every = { ms / 1000, (ms % 1000) * 1000 };
	struct itimerval it = { every, every };

	setitimer(ITIMER_REAL, &it, NULL);
}

int fz_call(struct fz *fz, struct fz_req *rq)
{
	uint32_t in_size;
	bool secure, checkable;
	struct timespec t0, t1;
	size_t snap, start, end;
	int r;

	if (!rq->fixed && fz_chance(&fz->rng, 3))
		fz_place_at_guard(fz, rq);
	in_size = rq->io->data_size;
	secure = rq->io->flags & DM_SECURE_DATA_FLAG;
	checkable = !rq->no_check && rq->arg == rq->io && in_size <= rq->room &&
		    in_size >= FZ_HDR_MIN;

	/* Canary after what we built, then remember the request. */
	end = rq->room < (size_t)in_size + FZ_CANARY_SPAN ? rq->room :
		(size_t)in_size + FZ_CANARY_SPAN;
	start = rq->used < in_size ? rq->used : in_size;
	if (end > start)
		memset((char *)rq->io + start, FZ_CANARY, end - start);
	snap = in_size < rq->room ? in_size : rq->room;
	if (checkable)
		memcpy(fz_before, rq->io, snap);

	fz_trace(fz, rq);
	fz->st.calls++;
	if (rq->nr < 32)
		fz->st.by_cmd[rq->nr][0]++;
	fz_arm_timer(rq->timeout_ms);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = ioctl(fz->ctl, rq->cmd, rq->arg) ? -errno : 0;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fz_arm_timer(0);
	if (rq->nr < 32)
		fz->st.ns_by_cmd[rq->nr] += (t1.tv_sec - t0.tv_sec) * 1000000000ULL +
			t1.tv_nsec - t0.tv_nsec;

	if (!r) {
		fz->st.ok++;
		if (rq->nr < 32)
			fz->st.by_cmd[rq->nr][1]++;
	} else if (-r < (int)FZ_ARRAY_SIZE(fz->st.by_errno)) {
		fz->st.by_errno[-r]++;
	}
	if (r == -EINTR && rq->nr != DM_DEV_WAIT_CMD)
		fz->st.interrupted++;

	if (checkable) {
		fz_check_untouched(fz, rq, in_size, secure, r);
		if (!r && rq->io->version[0] == DM_VERSION_MAJOR)
			fz_check_reply(fz, rq);
	}
	return r;
}

int fz_simple(struct fz *fz, unsigned int nr, const char *name,
	      uint32_t flags, struct dm_ioctl *out)
{
	struct fz_req rq;
	int r;

	memset(&rq, 0, sizeof(rq));
	rq.io = (struct dm_ioctl *)fz->aux;
	rq.room = FZ_AUX_SIZE;
	rq.fixed = true;
	rq.nr = nr;
	rq.cmd = _IOWR(DM_IOCTL, nr, struct dm_ioctl);
	rq.arg = rq.io;
	rq.used = FZ_HDR;
	rq.timeout_ms = 5000;
	memset(rq.io, 0, FZ_HDR);
	rq.io->version[0] = DM_VERSION_MAJOR;
	rq.io->data_size = FZ_REQ_SIZE;
	rq.io->data_start = FZ_HDR;
	rq.io->flags = flags;
	if (name)
		snprintf(rq.io->name, sizeof(rq.io->name), "%s", name);
	r = fz_call(fz, &rq);
	if (!r && out)
		memcpy(out, rq.io, sizeof(*out));
	return r;
}
