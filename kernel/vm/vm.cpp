#include "kernel/vm/vm.hpp"

#include <string.h>

#include "kernel/console/console.hpp"
#include "kernel/console/input.hpp"
#include "kernel/cpu/irq.hpp"
#include "kernel/cpu/percpu.hpp"
#include "kernel/devices/calls/calls.hpp"
#include "kernel/devices/gic/vgic.hpp"
#include "kernel/loader/guest_fdt.hpp"
#include "kernel/loader/image.hpp"
#include "kernel/mem/bulk.hpp"
#include "kernel/mem/memory.hpp"
#include "kernel/sched/sched.hpp"
#include "platform/cpu.hpp"
#include "platform/platform.hpp"
#include "platform/psci.hpp"

namespace {

constexpr uint32_t kUartIntid = 33; // SPI 1, as QEMU virt wires its PL011
constexpr size_t kMaxVms = 4;
constexpr uint32_t kFaultLogLimit = 20;
constexpr uint64_t kBlock = 2ull << 20;

constinit Vm vm_table[kMaxVms];
constinit size_t vm_count = 0;
constinit size_t vms_running = 0;
constinit SpinLock vms_lock;
constinit uint16_t next_vmid = 1;

/// Clears guest RAM, copies the kernel, initrd and DTB into it, and makes
/// it all visible to a guest running with its MMU (and so its caches) off.
void load_image(Vm& vm)
{
    auto* ram = reinterpret_cast<uint8_t*>(vm.ram_pa);
    const VmSpec& spec = *vm.spec;
    bulk::zero(ram, vm.ram_size);
    bulk::copy(ram + (vm.kernel_ipa - vm.ram_ipa), spec.image, spec.image_size);
    if (spec.initrd_size != 0) {
        bulk::copy(ram + (vm.initrd_ipa - vm.ram_ipa), spec.initrd, spec.initrd_size);
    }
    bulk::copy(ram + (vm.dtb_ipa - vm.ram_ipa), vm.dtb, vm.dtb_size);
    arch::clean_dcache_to_poc(ram, vm.ram_size);
    asm volatile("ic ialluis\n\tdsb ish\n\tisb" ::: "memory");
}

constexpr size_t kDtbRoom = 64 * 1024; // a generated guest DTB's buffer

/// Gives back the generated DTB's buffer of a VM that could not be built.
void release_dtb(Vm& vm, const VmSpec& spec)
{
    if (spec.dtb == nullptr && vm.dtb != nullptr) {
        memory::phys().free(reinterpret_cast<uint64_t>(vm.dtb), kDtbRoom);
        vm.dtb = nullptr;
    }
}

/// Reads the Image header, places kernel, initrd and DTB (generating the
/// DTB unless the configuration gives one).
bool plan_linux(Vm& vm, const VmSpec& spec)
{
    LoadError error;
    ImageInfo image;
    if (!linux_image::parse(spec.image, spec.image_size, image, error)) {
        log_error("vm %s: kernel: %s", spec.name, error.message);
        return false;
    }
    if (!vgic::available()) {
        log_error("vm %s: a Linux guest needs a virtual GIC, and this host has no GIC virtualization", spec.name);
        return false;
    }
    const size_t dtb_room = spec.dtb != nullptr ? spec.dtb_size : kDtbRoom;
    GuestLayout layout;
    if (!linux_image::plan_layout(spec.ram_base, spec.ram_size, image, spec.image_size, spec.initrd_size, dtb_room,
                                  layout, error)) {
        log_error("vm %s: %s", spec.name, error.message);
        return false;
    }
    vm.kernel_ipa = layout.kernel_start;
    vm.initrd_ipa = layout.initrd_start;
    vm.dtb_ipa = layout.dtb_start;
    vm.entry = layout.kernel_start;
    vm.entry_x0 = layout.dtb_start;
    if (spec.dtb != nullptr) {
        vm.dtb = spec.dtb;
        vm.dtb_size = spec.dtb_size;
        return true;
    }
    const uint64_t buffer = memory::phys().alloc(kDtbRoom, PhysAllocator::kPage);
    if (buffer == 0) {
        log_error("vm %s: no memory left for its device tree", spec.name);
        return false;
    }
    GuestFdtSpec fdt;
    fdt.ram_base = spec.ram_base;
    fdt.ram_size = spec.ram_size;
    fdt.vcpus = spec.vcpu_count;
    fdt.gic_version = vgic::version();
    fdt.uart_base = kUartBase;
    fdt.uart_spi = kUartIntid - 32;
    fdt.bootargs = spec.bootargs;
    for (size_t i = 0; i < spec.passthrough_count && fdt.device_count < GuestFdtSpec::kMaxDevices; i++) {
        fdt.devices[fdt.device_count++] = spec.passthrough[i];
    }
    if (spec.initrd_size != 0) {
        fdt.initrd_start = layout.initrd_start;
        fdt.initrd_end = layout.initrd_start + spec.initrd_size;
    }
    // libfdt uses FP/SIMD registers: fine here, VMs are built before any guest runs.
    const char* why = nullptr;
    const int size = guest_fdt::build(fdt, reinterpret_cast<void*>(buffer), kDtbRoom, why);
    if (size < 0) {
        log_error("vm %s: generating its device tree failed: %s", spec.name, why != nullptr ? why : "?");
        memory::phys().free(buffer, kDtbRoom);
        return false;
    }
    vm.dtb = reinterpret_cast<const uint8_t*>(buffer);
    vm.dtb_size = static_cast<size_t>(size);
    return true;
}

bool overlaps(uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size) { return a < b + b_size && b < a + a_size; }

/// Passthrough devices must be page-aligned device memory nobody else uses:
/// not RAM, not Vireo's GIC or console, not where the VM's emulated devices
/// sit, not another VM's; their SPIs free.
bool check_passthrough(const VmSpec& spec, const Platform& host)
{
    struct Named {
        const char* what;
        uint64_t base;
        uint64_t size;
    };
    const Named taken[] = {
        {"the VM's virtual GIC", Vgic::kGicdBase,
         Vgic::kGicrBase + VmSpec::kMaxVcpus * VirtualDistributor::kRedistSize - Vgic::kGicdBase},
        {"the VM's virtual PL011", kUartBase, VirtualPl011::kSize},
        {"the VM's test device", kTestDeviceBase, spec.test_device ? uint64_t{TestDevice::kSize} : 0},
        {"the VM's RAM", spec.ram_base, spec.ram_size},
        {"Vireo's GIC distributor", host.gic.dist.base, host.gic.dist.size},
        {"Vireo's GIC CPU interface", host.gic.cpu_if.base, host.gic.cpu_if.size},
        {"Vireo's GIC hypervisor interface", host.gic.hyp_if.base, host.gic.hyp_if.size},
        {"the GIC's virtual CPU interface", host.gic.virt_cpu_if.base, host.gic.virt_cpu_if.size},
        {"Vireo's GIC redistributors", host.gic.redist[0].base,
         host.gic.redist_count > 0 ? host.gic.redist[0].size : 0},
        {"Vireo's console UART", host.uart.base & ~0xfffull, host.uart.kind != UartKind::None ? 0x1000ull : 0ull},
    };
    for (size_t i = 0; i < spec.passthrough_count; i++) {
        const Passthrough& p = spec.passthrough[i];
        if (p.size == 0 || (p.base | p.size) % PhysAllocator::kPage != 0) {
            log_error("vm %s: passthrough [0x%lx, +0x%lx): expected a page-aligned base and size", spec.name, p.base,
                      p.size);
            return false;
        }
        for (const Named& t : taken) {
            if (t.size != 0 && overlaps(p.base, p.size, t.base, t.size)) {
                log_error("vm %s: passthrough [0x%lx, +0x%lx) overlaps %s [0x%lx, +0x%lx)", spec.name, p.base, p.size,
                          t.what, t.base, t.size);
                return false;
            }
        }
        for (size_t bank = 0; bank < host.memory_count; bank++) {
            if (overlaps(p.base, p.size, host.memory[bank].base, host.memory[bank].size)) {
                log_error("vm %s: passthrough [0x%lx, +0x%lx) is RAM: expected a device's registers", spec.name, p.base,
                          p.size);
                return false;
            }
        }
        for (size_t other = 0; other < vm_count; other++) {
            const VmSpec& o = *vm_table[other].spec;
            for (size_t j = 0; j < o.passthrough_count; j++) {
                if (overlaps(p.base, p.size, o.passthrough[j].base, o.passthrough[j].size)) {
                    log_error("vm %s: passthrough [0x%lx, +0x%lx) is already vm %s's", spec.name, p.base, p.size,
                              o.name);
                    return false;
                }
            }
        }
        for (size_t n = 0; n < p.intid_count; n++) {
            if (!irq::spi_free(p.intids[n]) || p.intids[n] >= VirtualDistributor::kMaxIrqs) {
                log_error(
                    "vm %s: passthrough interrupt %u: expected a free SPI (32-%u) not used by Vireo or another VM",
                    spec.name, p.intids[n], VirtualDistributor::kMaxIrqs - 1);
                return false;
            }
        }
    }
    return true;
}

bool build(Vm& vm, const VmSpec& spec, size_t online_cpus, size_t vm_index, const Platform& host)
{
    const unsigned ipa_bits = vcpu_ipa_bits();
    if (spec.vcpu_count == 0 || spec.vcpu_count > Vm::kMaxVcpus) {
        log_error("vm %s: vcpus is %u, expected 1 to %lu", spec.name, spec.vcpu_count, Vm::kMaxVcpus);
        return false;
    }
    if ((spec.ram_base | spec.ram_size) % kBlock != 0 || spec.ram_base + spec.ram_size > (1ull << ipa_bits)) {
        log_error("vm %s: RAM [0x%lx, +0x%lx) must be 2 MiB aligned and below the %u-bit IPA limit", spec.name,
                  spec.ram_base, spec.ram_size, ipa_bits);
        return false;
    }
    for (uint32_t i = 0; i < spec.vcpu_count; i++) {
        if (spec.pcpu[i] >= 0 && static_cast<size_t>(spec.pcpu[i]) >= online_cpus) {
            log_error("vm %s: vcpu %u is pinned to cpu %d, but only %lu CPUs are online", spec.name, i, spec.pcpu[i],
                      online_cpus);
            return false;
        }
    }
    if (!check_passthrough(spec, host)) {
        return false;
    }
    if (!plan_linux(vm, spec)) {
        return false;
    }
    PhysAllocator& phys = memory::phys();
    vm.ram_pa = phys.alloc(spec.ram_size, kBlock);
    if (vm.ram_pa == 0) {
        log_error("vm %s: no %lu MiB of contiguous free RAM (largest run %lu MiB)", spec.name, spec.ram_size >> 20,
                  phys.largest_free() >> 20);
        release_dtb(vm, spec);
        return false;
    }
    PageTable stage2(memory::stage2_tables(), Regime::Stage2, ipa_bits);
    bool mapped = stage2.init() && stage2.map(spec.ram_base, vm.ram_pa, spec.ram_size, MemType::Normal);
    uint32_t irqs = 64; // the virtual GIC's interrupts: SPIs up to 63, or the highest passthrough one
    for (size_t i = 0; mapped && i < spec.passthrough_count; i++) {
        const Passthrough& p = spec.passthrough[i];
        mapped = stage2.map(p.base, p.base, p.size, MemType::Device);
        for (size_t n = 0; n < p.intid_count; n++) {
            irqs = p.intids[n] + 1 > irqs ? p.intids[n] + 1 : irqs;
        }
    }
    if (!mapped) {
        log_error("vm %s: out of memory for its stage-2 tables", spec.name);
        phys.free(vm.ram_pa, spec.ram_size);
        release_dtb(vm, spec);
        return false;
    }
    vm.spec = &spec;
    strncpy(vm.name, spec.name, sizeof vm.name - 1);
    vm.ram_ipa = spec.ram_base;
    vm.ram_size = spec.ram_size;
    vm.vmid = next_vmid++;
    vm.stage2.vttbr = uint64_t{vm.vmid} << 48 | stage2.root_phys();
    vm.stage2.cntvoff = arch::counter(); // the guest's virtual counter starts near zero
    vm.stage2.ram_pa = vm.ram_pa;
    vm.stage2.ram_size = spec.ram_size;
    if (spec.test_device) { // a test aid: only when the configuration asks for it
        vm.bus.add(kTestDeviceBase, TestDevice::kSize, vm.test_device);
    }
    vm.uart.connect([](void* context, char c) { static_cast<Vm*>(context)->console_write(&c, 1); },
                    [](void* context, bool level) {
                        Vm& owner = *static_cast<Vm*>(context);
                        vgic::set_spi_level(owner.vgic, kUartIntid, level);
                    },
                    &vm);
    vm.uart_port.vm = &vm;
    vm.bus.add(kUartBase, VirtualPl011::kSize, vm.uart_port);
    if (vgic::setup(vm.vgic, stage2, vm, spec.vcpu_count, irqs)) {
        vm.bus.add(Vgic::kGicdBase, vm.vgic.dist.dist_size(), vm.vgic);
        if (vm.vgic.dist.version() == 3) {
            vm.bus.add(Vgic::kGicrBase, VirtualDistributor::kRedistSize * spec.vcpu_count, vm.vgic.redists);
        }
    }
    vm.vcpu_count = spec.vcpu_count;
    for (uint32_t i = 0; i < spec.vcpu_count; i++) {
        Vcpu& v = vm.vcpus[i];
        v.vm = &vm;
        v.stage2 = &vm.stage2;
        v.index = i;
        v.mpidr = i;
        // Unpinned vCPUs spread over the CPUs, each VM starting one further on.
        v.pcpu =
            static_cast<uint32_t>(spec.pcpu[i] >= 0 ? static_cast<size_t>(spec.pcpu[i]) : (vm_index + i) % online_cpus);
        vm.power[i] = {i, vpsci::Power::Off};
    }
    // Passthrough SPIs go to the physical CPU of vCPU 0, where Linux routes them first.
    for (size_t i = 0; i < spec.passthrough_count; i++) {
        const Passthrough& p = spec.passthrough[i];
        for (size_t n = 0; n < p.intid_count; n++) {
            if (vm.vgic.active) {
                vm.vgic.hw_spi[p.intids[n] / 32] |= 1u << (p.intids[n] % 32);
            }
            irq::claim_spi(p.intids[n], vm, vm.vcpus[0].pcpu);
        }
        console::Line line;
        line.add("vm %s: passthrough [0x%lx, +0x%lx)", spec.name, p.base, p.size);
        for (size_t n = 0; n < p.intid_count; n++) {
            line.add("%s %u", n == 0 ? ", interrupts" : "", p.intids[n]);
        }
        line.print();
    }
    load_image(vm);
    return true;
}

} // namespace

