#!/bin/sh
# Print the ABI of Debian 12's kernel that dmx.ko is built for by default
# (e.g. 6.1.0-57-amd64): the one linux-headers-amd64 depends on, installed
# or else the archive's candidate.  The installed one comes first so that
# a newer kernel in the archive cannot give us an image the module won't
# load in.  Env DMX_ABI overrides; prints nothing if neither tells.
#
# The one place this is worked out: the Makefile (KDIR) and
# tests/vm/kernel.sh (the 6.1 guest) both ask it.
set -u
if [ -n "${DMX_ABI:-}" ]; then
	echo "$DMX_ABI"
	exit 0
fi
deps=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null || true)
[ -n "$deps" ] || deps=$(apt-cache depends linux-headers-amd64 2>/dev/null || true)
abi=$(echo "$deps" | grep -o 'linux-headers-[0-9][^ ,]*' | head -n 1)
[ -z "$abi" ] || echo "${abi#linux-headers-}"
