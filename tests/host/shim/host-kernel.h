/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Just enough of the kernel's interfaces, in user space, for the
 * persistent-data engine and the thin pool metadata to build on the
 * host (tests/host/): types, byte order, allocation, bitmaps, lists and
 * a no-op rw_semaphore.  The block cache is replaced as a whole by
 * tests/host/pdata_bm_host.c.  Little-endian hosts only.
 */
#ifndef HOST_KERNEL_H
#define HOST_KERNEL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the host build assumes a little-endian host"
#endif

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef unsigned long long u64;
typedef long long s64;
typedef uint8_t __u8;
typedef uint32_t __le32;
typedef unsigned long long __le64;
typedef unsigned long long sector_t;
typedef unsigned int gfp_t;

#define GFP_KERNEL	0U
#define GFP_NOIO	0U
#define __packed	__attribute__((packed))
#define U32_MAX		UINT32_MAX
#define BITS_PER_LONG	(8 * (int)sizeof(long))
#define BITS_TO_LONGS(n) (((n) + BITS_PER_LONG - 1) / BITS_PER_LONG)
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define DIV_ROUND_UP_ULL(n, d) (((unsigned long long)(n) + (d) - 1) / (d))
#define READ_ONCE(x)	(x)

#define le32_to_cpu(x)	((u32)(x))
#define le64_to_cpu(x)	((u64)(x))
#define cpu_to_le32(x)	((__le32)(x))
#define cpu_to_le64(x)	((__le64)(x))

#define min(a, b)	((a) < (b) ? (a) : (b))
#define max(a, b)	((a) > (b) ? (a) : (b))
#define min_t(t, a, b)	((t)(a) < (t)(b) ? (t)(a) : (t)(b))
#define max_t(t, a, b)	((t)(a) > (t)(b) ? (t)(a) : (t)(b))

#define pr_err(...)		fprintf(stderr, __VA_ARGS__)
#define pr_warn(...)		fprintf(stderr, __VA_ARGS__)
#define pr_err_ratelimited(...)	fprintf(stderr, __VA_ARGS__)
#define WARN_ON(c)		({ bool _c = (c); if (_c) fprintf(stderr, "WARN_ON %s:%d\n", __FILE__, __LINE__); _c; })
#define WARN_ON_ONCE(c)		WARN_ON(c)

#define MAX_ERRNO	4095
#define IS_ERR_VALUE(x)	((unsigned long)(void *)(x) >= (unsigned long)-MAX_ERRNO)
static inline void *ERR_PTR(long error) { return (void *)error; }
static inline long PTR_ERR(const void *p) { return (long)p; }
static inline bool IS_ERR(const void *p) { return IS_ERR_VALUE(p); }
static inline bool IS_ERR_OR_NULL(const void *p) { return !p || IS_ERR_VALUE(p); }

static inline void *kmalloc(size_t n, gfp_t gfp) { return malloc(n); }
static inline void *kzalloc(size_t n, gfp_t gfp) { return calloc(1, n); }
static inline void *kvcalloc(size_t n, size_t size, gfp_t gfp) { return calloc(n ? n : 1, size); }
static inline void kfree(const void *p) { free((void *)p); }
static inline void kvfree(const void *p) { free((void *)p); }

static inline void *memchr_inv(const void *s, int c, size_t n)
{
	const unsigned char *p = s;
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != (unsigned char)c)
			return (void *)(p + i);
	return NULL;
}

/* Bitmaps. */
static inline bool test_bit(unsigned long nr, const unsigned long *addr)
{
	return (addr[nr / BITS_PER_LONG] >> (nr % BITS_PER_LONG)) & 1;
}

static inline void __set_bit(unsigned long nr, unsigned long *addr)
{
	addr[nr / BITS_PER_LONG] |= 1UL << (nr % BITS_PER_LONG);
}

static inline void __clear_bit(unsigned long nr, unsigned long *addr)
{
	addr[nr / BITS_PER_LONG] &= ~(1UL << (nr % BITS_PER_LONG));
}

static inline unsigned long find_next_bit(const unsigned long *addr,
					  unsigned long size,
					  unsigned long offset)
{
	for (; offset < size; offset++)
		if (test_bit(offset, addr))
			return offset;
	return size;
}

static inline unsigned long find_next_zero_bit(const unsigned long *addr,
					       unsigned long size,
					       unsigned long offset)
{
	for (; offset < size; offset++)
		if (!test_bit(offset, addr))
			return offset;
	return size;
}

static inline unsigned long find_first_bit(const unsigned long *addr,
					   unsigned long size)
{
	return find_next_bit(addr, size, 0);
}

static inline bool bitmap_empty(const unsigned long *addr, unsigned long size)
{
	return find_first_bit(addr, size) >= size;
}

static inline void bitmap_copy(unsigned long *dst, const unsigned long *src,
			       unsigned long size)
{
	memcpy(dst, src, BITS_TO_LONGS(size) * sizeof(long));
}

static inline unsigned int bitmap_weight(const unsigned long *addr,
					 unsigned long size)
{
	unsigned long i;
	unsigned int w = 0;

	for (i = 0; i < size; i++)
		w += test_bit(i, addr);
	return w;
}

/* Lists. */
struct list_head {
	struct list_head *next, *prev;
};

#define LIST_HEAD(name) struct list_head name = { &(name), &(name) }
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#define list_entry(ptr, type, member) container_of(ptr, type, member)

static inline void INIT_LIST_HEAD(struct list_head *l)
{
	l->next = l;
	l->prev = l;
}

static inline void list_add(struct list_head *n, struct list_head *head)
{
	n->next = head->next;
	n->prev = head;
	head->next->prev = n;
	head->next = n;
}

static inline void list_del(struct list_head *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = n->prev = NULL;
}

#define list_for_each_entry(pos, head, member)				\
	for (pos = list_entry((head)->next, __typeof__(*pos), member);	\
	     &pos->member != (head);					\
	     pos = list_entry(pos->member.next, __typeof__(*pos), member))

#define list_for_each_entry_safe(pos, n, head, member)			\
	for (pos = list_entry((head)->next, __typeof__(*pos), member),	\
	     n = list_entry(pos->member.next, __typeof__(*pos), member);	\
	     &pos->member != (head);					\
	     pos = n, n = list_entry(n->member.next, __typeof__(*n), member))

/* One thread: locks are no-ops. */
struct rw_semaphore {
	int unused;
};

#define init_rwsem(s)		((void)(s))
#define down_read(s)		((void)(s))
#define up_read(s)		((void)(s))
#define down_write(s)		((void)(s))
#define up_write(s)		((void)(s))
#define down_read_trylock(s)	((void)(s), 1)

/* A block device is a file. */
struct block_device {
	int fd;
	u64 sectors;
	bool read_only;
};

static inline sector_t bdev_nr_sectors(struct block_device *bdev)
{
	return bdev->sectors;
}

static inline bool bdev_read_only(struct block_device *bdev)
{
	return bdev->read_only;
}

#endif /* HOST_KERNEL_H */