uint64_t Vm::ram_pa_of(uint64_t ipa, uint64_t size) const
{
    if (ipa < ram_ipa || ipa - ram_ipa > ram_size || size > ram_size - (ipa - ram_ipa)) {
        return 0;
    }
    return ram_pa + (ipa - ram_ipa);
}

bool Vm::should_log_fault()
{
    const uint32_t n = __atomic_fetch_add(&fault_logs, 1u, __ATOMIC_RELAXED);
    if (n == kFaultLogLimit) {
        log_info("vm %s: more guest faults; no longer logged", name);
    }
    return n < kFaultLogLimit;
}

namespace {

constinit SpinLock output_lock;
constinit const Vm* open_line = nullptr; // whose unfinished line is on the console

} // namespace

void Vm::console_write(const char* text, size_t length)
{
    if (vm_count <= 1) {
        console::write(text, length);
        return;
    }
    LockGuard guard(output_lock);
    for (size_t i = 0; i < length; i++) {
        const char c = text[i];
        if (c == '\n') {
            emit_line(true);
        } else if (c != '\r') {
            line[line_used++] = c;
            if (line_used == sizeof line - 1) {
                emit_line(false);
            }
        }
    }
}

void Vm::console_flush()
{
    // Only the VM with the input shows unfinished lines (its prompt): the
    // others' lines stay whole, however their bytes interleave.
    if (line_used == 0 || !console_input::has_focus(*this)) {
        return;
    }
    LockGuard guard(output_lock);
    if (line_used != 0) {
        emit_line(false);
    }
}

