// SPDX-License-Identifier: GPL-2.0
/*
 * Thin volumes and snapshots against a model of what each must read.
 *
 * A pool with an origin thin volume; as the test goes, snapshots of it
 * and of snapshots are taken (the origin of each suspended around it, as
 * LVM does) and some deleted again.  Several threads issue thousands of
 * random O_DIRECT reads, writes and whole-block discards to all of them:
 * short and long, aligned or not, within a block or across blocks.  The
 * model holds, for every sector of every volume, the version of the data
 * it must read (0: never written, zeroes, or the external origin's
 * data), so every read is checked as it completes; a snapshot starts as
 * a copy of its origin's model.  Threads never overlap on the same
 * sectors of the same volume, but freely across volumes, which is where
 * shared blocks are copied.  Midway the pool and its volumes are taken
 * down and brought back from the metadata; at the end every volume is
 * read whole and the metadata must pass thin_check.  Variants: 64 KiB
 * and 512 KiB blocks, and an external origin.  Run by 59-thin-model.sh.
 *
 * dmx-test: no-m32 (the model wants the address space)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "snap_test.h"

#define VOL_SECTORS	8192		/* 4 MiB volumes */
#define MAX_VOLS	8
#define NTHREADS	4
#define MAX_IO		1024		/* sectors */
#define OPS		4000		/* per variant, over all threads */
#define EVENT_EVERY	250		/* ops between snapshots and deletes */
#define META_DEV	"/dev/ram0"
#define ORIGIN_DEV	"/dev/ram3"	/* the external origin */

struct model {
	unsigned int block;		/* sectors */
	bool external;
	uint32_t ver[MAX_VOLS][VOL_SECTORS];
	unsigned char busy[MAX_VOLS][VOL_SECTORS];
	bool live[MAX_VOLS];
	unsigned int id[MAX_VOLS];	/* thin device id of each slot */
	unsigned int next_id;
	int fd[MAX_VOLS];
	/* Workers hold it shared per operation; changes to volumes alone. */
	pthread_rwlock_t volumes;
	pthread_mutex_t lock;		/* protects busy */
	atomic_uint next_version;
	atomic_int ops_left;
	atomic_int failed;
	atomic_int reads_checked;
	atomic_int snapshots;
	atomic_int deletes;
	bool reloaded;
	char why[512];
};

static void fail(struct model *m, const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&m->failed, 1))
		return;
	va_start(ap, fmt);
	vsnprintf(m->why, sizeof(m->why), fmt, ap);
	va_end(ap);
}

static void vol_name(int slot, char *buf, size_t size)
{
	snprintf(buf, size, "tm-%d", slot);
}

/* What sector s of a volume holds at version v. */
static void want_sector(struct model *m, uint8_t *p, uint32_t v, uint32_t s)
{
	if (v || m->external)
		fill_sector(p, v, s);
	else
		memset(p, 0, SECTOR);
}

static bool check_sectors(struct model *m, int slot, uint32_t sector,
			  uint32_t count, const uint8_t *buf)
{
	uint8_t want[SECTOR];
	uint32_t i, got_ver, got_sec;

	for (i = 0; i < count; i++) {
		uint32_t s = sector + i;

		want_sector(m, want, m->ver[slot][s], s);
		if (!memcmp(want, buf + (size_t)i * SECTOR, SECTOR))
			continue;
		memcpy(&got_ver, buf + (size_t)i * SECTOR, 4);
		memcpy(&got_sec, buf + (size_t)i * SECTOR + 4, 4);
		fail(m, "volume %d (id %u) sector %u (block %u): want version %u, read version %u of sector %u",
		     slot, m->id[slot], s, s / m->block, m->ver[slot][s],
		     got_ver, got_sec);
		return false;
	}
	return true;
}

static bool check_volume(struct model *m, int slot)
{
	uint8_t *buf;
	uint32_t s;
	bool ok = true;

	if (posix_memalign((void **)&buf, 4096, 2048 * SECTOR))
		return false;
	for (s = 0; ok && s < VOL_SECTORS; s += 2048) {
		if (pread(m->fd[slot], buf, 2048 * SECTOR, (off_t)s * SECTOR) !=
		    2048 * SECTOR) {
			fail(m, "read of volume %d at %u: %s", slot, s,
			     strerror(errno));
			ok = false;
		} else {
			ok = check_sectors(m, slot, s, 2048, buf);
		}
	}
	free(buf);
	return ok;
}

/* --- devices ------------------------------------------------------ */

