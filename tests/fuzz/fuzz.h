/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dmx-fuzz: a seeded, structure-aware fuzzer of the dm ioctl v4
 * interface.  Shared by its parts:
 *
 *   fuzz-main.c    options, worker processes, the final report
 *   fuzz-rng.c     the seeded generator and "interesting" values
 *   fuzz-req.c     request buffers, header mutation, the checked call
 *   fuzz-tables.c  per-target argument grammars and table payloads
 *   fuzz-ops.c     one generator per command, the device pool
 *   fuzz-io.c      asynchronous I/O and COW metadata on pool devices
 *
 * Every worker owns a generator seeded from (seed, worker index), so a
 * run with one worker repeats exactly from its seed; several workers
 * repeat their call sequences but not their interleaving.
 */
#ifndef DMX_FUZZ_H
#define DMX_FUZZ_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "dmx-ioctl.h"

#define FZ_CONTROL		"/dev/" DM_DIR "/" DM_CONTROL_NODE
#define FZ_HDR_MIN		offsetof(struct dm_ioctl, data)
#define FZ_HDR			sizeof(struct dm_ioctl)

/* The buffer a request lives in: followed by an unmapped guard page. */
#define FZ_BUF_SIZE		(256 * 1024)
/* What a normal request claims as its data_size. */
#define FZ_REQ_SIZE		(16 * 1024)
#define FZ_AUX_SIZE		(FZ_REQ_SIZE + 8192)

#define FZ_SLOTS		6	/* devices per worker */
#define FZ_SHARED_SLOTS		4	/* devices every worker touches */
#define FZ_MAX_RAM		8
#define FZ_MAX_TYPES		64
#define FZ_MAX_WORKERS		16
#define FZ_AIO_DEPTH		16
#define FZ_MAX_FDS		8
#define FZ_MAX_CHILDREN		4

#define FZ_ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* --- fuzz-rng.c ------------------------------------------------------ */

struct fz_rng {
	uint64_t s;
};

void fz_rng_seed(struct fz_rng *r, uint64_t seed, unsigned int stream);
uint64_t fz_rand(struct fz_rng *r);
uint64_t fz_below(struct fz_rng *r, uint64_t n);	/* 0 .. n-1 */
bool fz_chance(struct fz_rng *r, unsigned int percent);
uint64_t fz_interesting(struct fz_rng *r);		/* boundaries */
uint32_t fz_interesting32(struct fz_rng *r);
/* A random printable (or not) word of at most max bytes, NUL-terminated. */
void fz_word(struct fz_rng *r, char *out, size_t max, bool printable);
/* A number as text: valid, negative, hex, junk-suffixed, huge. */
void fz_number_text(struct fz_rng *r, char *out, size_t max, uint64_t valid);

/* --- the worker ---------------------------------------------------------- */

struct fz_ram {
	char devno[16];			/* "major:minor" */
	char path[16];			/* /dev/ramN */
	uint64_t dev;			/* huge-encoded */
	uint64_t sectors;
};

struct fz_aio_slot {
	bool busy;
	int fd_index;
	void *buf;
};

struct fz_fd {
	int fd;
	int inflight;
	uint64_t sectors;
};

struct fz_stats {
	uint64_t calls;
	uint64_t ok;
	uint64_t by_cmd[32][2];		/* [nr][0] calls, [1] successes */
	uint64_t ns_by_cmd[32];		/* time spent in each command */
	uint64_t by_errno[140];
	uint64_t interrupted;		/* timed out and interrupted */
	uint64_t aio_submitted;
	uint64_t aio_done;
	uint64_t aio_eio;
	uint64_t aio_other;
	uint64_t cow_writes;
	uint64_t violations;
};

/* What a worker shows the parent's watchdog, in shared memory. */
struct fz_beat {
	uint64_t calls;			/* goes up while the worker lives */
	int pid;
	char last[256];			/* the call being made */
};

struct fz {
	struct fz_rng rng;
	struct fz_beat *beat;		/* NULL in the parent's teardown */
	int id;				/* worker index */
	int workers;
	int ctl;
	bool trace;			/* print every call before it is made */
	bool avoid_known;		/* stay clear of the known core bugs */
	bool shared;			/* touch other workers' devices */
	uint64_t iteration;
	/* Whether own devices exist, as the last answers said: a hint. */
	bool exists[FZ_SLOTS];

