# SPDX-License-Identifier: GPL-2.0
# Shared settings for the harness scripts.  Sourced, not run.
set -euo pipefail

TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BUILD=${BUILD:-$TOP/build}
JOBS=${JOBS:-$(nproc)}
KSRC=${KSRC:-}
PRISTINE=$BUILD/linux-pristine		# unpacked base, never modified
TREE=$BUILD/linux-uffd			# base + patches + our overlay
KERNEL_TARBALL=/usr/src/linux-source-6.12.tar.xz

# The files this repository owns inside the kernel tree.
OVERLAY_FILES="
fs/userfaultfd/Makefile
fs/userfaultfd/internal.h
fs/userfaultfd/file.c
fs/userfaultfd/fault.c
fs/userfaultfd/event.c
fs/userfaultfd/ioctl.c
mm/userfaultfd.c
mm/userfaultfd_move.c
mm/userfaultfd_internal.h
include/linux/userfaultfd_k.h
include/uapi/linux/userfaultfd.h
tools/testing/selftests/vm/uffd_test.h
tools/testing/selftests/vm/uffd-api.c
tools/testing/selftests/vm/uffd-fill.c
tools/testing/selftests/vm/uffd-minor.c
tools/testing/selftests/vm/uffd-move.c
tools/testing/selftests/vm/uffd-fault.c
tools/testing/selftests/vm/uffd-events.c
tools/testing/selftests/vm/uffd-wp.c
tools/testing/selftests/vm/Makefile
tools/testing/selftests/vm/config
Documentation/vm/userfaultfd.txt
"

# Upstream files our overlay replaces (fs/userfaultfd/ replaces
# fs/userfaultfd.c, patches/0003): gone from the tree we build.
OVERLAY_REPLACES="
fs/userfaultfd.c
"

# Our C files, for the checkers.
OUR_C_FILES="fs/userfaultfd/file.c fs/userfaultfd/fault.c fs/userfaultfd/event.c
fs/userfaultfd/ioctl.c mm/userfaultfd.c mm/userfaultfd_move.c"

# The line a real client's scenario ends with, saying what it did.
CLIENT_RESULT='^(bgsnap|postcopy|criu-lazy-[a-z-]*|firecracker-[0-9a-z]*-[a-z]*): '

say() { printf '[uffd] %s\n' "$*" >&2; }
die() { printf '[uffd] error: %s\n' "$*" >&2; exit 1; }

# The base tree: KSRC if given, else the unpacked Debian source.
base_tree() {
	if [ -n "$KSRC" ]; then
		echo "$KSRC"
	else
		echo "$PRISTINE"
	fi
}