static int open_volume(struct model *m, int slot)
{
	char name[32], path[64];

	vol_name(slot, name, sizeof(name));
	snprintf(path, sizeof(path), "/dev/mapper/%s", name);
	m->fd[slot] = open(path, O_RDWR | O_DIRECT);
	return m->fd[slot] < 0 ? -1 : 0;
}

static int create_volume(struct model *m, int slot)
{
	char name[32];

	vol_name(slot, name, sizeof(name));
	if (sh("dmsetup create %s --table '0 %d thin /dev/mapper/tm-pool %u%s'",
	       name, VOL_SECTORS, m->id[slot],
	       m->external ? " " ORIGIN_DEV : ""))
		return -1;
	return open_volume(m, slot);
}

static void close_volume(struct model *m, int slot)
{
	char name[32];

	vol_name(slot, name, sizeof(name));
	close(m->fd[slot]);
	m->fd[slot] = -1;
	sh("dmsetup remove %s", name);
}

static int create_pool(struct model *m)
{
	return sh("dmsetup create tm-pool --table '0 %d thin-pool %s /dev/mapper/tm-data %u 0'",
		  262144, META_DEV, m->block);
}

static void remove_all(void)
{
	int slot;

	for (slot = 0; slot < MAX_VOLS; slot++)
		sh("dmsetup remove tm-%d >/dev/null 2>&1", slot);
	sh("dmsetup remove tm-pool >/dev/null 2>&1");
	sh("dmsetup remove tm-data >/dev/null 2>&1");
}

static int write_origin(void)
{
	uint8_t *buf;
	uint32_t s, i;
	int fd, r = 0;

	fd = open(ORIGIN_DEV, O_WRONLY | O_DIRECT);
	if (fd < 0 || posix_memalign((void **)&buf, 4096, 2048 * SECTOR))
		return -1;
	for (s = 0; s < VOL_SECTORS && !r; s += 2048) {
		for (i = 0; i < 2048; i++)
			fill_sector(buf + (size_t)i * SECTOR, 0, s + i);
		if (pwrite(fd, buf, 2048 * SECTOR, (off_t)s * SECTOR) !=
		    2048 * SECTOR)
			r = -1;
	}
	free(buf);
	close(fd);
	return r;
}

static int setup(struct model *m)
{
	if (access("/dev/ram3", F_OK) &&
	    sh("modprobe brd rd_nr=4 rd_size=65536"))
		return -1;
	remove_all();
	if (sh("dd if=/dev/zero of=%s bs=4096 count=1 oflag=direct 2>/dev/null",
	       META_DEV) ||
	    sh("dmsetup create tm-data --table '0 131072 linear /dev/ram1 0\n131072 131072 linear /dev/ram2 0'") ||
	    create_pool(m) || sh("dmsetup message tm-pool 0 create_thin 0"))
		return -1;
	if (m->external && write_origin())
		return -1;
	m->id[0] = 0;
	m->next_id = 1;
	m->live[0] = true;
	return create_volume(m, 0);
}

/* --- events: snapshots, deletes, a pool reload ---------------------- */

static int free_slot(struct model *m)
{
	int slot;

	for (slot = 1; slot < MAX_VOLS; slot++)
		if (!m->live[slot])
			return slot;
	return -1;
}

static int random_live(struct model *m, unsigned int *seed, bool origin_ok)
{
	int tries, slot;

	for (tries = 0; tries < 64; tries++) {
		slot = rand_r(seed) % MAX_VOLS;
		if (m->live[slot] && (origin_ok || slot))
			return slot;
	}
	return origin_ok ? 0 : -1;
}

static int take_snapshot(struct model *m, unsigned int *seed)
{
	int slot = free_slot(m), origin = random_live(m, seed, true);
	char name[32];
	int r;

	if (slot < 0)
		return 0;
	vol_name(origin, name, sizeof(name));
	m->id[slot] = m->next_id++;
	if (sh("dmsetup suspend %s", name))
		return -1;
	r = sh("dmsetup message tm-pool 0 create_snap %u %u", m->id[slot],
	       m->id[origin]);
	if (sh("dmsetup resume %s", name) || r)
		return -1;
	memcpy(m->ver[slot], m->ver[origin], sizeof(m->ver[slot]));
	m->live[slot] = true;
	atomic_fetch_add(&m->snapshots, 1);
	return create_volume(m, slot);
}

