// SPDX-License-Identifier: GPL-2.0
/*
 * Thin pool metadata against a model, on the host, checked by the
 * thin-provisioning-tools.
 *
 * Random operations on dm-thin-metadata.c (the kernel file, built over
 * tests/host/pdata_bm_host.c): thin devices and snapshots of snapshots
 * created and deleted, blocks provisioned, overwritten through shared
 * mappings (sharing broken) and discarded, metadata snapshots held and
 * released, the data device grown, transactions committed and aborted,
 * the metadata closed and reopened.  The model knows every mapping and
 * whether a lookup must say it may be shared; every lookup is checked.
 * After commits, thin_check must pass and thin_dump must print exactly
 * the model (and thin_dump -m the held snapshot); at the moment between
 * writing a commit's blocks and its superblock (a crash), the image must
 * still pass thin_check and dump as the previous commit.
 *
 *   thin_md_model IMAGE SEED OPS [META_MB [VBLOCKS]]
 *
 * Prints TAP.  IMAGE is scratch (created, overwritten).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>

#include "shim/host-kernel.h"
#include "dmx-thin-metadata.h"

extern void (*host_bm_before_super)(struct pdata_bm *bm);
extern unsigned int host_bm_chaos;

#define MAX_DEVS	24
#define MAX_VBLOCKS	65536
#define BLOCK_SECTORS	128

struct mapping {
	u32 block;			/* 0: unmapped; else data block + 1 */
	u32 time;
};

struct mdev {
	bool exists;
	u64 mapped;
	u64 trans_id;
	u32 creation_time;
	u32 snap_time;
	struct mapping map[MAX_VBLOCKS];
};

struct state {
	u32 time;
	u64 trans_id;
	u64 nr_data;
	struct mdev dev[MAX_DEVS];
};

static struct state now, committed, held_state;
static bool held, held_committed;
static struct thin_md *md;
static struct thin_md_dev *td[MAX_DEVS];
static struct block_device bdev;
static const char *image;
static unsigned int tests, failures, checks_done;
static char scratch[4096];
static unsigned int vblocks = 1500;	/* virtual blocks per device */

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stdout, "# ");
	vfprintf(stdout, fmt, ap);
	fprintf(stdout, "\n");
	va_end(ap);
	failures++;
}

static void tap(bool ok, const char *name)
{
	tests++;
	printf("%sok %u - %s\n", ok ? "" : "not ", tests, name);
}

/* The model's dump: what thin_dump must print, normalised. */
static void dump_state(const struct state *s, FILE *f)
{
	unsigned int d, v;

	fprintf(f, "time %u transaction %llu data %llu\n", s->time,
		(unsigned long long)s->trans_id, (unsigned long long)s->nr_data);
	for (d = 0; d < MAX_DEVS; d++) {
		const struct mdev *m = &s->dev[d];

		if (!m->exists)
			continue;
		fprintf(f, "dev %u mapped %llu transaction %llu created %u snapped %u\n",
			d, (unsigned long long)m->mapped,
			(unsigned long long)m->trans_id, m->creation_time,
			m->snap_time);
		for (v = 0; v < vblocks; v++)
			if (m->map[v].block)
				fprintf(f, "%u %u %u\n", v, m->map[v].block - 1,
					m->map[v].time);
	}
}

static unsigned long long attr(const char *line, const char *name)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), " %s=\"", name);
	p = strstr(line, key);
	return p ? strtoull(p + strlen(key), NULL, 10) : ~0ULL;
}

