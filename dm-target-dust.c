// SPDX-License-Identifier: GPL-2.0
/*
 * dust <dev> <offset> <block size>
 *
 * A linear mapping with emulated bad blocks, like a disk that has
 * started to lose sectors.  Blocks (of <block size> bytes, numbered from
 * the start of <dev>) are declared bad by message; once "enable"d, a
 * read of a bad block fails, and a write to it "remaps" it: the write
 * goes through and the block is good again (a block added with a write
 * fail count first fails that many writes).  "disable" lets everything
 * through again without forgetting the list.
 *
 * Messages: addbadblock <block> [<write fail count>], removebadblock,
 * queryblock, countbadblocks, listbadblocks, clearbadblocks, enable,
 * disable, quiet (toggles the log lines of adds, removes and remaps).
 * Syntax, status lines, message answers and log lines are those of
 * Linux 6.1's dm-dust, so that tests written for it run unchanged.
 */
#include <linux/bio.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/rbtree.h>
#include <linux/slab.h>

#include "dmx.h"

/*
 * Log lines and message answers read as Linux's, whose function names
 * some of them carry ("dust_add_block: ..."): tests match on them.
 */
#define DUST_PREFIX		DMX_MSG_PREFIX ": dust: "
#define DUST_INFO(fmt, ...)	pr_info(DUST_PREFIX fmt "\n", ##__VA_ARGS__)
#define DUST_ERR(fmt, ...)	pr_err(DUST_PREFIX fmt "\n", ##__VA_ARGS__)

/* The largest block: 1 GiB, in sectors. */
#define DUST_MAX_BLOCK_SECTORS	2097152
#define DUST_MAX_WRITE_FAILS	255

struct dust_block {
	struct rb_node node;		/* in dust_ctx.blocks */
	sector_t block;
	unsigned int write_fails;	/* writes to fail before one remaps */
};

struct dust_ctx {
	struct dmx_dev *dev;
	sector_t start;
	unsigned int block_bytes;
	unsigned int block_shift;	/* log2 of sectors per block */

	spinlock_t lock;		/* protects blocks and count */
	struct rb_root blocks;
	unsigned long long count;

	bool fail_reads;		/* "enable"d; read without the lock */
	bool quiet;			/* no log lines for adds and removes */
};

/* --- the bad block list ----------------------------------------------- */

static struct dust_block *dust_find(struct dust_ctx *dc, sector_t block)
{
	struct rb_node *node = dc->blocks.rb_node;

	while (node) {
		struct dust_block *b = rb_entry(node, struct dust_block, node);

		if (block < b->block)
			node = node->rb_left;
		else if (block > b->block)
			node = node->rb_right;
		else
			return b;
	}
	return NULL;
}

/* Links new into the list; false if its block is there already. */
static bool dust_insert(struct dust_ctx *dc, struct dust_block *new)
{
	struct rb_node **link = &dc->blocks.rb_node, *parent = NULL;

	while (*link) {
		struct dust_block *b = rb_entry(*link, struct dust_block, node);

		parent = *link;
		if (new->block < b->block)
			link = &parent->rb_left;
		else if (new->block > b->block)
			link = &parent->rb_right;
		else
			return false;
	}
	rb_link_node(&new->node, parent, link);
	rb_insert_color(&new->node, &dc->blocks);
	dc->count++;
	return true;
}

static void dust_free_tree(struct rb_root *root)
{
	struct dust_block *b, *tmp;

	rbtree_postorder_for_each_entry_safe(b, tmp, root, node) {
		kfree(b);
		cond_resched();
	}
}

static int dust_block_add(struct dust_ctx *dc, sector_t block,
			  unsigned int write_fails)
{
	struct dust_block *b;
	bool added;

	b = kmalloc(sizeof(*b), GFP_KERNEL);
	if (!b) {
		if (!READ_ONCE(dc->quiet))
			DUST_ERR("dust_add_block: badblock allocation failed");
		return -ENOMEM;
	}
	b->block = block;
	b->write_fails = write_fails;

	spin_lock_irq(&dc->lock);
	added = dust_insert(dc, b);
	spin_unlock_irq(&dc->lock);

	if (!added) {
		kfree(b);
		if (!READ_ONCE(dc->quiet))
			DUST_ERR("dust_add_block: block %llu already in badblocklist",
				 (unsigned long long)block);
		return -EINVAL;
	}
	if (!READ_ONCE(dc->quiet))
		DUST_INFO("dust_add_block: badblock added at block %llu with write fail count %u",
			  (unsigned long long)block, write_fails);
	return 0;
}

