#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the test guest: every selftest program in $1; fails if any
# does.
rc=0
for t in "$1"/uffd-*; do
	"$t" || { echo "FAILED: ${t##*/} (exit status $?)"; rc=1; }
done
exit $rc
