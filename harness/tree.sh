#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Keep $TREE = base + patch series + our overlay.  Unchanged overlay files
# keep their timestamps, so rebuilds are incremental.
. "$(dirname "$0")/lib.sh"

SRC=$(base_tree)
# The tree is rebuilt from the base whenever the patch series changes.
series_id=$( (echo "$SRC"; cat "$TOP/patches/series" "$TOP"/patches/*.patch \
	      2>/dev/null || true) | sha1sum | cut -c1-16)
if [ "$(cat "$TREE/.uffd-series" 2>/dev/null)" != "$series_id" ]; then
	say "preparing $TREE from $SRC"
	rm -rf "$TREE"
	# Hard links are cheap; every file we change is replaced, never edited
	# in place, so the base is never modified.
	cp -al "$SRC" "$TREE" 2>/dev/null || cp -a "$SRC" "$TREE"
	if [ -f "$TOP/patches/series" ]; then
		sed -e '/^#/d' -e '/^[[:space:]]*$/d' "$TOP/patches/series" | while read -r p; do
			[ -n "$p" ] || continue
			# Unlink from the base what this patch edits, unless an
			# earlier patch already did: copying the base back
			# would undo that patch's edits.
			for f in $(sed -n 's|^+++ b/||p' "$TOP/patches/$p"); do
				if [ -f "$TREE/$f" ] && [ "$TREE/$f" -ef "$SRC/$f" ]; then
					cp --remove-destination "$SRC/$f" "$TREE/$f"
				fi
			done
			say "applying $p"
			patch -s -p1 -d "$TREE" < "$TOP/patches/$p" ||
				die "patch $p does not apply"
		done
	fi
	echo "$series_id" > "$TREE/.uffd-series"
fi

for f in $OVERLAY_REPLACES; do
	rm -f "$TREE/$f"
done
for f in $OVERLAY_FILES; do
	if ! cmp -s "$TOP/$f" "$TREE/$f"; then
		mkdir -p "$(dirname "$TREE/$f")"
		rm -f "$TREE/$f"
		# Keep the repository's timestamp: after the tree is rebuilt
		# from the base, make then recompiles only what really changed.
		cp -p "$TOP/$f" "$TREE/$f"
	fi
done
