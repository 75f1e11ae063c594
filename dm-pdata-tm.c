// SPDX-License-Identifier: GPL-2.0
/*
 * Transactions of the persistent-data engine: the only way to get a
 * block to change is a new block or a shadow of an existing one, so the
 * committed state is never overwritten.
 *
 * Shadowing block b: if b is new in this transaction and referenced
 * once, it is changed in place.  Otherwise it is copied to a new block
 * and b loses a reference.  If b was shared (count > 1) the copy is a
 * second referrer of everything b points to, and the caller must
 * increment those (inc_children): that is how a shared btree node
 * unshares one level at a time, and why a snapshot costs one increment.
 */
#include <linux/slab.h>

#include "dmx-pdata.h"

struct pdata_tm {
	struct pdata_bm *bm;
	struct pdata_msm *sm;
};

struct pdata_tm *pdata_tm_create(struct pdata_bm *bm)
{
	struct pdata_tm *tm = kzalloc(sizeof(*tm), GFP_KERNEL);

	if (!tm)
		return ERR_PTR(-ENOMEM);
	tm->bm = bm;
	return tm;
}

/* The space map is made with the tm (it reads through it), then attached. */
void pdata_tm_attach(struct pdata_tm *tm, struct pdata_msm *sm)
{
	tm->sm = sm;
}

void pdata_tm_destroy(struct pdata_tm *tm)
{
	kfree(tm);
}

struct pdata_bm *pdata_tm_bm(struct pdata_tm *tm)
{
	return tm->bm;
}

struct pdata_msm *pdata_tm_sm(struct pdata_tm *tm)
{
	return tm->sm;
}

int pdata_tm_new_block(struct pdata_tm *tm, const struct pdata_validator *v,
		       struct pdata_block **result)
{
	pdata_block_t b;
	int r;

	r = pdata_msm_new_block(tm->sm, &b);
	if (r)
		return r;
	r = pdata_bm_new(tm->bm, b, v, result);
	if (r)
		pdata_msm_dec(tm->sm, b);
	return r;
}

static int pdata_tm_copy(struct pdata_tm *tm, pdata_block_t b,
			 const struct pdata_validator *v,
			 struct pdata_block **result)
{
	struct pdata_block *orig, *copy;
	int r;

	r = pdata_bm_read(tm->bm, b, v, &orig);
	if (r)
		return r;
	r = pdata_tm_new_block(tm, v, &copy);
	if (!r) {
		memcpy(pdata_block_data(copy), pdata_block_data(orig),
		       PDATA_BLOCK_SIZE);
		*result = copy;
	}
	pdata_bm_put(orig);
	return r;
}

int pdata_tm_shadow(struct pdata_tm *tm, pdata_block_t b,
		    const struct pdata_validator *v,
		    struct pdata_block **result, bool *inc_children)
{
	u32 count = pdata_msm_count(tm->sm, b);
	int r;

	if (!count) {
		pr_err_ratelimited("dmx: pdata: shadow of free %s block %llu\n",
				   v->name, b);
		return -EINVAL;
	}
	*inc_children = false;
	if (count == 1 && pdata_msm_is_new(tm->sm, b)) {
		r = pdata_bm_read(tm->bm, b, v, result);
		if (!r)
			pdata_bm_dirty(*result);
		return r;
	}
	r = pdata_tm_copy(tm, b, v, result);
	if (r)
		return r;
	r = pdata_msm_dec(tm->sm, b);
	if (r) {
		pdata_bm_put(*result);
		return r;
	}
	*inc_children = count > 1;
	return 0;
}

int pdata_tm_read(struct pdata_tm *tm, pdata_block_t b,
		  const struct pdata_validator *v, struct pdata_block **result)
{
	return pdata_bm_read(tm->bm, b, v, result);
}

int pdata_tm_read_try(struct pdata_tm *tm, pdata_block_t b,
		      const struct pdata_validator *v,
		      struct pdata_block **result)
{
	return pdata_bm_read_try(tm->bm, b, v, result);
}

int pdata_tm_inc(struct pdata_tm *tm, pdata_block_t b)
{
	return pdata_msm_inc(tm->sm, b);
}

int pdata_tm_dec(struct pdata_tm *tm, pdata_block_t b)
{
	return pdata_msm_dec(tm->sm, b);
}

u32 pdata_tm_count(struct pdata_tm *tm, pdata_block_t b)
{
	return pdata_msm_count(tm->sm, b);
}

/* The last step that may allocate: the space map describes itself. */
int pdata_tm_pre_commit(struct pdata_tm *tm)
{
	return pdata_msm_write_out(tm->sm);
}

/*
 * Every changed block, then (after a flush) the superblock that points
 * at them.  On failure the caller aborts: reopens from the superblock
 * on disk, which is whichever one last landed.
 */
int pdata_tm_commit(struct pdata_tm *tm, struct pdata_block *sb)
{
	int r;

	r = pdata_bm_write_dirty(tm->bm);
	if (r)
		return r;
	r = pdata_bm_write_super(tm->bm, sb);
	if (r)
		return r;
	pdata_msm_committed(tm->sm);
	return 0;
}
