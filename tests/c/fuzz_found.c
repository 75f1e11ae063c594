// SPDX-License-Identifier: GPL-2.0
/*
 * Regression tests for what the fuzzer (tests/fuzz) found, one per
 * bug, each named for the behaviour that was broken.  Each comment
 * says which seed found it and what happened.
 */
#define _GNU_SOURCE
#include "kselftest_harness.h"
#include "dmx_test.h"

#define SNAP_MAGIC	0x70416e53U

FIXTURE(found) {
	int fd;
	char origin[32];
	char cow[32];
	uint64_t sectors;
};

FIXTURE_SETUP(found)
{
	self->fd = dmx_open_control();
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", DMX_CONTROL_PATH,
				      strerror(errno));
	ASSERT_EQ(0, dmx_ramdisks());
	ASSERT_EQ(0, dmx_ram(0, self->origin, sizeof(self->origin)));
	ASSERT_EQ(0, dmx_ram(1, self->cow, sizeof(self->cow)));
	self->sectors = DMX_RAM_SECTORS;
}

FIXTURE_TEARDOWN(found)
{
	dmx_cleanup(self->fd);
	close(self->fd);
}

/*
 * A persistent snapshot header with chunk_size, and an empty first
 * exception area after it, at the start of /dev/ram<ram>.
 */
static int write_cow_header(int ram, uint32_t chunk_size)
{
	size_t len = (size_t)chunk_size * 512 * 2;
	uint32_t *h;
	char path[32];
	int fd, r = 0;

	if (posix_memalign((void **)&h, 4096, len))
		return -ENOMEM;
	memset(h, 0, len);
	h[0] = SNAP_MAGIC;	/* little-endian host */
	h[1] = 1;		/* valid */
	h[2] = 1;		/* version */
	h[3] = chunk_size;
	snprintf(path, sizeof(path), "/dev/ram%d", ram);
	fd = open(path, O_WRONLY | O_DIRECT);
	if (fd < 0 || pwrite(fd, h, len, 0) != (ssize_t)len)
		r = -errno;
	if (fd >= 0)
		close(fd);
	free(h);
	return r;
}

/*
 * Found by seed 1 (3 workers, 32-bit run) on the debug kernel: a
 * snapshot loaded with one chunk size whose COW header says another
 * by the time it resumes fails that resume, but took the header's
 * chunk size over anyway; the next resume then found the two equal
 * and read exception areas of the larger size into buffers of the
 * smaller one (KASAN: wild-memory-access in the loop worker filling
 * the page after the buffer).  Every resume must now refuse the same
 * way, and the device must still go.
 */
TEST_F(found, snapshot_resume_refuses_again_after_cow_chunk_size_changed)
{
	char name[DM_NAME_LEN], params[96];
	struct dmx_line line = { 0, self->sectors, "snapshot", params };
	int first, second;

	ASSERT_EQ(0, write_cow_header(1, 16));
	snprintf(params, sizeof(params), "%s %s P 16", self->origin, self->cow);
	ASSERT_EQ(0, dmx_create(self->fd, dmx_name(name, "chunk")));
	ASSERT_EQ(0, dmx_load(self->fd, name, &line, 1));

	/* Someone else's table rewrites the store with 32-sector chunks. */
	ASSERT_EQ(0, write_cow_header(1, 32));
	first = dmx_resume(self->fd, name);
	second = dmx_resume(self->fd, name);
	EXPECT_EQ(first, second) TH_LOG("first resume %d, second %d", first, second);
	EXPECT_EQ(second, dmx_resume(self->fd, name));
	EXPECT_EQ(0, dmx_remove(self->fd, name));
}

TEST_HARNESS_MAIN
