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


def describe(args):
    return " ".join(shlex.quote(a) for a in args)
