// SPDX-License-Identifier: GPL-2.0
/*
 * dmx-fuzz: the program.
 *
 *   dmx-fuzz [-s SEED] [-n CALLS] [-j WORKERS] [-K] [-t] [-d DEV]...
 *
 *   -s SEED     seed of the run (default: from the clock, printed)
 *   -n CALLS    ioctl calls in all, shared among the workers (10000)
 *   -j WORKERS  processes fuzzing at once (1); with one, a seed and a
 *               call count repeat the run exactly
 *   -K          stay clear of the core's known bugs: no shared devices,
 *               no table loops, no huge lengths
 *   -t          print every call before it is made (to reproduce)
 *   -d DEV      a base block device (repeat); the first half hold data,
 *               the second half COW stores.  Default /dev/ram0..3.
 *
 * Output: "# fuzz: ..." lines with the figures, "# FUZZ-VIOLATION ..." for
 * every broken rule.  Exit status 0 if no rule broke and every device
 * could be removed afterwards; 1 otherwise; 2 if it could not start.
 * Kernel reports (KASAN, lockdep, hung tasks) are for whoever reads the
 * kernel log: the VM runner does.
 */
#include "fuzz.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


const char *fz_cmd_name(unsigned int nr);

/* What workers tell each other and the parent, in shared memory. */
struct fz_shared {
	int finished;			/* workers done fuzzing */
	struct fz_stats st[FZ_MAX_WORKERS];
	struct fz_beat beat[FZ_MAX_WORKERS];
};

/* A worker whose heartbeat stops this long is rescued, then hung. */
#define FZ_RESCUE_SECS	5
#define FZ_STUCK_SECS	90
static bool fz_hung;
static unsigned int fz_rescues;

struct fz_opts {
	uint64_t seed;
	uint64_t calls;
	int workers;
	bool avoid_known;
	bool trace;
	const char *devs[FZ_MAX_RAM];
	unsigned int ndevs;
};

static unsigned int fz_dm_major(void)
{
	char line[128];
	unsigned int major = 0, m;
	char name[64];
	FILE *f = fopen("/proc/devices", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%u %63s", &m, name) == 2 &&
		    !strcmp(name, "device-mapper"))
			major = m;
	fclose(f);
	return major;
}

static int fz_base_devices(struct fz *fz, const struct fz_opts *o)
{
	unsigned int i;

	for (i = 0; i < o->ndevs; i++) {
		struct fz_ram *d = &fz->ram[i];
		uint64_t bytes = 0;
		struct stat st;
		int fd;

		if (stat(o->devs[i], &st) || !S_ISBLK(st.st_mode)) {
			fprintf(stderr, "fuzz: %s is not a block device\n", o->devs[i]);
			return -1;
		}
		fd = open(o->devs[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0 || ioctl(fd, BLKGETSIZE64, &bytes)) {
			fprintf(stderr, "fuzz: cannot size %s\n", o->devs[i]);
			return -1;
		}
		close(fd);
		snprintf(d->path, sizeof(d->path), "%s", o->devs[i]);
		snprintf(d->devno, sizeof(d->devno), "%u:%u", major(st.st_rdev),
			 minor(st.st_rdev));
		d->dev = (minor(st.st_rdev) & 0xff) | ((uint64_t)major(st.st_rdev) << 8) |
			 ((uint64_t)(minor(st.st_rdev) & ~0xffU) << 12);
		d->sectors = bytes >> 9;
	}
	fz->nram = o->ndevs;
	return 0;
}

static void fz_init(struct fz *fz, const struct fz_opts *o, int id)
{
	memset(fz, 0, sizeof(*fz));
	fz_rng_seed(&fz->rng, o->seed, id);
	fz->id = id;
	fz->workers = o->workers;
	fz->trace = o->trace;
	fz->avoid_known = o->avoid_known;
	fz->shared = !o->avoid_known && o->workers > 1;
	fz->dm_major = fz_dm_major();
	fz->ctl = open(FZ_CONTROL, O_RDWR | O_CLOEXEC);
	if (fz->ctl < 0) {
		perror(FZ_CONTROL);
		exit(2);
	}
	fz_req_setup(fz);
	if (fz_base_devices(fz, o))
		exit(2);
}

/*
 * Once every worker has finished fuzzing, nobody suspends any more:
 * resuming everything then lets every worker's held I/O complete, and
 * a worker must not exit before that, since exit waits for its AIO.
 */
static void fz_drain(struct fz *fz, struct fz_shared *sh)
{
	time_t deadline;

	__atomic_add_fetch(&sh->finished, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&sh->finished, __ATOMIC_SEQ_CST) < fz->workers) {
		fz_io_reap(fz, false);
		fz_children_reap(fz, false);
		usleep(20000);
	}
	deadline = time(NULL) + 120;
	for (;;) {
		unsigned int busy = 0, s;

		fz_rescue_all(fz, 30);
		fz_io_reap(fz, true);
		for (s = 0; s < FZ_AIO_DEPTH; s++)
			busy += fz->aio[s].busy;
		if (!busy)
			break;
		if (time(NULL) > deadline) {
			fz_violation(fz, "%u I/Os still in flight 120 s after every device was resumed",
				     busy);
			break;
		}
	}
	fz_rescue_all(fz, 30);
	fz_children_reap(fz, true);
	fz_io_close_all(fz);
}

