// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshots loaded and removed while their origin is being written.
 *
 * dmx makes this safe rather than refusing it: a snapshot joins its
 * origin at resume only after every origin write that could have
 * missed it has finished, and leaves only after its copies are done
 * (see dm-target-origin.c).  The stock dm-snapshot asks for the origin
 * to be suspended around it (snapshot.rst), so against the stock module
 * this test does that; the checks are the same.
 *
 * Writer threads keep writing versioned data to the origin.  Snapshots
 * are created one after the other, and one is removed, under that load.
 * Every write is logged with logical times of its start and end, and so
 * is each snapshot's creation.  Then: each sector of a snapshot holds
 * intact data of a version written no earlier than the last write that
 * had ended when the creation began, and no later than the last one
 * started before the creation ended; a snapshot reads at the end exactly
 * what it read just after creation (nothing slipped in under it); the
 * origin holds every last write; nothing failed.
 *
 * dmx-test: no-m32
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "snap_test.h"

#define ORIGIN_SECTORS	32768		/* 16 MiB */
#define NWRITERS	2
#define NSNAP		3
#define MAX_LOG		200000
#define CHUNK		8
#define STEP_WRITES	200		/* origin writes between two steps */

struct write_log {
	uint32_t version;
	uint32_t sector;
	uint32_t count;
	uint64_t start;
	uint64_t end;
};

struct live {
	pthread_mutex_t lock;		/* protects writes and writers */
	pthread_cond_t wrote;		/* a write ended, or a writer did */
	unsigned long writes;		/* origin writes done */
	int writers;			/* writer threads still running */
	atomic_ulong clock;
	atomic_uint next_version;
	atomic_int stop;
	atomic_int failed;
	struct write_log log[NWRITERS][MAX_LOG];
	int nlog[NWRITERS];
	uint64_t created_start[NSNAP];
	uint64_t created_end[NSNAP];
	uint8_t *early[NSNAP];		/* each snapshot read after creation */
	char why[256];
};

static const char *const cows[NSNAP] = { "/dev/ram1", "/dev/ram2",
					 "/dev/ram3" };

static bool is_stock(void)
{
	const char *impl = getenv("DMX_IMPL");

	return impl && !strcmp(impl, "stock");
}

/* The version a sector holds, or -1 if its contents are not intact. */
static int64_t sector_version(const uint8_t *p, uint32_t sector)
{
	uint8_t want[SECTOR];
	uint32_t version, s;

	memcpy(&version, p, 4);
	memcpy(&s, p + 4, 4);
	if (s != sector)
		return -1;
	fill_sector(want, version, sector);
	return memcmp(want, p, SECTOR) ? -1 : version;
}

static void fail(struct live *l, const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&l->failed, 1))
		return;
	va_start(ap, fmt);
	vsnprintf(l->why, sizeof(l->why), fmt, ap);
	va_end(ap);
}

static uint8_t *read_device(const char *path)
{
	size_t len = (size_t)ORIGIN_SECTORS * SECTOR;
	uint8_t *buf;
	size_t done;
	int fd;

	fd = open(path, O_RDONLY | O_DIRECT);
	if (fd < 0 || posix_memalign((void **)&buf, 4096, len))
		return NULL;
	for (done = 0; done < len; done += 1 << 20) {
		if (pread(fd, buf + done, 1 << 20, done) != 1 << 20) {
			free(buf);
			buf = NULL;
			break;
		}
	}
	close(fd);
	return buf;
}

struct writer {
	struct live *l;
	int id;
	unsigned int seed;
};

/* Writer id owns half of the origin; its writes never overlap its own. */
static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct live *l = w->l;
	uint32_t half = ORIGIN_SECTORS / NWRITERS;
	uint8_t *buf;
	int fd;

	fd = open("/dev/mapper/live-origin", O_WRONLY | O_DIRECT);
	if (fd < 0 || posix_memalign((void **)&buf, 4096, 64 * SECTOR)) {
		fail(l, "writer %d cannot start", w->id);
		return NULL;
	}
	while (!atomic_load(&l->stop) && l->nlog[w->id] < MAX_LOG) {
		struct write_log *e = &l->log[w->id][l->nlog[w->id]];
		uint32_t i;

		e->count = 1 + rand_r(&w->seed) % 64;
		e->sector = w->id * half + rand_r(&w->seed) % (half - e->count);
		e->version = atomic_fetch_add(&l->next_version, 1);
		for (i = 0; i < e->count; i++)
			fill_sector(buf + i * SECTOR, e->version, e->sector + i);
		e->start = atomic_fetch_add(&l->clock, 1);
		if (pwrite(fd, buf, e->count * SECTOR,
			   (off_t)e->sector * SECTOR) != e->count * SECTOR) {
			fail(l, "origin write at %u: %s", e->sector, strerror(errno));
			break;
		}
		e->end = atomic_fetch_add(&l->clock, 1);
		l->nlog[w->id]++;
		pthread_mutex_lock(&l->lock);
		l->writes++;
		pthread_cond_broadcast(&l->wrote);
		pthread_mutex_unlock(&l->lock);
	}
	free(buf);
	close(fd);
	return NULL;
}

