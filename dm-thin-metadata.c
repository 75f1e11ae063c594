// SPDX-License-Identifier: GPL-2.0
/*
 * Thin pool metadata in dm-thin's on-disk format.
 *
 * Block 0 is the superblock.  The mapping tree is two levels of btrees:
 * the top one maps a thin device id to the root of that device's own
 * tree, which maps a virtual block to (data block << 24 | time).  A
 * details tree maps the id to its mapped-block count, transaction id
 * and creation and snapshot times.  A snapshot is a new top-level entry
 * pointing at its origin's tree, one more reference to the same root;
 * the time goes up by one, and a mapping made before a device's last
 * snapshot time may be shared (a write then copies).
 *
 * Devices that are open, or changed since the last commit, have an
 * in-memory record (struct thin_md_dev); a commit writes the changed
 * ones into the details tree.  Each device's record also caches the
 * root of its tree, so the bio fast path goes straight to it.
 */
#include <linux/blkdev.h>
#include <linux/list.h>
#include <linux/rwsem.h>
#include <linux/slab.h>

#include "dmx-thin-metadata.h"

#define THIN_MD_PREFIX		"dmx: thin metadata: "

#define THIN_SB_CSUM_XOR	160774
#define THIN_SB_MAGIC		27022010ULL
#define THIN_SB_VERSION		2
#define THIN_NEEDS_CHECK	(1U << 0)

/* Metadata blocks cached per pool, at most. */
#define THIN_MD_CACHE_BLOCKS	8192

/* The metadata reserve: what is kept back for a commit to finish. */
#define THIN_MD_MAX_RESERVE	4096

struct thin_disk_sb {
	__le32 csum;
	__le32 flags;
	__le64 blocknr;
	__u8 uuid[16];
	__le64 magic;
	__le32 version;
	__le32 time;
	__le64 trans_id;
	__le64 held_root;
	__u8 data_sm_root[PDATA_SM_ROOT_SIZE];
	__u8 meta_sm_root[PDATA_SM_ROOT_SIZE];
	__le64 mapping_root;
	__le64 details_root;
	__le32 data_block_size;
	__le32 metadata_block_size;
	__le64 metadata_nr_blocks;
	__le32 compat_flags;
	__le32 compat_ro_flags;
	__le32 incompat_flags;
} __packed;

struct thin_disk_details {
	__le64 mapped_blocks;
	__le64 transaction_id;
	__le32 creation_time;
	__le32 snapshotted_time;
} __packed;

struct thin_md {
	/*
	 * Protects everything below, the persistent-data structures under
	 * them and every thin_md_dev.  Lookups take it shared.
	 */
	struct rw_semaphore lock;
	struct block_device *bdev;
	struct pdata_bm *bm;
	struct pdata_tm *tm;
	struct pdata_msm *msm;
	struct pdata_dsm *dsm;
	struct pdata_btree top;		/* id -> device tree root */
	struct pdata_btree bottom;	/* virtual block -> block and time */
	struct pdata_btree details;	/* id -> struct thin_disk_details */
	u32 data_block_size;

	/* The superblock's fields, as they will be committed. */
	u32 time;
	u32 flags;
	u64 trans_id;
	pdata_block_t held_root;
	pdata_block_t mapping_root;
	pdata_block_t details_root;
	u64 sb_metadata_nr_blocks;	/* kept as found: nobody reads it */
	u32 sb_compat_flags;

	struct list_head devs;		/* struct thin_md_dev */
	pdata_block_t reserve;
	bool changed;			/* since the last commit */
	bool read_only;
	bool fail;			/* unusable: a reopen failed */
	thin_md_pre_commit_fn pre_commit;
	void *pre_commit_context;
};

struct thin_md_dev {
	struct list_head node;		/* in md->devs */
	struct thin_md *md;
	u64 id;
	unsigned int open_count;
	bool changed;
	pdata_block_t root;		/* 0: gone (an aborted creation) */
	u64 mapped;
	u64 trans_id;
	u32 creation_time;
	u32 snapshotted_time;
};

static int thin_sb_check(const void *data)
{
	const struct thin_disk_sb *sb = data;

	return le64_to_cpu(sb->magic) == THIN_SB_MAGIC ? 0 : -EILSEQ;
}

static const struct pdata_validator thin_sb_validator = {
	.name = "thin superblock",
	.csum_xor = THIN_SB_CSUM_XOR,
	.check = thin_sb_check,
};

static u64 thin_pack(pdata_block_t b, u32 time)
{
	return b << 24 | time;
}

static pdata_block_t thin_unpack_block(const void *value)
{
	return le64_to_cpu(*(const __le64 *)value) >> 24;
}

/* Value types: mappings count data blocks, top entries count trees. */

static int thin_data_inc(void *context, const void *value)
{
	struct thin_md *md = context;

	return pdata_dsm_inc(md->dsm, thin_unpack_block(value));
}

