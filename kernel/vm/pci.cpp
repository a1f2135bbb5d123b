#include "kernel/vm/pci.hpp"

#include "kernel/loader/bytes.hpp"
#include "kernel/loader/pci_check.hpp"
#include "kernel/loader/vm_check.hpp"

#include "kernel/console/console.hpp"
#include "kernel/cpu/irq.hpp"
#include "kernel/mem/objects.hpp"
#include "kernel/mem/page_table.hpp"
#include "kernel/vm/vm.hpp"
#include "platform/cpu.hpp"
#include "platform/format.hpp"
#include "platform/mmio.hpp"
#include "platform/platform.hpp"

namespace vm_pci {
namespace {

// Every function and INTx line some VM has, so that no second VM gets
// them (VMs are built one at a time, on the boot CPU).
struct Claim {
    const Vm* vm = nullptr;
    uint32_t rid = 0;
    uint32_t intid = 0;
    bool confined = false; // behind an SMMU: its stream is (smmu, sid)
    dma::Stream stream;
};
constexpr size_t kMaxClaims = 64;
constinit Claim claims[kMaxClaims] = {};
constinit pci_host::BarWindow window = {};
constinit const Vm* msi_frame_owner = nullptr; // the one VM whose functions signal through the GICv2m frame
constexpr uint64_t kWindowBlock = 2ull << 20;  // the guest's window is made of these (guest_window())

/// Whether the function can send MSIs (an MSI or MSI-X capability).
bool has_msi(pci_host::EcamFunction& f)
{
    return pci_host::find_capability(f, pci_cap::kMsi) != 0 || pci_host::find_capability(f, pci_cap::kMsix) != 0;
}

/// Gives the host's GICv2m frame to `vm` if it is free and this host has
/// one: a device's MSI is a write of an SPI number to the frame, reached
/// through the SMMU, so the frame (and every SPI it raises) can belong to
/// one VM only: its stage 2 maps the frame, no other VM's does. Others use
/// INTx. (GICv3 hosts signal MSIs through the ITS: not given yet.)
void take_msi_frame(Vm& vm, const Platform& host)
{
    const Range& frame = host.gic.msi_frame;
    if (msi_frame_owner != nullptr || host.gic.version != 2 || frame.size == 0) {
        return;
    }
    constexpr uint32_t kMsiTyper = 0x008; // GICv2m: base SPI [25:16], number [9:0]
    const uint32_t typer = mmio::read<uint32_t>(frame.base + kMsiTyper);
    const uint32_t first = typer >> 16 & 0x3ff;
    const uint32_t count = typer & 0x3ff;
    // A device's message can raise any SPI of the frame: none may be
    // another VM's. Vireo's own (on QEMU virt the SMMU's four lie among
    // them) it can only raise spuriously, which costs Vireo an interrupt.
    for (uint32_t intid = first; intid < first + count; intid++) {
        if (irq::spi_of_a_vm(intid)) {
            log_info("vm %s: the GICv2m frame's SPI %u is another VM's: its functions use INTx", vm.name, intid - 32);
            return;
        }
    }
    // The guest gets the longest run of the frame's SPIs nobody has: its
    // DTB names it, so its driver allocates only those (it would otherwise
    // take MSI_TYPER's); the VM holds all the free ones.
    uint32_t best_first = 0, best_count = 0;
    for (uint32_t intid = first, run = 0; intid < first + count; intid++) {
        run = irq::spi_free(intid) ? run + 1 : 0;
        if (run > best_count) {
            best_first = intid + 1 - run;
            best_count = run;
        }
    }
    if (best_count == 0) {
        log_info("vm %s: none of the GICv2m frame's SPIs is free: its functions use INTx", vm.name);
        return;
    }
    msi_frame_owner = &vm;
    vm.pci->msi_first = first;
    vm.pci->msi_count = count;
    vm.pci->fdt.msi_first = best_first;
    vm.pci->fdt.msi_count = best_count;
    vm.pci->fdt.msi_frame_base = frame.base;
    vm.pci->fdt.msi_frame_size = 0x1000;
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

/// The functions some VM has, as vm_check's checks take them; how many.
size_t dma_claims(vm_check::PciClaim (&out)[kMaxClaims])
{
    size_t n = 0;
    for (const Claim& c : claims) {
        if (c.vm != nullptr) {
            out[n++] = {c.vm->name, c.rid, c.confined, c.stream.smmu, c.stream.sid};
        }
    }
    return n;
}

/// Why `f` cannot go to `vm` (logged), or true: vm_check's checks of the
/// configuration against the host's DTB, between those of its config space.
bool check(const Vm& vm, const Platform& host, Function& f)
{
    const VmConfig& config = *vm.spec->config;
    const PciHostDesc& bridge = host.pci;
    const char* vm_name = vm.name;
    char message[vm_check::kMessageSize];
    if (!vm_check::pci_on_root_bus(config, host, f.at, message, sizeof message)) {
        log_error("%s", message);
        return false;
    }
    f.host = pci_host::EcamFunction(pci_host::config_address(bridge, f.at.bus, f.at.device, f.at.function));
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
    vm_check::PciClaim taken[kMaxClaims];
    const size_t taken_count = dma_claims(taken);
    message[0] = '\0';
    vm_check::PciClaim mine;
    const char* smmu_problem = nullptr;
    const char* unconfined = nullptr; // why no SMMU confines its DMA
    if (vm_check::pci_given_once(config, f.at, taken, taken_count, message, sizeof message)) {
        unconfined = vm_check::pci_stream(config, host, f.at, dma::unusable, mine, smmu_problem);
        if (smmu_problem != nullptr) {
            log_info("vm %s: %s: its SMMU %u cannot translate: %s", vm_name, f.name, mine.smmu, smmu_problem);
        }
    }
    if (message[0] != '\0' ||
        !vm_check::pci_stream_clear(config, f.at, mine, unconfined, taken, taken_count, message, sizeof message)) {
        log_error("%s", message);
        return false;
    }
    f.stream = {mine.smmu, mine.sid};
    f.confined = mine.confined;
    if (unconfined != nullptr) {
        log_warn("vm %s: the DMA of %s is not confined: %s; it can read and write all memory, as unconfined-dma allows",
                 vm_name, f.name, unconfined);
    }
    f.pin = f.host.read32(pci_host::kInterrupt) >> 8 & 0xff;
    f.intid = f.pin >= 1 && f.pin <= 4 ? bridge.intx_intid(f.at.device, f.pin) : 0;
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
        log_error("vm %s: property 'pci-functions': %s interrupts on SPI %u (INTx), which is not free", vm_name, f.name,
                  f.intid - 32);
        return false;
    }
    if (window.end == 0) {
        window = {bridge.mmio32.base, bridge.mmio32.end(), bridge.mmio32.base};
    }
    if (!vm_check::pci_window_usable(config, host, message, sizeof message)) {
        log_error("%s", message);
        return false;
    }
    if (vm.pci->bars_start == 0) {
        vm.pci->bars_start = window.next;
    }
    if (const char* why = pci_host::place_bars(f.host, window, f.bars)) {
        log_error("vm %s: property 'pci-functions': %s: %s", vm_name, f.name, why);
        return false;
    }
    return true;
}

/// The window the guest's bridge offers (its DTB's `ranges`): the 2 MiB
/// blocks (or blocks of its largest BAR) around where Vireo placed its
/// BARs, so that a firmware assigning them afresh finds room for all of
/// them, and stage 2 holds a table for every block (map()), so that moving
/// a BAR inside it needs no memory. Inside the host's window, below the
/// guest's ECAM.
Range guest_window(const VmPci& pci)
{
    uint64_t align = kWindowBlock;
    for (size_t i = 0; i < pci.count; i++) {
        for (const PciBar& bar : pci.functions[i].bars) {
            align = bar.size > align ? bar.size : align;
        }
    }
    const uint64_t host_end = pci.host_window.end() < kEcamIpa ? pci.host_window.end() : kEcamIpa;
    const uint64_t base = bytes::align_down(pci.bars_start, align);
    const uint64_t end = bytes::align_up(pci.bars_end > pci.bars_start ? pci.bars_end : pci.bars_start + 1, align);
    const uint64_t from = base < pci.host_window.base ? pci.host_window.base : base;
    const uint64_t to = end > host_end ? host_end : end;
    return {from, to > from ? to - from : 0};
}

constexpr const char* kOverBar = "over another of its BARs";

/// What stage 2 maps of `bar`: whole pages.
uint64_t mapped_size(const PciBar& bar) { return bytes::align_up(bar.size, PageTable::kPageSize); }

/// Whether some BAR of `pci` is not mapped where the guest has put it.
bool bars_to_follow(const VmPci& pci)
{
    for (size_t i = 0; i < pci.count; i++) {
        const Function& f = pci.functions[i];
        for (unsigned b = 0; b < PciConfigSpace::kBars; b++) {
            if (f.bars[b].size != 0 && f.mapped_at[b] != f.view.guest_bar(b)) {
                return true;
            }
        }
    }
    return false;
}

/// Where the guest may map `bar` of `f`: nullptr, or why not.
const char* bar_refusal(const Vm& vm, const Function& f, unsigned bar, uint64_t at, uint64_t size)
{
    const VmPci& pci = *vm.pci;
    if (at % PageTable::kPageSize != 0) {
        return "not page-aligned";
    }
    if (at < pci.fdt.mmio_base || at + size > pci.fdt.mmio_base + pci.fdt.mmio_size || at + size < at) {
        return "outside its bridge's window";
    }
    if (vm.bus.overlaps(at, size)) {
        return "over one of its devices";
    }
    for (size_t i = 0; i < pci.count; i++) {
        const Function& other = pci.functions[i];
        for (unsigned j = 0; j < PciConfigSpace::kBars; j++) {
            const uint64_t there = other.mapped_at[j];
            if ((&other != &f || j != bar) && there != kNotMapped && at < there + mapped_size(other.bars[j]) &&
                there < at + size) {
                return kOverBar;
            }
        }
    }
    // Nothing else of the VM's may be mapped there (a region, say).
    const PageTable table = vm.stage2_table();
    const uint64_t own = f.mapped_at[bar];
    for (uint64_t page = at; page < at + size; page += PageTable::kPageSize) {
        if ((own == kNotMapped || page < own || page >= own + size) && table.lookup(page) != MemType::Unmapped) {
            return "over memory mapped for it";
        }
    }
    return nullptr;
}

/// Maps each BAR of the VM's functions where the guest has put it. A BAR
/// that moved leaves its old place first (and the TLBs of the VM's CPUs
/// and devices are invalidated); then every BAR not mapped where it is now
/// is mapped there to the same host BAR, if that is inside the VM's window
/// and clear of its other BARs and devices. One that is not stays
/// unmapped (accesses fault, logged) until the guest moves it where it
/// can be: a firmware reprogramming BARs one at a time overlaps them for
/// a moment.
void follow_bars(Vm& vm)
{
    VmPci& pci = *vm.pci;
    uint32_t moved[VmConfig::kMaxPciFunctions] = {};
    for (size_t i = 0; i < pci.count; i++) {
        moved[i] = pci.functions[i].view.take_moved();
    }
    if (!bars_to_follow(pci)) {
        return; // most config writes move nothing
    }
    bool unmapped = false;
    LockGuard guard(vm.ram_lock);
    // The tables under the window exist since the VM was built: this
    // rewrites descriptors, allocating nothing.
    PageTable table = vm.stage2_table();
    for (size_t i = 0; i < pci.count; i++) {
        Function& f = pci.functions[i];
        for (unsigned b = 0; b < PciConfigSpace::kBars; b++) {
            if (f.mapped_at[b] != kNotMapped && f.mapped_at[b] != f.view.guest_bar(b)) {
                table.map(f.mapped_at[b], 0, mapped_size(f.bars[b]), MemType::Unmapped);
                f.mapped_at[b] = kNotMapped;
                unmapped = true;
            }
        }
    }
    for (size_t i = 0; i < pci.count; i++) {
        Function& f = pci.functions[i];
        for (unsigned b = 0; b < PciConfigSpace::kBars; b++) {
            const uint64_t at = f.view.guest_bar(b);
            const uint64_t size = mapped_size(f.bars[b]);
            if (f.bars[b].size == 0 || f.mapped_at[b] != kNotMapped) {
                continue;
            }
            const char* why = bar_refusal(vm, f, b, at, size);
            if (why == nullptr && table.map(at, f.bars[b].base, size, MemType::Device)) {
                f.mapped_at[b] = at;
            } else if (why != nullptr && why != kOverBar && (moved[i] >> b & 1) && vm.should_log_fault()) {
                log_warn("vm %s: %s BAR %u moved to [0x%lx, +0x%lx), %s: not mapped until moved", vm.name, f.name, b,
                         at, f.bars[b].size, why);
            }
        }
    }
    // New entries replace invalid ones, which no TLB holds (D8.16.1); the
    // old ones must leave every TLB before the range can be used again.
    asm volatile("dsb ish" ::: "memory");
    if (unmapped) {
        vm.flush_stage2_tlbs();
    }
}

} // namespace

bool SerialEcam::write(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t value)
{
    LockGuard guard(lock_);
    const bool ok = ecam.write(vcpu, offset, size, value);
    if (vm != nullptr && vm->pci != nullptr) {
        follow_bars(*vm);
    }
    return ok;
}

bool claim(Vm& vm, const Platform& host)
{
    const VmConfig& config = *vm.spec->config;
    if (config.pci_count == 0) {
        return true;
    }
    char message[vm_check::kMessageSize];
    if (!vm_check::pci_host_present(config, host, message, sizeof message)) {
        log_error("%s", message);
        return false;
    }
    vm.pci = memory::make<VmPci>();
    if (vm.pci == nullptr) {
        log_error("vm %s: no memory left for its PCIe functions", vm.name);
        return false;
    }
    VmPci& pci = *vm.pci;
    bool wants_msi = false;
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
                c = {&vm, f.at.rid(), f.intid, f.confined, f.stream};
                break;
            }
        }
        pci.count++;
        wants_msi = wants_msi || has_msi(f.host);
        if (f.intid != 0 && pci.fdt.intx_count < GuestFdtPci::kMaxIntx) {
            pci.fdt.intx[pci.fdt.intx_count++] = {f.at.device, f.pin, f.intid};
        }
    }
    if (wants_msi && host.gic.version == 2) {
        take_msi_frame(vm, host);
    }
    for (size_t i = 0; i < pci.count; i++) {
        Function& f = pci.functions[i];
        // GICv3: MSIs through the host's ITS, the guest's DeviceID its
        // requester ID on the virtual bus 0 (the guest DTB's msi-map).
        uint32_t device = 0;
        if (host.gic.version == 3 && has_msi(f.host) && host.pci.device_id_of(f.at.rid(), host, device) &&
            msi::add_function(vm, f.at.device << 3 | f.at.function, device)) {
            f.its_device = device;
            pci.fdt.msi_its = true;
        }
        // MSI and MSI-X shown only where they can be signalled.
        f.view.init(f.host, f.bars, pci.msi_count != 0 || f.its_device != 0);
        pci.ecam.ecam.add(f.at.device, f.at.function, f.view);
    }
    pci.bars_end = window.next;
    pci.fdt.ecam_base = kEcamIpa;
    pci.fdt.ecam_size = kEcamSize;
    pci.host_window = host.pci.mmio32;
    const Range guest = guest_window(pci);
    pci.fdt.mmio_base = guest.base;
    pci.fdt.mmio_size = guest.size;
    return true;
}