/* thin_dump's XML, normalised like dump_state(). */
static bool dump_tools(const char *img, const char *extra, const char *out)
{
	char cmd[1024], line[512];
	FILE *in, *f;
	bool ok = false;

	snprintf(cmd, sizeof(cmd), "thin_dump %s %s 2>&1", extra, img);
	in = popen(cmd, "r");
	f = fopen(out, "w");
	while (fgets(line, sizeof(line), in)) {
		if (strstr(line, "<superblock")) {
			ok = true;
			fprintf(f, "time %llu transaction %llu data %llu\n",
				attr(line, "time"), attr(line, "transaction"),
				attr(line, "nr_data_blocks"));
		} else if (strstr(line, "<device ")) {
			fprintf(f, "dev %llu mapped %llu transaction %llu created %llu snapped %llu\n",
				attr(line, "dev_id"), attr(line, "mapped_blocks"),
				attr(line, "transaction"),
				attr(line, "creation_time"), attr(line, "snap_time"));
		} else if (strstr(line, "<range_mapping")) {
			unsigned long long o = attr(line, "origin_begin");
			unsigned long long b = attr(line, "data_begin");
			unsigned long long n = attr(line, "length"), i;

			for (i = 0; i < n; i++)
				fprintf(f, "%llu %llu %llu\n", o + i, b + i,
					attr(line, "time"));
		} else if (strstr(line, "<single_mapping")) {
			fprintf(f, "%llu %llu %llu\n", attr(line, "origin_block"),
				attr(line, "data_block"), attr(line, "time"));
		} else if (!strstr(line, "</")) {
			fprintf(f, "tool: %s", line);
		}
	}
	fclose(f);
	return pclose(in) == 0 && ok;
}

static bool same_files(const char *a, const char *b)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "cmp -s %s %s", a, b);
	if (!system(cmd))
		return true;
	snprintf(cmd, sizeof(cmd), "diff %s %s | head -n 10 | sed 's/^/# /'", a, b);
	if (system(cmd))
		fail("diff failed");
	return false;
}

static bool tools_agree(const char *img, const struct state *s,
			const char *extra, const char *what)
{
	char want[256], got[256], cmd[1024];
	FILE *f;
	bool ok;

	snprintf(cmd, sizeof(cmd), "thin_check -q %s %s >/dev/null 2>&1",
		 *extra ? "--skip-mappings" : "", img);
	if (!*extra && system(cmd)) {
		snprintf(cmd, sizeof(cmd), "thin_check %s 2>&1 | sed 's/^/# /'", img);
		if (system(cmd))
			fail("thin_check failed to run");
		fail("%s: thin_check fails", what);
		return false;
	}
	snprintf(want, sizeof(want), "%s.want", image);
	snprintf(got, sizeof(got), "%s.got", image);
	f = fopen(want, "w");
	dump_state(s, f);
	fclose(f);
	ok = dump_tools(img, extra, got);
	if (!ok)
		fail("%s: thin_dump %s fails", what, extra);
	else if (!same_files(got, want))
		fail("%s: thin_dump differs from the model", what);
	if (failures)
		exit(1);
	return ok;
}

static void copy_image(const char *to)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "cp %s %s", image, to);
	if (system(cmd))
		fail("cp failed");
}

/* A crash now, blocks written but not the superblock: the last commit. */
static void crash_check(struct pdata_bm *bm)
{
	char copy[256];

	if (rand() % 4)
		return;
	snprintf(copy, sizeof(copy), "%s.crash", image);
	copy_image(copy);
	checks_done++;
	if (!tools_agree(copy, &committed, "", "crash before superblock"))
		exit(1);
}

/* Operations, each checked against the model. */

static void op_commit(void);

static int pick_dev(bool exists)
{
	int tries;

	for (tries = 0; tries < 100; tries++) {
		int d = rand() % MAX_DEVS;

		if (now.dev[d].exists == exists)
			return d;
	}
	return -1;
}

static bool in_use(const struct state *s, u32 block)
{
	unsigned int d, v;

	for (d = 0; d < MAX_DEVS; d++)
		if (s->dev[d].exists)
			for (v = 0; v < vblocks; v++)
				if (s->dev[d].map[v].block == block + 1)
					return true;
	return false;
}

static u64 used_blocks(void)
{
	static unsigned char used[1 << 20];
	unsigned int d, v;
	u64 n = 0;

	memset(used, 0, sizeof(used));
	for (d = 0; d < MAX_DEVS; d++) {
		for (v = 0; v < vblocks; v++) {
			u32 b = now.dev[d].exists ? now.dev[d].map[v].block : 0;
			u32 h = held ? held_state.dev[d].exists ?
				held_state.dev[d].map[v].block : 0 : 0;

			if (b && !used[b]++)
				n++;
			if (h && !used[h]++)
				n++;
		}
	}
	return n;
}

