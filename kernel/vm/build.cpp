#include "kernel/vm/build.hpp"

#include <string.h>

#include "kernel/base/entropy.hpp"
#include "kernel/console/console.hpp"
#include "kernel/cpu/irq.hpp"
#include "kernel/cpu/percpu.hpp"
#include "kernel/cpu/smp.hpp"
#include "kernel/devices/gic/direct.hpp"
#include "kernel/devices/pmu/vpmu.hpp"
#include "kernel/loader/guest_fdt.hpp"
#include "kernel/loader/image.hpp"
#include "kernel/loader/passthrough_check.hpp"
#include "kernel/mem/bulk.hpp"
#include "kernel/mem/colours.hpp"
#include "kernel/mem/el2_map.hpp"
#include "kernel/mem/memory.hpp"
#include "kernel/mem/objects.hpp"
#include "kernel/vm/channels.hpp"
#include "kernel/vm/pci.hpp"
#include "kernel/vm/regions.hpp"
#include "kernel/vm/vm.hpp"
#include "platform/cpu.hpp"
#include "platform/platform.hpp"

namespace vm_build {
namespace {

constexpr uint64_t kBlock = 2ull << 20;
using vm_check::kDtbRoom; // a generated guest DTB's buffer

/// The channels a VM is on: each with the VM's member record in it.
struct Membership {
    vm_channels::Channel* channel;
    uint32_t member; // the VM's index among the channel's members
    const ChannelMember& record() const { return channel->config->members[member]; }
};
struct Memberships {
    Membership list[channel_config::kMaxPerVm];
    size_t count = 0;
};

Memberships memberships(const VmConfig& config)
{
    Memberships out;
    for (size_t c = 0; c < vm_channels::count(); c++) {
        vm_channels::Channel& channel = vm_channels::at(c);
        for (uint32_t m = 0; m < channel.config->member_count; m++) {
            if (strcmp(channel.config->members[m].vm, config.name) == 0 && out.count < channel_config::kMaxPerVm) {
                out.list[out.count++] = {&channel, m};
            }
        }
    }
    return out;
}

/// What a VM under construction holds, given back when it cannot be finished.
void release(Vm* vm)
{
    const VmConfig& config = *vm->spec->config;
    if (vm->spec->dtb == nullptr && vm->dtb != nullptr) {
        memory::phys().free(reinterpret_cast<uint64_t>(vm->dtb), kDtbRoom);
    }
    if (vm->ram_va != nullptr && vm->coloured()) {
        el2_map::window_unmap(reinterpret_cast<uint64_t>(vm->ram_va), config.ram_size);
        el2_map::window_release(reinterpret_cast<uint64_t>(vm->ram_va), config.ram_size);
    }
    if (vm->ram_pa != 0) {
        memory::phys().free(vm->ram_pa, vm->ram_run);
    }
    vm_regions::release(*vm);
    vm_pci::release(*vm);
    memory::unmake(vm->ram_ready, Vm::ram_state_words(config.ram_size));
    memory::unmake(vm->net_ports, config.network_count);
    memory::unmake(vm->vcpus, config.vcpus);
    memory::unmake(vm);
}

/// A coloured VM's RAM (docs/config.md, "Cache colouring"): the pages of
/// its colours in a run of free memory that starts at colour 0, and a run
/// of Vireo's window through which Vireo reaches them as one. False, said,
/// when there is no such run or no window left.
bool place_coloured(Vm& vm, const VmConfig& config)
{
    const uint32_t count = memory::page_colours();
    char set[160];
    colours::describe(config.colours, set, sizeof set);
    const uint64_t run = colours::run_bytes(config.ram_size, config.colours, count);
    PhysAllocator& phys = memory::phys();
    const uint64_t pa = phys.alloc(run, uint64_t{count} * colours::kPage);
    if (pa == 0) {
        log_error("vm %s: colours %s are %u of this machine's %u: its %lu MiB of RAM are taken from a run of %lu KiB, "
                  "and the largest free run is %lu KiB",
                  config.name, set, colours::count(config.colours), count, config.ram_size >> 20, run >> 10,
                  phys.largest_free() >> 10);
        return false;
    }
    vm.colours = config.colours;
    vm.colour_count = count;
    vm.ram_pa = pa;
    vm.ram_run = run;
    const uint64_t va = el2_map::window_reserve(config.ram_size);
    if (va == 0) {
        log_error("vm %s: no room left in Vireo's window for its coloured RAM (%lu GiB for all coloured VMs)",
                  config.name, (el2_map::kWindowEnd - el2_map::kIdentityEnd) >> 30);
        return false;
    }
    // In runs of consecutive pages (a run of consecutive colours).
    for (uint64_t offset = 0; offset < config.ram_size;) {
        const uint64_t first = vm.ram_pa_at(offset);
        uint64_t length = colours::kPage;
        while (offset + length < config.ram_size && vm.ram_pa_at(offset + length) == first + length) {
            length += colours::kPage;
        }
        if (!el2_map::window_map(va + offset, first, length)) {
            el2_map::window_unmap(va, offset);
            el2_map::window_release(va, config.ram_size);
            log_error("vm %s: no memory left for the tables of Vireo's window", config.name);
            return false;
        }
        offset += length;
    }
    vm.ram_va = reinterpret_cast<uint8_t*>(va);
    if ((memory::own_colours() & vm.colours) != 0) {
        char shared[160];
        log_warn("vm %s shares colours %s with Vireo's own memory (vireo-colours): Vireo's work can evict its lines "
                 "from the last-level cache",
                 config.name, colours::describe(memory::own_colours() & vm.colours, shared, sizeof shared));
    }
    for (size_t i = 0; vms::at(i) != nullptr; i++) {
        const Vm& other = *vms::at(i);
        if ((other.colours & vm.colours) != 0) {
            char shared[160];
            log_warn("vm %s shares colours %s with vm %s: each can evict the other's lines from the last-level cache",
                     config.name, colours::describe(other.colours & vm.colours, shared, sizeof shared), other.name);
        }
    }
    return true;
}

/// Reads the Image header, places kernel, initrd and DTB (generating the
/// DTB unless the configuration gives one).
bool plan_layout(Vm& vm, const VmSpec& spec, const Memberships& on)
{
    const VmConfig& config = *spec.config;
    if (!vgic::available()) {
        log_error("vm %s: a guest needs a virtual GIC, and this host has no GIC virtualization", config.name);
        return false;
    }
    GuestLayout layout;
    char message[vm_check::kMessageSize];
    if (!vm_check::plan_layout(spec, layout, message, sizeof message)) {
        log_error("%s", message);
        return false;
    }
    vm.kernel_ipa = layout.kernel_start;
    vm.initrd_ipa = layout.initrd_start;
    vm.dtb_ipa = layout.dtb_start;
    vm.entry = layout.entry;
    vm.entry_x0 = layout.dtb_start;
    if (spec.dtb != nullptr) {
        vm.dtb = spec.dtb;
        vm.dtb_size = spec.dtb_size;
        return true;
    }
    const uint64_t buffer = memory::phys().alloc(kDtbRoom, PhysAllocator::kPage);
    if (buffer == 0) {
        log_error("vm %s: no memory left for its device tree", config.name);
        return false;
    }
    vm.dtb = reinterpret_cast<const uint8_t*>(buffer); // given back by release() if the VM fails
    GuestFdtSpec fdt;
    vm_check::GuestFdtParts parts;
    vm_check::describe_guest(spec, layout, {vgic::version(), vpmu::available()}, parts, fdt);
    GuestFdtChannel channels[channel_config::kMaxPerVm];
    for (size_t i = 0; i < on.count; i++) {
        channels[i] = vm_check::fdt_channel(*on.list[i].channel->config, on.list[i].record());
    }
    fdt.channels = channels;
    fdt.channel_count = on.count;
    fdt.pci = vm.pci != nullptr ? &vm.pci->fdt : nullptr;
    fdt.rng_seed = entropy::ready();
    // libfdt uses FP/SIMD registers: fine here, VMs are built before any guest runs.
    const char* why = nullptr;
    const int size = guest_fdt::build(fdt, reinterpret_cast<void*>(buffer), kDtbRoom, why);
    if (size < 0) {
        log_error("vm %s: generating its device tree failed: %s", config.name, why != nullptr ? why : "?");
        return false;
    }
    vm.dtb_size = static_cast<size_t>(size);
    vm.rng_seed = guest_fdt::rng_seed(reinterpret_cast<void*>(buffer));
    return true;
}

/// Passthrough devices must be device memory nobody else uses (vm_check::passthrough_clear).
bool check_passthrough(const VmConfig& config, const Platform& host)
{
    static_assert(vm_check::kGicdBase == Vgic::kGicdBase && vm_check::kGicrBase == Vgic::kGicrBase &&
                  vm_check::kGicrFrames == VirtualDistributor::kRedistSize);
    const VmConfig* others[limits::kVms];
    size_t count = 0;
    for (size_t i = 0; vms::at(i) != nullptr && count < limits::kVms; i++) {
        others[count++] = vms::at(i)->spec->config;
    }
    char message[vm_check::kMessageSize];
    if (!vm_check::passthrough_clear(config, host, others, count, irq::spi_free, message, sizeof message)) {
        log_error("%s", message);
        return false;
    }
    return true;
}

/// The checks that need this machine: vCPUs its virtual GIC can serve,
/// pinned CPUs that are online (by the numbers the boot log gave them, of
/// `cpu_count`), RAM inside the guest-physical address space.
bool check_machine(const VmConfig& config, size_t cpu_count, unsigned ipa_bits)
{
    char message[vm_check::kMessageSize];
    if (!vm_check::vcpus_fit(config, vgic::version(), message, sizeof message)) {
        log_error("%s", message);
        return false;
    }
    if ((config.ram_base | config.ram_size) % kBlock != 0 || config.ram_base + config.ram_size > (1ull << ipa_bits)) {
        log_error("vm %s: RAM [0x%lx, +0x%lx) must be 2 MiB aligned and below the %u-bit IPA limit", config.name,
                  config.ram_base, config.ram_size, ipa_bits);
        return false;
    }
    for (uint32_t i = 0; config.pinned && i < config.vcpus; i++) {
        const auto cpu = static_cast<uint32_t>(config.pcpu[i]);
        if (cpu >= cpu_count) {
            log_error("vm %s: vcpu %u is pinned to cpu %u, but this machine has %lu CPUs", config.name, i, cpu,
                      cpu_count);
            return false;
        }
        if (const char* why = smp::why_offline(cpu)) {
            log_error("vm %s: vcpu %u is pinned to cpu %u, which failed to start: %s", config.name, i, cpu, why);
            return false;
        }
        if (!irq::cpu_usable(cpu)) {
            log_error("vm %s: vcpu %u is pinned to cpu %u, which has no usable GIC CPU interface or redistributor",
                      config.name, i, cpu);
            return false;
        }
        if (const char* owner = __atomic_load_n(&vireo_cpus[cpu].direct_vm, __ATOMIC_RELAXED)) {
            vm_check::direct_cpu_owned(config, i, cpu, owner, message, sizeof message);
            log_error("%s", message);
            return false;
        }
        if (config.direct && __atomic_load_n(&vireo_cpus[cpu].vcpus, __ATOMIC_RELAXED) != 0) {
            vm_check::direct_cpu_busy(config, i, cpu, message, sizeof message);
            log_error("%s", message);
            return false;
        }
    }
    if (config.direct) {
        if (const char* why = direct::unusable_why()) {
            vm_check::direct_unusable(config, why, message, sizeof message);
            log_error("%s", message);
            return false;
        }
    }
    return true;
}

/// The CPUs unpinned vCPUs spread over: the online ones that are usable,
/// skipping any that failed to start.
size_t usable_cpus(size_t cpu_count, uint32_t (&out)[VIREO_MAX_CPUS])
{
    size_t count = 0;
    for (uint32_t cpu = 0; cpu < cpu_count && cpu < VIREO_MAX_CPUS; cpu++) {
        if (irq::cpu_usable(cpu) && __atomic_load_n(&vireo_cpus[cpu].direct_vm, __ATOMIC_RELAXED) == nullptr) {
            out[count++] = cpu;
        }
    }
    return count;
}

/// The VM's devices on its bus: test device (if asked for), PL011, virtual GIC.
void add_devices(Vm& vm, PageTable& stage2, uint32_t irqs)
{
    const VmConfig& config = *vm.spec->config;
    if (config.test_device) { // a test aid: only when the configuration asks for it
        vm.bus.add(kTestDeviceBase, TestDevice::kSize, vm.test_device);
    }
    vm.console.init(
        vm.name,
        [](void* context, bool level) { vgic::set_spi_level(static_cast<Vm*>(context)->vgic, kUartIntid, level); },
        &vm);
    vm.bus.add(kUartBase, VirtualPl011::kSize, vm.console);
    if (vgic::setup(vm.vgic, stage2, vm, vm, vm.vcpus, vm.vcpu_count, irqs)) {
        vm.bus.add(Vgic::kGicdBase, Vgic::kGicdFrame, vm.vgic);
        if (vm.vgic.dist.version() == 3) {
            vm.bus.add(Vgic::kGicrBase, VirtualDistributor::kRedistSize * vm.vcpu_count, vm.vgic.redists);
            vm.bus.add(VirtualIts::kBase, VirtualIts::kSize, vm.vgic.its_frame);
        }
    }
}

/// The channels' doorbells and regions, the network devices and regions
/// of the VM clear of its passthrough devices (those named by path were
/// not known when the configuration was checked) and of each other.
bool emulated_devices_clear(const VmConfig& config, const Memberships& on)
{
    vm_check::ChannelPlace places[channel_config::kMaxPerVm];
    for (size_t i = 0; i < on.count; i++) {
        const ChannelMember& m = on.list[i].record();
        places[i] = {on.list[i].channel->config->name, m.ipa, on.list[i].channel->config->size, m.doorbell};
    }
    char message[vm_check::kMessageSize];
    if (!vm_check::emulated_clear(config, places, on.count, message, sizeof message)) {
        log_error("%s", message);
        return false;
    }
    return true;
}

/// The VM's doorbells on its bus, then published to the other members
/// (from then on they may ring it: its virtual GIC is set up).
void attach_channels(Vm& vm, const Memberships& on)
{
    for (size_t i = 0; i < on.count; i++) {
        const ChannelMember& m = on.list[i].record();
        vm_channels::Channel& channel = *on.list[i].channel;
        Doorbell& d = vm.doorbells[m.doorbell];
        const Doorbell::Owner owner{[](void* context, uint32_t intid, bool level) {
                                        vgic::set_spi_level(static_cast<Vm*>(context)->vgic, intid, level);
                                    },
                                    &vm, channel_config::intid(m.doorbell), arch::counter, vm.stage2.cntvoff};
        d.init(channel.ports, on.list[i].member, {m.ipa, channel.config->size, m.writable}, owner);
        vm.bus.add(channel_config::doorbell_ipa(m.doorbell), Doorbell::kSize, d);
        vm.doorbell_mask |= 1u << m.doorbell;
        channel.ports.publish(on.list[i].member, &d);
    }
}

/// The VM's virtio network devices (allocated, vm.net_ports), one per
/// network it joins, on its bus and on their networks' switches; a device
/// whose network is full stays unconnected (reported).
void join_networks(Vm& vm)
{
    const VmConfig& config = *vm.spec->config;
    for (uint32_t n = 0; n < config.network_count; n++) {
        vm_networks::NetPort& port = vm.net_ports[n];
        const char* why = port.join(config.network(n), vm, vm.vgic, vm_networks::intid(n), vm.name, config.bridges(n));
        if (why != nullptr) {
            log_error("vm %s: network %s: %s: its device is not connected", config.name, config.network(n), why);
        }
        vm.bus.add(vm_networks::device_ipa(n), VirtioNet::kSize, port);
        vm.net_port_count = n + 1;
        const uint8_t* mac = port.mac();
        log_info("vm %s: network %s: virtio-net at 0x%lx, interrupt %u, MAC %02x:%02x:%02x:%02x:%02x:%02x", config.name,
                 config.network(n), vm_networks::device_ipa(n), vm_networks::intid(n), mac[0], mac[1], mac[2], mac[3],
                 mac[4], mac[5]);
    }
}

/// A passthrough device that does not fill whole pages goes on the VM's MMIO
/// bus: Vireo performs each access (kernel/devices/mmio/forwarded.hpp).
bool forward(Vm& vm, const PassthroughDevice& p)
{
    if (vm.forwarded_count == Vm::kMaxForwarded) {
        return false;
    }
    ForwardedDevice& device = vm.forwarded[vm.forwarded_count];
    device.init(p.base);
    if (!vm.bus.add(p.base, p.size, device)) {
        return false;
    }
    vm.forwarded_count++;
    return true;
}

/// Passthrough SPIs go to the physical CPU of vCPU 0, where Linux routes them first.
void claim_passthrough(Vm& vm)
{
    const VmConfig& config = *vm.spec->config;
    for (size_t i = 0; i < config.passthrough_count; i++) {
        const PassthroughDevice& p = config.passthrough[i];
        for (size_t n = 0; n < p.intids.count; n++) {
            if (vm.vgic.active) {
                vm.vgic.hw_spi[p.intids[n] / 32] |= 1u << (p.intids[n] % 32);
            }
            irq::claim_spi(p.intids[n], vm.vgic, vm.vcpus[0].pcpu);
        }
        console::Line line;
        line.add("vm %s: passthrough [0x%lx, +0x%lx)", config.name, p.base, p.size);
        for (size_t n = 0; n < p.intids.count; n++) {
            line.add("%s %u", n == 0 ? ", interrupts" : "", p.intids[n]);
        }
        if (!p.whole_pages()) {
            line.add(", forwarded (not whole pages)");
        }
        line.print();
    }
}

} // namespace

bool load_images_step(Vm& vm, uint64_t& cursor, uint64_t budget)
{
    if (cursor == 0) {
        vm.forget_ram(); // a reset: what the guest touched is cleared when it is touched again
        vm_regions::reset(vm);
        if (vm.rng_seed != nullptr) {
            entropy::fill(vm.rng_seed, guest_fdt::kRngSeedSize); // no two boots alike
        }
    }
    const VmSpec& spec = *vm.spec;
    // The load as one sequence of pieces, each image copied to its place
    // (the blocks it lands in cleared first). `cursor` counts the bytes of
    // it done. Identity-mapped RAM, which devices may write by DMA before
    // the guest touches it, is all cleared first (mapped at build), and so is the
    // RAM of a VM with PCIe functions: a stage-2 fault of a device's DMA
    // cannot be retried, unlike the guest's own first touch.
    struct Piece {
        uint64_t ipa;
        const uint8_t* from; // nullptr: only cleared and mapped
        uint64_t size;
    };
    const Piece pieces[] = {
        {vm.ram_ipa, nullptr, vm.ram_whole() ? vm.ram_size : 0},
        {vm.kernel_ipa, spec.image, spec.image_size},
        {vm.initrd_ipa, spec.initrd, spec.initrd_size},
        {vm.dtb_ipa, vm.dtb, vm.dtb_size},
    };
    uint64_t start = 0; // where the current piece begins in the sequence
    for (const Piece& p : pieces) {
        if (cursor < start + p.size && budget > 0) {
            const uint64_t offset = cursor - start;
            const uint64_t n = p.size - offset < budget ? p.size - offset : budget;
            if (p.from == nullptr) {
                vm.prepare_ram(p.ipa + offset, n);
            } else {
                vm.prepare_ram(p.ipa + offset, n, true); // blocks the copy fills whole are not cleared first
                uint8_t* to = vm.ram_va + (p.ipa - vm.ram_ipa) + offset;
                bulk::copy(to, p.from + offset, n);
                // The guest starts with its MMU, and so its caches, off: it
                // must find the images in memory, not in Vireo's cache lines
                // (Arm ARM D7.5.8).
                arch::clean_dcache_to_poc(to, n);
            }
            cursor += n;
            budget -= n;
        }
        start += p.size;
    }
    if (cursor < start) {
        return false;
    }
    asm volatile("ic ialluis\n\tdsb ish\n\tisb" ::: "memory"); // nor stale instructions
    return true;
}

void load_images(Vm& vm)
{
    uint64_t cursor = 0;
    load_images_step(vm, cursor, ~0ull);
}

Vm* build(const VmSpec& spec, size_t cpu_count, size_t index, uint16_t vmid, const Platform& host)
{
    const VmConfig& config = *spec.config;
    const unsigned ipa_bits = vcpu_ipa_bits();
    if (!check_machine(config, cpu_count, ipa_bits) || !check_passthrough(config, host)) {
        return nullptr;
    }
    uint32_t usable[VIREO_MAX_CPUS];
    const size_t usable_count = usable_cpus(cpu_count, usable);
    if (!config.pinned && usable_count == 0) {
        log_error("vm %s: no CPU has a usable GIC CPU interface or redistributor", config.name);
        return nullptr;
    }
    Vm* vm = memory::make<Vm>();
    Vcpu* vcpus = vm != nullptr ? memory::make<Vcpu>(config.vcpus) : nullptr;
    uint64_t* ram_ready = vcpus != nullptr ? memory::make<uint64_t>(Vm::ram_state_words(config.ram_size)) : nullptr;
    if (ram_ready == nullptr) {
        log_error("vm %s: no memory left for its state (%u vCPUs)", config.name, config.vcpus);
        memory::unmake(vcpus, config.vcpus);
        memory::unmake(vm);
        return nullptr;
    }
    vm->ram_ready = ram_ready;
    vm->ram_tables = ram_ready + Vm::ram_words(config.ram_size);
    vm->spec = &spec;
    vm->vcpus = vcpus;
    vm->vcpu_count = config.vcpus;
    strncpy(vm->name, config.name, sizeof vm->name - 1);
    const Memberships on = memberships(config);
    if (!vm_pci::claim(*vm, host) || !plan_layout(*vm, spec, on)) {
        release(vm);
        return nullptr;
    }
    PhysAllocator& phys = memory::phys();
    vm->ram_ipa = config.ram_base;
    vm->ram_size = config.ram_size;
    vm->ram_run = config.ram_size;
    if (config.colours != 0) {
        if (!place_coloured(*vm, config)) {
            release(vm);
            return nullptr;
        }
    } else {
        // Identity-mapped RAM was claimed before anything else (kernel/vm/configs.cpp).
        vm->ram_pa = config.identity_mapped ? config.ram_base : phys.alloc(config.ram_size, kBlock);
        if (vm->ram_pa == 0) {
            log_error("vm %s: no %lu MiB of contiguous free RAM (largest run %lu MiB)", config.name,
                      config.ram_size >> 20, phys.largest_free() >> 20);
            release(vm);
            return nullptr;
        }
        vm->ram_va = reinterpret_cast<uint8_t*>(vm->ram_pa); // EL2's identity map (kernel/mem/el2_map.cpp)
    }
    // Where the VM's memory is, for decoding its instructions (its
    // coloured RAM's run: the other colours' pages in it are unused); the
    // regions' follow.
    vm->stage2.spans[vm->stage2.span_count++] = {vm->ram_pa, vm->ram_run};
    PageTable stage2(memory::stage2_tables(), Regime::Stage2, ipa_bits);
    bool mapped = stage2.init();
    if (vm->ram_whole()) {
        // Mapped now, in the largest blocks IPA and PA alignment allow (1
        // GiB, 2 MiB, pages at the edges): no vCPU or device reaches it
        // before load_images_step has cleared all of it.
        mapped = mapped && vm->map_pages(stage2, 0, config.ram_size);
    }
    // Else RAM starts unmapped, each 64 KiB block's level-3 entries in
    // place, mapped when first touched (kernel/vm/ram.cpp).
    for (uint64_t offset = 0; mapped && !vm->ram_whole() && offset < config.ram_size; offset += Vm::kRamBlock) {
        mapped = stage2.map(config.ram_base + offset, vm->ram_pa + offset, Vm::kRamBlock, MemType::Unmapped);
    }
    uint32_t irqs = 64; // the virtual GIC's interrupts: SPIs up to 63, or the highest passthrough one
    for (size_t i = 0; mapped && i < config.passthrough_count; i++) {
        const PassthroughDevice& p = config.passthrough[i];
        if (p.whole_pages()) {
            mapped = stage2.map(p.base, p.base, p.size, MemType::Device);
        } else if (!forward(*vm, p)) {
            log_error("vm %s: passthrough %s [0x%lx, +0x%lx) is forwarded (it does not fill whole pages), but its "
                      "MMIO bus is full: expected at most %lu such devices",
                      config.name, p.name, p.base, p.size, Vm::kMaxForwarded);
            release(vm);
            return nullptr;
        }
        for (size_t n = 0; n < p.intids.count; n++) {
            irqs = p.intids[n] + 1 > irqs ? p.intids[n] + 1 : irqs;
        }
    }
    if (mapped && !vm_pci::map(*vm, stage2, irqs)) {
        release(vm);
        return nullptr;
    }
    // Everything that can refuse the VM comes before its doorbells are
    // published and its network ports attached: others may use those at once.
    if (!emulated_devices_clear(config, on)) {
        release(vm);
        return nullptr;
    }
    if (config.network_count != 0) {
        vm->net_ports = memory::make<vm_networks::NetPort>(config.network_count);
        if (vm->net_ports == nullptr) {
            log_error("vm %s: no memory left for its network devices", config.name);
            release(vm);
            return nullptr;
        }
    }
    for (size_t i = 0; mapped && i < on.count; i++) {
        const ChannelMember& m = on.list[i].record();
        const vm_channels::Channel& channel = *on.list[i].channel;
        mapped =
            stage2.map(m.ipa, channel.pa, channel.config->size, m.writable ? MemType::Normal : MemType::NormalReadOnly);
        irqs = channel_config::intid(m.doorbell) + 1 > irqs ? channel_config::intid(m.doorbell) + 1 : irqs;
    }
    if (config.network_count != 0) {
        const uint32_t last = vm_networks::intid(config.network_count - 1) + 1;
        irqs = last > irqs ? last : irqs;
    }
    if (!mapped) {
        log_error("vm %s: out of memory for its stage-2 tables", config.name);
        release(vm);
        return nullptr;
    }
    if (!vm_regions::set_up(*vm, spec, stage2)) {
        release(vm);
        return nullptr;
    }
    vm->ipa_bits = ipa_bits;
    vm->vmid = vmid;
    vm->stage2.vttbr = uint64_t{vmid} << 48 | stage2.root_phys();
    vm->stage2.cntvoff = arch::counter(); // the guest's virtual counter starts near zero
    for (uint32_t i = 0; i < vm->vcpu_count; i++) {
        Vcpu& v = vm->vcpus[i];
        v.vm = vm;
        v.stage2 = &vm->stage2;
        v.console_unfinished = vm->console.unfinished();
        v.index = i;
        v.mpidr = i; // one affinity-0 cluster (limits::kVcpusPerVm)
        // Unpinned vCPUs spread over the usable CPUs, each VM starting one further on.
        v.pcpu = config.pinned ? static_cast<uint32_t>(config.pcpu[i]) : usable[(index + i) % usable_count];
        vm->power[i] = {i, vpsci::Power::Off};
        __atomic_fetch_add(&vireo_cpus[v.pcpu].vcpus, 1u, __ATOMIC_RELAXED);
        if (config.direct) {
            v.direct = true;
            v.trap_wfi = false;
            v.console_unfinished = nullptr; // its console's unfinished lines: no WFI trap (vcpu_hcr_direct)
            __atomic_store_n(&vireo_cpus[v.pcpu].direct_vm, static_cast<const char*>(vm->name), __ATOMIC_RELAXED);
        }
    }
    vm->vgic.direct = config.direct;
    add_devices(*vm, stage2, irqs);
    attach_channels(*vm, on);
    join_networks(*vm);
    claim_passthrough(*vm);
    vm_pci::claim_interrupts(*vm);
    load_images(*vm);
    vm_pci::start(*vm); // its RAM is all mapped: now its devices may reach it
    return vm;
}

} // namespace vm_build
