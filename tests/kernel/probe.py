"""An attacker's probe, run inside a container-like node: tries each way out that a root
process keeping every capability would have, and prints one line per try:

    ok NAME: how it failed       the node is contained there
    LEAK NAME: what happened     it is not
    info NAME: ...               not asserted (left to the seccomp allowlist)

usage: probe.py DEVICE_NODE   (a char device node the test made where the node can see it)
x86_64 syscall numbers; raw syscalls through ctypes so no library call hides an errno.
"""

import ctypes
import errno
import os
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

NR = {
    "clone": 56, "ptrace": 101, "sethostname": 170, "init_module": 175, "mount": 165,
    "kexec_load": 246, "unshare": 272, "perf_event_open": 298, "fanotify_init": 300,
    "fanotify_mark": 301, "finit_module": 313, "bpf": 321, "io_uring_setup": 425,
    "open_tree": 428, "move_mount": 429, "fsopen": 430,
}
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x20000, 0x4000000, 0x8000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
CLONE_NEWCGROUP = 0x2000000
SIGCHLD = 17
OPEN_TREE_CLONE = 1
AT_FDCWD = -100


def sys_(name, *args):
    ctypes.set_errno(0)
    r = libc.syscall(NR[name], *args)
    return r, ctypes.get_errno()


def report(name, ok, detail):
    print(("ok" if ok else "LEAK"), f"{name}: {detail}", flush=True)


def refused(name, *args):
    """The syscall must fail; a success is a leak."""
    r, e = sys_(name, *args)
    if r == 0 and name == "clone":
        os._exit(0)  # the child of a clone that went through
    if r >= 0:
        report(name, False, f"returned {r}")
        return
    report(name, True, errno.errorcode.get(e, str(e)))


def info(name, *args):
    r, e = sys_(name, *args)
    if r == 0 and name == "clone":
        os._exit(0)
    print("info", f"{name}: {'allowed' if r >= 0 else errno.errorcode.get(e, str(e))}", flush=True)


def try_io(name, fn):
    try:
        fn()
    except OSError as e:
        report(name, True, errno.errorcode.get(e.errno, str(e.errno)))
        return
    report(name, False, "succeeded")


def write_back(path):
    """Writes a sysctl's own value back: harmless if it works, and that it works is the leak."""
    with open(path) as f:
        v = f.read()
    with open(path, "w") as f:
        f.write(v)


def main():
    device = sys.argv[1] if len(sys.argv) > 1 else None
    caps = [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff")]
    print("info CapEff:", caps[0], flush=True)

    # fanotify on the whole filesystem hands out fds of host files: needs CAP_SYS_ADMIN.
    fd, e = sys_("fanotify_init", 0x00000000 | 0x00000200, os.O_RDONLY)  # CLASS_NOTIF|REPORT_FID
    if fd < 0:
        # Refused already (the seccomp allowlist does): there is nothing to mark with.
        report("fanotify_init", True, errno.errorcode.get(e, str(e)))
        report("fanotify_mark", True, "no fanotify fd to mark with")
    else:
        r, e = sys_("fanotify_mark", fd, 0x1 | 0x100, 0x20, AT_FDCWD, b"/")  # ADD|FILESYSTEM, OPEN
        report("fanotify_mark", r < 0, "filesystem mark " + ("refused" if r < 0 else "set"))

    # Namespaces without a user namespace need CAP_SYS_ADMIN.
    for flag, n in [(CLONE_NEWNS, "mnt"), (CLONE_NEWNET, "net"), (CLONE_NEWPID, "pid"),
                    (CLONE_NEWUTS, "uts"), (CLONE_NEWIPC, "ipc"), (CLONE_NEWCGROUP, "cgroup")]:
        r, e = sys_("unshare", flag)
        report(f"unshare_{n}", r < 0, errno.errorcode.get(e, "allowed"))
    refused("clone", CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0)
    refused("clone", CLONE_NEWNS | CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0)
    # A user namespace needs no capability: only the seccomp allowlist refuses it.
    info("unshare", CLONE_NEWUSER)
    info("clone", CLONE_NEWUSER | CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0)
    params = ctypes.create_string_buffer(120)
    info("io_uring_setup", 1, params)

    refused("mount", b"tmpfs", b"/tmp", b"tmpfs", 0, 0)
    refused("fsopen", b"tmpfs", 0)
    refused("open_tree", AT_FDCWD, b"/", OPEN_TREE_CLONE)
    refused("move_mount", AT_FDCWD, b"/tmp", AT_FDCWD, b"/mnt", 0)

    node = f"/tmp/.netlab-probe-{os.getpid()}"
    try:
        try_io("mknod_char", lambda: os.mknod(node, 0o600 | 0o020000, os.makedev(1, 11)))
    finally:
        if os.path.lexists(node):
            os.unlink(node)
    try:
        try_io("mknod_block", lambda: os.mknod(node, 0o600 | 0o060000, os.makedev(7, 0)))
    finally:
        if os.path.lexists(node):
            os.unlink(node)
    if device:
        try_io("open_device", lambda: os.close(os.open(device, os.O_RDONLY | os.O_NONBLOCK)))

    try_io("sysctl_kernel", lambda: write_back("/proc/sys/kernel/printk_ratelimit"))
    try_io("sysctl_vm", lambda: write_back("/proc/sys/vm/swappiness"))

    refused("init_module", 0, 0, b"")
    refused("finit_module", 0, b"", 0)
    attr = ctypes.create_string_buffer(128)
    ctypes.memmove(attr, (ctypes.c_uint32 * 4)(2, 4, 4, 1), 16)  # an array map of one int
    refused("bpf", 0, attr, 128)  # BPF_MAP_CREATE
    pattr = ctypes.create_string_buffer(128)
    ctypes.memmove(pattr, (ctypes.c_uint32 * 2)(1, 128), 8)  # PERF_TYPE_SOFTWARE, size
    refused("perf_event_open", pattr, 0, -1, -1, 0)
    refused("kexec_load", 0, 0, 0, 0)
    refused("ptrace", 16, 1, 0, 0)  # PTRACE_ATTACH to pid 1
    try_io("proc_1_mem", lambda: os.close(os.open("/proc/1/mem", os.O_RDWR)))

    procs = [os.path.join(d, "cgroup.procs") for d in
             ["/sys/fs/cgroup/pids", "/sys/fs/cgroup/memory", "/sys/fs/cgroup"]]
    for p in procs:
        if os.path.exists(p):
            def move(p=p):
                with open(p, "w") as f:
                    f.write(str(os.getpid()))
            try_io("cgroup_procs", move)
            break

    refused("sethostname", b"probe", 5)

    def pty():
        m, s = os.openpty()
        name = os.ttyname(s)
        if not name.startswith("/dev/pts/"):
            raise RuntimeError(name)
        print("ok pty:", name, flush=True)
    try:
        pty()
    except Exception as e:  # noqa: BLE001
        print("FAIL pty: no pty of its own:", e, flush=True)


main()
