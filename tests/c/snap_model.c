// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshots against a model of what each device must read.
 *
 * An origin (snapshot-origin over a linear base) and three snapshots of
 * it, one of each store type (P, N, PO), take thousands of random
 * O_DIRECT reads and writes from several threads at once: short and
 * long, aligned or not, crossing chunks or covering them whole.  The
 * model holds, for every sector of every device, the version of the
 * data it must read: an origin write changes the origin only, a
 * snapshot write that snapshot only.  Threads never overlap on the same
 * sectors of the same device (so the model is exact), but do overlap
 * freely across devices, which is where copy-on-write races live.  A
 * helper thread reloads the snapshots' tables now and then.  Every read
 * is checked as it completes, every device is read whole at the end,
 * and the persistent snapshots again after being rebuilt from their
 * COW devices.  One variant per chunk size, 4 KiB to 512 KiB.
 *
 * dmx-test: no-m32 (the model and the devices want more address space)
 * dmx-test: timeout=600 (about 100 s in a VM beside another one)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "snap_test.h"

#define ORIGIN_SECTORS	32768		/* 16 MiB */
#define COW_SECTORS	49152		/* 24 MiB: room for every chunk */
#define NSNAP		3
#define NDEV		(1 + NSNAP)	/* 0: the origin */
#define NTHREADS	4
#define MAX_IO		1024		/* sectors */
#define OPS		16000		/* per variant, over all threads */
#define RELOAD_EVERY	1000		/* ops between table reloads */

static const char *const kinds[NSNAP] = { "P", "N", "PO" };
static const char *const cow_disks[NSNAP] = { "/dev/ram1", "/dev/ram2",
					      "/dev/ram3" };

struct model {
	unsigned int chunk;		/* sectors */
	uint32_t ver[NDEV][ORIGIN_SECTORS];
	unsigned char busy[NDEV][ORIGIN_SECTORS];
	pthread_mutex_t lock;		/* protects busy, ops_done, workers */
	pthread_cond_t progress;	/* ops_done moved, or a worker ended */
	int ops_done;
	int workers;			/* worker threads still running */
	atomic_uint next_version;
	atomic_int ops_left;
	atomic_int failed;
	atomic_int reads_checked;
	char why[512];
};

/* --- helpers ------------------------------------------------------ */

static const char *dev_name(int dev)
{
	static const char *const names[NDEV] = { "mdl-origin", "mdl-s0",
						 "mdl-s1", "mdl-s2" };
	return names[dev];
}

static void dev_path(int dev, char *buf, size_t size)
{
	snprintf(buf, size, "/dev/mapper/%s", dev_name(dev));
}

static void snap_table(struct model *m, int i, char *buf, size_t size)
{
	snprintf(buf, size, "0 %d snapshot /dev/mapper/mdl-base %s %s %u",
		 ORIGIN_SECTORS, cow_disks[i], kinds[i], m->chunk);
}

static void fail(struct model *m, const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&m->failed, 1))
		return;
	va_start(ap, fmt);
	vsnprintf(m->why, sizeof(m->why), fmt, ap);
	va_end(ap);
}

/* Checks count sectors read from dev at sector against the model. */
static bool check_sectors(struct model *m, int dev, uint32_t sector,
			  uint32_t count, const uint8_t *buf)
{
	uint8_t want[SECTOR];
	uint32_t i;

	for (i = 0; i < count; i++) {
		uint32_t s = sector + i, got_ver, got_sec;

		fill_sector(want, m->ver[dev][s], s);
		if (!memcmp(want, buf + (size_t)i * SECTOR, SECTOR))
			continue;
		memcpy(&got_ver, buf + (size_t)i * SECTOR, 4);
		memcpy(&got_sec, buf + (size_t)i * SECTOR + 4, 4);
		fail(m, "%s sector %u (chunk %u): want version %u, read version %u of sector %u%s",
		     dev_name(dev), s, s / m->chunk, m->ver[dev][s], got_ver,
		     got_sec, got_sec == s && got_ver == m->ver[dev][s] ?
		     " (corrupt)" : "");
		return false;
	}
	return true;
}

/* Reads a whole device in 1 MiB pieces and checks it. */
static bool check_device(struct model *m, int dev)
{
	char path[64];
	uint8_t *buf;
	uint32_t s;
	bool ok = true;
	int fd;

	dev_path(dev, path, sizeof(path));
	fd = open(path, O_RDONLY | O_DIRECT);
	if (fd < 0 || posix_memalign((void **)&buf, 4096, 2048 * SECTOR)) {
		fail(m, "cannot open %s: %s", path, strerror(errno));
		return false;
	}
	for (s = 0; ok && s < ORIGIN_SECTORS; s += 2048) {
		if (pread(fd, buf, 2048 * SECTOR, (off_t)s * SECTOR) !=
		    2048 * SECTOR) {
			fail(m, "read of %s at %u: %s", path, s, strerror(errno));
			ok = false;
			break;
		}
		ok = check_sectors(m, dev, s, 2048, buf);
	}
	free(buf);
	close(fd);
	return ok;
}

