# SPDX-License-Identifier: GPL-2.0
#
# uffd: our userfaultfd, as an overlay and patch series on a Linux 6.12 tree.
#
#   make kernel        overlay + patches on a copy of the base, configure, build
#   make stock-kernel  the same base and config, upstream userfaultfd untouched
#   make run [CMD=...] boot our kernel under QEMU and run CMD (default: demo)
#   make check         build everything, boot, run the selftests and a real
#                      client (QEMU background snapshot), summarise
#   make check-clients [KERNEL=stock]  every real client's scenario
#   make watch-postcopy [MEM=anon|memfd|hugetlbfs]  watch QEMU post-copy
#   make bench         benchmarks on non-debug builds of both kernels (not part of check)
#   make configs       build our tree in a matrix of configurations (CI runs it)
#   make series        the work as a patch series (git format-patch) in build/series/
#   make series-check  git am it onto the base, build after every patch, boot it
#
# KSRC=/path/to/linux-6.12 uses that tree as the (never modified) base;
# EXTRA_CONFIG=frag merges a further config fragment into both kernels.

TOP		:= $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BUILD		:= $(TOP)/build
JOBS		?= $(shell nproc)
KSRC		?=
EXTRA_CONFIG	?=
CMD		?= $(BUILD)/demo/uffd-demo
TIMEOUT		?= 600
MEM		?= anon

export TOP BUILD JOBS KSRC EXTRA_CONFIG

H := $(TOP)/harness

.PHONY: all deps base kernel stock-kernel selftests upstream-tests demo clients run \
	check check-clients watch-postcopy series series-check bench bench-profile configs checkpatch sparse clean distclean

all: kernel

deps:
	@$(H)/deps.sh

base: deps
	@$(H)/base.sh

kernel: base
	@$(H)/build-kernel.sh uffd

stock-kernel: base
	@$(H)/build-kernel.sh stock

selftests: base
	@$(H)/build-tests.sh selftests

upstream-tests: base
	@$(H)/build-tests.sh upstream

demo: deps
	@$(H)/build-tests.sh demo

clients: deps
	@$(H)/build-tests.sh clients

run: kernel demo
	@$(H)/boot.sh --timeout $(TIMEOUT) $(BUILD)/bzImage -- $(CMD)

check: kernel selftests upstream-tests demo clients
	@$(H)/check.sh

# Every real client's scenario (longer than make check's one); KERNEL=stock
# runs them on stock 6.12 built the same way (make stock-kernel).
check-clients: clients $(if $(filter stock,$(KERNEL)),stock-kernel,kernel)
	@$(H)/check-clients.sh

# QEMU migrates a running VM post-copy on our kernel, printing every
# second what is sent, what the destination's faults asked for and what
# its userfaultfd holds; MEM is where the VM's RAM lives.
watch-postcopy: kernel clients
	@$(H)/boot.sh --timeout $(TIMEOUT) $(BUILD)/bzImage -- python3 \
		$(TOP)/clients/qemu/postcopy.py $(BUILD)/tests/clients/wl-guest.elf \
		/tmp $(MEM) watch

bench: base upstream-tests
	@$(H)/bench.sh

# Where the kernel spends uffd-tput's timed region (KERNEL=uffd|stock,
# PROFILE='uffd-tput arguments').
bench-profile: base
	@$(H)/bench-profile.sh

configs: base
	@$(H)/configs.sh

# The patch series: its order and messages are in series/.
series: base
	@$(H)/series.sh

series-check: series
	@$(H)/series-check.sh

checkpatch: base
	@$(H)/lint.sh checkpatch

sparse: kernel
	@$(H)/lint.sh sparse

clean:
	rm -rf $(BUILD)/obj-uffd $(BUILD)/obj-stock $(BUILD)/obj-*-bench \
	       $(BUILD)/tests $(BUILD)/demo $(BUILD)/bench \
	       $(BUILD)/bzImage $(BUILD)/stock $(BUILD)/configs

distclean:
	rm -rf $(BUILD)
