#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make series: the work as a kernel patch series, in build/series/ as
# `git format-patch` writes it: a cover letter (series/cover.txt) and one
# patch per entry of series/order, each committed onto a git repository of
# the base tree, with its message from the entry (or, for an edit of
# upstream files with no message of its own, from its patch in patches/)
# and Signed-off-by from git's configured identity.
. "$(dirname "$0")/lib.sh"

SRC=$(base_tree)
BASEGIT=$BUILD/series-base	# the base tree as one commit (unless SRC is git)
WORK=$BUILD/series-work		# the base, then the series committed onto it
OUT=$BUILD/series
S=$TOP/series

# Sign off as git's configured identity; a field that is not configured
# falls back to the project's (the identity of patches/).
ident_name=$(git -C "$TOP" config user.name || true)
ident_email=$(git -C "$TOP" config user.email || true)
if [ -z "$ident_name" ] || [ -z "$ident_email" ]; then
	say "git's user.name or user.email is not set: using the project's identity for it"
	ident_name=${ident_name:-uffd developers}
	ident_email=${ident_email:-uffd@example.invalid}
fi
# The repository's commit date: the same checkout writes the same series.
date=$(git -C "$TOP" log -1 --format=%cI)
[ -z "$(git -C "$TOP" status --porcelain -- series patches $OVERLAY_FILES)" ] ||
	say "note: uncommitted changes in the files of the series"
export GIT_AUTHOR_NAME=$ident_name GIT_AUTHOR_EMAIL=$ident_email
export GIT_COMMITTER_NAME=$ident_name GIT_COMMITTER_EMAIL=$ident_email
export GIT_AUTHOR_DATE=$date GIT_COMMITTER_DATE=$date
# From here on, no one's git configuration changes what is written
# (diff.noprefix, hooks, signing, format.* would).
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1

if git -C "$SRC" rev-parse -q --verify HEAD >/dev/null 2>&1 &&
   [ "$(git -C "$SRC" rev-parse --show-toplevel)" = "$(cd "$SRC" && pwd -P)" ]; then
	# A git tree (upstream's, say): its HEAD is the base, a real commit.
	[ -z "$(git -C "$SRC" status --porcelain --untracked-files=no)" ] ||
		die "$SRC has uncommitted changes: the base must be a commit"
	BASEGIT=$SRC
else
	# The base as a git repository, once: every file of the tree
	# (ignored or not), committed under a fixed identity and date, so the
	# same base always has the same commit id.
	base_id=$( (cd "$SRC" && find . -type f -printf '%P %s %T@\n' | sort) |
		   sha1sum | cut -c1-16)
	if [ "$(cat "$BASEGIT/.git/uffd-base" 2>/dev/null)" != "$base_id" ]; then
		say "importing $SRC as a git repository (once; about a minute)"
		rm -rf "$BASEGIT"
		cp -al "$SRC" "$BASEGIT" 2>/dev/null ||
			{ rm -rf "$BASEGIT"; cp -a "$SRC" "$BASEGIT"; }
		version=$(make -s -C "$BASEGIT" kernelversion)
		git -C "$BASEGIT" init -q
		git -C "$BASEGIT" add -A -f .
		GIT_AUTHOR_NAME="uffd base import" \
		GIT_AUTHOR_EMAIL=uffd@example.invalid \
		GIT_COMMITTER_NAME="uffd base import" \
		GIT_COMMITTER_EMAIL=uffd@example.invalid \
		GIT_AUTHOR_DATE=2024-11-17T00:00:00Z \
		GIT_COMMITTER_DATE=2024-11-17T00:00:00Z \
			git -C "$BASEGIT" commit -q \
				-m "Linux $version ($(basename "$SRC"), imported)"
		echo "$base_id" > "$BASEGIT/.git/uffd-base"
	fi
fi
base=$(git -C "$BASEGIT" rev-parse HEAD)

# A work tree of the base, checked out once; each run resets it to the
# base (whatever a failed or killed run left) and commits the series again.
if [ ! -d "$WORK/.git" ] ||
   [ "$(git -C "$WORK" cat-file -t "$base" 2>/dev/null)" != commit ]; then
	say "checking out the base for the series (once)"
	rm -rf "$WORK"
	git clone -q --no-checkout "$BASEGIT" "$WORK"
fi
rm -f "$WORK/.git/index.lock"
git -C "$WORK" checkout -q -f -B series "$base"
git -C "$WORK" clean -q -fdx

# field ENTRY NAME: the values of header NAME of an entry.
field() { sed -n "/^\$/q; s/^$2: *//p" "$1"; }

entries=$(sed -e '/^#/d' -e '/^[[:space:]]*$/d' "$S/order")
for e in $entries; do
	f=$S/$e
	[ -f "$f" ] || die "series/order names $e, which does not exist"
	subject=$(field "$f" Subject)
	body=$(sed '1,/^$/d' "$f")
	for p in $(field "$f" Patch); do
		[ -f "$TOP/patches/$p" ] || die "$e: no patches/$p"
		git -C "$WORK" apply --index "$TOP/patches/$p" ||
			die "$e: patches/$p does not apply"
		if [ -z "$subject" ]; then
			# An upstream edit that carries its own message.
			subject=$(sed -n 's/^Subject: \(\[PATCH[^]]*\] \)\{0,1\}//p' \
				  "$TOP/patches/$p" | head -1)
			body=$(sed -e '1,/^$/d' -e '/^Signed-off-by:/,$d' \
			       "$TOP/patches/$p")
		fi
	done
	for x in $(field "$f" Files); do
		[ -f "$TOP/$x" ] || die "$e: no file $x"
		mkdir -p "$(dirname "$WORK/$x")"
		cp "$TOP/$x" "$WORK/$x"
		git -C "$WORK" add -f "$x"
	done
	for x in $(field "$f" Remove); do
		git -C "$WORK" rm -q "$x" || die "$e: cannot remove $x"
	done
	[ -n "$subject" ] || die "$e: no Subject"
	[ ${#subject} -le 75 ] || die "$e: subject longer than 75 columns"
	git -C "$WORK" diff --cached --quiet && die "$e: changes nothing"
	printf '%s\n\n%s\n\nSigned-off-by: %s <%s>\n' "$subject" \
		"$(printf '%s\n' "$body" | sed -e '/./,$!d')" \
		"$ident_name" "$ident_email" |
		git -C "$WORK" commit -q --cleanup=verbatim -F -
done

rm -rf "$OUT"
git -C "$WORK" format-patch -q --cover-letter --base="$base" --abbrev=12 \
	--no-signature --subject-prefix="RFC PATCH" -o "$OUT" "$base..series"

# The cover letter: series/cover.txt, its first line the subject; @BASE@
# and @VERSION@ name the base.
cover=$OUT/0000-cover-letter.patch
version=$(make -s -C "$SRC" kernelversion)
python3 - "$cover" "$S/cover.txt" "$base" "$version" <<'PY'
import sys
cover, text, base, version = sys.argv[1], open(sys.argv[2]).read(), sys.argv[3], sys.argv[4]
subject, blurb = text.split("\n", 1)
blurb = blurb.strip("\n").replace("@BASE@", base).replace("@VERSION@", version)
s = open(cover).read()
s = s.replace("*** SUBJECT HERE ***", subject).replace("*** BLURB HERE ***", blurb)
open(cover, "w").write(s)
PY
say "series: $(ls "$OUT" | wc -l) files in $OUT (base-commit $base)"
ls "$OUT"