static void open_td(int d)
{
	int r = thin_md_open_dev(md, d, &td[d]);

	if (r)
		fail("open_dev %d: %d", d, r);
}

static void op_create(bool snap)
{
	int d = pick_dev(false), o = pick_dev(true), r;

	if (d < 0 || (snap && o < 0))
		return;
	r = snap ? thin_md_create_snap(md, d, o) : thin_md_create_thin(md, d);
	if (r) {
		fail("create %d (snap of %d: %d): %d", d, o, snap, r);
		return;
	}
	if (snap) {
		now.time++;
		now.dev[d] = now.dev[o];
		now.dev[o].snap_time = now.time;
	} else {
		memset(&now.dev[d], 0, sizeof(now.dev[d]));
	}
	now.dev[d].exists = true;
	now.dev[d].trans_id = now.trans_id;
	now.dev[d].creation_time = now.time;
	now.dev[d].snap_time = now.time;
	if (thin_md_create_thin(md, d) != -EEXIST)
		fail("create of existing %d is not EEXIST", d);
	open_td(d);
}

static void op_delete(void)
{
	int d = pick_dev(true), r;

	if (d < 0)
		return;
	if (thin_md_delete(md, d) != -EBUSY)
		fail("delete of open %d is not EBUSY", d);
	thin_md_close_dev(td[d]);
	td[d] = NULL;
	r = thin_md_delete(md, d);
	if (r)
		fail("delete %d: %d", d, r);
	now.dev[d].exists = false;
	if (thin_md_delete(md, d) != -ENODATA)
		fail("delete of deleted %d is not ENODATA", d);
}

static bool model_shared(const struct mdev *m, u32 v)
{
	return m->snap_time > m->map[v].time;
}

static void op_lookup(int d, u32 v)
{
	struct mapping *m = &now.dev[d].map[v];
	struct thin_lookup l;
	int r = thin_md_find(td[d], v, rand() & 1, &l);

	if (r == -EWOULDBLOCK)
		r = thin_md_find(td[d], v, true, &l);
	if (!m->block) {
		if (r != -ENODATA)
			fail("dev %d block %u: unmapped, lookup %d", d, v, r);
	} else if (r) {
		fail("dev %d block %u: mapped to %u, lookup %d", d, v, m->block - 1, r);
	} else if (l.block != m->block - 1 || l.shared != model_shared(&now.dev[d], v)) {
		fail("dev %d block %u: want %u shared %d, got %llu shared %d", d, v,
		     m->block - 1, model_shared(&now.dev[d], v),
		     (unsigned long long)l.block, l.shared);
	}
}

static void op_write(void)
{
	int d = pick_dev(true), r;
	pdata_block_t b;
	u32 v;

	if (d < 0)
		return;
	v = rand() % vblocks;
	op_lookup(d, v);
	if (now.dev[d].map[v].block && !model_shared(&now.dev[d], v))
		return;
	r = thin_md_alloc_data(md, &b);
	if (r == -ENOSPC) {
		/* Blocks freed in this transaction come back at commit. */
		op_commit();
		r = thin_md_alloc_data(md, &b);
	}
	if (r == -ENOSPC) {
		if (used_blocks() < now.nr_data)
			fail("ENOSPC with %llu of %llu used",
			     (unsigned long long)used_blocks(),
			     (unsigned long long)now.nr_data);
		return;
	}
	if (!r)
		r = thin_md_insert(td[d], v, b);
	if (r) {
		fail("provision dev %d block %u: %d", d, v, r);
		return;
	}
	/* Exhaustive when small, sampled when big. */
	if ((vblocks <= 2000 || !(rand() % 64)) &&
	    (in_use(&now, b) || (held && in_use(&held_state, b))))
		fail("allocated data block %llu is in use", (unsigned long long)b);
	if (!now.dev[d].map[v].block)
		now.dev[d].mapped++;
	now.dev[d].map[v].block = b + 1;
	now.dev[d].map[v].time = now.time;
}