static int delete_volume(struct model *m, unsigned int *seed)
{
	int slot = random_live(m, seed, false);

	if (slot < 0)
		return 0;
	close_volume(m, slot);
	m->live[slot] = false;
	atomic_fetch_add(&m->deletes, 1);
	return sh("dmsetup message tm-pool 0 delete %u", m->id[slot]);
}

/* Everything down and back up from the metadata, then read whole. */
static int reload_pool(struct model *m)
{
	int slot;

	for (slot = MAX_VOLS - 1; slot >= 0; slot--)
		if (m->live[slot])
			close_volume(m, slot);
	if (sh("dmsetup remove tm-pool") || sh("thin_check -q %s", META_DEV) ||
	    create_pool(m))
		return -1;
	for (slot = 0; slot < MAX_VOLS; slot++)
		if (m->live[slot] && create_volume(m, slot))
			return -1;
	for (slot = 0; slot < MAX_VOLS; slot++)
		if (m->live[slot] && !check_volume(m, slot))
			return -1;
	return 0;
}

/* Every EVENT_EVERY operations, with every worker out of the way. */
static void volume_event(struct model *m, int op)
{
	unsigned int seed = 99 + m->block + op;
	int r;

	pthread_rwlock_wrlock(&m->volumes);
	if (!m->reloaded && op <= OPS / 2) {
		m->reloaded = true;
		r = reload_pool(m);
	} else if (free_slot(m) < 0 || rand_r(&seed) % 4 == 0) {
		r = delete_volume(m, &seed);
	} else {
		r = take_snapshot(m, &seed);
	}
	pthread_rwlock_unlock(&m->volumes);
	if (r)
		fail(m, "volume event failed (%d): %s", r, m->why);
}

/* --- the random workload ------------------------------------------ */

struct worker {
	struct model *m;
	unsigned int seed;
	uint8_t *buf;
};

/* Short and unaligned, or whole blocks (for discards: always blocks). */
static void pick_range(struct worker *w, bool blocks, uint32_t *s, uint32_t *n)
{
	unsigned int block = w->m->block;
	unsigned int r = rand_r(&w->seed);

	if (blocks || r % 4 == 0) {
		uint32_t count = 1 + (r / 4) % 2;

		if (count * block > MAX_IO && !blocks)
			count = 1;
		*n = count * block;
		*s = (rand_r(&w->seed) % (VOL_SECTORS / block - count + 1)) * block;
		if (*n > MAX_IO && !blocks)
			*n = MAX_IO;
		return;
	}
	*n = 1 + (r / 4) % (r % 3 ? 16 : MAX_IO);
	*s = rand_r(&w->seed) % (VOL_SECTORS - *n + 1);
}

static void do_write(struct worker *w, int slot, uint32_t s, uint32_t n)
{
	struct model *m = w->m;
	uint32_t i, version = atomic_fetch_add(&m->next_version, 1);

	for (i = 0; i < n; i++)
		fill_sector(w->buf + (size_t)i * SECTOR, version, s + i);
	if (pwrite(m->fd[slot], w->buf, (size_t)n * SECTOR, (off_t)s * SECTOR) !=
	    (ssize_t)n * SECTOR) {
		fail(m, "write of %u sectors to volume %d at %u: %s", n, slot, s,
		     strerror(errno));
		return;
	}
	for (i = 0; i < n; i++)
		m->ver[slot][s + i] = version;
}

static void do_read(struct worker *w, int slot, uint32_t s, uint32_t n)
{
	struct model *m = w->m;

	if (pread(m->fd[slot], w->buf, (size_t)n * SECTOR, (off_t)s * SECTOR) !=
	    (ssize_t)n * SECTOR)
		fail(m, "read of %u sectors from volume %d at %u: %s", n, slot, s,
		     strerror(errno));
	else if (check_sectors(m, slot, s, n, w->buf))
		atomic_fetch_add(&m->reads_checked, 1);
}

static void do_discard(struct worker *w, int slot, uint32_t s, uint32_t n)
{
	struct model *m = w->m;
	uint64_t range[2] = { (uint64_t)s * SECTOR, (uint64_t)n * SECTOR };

	if (ioctl(m->fd[slot], BLKDISCARD, range)) {
		fail(m, "discard of %u sectors of volume %d at %u: %s", n, slot, s,
		     strerror(errno));
		return;
	}
	memset(&m->ver[slot][s], 0, n * sizeof(m->ver[slot][0]));
}