static int thin_data_dec(void *context, const void *value)
{
	struct thin_md *md = context;

	return pdata_dsm_dec(md->dsm, thin_unpack_block(value));
}

static bool thin_data_equal(void *context, const void *a, const void *b)
{
	return thin_unpack_block(a) == thin_unpack_block(b);
}

static int thin_tree_inc(void *context, const void *value)
{
	struct thin_md *md = context;

	return pdata_tm_inc(md->tm, le64_to_cpu(*(const __le64 *)value));
}

static int thin_tree_dec(void *context, const void *value)
{
	struct thin_md *md = context;

	return pdata_btree_del(&md->bottom, le64_to_cpu(*(const __le64 *)value));
}

static bool thin_tree_equal(void *context, const void *a, const void *b)
{
	return *(const __le64 *)a == *(const __le64 *)b;
}

static void thin_md_setup_trees(struct thin_md *md)
{
	md->bottom = (struct pdata_btree) {
		.tm = md->tm,
		.vt = { .size = sizeof(__le64), .context = md,
			.inc = thin_data_inc, .dec = thin_data_dec,
			.equal = thin_data_equal },
	};
	md->top = (struct pdata_btree) {
		.tm = md->tm,
		.vt = { .size = sizeof(__le64), .context = md,
			.inc = thin_tree_inc, .dec = thin_tree_dec,
			.equal = thin_tree_equal },
	};
	md->details = (struct pdata_btree) {
		.tm = md->tm,
		.vt = { .size = sizeof(struct thin_disk_details) },
	};
}

static void thin_md_set_reserve(struct thin_md *md)
{
	md->reserve = min_t(pdata_block_t, THIN_MD_MAX_RESERVE,
			    pdata_msm_nr_blocks(md->msm) / 10);
}

/* Superblock and commit. */

static void thin_md_fill_sb(struct thin_md *md, struct thin_disk_sb *sb)
{
	memset(sb, 0, sizeof(*sb));
	sb->flags = cpu_to_le32(md->flags);
	sb->magic = cpu_to_le64(THIN_SB_MAGIC);
	sb->version = cpu_to_le32(THIN_SB_VERSION);
	sb->time = cpu_to_le32(md->time);
	sb->trans_id = cpu_to_le64(md->trans_id);
	sb->held_root = cpu_to_le64(md->held_root);
	pdata_dsm_root(md->dsm, sb->data_sm_root);
	pdata_msm_root(md->msm, sb->meta_sm_root);
	sb->mapping_root = cpu_to_le64(md->mapping_root);
	sb->details_root = cpu_to_le64(md->details_root);
	sb->data_block_size = cpu_to_le32(md->data_block_size);
	sb->metadata_block_size = cpu_to_le32(PDATA_BLOCK_SECTORS);
	sb->metadata_nr_blocks = cpu_to_le64(md->sb_metadata_nr_blocks);
	sb->compat_flags = cpu_to_le32(md->sb_compat_flags);
}

static void thin_dev_details(struct thin_md_dev *td, struct thin_disk_details *d)
{
	d->mapped_blocks = cpu_to_le64(td->mapped);
	d->transaction_id = cpu_to_le64(td->trans_id);
	d->creation_time = cpu_to_le32(td->creation_time);
	d->snapshotted_time = cpu_to_le32(td->snapshotted_time);
}

static int thin_md_write_details(struct thin_md *md)
{
	struct thin_md_dev *td, *tmp;
	struct thin_disk_details d;
	int r;

	list_for_each_entry_safe(td, tmp, &md->devs, node) {
		if (!td->changed)
			continue;
		thin_dev_details(td, &d);
		r = pdata_btree_insert(&md->details, md->details_root, td->id, &d,
				       &md->details_root, NULL);
		if (r)
			return r;
		td->changed = false;
		if (!td->open_count) {
			list_del(&td->node);
			kfree(td);
		}
	}
	return 0;
}

/* Writes everything the superblock will point at, then the superblock. */
static int thin_md_write_sb(struct thin_md *md, bool fresh)
{
	struct pdata_block *sb;
	int r;

	if (fresh)
		r = pdata_bm_new_super(md->bm, 0, &thin_sb_validator, &sb);
	else
		r = pdata_bm_read(md->bm, 0, &thin_sb_validator, &sb);
	if (r)
		return r;
	thin_md_fill_sb(md, pdata_block_data(sb));
	r = pdata_tm_commit(md->tm, sb);
	pdata_bm_put(sb);
	return r;
}

static int __thin_md_commit(struct thin_md *md, bool fresh)
{
	int r;

	if (md->pre_commit) {
		r = md->pre_commit(md->pre_commit_context);
		if (r)
			return r;
	}
	r = thin_md_write_details(md);
	if (!r)
		r = pdata_dsm_commit(md->dsm);
	if (!r)
		r = pdata_tm_pre_commit(md->tm);
	if (!r)
		r = thin_md_write_sb(md, fresh);
	if (!r)
		md->changed = false;
	return r;
}