static int dust_block_remove(struct dust_ctx *dc, sector_t block)
{
	struct dust_block *b;

	spin_lock_irq(&dc->lock);
	b = dust_find(dc, block);
	if (b) {
		rb_erase(&b->node, &dc->blocks);
		dc->count--;
	}
	spin_unlock_irq(&dc->lock);

	if (!b) {
		if (!READ_ONCE(dc->quiet))
			DUST_ERR("dust_remove_block: block %llu not found in badblocklist",
				 (unsigned long long)block);
		return -EINVAL;
	}
	kfree(b);
	if (!READ_ONCE(dc->quiet))
		DUST_INFO("dust_remove_block: badblock removed at block %llu",
			  (unsigned long long)block);
	return 0;
}

/* --- the bio path ----------------------------------------------------- */

static bool dust_read_fails(struct dust_ctx *dc, sector_t block)
{
	unsigned long flags;
	bool bad;

	spin_lock_irqsave(&dc->lock, flags);
	bad = dust_find(dc, block);
	spin_unlock_irqrestore(&dc->lock, flags);
	return bad;
}

/* A write fails while the block has write fails left, then remaps it. */
static int dust_map_write(struct dust_ctx *dc, sector_t block)
{
	struct dust_block *b;
	unsigned long flags;

	spin_lock_irqsave(&dc->lock, flags);
	b = dust_find(dc, block);
	if (b && b->write_fails) {
		b->write_fails--;
		spin_unlock_irqrestore(&dc->lock, flags);
		return DMX_MAPIO_KILL;
	}
	if (!b) {
		spin_unlock_irqrestore(&dc->lock, flags);
		return DMX_MAPIO_REMAPPED;
	}
	rb_erase(&b->node, &dc->blocks);
	dc->count--;
	spin_unlock_irqrestore(&dc->lock, flags);

	kfree(b);
	if (!READ_ONCE(dc->quiet))
		DUST_INFO("block %llu removed from badblocklist by write",
			  (unsigned long long)block);
	return DMX_MAPIO_REMAPPED;
}

static int dust_map(struct dmx_target *ti, struct bio *bio)
{
	struct dust_ctx *dc = ti->private;
	sector_t sector;

	bio_set_dev(bio, dc->dev->bdev);
	/* An empty flush has no block: it touches no bad block either. */
	if (!bio_sectors(bio))
		return DMX_MAPIO_REMAPPED;
	sector = dc->start + (bio->bi_iter.bi_sector - ti->begin);
	bio->bi_iter.bi_sector = sector;

	if (!READ_ONCE(dc->fail_reads))
		return DMX_MAPIO_REMAPPED;
	/* Bios never cross a block (max_io_len): its first sector says which. */
	if (!op_is_write(bio_op(bio)))
		return dust_read_fails(dc, sector >> dc->block_shift) ?
			DMX_MAPIO_KILL : DMX_MAPIO_REMAPPED;
	return dust_map_write(dc, sector >> dc->block_shift);
}

/* --- messages --------------------------------------------------------- */

static int dust_count_blocks(struct dust_ctx *dc, char *result,
			     unsigned int maxlen)
{
	unsigned long long count;
	unsigned int sz = 0;

	spin_lock_irq(&dc->lock);
	count = dc->count;
	spin_unlock_irq(&dc->lock);
	dmx_emit(result, maxlen, &sz, "countbadblocks: %llu badblock(s) found",
		 count);
	return DMX_MESSAGE_HAS_RESULT;
}

static int dust_clear_blocks(struct dust_ctx *dc, char *result,
			     unsigned int maxlen)
{
	struct rb_root old;
	unsigned int sz = 0;

	spin_lock_irq(&dc->lock);
	old = dc->blocks;
	dc->blocks = RB_ROOT;
	dc->count = 0;
	spin_unlock_irq(&dc->lock);

	if (RB_EMPTY_ROOT(&old)) {
		dmx_emit(result, maxlen, &sz, "dust_clear_badblocks: no badblocks found");
	} else {
		dust_free_tree(&old);
		dmx_emit(result, maxlen, &sz, "dust_clear_badblocks: badblocks cleared");
	}
	return DMX_MESSAGE_HAS_RESULT;
}

/*
 * One line per bad block, in order.  The walk stops when the answer
 * buffer is full: the caller then retries with a larger one, so the
 * time under the lock is bounded by the buffer, not by the list.
 */
