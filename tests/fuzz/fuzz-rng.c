// SPDX-License-Identifier: GPL-2.0
/*
 * The fuzzer's only source of randomness: splitmix64, seeded per
 * worker, so a seed names a call sequence exactly.  Also the values
 * that sit on boundaries (0, powers of two and their neighbours, the
 * limits of each integer width), which find more than uniform noise.
 */
#include "fuzz.h"

#include <stdlib.h>


void fz_rng_seed(struct fz_rng *r, uint64_t seed, unsigned int stream)
{
	r->s = seed * 0x9e3779b97f4a7c15ULL + stream * 0xbf58476d1ce4e5b9ULL + 1;
	fz_rand(r);
}

uint64_t fz_rand(struct fz_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t fz_below(struct fz_rng *r, uint64_t n)
{
	return n ? fz_rand(r) % n : 0;
}

bool fz_chance(struct fz_rng *r, unsigned int percent)
{
	return fz_below(r, 100) < percent;
}

uint64_t fz_interesting(struct fz_rng *r)
{
	static const uint64_t fixed[] = {
		0, 1, 2, 7, 8, 9, 15, 16, 63, 64, 127, 128, 255, 256, 511, 512,
		4095, 4096, 65535, 65536, 0x7fffffffULL, 0x80000000ULL,
		0xffffffffULL, 0x100000000ULL, 0x7fffffffffffffffULL,
		0x8000000000000000ULL, ~0ULL, ~0ULL - 1, 1ULL << 55,
		(1ULL << 63) / 512, ~0ULL / 512, ~0ULL >> 9,
	};
	unsigned int bit;

	switch (fz_below(r, 4)) {
	case 0:
		return fixed[fz_below(r, FZ_ARRAY_SIZE(fixed))];
	case 1:
		bit = fz_below(r, 64);
		return (1ULL << bit) + fz_below(r, 3) - 1;
	case 2:
		return fz_below(r, 70000);
	default:
		return fz_rand(r);
	}
}

uint32_t fz_interesting32(struct fz_rng *r)
{
	uint64_t v = fz_interesting(r);

	return fz_chance(r, 50) ? (uint32_t)v : (uint32_t)(v >> 32);
}

void fz_word(struct fz_rng *r, char *out, size_t max, bool printable)
{
	static const char alphabet[] =
		"abcdefghijklmnopqrstuvwxyz0123456789-_:./@\\ ";
	size_t len, i;

	if (!max)
		return;
	len = fz_below(r, max);
	if (fz_chance(r, 70) && len > 24)
		len = fz_below(r, 24);
	for (i = 0; i < len; i++) {
		if (printable)
			out[i] = alphabet[fz_below(r, sizeof(alphabet) - 1)];
		else
			out[i] = (char)(fz_below(r, 255) + 1);
	}
	out[len] = '\0';
}

void fz_number_text(struct fz_rng *r, char *out, size_t max, uint64_t valid)
{
	switch (fz_below(r, 10)) {
	case 0:
		snprintf(out, max, "-%llu", (unsigned long long)valid);
		break;
	case 1:
		snprintf(out, max, "0x%llx", (unsigned long long)valid);
		break;
	case 2:
		snprintf(out, max, "%llux", (unsigned long long)valid);
		break;
	case 3:
		snprintf(out, max, "%llu", (unsigned long long)fz_interesting(r));
		break;
	case 4:
		snprintf(out, max, "18446744073709551616%llu",
			 (unsigned long long)valid);
		break;
	case 5:
		snprintf(out, max, "+%llu", (unsigned long long)valid);
		break;
	case 6:
		snprintf(out, max, "%s", "");
		break;
	default:
		snprintf(out, max, "%llu", (unsigned long long)valid);
		break;
	}
}