	/* Registered target types, from LIST_VERSIONS at start. */
	char types[FZ_MAX_TYPES][DM_MAX_TYPE_NAME];
	unsigned int ntypes;

	struct fz_ram ram[FZ_MAX_RAM];
	unsigned int nram;
	unsigned int dm_major;

	/* Request memory: FZ_BUF_SIZE bytes, then a guard page. */
	unsigned char *buf;
	/* The fuzzer's own lookups, made while a request is being built. */
	unsigned char *aux;
	/* Scratch for table lines and strings. */
	char scratch[FZ_REQ_SIZE];

	/* Asynchronous I/O on pool devices. */
	unsigned long aio_ctx;
	struct fz_aio_slot aio[FZ_AIO_DEPTH];
	struct fz_fd fds[FZ_MAX_FDS];
	unsigned int nfds;
	pid_t children[FZ_MAX_CHILDREN];
	time_t child_since[FZ_MAX_CHILDREN];	/* when each was forked */
	unsigned int nchildren;

	struct fz_stats st;
};

/* --- fuzz-req.c ------------------------------------------------------ */

/* A request under construction inside fz->buf. */
struct fz_req {
	struct dm_ioctl *io;
	size_t room;		/* bytes from io to the guard page */
	size_t used;		/* bytes meant to be sent (data_size before mutation) */
	unsigned int nr;	/* command number */
	unsigned long cmd;	/* ioctl request code */
	void *arg;		/* what is passed: usually io */
	bool no_check;		/* replies that are not checked (raw garbage) */
	bool fixed;		/* never moved to the guard page */
	int timeout_ms;		/* interrupt the call after this long */
};

int fz_req_init(struct fz *fz, struct fz_req *rq, unsigned int nr,
		const char *name);
void *fz_req_payload(struct fz_req *rq);
void fz_req_set_name(struct fz *fz, struct fz_req *rq, const char *name);
/* Randomly damages the header (version, sizes, flags, names) sometimes. */
void fz_req_mutate_header(struct fz *fz, struct fz_req *rq);
/* Makes the call: canary checks, reply checks, stats; 0 or -errno. */
int fz_call(struct fz *fz, struct fz_req *rq);
/* A well-formed call for the fuzzer's own bookkeeping (also counted). */
int fz_simple(struct fz *fz, unsigned int nr, const char *name,
	      uint32_t flags, struct dm_ioctl *out);
void fz_violation(struct fz *fz, const char *fmt, ...);
void fz_req_setup(struct fz *fz);
void fz_note(struct fz *fz, const char *what);

/* --- fuzz-tables.c --------------------------------------------------- */

/* How far from valid a generated table line is. */
enum fz_validity {
	FZ_VALID,	/* should load */
	FZ_NEAR,	/* one thing wrong */
	FZ_RANDOM,	/* noise with the right shape */
};

void fz_device_ref(struct fz *fz, char *out, size_t max, uint64_t *sectors,
		   bool for_cow);
void fz_target_params(struct fz *fz, const char *type, uint64_t len,
		      enum fz_validity v, char *out, size_t max);
/* Builds a TABLE_LOAD payload in rq; returns the bytes it used. */
size_t fz_table_payload(struct fz *fz, struct fz_req *rq);
/* A message for TARGET_MSG. */
void fz_message(struct fz *fz, char *out, size_t max);
const char *fz_pick_type(struct fz *fz);

/* --- fuzz-ops.c ------------------------------------------------------ */

void fz_pool_name(struct fz *fz, char *out, size_t max);
void fz_own_name(struct fz *fz, int slot, char *out, size_t max);
void fz_step(struct fz *fz);
void fz_setup_types(struct fz *fz);
/* Resumes, clears and removes every pool device; 0 if all went. */
int fz_teardown(struct fz *fz);
uint64_t fz_dev_of(struct fz *fz, const char *name);
int fz_rescue_all(struct fz *fz, int secs);

/* --- fuzz-io.c ------------------------------------------------------- */

int fz_io_setup(struct fz *fz);
void fz_io_step(struct fz *fz);
void fz_io_reap(struct fz *fz, bool wait_all);
void fz_io_close_all(struct fz *fz);
void fz_cow_scribble(struct fz *fz);
void fz_children_reap(struct fz *fz, bool wait_all);
int fz_open_dev(uint64_t dev, int flags, int worker);

#endif /* DMX_FUZZ_H */
