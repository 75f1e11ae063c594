// SPDX-License-Identifier: GPL-2.0
/*
 * kmsg-tee FILE: copies every kernel log record from now on into FILE,
 * as dmesg prints them ("[ seconds] text"), until killed (SIGTERM or
 * SIGINT; it flushes and exits 0).
 *
 * Fault injection prints a stack per injected failure; thousands of
 * them overrun the ring buffer, and reports that matter (KASAN,
 * lockdep) would be lost with them.  Reading /dev/kmsg as it fills
 * keeps them; records overwritten before we read them are counted
 * and the count is the last line ("kmsg-tee: N records lost").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Set by the signal; read() returns EINTR, so the loop sees it. */
static sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* "pri,seq,usec,flags;text": the text with the time in front. */
static void print_record(FILE *out, char *rec, ssize_t len)
{
	unsigned long long usec = 0;
	char *text = memchr(rec, ';', len);
	char *nl;
	int pri, n;

	if (!text)
		return;
	*text++ = '\0';
	n = sscanf(rec, "%d,%*u,%llu", &pri, &usec);
	if (n < 2)
		return;
	rec[len] = '\0';
	/* Continuation lines (" KEY=value") follow the first newline. */
	nl = strchr(text, '\n');
	if (nl)
		*nl = '\0';
	/* A newline inside a message comes escaped: one line per line. */
	for (;;) {
		char *esc = strstr(text, "\\x0a");

		if (esc)
			*esc = '\0';
		fprintf(out, "[%5llu.%06llu] %s\n", usec / 1000000, usec % 1000000, text);
		if (!esc)
			break;
		text = esc + 4;
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	unsigned long lost = 0;
	char rec[8192];
	FILE *out;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: kmsg-tee FILE\n");
		return 2;
	}
	out = fopen(argv[1], "w");
	fd = open("/dev/kmsg", O_RDONLY | O_CLOEXEC);
	if (!out || fd < 0) {
		perror("kmsg-tee");
		return 2;
	}
	lseek(fd, 0, SEEK_END);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (!stop) {
		ssize_t n = read(fd, rec, sizeof(rec) - 1);

		if (n > 0) {
			print_record(out, rec, n);
			continue;
		}
		if (n < 0 && errno == EPIPE) {
			lost++;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		break;
	}
	/* What is still buffered, without waiting for more. */
	fcntl(fd, F_SETFL, O_NONBLOCK);
	for (;;) {
		ssize_t n = read(fd, rec, sizeof(rec) - 1);

		if (n > 0)
			print_record(out, rec, n);
		else if (!(n < 0 && errno == EPIPE))
			break;
	}
	fprintf(out, "kmsg-tee: %lu records lost\n", lost);
	fclose(out);
	return 0;
}