static void op_discard(void)
{
	int d = pick_dev(true), r;
	pdata_block_t b;
	bool freed;
	u32 v;

	if (d < 0)
		return;
	v = rand() % vblocks;
	r = thin_md_remove(td[d], v, &freed, &b);
	if (!now.dev[d].map[v].block) {
		if (r != -ENODATA)
			fail("discard of unmapped dev %d block %u: %d", d, v, r);
		return;
	}
	if (r) {
		fail("discard dev %d block %u: %d", d, v, r);
		return;
	}
	now.dev[d].map[v].block = 0;
	now.dev[d].mapped--;
	if ((vblocks <= 2000 || !(rand() % 64)) &&
	    freed != !(in_use(&now, b) || (held && in_use(&held_state, b))))
		fail("discard dev %d block %u: freed %d wrong", d, v, freed);
}

static void check_space(void)
{
	pdata_block_t nr, free;

	thin_md_data_space(md, &nr, &free);
	if (nr != now.nr_data || nr - free != used_blocks())
		fail("data space %llu/%llu, want %llu/%llu",
		     (unsigned long long)(nr - free), (unsigned long long)nr,
		     (unsigned long long)used_blocks(),
		     (unsigned long long)now.nr_data);
}

static void check_all_lookups(void)
{
	unsigned int d, v;
	u64 mapped, highest, want_highest;
	bool any;

	for (d = 0; d < MAX_DEVS; d++) {
		if (!now.dev[d].exists)
			continue;
		want_highest = ~0ULL;
		for (v = 0; v < vblocks; v++) {
			op_lookup(d, v);
			if (now.dev[d].map[v].block)
				want_highest = v;
		}
		if (thin_md_mapped(td[d], &mapped, &highest, &any) ||
		    mapped != now.dev[d].mapped ||
		    any != (want_highest != ~0ULL) || (any && highest != want_highest))
			fail("dev %u: mapped %llu highest %llu, want %llu %llu", d,
			     (unsigned long long)mapped, (unsigned long long)highest,
			     (unsigned long long)now.dev[d].mapped,
			     (unsigned long long)want_highest);
	}
	check_space();
}

static void op_commit(void)
{
	int r = thin_md_commit(md);

	if (r) {
		fail("commit: %d", r);
		return;
	}
	committed = now;
	held_committed = held;
	if (rand() % 3)
		return;
	checks_done++;
	tools_agree(image, &now, "", "after commit");
	if (held) {
		/* The copy's space map roots are zeroed: no data blocks. */
		struct state *s = malloc(sizeof(*s));

		*s = held_state;
		s->nr_data = 0;
		snprintf(scratch, sizeof(scratch), "--metadata-snap=%llu",
			 (unsigned long long)thin_md_held_root(md));
		tools_agree(image, s, scratch, "metadata snapshot");
		free(s);
	}
}

static void op_metadata_snap(void)
{
	int r;

	if (!held) {
		r = thin_md_reserve_snap(md);
		if (r) {
			fail("reserve_metadata_snap: %d", r);
			return;
		}
		/* It commits first: what is committed holds no snapshot. */
		committed = now;
		held_committed = false;
		held_state = now;
		held = true;
		if (thin_md_reserve_snap(md) != -EBUSY)
			fail("second reserve_metadata_snap is not EBUSY");
	} else {
		r = thin_md_release_snap(md);
		if (r)
			fail("release_metadata_snap: %d", r);
		held = false;
		if (thin_md_release_snap(md) != -EINVAL)
			fail("second release_metadata_snap is not EINVAL");
	}
}

static void close_all(void)
{
	int d;

	for (d = 0; d < MAX_DEVS; d++) {
		if (td[d])
			thin_md_close_dev(td[d]);
		td[d] = NULL;
	}
}