void Vm::emit_line(bool complete)
{
    line[line_used] = '\0';
    if (open_line == this) {
        console::print("%s%s", line, complete ? "\n" : ""); // the rest of the line already begun
    } else {
        console::print("%s[%s] %s%s", open_line != nullptr ? "\n" : "", name, line, complete ? "\n" : "");
    }
    open_line = complete ? nullptr : this;
    line_used = 0;
}

void Vm::feed_uart()
{
    while (input_count > 0 && uart.receive(input[input_head])) {
        input_head = (input_head + 1) % kInputBuffer;
        input_count--;
    }
}

void Vm::type(uint8_t byte)
{
    LockGuard guard(uart_lock);
    if (input_count < kInputBuffer) {
        input[(input_head + input_count) % kInputBuffer] = byte;
        input_count++;
    }
    feed_uart();
}

bool Vm::UartPort::read(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t& value)
{
    LockGuard guard(vm->uart_lock);
    const bool ok = vm->uart.read(vcpu, offset, size, value);
    vm->feed_uart(); // the read may have made room in the FIFO
    return ok;
}

bool Vm::UartPort::write(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t value)
{
    LockGuard guard(vm->uart_lock);
    return vm->uart.write(vcpu, offset, size, value);
}

bool Vm::smc_allowed(uint32_t fid) const
{
    for (size_t i = 0; i < spec->smc_allow_count; i++) {
        if (fid >= spec->smc_allow[i].first && fid <= spec->smc_allow[i].last) {
            return true;
        }
    }
    return false;
}

