/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the data tests (snap_model.c, snap_live.c, thin_model.c):
 * versioned sector contents that say which write put them there, running
 * a shell command line built printf-style, and the sectors a writer
 * thread holds while its I/O and the model's update are in flight.
 */
#ifndef SNAP_TEST_H
#define SNAP_TEST_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECTOR		512

/* Sector contents: its version and number, then noise from both. */
static inline void fill_sector(uint8_t *p, uint32_t version, uint32_t sector)
{
	uint64_t x = (((uint64_t)version << 32) | sector) *
		     0x9e3779b97f4a7c15ULL + 1;
	int i;

	memcpy(p, &version, 4);
	memcpy(p + 4, &sector, 4);
	for (i = 8; i < SECTOR; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(p + i, &x, 8);
	}
}

/* system() of a command line made like printf(); its status. */
static inline int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/*
 * Claims sectors [s, s + n) in busy (a byte a sector, under lock) for
 * the calling thread; false, claiming nothing, if another has one.
 */
static inline bool claim_sectors(pthread_mutex_t *lock, unsigned char *busy,
				 uint32_t s, uint32_t n)
{
	uint32_t i;

	pthread_mutex_lock(lock);
	for (i = 0; i < n; i++) {
		if (busy[s + i]) {
			pthread_mutex_unlock(lock);
			return false;
		}
	}
	memset(&busy[s], 1, n);
	pthread_mutex_unlock(lock);
	return true;
}

static inline void release_sectors(pthread_mutex_t *lock, unsigned char *busy,
				   uint32_t s, uint32_t n)
{
	pthread_mutex_lock(lock);
	memset(&busy[s], 0, n);
	pthread_mutex_unlock(lock);
}

#endif /* SNAP_TEST_H */