int thin_md_commit(struct thin_md *md)
{
	int r = 0;

	down_write(&md->lock);
	if (md->fail)
		r = -EINVAL;
	else if (md->changed && !md->read_only)
		r = __thin_md_commit(md, false);
	up_write(&md->lock);
	return r;
}

bool thin_md_changed(struct thin_md *md)
{
	bool changed;

	down_read(&md->lock);
	changed = md->changed;
	up_read(&md->lock);
	return changed;
}

/* Opening. */

static void thin_md_drop_objects(struct thin_md *md)
{
	pdata_dsm_destroy(md->dsm);
	md->dsm = NULL;
	pdata_msm_destroy(md->msm);
	md->msm = NULL;
	pdata_tm_destroy(md->tm);
	md->tm = NULL;
}

static int thin_md_new_tm(struct thin_md *md)
{
	md->tm = pdata_tm_create(md->bm);
	if (IS_ERR(md->tm)) {
		int r = PTR_ERR(md->tm);

		md->tm = NULL;
		return r;
	}
	thin_md_setup_trees(md);
	return 0;
}

static int thin_md_format(struct thin_md *md)
{
	pdata_block_t nr = pdata_bm_nr_blocks(md->bm), sb;
	int r;

	r = thin_md_new_tm(md);
	if (r)
		return r;
	md->msm = pdata_msm_create(md->tm, nr);
	if (IS_ERR(md->msm)) {
		r = PTR_ERR(md->msm);
		md->msm = NULL;
		return r;
	}
	pdata_tm_attach(md->tm, md->msm);
	/* The first block handed out is block 0, the superblock's. */
	r = pdata_msm_new_block(md->msm, &sb);
	if (r)
		return r;
	r = pdata_dsm_create(md->tm, &md->dsm);
	if (!r)
		r = pdata_btree_empty(&md->top, &md->mapping_root);
	if (!r)
		r = pdata_btree_empty(&md->details, &md->details_root);
	if (r)
		return r;
	md->time = 0;
	md->flags = 0;
	md->trans_id = 0;
	md->held_root = 0;
	md->sb_metadata_nr_blocks = nr;
	md->sb_compat_flags = 0;
	return __thin_md_commit(md, true);
}

static int thin_md_check_sb(struct thin_md *md, const struct thin_disk_sb *sb)
{
	if (le32_to_cpu(sb->data_block_size) != md->data_block_size) {
		pr_err(THIN_MD_PREFIX "data block size is %u sectors, not %u: it cannot change\n",
		       le32_to_cpu(sb->data_block_size), md->data_block_size);
		return -EINVAL;
	}
	if (le32_to_cpu(sb->incompat_flags)) {
		pr_err(THIN_MD_PREFIX "unsupported incompatible features %#x\n",
		       le32_to_cpu(sb->incompat_flags));
		return -EINVAL;
	}
	if (le32_to_cpu(sb->compat_ro_flags) && !bdev_read_only(md->bdev)) {
		pr_err(THIN_MD_PREFIX "features %#x allow read-only use only\n",
		       le32_to_cpu(sb->compat_ro_flags));
		return -EINVAL;
	}
	return 0;
}

static void thin_md_load_sb(struct thin_md *md, const struct thin_disk_sb *sb)
{
	md->time = le32_to_cpu(sb->time);
	md->flags = le32_to_cpu(sb->flags);
	md->trans_id = le64_to_cpu(sb->trans_id);
	md->held_root = le64_to_cpu(sb->held_root);
	md->mapping_root = le64_to_cpu(sb->mapping_root);
	md->details_root = le64_to_cpu(sb->details_root);
	md->sb_metadata_nr_blocks = le64_to_cpu(sb->metadata_nr_blocks);
	md->sb_compat_flags = le32_to_cpu(sb->compat_flags);
}

static int thin_md_open_existing(struct thin_md *md)
{
	struct pdata_block *blk;
	struct thin_disk_sb *sb;
	int r;

	r = pdata_bm_read(md->bm, 0, &thin_sb_validator, &blk);
	if (r) {
		pr_err(THIN_MD_PREFIX "cannot read the superblock (%d)\n", r);
		return r;
	}
	sb = pdata_block_data(blk);
	r = thin_md_check_sb(md, sb);
	if (r)
		goto out;
	r = thin_md_new_tm(md);
	if (r)
		goto out;
	r = pdata_msm_open(md->tm, sb->meta_sm_root, &md->msm);
	if (r) {
		pr_err(THIN_MD_PREFIX "cannot open the metadata space map (%d)\n", r);
		goto out;
	}
	pdata_tm_attach(md->tm, md->msm);
	r = pdata_dsm_open(md->tm, sb->data_sm_root, &md->dsm);
	if (r) {
		pr_err(THIN_MD_PREFIX "cannot open the data space map (%d)\n", r);
		goto out;
	}
	thin_md_load_sb(md, sb);
out:
	pdata_bm_put(blk);
	return r;
}