namespace vms {

size_t count() { return vm_count; }

Vm* at(size_t index) { return index < vm_count ? &vm_table[index] : nullptr; }

void start_vcpu(Vm& vm, size_t index, uint64_t entry, uint64_t context)
{
    Vcpu& v = vm.vcpus[index];
    v.reset(entry, context);
    {
        LockGuard guard(vm.lock);
        vm.power[index].power = vpsci::Power::On;
    }
    sched::wake(v);
}

size_t create_all(const VmSpec* const* specs, size_t count, size_t online_cpus, const Platform& host)
{
    size_t started = 0;
    for (size_t i = 0; i < count && vm_count < kMaxVms; i++) {
        Vm& vm = vm_table[vm_count];
        if (!build(vm, *specs[i], online_cpus, vm_count, host)) {
            log_error("vm %s not started", specs[i]->name);
            continue;
        }
        vm.id = static_cast<uint32_t>(vm_count++);
        vm.running = true;
        for (size_t v = 0; v < vm.vcpu_count; v++) {
            sched::add(vm.vcpus[v]);
        }
        console::print("vm %s: %u vCPU%s, %lu MiB at IPA 0x%lx (PA 0x%lx), VMID %u\n", vm.name, specs[i]->vcpu_count,
                       specs[i]->vcpu_count == 1 ? "" : "s", vm.ram_size >> 20, vm.ram_ipa, vm.ram_pa, vm.vmid);
        started++;
    }
    vms_running = started;
    for (size_t i = 0; i < vm_count; i++) {
        start_vcpu(vm_table[i], 0, vm_table[i].entry, vm_table[i].entry_x0);
    }
    return started;
}

void stop(Vm& vm, const char* why)
{
    {
        LockGuard guard(vm.lock);
        if (!vm.running) {
            return;
        }
        vm.running = false;
        for (size_t i = 0; i < vm.vcpu_count; i++) {
            __atomic_store_n(&vm.vcpus[i].state, VcpuState::Stopped, __ATOMIC_RELEASE);
            vm.power[i].power = vpsci::Power::Off;
        }
    }
    for (size_t i = 0; i < vm.vcpu_count; i++) {
        irq::kick(vm.vcpus[i].pcpu); // out of the guest, wherever it runs
    }
    console::print("vm %s stopped: %s\n", vm.name, why);
    size_t left;
    {
        LockGuard guard(vms_lock);
        left = --vms_running;
    }
    if (left == 0) {
        if (!calls::firmware_present()) {
            console::print("all VMs stopped; no firmware to power off: idle\n");
            return;
        }
        console::print("all VMs stopped: powering off\n");
        const int64_t ret = psci::call(Conduit::Smc, psci::kSystemOff);
        log_error("firmware SYSTEM_OFF returned %ld (%s); halting instead", ret, psci::error_name(ret));
    }
}

void reset(Vm& vm)
{
    {
        LockGuard guard(vm.lock);
        for (size_t i = 0; i < vm.vcpu_count; i++) {
            __atomic_store_n(&vm.vcpus[i].state, VcpuState::Off, __ATOMIC_RELEASE);
            vm.power[i].power = vpsci::Power::Off;
        }
    }
    console::print("vm %s: resetting\n", vm.name);
    irq::reset_spis(vm);
    vgic::reset(vm.vgic);
    vm.test_device.reset();
    {
        LockGuard guard(vm.uart_lock);
        vm.uart.reset();
        vm.input_count = 0;
    }
    load_image(vm);
    start_vcpu(vm, 0, vm.entry, vm.entry_x0);
}

} // namespace vms