static int dust_list_blocks(struct dust_ctx *dc, char *result,
			    unsigned int maxlen)
{
	struct rb_node *node;
	unsigned int sz = 0;

	spin_lock_irq(&dc->lock);
	for (node = rb_first(&dc->blocks); node && sz < maxlen;
	     node = rb_next(node))
		dmx_emit(result, maxlen, &sz, "%llu\n", (unsigned long long)
			 rb_entry(node, struct dust_block, node)->block);
	spin_unlock_irq(&dc->lock);
	if (!sz)
		dmx_emit(result, maxlen, &sz, "No blocks in badblocklist");
	return DMX_MESSAGE_HAS_RESULT;
}

static int dust_block_query(struct dust_ctx *dc, sector_t block, char *result,
			    unsigned int maxlen)
{
	unsigned int sz = 0;
	bool bad;

	spin_lock_irq(&dc->lock);
	bad = dust_find(dc, block);
	spin_unlock_irq(&dc->lock);
	dmx_emit(result, maxlen, &sz, "dust_query_block: block %llu %s in badblocklist",
		 (unsigned long long)block, bad ? "found" : "not found");
	return DMX_MESSAGE_HAS_RESULT;
}

static bool dust_is_block_command(const char *cmd)
{
	return !strcasecmp(cmd, "addbadblock") ||
	       !strcasecmp(cmd, "removebadblock") ||
	       !strcasecmp(cmd, "queryblock");
}

static int dust_message_no_args(struct dust_ctx *dc, const char *cmd,
				char *result, unsigned int maxlen)
{
	if (dust_is_block_command(cmd)) {
		DUST_ERR("%s requires an additional argument", cmd);
		return -EINVAL;
	}
	if (!strcasecmp(cmd, "disable")) {
		DUST_INFO("disabling read failures on bad sectors");
		WRITE_ONCE(dc->fail_reads, false);
		return 0;
	}
	if (!strcasecmp(cmd, "enable")) {
		DUST_INFO("enabling read failures on bad sectors");
		WRITE_ONCE(dc->fail_reads, true);
		return 0;
	}
	if (!strcasecmp(cmd, "quiet")) {
		WRITE_ONCE(dc->quiet, !dc->quiet);
		return 0;
	}
	if (!strcasecmp(cmd, "countbadblocks"))
		return dust_count_blocks(dc, result, maxlen);
	if (!strcasecmp(cmd, "clearbadblocks"))
		return dust_clear_blocks(dc, result, maxlen);
	if (!strcasecmp(cmd, "listbadblocks"))
		return dust_list_blocks(dc, result, maxlen);
	DUST_ERR("unrecognized message '%s' received", cmd);
	return -EINVAL;
}

/*
 * A block number from a message: junk fails without a word, as in
 * Linux; so does a block past the device's end, with one.  (Like Linux,
 * this accepts the block number equal to the device's block count.)
 */
static int dust_parse_block(struct dust_ctx *dc, const char *arg,
			    sector_t *block)
{
	sector_t blocks = bdev_nr_sectors(dc->dev->bdev) >> dc->block_shift;
	unsigned long long value;
	char dummy;

	if (sscanf(arg, "%llu%c", &value, &dummy) != 1)
		return -EINVAL;
	if (value > blocks) {
		DUST_ERR("selected block value out of range");
		return -EINVAL;
	}
	*block = value;
	return 0;
}

static int dust_message_block(struct dust_ctx *dc, char **argv, char *result,
			      unsigned int maxlen)
{
	sector_t block;
	int r;

	r = dust_parse_block(dc, argv[1], &block);
	if (r)
		return r;
	if (!strcasecmp(argv[0], "addbadblock"))
		return dust_block_add(dc, block, 0);
	if (!strcasecmp(argv[0], "removebadblock"))
		return dust_block_remove(dc, block);
	if (!strcasecmp(argv[0], "queryblock"))
		return dust_block_query(dc, block, result, maxlen);
	DUST_ERR("unrecognized message '%s' received", argv[0]);
	return -EINVAL;
}

/* addbadblock <block> <write fail count> */
static int dust_message_add_failing(struct dust_ctx *dc, char **argv)
{
	unsigned long long value;
	unsigned int fails;
	sector_t block;
	char dummy;
	int r;

	if (sscanf(argv[1], "%llu%c", &value, &dummy) != 1 ||
	    sscanf(argv[2], "%u%c", &fails, &dummy) != 1)
		return -EINVAL;
	if (fails > DUST_MAX_WRITE_FAILS) {
		DUST_ERR("selected write fail count out of range");
		return -EINVAL;
	}
	r = dust_parse_block(dc, argv[1], &block);
	if (r)
		return r;
	if (!strcasecmp(argv[0], "addbadblock"))
		return dust_block_add(dc, block, fails);
	DUST_ERR("unrecognized message '%s' received", argv[0]);
	return -EINVAL;
}