static int thin_md_unformatted(struct thin_md *md, bool *zero)
{
	u8 *buf = kmalloc(PDATA_BLOCK_SIZE, GFP_KERNEL);
	int r;

	if (!buf)
		return -ENOMEM;
	r = pdata_bm_read_raw(md->bm, 0, buf);
	if (!r)
		*zero = !memchr_inv(buf, 0, PDATA_BLOCK_SIZE);
	kfree(buf);
	return r;
}

static int thin_md_open_or_format(struct thin_md *md, bool may_format)
{
	bool zero;
	int r;

	r = thin_md_unformatted(md, &zero);
	if (r)
		return r;
	if (zero)
		r = may_format ? thin_md_format(md) : -EPERM;
	else
		r = thin_md_open_existing(md);
	if (r) {
		thin_md_drop_objects(md);
		return r;
	}
	thin_md_set_reserve(md);
	return 0;
}

int thin_md_open(struct block_device *bdev, u32 data_block_size,
		 bool may_format, struct thin_md **result)
{
	pdata_block_t nr_blocks;
	struct thin_md *md;
	int r;

	md = kzalloc(sizeof(*md), GFP_KERNEL);
	if (!md)
		return -ENOMEM;
	init_rwsem(&md->lock);
	INIT_LIST_HEAD(&md->devs);
	md->bdev = bdev;
	md->data_block_size = data_block_size;
	nr_blocks = min_t(pdata_block_t, bdev_nr_sectors(bdev) / PDATA_BLOCK_SECTORS,
			  PDATA_MSM_MAX_BLOCKS);
	md->bm = pdata_bm_create(bdev, nr_blocks, THIN_MD_CACHE_BLOCKS);
	if (IS_ERR(md->bm)) {
		r = PTR_ERR(md->bm);
		goto bad;
	}
	r = thin_md_open_or_format(md, may_format);
	if (r)
		goto bad_bm;
	*result = md;
	return 0;

bad_bm:
	pdata_bm_destroy(md->bm);
bad:
	kfree(md);
	return r;
}

/* Commits what is left (unless failed or read-only) and frees it all. */
void thin_md_close(struct thin_md *md)
{
	struct thin_md_dev *td, *tmp;

	down_write(&md->lock);
	if (!md->fail && !md->read_only && md->changed &&
	    __thin_md_commit(md, false))
		pr_warn(THIN_MD_PREFIX "final commit failed\n");
	list_for_each_entry_safe(td, tmp, &md->devs, node) {
		WARN_ON(td->open_count);
		list_del(&td->node);
		kfree(td);
	}
	up_write(&md->lock);
	thin_md_drop_objects(md);
	pdata_bm_destroy(md->bm);
	kfree(md);
}

void thin_md_set_pre_commit(struct thin_md *md, thin_md_pre_commit_fn fn,
			    void *context)
{
	down_write(&md->lock);
	md->pre_commit = fn;
	md->pre_commit_context = context;
	up_write(&md->lock);
}

void thin_md_set_read_only(struct thin_md *md, bool read_only)
{
	down_write(&md->lock);
	md->read_only = read_only;
	up_write(&md->lock);
}

/* Devices. */

static struct thin_md_dev *thin_md_find_dev(struct thin_md *md, u64 id)
{
	struct thin_md_dev *td;

	list_for_each_entry(td, &md->devs, node)
		if (td->id == id)
			return td;
	return NULL;
}

static int thin_md_read_dev(struct thin_md *md, struct thin_md_dev *td)
{
	struct thin_disk_details d;
	__le64 root;
	int r;

	r = pdata_btree_lookup(&md->details, md->details_root, td->id, &d);
	if (!r)
		r = pdata_btree_lookup(&md->top, md->mapping_root, td->id, &root);
	if (r)
		return r;
	td->root = le64_to_cpu(root);
	td->mapped = le64_to_cpu(d.mapped_blocks);
	td->trans_id = le64_to_cpu(d.transaction_id);
	td->creation_time = le32_to_cpu(d.creation_time);
	td->snapshotted_time = le32_to_cpu(d.snapshotted_time);
	return 0;
}

static struct thin_md_dev *thin_md_new_dev(struct thin_md *md, u64 id)
{
	struct thin_md_dev *td = kzalloc(sizeof(*td), GFP_NOIO);

	if (!td)
		return NULL;
	td->md = md;
	td->id = id;
	list_add(&td->node, &md->devs);
	return td;
}

/* The record of device id, read in if need be; -ENODATA if none. */
static int thin_md_get_dev(struct thin_md *md, u64 id,
			   struct thin_md_dev **result)
{
	struct thin_md_dev *td = thin_md_find_dev(md, id);
	int r;

