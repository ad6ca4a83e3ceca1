#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# lint.sh checkpatch|sparse: the kernel's own checkers on our files.
. "$(dirname "$0")/lib.sh"

SRC=$(base_tree)
C_FILES="fs/userfaultfd.c mm/userfaultfd.c"
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
	[ "$errors" = 0 ]
	;;
sparse)
	command -v sparse >/dev/null || die "sparse missing (make deps)"
	objs=$(echo $C_FILES | sed 's/\.c/.o/g')
	# Rebuild just our objects with sparse (C=2 checks even if up to date).
	# shellcheck disable=SC2086
	make -s -C "$TREE" O="$BUILD/obj-uffd" C=2 $objs 2>&1 |
		grep -E 'userfaultfd' | tee "$BUILD/sparse.log"
	[ ! -s "$BUILD/sparse.log" ]
	;;
*)
	die "usage: lint.sh checkpatch|sparse"
	;;
esac
