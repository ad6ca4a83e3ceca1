#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make check-clients [KERNEL=stock]: boot the test kernel (ours, or stock
# 6.12 built the same way, which shows the scenarios themselves are
# right) and run every real client's scenario (guest-clients.sh); one
# result line each, and "N passed, N failed".
. "$(dirname "$0")/lib.sh"

case "${KERNEL:-uffd}" in
uffd) image=$BUILD/bzImage ;;
stock) image=$BUILD/stock/bzImage ;;
*) die "KERNEL=uffd|stock" ;;
esac
log=$BUILD/check-clients/${KERNEL:-uffd}/console.log
mkdir -p "$(dirname "$log")"
set +e
"$TOP/harness/boot.sh" --timeout "${CHECK_TIMEOUT:-1800}" --log "$log" \
	"$image" -- sh "$TOP/harness/guest-clients.sh" >/dev/null
set -e
txt=${log%.log}.txt
tr -d '\r' < "$log" > "$txt"

pass=0 fail=0
for t in $(sed -n 's/^UFFD-BEGIN \(client-.*\)$/\1/p' "$txt"); do
	st=$(sed -n "s/^UFFD-END $t \([0-9]*\)\$/\1/p" "$txt")
	line=$(sed -n "/^UFFD-BEGIN $t\$/,/^UFFD-END $t /p" "$txt" |
	       grep -E "$CLIENT_RESULT" | tail -1 || true)
	if [ "$st" = 0 ]; then
		pass=$((pass + 1))
		printf 'pass  %s: %s\n' "$t" "$line"
	else
		fail=$((fail + 1))
		printf 'fail  %s (exit status %s)\n' "$t" "${st:-none}"
		sed -n "/^UFFD-BEGIN $t\$/,/^UFFD-END $t /p" "$txt" | tail -15
	fi
done
if "$TOP/harness/scan-log.sh" "$txt"; then
	pass=$((pass + 1))
	echo "pass  guest kernel log free of warnings/bugs/lockdep reports"
else
	fail=$((fail + 1))
	echo "fail  guest kernel log free of warnings/bugs/lockdep reports"
fi
[ $((pass + fail)) -gt 1 ] || { fail=$((fail + 1)); echo "fail  no scenario ran (see $log)"; }
echo "console log: $log"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
