// SPDX-License-Identifier: GPL-2.0
/*
 * I/O on the pool's devices while their tables change: asynchronous
 * O_DIRECT reads, writes (plain, DSYNC, NOWAIT) and fsyncs, so that I/O
 * can stay in flight across suspend, reload and resume without the
 * worker waiting on it; block ioctls that wait (discard, zero-out,
 * flush) run in short-lived children for the same reason.  Also
 * scribbles on COW devices: persistent snapshot headers and exception
 * areas that are almost right, for the store's reader to meet at its
 * next load or resume.
 */
#include "fuzz.h"

#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


#define FZ_IO_MAX	(64 * 1024)

static struct iocb fz_iocbs[FZ_AIO_DEPTH];

static long fz_io_setup_ctx(unsigned int nr, aio_context_t *ctx)
{
	return syscall(SYS_io_setup, nr, ctx);
}

static long fz_io_submit(aio_context_t ctx, long n, struct iocb **iocbs)
{
	return syscall(SYS_io_submit, ctx, n, iocbs);
}

static long fz_io_getevents(aio_context_t ctx, long min, long max,
			    struct io_event *ev, struct timespec *ts)
{
	return syscall(SYS_io_getevents, ctx, min, max, ev, ts);
}

int fz_io_setup(struct fz *fz)
{
	aio_context_t ctx = 0;
	unsigned int i;

	if (fz_io_setup_ctx(FZ_AIO_DEPTH, &ctx))
		return -errno;
	fz->aio_ctx = ctx;
	for (i = 0; i < FZ_AIO_DEPTH; i++) {
		if (posix_memalign(&fz->aio[i].buf, 4096, FZ_IO_MAX))
			return -ENOMEM;
		memset(fz->aio[i].buf, 0x3c + i, FZ_IO_MAX);
	}
	return 0;
}

/* Opens a block device through a private node (no udev in the guest). */
int fz_open_dev(uint64_t dev, int flags, int worker)
{
	static unsigned int serial;
	char path[64];
	int fd, err;

	snprintf(path, sizeof(path), "/tmp/fz-node-%d-%d-%u", (int)getpid(),
		 worker, serial++);
	unlink(path);
	if (mknod(path, S_IFBLK | 0600,
		  makedev((dev & 0xfff00) >> 8, (dev & 0xff) | ((dev >> 12) & 0xfff00))))
		return -errno;
	fd = open(path, flags | O_CLOEXEC);
	err = errno;
	unlink(path);
	return fd < 0 ? -err : fd;
}

static void fz_io_open(struct fz *fz)
{
	char name[DM_NAME_LEN];
	uint64_t dev, bytes = 0;
	int fd, flags;

	if (fz->nfds >= FZ_MAX_FDS)
		return;
	fz_pool_name(fz, name, sizeof(name));
	dev = fz_dev_of(fz, name);
	if (!dev)
		return;
	flags = (fz_chance(&fz->rng, 80) ? O_RDWR : O_RDONLY) | O_DIRECT;
	if (fz_chance(&fz->rng, 5))
		flags |= O_EXCL;
	fz_note(fz, "open of a pool device");
	fd = fz_open_dev(dev, flags, fz->id);
	if (fd < 0)
		return;
	ioctl(fd, BLKGETSIZE64, &bytes);
	fz->fds[fz->nfds].fd = fd;
	fz->fds[fz->nfds].inflight = 0;
	fz->fds[fz->nfds].sectors = bytes >> 9;
	fz->nfds++;
}

static void fz_io_close(struct fz *fz, unsigned int i)
{
	fz_note(fz, "close of a pool device");
	close(fz->fds[i].fd);
	fz->fds[i] = fz->fds[--fz->nfds];
	/* In-flight slots point at fds by index: follow the move. */
	for (unsigned int s = 0; s < FZ_AIO_DEPTH; s++)
		if (fz->aio[s].busy && fz->aio[s].fd_index == (int)fz->nfds)
			fz->aio[s].fd_index = i;
}

