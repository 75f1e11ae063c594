// SPDX-License-Identifier: GPL-2.0
/*
 * ioload [-n OPS] [-b BLOCKS] [-o FIRST] [-f EVERY] [-s SEED] [-F]
 *        [-e FILE]... [-z FILE]... DEV: verified I/O while faults are
 * injected.
 *
 * Opens DEV (O_DIRECT); -F marks ioload for failslab's task filter
 * (/proc/self/make-it-fail), so that only its own allocations fail.  Makes OPS random 4 KiB operations on the first BLOCKS blocks:
 * writes of a pattern naming the block and its generation, reads that
 * check it, and an fsync (an empty flush) every EVERY operations.
 * Every one must end in success or a clean error (EIO; ENOMEM or
 * EAGAIN from the syscall itself); a read must return the last
 * generation written, or, after a failed write, the one before it.
 * Then, with faults off (ours, and "0" written to each -z FILE, such
 * as a device's make-it-fail), every block is read back and checked
 * the same way: nothing lost, nothing misdirected.
 *
 * Prints "ioload: ..." with the counts; exit status 0 iff every rule
 * held, 1 otherwise, 2 if it could not start.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK	4096

struct block_state {
	uint32_t gen;		/* last generation written successfully */
	uint32_t tried;		/* a later generation whose write failed */
};

static uint64_t rng = 88172645463325252ULL;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void fill(uint32_t *p, uint32_t block, uint32_t gen)
{
	unsigned int i;

	for (i = 0; i < BLOCK / 4; i++)
		p[i] = block * 2654435761U ^ gen * 40503U ^ i;
	p[0] = block;
	p[1] = gen;
}

/* The generation a block's contents carry, or -1 if they are garbage. */
static long gen_of(const uint32_t *p, uint32_t block)
{
	static uint32_t want[BLOCK / 4];

	if (p[0] != block)
		return p[0] || p[1] ? -1 : 0;	/* never written: zeroes */
	fill(want, block, p[1]);
	return memcmp(want, p, BLOCK) ? -1 : (long)p[1];
}

static bool gen_ok(const struct block_state *b, long gen)
{
	return gen == b->gen || (b->tried && gen == b->tried);
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	if (fputs(text, f) < 0) {
		fclose(f);
		return -1;
	}
	return fclose(f) ? -1 : 0;
}

static bool clean_errno(int e)
{
	return e == EIO || e == ENOMEM || e == EAGAIN || e == ENOSPC;
}

