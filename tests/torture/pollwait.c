// SPDX-License-Identifier: GPL-2.0
/*
 * pollwait MS: arms the control device for events (DEV_ARM_POLL), as
 * dmeventd does, and waits in poll() for the next one, at most MS
 * milliseconds.  Exit status 0 if an event came, 1 if the time ran
 * out, 2 if the control device would not answer.
 */
#define _GNU_SOURCE
#include "../c/dmx_test.h"

int main(int argc, char **argv)
{
	struct pollfd pfd = { .events = POLLIN };
	struct dmx_req r;
	int n;

	if (argc != 2)
		return 2;
	pfd.fd = dmx_open_control();
	if (pfd.fd < 0)
		return 2;
	dmx_req_init(&r, NULL);
	if (dmx_call(pfd.fd, DM_DEV_ARM_POLL, &r))
		return 2;
	n = poll(&pfd, 1, atoi(argv[1]));
	if (n < 0)
		return 2;
	return n ? 0 : 1;
}
