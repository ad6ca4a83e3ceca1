#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Unpack the Debian kernel source once (unless KSRC names a tree).
. "$(dirname "$0")/lib.sh"

mkdir -p "$BUILD"
if [ -z "$KSRC" ] && [ ! -f "$PRISTINE/Makefile" ]; then
	[ -f "$KERNEL_TARBALL" ] || die "$KERNEL_TARBALL missing (make deps)"
	say "unpacking $(basename "$KERNEL_TARBALL")"
	rm -rf "$PRISTINE" "$BUILD/linux-source-6.12"
	tar -xJf "$KERNEL_TARBALL" -C "$BUILD"
	mv "$BUILD/linux-source-6.12" "$PRISTINE"
fi
SRC=$(base_tree)
[ -f "$SRC/Makefile" ] || die "no kernel tree at $SRC"
grep -q '^PATCHLEVEL = 12$' "$SRC/Makefile" || die "$SRC is not a 6.12 tree"