static void *writer_thread(void *arg)
{
	struct writer *w = arg;
	struct live *l = w->l;

	writer_main(arg);
	pthread_mutex_lock(&l->lock);
	l->writers--;
	pthread_cond_broadcast(&l->wrote);
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

/*
 * Lets the writers go on for STEP_WRITES more writes, so that each step
 * of the test happens under load; false if they stopped before.
 */
static bool writers_go_on(struct live *l)
{
	unsigned long target;
	bool running;

	pthread_mutex_lock(&l->lock);
	target = l->writes + STEP_WRITES;
	while (l->writes < target && l->writers)
		pthread_cond_wait(&l->wrote, &l->lock);
	running = l->writes >= target;
	pthread_mutex_unlock(&l->lock);
	return running;
}

static int create_snapshot(struct live *l, int i)
{
	char table[256];
	int r;

	snprintf(table, sizeof(table),
		 "0 %d snapshot /dev/mapper/live-base %s P %d",
		 ORIGIN_SECTORS, cows[i], CHUNK);
	if (sh("dd if=/dev/zero of=%s bs=4096 count=1 oflag=direct 2>/dev/null",
	       cows[i]))
		return -1;
	l->created_start[i] = atomic_fetch_add(&l->clock, 1);
	if (is_stock() && sh("dmsetup suspend live-origin"))
		return -1;
	r = sh("dmsetup create live-s%d --table '%s'", i, table);
	if (is_stock() && sh("dmsetup resume live-origin"))
		return -1;
	l->created_end[i] = atomic_fetch_add(&l->clock, 1);
	return r;
}

static void remove_all(void)
{
	static const char *const names[] = { "live-s0", "live-s1", "live-s2",
					     "live-origin", "live-base" };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		sh("dmsetup remove %s >/dev/null 2>&1", names[i]);
}

/*
 * Checks snapshot i against the write log; at the end it must still
 * read what it read right after its creation.
 */
static bool check_snapshot(struct live *l, int i, const uint8_t *now)
{
	uint32_t *lo = calloc(ORIGIN_SECTORS, 4), *hi = calloc(ORIGIN_SECTORS, 4);
	uint32_t s, k;
	int w, n;
	bool ok = true;

	for (w = 0; w < NWRITERS; w++) {
		for (n = 0; n < l->nlog[w]; n++) {
			struct write_log *e = &l->log[w][n];

			for (k = 0; k < e->count; k++) {
				if (e->end < l->created_start[i])
					lo[e->sector + k] = e->version;
				if (e->start < l->created_end[i])
					hi[e->sector + k] = e->version;
			}
		}
	}
	for (s = 0; ok && s < ORIGIN_SECTORS; s++) {
		int64_t v = sector_version(now + (size_t)s * SECTOR, s);

		if (v < 0 || v < lo[s] || v > hi[s]) {
			fail(l, "live-s%d sector %u: version %lld, want %u..%u",
			     i, s, (long long)v, lo[s], hi[s]);
			ok = false;
		} else if (memcmp(now + (size_t)s * SECTOR,
				  l->early[i] + (size_t)s * SECTOR, SECTOR)) {
			fail(l, "live-s%d sector %u changed after creation", i, s);
			ok = false;
		}
	}
	free(lo);
	free(hi);
	return ok;
}

static bool check_origin(struct live *l, const uint8_t *now)
{
	uint32_t *last = calloc(ORIGIN_SECTORS, 4), s, k;
	int w, n;
	bool ok = true;

	for (w = 0; w < NWRITERS; w++)
		for (n = 0; n < l->nlog[w]; n++)
			for (k = 0; k < l->log[w][n].count; k++)
				last[l->log[w][n].sector + k] = l->log[w][n].version;
	for (s = 0; ok && s < ORIGIN_SECTORS; s++) {
		if (sector_version(now + (size_t)s * SECTOR, s) != last[s]) {
			fail(l, "origin sector %u: want version %u", s, last[s]);
			ok = false;
		}
	}
	free(last);
	return ok;
}

FIXTURE(live) {
	struct live *l;
};

FIXTURE_SETUP(live)
{
	uint8_t *buf;
	uint32_t s;
	int fd;

	self->l = calloc(1, sizeof(*self->l));
	ASSERT_NE(NULL, self->l);
	pthread_mutex_init(&self->l->lock, NULL);
	pthread_cond_init(&self->l->wrote, NULL);
	atomic_store(&self->l->next_version, 1);
	atomic_store(&self->l->clock, 1);
	if (access("/dev/ram3", F_OK))
		ASSERT_EQ(0, sh("modprobe brd rd_nr=4 rd_size=65536"));
	remove_all();
	ASSERT_EQ(0, sh("dmsetup create live-base --table '0 %d linear /dev/ram0 0'",
			ORIGIN_SECTORS));
	fd = open("/dev/mapper/live-base", O_WRONLY | O_DIRECT);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, posix_memalign((void **)&buf, 4096, 2048 * SECTOR));
	for (s = 0; s < ORIGIN_SECTORS; s++) {
		fill_sector(buf + (s % 2048) * SECTOR, 0, s);
		if (s % 2048 == 2047)
			ASSERT_EQ(2048 * SECTOR,
				  pwrite(fd, buf, 2048 * SECTOR,
					 (off_t)(s - 2047) * SECTOR));
	}
	free(buf);
	close(fd);
	ASSERT_EQ(0, sh("dmsetup create live-origin --table '0 %d snapshot-origin /dev/mapper/live-base'",
			ORIGIN_SECTORS));
}