int main(int argc, char **argv)
{
	unsigned long ops = 2000, blocks = 256, every = 16, i;
	unsigned long writes = 0, reads = 0, flushes = 0, eio = 0, enomem = 0;
	unsigned long bad = 0, wrong = 0;
	struct block_state *st;
	const char *zero[8], *one[8];
	unsigned int nzero = 0, none = 0, z;
	unsigned long first = 0;
	bool fail_self = false;
	uint32_t *buf;
	int fd, c;

	while ((c = getopt(argc, argv, "n:b:o:f:s:Fz:e:")) != -1) {
		switch (c) {
		case 'n':
			ops = strtoul(optarg, NULL, 0);
			break;
		case 'b':
			blocks = strtoul(optarg, NULL, 0);
			break;
		case 'f':
			every = strtoul(optarg, NULL, 0);
			break;
		case 's':
			rng = strtoull(optarg, NULL, 0) | 1;
			break;
		case 'F':
			fail_self = true;
			break;
		case 'o':
			first = strtoul(optarg, NULL, 0);
			break;
		case 'z':
			if (nzero < 8)
				zero[nzero++] = optarg;
			break;
		case 'e':
			if (none < 8)
				one[none++] = optarg;
			break;
		default: return 2;
		}
	}
	if (optind + 1 != argc || !blocks)
		return 2;
	fd = open(argv[optind], O_RDWR | O_DIRECT);
	st = calloc(blocks, sizeof(*st));
	if (fd < 0 || !st || posix_memalign((void **)&buf, BLOCK, BLOCK)) {
		perror("ioload");
		return 2;
	}

	/* Known contents first, so that the device below allocates nothing later. */
	for (i = 0; i < blocks; i++) {
		fill(buf, i, 1);
		if (pwrite(fd, buf, BLOCK, (off_t)(first + i) * BLOCK) != BLOCK) {
			perror("ioload: initial write");
			return 2;
		}
		st[i].gen = 1;
	}
	for (z = 0; z < none; z++)
		if (write_file(one[z], "1"))
			printf("ioload: cannot turn on %s\n", one[z]);
	if (fail_self) {
		int mf = open("/proc/self/make-it-fail", O_WRONLY);

		if (mf < 0 || write(mf, "1", 1) != 1) {
			perror("ioload: make-it-fail");
			return 2;
		}
		close(mf);
	}

	for (i = 0; i < ops; i++) {
		uint32_t b = next_rand() % blocks;
		struct block_state *s = &st[b];
		ssize_t n;

		if (every && i % every == every - 1) {
			flushes++;
			if (fsync(fd)) {
				if (clean_errno(errno)) {
					eio += errno == EIO;
					enomem += errno != EIO;
				} else {
					printf("ioload: fsync: %s\n", strerror(errno));
					bad++;
				}
			}
			continue;
		}
		if (next_rand() & 1) {
			uint32_t gen = s->gen > s->tried ? s->gen + 1 : s->tried + 1;

			writes++;
			fill(buf, b, gen);
			n = pwrite(fd, buf, BLOCK, (off_t)(first + b) * BLOCK);
			if (n == BLOCK) {
				s->gen = gen;
				s->tried = 0;
			} else {
				s->tried = gen;
				if (n < 0 && clean_errno(errno)) {
					eio += errno == EIO;
					enomem += errno != EIO;
				} else {
					printf("ioload: write of block %u: %s\n", b,
					       n < 0 ? strerror(errno) : "short");
					bad++;
				}
			}
			continue;
		}
		reads++;
		n = pread(fd, buf, BLOCK, (off_t)(first + b) * BLOCK);
		if (n != BLOCK) {
			if (n < 0 && clean_errno(errno)) {
				eio += errno == EIO;
				enomem += errno != EIO;
			} else {
				printf("ioload: read of block %u: %s\n", b,
				       n < 0 ? strerror(errno) : "short");
				bad++;
			}
			continue;
		}
		if (!gen_ok(s, gen_of(buf, b))) {
			printf("ioload: block %u holds generation %ld, want %u\n", b,
			       gen_of(buf, b), s->gen);
			wrong++;
		}
	}

	if (fail_self) {
		int mf = open("/proc/self/make-it-fail", O_WRONLY);

		while (mf < 0 && errno == ENOMEM)
			mf = open("/proc/self/make-it-fail", O_WRONLY);
		while (mf >= 0 && write(mf, "0", 1) != 1)
			;
		if (mf >= 0)
			close(mf);
	}
	for (z = 0; z < nzero; z++)
		if (write_file(zero[z], "0"))
			printf("ioload: cannot turn off %s\n", zero[z]);
	/* Everything, with no fault: the last write that returned is there. */
	for (i = 0; i < blocks; i++) {
		long gen;

		if (pread(fd, buf, BLOCK, (off_t)(first + i) * BLOCK) != BLOCK) {
			printf("ioload: final read of block %lu: %s\n", i, strerror(errno));
			bad++;
			continue;
		}
		gen = gen_of(buf, i);
		if (!gen_ok(&st[i], gen)) {
			printf("ioload: block %lu finally holds generation %ld, want %u\n",
			       i, gen, st[i].gen);
			wrong++;
		}
	}
	printf("ioload: %lu ops (%lu writes, %lu reads, %lu fsyncs): %lu EIO, %lu other clean errors, %lu unclean, %lu wrong data\n",
	       ops, writes, reads, flushes, eio, enomem, bad, wrong);
	return bad || wrong ? 1 : 0;
}
