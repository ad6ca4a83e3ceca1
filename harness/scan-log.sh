#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# scan-log.sh LOG: fail if the guest kernel reported a warning, a bug, a
# lockdep splat, an oops or a panic.  Kernel lines carry a [ time ] stamp
# (printk.time=1), so test output cannot trip this by accident.
. "$(dirname "$0")/lib.sh"

pat='WARNING:|BUG:|INFO: (possible|inconsistent|trying|task .* blocked)|'
pat+='Oops|Kernel panic|kernel BUG|general protection fault|UBSAN:|'
pat+='KASAN:|circular locking|Call Trace:|RIP: '
hits=$(grep -aE '^\[ *[0-9]+\.[0-9]+\]' "$1" | grep -aE "$pat" || true)
if [ -n "$hits" ]; then
	say "kernel log of the guest reports problems:"
	printf '%s\n' "$hits" | head -20 >&2
	exit 1
fi
exit 0
