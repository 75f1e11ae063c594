// SPDX-License-Identifier: GPL-2.0
/*
 * Guest side of tests/vm/crash.sh: the write storm that the VM
 * is killed in the middle of, and the check after the next boot.
 *
 * Every sector written says who wrote it: its number, a version, and a
 * tag (B for the base content, O for an origin write, S for a snapshot
 * write), then noise derived from all three.  After the crash, every
 * sector of the origin must be intact and B or O, every sector of a
 * snapshot intact and B or S: a half-done copy, a lost one, or an
 * exception pointing at a chunk that was never written shows up as
 * garbage or as an O in a snapshot.
 *
 *   crash-helper fill DEV SECTORS
 *   crash-helper storm SECTORS SEED ORIGIN SNAP...   (runs until killed)
 *   crash-helper verify DEV SECTORS ALLOWED_TAGS
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECTOR	512
#define MAX_IO	128		/* sectors */
#define PROGRESS_WRITES	250	/* writes between two progress lines */

static void fill_sector(uint8_t *p, uint32_t sector, uint32_t version,
			char tag)
{
	uint64_t x = (((uint64_t)version << 32) | sector) *
		     0x9e3779b97f4a7c15ULL + (uint8_t)tag;
	int i;

	memcpy(p, &sector, 4);
	memcpy(p + 4, &version, 4);
	p[8] = tag;
	for (i = 9; i < SECTOR; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = x >> 56;
	}
}

static int open_dev(const char *path, int flags)
{
	int fd = open(path, flags | O_DIRECT);

	if (fd < 0)
		perror(path);
	return fd;
}

static int fill(const char *dev, uint32_t sectors)
{
	uint8_t *buf;
	uint32_t s, i;
	int fd = open_dev(dev, O_WRONLY);

	if (fd < 0 || posix_memalign((void **)&buf, 4096, 2048 * SECTOR))
		return 1;
	for (s = 0; s < sectors; s += 2048) {
		for (i = 0; i < 2048; i++)
			fill_sector(buf + i * SECTOR, s + i, 0, 'B');
		if (pwrite(fd, buf, 2048 * SECTOR, (off_t)s * SECTOR) !=
		    2048 * SECTOR) {
			perror("pwrite");
			return 1;
		}
	}
	return fsync(fd) ? 1 : 0;
}

/* Random writes to the origin and the snapshots, forever. */
static int storm(uint32_t sectors, unsigned int seed, int ndev, char **devs)
{
	uint32_t version = (seed & 0xffff) << 16;
	int fd[8], i;
	uint8_t *buf;
	long ops = 0;

	if (ndev > 8 || posix_memalign((void **)&buf, 4096, MAX_IO * SECTOR))
		return 1;
	for (i = 0; i < ndev; i++) {
		fd[i] = open_dev(devs[i], O_RDWR);
		if (fd[i] < 0)
			return 1;
	}
	for (;;) {
		unsigned int r = rand_r(&seed);
		int dev = r % 3 ? 0 : 1 + (r / 3) % (ndev - 1);
		uint32_t n = 1 + (r / 64) % MAX_IO;
		uint32_t s = rand_r(&seed) % (sectors - n);
		char tag = dev ? 'S' : 'O';

		version++;
		for (i = 0; i < (int)n; i++)
			fill_sector(buf + i * SECTOR, s + i, version, tag);
		if (pwrite(fd[dev], buf, n * SECTOR, (off_t)s * SECTOR) !=
		    n * SECTOR) {
			perror("pwrite");
			return 1;
		}
		if (++ops % PROGRESS_WRITES == 0) {
			printf("# %ld writes\n", ops);
			fflush(stdout);
		}
	}
}

static int verify(const char *dev, uint32_t sectors, const char *allowed)
{
	uint32_t s, i, count[3] = { 0 }, bad = 0;
	uint8_t *buf, want[SECTOR];
	int fd = open_dev(dev, O_RDONLY);

	if (fd < 0 || posix_memalign((void **)&buf, 4096, 2048 * SECTOR))
		return 1;
	for (s = 0; s < sectors; s += 2048) {
		if (pread(fd, buf, 2048 * SECTOR, (off_t)s * SECTOR) !=
		    2048 * SECTOR) {
			perror("pread");
			return 1;
		}
		for (i = 0; i < 2048; i++) {
			uint8_t *p = buf + i * SECTOR;
			uint32_t sector, version;

			memcpy(&sector, p, 4);
			memcpy(&version, p + 4, 4);
			fill_sector(want, s + i, version, p[8]);
			if (sector != s + i || !strchr(allowed, p[8]) ||
			    memcmp(want, p, SECTOR)) {
				if (bad++ < 5)
					printf("%s: sector %u: holds sector %u version %u tag %c%s\n",
					       dev, s + i, sector, version,
					       p[8] >= ' ' ? p[8] : '?',
					       memcmp(want, p, SECTOR) ? " (garbage)" : "");
				continue;
			}
			count[p[8] == 'B' ? 0 : p[8] == 'O' ? 1 : 2]++;
		}
	}
	printf("%s: %u base, %u origin-written, %u snapshot-written, %u bad sectors\n",
	       dev, count[0], count[1], count[2], bad);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "fill"))
		return fill(argv[2], strtoul(argv[3], NULL, 0));
	if (argc >= 6 && !strcmp(argv[1], "storm"))
		return storm(strtoul(argv[2], NULL, 0), strtoul(argv[3], NULL, 0),
			     argc - 4, argv + 4);
	if (argc == 5 && !strcmp(argv[1], "verify"))
		return verify(argv[2], strtoul(argv[3], NULL, 0), argv[4]);
	fprintf(stderr, "usage: see the comment at the top of crash-helper.c\n");
	return 2;
}