/* --- the random workload ------------------------------------------ */

struct worker {
	struct model *m;
	unsigned int seed;
	int fd[NDEV];
	uint8_t *buf;
};

/* A random range: short and unaligned, or whole chunks. */
static void pick_range(struct worker *w, uint32_t *s, uint32_t *n)
{
	unsigned int chunk = w->m->chunk;
	unsigned int r = rand_r(&w->seed);

	if (r % 4 == 0 && chunk <= MAX_IO) {
		uint32_t chunks = 1 + (r / 4) % (MAX_IO / chunk > 1 ? 2 : 1);

		*n = chunks * chunk;
		*s = (rand_r(&w->seed) % (ORIGIN_SECTORS / chunk - chunks + 1)) *
		     chunk;
		return;
	}
	*n = 1 + (r / 4) % (r % 3 ? 16 : 256);
	*s = rand_r(&w->seed) % (ORIGIN_SECTORS - *n + 1);
}

static void one_op(struct worker *w)
{
	struct model *m = w->m;
	unsigned int r = rand_r(&w->seed);
	int dev = r % 10 < 4 ? 0 : 1 + (r / 10) % NSNAP;
	bool write = (r / 100) % 2;
	uint32_t s, n, i, version;
	ssize_t done;

	do {
		pick_range(w, &s, &n);
	} while (!claim_sectors(&m->lock, m->busy[dev], s, n));

	if (write) {
		version = atomic_fetch_add(&m->next_version, 1);
		for (i = 0; i < n; i++)
			fill_sector(w->buf + (size_t)i * SECTOR, version, s + i);
		done = pwrite(w->fd[dev], w->buf, (size_t)n * SECTOR,
			      (off_t)s * SECTOR);
		if (done != (ssize_t)n * SECTOR)
			fail(m, "write of %u sectors to %s at %u: %s", n,
			     dev_name(dev), s, strerror(errno));
		else
			for (i = 0; i < n; i++)
				m->ver[dev][s + i] = version;
	} else {
		done = pread(w->fd[dev], w->buf, (size_t)n * SECTOR,
			     (off_t)s * SECTOR);
		if (done != (ssize_t)n * SECTOR)
			fail(m, "read of %u sectors from %s at %u: %s", n,
			     dev_name(dev), s, strerror(errno));
		else if (check_sectors(m, dev, s, n, w->buf))
			atomic_fetch_add(&m->reads_checked, 1);
	}
	release_sectors(&m->lock, m->busy[dev], s, n);
}