static void open_all(void)
{
	int d;

	for (d = 0; d < MAX_DEVS; d++)
		if (now.dev[d].exists)
			open_td(d);
}

static void op_abort(void)
{
	int r = thin_md_abort(md);

	if (r) {
		fail("abort: %d", r);
		return;
	}
	close_all();
	now = committed;
	held = held_committed;
	open_all();
	check_all_lookups();
}

static void op_reopen(void)
{
	int r;

	close_all();
	thin_md_close(md);
	committed = now;
	held_committed = held;
	r = thin_md_open(&bdev, BLOCK_SECTORS, false, &md);
	if (r) {
		fail("reopen: %d", r);
		exit(1);
	}
	open_all();
	check_all_lookups();
}

static void op_misc(void)
{
	switch (rand() % 3) {
	case 0:
		if (thin_md_set_transaction_id(md, now.trans_id + 1, 7) != -EINVAL)
			fail("set_transaction_id with a wrong current id succeeded");
		if (thin_md_set_transaction_id(md, now.trans_id, now.trans_id + 1))
			fail("set_transaction_id failed");
		else
			now.trans_id++;
		break;
	case 1:
		now.nr_data += rand() % 300;
		if (thin_md_resize_data(md, now.nr_data))
			fail("resize data to %llu failed",
			     (unsigned long long)now.nr_data);
		break;
	default:
		op_metadata_snap();
		break;
	}
}

static void run(unsigned int ops)
{
	unsigned int i, x;

	for (i = 0; i < ops && failures < 5; i++) {
		x = rand() % 1000;
		if (x < 15)
			op_create(false);
		else if (x < 40)
			op_create(true);
		else if (x < 52)
			op_delete();
		else if (x < 700)
			op_write();
		else if (x < 800)
			op_discard();
		else if (x < 830)
			op_commit();
		else if (x < 840)
			op_misc();
		else if (x < 845)
			op_abort();
		else if (x < 848)
			op_reopen();
		else {
			int d = pick_dev(true);

			if (d >= 0)
				op_lookup(d, rand() % vblocks);
		}
		if (i % 500 == 0)
			check_all_lookups();
		if (held != !!thin_md_held_root(md))
			fail("op %u (%u): held %d, held root %llu", i, x, held,
			     (unsigned long long)thin_md_held_root(md));
	}
}

int main(int argc, char **argv)
{
	unsigned int seed, ops, meta_mb;
	int r;

	if (argc < 4) {
		fprintf(stderr, "usage: %s IMAGE SEED OPS [META_MB]\n", argv[0]);
		return 2;
	}
	image = argv[1];
	seed = atoi(argv[2]);
	ops = atoi(argv[3]);
	meta_mb = argc > 4 ? atoi(argv[4]) : 8;
	if (argc > 5)
		vblocks = min(atoi(argv[5]), MAX_VBLOCKS);
	srand(seed);
	host_bm_chaos = 7;

	bdev.fd = open(image, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (bdev.fd < 0 || ftruncate(bdev.fd, (off_t)meta_mb << 20)) {
		perror(image);
		return 1;
	}
	bdev.sectors = (u64)meta_mb << 11;
	printf("1..4\n");

	r = thin_md_open(&bdev, BLOCK_SECTORS, false, &md);
	tap(r == -EPERM, "opening_unformatted_read_only_is_eperm");
	r = thin_md_open(&bdev, BLOCK_SECTORS, true, &md);
	tap(!r, "format_succeeds");
	if (r)
		return 1;
	now.nr_data = vblocks * 4 / 3;
	thin_md_resize_data(md, now.nr_data);
	thin_md_commit(md);
	committed = now;
	tap(tools_agree(image, &now, "", "fresh pool"), "fresh_pool_passes_thin_check");

	host_bm_before_super = crash_check;
	run(ops);
	op_commit();
	check_all_lookups();
	close_all();
	thin_md_close(md);
	printf("# %u tool checks\n", checks_done);
	tap(!failures, "random_operations_match_model_and_tools");
	return failures ? 1 : 0;
}