static void one_op(struct worker *w)
{
	struct model *m = w->m;
	unsigned int r = rand_r(&w->seed);
	int kind = (r / 100) % 20, slot;
	bool discard = kind == 0;
	uint32_t s, n;

	pthread_rwlock_rdlock(&m->volumes);
	slot = random_live(m, &w->seed, true);
	do {
		pick_range(w, discard, &s, &n);
	} while (!claim_sectors(&m->lock, m->busy[slot], s, n));
	if (discard)
		do_discard(w, slot, s, n);
	else if (kind < 10)
		do_write(w, slot, s, n);
	else
		do_read(w, slot, s, n);
	release_sectors(&m->lock, m->busy[slot], s, n);
	pthread_rwlock_unlock(&m->volumes);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int op;

	while ((op = atomic_fetch_sub(&w->m->ops_left, 1)) > 0 &&
	       !atomic_load(&w->m->failed)) {
		if (op % EVENT_EVERY == 0)
			volume_event(w->m, op);
		one_op(w);
	}
	return NULL;
}

static int run_workload(struct model *m)
{
	struct worker w[NTHREADS];
	pthread_t t[NTHREADS];
	int i;

	atomic_store(&m->ops_left, OPS);
	for (i = 0; i < NTHREADS; i++) {
		w[i].m = m;
		w[i].seed = 4321 + i * 77 + m->block + m->external;
		if (posix_memalign((void **)&w[i].buf, 4096, MAX_IO * SECTOR))
			return -1;
	}
	for (i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, worker_main, &w[i]);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < NTHREADS; i++)
		free(w[i].buf);
	return 0;
}

FIXTURE(thin) {
	struct model *m;
};

FIXTURE_VARIANT(thin) {
	unsigned int block;
	bool external;
};

FIXTURE_VARIANT_ADD(thin, block_64k) { .block = 128 };
FIXTURE_VARIANT_ADD(thin, block_512k) { .block = 1024 };
FIXTURE_VARIANT_ADD(thin, external_origin) { .block = 128, .external = true };

FIXTURE_SETUP(thin)
{
	pthread_rwlockattr_t attr;
	int slot;

	self->m = calloc(1, sizeof(*self->m));
	ASSERT_NE(NULL, self->m);
	self->m->block = variant->block;
	self->m->external = variant->external;
	for (slot = 0; slot < MAX_VOLS; slot++)
		self->m->fd[slot] = -1;
	pthread_mutex_init(&self->m->lock, NULL);
	/* Writer first: the events would starve behind the workers. */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
				      PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&self->m->volumes, &attr);
	atomic_store(&self->m->next_version, 1);
	ASSERT_EQ(0, setup(self->m));
}

FIXTURE_TEARDOWN(thin)
{
	int slot;

	for (slot = 0; slot < MAX_VOLS; slot++)
		if (self->m->fd[slot] >= 0)
			close(self->m->fd[slot]);
	remove_all();
	free(self->m);
}

TEST_F_TIMEOUT(thin, random_io_matches_model, 900)
{
	struct model *m = self->m;
	int slot;

	ASSERT_EQ(0, run_workload(m));
	TH_LOG("%d reads checked, %u writes, %d snapshots, %d deletes, %sreloaded",
	       atomic_load(&m->reads_checked), atomic_load(&m->next_version) - 1,
	       atomic_load(&m->snapshots), atomic_load(&m->deletes),
	       m->reloaded ? "" : "not ");
	ASSERT_EQ(0, atomic_load(&m->failed)) TH_LOG("%s", m->why);
	EXPECT_TRUE(m->reloaded);
	EXPECT_LT(3, atomic_load(&m->snapshots));
	for (slot = 0; slot < MAX_VOLS; slot++)
		if (m->live[slot])
			EXPECT_TRUE(check_volume(m, slot)) TH_LOG("%s", m->why);
	for (slot = MAX_VOLS - 1; slot >= 0; slot--)
		if (m->live[slot])
			close_volume(m, slot);
	ASSERT_EQ(0, sh("dmsetup remove tm-pool"));
	EXPECT_EQ(0, sh("thin_check %s", META_DEV));
}

/*
 * It takes minutes under TCG, more than the runner gives a binary, so
 * tests/sh/59-thin-model.sh runs it with a limit of its own.
 */
static void __attribute__((constructor)) thin_model_order(void)
{
	if (!__constructor_order)
		__constructor_order = _CONSTRUCTOR_ORDER_BACKWARD;
}

int main(int argc, char **argv)
{
	if (!getenv("DMX_THIN_MODEL")) {
		printf("1..0 # SKIP run by 59-thin-model.sh\n");
		return 0;
	}
	return test_harness_run(argc, argv);
}
