#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot our kernel once, run every suite inside (guest-check.sh), then
# count: each kselftest case, each upstream unit test, the stress run, the
# demo, and the guest kernel log (no warnings, bugs or lockdep reports).
# Ends with "N passed, N failed, N skipped"; exits 1 if anything failed.
. "$(dirname "$0")/lib.sh"

log=$BUILD/check/console.log
mkdir -p "$BUILD/check"
set +e
BOOT_APPEND="numa=fake=2" "$TOP/harness/boot.sh" --no-scan \
	--timeout "${CHECK_TIMEOUT:-1800}" \
	--log "$log" "$BUILD/bzImage" -- sh "$TOP/harness/guest-check.sh" \
	>/dev/null
set -e
tr -d '\r' < "$log" > "$BUILD/check/console.txt"
txt=$BUILD/check/console.txt

pass=0 fail=0 skip=0
result() {	# result pass|fail|skip "what"
	case $1 in
	pass) pass=$((pass + 1)) ;;
	fail) fail=$((fail + 1)) ;;
	skip) skip=$((skip + 1)) ;;
	esac
	printf '%-5s %s\n' "$1" "$2"
}

# The output of suite $1, and its exit status (empty if it never ended).
section() { sed -n "/^UFFD-BEGIN $1\$/,/^UFFD-END $1 /p" "$txt"; }
status() { sed -n "s/^UFFD-END $1 \([0-9]*\)\$/\1/p" "$txt"; }

# Our kselftests, one program per feature: one result per TAP line.
for prog in "$BUILD"/tests/selftests/uffd-*; do
	t=${prog##*/}
	while IFS= read -r line; do
		case $line in
		"not ok "*) result fail "$t: ${line#not ok }" ;;
		"ok "*"# SKIP"*) result skip "$t: ${line#ok }" ;;
		"ok "*) result pass "$t: ${line#ok }" ;;
		esac
	done < <(section "selftest-$t" | grep -E '^(not )?ok [0-9]+ ')
	[ "$(status "selftest-$t")" = 0 ] ||
		result fail "$t: exit status '$(status "selftest-$t")'"
done

# Upstream's unit tests report their own counts.
counts=$(section upstream-unit-tests |
	 sed -n 's/^Userfaults unit tests: pass=\([0-9]*\), skip=\([0-9]*\), fail=\([0-9]*\).*/\1 \2 \3/p')
if [ -n "$counts" ]; then
	read -r p s f <<< "$counts"
	pass=$((pass + p)) skip=$((skip + s)) fail=$((fail + f))
	printf '%-5s %s\n' info "upstream uffd-unit-tests: pass=$p skip=$s fail=$f"
	section upstream-unit-tests | grep -E '(failed|FAIL)' | head -20 || true
else
	result fail "upstream uffd-unit-tests: no summary"
	section upstream-unit-tests | tail -25
fi
[ "$(status upstream-unit-tests)" = 0 ] ||
	result fail "upstream uffd-unit-tests: exit status '$(status upstream-unit-tests)'"

# Upstream's PAGEMAP_SCAN test: it exits "pass" without running anything
# when asynchronous write-protect is missing, so its plan must have run.
plan=$(section upstream-pagemap-ioctl | sed -n 's/^1\.\.\([0-9]*\)$/\1/p')
counts=$(section upstream-pagemap-ioctl |
	 sed -n 's/^# Totals: pass:\([0-9]*\) fail:\([0-9]*\) xfail:[0-9]* xpass:[0-9]* skip:\([0-9]*\).*/\1 \2 \3/p')
if [ -n "$plan" ] && [ -n "$counts" ]; then
	read -r p f s <<< "$counts"
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	printf '%-5s %s\n' info "upstream pagemap_ioctl: pass=$p fail=$f skip=$s of $plan"
	section upstream-pagemap-ioctl | grep -E '^not ok' | head -20 || true
	[ $((p + f + s)) = "$plan" ] ||
		result fail "upstream pagemap_ioctl: ran $((p + f + s)) of $plan"
else
	result fail "upstream pagemap_ioctl: its plan did not run"
fi
[ "$(status upstream-pagemap-ioctl)" = 0 ] ||
	result fail "upstream pagemap_ioctl: exit status '$(status upstream-pagemap-ioctl)'"

for t in upstream-stress-anon upstream-stress-shmem upstream-stress-hugetlb \
	 upstream-stress-shmem-private upstream-stress-hugetlb-private demo \
	 criu-uffd-noncoop client-qemu-bgsnap client-qemu-postcopy-anon \
	 client-criu-lazy-local client-firecracker-4k-zeropage; do
	if [ "$(status $t)" = 0 ]; then
		# A client's scenario says what it did on its last line.
		said=$(section "$t" | grep -E "$CLIENT_RESULT" | tail -1 || true)
		result pass "$t${said:+: $said}"
	else
		result fail "$t (exit status '$(status $t)')"
		section "$t" | tail -15
	fi
done

if grep -q '^UFFD-GUEST-EXIT: ' "$txt"; then
	result pass "guest ran to completion"
else
	result fail "guest ran to completion (hung or crashed, see $log)"
fi
if "$TOP/harness/scan-log.sh" "$txt"; then
	result pass "guest kernel log free of warnings/bugs/lockdep reports"
else
	result fail "guest kernel log free of warnings/bugs/lockdep reports"
fi

echo "console log: $log"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