bool map(Vm& vm, PageTable& stage2, uint32_t& irqs)
{
    if (vm.pci == nullptr) {
        return true;
    }
    const VmConfig& config = *vm.spec->config;
    char message[vm_check::kMessageSize];
    if (!vm_check::pci_ram_clear(config, vm.pci->host_window, message, sizeof message)) {
        log_error("%s", message);
        return false;
    }
    // A table under every block of the guest's window, for follow_bar().
    const uint64_t window_end = vm.pci->fdt.mmio_base + vm.pci->fdt.mmio_size;
    bool mapped = true;
    for (uint64_t block = bytes::align_down(vm.pci->fdt.mmio_base, kWindowBlock); block < window_end;
         block += kWindowBlock) {
        const uint64_t page = block < vm.pci->fdt.mmio_base ? vm.pci->fdt.mmio_base : block;
        if (stage2.lookup(page) == MemType::Unmapped) { // else something is there: no BAR can go there
            mapped = mapped && stage2.map(page, 0, PageTable::kPageSize, MemType::Unmapped);
        }
    }
    for (size_t i = 0; i < vm.pci->count; i++) {
        Function& f = vm.pci->functions[i];
        for (unsigned b = 0; b < PciConfigSpace::kBars; b++) {
            const PciBar& bar = f.bars[b];
            mapped = mapped && (bar.size == 0 || stage2.map(bar.base, bar.base, mapped_size(bar), MemType::Device));
            f.mapped_at[b] = bar.size != 0 ? bar.base : kNotMapped;
        }
        irqs = f.intid + 1 > irqs ? f.intid + 1 : irqs;
    }
    if (!mapped) {
        log_error("vm %s: out of memory for its stage-2 tables", vm.name);
        return false;
    }
    vm.pci->ecam.vm = &vm;
    if (vm.pci->msi_count != 0) {
        const uint64_t frame = vm.pci->fdt.msi_frame_base;
        if (vm.bus.overlaps(frame, PageTable::kPageSize) ||
            !stage2.map(frame, frame, PageTable::kPageSize, MemType::Device)) {
            log_error("vm %s: the GICv2m frame at 0x%lx cannot be mapped at the same address", vm.name, frame);
            return false;
        }
        const uint32_t end = vm.pci->msi_first + vm.pci->msi_count;
        irqs = end > irqs ? end : irqs;
    }
    if (!msi::map_doorbell(vm, stage2)) {
        log_error("vm %s: out of memory for its stage-2 tables", vm.name);
        return false;
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
    if (vm.pci != nullptr && vm.pci->msi_count != 0) {
        // MSIs are edges: each write to the frame raises its SPI once.
        for (uint32_t intid = vm.pci->msi_first; intid < vm.pci->msi_first + vm.pci->msi_count; intid++) {
            if (!irq::spi_free(intid)) {
                continue; // Vireo's own
            }
            if (vm.vgic.active) {
                vm.vgic.hw_spi[intid / 32] |= 1u << (intid % 32);
            }
            irq::claim_spi(intid, vm.vgic, vm.vcpus[0].pcpu, true);
        }
        log_info("vm %s: GICv2m frame at 0x%lx: MSIs of its functions on SPIs %u-%u", vm.name,
                 vm.pci->fdt.msi_frame_base, vm.pci->fdt.msi_first - 32,
                 vm.pci->fdt.msi_first + vm.pci->fdt.msi_count - 33);
    }
    for (size_t i = 0; vm.pci != nullptr && i < vm.pci->count; i++) {
        Function& f = vm.pci->functions[i];
        if (f.intid != 0 && irq::spi_free(f.intid)) {
            if (vm.vgic.active) {
                vm.vgic.hw_spi[f.intid / 32] |= 1u << (f.intid % 32);
            }
            irq::claim_spi(f.intid, vm.vgic, vm.vcpus[0].pcpu);
        }
        console::Line line;
        const uint32_t id = f.host.read32(pci_host::kVendorDevice);
        line.add("vm %s: PCIe %s (%04x:%04x)", vm.name, f.name, id & 0xffff, id >> 16);
        for (const PciBar& bar : f.bars) {
            if (bar.size != 0) {
                line.add(", BAR [0x%lx, +0x%lx)", bar.base, bar.size);
            }
        }
        if (f.intid != 0) {
            line.add(", INTx SPI %u", f.intid - 32);
        }
        if (f.its_device != 0) {
            line.add(", MSIs through the ITS (DeviceID 0x%x)", f.its_device);
        }
        if (f.confined) {
            line.add(", SMMU %u stream 0x%x", f.stream.smmu, f.stream.sid);
        } else {
            line.add(", not confined (unconfined-dma)");
        }
        line.print();
    }
}

void release(Vm& vm)
{
    if (msi_frame_owner == &vm) {
        msi_frame_owner = nullptr;
    }
    for (Claim& c : claims) {
        if (c.vm == &vm) {
            c = {};
        }
    }
    msi::release(vm);
    // VMs are built one after the other: unless another VM placed BARs
    // since (it cannot have, but the check keeps it so), the room goes back.
    if (vm.pci != nullptr && vm.pci->bars_start != 0 && (vm.pci->bars_end == 0 || window.next == vm.pci->bars_end)) {
        window.next = vm.pci->bars_start;
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
        // enabled (stop() left INTx disabled while nobody owned it), BARs
        // where Vireo placed them.
        f.host.write32(pci_host::kCommand, 0);
        f.view.reset();
        if (f.confined && !dma::attach(f.stream, vm, f.name)) {
            log_error("vm %s: %s: SMMU %u cannot translate stream 0x%x: its DMA stays blocked", vm.name, f.name,
                      f.stream.smmu, f.stream.sid);
        }
    }
    vm.pci->resetting = false;
    if (vm.pci->ecam.vm != nullptr) { // mapped: BARs the old guest moved go back
        follow_bars(vm);
    }
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
    msi::stop(vm);                               // its functions were quiesced: no MSI in flight is mapped again
    return reset ? arch::read_cntfrq() / 10 : 0; // 100 ms (PCIe Base 6.6.2)
}

} // namespace vm_pci
