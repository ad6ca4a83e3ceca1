#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make series-check: apply build/series/ with `git am` onto a clean git
# repository of the base, one patch at a time; after each, checkpatch
# (no errors) and an incremental kernel build.  Then check that the tree
# is byte for byte the overlay build's (build/linux-uffd), and boot the
# final kernel to run our selftests, built from the applied tree.  Fails
# naming the first patch that does not apply, pass checkpatch or build.
. "$(dirname "$0")/lib.sh"

SERIES=$BUILD/series
BASEGIT=$BUILD/series-base
CHK=$BUILD/series-check
tree=$CHK/linux
[ -f "$SERIES/0000-cover-letter.patch" ] || die "no series (make series)"
base=$(sed -n 's/^base-commit: //p' "$SERIES/0000-cover-letter.patch")
[ -n "$base" ] || die "the cover letter names no base-commit"

mkdir -p "$CHK"
if [ ! -d "$tree/.git" ] ||
   [ "$(git -C "$tree" cat-file -t "$base" 2>/dev/null)" != commit ]; then
	say "checking out the base for series-check (once)"
	rm -rf "$tree"
	git clone -q "$BASEGIT" "$tree"
fi
# A clean base: whatever the last run left is reset, and its objects are
# kept, so the first build after the first patch is the only full one.
git -C "$tree" am --abort >/dev/null 2>&1 || true
git -C "$tree" checkout -q -B check "$base"
git -C "$tree" reset -q --hard "$base"
git -C "$tree" clean -q -fdx
export GIT_COMMITTER_NAME=series-check GIT_COMMITTER_EMAIL=uffd@example.invalid

failed() { say "series-check FAILED at $1: $2"; exit 1; }
n=0
for p in "$SERIES"/[0-9][0-9][0-9][0-9]-*.patch; do
	name=$(basename "$p")
	[ "${name#0000-}" = "$name" ] || continue
	n=$((n + 1))
	git -C "$tree" am -q "$p" >"$CHK/am.log" 2>&1 ||
		{ cat "$CHK/am.log" >&2; failed "$name" "does not apply"; }
	"$tree/scripts/checkpatch.pl" --no-tree --no-summary --terse \
		"$p" >"$CHK/checkpatch-$n.log" 2>&1 || true
	errors=$(grep -c ': ERROR:' "$CHK/checkpatch-$n.log" || true)
	warnings=$(grep -c ': WARNING:' "$CHK/checkpatch-$n.log" || true)
	[ "$errors" = 0 ] ||
		{ grep ': ERROR:' "$CHK/checkpatch-$n.log" | head >&2
		  failed "$name" "checkpatch: $errors errors"; }
	"$TOP/harness/build-kernel.sh" series >"$CHK/build-$n.log" 2>&1 ||
		{ tail -20 "$CHK/build-$n.log" >&2; failed "$name" "the kernel does not build"; }
	printf 'ok    %s (checkpatch: 0 errors, %s warnings; builds)\n' \
		"$name" "$warnings"
done
[ $n -gt 0 ] || die "no patches in $SERIES"

# The applied series is the overlay build's source, byte for byte.
"$TOP/harness/tree.sh"
if ! diff -r -q --exclude=.git --exclude=.uffd-series "$tree" "$TREE" \
	>"$CHK/diff.log" 2>&1; then
	head -20 "$CHK/diff.log" >&2
	failed "the end" "the applied tree differs from $TREE"
fi
echo "ok    the applied series is the overlay build's tree, byte for byte"

# Our selftests, built from the applied tree, on its kernel.
make -s -C "$tree" O="$CHK/hdr" headers >/dev/null
rm -rf "$CHK/selftests"
mkdir -p "$CHK/selftests"
make -s -C "$tree/tools/testing/selftests/vm" OUTPUT="$CHK/selftests" \
	KHDR_INCLUDES="-isystem $CHK/hdr/usr/include"
set +e
# As make check boots: two fake NUMA nodes, for the migration cases.
BOOT_APPEND="numa=fake=2" "$TOP/harness/boot.sh" --timeout 1200 \
	--log "$CHK/console.log" "$CHK/bzImage" -- \
	sh "$TOP/harness/guest-selftests.sh" "$CHK/selftests" >/dev/null
st=$?
set -e
tr -d '\r' < "$CHK/console.log" > "$CHK/console.txt"
pass=$(grep '^ok [0-9]' "$CHK/console.txt" | grep -vc '# SKIP' || true)
skip=$(grep '^ok [0-9]' "$CHK/console.txt" | grep -c '# SKIP' || true)
fail=$(grep -c '^not ok [0-9]' "$CHK/console.txt" || true)
grep '^not ok [0-9]' "$CHK/console.txt" >&2 || true
[ "$st" = 0 ] && [ "$fail" = 0 ] && [ "$pass" -gt 0 ] ||
	failed "the end" "our selftests on the series' kernel: $pass passed, $fail failed (status $st; $CHK/console.log)"
echo "ok    our selftests on the series' kernel: $pass passed, 0 failed, $skip skipped"
echo "series-check: $n patches apply, pass checkpatch and build; the tree is the overlay's"
