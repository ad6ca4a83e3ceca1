#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""QEMU background snapshot of a running VM, restored and checked.

Runs unmodified QEMU (TCG) on the kernel under test.  The VM runs
wl-guest.elf, which rewrites 48 MiB of its RAM page by page and checks every
page against the previous pass.  While it runs, QEMU saves it with the
background-snapshot migration capability: guest RAM is write-protected with
userfaultfd (UFFDIO_REGISTER_MODE_WP, UFFDIO_WRITEPROTECT) and each page the
guest writes is saved and unprotected from the fault.  A second QEMU then
loads the snapshot; if any page was saved at a different instant from the
rest, the restored workload reports it within one pass.

Usage: bgsnap.py WL-GUEST.ELF WORKDIR
Prints "bgsnap: ok ..." and exits 0, or says what failed and exits 1.
"""
import json
import os
import re
import socket
import subprocess
import sys
import time

QEMU = "qemu-system-x86_64"
TIMEOUT = 600           # seconds for each wait; the run is nested TCG
BEATS_AFTER = 3         # heartbeats the restored VM must print
UFFD_FEATURE_PAGEFAULT_FLAG_WP = 1 << 0


VMS = []


def fail(msg):
    """Say what failed, with the tail of each QEMU's logs, and exit 1."""
    print("bgsnap: FAIL: " + msg, flush=True)
    for vm in VMS:
        for f in (vm.log, vm.err):
            try:
                with open(f, errors="replace") as fh:
                    tail = fh.read().splitlines()[-10:]
            except FileNotFoundError:
                continue
            print("--- %s (last lines)" % f)
            print("\n".join(tail), flush=True)
        if vm.proc.poll() is None:
            vm.proc.kill()
    sys.exit(1)


def uffd_features(pid):
    """The features of each userfaultfd process pid holds, from fdinfo."""
    found = []
    fds = "/proc/%d/fd" % pid
    try:
        names = os.listdir(fds)
    except OSError:
        return found
    for fd in names:
        try:
            if os.readlink(os.path.join(fds, fd)) != \
               "anon_inode:[userfaultfd]":
                continue
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                m = re.search(r"^API:\s*\w+:(\w+):", f.read(), re.M)
        except OSError:
            continue
        if m:
            found.append(int(m.group(1), 16))
    return found


class Vm:
    def __init__(self, name, elf, work, extra=()):
        self.log = os.path.join(work, name + ".serial")
        self.err = os.path.join(work, name + ".stderr")
        sock = os.path.join(work, name + ".qmp")
        for f in (self.log, sock):
            if os.path.exists(f):
                os.unlink(f)
        args = [QEMU, "-accel", "tcg", "-m", "64M", "-smp", "1",
                "-nodefaults", "-display", "none", "-no-reboot",
                "-kernel", elf, "-serial", "file:" + self.log,
                "-qmp", "unix:%s,server=on,wait=on" % sock] + list(extra)
        with open(self.err, "w") as err:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                         stdout=err, stderr=err)
        VMS.append(self)
        deadline = time.time() + TIMEOUT
        while not os.path.exists(sock):
            if self.proc.poll() is not None or time.time() > deadline:
                fail("%s: QEMU did not start (%s)" % (name, self.proc.poll()))
            time.sleep(0.2)
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(sock)
        self.rd = self.sock.makefile("r")
        self.reply()                    # the greeting
        self.cmd("qmp_capabilities")

    def reply(self):
        while True:
            line = self.rd.readline()
            if not line:
                fail("QMP connection closed")
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def cmd(self, name, **args):
        self.sock.sendall(json.dumps({"execute": name,
                                      "arguments": args}).encode() + b"\n")
        r = self.reply()
        if "error" in r:
            fail("%s: %s" % (name, r["error"].get("desc")))
        return r["return"]

    def serial(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def beats(self):
        return [int(g) for g in re.findall(r"^WL gen (\d+)$", self.serial(),
                                           re.M)]

    def check(self):
        bad = re.search(r"^WL INCONSISTENT.*$", self.serial(), re.M)
        if bad:
            fail("restored memory is inconsistent: " + bad.group(0))

    def wait_beats(self, n, what):
        deadline = time.time() + TIMEOUT
        while len(self.beats()) < n:
            self.check()
            if self.proc.poll() is not None:
                fail("%s: QEMU exited (%d)" % (what, self.proc.returncode))
            if time.time() > deadline:
                fail("%s: no heartbeat in %d s" % (what, TIMEOUT))
            time.sleep(0.5)
        self.check()

    def quit(self):
        try:
            self.cmd("quit")
        except SystemExit:
            pass
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def main():
    elf, work = sys.argv[1], sys.argv[2]
    snap = os.path.join(work, "snapshot")
    if os.path.exists(snap):
        os.unlink(snap)

    # The source VM: let the workload run a few passes, then snapshot it.
    src = Vm("source", elf, work)
    src.wait_beats(2, "source")
    src.cmd("migrate-set-capabilities", capabilities=[
        {"capability": "background-snapshot", "state": True}])
    before = src.beats()[-1]
    t0 = time.time()
    src.cmd("migrate", uri="exec:cat > " + snap)
    deadline = time.time() + TIMEOUT
    wp_seen = False
    while True:
        # Proof that the snapshot went through userfaultfd write-protect.
        wp_seen = wp_seen or any(f & UFFD_FEATURE_PAGEFAULT_FLAG_WP
                                 for f in uffd_features(src.proc.pid))
        st = src.cmd("query-migrate")
        if st.get("status") == "completed":
            break
        if st.get("status") in ("failed", "cancelled") or \
           time.time() > deadline:
            fail("snapshot %s: %s" % (st.get("status"),
                                      st.get("error-desc", "timed out")))
        time.sleep(0.05)
    took = time.time() - t0
    if not wp_seen:
        fail("no write-protect userfaultfd seen in QEMU during the snapshot")
    during = src.beats()[-1] - before
    # A background snapshot leaves the source running.
    if src.cmd("query-status")["status"] != "running":
        fail("the source VM is not running after the snapshot")
    src.wait_beats(len(src.beats()) + 1, "source after the snapshot")
    src.quit()

    # The restored VM must carry on from the snapshot, not boot again.
    dst = Vm("restored", elf, work, ["-incoming", "exec:cat " + snap])
    dst.wait_beats(BEATS_AFTER, "restored")
    if "WL start" in dst.serial():
        fail("the restored VM booted afresh instead of resuming")
    first = dst.beats()[0]
    if first <= before:
        fail("the restored VM resumed at pass %d, before the snapshot (%d)"
             % (first, before))
    dst.quit()
    print("bgsnap: ok: write-protect userfaultfd in use; snapshot of %d MiB "
          "in %.1f s while the guest ran %d passes; restored at pass %d, "
          "%d passes checked"
          % (os.path.getsize(snap) >> 20, took, during, first,
             dst.beats()[-1] - first), flush=True)


if __name__ == "__main__":
    main()