	if (td) {
		*result = td;
		return td->root ? 0 : -ENODATA;
	}
	td = thin_md_new_dev(md, id);
	if (!td)
		return -ENOMEM;
	r = thin_md_read_dev(md, td);
	if (r) {
		list_del(&td->node);
		kfree(td);
		return r;
	}
	*result = td;
	return 0;
}

/* A record nobody holds and nothing to commit: forget it. */
static void thin_md_put_dev(struct thin_md_dev *td)
{
	if (td->open_count || td->changed)
		return;
	list_del(&td->node);
	kfree(td);
}

static int thin_md_writable(struct thin_md *md)
{
	if (md->fail)
		return -EINVAL;
	return md->read_only ? -EROFS : 0;
}

static int thin_md_exists(struct thin_md *md, u64 id)
{
	int r;

	if (thin_md_find_dev(md, id))
		return -EEXIST;
	r = pdata_btree_lookup(&md->details, md->details_root, id, NULL);
	if (r == -ENODATA)
		return 0;
	return r ? r : -EEXIST;
}

int thin_md_open_dev(struct thin_md *md, u64 id, struct thin_md_dev **result)
{
	int r = -EINVAL;

	down_write(&md->lock);
	if (!md->fail)
		r = thin_md_get_dev(md, id, result);
	if (!r)
		(*result)->open_count++;
	up_write(&md->lock);
	return r;
}

void thin_md_close_dev(struct thin_md_dev *td)
{
	struct thin_md *md = td->md;

	down_write(&md->lock);
	td->open_count--;
	thin_md_put_dev(td);
	up_write(&md->lock);
}

u64 thin_md_dev_id(struct thin_md_dev *td)
{
	return td->id;
}

bool thin_md_dev_changed(struct thin_md_dev *td)
{
	return READ_ONCE(td->changed);
}

static void thin_md_mark(struct thin_md *md, struct thin_md_dev *td)
{
	md->changed = true;
	td->changed = true;
}

int thin_md_create_thin(struct thin_md *md, u64 id)
{
	struct thin_md_dev *td;
	pdata_block_t root;
	bool inserted;
	__le64 value;
	int r;

	down_write(&md->lock);
	r = thin_md_writable(md);
	if (!r)
		r = thin_md_exists(md, id);
	if (r)
		goto out;
	r = pdata_btree_empty(&md->bottom, &root);
	if (r)
		goto out;
	value = cpu_to_le64(root);
	r = pdata_btree_insert(&md->top, md->mapping_root, id, &value,
			       &md->mapping_root, &inserted);
	md->changed = true;
	if (!r && !inserted)
		r = -EILSEQ;
	if (r)
		goto out;
	r = -ENOMEM;
	td = thin_md_new_dev(md, id);
	if (!td)
		goto out;
	td->root = root;
	td->trans_id = md->trans_id;
	td->creation_time = md->time;
	td->snapshotted_time = md->time;
	thin_md_mark(md, td);
	r = 0;
out:
	up_write(&md->lock);
	return r;
}

int thin_md_create_snap(struct thin_md *md, u64 id, u64 origin)
{
	struct thin_md_dev *td, *otd;
	bool inserted;
	__le64 value;
	int r;

	down_write(&md->lock);
	r = thin_md_writable(md);
	if (!r)
		r = thin_md_exists(md, id);
	if (!r)
		r = thin_md_get_dev(md, origin, &otd);
	if (r)
		goto out;
	r = pdata_tm_inc(md->tm, otd->root);
	if (r)
		goto put;
	md->changed = true;
	value = cpu_to_le64(otd->root);
	r = pdata_btree_insert(&md->top, md->mapping_root, id, &value,
			       &md->mapping_root, &inserted);
	if (!r && !inserted)
		r = -EILSEQ;
	if (r)
		goto put;
	r = -ENOMEM;
	td = thin_md_new_dev(md, id);
	if (!td)
		goto put;
	md->time++;
	td->root = otd->root;
	td->mapped = otd->mapped;
	td->trans_id = md->trans_id;
	td->creation_time = md->time;
	td->snapshotted_time = md->time;
	otd->snapshotted_time = md->time;
	thin_md_mark(md, td);
	thin_md_mark(md, otd);
	r = 0;
put:
	thin_md_put_dev(otd);
out:
	up_write(&md->lock);
	return r;
}

int thin_md_delete(struct thin_md *md, u64 id)
{
	struct thin_md_dev *td;
	int r;

	down_write(&md->lock);
	r = thin_md_writable(md);
	if (!r)
		r = thin_md_get_dev(md, id, &td);
	if (r)
		goto out;
	if (td->open_count) {
		r = -EBUSY;
		goto out;
	}
	list_del(&td->node);
	kfree(td);
	md->changed = true;
	/* Created in this transaction: not in the details tree yet. */
	r = pdata_btree_remove(&md->details, md->details_root, id,
			       &md->details_root);
	if (r == -ENODATA)
		r = 0;
	if (!r)
		r = pdata_btree_remove(&md->top, md->mapping_root, id,
				       &md->mapping_root);
out:
	up_write(&md->lock);
	return r;
}

