#include "kernel/vm/pci.hpp"

#include "kernel/console/console.hpp"
#include "kernel/cpu/irq.hpp"
#include "kernel/mem/objects.hpp"
#include "kernel/mem/page_table.hpp"
#include "kernel/vm/vm.hpp"
#include "platform/cpu.hpp"
#include "platform/format.hpp"
#include "platform/platform.hpp"

namespace vm_pci {
namespace {

// Every function and INTx line some VM has, so that no second VM gets
// them (VMs are built one at a time, on the boot CPU).
struct Claim {
    const Vm* vm = nullptr;
    uint32_t rid = 0;
    uint32_t intid = 0;
};
constexpr size_t kMaxClaims = 64;
constinit Claim claims[kMaxClaims] = {};
constinit pci_host::BarWindow window = {};

const Claim* claim_of(uint32_t rid)
{
    for (const Claim& c : claims) {
        if (c.vm != nullptr && c.rid == rid) {
            return &c;
        }
    }
    return nullptr;
}

const Claim* line_owner(uint32_t intid, const Vm& other_than)
{
    for (const Claim& c : claims) {
        if (c.vm != nullptr && c.vm != &other_than && c.intid == intid && intid != 0) {
            return &c;
        }
    }
    return nullptr;
}

/// Why `f` cannot go to `vm` (logged), or true.
bool check(const Vm& vm, const Platform& host, Function& f)
{
    const PciHostDesc& bridge = host.pci;
    const char* vm_name = vm.name;
    const uintptr_t config = pci_host::config_address(bridge, f.at.bus, f.at.device, f.at.function);
    if (config == 0 || f.at.bus != bridge.bus_first) {
        log_error("vm %s: property 'pci-functions': %s is not on the host bridge's root bus %02x: expected a "
                  "function of bus %02x",
                  vm_name, f.name, bridge.bus_first, bridge.bus_first);
        return false;
    }
    f.host = pci_host::EcamFunction(config);
    const uint32_t id = f.host.read32(pci_host::kVendorDevice);
    if ((id & 0xffff) == 0xffff) {
        log_error("vm %s: property 'pci-functions': the host has no PCIe function %s", vm_name, f.name);
        return false;
    }
    if ((f.host.read32(pci_host::kHeaderType) >> 16 & 0x7f) != 0) {
        log_error("vm %s: property 'pci-functions': %s is a bridge: expected an endpoint (header type 0)", vm_name,
                  f.name);
        return false;
    }
    if (const Claim* c = claim_of(f.at.rid())) {
        log_error("vm %s: property 'pci-functions': %s is already given to vm %s", vm_name, f.name, c->vm->name);
        return false;
    }
    size_t smmu = 0;
    const char* unconfined = nullptr; // why no SMMU confines its DMA
    if (!bridge.stream_of(f.at.rid(), host, smmu, f.stream.sid)) {
        unconfined = "no SMMU translates it (the host bridge has no iommu-map entry for it, or its SMMU is disabled)";
    } else if ((unconfined = dma::unusable(static_cast<uint32_t>(smmu))) != nullptr) {
        log_info("vm %s: %s: its SMMU %lu cannot translate: %s", vm_name, f.name, smmu, unconfined);
        unconfined = "its SMMU cannot translate";
    }
    f.stream.smmu = static_cast<uint32_t>(smmu);
    f.confined = unconfined == nullptr;
    if (unconfined != nullptr && !vm.spec->config->unconfined_dma) {
        log_error("vm %s: property 'pci-functions': the DMA of %s would not be confined: %s: expected an SMMU in "
                  "front of it, or identity-mapped; and unconfined-dma; on the VM (its DMA can then reach all memory)",
                  vm_name, f.name, unconfined);
        return false;
    }
    if (unconfined != nullptr) {
        log_warn("vm %s: %s is not confined (%s): its DMA can read and write all memory, unconfined-dma says so",
                 vm_name, f.name, unconfined);
    }
    const uint32_t pin = f.host.read32(pci_host::kInterrupt) >> 8 & 0xff;
    f.intid = pin >= 1 && pin <= 4 ? bridge.intx_intid(f.at.device, pin) : 0;
    if (const Claim* c = line_owner(f.intid, vm)) {
        log_error("vm %s: property 'pci-functions': %s interrupts on SPI %u (INTx), which vm %s has for %02x:%02x.%x: "
                  "expected functions whose INTx lines no other VM uses",
                  vm_name, f.name, f.intid - 32, c->vm->name, c->rid >> 8, c->rid >> 3 & 31, c->rid & 7);
        return false;
    }
    bool shared_with_own = false; // another of this VM's functions has the line already
    for (const Claim& c : claims) {
        shared_with_own = shared_with_own || (c.vm == &vm && c.intid == f.intid);
    }
    if (f.intid != 0 && !shared_with_own && !irq::spi_free(f.intid)) {
        {
            log_error("vm %s: property 'pci-functions': %s interrupts on SPI %u (INTx), which is not free", vm_name,
                      f.name, f.intid - 32);
            return false;
        }
    }
    if (window.end == 0) {
        window = {bridge.mmio32.base, bridge.mmio32.end(), bridge.mmio32.base};
    }
    if (bridge.mmio32.size == 0 || bridge.mmio32_pci != bridge.mmio32.base) {
        log_error("vm %s: property 'pci-functions': the host bridge's 32-bit memory window is missing or translated "
                  "(PCI address 0x%lx at 0x%lx): Vireo needs PCI addresses = physical addresses",
                  vm_name, bridge.mmio32_pci, bridge.mmio32.base);
        return false;
    }
    if (const char* why = pci_host::place_bars(f.host, window, f.bars)) {
        log_error("vm %s: property 'pci-functions': %s: %s", vm_name, f.name, why);
        return false;
    }
    return true;
}

bool overlaps(uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size) { return a < b + b_size && b < a + a_size; }

} // namespace

bool claim(Vm& vm, const Platform& host)
{
    const VmConfig& config = *vm.spec->config;
    if (config.pci_count == 0) {
        return true;
    }
    if (!host.has_pci) {
        log_error("vm %s: property 'pci-functions': the host has no PCIe host bridge Vireo can drive (a "
                  "pci-host-ecam-generic node in its DTB)",
                  vm.name);
        return false;
    }
    vm.pci = memory::make<VmPci>();
    if (vm.pci == nullptr) {
        log_error("vm %s: no memory left for its PCIe functions", vm.name);
        return false;
    }
    VmPci& pci = *vm.pci;
    for (size_t i = 0; i < config.pci_count; i++) {
        Function& f = pci.functions[i];
        f.at = config.pci[i];
        format(f.name, sizeof f.name, "%02x:%02x.%x", f.at.bus, f.at.device, f.at.function);
        if (!check(vm, host, f)) {
            release(vm);
            return false;
        }
        for (Claim& c : claims) {
            if (c.vm == nullptr) {
                c = {&vm, f.at.rid(), f.intid};
                break;
            }
        }
        pci.count++;
        f.view.init(f.host, f.bars);
        pci.ecam.ecam.add(f.at.device, f.at.function, f.view);
        if (f.intid != 0 && pci.fdt.intx_count < GuestFdtPci::kMaxIntx) {
            const uint32_t pin = f.host.read32(pci_host::kInterrupt) >> 8 & 0xff;
            pci.fdt.intx[pci.fdt.intx_count++] = {f.at.device, pin, f.intid};
        }
    }
    pci.fdt.ecam_base = kEcamIpa;
    pci.fdt.ecam_size = kEcamSize;
    pci.fdt.mmio_base = host.pci.mmio32.base;
    pci.fdt.mmio_size = host.pci.mmio32.size;
    return true;
}

bool map(Vm& vm, PageTable& stage2, uint32_t& irqs)
{
    if (vm.pci == nullptr) {
        return true;
    }
    const VmConfig& config = *vm.spec->config;
    if (overlaps(config.ram_base, config.ram_size, kEcamIpa, kEcamSize) ||
        overlaps(config.ram_base, config.ram_size, vm.pci->fdt.mmio_base, vm.pci->fdt.mmio_size)) {
        log_error("vm %s: property 'memory' [0x%lx, 0x%lx) overlaps its PCIe host bridge (config space [0x%lx, "
                  "0x%lx), memory window [0x%lx, 0x%lx)): expected RAM elsewhere",
                  vm.name, config.ram_base, config.ram_base + config.ram_size, kEcamIpa, kEcamIpa + kEcamSize,
                  vm.pci->fdt.mmio_base, vm.pci->fdt.mmio_base + vm.pci->fdt.mmio_size);
        return false;
    }
    for (size_t i = 0; i < vm.pci->count; i++) {
        const Function& f = vm.pci->functions[i];
        for (const PciBar& bar : f.bars) {
            const uint64_t size = (bar.size + PageTable::kPageSize - 1) & ~(PageTable::kPageSize - 1);
            if (bar.size != 0 && !stage2.map(bar.base, bar.base, size, MemType::Device)) {
                log_error("vm %s: out of memory for its stage-2 tables", vm.name);
                return false;
            }
        }
        irqs = f.intid + 1 > irqs ? f.intid + 1 : irqs;
    }
    if (!vm.bus.add(kEcamIpa, kEcamSize, vm.pci->ecam)) {
        log_error("vm %s: its PCIe config space [0x%lx, 0x%lx) overlaps another of its devices", vm.name, kEcamIpa,
                  kEcamIpa + kEcamSize);
        return false;
    }
    return true;
}

void claim_interrupts(Vm& vm)
{
    for (size_t i = 0; vm.pci != nullptr && i < vm.pci->count; i++) {
        Function& f = vm.pci->functions[i];
        if (f.intid != 0 && irq::spi_free(f.intid)) {
            if (vm.vgic.active) {
                vm.vgic.hw_spi[f.intid / 32] |= 1u << (f.intid % 32);
            }
            irq::claim_spi(f.intid, vm.vgic, vm.vcpus[0].pcpu);
        }
        console::Line line;
        line.add("vm %s: PCIe %s (%04x:%04x)", vm.name, f.name, f.host.read32(pci_host::kVendorDevice) & 0xffff,
                 f.host.read32(pci_host::kVendorDevice) >> 16);
        for (const PciBar& bar : f.bars) {
            if (bar.size != 0) {
                line.add(", BAR [0x%lx, +0x%lx)", bar.base, bar.size);
            }
        }
        if (f.intid != 0) {
            line.add(", INTx SPI %u", f.intid - 32);
        }
        if (f.confined) {
            line.add(", SMMU %u stream 0x%x", f.stream.smmu, f.stream.sid);
        } else {
            line.add(", not confined (no SMMU)");
        }
        line.print();
    }
}

void release(Vm& vm)
{
    for (Claim& c : claims) {
        if (c.vm == &vm) {
            c = {};
        }
    }
    memory::unmake(vm.pci);
    vm.pci = nullptr;
}

void start(Vm& vm)
{
    if (vm.pci == nullptr) {
        return;
    }
    for (size_t i = 0; i < vm.pci->count; i++) {
        Function& f = vm.pci->functions[i];
        if (vm.pci->resetting) {
            pci_host::program_bars(f.host, f.bars); // a function-level reset cleared them
        }
        // The guest finds it as after power-on: no decoding, no DMA, INTx
        // enabled (stop() left INTx disabled while nobody owned it).
        f.host.write32(pci_host::kCommand, 0);
        f.view.reset();
        if (f.confined && !dma::attach(f.stream, vm, f.name)) {
            log_error("vm %s: %s: SMMU %u cannot translate stream 0x%x: its DMA stays blocked", vm.name, f.name,
                      f.stream.smmu, f.stream.sid);
        }
    }
    vm.pci->resetting = false;
}

uint64_t stop(Vm& vm)
{
    if (vm.pci == nullptr) {
        return 0;
    }
    bool reset = false;
    for (size_t i = 0; i < vm.pci->count; i++) {
        Function& f = vm.pci->functions[i];
        reset = pci_host::quiesce(f.host) || reset;
        if (f.confined) {
            dma::detach(f.stream);
        }
    }
    vm.pci->resetting = vm.pci->resetting || reset;
    return reset ? arch::read_cntfrq() / 10 : 0; // 100 ms (PCIe Base 6.6.2)
}

} // namespace vm_pci
