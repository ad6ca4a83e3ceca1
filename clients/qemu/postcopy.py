#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""QEMU post-copy migration of a running VM, checked by the VM itself.

Runs unmodified QEMU (TCG) on the kernel under test: a source and a
destination QEMU on this machine, the destination resolving its guest's
page faults with userfaultfd (UFFDIO_REGISTER_MODE_MISSING, UFFDIO_COPY,
UFFDIO_ZEROPAGE, UFFDIO_WAKE) while pages still come from the source.
The VM runs wl-guest.elf, which rewrites 48 MiB of its RAM page by page and
checks every page against the previous pass.  The migration is slowed
down so that the switch to post-copy happens while most of the memory is
still on the source.

Usage: postcopy.py WL-GUEST.ELF WORKDIR anon|memfd|hugetlbfs [watch]
Prints "postcopy: ok ..." and exits 0, or says what failed and exits 1.
With "watch" (make watch-postcopy), it also prints, every second, where
the migration stands, the VMs' passes and the faults the destination's
userfaultfd holds at that instant.
"""
import os
import sys
import time

from bgsnap import TIMEOUT, Vm, fail

BACKENDS = {
    "anon": [],
    "memfd": ["-object", "memory-backend-memfd,id=mem,size=64M",
              "-machine", "memory-backend=mem"],
    "hugetlbfs": ["-object", "memory-backend-file,id=mem,size=64M,"
                  "mem-path=/dev/hugepages,share=on,prealloc=off",
                  "-machine", "memory-backend=mem"],
}


WATCH = {}


def uffd_fdinfo(pid):
    """pending/total of each userfaultfd pid holds: faults parked now."""
    out = []
    fds = "/proc/%d/fd" % pid
    for fd in os.listdir(fds):
        try:
            if os.readlink(os.path.join(fds, fd)) != \
               "anon_inode:[userfaultfd]":
                continue
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                info = dict(line.split(":", 1) for line in f
                            if line.startswith(("pending", "total")))
            out.append("%s/%s" % (info["pending"].strip(),
                                  info["total"].strip()))
        except (OSError, KeyError):
            continue
    return out


def watch(src, st):
    """One line of where the migration stands (make watch-postcopy)."""
    if not WATCH or time.time() < WATCH.get("next", 0):
        return
    WATCH["next"] = time.time() + 1
    ram = st.get("ram", {})
    dst = WATCH["dst"]
    print("watch: %5.1fs %-15s sent %3d MiB, %4d pages requested by "
          "destination faults | source pass %s, destination pass %s | "
          "destination userfaultfd pending/total faults: %s" %
          (time.time() - WATCH["t0"], st.get("status"),
           ram.get("transferred", 0) >> 20, ram.get("postcopy-requests", 0),
           max(src.beats() or ["-"]), max(dst.beats() or ["-"]),
           " ".join(uffd_fdinfo(dst.proc.pid)) or "none"), flush=True)


def wait_status(vm, want, what):
    deadline = time.time() + TIMEOUT
    while True:
        st = vm.cmd("query-migrate")
        watch(vm, st)
        if st.get("status") in want:
            return st
        if st.get("status") in ("failed", "cancelled") or \
           time.time() > deadline:
            fail("%s: migration %s: %s" % (what, st.get("status"),
                                           st.get("error-desc", "timed out")))
        time.sleep(0.1)


def main():
    elf, work, backend = sys.argv[1], sys.argv[2], sys.argv[3]
    watching = sys.argv[4:] == ["watch"]
    sock = os.path.join(work, "migration.sock")
    if os.path.exists(sock):
        os.unlink(sock)
    caps = [{"capability": "postcopy-ram", "state": True}]

    dst = Vm("dest-" + backend, elf, work,
             BACKENDS[backend] + ["-incoming", "defer"])
    dst.cmd("migrate-set-capabilities", capabilities=caps)
    dst.cmd("migrate-incoming", uri="unix:" + sock)

    src = Vm("source-" + backend, elf, work, BACKENDS[backend])
    src.wait_beats(2, "source")
    if watching:
        WATCH.update(dst=dst, t0=time.time())
    src.cmd("migrate-set-capabilities", capabilities=caps)
    # Slow enough that most of the 48 MiB is still here at the switch.
    src.cmd("migrate-set-parameters", **{"max-bandwidth": 4 << 20})
    src.cmd("migrate", uri="unix:" + sock)
    wait_status(src, ("active",), "source")
    for _ in range(10):
        time.sleep(0.3 if watching else 0.1)
        watch(src, src.cmd("query-migrate"))
    before = src.cmd("query-migrate").get("ram", {})
    if watching:
        print("watch: switching to post-copy: the destination runs now and "
              "faults on every page not yet there", flush=True)
    src.cmd("migrate-start-postcopy")
    # Post-copy: full speed now, pages also sent on the destination's demand.
    src.cmd("migrate-set-parameters", **{"max-bandwidth": 1 << 30})
    st = wait_status(src, ("completed",), "source")
    last_src = max(src.beats() or [0])
    ram = st.get("ram", {})
    requests = ram.get("postcopy-requests", 0)
    src.quit()

    dst.wait_beats(len(dst.beats()) + 3, "destination")
    if dst.cmd("query-status")["status"] != "running":
        fail("the destination VM is not running")
    if "WL start" in dst.serial():
        fail("the destination VM booted afresh instead of resuming")
    first = dst.beats()[0]
    if first < last_src:
        fail("the destination resumed at pass %d, before the source's last "
             "(%d)" % (first, last_src))
    if not requests:
        fail("no post-copy page request was served: not through userfaultfd")
    sent_before = before.get("transferred", 0) >> 20
    dst.quit()
    print("postcopy: ok (%s): switched with %d MiB of 48 sent; %d pages "
          "requested by destination faults; resumed at pass %d after the "
          "source's %d, %d passes checked" %
          (backend, sent_before, requests, first, last_src,
           dst.beats()[-1] - first), flush=True)


if __name__ == "__main__":
    main()