int thin_md_set_transaction_id(struct thin_md *md, u64 current_id, u64 new_id)
{
	int r;

	down_write(&md->lock);
	r = thin_md_writable(md);
	if (!r && md->trans_id != current_id) {
		pr_err(THIN_MD_PREFIX "transaction id is %llu, not %llu\n",
		       md->trans_id, current_id);
		r = -EINVAL;
	}
	if (!r) {
		md->trans_id = new_id;
		md->changed = true;
	}
	up_write(&md->lock);
	return r;
}

u64 thin_md_transaction_id(struct thin_md *md)
{
	u64 id;

	down_read(&md->lock);
	id = md->trans_id;
	up_read(&md->lock);
	return id;
}

/*
 * A metadata snapshot: a copy of the committed superblock whose trees
 * gain a reference each, so that they stay as they are for userland to
 * read (thin_dump -m) while the pool goes on changing its own copies.
 */
static int thin_md_copy_sb(struct thin_md *md)
{
	struct pdata_block *sb, *copy;
	struct thin_disk_sb *c;
	int r;

	r = pdata_bm_read(md->bm, 0, &thin_sb_validator, &sb);
	if (r)
		return r;
	r = pdata_tm_new_block(md->tm, &thin_sb_validator, &copy);
	if (r)
		goto out;
	c = pdata_block_data(copy);
	memcpy(c, pdata_block_data(sb), PDATA_BLOCK_SIZE);
	memset(c->data_sm_root, 0, sizeof(c->data_sm_root));
	memset(c->meta_sm_root, 0, sizeof(c->meta_sm_root));
	r = pdata_tm_inc(md->tm, le64_to_cpu(c->mapping_root));
	if (!r)
		r = pdata_tm_inc(md->tm, le64_to_cpu(c->details_root));
	md->held_root = pdata_block_nr(copy);
	md->changed = true;
	pdata_bm_put(copy);
out:
	pdata_bm_put(sb);
	return r;
}

int thin_md_reserve_snap(struct thin_md *md)
{
	int r;

	down_write(&md->lock);
	r = thin_md_writable(md);
	if (!r && md->held_root) {
		pr_warn(THIN_MD_PREFIX "a metadata snapshot is held already\n");
		r = -EBUSY;
	}
	/* The copy must show this transaction's roots: commit it first. */
	if (!r && md->changed)
		r = __thin_md_commit(md, false);
	if (!r)
		r = thin_md_copy_sb(md);
	up_write(&md->lock);
	return r;
}

int thin_md_release_snap(struct thin_md *md)
{
	pdata_block_t held, mapping, details;
	struct pdata_block *blk;
	struct thin_disk_sb *sb;
	int r;

	down_write(&md->lock);
	r = thin_md_writable(md);
	if (!r && !md->held_root) {
		pr_warn(THIN_MD_PREFIX "no metadata snapshot to release\n");
		r = -EINVAL;
	}
	if (r)
		goto out;
	held = md->held_root;
	r = pdata_tm_read(md->tm, held, &thin_sb_validator, &blk);
	if (r)
		goto out;
	sb = pdata_block_data(blk);
	mapping = le64_to_cpu(sb->mapping_root);
	details = le64_to_cpu(sb->details_root);
	pdata_bm_put(blk);
	md->held_root = 0;
	md->changed = true;
	r = pdata_btree_del(&md->top, mapping);
	if (!r)
		r = pdata_btree_del(&md->details, details);
	if (!r)
		r = pdata_tm_dec(md->tm, held);
out:
	up_write(&md->lock);
	return r;
}

pdata_block_t thin_md_held_root(struct thin_md *md)
{
	pdata_block_t held;

	down_read(&md->lock);
	held = md->held_root;
	up_read(&md->lock);
	return held;
}

/* Space. */

void thin_md_data_space(struct thin_md *md, pdata_block_t *nr_blocks,
			pdata_block_t *nr_free)
{
	down_read(&md->lock);
	*nr_blocks = md->dsm ? pdata_dsm_nr_blocks(md->dsm) : 0;
	*nr_free = md->dsm ? pdata_dsm_nr_free(md->dsm) : 0;
	up_read(&md->lock);
}

/* Free blocks beyond the reserve, as dm-thin reports and acts on them. */
void thin_md_meta_space(struct thin_md *md, pdata_block_t *nr_blocks,
			pdata_block_t *nr_free)
{
	pdata_block_t free;

	down_read(&md->lock);
	*nr_blocks = md->msm ? pdata_msm_nr_blocks(md->msm) : 0;
	free = md->msm ? pdata_msm_nr_free(md->msm) : 0;
	*nr_free = free > md->reserve ? free - md->reserve : 0;
	up_read(&md->lock);
}