static int fz_worker(const struct fz_opts *o, int id, struct fz_shared *sh)
{
	uint64_t quota = o->calls / o->workers + (id < (int)(o->calls % o->workers));
	uint64_t report = quota / 10 ? quota / 10 : 1, next = report;
	static struct fz fz;

	fz_init(&fz, o, id);
	fz.beat = &sh->beat[id];
	fz.beat->pid = getpid();
	if (fz_io_setup(&fz))
		fprintf(stderr, "fuzz: worker %d: no AIO, I/O steps do nothing\n", id);
	fz_setup_types(&fz);
	if (!id) {
		unsigned int i;

		printf("# fuzz: %u target types:", fz.ntypes);
		for (i = 0; i < fz.ntypes; i++)
			printf(" %s", fz.types[i]);
		printf("\n");
		fflush(stdout);
	}
	while (fz.st.calls < quota) {
		fz.iteration++;
		fz_step(&fz);
		if (fz.st.calls >= next) {
			printf("# fuzz: worker %d: %llu/%llu calls\n", id,
			       (unsigned long long)fz.st.calls, (unsigned long long)quota);
			fflush(stdout);
			next += report;
		}
	}
	fz_drain(&fz, sh);
	sh->st[id] = fz.st;
	return fz.st.violations ? 1 : 0;
}

