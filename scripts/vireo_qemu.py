"""QEMU command lines for Vireo, shared by `make run`, the test runner and
the benchmarks; a guest's console driven from a script (Guest)."""
import re
import shlex
import socket
import subprocess
import sys
import threading
import time

QEMU = "qemu-system-aarch64"


def machine_args(image, gic=3, cpus=4, mem="2G", cpu="cortex-a72", virtualization=True,
                 smmu=False, append=None, extra=()):
    """Argument list booting `image` on QEMU virt, serial console on stdio;
    smmu: an SMMUv3 in front of the PCIe root complex (iommu=smmuv3)."""
    machine = "virt,gic-version=%s" % gic
    if virtualization:
        machine += ",virtualization=on"
    if smmu:
        machine += ",iommu=smmuv3"
    args = [QEMU, "-M", machine, "-cpu", cpu, "-smp", str(cpus), "-m", str(mem),
            "-nographic", "-no-reboot", "-kernel", image]
    if append:
        args += ["-append", append]
    args += list(extra)
    return args


# QEMU virt's virtio-mmio transports: number N at 0x0a000000 + N * 0x200,
# SPI 16 + N. The shipped I/O configurations name these two by path.
DISK_BUS, NET_BUS = 31, 30  # /virtio_mmio@a003e00, /virtio_mmio@a003c00


# The PCIe functions the shipped configurations name (pci-functions):
# virtio-blk-pci at 00:01.0, virtio-net-pci at 00:02.0, NVMe at 00:03.0.
PCI_DISK_SLOT, PCI_NET_SLOT, PCI_NVME_SLOT = 1, 2, 3


def io_args(disk=None, net_port=None, pci_disk=None, pci_net_port=None, pci_nvme=None):
    """QEMU options for a raw disk (virtio-blk) and user networking
    (virtio-net) whose only way in is a forward from 127.0.0.1:net_port to
    the guest's port 80; restrict=on: the guest reaches nothing outside.
    disk and net_port are virtio-mmio devices; pci_disk, pci_net_port and
    pci_nvme (a raw image) PCIe functions, which need machine_args(smmu=True)."""
    args = []
    if disk:
        args += ["-drive", "file=%s,if=none,format=raw,id=disk" % disk,
                 "-device", "virtio-blk-device,drive=disk,bus=virtio-mmio-bus.%d" % DISK_BUS]
    if net_port:
        args += ["-netdev", "user,id=net,restrict=on,hostfwd=tcp:127.0.0.1:%s-:80" % net_port,
                 "-device", "virtio-net-device,netdev=net,bus=virtio-mmio-bus.%d" % NET_BUS]
    # Without -nic none QEMU virt puts a virtio-net-pci of its own in the
    # first free slot. iommu_platform=on: QEMU's virtio-pci devices bypass
    # the SMMU (DMA to host-physical addresses) unless told to translate,
    # as real devices do; NVMe always translates.
    if pci_disk or pci_net_port or pci_nvme:
        args += ["-nic", "none"]
    if pci_disk:
        args += ["-drive", "file=%s,if=none,format=raw,id=pcidisk" % pci_disk,
                 "-device", "virtio-blk-pci,addr=%d,drive=pcidisk,disable-legacy=on,iommu_platform=on" % PCI_DISK_SLOT]
    if pci_net_port:
        args += ["-netdev", "user,id=pcinet,restrict=on,hostfwd=tcp:127.0.0.1:%s-:80" % pci_net_port,
                 "-device", "virtio-net-pci,addr=%d,netdev=pcinet,disable-legacy=on,iommu_platform=on" % PCI_NET_SLOT]
    if pci_nvme:
        args += ["-drive", "file=%s,if=none,format=raw,id=nvme" % pci_nvme,
                 "-device", "nvme,addr=%d,drive=nvme,serial=vireo" % PCI_NVME_SLOT]
    return args


def describe(args):
    return " ".join(shlex.quote(a) for a in args)


# busybox sh's prompt ('/ # ', after a VM's "[name] " prefix when several
# VMs share the console), then its query for the cursor position (ESC [6n).
PROMPT = re.compile(r"/ # (\x1b\[[0-9;]*[A-Za-z]|\^\[\[6n)*$")


class Guest:
    """One QEMU run: its console as a growing text, commands typed at the prompt."""

    def __init__(self, args):
        print("+ " + describe(args), flush=True)
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.text = ""
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for data in iter(lambda: self.proc.stdout.read1(4096), b""):
            with self.lock:
                self.text += data.decode("utf-8", "replace").replace("\r", "")

    def wait(self, pattern, start=0, timeout=300):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                m = re.compile(pattern, re.M).search(self.text, start)
            if m:
                return m
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        sys.exit("no %r in the guest's output:\n%s" % (pattern, self.text[-3000:]))

    def run(self, command, reply):
        """Types `command` at the next prompt; returns the match of `reply` in its output."""
        self.wait(PROMPT.pattern)
        return self.type(command + "\n", reply)

    def type(self, text, reply):
        """Types `text` as it is (e.g. Ctrl-] 2 to switch VMs); returns the match of `reply` after it."""
        with self.lock:
            at = len(self.text)
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()
        return self.wait(reply, at)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def free_port():
    """A TCP port on 127.0.0.1 nobody listens on now (QEMU's hostfwd takes it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def median(values):
    values = sorted(values)
    n = len(values)
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


def busy_seconds(guest, prefix=""):
    """Seconds the guest's CPU did work since boot: uptime less the idle
    and iowait time (/proc/uptime and /proc/stat's first line: kept in ns
    by NO_HZ's idle accounting, printed in 10 ms). Under icount (shift=0)
    that is instructions / 10^9, Vireo's for the guest included (the
    guest's clock runs while Vireo works for it); the idle time QEMU skips
    is not in it. `prefix`: the VM's "[name] " when several share the console."""
    p = re.escape(prefix)
    m = guest.run("cat /proc/uptime; head -n1 /proc/stat", r"^%s(\d+\.\d+) \d+\.\d+\n%scpu +(\d+(?: \d+){4,})$" % (p, p))
    fields = [int(f) for f in m.group(2).split()]
    return float(m.group(1)) - (fields[3] + fields[4]) / 100.0

