#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# lint.sh checkpatch|sparse: the kernel's own checkers on our files
# (checkpatch also runs kernel-doc).
. "$(dirname "$0")/lib.sh"

SRC=$(base_tree)
C_FILES=$OUR_C_FILES
case "${1:-}" in
checkpatch)
	# Errors fail; warnings are shown, to be justified or fixed.
	errors=0
	for f in $OVERLAY_FILES; do
		case $f in *.c|*.h) ;; *) continue ;; esac
		out=$("$SRC/scripts/checkpatch.pl" --no-tree --terse -q -f \
			"$TOP/$f" 2>&1) || true
		[ -n "$out" ] && printf '%s\n' "$out"
		n=$(printf '%s\n' "$out" | grep -c ': ERROR:' || true)
		errors=$((errors + n))
	done
	# The patch series to upstream files, as patches.
	for p in $(sed -e '/^#/d' -e '/^[[:space:]]*$/d' "$TOP/patches/series"); do
		out=$("$SRC/scripts/checkpatch.pl" --no-tree --terse -q \
			"$TOP/patches/$p" 2>&1) || true
		[ -n "$out" ] && printf '%s: %s\n' "$p" "$out"
		n=$(printf '%s\n' "$out" | grep -c 'ERROR:' || true)
		errors=$((errors + n))
	done
	# kernel-doc on every documented function, with Return: where due.
	# shellcheck disable=SC2086
	out=$(cd "$TOP" && "$SRC/scripts/kernel-doc" -none -Wall $C_FILES \
		include/linux/userfaultfd_k.h fs/userfaultfd/internal.h 2>&1)
	[ -n "$out" ] && { printf '%s\n' "$out"; errors=$((errors + 1)); }
	[ "$errors" = 0 ]
	;;
sparse)
	command -v sparse >/dev/null || die "sparse missing (make deps)"
	objs=$(echo $C_FILES | sed 's/\.c/.o/g')
	# Rebuild just our objects with sparse (C=2 checks even if up to date).
	# shellcheck disable=SC2086
	make -s -C "$TREE" O="$BUILD/obj-uffd" C=2 $objs 2>&1 |
		grep -E 'warning|error' | tee "$BUILD/sparse.log"
	# pte_offset_map() and pte_offset_map_lock() take RCU conditionally
	# (__cond_lock); sparse cannot follow the early return when the page
	# table is gone and reports "context imbalance ... unexpected unlock"
	# at rcupdate.h, for upstream's users of the API as for ours
	# (upstream mm/userfaultfd.c, mm/mprotect.c change_pte_range()).
	# Everything else fails.
	! grep -v 'rcupdate.h:[0-9]*:[0-9]*: warning: context imbalance in .* - unexpected unlock' \
		"$BUILD/sparse.log" | grep -q .
	;;
*)
	die "usage: lint.sh checkpatch|sparse"
	;;
esac
