#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# build-kernel.sh uffd|stock|uffd-bench|stock-bench|series: configure (tinyconfig
# + fragments) and build.  The -bench kernels drop the debugging options
# (harness/bench.config) that would dominate any timing.
. "$(dirname "$0")/lib.sh"

debug=1
case "${1:-}" in
uffd)	"$TOP/harness/tree.sh"; SRC=$TREE; OBJ=$BUILD/obj-uffd; OUT=$BUILD/bzImage ;;
stock)	SRC=$(base_tree); OBJ=$BUILD/obj-stock; OUT=$BUILD/stock/bzImage ;;
uffd-bench)
	"$TOP/harness/tree.sh"; SRC=$TREE; OBJ=$BUILD/obj-uffd-bench
	OUT=$BUILD/bench/bzImage-uffd; debug=0 ;;
stock-bench)
	SRC=$(base_tree); OBJ=$BUILD/obj-stock-bench
	OUT=$BUILD/bench/bzImage-stock; debug=0 ;;
series)	# the tree make series-check applies the series to
	SRC=$BUILD/series-check/linux; OBJ=$BUILD/obj-series
	OUT=$BUILD/series-check/bzImage ;;
*)	die "usage: build-kernel.sh uffd|stock|uffd-bench|stock-bench|series" ;;
esac

frags="$TOP/harness/kernel.config $TOP/harness/criu.config"
[ $debug = 1 ] || frags="$frags $TOP/harness/bench.config"
if [ -n "${EXTRA_CONFIG:-}" ]; then
	[ -f "$EXTRA_CONFIG" ] || die "EXTRA_CONFIG=$EXTRA_CONFIG: no such file"
	frags="$frags $(realpath "$EXTRA_CONFIG")"
fi
# shellcheck disable=SC2086
config_id=$(cat $frags | sha1sum | cut -c1-16)
mkdir -p "$OBJ"
if [ "$(cat "$OBJ/.uffd-config" 2>/dev/null)" != "$config_id" ] ||
   [ ! -f "$OBJ/.config" ]; then
	say "configuring $1 kernel"
	make -s -C "$SRC" O="$OBJ" tinyconfig >/dev/null
	# shellcheck disable=SC2086
	"$SRC/scripts/kconfig/merge_config.sh" -m -O "$OBJ" "$OBJ/.config" \
		$frags >"$OBJ/merge.log" 2>&1
	make -s -C "$SRC" O="$OBJ" olddefconfig >/dev/null
	need="CONFIG_USERFAULTFD CONFIG_BUG CONFIG_ACPI CONFIG_SMP
	      CONFIG_CHECKPOINT_RESTORE CONFIG_NF_TABLES_INET CONFIG_9P_FS
	      CONFIG_SERIAL_8250_CONSOLE"
	[ $debug = 1 ] &&
		need="$need CONFIG_PROVE_LOCKING CONFIG_DEBUG_VM CONFIG_KASAN
		      CONFIG_DETECT_HUNG_TASK CONFIG_NUMA_EMU CONFIG_MIGRATION
		      CONFIG_SWAP CONFIG_VIRTIO_BLK CONFIG_GUP_TEST"
	for opt in $need; do
		grep -q "^$opt=y" "$OBJ/.config" ||
			die "$opt did not survive configuration (see $OBJ/merge.log)"
	done
	if [ $debug = 0 ]; then
		for opt in CONFIG_KASAN CONFIG_LOCKDEP CONFIG_DEBUG_VM; do
			! grep -q "^$opt=y" "$OBJ/.config" ||
				die "$opt is still on in a bench kernel"
		done
	fi
	echo "$config_id" > "$OBJ/.uffd-config"
fi

say "building $1 kernel ($JOBS jobs)"
if ! make -s -C "$SRC" O="$OBJ" -j"$JOBS" bzImage >"$OBJ/build.log" 2>&1; then
	grep -E 'error|Error' "$OBJ/build.log" | head -40 >&2
	die "$1 kernel build failed (full log: $OBJ/build.log)"
fi
grep -E 'warning:' "$OBJ/build.log" | grep -E 'userfaultfd' >&2 || true
mkdir -p "$(dirname "$OUT")"
cp "$OBJ/arch/x86/boot/bzImage" "$OUT"
say "$1 kernel: $OUT"