static void fz_io_submit_one(struct fz *fz)
{
	struct fz_rng *r = &fz->rng;
	unsigned int slot, i = fz_below(r, fz->nfds);
	struct fz_fd *f = &fz->fds[i];
	struct iocb *cb, *cbs[1];
	uint64_t len, off;

	for (slot = 0; slot < FZ_AIO_DEPTH; slot++)
		if (!fz->aio[slot].busy)
			break;
	if (slot == FZ_AIO_DEPTH)
		return;
	len = fz_chance(r, 80) ? 4096ULL << fz_below(r, 4) : 512ULL * (1 + fz_below(r, 16));
	off = f->sectors ? (fz_below(r, f->sectors) << 9) & ~4095ULL : 0;
	if (fz_chance(r, 5))
		off = (f->sectors << 9) - (fz_chance(r, 50) ? 0 : 512);	/* at the end */
	if (fz_chance(r, 5))
		off |= 512;

	cb = &fz_iocbs[slot];
	memset(cb, 0, sizeof(*cb));
	cb->aio_fildes = f->fd;
	cb->aio_buf = (uintptr_t)fz->aio[slot].buf;
	cb->aio_nbytes = len;
	cb->aio_offset = off;
	cb->aio_data = slot;
	switch (fz_below(r, 10)) {
	case 0 ... 3:
		cb->aio_lio_opcode = IOCB_CMD_PREAD;
		break;
	case 4 ... 7:
		cb->aio_lio_opcode = IOCB_CMD_PWRITE;
		break;
	case 8:
		cb->aio_lio_opcode = IOCB_CMD_PWRITE;
		cb->aio_rw_flags = fz_chance(r, 50) ? RWF_DSYNC : RWF_SYNC;
		break;
	default:
		cb->aio_lio_opcode = IOCB_CMD_FSYNC;
		cb->aio_nbytes = 0;
		break;
	}
	if (fz_chance(r, 10) && cb->aio_lio_opcode != IOCB_CMD_FSYNC)
		cb->aio_rw_flags |= RWF_NOWAIT;
	cbs[0] = cb;
	fz_note(fz, "io_submit");
	if (fz_io_submit(fz->aio_ctx, 1, cbs) != 1)
		return;
	fz->aio[slot].busy = true;
	fz->aio[slot].fd_index = i;
	f->inflight++;
	fz->st.aio_submitted++;
}

/* Collects finished I/O; with wait_all, everything in flight. */
void fz_io_reap(struct fz *fz, bool wait_all)
{
	struct io_event ev[FZ_AIO_DEPTH];
	struct timespec ts = { 0, 0 };
	long n, i;

	for (;;) {
		unsigned int busy = 0, s;

		for (s = 0; s < FZ_AIO_DEPTH; s++)
			busy += fz->aio[s].busy;
		if (!busy)
			return;
		ts.tv_sec = wait_all ? 1 : 0;
		if (wait_all)
			fz_note(fz, "io_getevents, waiting");
		n = fz_io_getevents(fz->aio_ctx, wait_all ? 1 : 0, FZ_AIO_DEPTH, ev, &ts);
		if (n <= 0)
			return;
		for (i = 0; i < n; i++) {
			unsigned int slot = ev[i].data;

			if (slot >= FZ_AIO_DEPTH || !fz->aio[slot].busy)
				continue;
			fz->aio[slot].busy = false;
			fz->fds[fz->aio[slot].fd_index].inflight--;
			fz->st.aio_done++;
			if (ev[i].res == -EIO)
				fz->st.aio_eio++;
			else if ((long long)ev[i].res < 0)
				fz->st.aio_other++;
		}
		if (!wait_all)
			return;
	}
}

/* Block ioctls that wait for the device, in a child of their own. */
static void fz_io_blocking_child(struct fz *fz)
{
	struct fz_rng *r = &fz->rng;
	struct fz_fd *f = &fz->fds[fz_below(r, fz->nfds)];
	uint64_t range[2];
	unsigned int what = fz_below(r, 4);
	pid_t pid;

	if (fz->nchildren >= FZ_MAX_CHILDREN)
		return;
	range[0] = f->sectors ? (fz_below(r, f->sectors) << 9) & ~4095ULL : 0;
	range[1] = 4096ULL << fz_below(r, 6);
	pid = fork();
	if (pid < 0)
		return;
	if (!pid) {
		switch (what) {
		case 0:
			ioctl(f->fd, BLKDISCARD, range);
			break;
		case 1:
			ioctl(f->fd, BLKZEROOUT, range);
			break;
		case 2:
			fsync(f->fd);
			break;
		default:
			ioctl(f->fd, BLKFLSBUF, 0);
			break;
		}
		_exit(0);
	}
	fz->child_since[fz->nchildren] = time(NULL);
	fz->children[fz->nchildren++] = pid;
}