static void count_op(struct model *m)
{
	pthread_mutex_lock(&m->lock);
	if (++m->ops_done % RELOAD_EVERY == 0)
		pthread_cond_broadcast(&m->progress);
	pthread_mutex_unlock(&m->lock);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct model *m = w->m;

	while (atomic_fetch_sub(&m->ops_left, 1) > 0 &&
	       !atomic_load(&m->failed)) {
		one_op(w);
		count_op(m);
	}
	pthread_mutex_lock(&m->lock);
	m->workers--;
	pthread_cond_broadcast(&m->progress);
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

/* Waits until ops_done reaches ops; false if the workers ended first. */
static bool ops_reach(struct model *m, int ops)
{
	bool reached;

	pthread_mutex_lock(&m->lock);
	while (m->ops_done < ops && m->workers)
		pthread_cond_wait(&m->progress, &m->lock);
	reached = m->ops_done >= ops;
	pthread_mutex_unlock(&m->lock);
	return reached;
}

/*
 * Reloads a snapshot's table every RELOAD_EVERY operations of the
 * workers: a handover each time, under load.
 */
static void *reloader_main(void *arg)
{
	struct model *m = arg;
	char table[256];
	int i = 0, next = RELOAD_EVERY;

	while (next < OPS && ops_reach(m, next) && !atomic_load(&m->failed)) {
		next += RELOAD_EVERY;
		snap_table(m, i, table, sizeof(table));
		if (sh("dmsetup load %s --table '%s' && dmsetup resume %s",
		       dev_name(1 + i), table, dev_name(1 + i)))
			fail(m, "reload of %s failed", dev_name(1 + i));
		i = (i + 1) % NSNAP;
	}
	return NULL;
}

/* --- setup -------------------------------------------------------- */

static int write_base(void)
{
	uint8_t *buf;
	uint32_t s, i;
	int fd, r = 0;

	fd = open("/dev/mapper/mdl-base", O_WRONLY | O_DIRECT);
	if (fd < 0 || posix_memalign((void **)&buf, 4096, 2048 * SECTOR))
		return -1;
	for (s = 0; s < ORIGIN_SECTORS && !r; s += 2048) {
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

/* Creates snapshot i, the origin suspended around it as upstream asks. */
static int create_snapshot(struct model *m, int i)
{
	char table[256];

	int r;

	snap_table(m, i, table, sizeof(table));
	if (sh("dmsetup suspend mdl-origin"))
		return -1;
	r = sh("dmsetup create %s --table '%s'", dev_name(1 + i), table);
	if (sh("dmsetup resume mdl-origin"))
		return -1;
	return r;
}

static void remove_all(void)
{
	int d;

	for (d = NDEV - 1; d >= 0; d--)
		sh("dmsetup remove %s >/dev/null 2>&1", dev_name(d));
	sh("dmsetup remove mdl-base >/dev/null 2>&1");
}

static int setup_devices(struct model *m)
{
	int i;

	if (access("/dev/ram3", F_OK) &&
	    sh("modprobe brd rd_nr=4 rd_size=65536"))
		return -1;
	remove_all();
	if (sh("dmsetup create mdl-base --table '0 %d linear /dev/ram0 0'",
	       ORIGIN_SECTORS) || write_base())
		return -1;
	for (i = 0; i < NSNAP; i++)
		if (sh("dd if=/dev/zero of=%s bs=4096 count=1 oflag=direct 2>/dev/null",
		       cow_disks[i]))
			return -1;
	if (sh("dmsetup create mdl-origin --table '0 %d snapshot-origin /dev/mapper/mdl-base'",
	       ORIGIN_SECTORS))
		return -1;
	for (i = 0; i < NSNAP; i++)
		if (create_snapshot(m, i))
			return -1;
	return 0;
}

static int run_workload(struct model *m)
{
	struct worker w[NTHREADS];
	pthread_t t[NTHREADS], reloader;
	char path[64];
	int i, d;

	atomic_store(&m->ops_left, OPS);
	m->ops_done = 0;
	m->workers = NTHREADS;
	for (i = 0; i < NTHREADS; i++) {
		w[i].m = m;
		w[i].seed = 1234 + i * 77 + m->chunk;
		if (posix_memalign((void **)&w[i].buf, 4096, MAX_IO * SECTOR))
			return -1;
		for (d = 0; d < NDEV; d++) {
			dev_path(d, path, sizeof(path));
			w[i].fd[d] = open(path, O_RDWR | O_DIRECT);
			if (w[i].fd[d] < 0)
				return -1;
		}
	}
	for (i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, worker_main, &w[i]);
	pthread_create(&reloader, NULL, reloader_main, m);
	for (i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	atomic_store(&m->ops_left, 0);
	pthread_join(reloader, NULL);
	for (i = 0; i < NTHREADS; i++) {
		for (d = 0; d < NDEV; d++)
			close(w[i].fd[d]);
		free(w[i].buf);
	}
	return 0;
}

FIXTURE(snap) {
	struct model *m;
};

FIXTURE_VARIANT(snap) {
	unsigned int chunk;
};

FIXTURE_VARIANT_ADD(snap, chunk_4k) { .chunk = 8 };
FIXTURE_VARIANT_ADD(snap, chunk_16k) { .chunk = 32 };
FIXTURE_VARIANT_ADD(snap, chunk_64k) { .chunk = 128 };
FIXTURE_VARIANT_ADD(snap, chunk_512k) { .chunk = 1024 };

FIXTURE_SETUP(snap)
{
	self->m = calloc(1, sizeof(*self->m));
	ASSERT_NE(NULL, self->m);
	self->m->chunk = variant->chunk;
	pthread_mutex_init(&self->m->lock, NULL);
	pthread_cond_init(&self->m->progress, NULL);
	atomic_store(&self->m->next_version, 1);
	ASSERT_EQ(0, setup_devices(self->m));
}

FIXTURE_TEARDOWN(snap)
{
	remove_all();
	free(self->m);
}

TEST_F_TIMEOUT(snap, random_io_matches_model, 600)
{
	struct model *m = self->m;
	int d, i;

	ASSERT_EQ(0, run_workload(m));
	TH_LOG("%d reads checked, %u writes", atomic_load(&m->reads_checked),
	       atomic_load(&m->next_version) - 1);
	ASSERT_EQ(0, atomic_load(&m->failed)) TH_LOG("%s", m->why);

	for (d = 0; d < NDEV; d++)
		EXPECT_TRUE(check_device(m, d)) TH_LOG("%s", m->why);

	/* The persistent ones again, rebuilt from their COW devices. */
	for (i = 0; i < NSNAP; i++) {
		if (kinds[i][0] != 'P')
			continue;
		ASSERT_EQ(0, sh("dmsetup remove %s", dev_name(1 + i)));
		ASSERT_EQ(0, create_snapshot(m, i));
		EXPECT_TRUE(check_device(m, 1 + i)) TH_LOG("%s", m->why);
	}
}

TEST_HARNESS_MAIN