static void fz_report(const struct fz_opts *o, struct fz_shared *sh, double secs)
{
	struct fz_stats t;
	unsigned int i, w, e;

	memset(&t, 0, sizeof(t));
	for (w = 0; w < (unsigned int)o->workers; w++) {
		struct fz_stats *s = &sh->st[w];

		t.calls += s->calls;
		t.ok += s->ok;
		t.interrupted += s->interrupted;
		t.aio_submitted += s->aio_submitted;
		t.aio_done += s->aio_done;
		t.aio_eio += s->aio_eio;
		t.aio_other += s->aio_other;
		t.cow_writes += s->cow_writes;
		t.violations += s->violations;
		for (i = 0; i < 32; i++) {
			t.by_cmd[i][0] += s->by_cmd[i][0];
			t.by_cmd[i][1] += s->by_cmd[i][1];
			t.ns_by_cmd[i] += s->ns_by_cmd[i];
		}
		for (e = 0; e < FZ_ARRAY_SIZE(t.by_errno); e++)
			t.by_errno[e] += s->by_errno[e];
	}
	printf("# fuzz: seed %llu, %d worker(s), %llu calls (%llu succeeded) in %.0f s, %.0f calls/s\n",
	       (unsigned long long)o->seed, o->workers, (unsigned long long)t.calls,
	       (unsigned long long)t.ok, secs, secs > 0 ? t.calls / secs : 0.0);
	for (i = 0; i < 32; i++)
		if (t.by_cmd[i][0])
			printf("# fuzz:   %-18s %9llu calls %9llu ok %8.1f s\n",
			       fz_cmd_name(i), (unsigned long long)t.by_cmd[i][0],
			       (unsigned long long)t.by_cmd[i][1], t.ns_by_cmd[i] / 1e9);
	printf("# fuzz: errors:");
	for (e = 0; e < FZ_ARRAY_SIZE(t.by_errno); e++)
		if (t.by_errno[e])
			printf(" %s=%llu", strerrorname_np(e) ? strerrorname_np(e) : "?",
			       (unsigned long long)t.by_errno[e]);
	printf("\n# fuzz: interrupted after their timeout: %llu\n",
	       (unsigned long long)t.interrupted);
	printf("# fuzz: aio %llu submitted, %llu done, %llu EIO, %llu other errors; %llu COW scribbles\n",
	       (unsigned long long)t.aio_submitted, (unsigned long long)t.aio_done,
	       (unsigned long long)t.aio_eio, (unsigned long long)t.aio_other,
	       (unsigned long long)t.cow_writes);
	printf("# fuzz: %llu violation(s)\n", (unsigned long long)t.violations);
	fflush(stdout);
}

/* Prints the kernel stack of pid and of its children, if they block. */
static void fz_show_stacks(int pid)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stack", pid);
	f = fopen(path, "r");
	if (!f)
		return;
	printf("# fuzz:   kernel stack of %d:\n", pid);
	while (fgets(line, sizeof(line), f))
		printf("# fuzz:     %s", line);
	fclose(f);
}

/*
 * Waits for the workers.  A worker whose heartbeat stands still for
 * FZ_RESCUE_SECS may be waiting for I/O to a device that some worker
 * (maybe itself) suspended: everything is resumed, as an administrator
 * would.  One that still stands still FZ_STUCK_SECS later is hung: it
 * is reported with its last call and kernel stack, and the run fails.
 * Returns the number of workers that failed.
 */
static int fz_watch(const struct fz_opts *o, struct fz_shared *sh,
		    const pid_t *pids, struct fz *rescuer)
{
	uint64_t seen[FZ_MAX_WORKERS] = { 0 };
	time_t since[FZ_MAX_WORKERS];
	bool done[FZ_MAX_WORKERS] = { false }, rescued[FZ_MAX_WORKERS] = { false };
	int w, status, failed = 0, alive = o->workers;

	for (w = 0; w < o->workers; w++)
		since[w] = time(NULL);
	while (alive) {
		for (w = 0; w < o->workers; w++) {
			uint64_t c = __atomic_load_n(&sh->beat[w].calls, __ATOMIC_RELAXED);
			time_t still;

			if (done[w])
				continue;
			if (waitpid(pids[w], &status, WNOHANG) == pids[w]) {
				done[w] = true;
				alive--;
				if (!WIFEXITED(status) || WEXITSTATUS(status))
					failed++;
				continue;
			}
			if (c != seen[w]) {
				seen[w] = c;
				since[w] = time(NULL);
				rescued[w] = false;
				continue;
			}
			still = time(NULL) - since[w];
			if (!rescued[w] && still > FZ_RESCUE_SECS) {
				printf("# fuzz: worker %d waits: resuming every device (%s)\n",
				       w, sh->beat[w].last);
				fflush(stdout);
				fz_rescue_all(rescuer, 30);
				rescued[w] = true;
				since[w] = time(NULL);
				fz_rescues++;
			} else if (rescued[w] && still > FZ_STUCK_SECS) {
				printf("# FUZZ-VIOLATION worker %d stuck for %d s, every device resumed, in: %s\n",
				       w, FZ_STUCK_SECS, sh->beat[w].last);
				fz_show_stacks(pids[w]);
				fflush(stdout);
				fz_hung = true;
			}
		}
		if (fz_hung) {
			/* A hang: no point in waiting for the rest. */
			for (w = 0; w < o->workers; w++)
				if (!done[w])
					kill(pids[w], SIGKILL);
			return failed + 1;
		}
		sleep(1);
	}
	return failed;
}

