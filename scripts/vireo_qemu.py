"""QEMU command lines for Vireo, shared by `make run` and the test runner."""
import shlex

QEMU = "qemu-system-aarch64"


def machine_args(image, gic=3, cpus=4, mem="2G", cpu="cortex-a72", virtualization=True,
                 append=None, extra=()):
    """Argument list booting `image` on QEMU virt, serial console on stdio."""
    machine = "virt,gic-version=%s" % gic
    if virtualization:
        machine += ",virtualization=on"
    args = [QEMU, "-M", machine, "-cpu", cpu, "-smp", str(cpus), "-m", str(mem),
            "-nographic", "-no-reboot", "-kernel", image]
    if append:
        args += ["-append", append]
    args += list(extra)
    return args


# QEMU virt's virtio-mmio transports: number N at 0x0a000000 + N * 0x200,
# SPI 16 + N. The shipped I/O configurations name these two by path.
DISK_BUS, NET_BUS = 31, 30  # /virtio_mmio@a003e00, /virtio_mmio@a003c00


def io_args(disk=None, net_port=None):
    """QEMU options for a raw disk (virtio-blk) and user networking
    (virtio-net) whose only way in is a forward from 127.0.0.1:net_port to
    the guest's port 80; restrict=on: the guest reaches nothing outside."""
    args = []
    if disk:
        args += ["-drive", "file=%s,if=none,format=raw,id=disk" % disk,
                 "-device", "virtio-blk-device,drive=disk,bus=virtio-mmio-bus.%d" % DISK_BUS]
    if net_port:
        args += ["-netdev", "user,id=net,restrict=on,hostfwd=tcp:127.0.0.1:%s-:80" % net_port,
                 "-device", "virtio-net-device,netdev=net,bus=virtio-mmio-bus.%d" % NET_BUS]
    return args


def describe(args):
    return " ".join(shlex.quote(a) for a in args)