static int dust_message(struct dmx_target *ti, unsigned int argc, char **argv,
			char *result, unsigned int maxlen)
{
	struct dust_ctx *dc = ti->private;

	switch (argc) {
	case 1:
		return dust_message_no_args(dc, argv[0], result, maxlen);
	case 2:
		return dust_message_block(dc, argv, result, maxlen);
	case 3:
		return dust_message_add_failing(dc, argv);
	default:
		DUST_ERR("invalid number of arguments '%u'", argc);
		return -EINVAL;
	}
}

/* --- constructor and status ------------------------------------------- */

static int dust_parse_block_size(struct dmx_target *ti, const char *arg,
				 unsigned int *bytes)
{
	if (kstrtouint(arg, 10, bytes) || !*bytes) {
		ti->error = "Invalid block size parameter";
		return -EINVAL;
	}
	if (*bytes < SECTOR_SIZE) {
		ti->error = "Block size must be at least 512";
		return -EINVAL;
	}
	if (!is_power_of_2(*bytes)) {
		ti->error = "Block size must be a power of 2";
		return -EINVAL;
	}
	if (*bytes >> SECTOR_SHIFT > min_t(sector_t, ti->len, DUST_MAX_BLOCK_SECTORS)) {
		ti->error = "Block size is too large";
		return -EINVAL;
	}
	return 0;
}

static int dust_ctr(struct dmx_target *ti, unsigned int argc, char **argv)
{
	struct dust_ctx *dc;
	unsigned int bytes;
	sector_t start;
	int r;

	if (argc != 3) {
		ti->error = "Invalid argument count";
		return -EINVAL;
	}
	r = dust_parse_block_size(ti, argv[2], &bytes);
	if (r)
		return r;
	if (!dmx_parse_sector(argv[1], &start)) {
		ti->error = "Invalid device offset sector";
		return -EINVAL;
	}
	dc = kzalloc(sizeof(*dc), GFP_KERNEL);
	if (!dc) {
		ti->error = "Cannot allocate context";
		return -ENOMEM;
	}
	/* Whatever the lookup says, Linux's dust answers EINVAL. */
	if (dmx_get_device(ti, argv[0], &dc->dev)) {
		ti->error = "Device lookup failed";
		kfree(dc);
		return -EINVAL;
	}
	dc->start = start;
	dc->block_bytes = bytes;
	dc->block_shift = ilog2(bytes >> SECTOR_SHIFT);
	spin_lock_init(&dc->lock);
	dc->blocks = RB_ROOT;

	ti->max_io_len = bytes >> SECTOR_SHIFT;
	ti->num_flush_bios = 1;
	ti->num_discard_bios = 1;
	ti->private = dc;
	return 0;
}

static void dust_dtr(struct dmx_target *ti)
{
	struct dust_ctx *dc = ti->private;

	dust_free_tree(&dc->blocks);
	dmx_put_device(ti, dc->dev);
	kfree(dc);
}

/* IMA: nothing, as in Linux 6.1. */
static void dust_status(struct dmx_target *ti, enum dmx_status_type type,
			char *result, unsigned int maxlen)
{
	struct dust_ctx *dc = ti->private;
	unsigned int sz = 0;

	switch (type) {
	case DMX_STATUS_INFO:
		dmx_emit(result, maxlen, &sz, "%s %s %s", dc->dev->name,
			 READ_ONCE(dc->fail_reads) ? "fail_read_on_bad_block" : "bypass",
			 READ_ONCE(dc->quiet) ? "quiet" : "verbose");
		break;
	case DMX_STATUS_TABLE:
		dmx_emit(result, maxlen, &sz, "%s %llu %u", dc->dev->name,
			 (unsigned long long)dc->start, dc->block_bytes);
		break;
	case DMX_STATUS_IMA:
		break;
	}
}

static int dust_iterate_devices(struct dmx_target *ti, dmx_iterate_fn fn,
				void *data)
{
	struct dust_ctx *dc = ti->private;

	return fn(ti, dc->dev, dc->start, ti->len, data);
}

static struct dmx_target_type dust_target = {
	.name		 = "dust",
	.version	 = {1, 0, 0},
	.module		 = THIS_MODULE,
	.ctr		 = dust_ctr,
	.dtr		 = dust_dtr,
	.map		 = dust_map,
	.message	 = dust_message,
	.status		 = dust_status,
	.iterate_devices = dust_iterate_devices,
};

int dmx_dust_init(void)
{
	return dmx_register_target(&dust_target);
}

void dmx_dust_exit(void)
{
	dmx_unregister_target(&dust_target);
}