/*
 * A child whose ioctl waits this long waits for a device that some
 * worker suspended: resume everything, as the watcher does for a worker
 * (fz_watch()), well before the guest's hung-task detector (20 s) reads
 * the wait as a hang.
 */
#define FZ_CHILD_RESCUE_SECS	5

void fz_children_reap(struct fz *fz, bool wait_all)
{
	unsigned int i = 0;
	bool waiting = false;

	while (i < fz->nchildren) {
		if (waitpid(fz->children[i], NULL, wait_all ? 0 : WNOHANG) > 0) {
			fz->nchildren--;
			fz->children[i] = fz->children[fz->nchildren];
			fz->child_since[i] = fz->child_since[fz->nchildren];
			continue;
		}
		if (time(NULL) - fz->child_since[i] > FZ_CHILD_RESCUE_SECS) {
			fz->child_since[i] = time(NULL);
			waiting = true;
		}
		i++;
	}
	if (waiting)
		fz_rescue_all(fz, 30);
}

void fz_io_step(struct fz *fz)
{
	unsigned int p = fz_below(&fz->rng, 100), i;

	if (!fz->nfds || p < 25) {
		fz_io_open(fz);
		return;
	}
	if (p < 80) {
		fz_io_submit_one(fz);
		return;
	}
	if (p < 92) {
		i = fz_below(&fz->rng, fz->nfds);
		if (!fz->fds[i].inflight)
			fz_io_close(fz, i);
		return;
	}
	fz_io_blocking_child(fz);
}

void fz_io_close_all(struct fz *fz)
{
	while (fz->nfds)
		fz_io_close(fz, fz->nfds - 1);
}

/* --- COW metadata ----------------------------------------------------- */

#define FZ_SNAP_MAGIC	0x70416e53U

static void fz_put_le32(unsigned char *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static void fz_put_le64(unsigned char *p, uint64_t v)
{
	fz_put_le32(p, v);
	fz_put_le32(p + 4, v >> 32);
}

/*
 * A header (magic, valid, version, chunk size), mostly right, and an
 * exception area after it whose entries point inside, at, or past the
 * device; written where a snapshot on that ramdisk will read them.
 */
void fz_cow_scribble(struct fz *fz)
{
	struct fz_rng *r = &fz->rng;
	unsigned int half = fz->nram / 2;
	struct fz_ram *cow = &fz->ram[half + fz_below(r, fz->nram - half)];
	uint32_t chunk = 8U << fz_below(r, 5);
	unsigned char *blk;
	size_t area = (size_t)chunk * 512, i;
	uint64_t chunks = cow->sectors / chunk;
	int fd;

	if (fz_chance(r, 10))
		chunk = fz_interesting32(r);
	if (posix_memalign((void **)&blk, 4096, 4096 + area))
		return;
	memset(blk, 0, 4096 + area);
	if (fz_chance(r, 5)) {
		for (i = 0; i < 4096; i++)
			blk[i] = fz_rand(r);
	} else if (!fz_chance(r, 10)) {
		fz_put_le32(blk, fz_chance(r, 95) ? FZ_SNAP_MAGIC : fz_interesting32(r));
		fz_put_le32(blk + 4, fz_chance(r, 80) ? 1 : fz_interesting32(r) & 3);
		fz_put_le32(blk + 8, fz_chance(r, 90) ? 1 : fz_interesting32(r));
		fz_put_le32(blk + 12, chunk);
	}
	/* The first exception area is chunk 1. */
	for (i = 0; i + 16 <= area && fz_chance(r, 97); i += 16) {
		uint64_t old = fz_chance(r, 80) ? fz_below(r, chunks + 4) : fz_interesting(r);
		uint64_t new = fz_chance(r, 80) ? 2 + fz_below(r, chunks + 2) : fz_interesting(r);

		fz_put_le64(blk + 4096 + i, old);
		fz_put_le64(blk + 4096 + i + 8, new);
	}
	fz_note(fz, "COW scribble");
	fd = open(cow->path, O_WRONLY | O_DIRECT | O_CLOEXEC);
	if (fd >= 0) {
		if (pwrite(fd, blk, 4096, 0) == 4096 && fz_chance(r, 70) &&
		    (uint64_t)chunk * 512 < cow->sectors * 512 / 2 &&
		    (uint64_t)chunk * 512 % 4096 == 0 && area <= 1 << 20)
			pwrite(fd, blk + 4096, area, (off_t)chunk * 512);
		close(fd);
		fz->st.cow_writes++;
	}
	free(blk);
}
