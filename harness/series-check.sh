#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make series-check: apply build/series/ with `git am` onto a clean git
# repository of the base, one patch at a time; after each, checkpatch
# (no errors) and an incremental kernel build.  Then check that the tree
# is the overlay build's (build/linux-uffd), file for file and mode for
# mode, and boot the final kernel to run our selftests, built from the
# applied tree.  Fails naming the first patch that does not apply, pass
# checkpatch or build.
. "$(dirname "$0")/lib.sh"

CHK=$BUILD/series-check
tree=$CHK/linux
# The skips our selftests may report on this machine (TCG has no user
# shadow stacks); any other skip fails, as a failure does.
ALLOWED_SKIPS="uffd.shadow_stack_refused"

[ -f "$BUILD/series/0000-cover-letter.patch" ] || die "no series (make series)"
# Our own copy: a `make series` meanwhile must not change it under us.
rm -rf "$CHK/series"
mkdir -p "$CHK"
cp -a "$BUILD/series" "$CHK/series"
SERIES=$CHK/series
base=$(sed -n 's/^base-commit: //p' "$SERIES/0000-cover-letter.patch")
[ -n "$base" ] || die "the cover letter names no base-commit"
basegit=$BUILD/series-base
[ -d "$(base_tree)/.git" ] && basegit=$(base_tree)

# No one's git configuration changes how patches apply (am.threeWay would
# hide context that no longer matches).
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_COMMITTER_NAME=series-check GIT_COMMITTER_EMAIL=uffd@example.invalid
if [ ! -d "$tree/.git" ] ||
   [ "$(git -C "$tree" cat-file -t "$base" 2>/dev/null)" != commit ]; then
	say "checking out the base for series-check (once)"
	rm -rf "$tree"
	git clone -q --no-checkout "$basegit" "$tree"
fi
# A clean base, whatever the last run left; the build objects stay, so
# only the first build after the first patch is a full one.
rm -f "$tree/.git/index.lock"
git -C "$tree" am --abort >/dev/null 2>&1 || true
git -C "$tree" checkout -q -f -B check "$base"
git -C "$tree" clean -q -fdx

failed() { say "series-check FAILED at $1: $2"; exit 1; }
n=0
for p in "$SERIES"/[0-9][0-9][0-9][0-9]-*.patch; do
	name=$(basename "$p")
	[ "${name#0000-}" = "$name" ] || continue
	n=$((n + 1))
	git -C "$tree" am -q "$p" >"$CHK/am.log" 2>&1 ||
		{ cat "$CHK/am.log" >&2; failed "$name" "does not apply"; }
	log=$CHK/checkpatch-$n.log
	"$tree/scripts/checkpatch.pl" --no-tree --color=never "$p" \
		>"$log" 2>&1 || true
	# Its own count, which (not --terse) it prints whatever it found.
	total=$(sed -n 's/.*total: \([0-9]*\) errors, \([0-9]*\) warnings.*/\1 \2/p' "$log")
	[ -n "$total" ] || { tail -5 "$log" >&2; failed "$name" "checkpatch did not finish"; }
	read -r errors warnings <<< "$total"
	[ "$errors" = 0 ] ||
		{ grep 'ERROR:' "$log" | head >&2
		  failed "$name" "checkpatch: $errors errors"; }
	"$TOP/harness/build-kernel.sh" series >"$CHK/build-$n.log" 2>&1 ||
		{ tail -20 "$CHK/build-$n.log" >&2; failed "$name" "the kernel does not build"; }
	printf 'ok    %s (checkpatch: 0 errors, %s warnings; builds)\n' \
		"$name" "$warnings"
done
[ $n -gt 0 ] || die "no patches in $SERIES"

# The applied series is the overlay build's source: the same git tree
# (contents, modes and symlinks) for both.
"$TOP/harness/tree.sh"
idx=$CHK/overlay.index
rm -f "$idx"
overlay=$(GIT_INDEX_FILE=$idx git -C "$tree" --work-tree="$TREE" add -A -f :/ &&
	  GIT_INDEX_FILE=$idx git -C "$tree" --work-tree="$TREE" rm -q --cached \
		:/.uffd-series &&
	  GIT_INDEX_FILE=$idx git -C "$tree" write-tree)
rm -f "$idx"
applied=$(git -C "$tree" rev-parse 'HEAD^{tree}')
if [ "$overlay" != "$applied" ]; then
	git -C "$tree" diff --stat "$applied" "$overlay" | tail -20 >&2
	failed "the end" "the applied tree differs from $TREE"
fi
echo "ok    the applied series is the overlay build's tree (git tree $applied)"

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
txt=$CHK/console.txt
tr -d '\r' < "$CHK/console.log" > "$txt"
planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$txt" | awk '{ s += $1 } END { print s + 0 }')
pass=$(grep '^ok [0-9]' "$txt" | grep -vc '# SKIP' || true)
fail=$(grep -c '^not ok [0-9]' "$txt" || true)
skips=$(grep '^ok [0-9].*# SKIP' "$txt" | sed 's/^ok [0-9]* \([^ ]*\).*/\1/' || true)
grep '^not ok [0-9]' "$txt" >&2 || true
for s in $skips; do
	case " $ALLOWED_SKIPS " in
	*" $s "*) ;;
	*) failed "the end" "our selftests: $s skipped, which it must not here" ;;
	esac
done
nskip=$(printf '%s\n' "$skips" | grep -c . || true)
[ "$st" = 0 ] && [ "$fail" = 0 ] && [ "$planned" -gt 0 ] &&
	[ $((pass + nskip)) = "$planned" ] ||
	failed "the end" "our selftests on the series' kernel: $pass passed, $fail failed, $nskip skipped of $planned (status $st; $CHK/console.log)"
echo "ok    our selftests on the series' kernel: $pass passed, 0 failed, $nskip skipped ($ALLOWED_SKIPS)"
echo "series-check: $n patches apply, pass checkpatch and build; the tree is the overlay's"