int thin_md_resize_data(struct thin_md *md, pdata_block_t nr_blocks)
{
	int r;

	down_write(&md->lock);
	r = thin_md_writable(md);
	if (!r && nr_blocks < pdata_dsm_nr_blocks(md->dsm)) {
		pr_err(THIN_MD_PREFIX "cannot shrink the data space map\n");
		r = -EINVAL;
	}
	if (!r && nr_blocks > pdata_dsm_nr_blocks(md->dsm)) {
		r = pdata_dsm_extend(md->dsm, nr_blocks);
		md->changed = true;
	}
	up_write(&md->lock);
	return r;
}

int thin_md_resize_meta(struct thin_md *md, pdata_block_t nr_blocks)
{
	int r;

	nr_blocks = min(nr_blocks, PDATA_MSM_MAX_BLOCKS);
	down_write(&md->lock);
	r = thin_md_writable(md);
	if (!r && nr_blocks < pdata_msm_nr_blocks(md->msm)) {
		pr_err(THIN_MD_PREFIX "cannot shrink the metadata space map\n");
		r = -EINVAL;
	}
	if (!r && nr_blocks > pdata_msm_nr_blocks(md->msm)) {
		pdata_bm_set_nr_blocks(md->bm, nr_blocks);
		r = pdata_msm_extend(md->msm, nr_blocks);
		md->changed = true;
		thin_md_set_reserve(md);
	}
	up_write(&md->lock);
	return r;
}

int thin_md_alloc_data(struct thin_md *md, pdata_block_t *b)
{
	int r;

	down_write(&md->lock);
	r = thin_md_writable(md);
	if (!r) {
		r = pdata_dsm_new_block(md->dsm, b);
		if (r != -ENOSPC)
			md->changed = true;
	}
	up_write(&md->lock);
	return r;
}

/* Gives back a block allocated for a write that failed. */
int thin_md_free_data(struct thin_md *md, pdata_block_t b)
{
	int r;

	down_write(&md->lock);
	r = thin_md_writable(md);
	if (!r) {
		r = pdata_dsm_dec(md->dsm, b);
		md->changed = true;
	}
	up_write(&md->lock);
	return r;
}

int thin_md_data_shared(struct thin_md *md, pdata_block_t b, bool *shared)
{
	u32 count;
	int r = -EINVAL;

	down_read(&md->lock);
	if (!md->fail)
		r = pdata_dsm_count(md->dsm, b, &count);
	if (!r)
		*shared = count > 1;
	up_read(&md->lock);
	return r;
}

/* Mappings. */

static void thin_md_unpack(struct thin_md_dev *td, __le64 value,
			   struct thin_lookup *result)
{
	u64 v = le64_to_cpu(value);

	result->block = v >> 24;
	result->shared = td->snapshotted_time > (v & 0xffffff);
}

int thin_md_find(struct thin_md_dev *td, u64 vblock, bool can_block,
		 struct thin_lookup *result)
{
	struct thin_md *md = td->md;
	__le64 value;
	int r;

	if (can_block)
		down_read(&md->lock);
	else if (!down_read_trylock(&md->lock))
		return -EWOULDBLOCK;
	if (md->fail)
		r = -EINVAL;
	else if (!td->root)
		r = -ENODATA;
	else if (can_block)
		r = pdata_btree_lookup(&md->bottom, td->root, vblock, &value);
	else
		r = pdata_btree_lookup_try(&md->bottom, td->root, vblock, &value);
	if (!r)
		thin_md_unpack(td, value, result);
	up_read(&md->lock);
	return r;
}

int thin_md_find_next(struct thin_md_dev *td, u64 vblock, u64 *found,
		      struct thin_lookup *result)
{
	struct thin_md *md = td->md;
	__le64 value;
	int r = -EINVAL;

	down_read(&md->lock);
	if (!md->fail && td->root)
		r = pdata_btree_lookup_next(&md->bottom, td->root, vblock, found,
					    &value);
	if (!r)
		thin_md_unpack(td, value, result);
	up_read(&md->lock);
	return r;
}

/*
 * Changes td's tree with fn.  The path to td's entry in the top tree is
 * shadowed first: if that path is shared (a metadata snapshot), the
 * copy takes a reference on td's tree, so that shadowing the tree then
 * copies it rather than freeing what the snapshot still points at.
 */
static int thin_md_change_tree(struct thin_md_dev *td,
			       int (*fn)(struct thin_md_dev *td,
					 pdata_block_t root,
					 pdata_block_t *new_root, void *arg),
			       void *arg)
{
	struct thin_md *md = td->md;
	struct pdata_block *leaf;
	pdata_block_t root;
	__le64 *value;
	int r;

	r = pdata_btree_shadow_value(&md->top, md->mapping_root, td->id,
				     &md->mapping_root, &leaf, (void **)&value);
	md->changed = true;
	if (r)
		return r;
	r = fn(td, le64_to_cpu(*value), &root, arg);
	if (!r) {
		*value = cpu_to_le64(root);
		td->root = root;
		td->changed = true;
	}
	pdata_bm_put(leaf);
	return r;
}