static void fz_usage(void)
{
	fprintf(stderr, "usage: dmx-fuzz [-s SEED] [-n CALLS] [-j WORKERS] [-K] [-t] [-d DEV]...\n");
	exit(2);
}

static void fz_parse(struct fz_opts *o, int argc, char **argv)
{
	static const char *const defaults[] = { "/dev/ram0", "/dev/ram1",
						"/dev/ram2", "/dev/ram3" };
	struct timespec ts;
	unsigned int i;
	int c;

	clock_gettime(CLOCK_REALTIME, &ts);
	memset(o, 0, sizeof(*o));
	o->seed = (uint64_t)ts.tv_sec * 1000003 + ts.tv_nsec;
	o->calls = 10000;
	o->workers = 1;
	while ((c = getopt(argc, argv, "s:n:j:Ktd:")) != -1) {
		switch (c) {
		case 's':
			o->seed = strtoull(optarg, NULL, 0);
			break;
		case 'n':
			o->calls = strtoull(optarg, NULL, 0);
			break;
		case 'j':
			o->workers = atoi(optarg);
			break;
		case 'K':
			o->avoid_known = true;
			break;
		case 't':
			o->trace = true;
			break;
		case 'd':
			if (o->ndevs < FZ_MAX_RAM)
				o->devs[o->ndevs++] = optarg;
			break;
		default:
			fz_usage();
		}
	}
	if (o->workers < 1 || o->workers > FZ_MAX_WORKERS || optind != argc)
		fz_usage();
	if (!o->ndevs)
		for (i = 0; i < FZ_ARRAY_SIZE(defaults); i++)
			o->devs[o->ndevs++] = defaults[i];
	if (o->ndevs < 2) {
		fprintf(stderr, "fuzz: need at least two base devices\n");
		exit(2);
	}
}

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct fz_shared *sh;
	struct fz_opts o;
	static struct fz fz;
	pid_t pids[FZ_MAX_WORKERS];
	static struct fz rescuer;
	int w, failed = 0, left;

	fz_parse(&o, argc, argv);
	printf("# fuzz: seed %llu calls %llu workers %d%s (%zu-bit)\n",
	       (unsigned long long)o.seed, (unsigned long long)o.calls, o.workers,
	       o.avoid_known ? " avoiding known bugs" : "", sizeof(long) * 8);
	fflush(stdout);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 2;
	memset(sh, 0, sizeof(*sh));

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (w = 0; w < o.workers; w++) {
		pids[w] = fork();
		if (pids[w] < 0)
			return 2;
		if (!pids[w])
			_exit(fz_worker(&o, w, sh));
	}
	fz_init(&rescuer, &o, FZ_MAX_WORKERS);
	failed = fz_watch(&o, sh, pids, &rescuer);
	clock_gettime(CLOCK_MONOTONIC, &t1);

	fz_report(&o, sh, (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);

	printf("# fuzz: %u time(s) a waiting worker needed every device resumed\n",
	       fz_rescues);
	if (fz_hung) {
		printf("# fuzz: a worker hung: no teardown\n");
		return 1;
	}
	/* Afterwards, every device can be removed. */
	fz_init(&fz, &o, 0);
	left = fz_teardown(&fz);
	printf("# fuzz: teardown: %d device(s) could not be removed\n", left);
	if (failed)
		printf("# fuzz: %d worker(s) failed\n", failed);
	return failed || left ? 1 : 0;
}
