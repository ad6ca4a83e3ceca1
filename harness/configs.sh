#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make configs: build our tree (base + patches + overlay) in a matrix of
# configurations, each from tinyconfig, the way the kernel's build robots
# would: with userfaultfd off, with each memory type it serves turned off
# and with all of them off, without SMP (so without per-VMA locks), and
# with W=1 on our own files.  Any error, and any warning in our files,
# fails.  CONFIGS="name ..." builds a subset; the object directories stay
# in build/configs/ so a second run rebuilds only what changed.
. "$(dirname "$0")/lib.sh"

"$TOP/harness/tree.sh"
SRC=$TREE
OUT=$BUILD/configs
OURS='(fs/userfaultfd/|mm/userfaultfd\.c|include/linux/userfaultfd_k\.h)'

# name: the options set on top of tinyconfig (=n means "is not set").
# Every configuration is 64-bit x86 with an MMU; USERFAULTFD selects
# MMU_NOTIFIER (patches/0001), which is checked wherever it is on.
matrix() {
	cat <<'EOF'
uffd-off	USERFAULTFD=n SHMEM=y TRANSPARENT_HUGEPAGE=y HUGETLBFS=y
all-on		USERFAULTFD=y SHMEM=y TRANSPARENT_HUGEPAGE=y HUGETLBFS=y
no-thp		USERFAULTFD=y SHMEM=y TRANSPARENT_HUGEPAGE=n HUGETLBFS=y
no-hugetlbfs	USERFAULTFD=y SHMEM=y TRANSPARENT_HUGEPAGE=y HUGETLBFS=n
no-shmem	USERFAULTFD=y SHMEM=n TRANSPARENT_HUGEPAGE=y HUGETLBFS=y
minimal		USERFAULTFD=y SHMEM=n TRANSPARENT_HUGEPAGE=n HUGETLBFS=n
up		USERFAULTFD=y SHMEM=y TRANSPARENT_HUGEPAGE=y HUGETLBFS=y SMP=n
EOF
}

# Configure $1's object directory from tinyconfig plus options $2...
configure() {
	local obj=$1 opt name val frag
	shift
	frag=$obj/matrix.config
	mkdir -p "$obj"
	{
		echo "CONFIG_64BIT=y"
		echo "CONFIG_EXPERT=y"	# SHMEM can be turned off only then
		echo "CONFIG_SYSFS=y"	# HUGETLBFS needs it (or SYSCTL)
		for opt in "$@"; do
			name=${opt%=*} val=${opt#*=}
			if [ "$val" = n ]; then
				echo "# CONFIG_$name is not set"
			else
				echo "CONFIG_$name=$val"
			fi
		done
	} > "$frag.new"
	if cmp -s "$frag.new" "$frag" && [ -f "$obj/.config" ]; then
		rm "$frag.new"
		return 0
	fi
	mv "$frag.new" "$frag"
	make -s -C "$SRC" O="$obj" tinyconfig >/dev/null
	"$SRC/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" \
		"$frag" >"$obj/merge.log" 2>&1
	make -s -C "$SRC" O="$obj" olddefconfig >/dev/null
}

# The options of $1's .config must be what was asked for.
verify() {
	local obj=$1 opt name val
	shift
	for opt in "$@"; do
		name=${opt%=*} val=${opt#*=}
		if [ "$val" = n ]; then
			grep -q "^CONFIG_$name=" "$obj/.config" &&
				{ say "CONFIG_$name is still set"; return 1; }
		else
			grep -q "^CONFIG_$name=$val\$" "$obj/.config" ||
				{ say "CONFIG_$name=$val did not stick"; return 1; }
		fi
	done
	if grep -q '^CONFIG_USERFAULTFD=y' "$obj/.config" &&
	   ! grep -q '^CONFIG_MMU_NOTIFIER=y' "$obj/.config"; then
		say "USERFAULTFD without MMU_NOTIFIER"
		return 1
	fi
	return 0
}

failed=
while read -r name opts; do
	[ -n "$name" ] || continue
	case " ${CONFIGS:-$name} " in *" $name "*) ;; *) continue ;; esac
	obj=$OUT/$name
	# shellcheck disable=SC2086
	configure "$obj" $opts
	# shellcheck disable=SC2086
	if ! verify "$obj" $opts; then
		failed="$failed $name"
		continue
	fi
	start=$(date +%s)
	if ! make -s -C "$SRC" O="$obj" -j"$JOBS" vmlinux >"$obj/build.log" 2>&1; then
		grep -E 'error|Error' "$obj/build.log" | head -20 >&2
		say "$name: build failed (log: $obj/build.log)"
		failed="$failed $name"
		continue
	fi
	warn=$(grep -E "$OURS.*warning:" "$obj/build.log" || true)
	# W=1 on our objects: they are rebuilt with the extra warnings.
	if grep -q '^CONFIG_USERFAULTFD=y' "$obj/.config"; then
		make -s -C "$SRC" O="$obj" W=1 fs/userfaultfd/ mm/userfaultfd.o \
			>"$obj/w1.log" 2>&1 || warn="$warn W=1 build failed"
		warn="$warn$(grep -E "$OURS.*warning:" "$obj/w1.log" || true)"
	fi
	if [ -n "$warn" ]; then
		printf '%s\n' "$warn" >&2
		say "$name: warnings in our files"
		failed="$failed $name"
		continue
	fi
	say "$name: built in $(( $(date +%s) - start )) s ($opts)"
done < <(matrix)

[ -z "$failed" ] || die "configurations that do not build cleanly:$failed"
say "every configuration builds"