struct thin_insert_arg {
	u64 vblock;
	__le64 value;
};

static int thin_md_insert_fn(struct thin_md_dev *td, pdata_block_t root,
			     pdata_block_t *new_root, void *arg)
{
	struct thin_insert_arg *a = arg;
	bool inserted;
	int r;

	r = pdata_btree_insert(&td->md->bottom, root, a->vblock, &a->value,
			       new_root, &inserted);
	if (!r && inserted)
		td->mapped++;
	return r;
}

int thin_md_insert(struct thin_md_dev *td, u64 vblock, pdata_block_t b)
{
	struct thin_md *md = td->md;
	struct thin_insert_arg arg;
	int r;

	down_write(&md->lock);
	r = thin_md_writable(md);
	if (!r && !td->root)
		r = -ENODATA;
	if (!r) {
		arg.vblock = vblock;
		arg.value = cpu_to_le64(thin_pack(b, md->time));
		r = thin_md_change_tree(td, thin_md_insert_fn, &arg);
	}
	up_write(&md->lock);
	return r;
}

static int thin_md_remove_fn(struct thin_md_dev *td, pdata_block_t root,
			     pdata_block_t *new_root, void *arg)
{
	u64 *vblock = arg;
	int r;

	r = pdata_btree_remove(&td->md->bottom, root, *vblock, new_root);
	if (!r)
		td->mapped--;
	return r;
}

/* Unmaps vblock; freed says whether its data block is free now. */
int thin_md_remove(struct thin_md_dev *td, u64 vblock, bool *freed,
		   pdata_block_t *b)
{
	struct thin_md *md = td->md;
	__le64 value;
	u32 count;
	int r;

	down_write(&md->lock);
	r = thin_md_writable(md);
	if (!r && !td->root)
		r = -ENODATA;
	if (!r)
		r = pdata_btree_lookup(&md->bottom, td->root, vblock, &value);
	if (!r)
		r = thin_md_change_tree(td, thin_md_remove_fn, &vblock);
	if (!r) {
		*b = thin_unpack_block(&value);
		r = pdata_dsm_count(md->dsm, *b, &count);
		*freed = !count;
	}
	up_write(&md->lock);
	return r;
}

int thin_md_mapped(struct thin_md_dev *td, u64 *mapped, u64 *highest,
		   bool *any)
{
	struct thin_md *md = td->md;
	int r = -EINVAL;

	down_read(&md->lock);
	if (!md->fail && td->root) {
		*mapped = td->mapped;
		r = pdata_btree_highest(&md->bottom, td->root, highest);
		*any = !r;
		if (r == -ENODATA)
			r = 0;
	}
	up_read(&md->lock);
	return r;
}

/* Failure. */

/* Back to the committed state on disk, as after a crash. */
int thin_md_abort(struct thin_md *md)
{
	struct thin_md_dev *td, *tmp;
	int r;

	down_write(&md->lock);
	if (md->fail) {
		r = -EINVAL;
		goto out;
	}
	thin_md_drop_objects(md);
	pdata_bm_reset(md->bm);
	r = thin_md_open_existing(md);
	if (r) {
		pr_err(THIN_MD_PREFIX "cannot reopen the metadata: failing (%d)\n", r);
		thin_md_drop_objects(md);
		md->fail = true;
		goto out;
	}
	thin_md_set_reserve(md);
	md->changed = false;
	list_for_each_entry_safe(td, tmp, &md->devs, node) {
		td->changed = false;
		if (!td->open_count) {
			list_del(&td->node);
			kfree(td);
		} else if (thin_md_read_dev(md, td)) {
			td->root = 0;
		}
	}
out:
	up_write(&md->lock);
	return r;
}

/*
 * Sets needs_check in the superblock on disk, in place: the committed
 * superblock with one bit more.  Only userland tools clear it.
 */
int thin_md_set_needs_check(struct thin_md *md)
{
	struct pdata_block *blk;
	struct thin_disk_sb *sb;
	int r = -EINVAL;

	down_write(&md->lock);
	if (md->fail)
		goto out;
	md->flags |= THIN_NEEDS_CHECK;
	r = pdata_bm_read(md->bm, 0, &thin_sb_validator, &blk);
	if (r)
		goto out;
	sb = pdata_block_data(blk);
	sb->flags = cpu_to_le32(le32_to_cpu(sb->flags) | THIN_NEEDS_CHECK);
	r = pdata_bm_write_super(md->bm, blk);
	pdata_bm_put(blk);
out:
	up_write(&md->lock);
	return r;
}

bool thin_md_needs_check(struct thin_md *md)
{
	bool needs_check;

	down_read(&md->lock);
	needs_check = md->flags & THIN_NEEDS_CHECK;
	up_read(&md->lock);
	return needs_check;
}
