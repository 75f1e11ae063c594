# SPDX-License-Identifier: GPL-2.0
#
# dmx: builds dmx.ko out of tree and runs its tests in a VM.
#
#   make              build dmx.ko against KDIR (Debian's 6.1 headers)
#   make check        install what is missing, then on each kernel (KERNELS,
#                     default 6.1 and 6.12): build dmx.ko for it, the DKMS
#                     test, one VM boot running every test, the crash test
#   make check-debug  the same on a debug kernel (KASAN, lockdep, kmemleak),
#                     built once from Debian's linux-source into the cache
#   make gate         CI's debug-kernel part: ioctl suites, 10^5 fuzzed
#                     calls, fault injection, a short torture
#   make fuzz         the ioctl fuzzer on the debug kernel, 10^6 calls
#   make torture      I/O under concurrent commands on the debug kernel
#   make demo         boot the VM and show what dmx does
#   make bench        dmx against the stock device-mapper, same VM boot
#   make lint         checkpatch.pl and sparse
#   make install      modules_install into KDIR's tree under updates/, depmod
#   make clean

SHELL := /bin/sh
# The ABI of Debian 12's kernel, the one tests/vm/kernel.sh boots for 6.1
# (tests/vm/abi.sh says how it is found); only asked for when KDIR is not
# given.
DMX_DIR := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
DMX_ABI ?= $(shell sh $(DMX_DIR)/tests/vm/abi.sh)
KDIR ?= /usr/src/linux-headers-$(DMX_ABI)
# The kernels make check runs on (tests/vm/kernel.sh): 6.1 and/or 6.12.
KERNELS ?= 6.1 6.12

.PHONY: all modules check check-debug gate demo bench lint install clean deps tests fuzz torture

all: modules

modules:
	@test -d "$(KDIR)" || { echo "KDIR $(KDIR) not found: install linux-headers-amd64 or set KDIR=" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

deps:
	sh tests/vm/deps.sh

tests:
	sh tests/vm/build-tests.sh
	sh tests/fuzz/build.sh

check: deps
	$(MAKE) tests
	sh tests/vm/check.sh --kernels "$(KERNELS)" $(CHECK_FLAGS)

check-debug: deps
	$(MAKE) tests
	sh tests/vm/run.sh --mode check --kernel debug --timeout 5400

gate: deps
	$(MAKE) tests
	sh tests/vm/debug-gate.sh

fuzz: deps
	$(MAKE) tests
	sh tests/fuzz/run.sh

torture: deps
	$(MAKE) tests
	sh tests/torture/run.sh

demo: deps
	$(MAKE) tests
	sh tests/vm/run.sh --mode demo

# The run's table goes to bench/RESULTS.md even when a row failed; the
# exit status is the run's.
bench: deps
	$(MAKE) tests
	sh tests/vm/run.sh --mode bench; rc=$$?; \
	sh tests/bench/results.sh \
		"$${DMX_KERNEL:+DMX_KERNEL=$$DMX_KERNEL }make bench$${DMX_GUEST_ARGS:+ DMX_GUEST_ARGS='$$DMX_GUEST_ARGS'}"; exit $$rc

lint: deps
	sh tests/lint.sh

install: modules
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_DIR=updates modules_install
	depmod -a $(shell $(MAKE) -s -C $(KDIR) kernelrelease 2>/dev/null)

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf tests/build