FIXTURE_TEARDOWN(live)
{
	int i;

	remove_all();
	for (i = 0; i < NSNAP; i++)
		free(self->l->early[i]);
	free(self->l);
}

TEST_F_TIMEOUT(live, snapshots_come_and_go_under_origin_writes, 300)
{
	struct live *l = self->l;
	struct writer w[NWRITERS];
	pthread_t t[NWRITERS];
	uint8_t *now;
	char path[64];
	int i;

	l->writers = NWRITERS;
	for (i = 0; i < NWRITERS; i++) {
		w[i] = (struct writer){ .l = l, .id = i, .seed = 99 + i };
		pthread_create(&t[i], NULL, writer_thread, &w[i]);
	}
	for (i = 0; i < NSNAP; i++) {
		ASSERT_TRUE(writers_go_on(l)) TH_LOG("%s", l->why);
		ASSERT_EQ(0, create_snapshot(l, i));
		snprintf(path, sizeof(path), "/dev/mapper/live-s%d", i);
		l->early[i] = read_device(path);
		ASSERT_NE(NULL, l->early[i]);
	}
	/* One leaves while the origin is busy. */
	ASSERT_TRUE(writers_go_on(l)) TH_LOG("%s", l->why);
	ASSERT_EQ(0, sh("dmsetup remove live-s1"));
	ASSERT_TRUE(writers_go_on(l)) TH_LOG("%s", l->why);
	atomic_store(&l->stop, 1);
	for (i = 0; i < NWRITERS; i++)
		pthread_join(t[i], NULL);
	TH_LOG("%d + %d origin writes", l->nlog[0], l->nlog[1]);
	ASSERT_EQ(0, atomic_load(&l->failed)) TH_LOG("%s", l->why);

	for (i = 0; i < NSNAP; i++) {
		if (i == 1)
			continue;
		snprintf(path, sizeof(path), "/dev/mapper/live-s%d", i);
		now = read_device(path);
		ASSERT_NE(NULL, now);
		EXPECT_TRUE(check_snapshot(l, i, now)) TH_LOG("%s", l->why);
		free(now);
	}
	now = read_device("/dev/mapper/live-origin");
	ASSERT_NE(NULL, now);
	EXPECT_TRUE(check_origin(l, now)) TH_LOG("%s", l->why);
	free(now);
}

TEST_HARNESS_MAIN
