#include "kernel/devices/gic/vgic_dist.hpp"

#include "kernel/devices/gic/vgic_lpi.hpp"

namespace {

// Register map (IHI 0048B table 4-1).
constexpr uint64_t kCtlr = 0x000;
constexpr uint64_t kTyper = 0x004;
[[maybe_unused]] constexpr uint64_t kIidr = 0x008; // header_word() returns 0 for it and TYPER2
constexpr uint64_t kHeaderEnd = 0x010;
constexpr uint64_t kIgroupr = 0x080;
constexpr uint64_t kIsenabler = 0x100;
[[maybe_unused]] constexpr uint64_t kIcenabler = 0x180; // the set/clear pairs are handled as 0x100-wide ranges
constexpr uint64_t kIspendr = 0x200;
[[maybe_unused]] constexpr uint64_t kIcpendr = 0x280;
constexpr uint64_t kIsactiver = 0x300;
[[maybe_unused]] constexpr uint64_t kIcactiver = 0x380;
constexpr uint64_t kIpriorityr = 0x400;
constexpr uint64_t kItargetsr = 0x800;
constexpr uint64_t kIcfgr = 0xc00;
constexpr uint64_t kSgir = 0xf00;
constexpr uint64_t kCpendsgir = 0xf10;
constexpr uint64_t kSpendsgir = 0xf20;
constexpr uint64_t kIcpidr2 = 0xfe8;
// GICv3 (IHI 0069 12.9, 12.11): GICD additions, the redistributor's RD_base
// frame and its SGI_base frame (whose layout repeats GICD's for INTIDs 0-31).
constexpr uint64_t kIrouter = 0x6000;
constexpr uint64_t kPidr2V3 = 0xffe8;
constexpr uint64_t kGicrTyper = 0x0008;
constexpr uint64_t kGicrWaker = 0x0014;
constexpr uint64_t kGicrTyperPlpis = 1;
constexpr uint64_t kGicrSgiFrame = 0x10000;
constexpr uint32_t kCtlrAre = 1u << 4;
constexpr uint32_t kCtlrDs = 1u << 6;
constexpr uint32_t kTyperIdBitsV3 = (VirtualLpis::kIdBits - 1) << 19; // INTIDs up to the LPIs (vgic_lpi.hpp)
constexpr uint32_t kTyperNo1N = 1u << 25;
constexpr uint32_t kWakerAsleep = 3u << 1; // ProcessorSleep, ChildrenAsleep
constexpr uint64_t kRouteAffinity = 0xff00ffffffull;

enum Which { kEnable, kPending, kActive };

bool in(uint64_t offset, uint64_t base, uint64_t size) { return offset >= base && offset < base + size; }

} // namespace

void VirtualDistributor::reset(uint32_t irqs, uint32_t vcpus, uint32_t version)
{
    *this = VirtualDistributor{};
    version_ = version == 3 ? 3 : 2;
    irqs_ = irqs < kPrivate ? kPrivate : irqs > kMaxIrqs ? kMaxIrqs : (irqs + 31) / 32 * 32;
    const uint32_t most = version_ == 3 ? kMaxVcpus : kMaxVcpusV2;
    vcpus_ = vcpus == 0 ? 1 : vcpus > most ? most : vcpus;
    for (uint32_t v = 0; v < kMaxVcpus; v++) {
        bank_[v].enable = 0xffff;        // SGIs are always enabled
        bank_[v].config[0] = 0xaaaaaaaa; // SGIs: edge-triggered, read-only
    }
    if (version_ == 3) {
        for (uint32_t irq = kPrivate; irq < irqs_; irq++) {
            set_route(irq, 0); // GICD_IROUTER resets to vCPU 0
        }
    }
}

bool VirtualDistributor::shows(View view, uint32_t irq) const
{
    switch (view) {
    case View::kGicdV2: return irq < irqs_;
    case View::kGicdV3: return irq >= kPrivate && irq < irqs_;
    case View::kRedist: return irq < kPrivate;
    }
    return false;
}

void VirtualDistributor::set_route(uint32_t irq, uint64_t route)
{
    if (irq < kPrivate || irq >= irqs_) {
        return;
    }
    route &= kRouteAffinity;
    spi_route_[irq - kPrivate] = route;
    // vCPU n has affinity 0.0.0.n: anything else names no vCPU of this VM.
    const bool exists = (route & ~0xffull) == 0 && (route & 0xff) < vcpus_;
    spi_target_[irq - kPrivate] = static_cast<uint16_t>(exists ? 1u << (route & 0xff) : 0u);
}

uint32_t* VirtualDistributor::bits(uint32_t vcpu, uint32_t word, int which)
{
    return const_cast<uint32_t*>(static_cast<const VirtualDistributor*>(this)->bits(vcpu, word, which));
}

const uint32_t* VirtualDistributor::bits(uint32_t vcpu, uint32_t word, int which) const
{
    if (word * 32 >= irqs_) {
        return nullptr;
    }
    if (word == 0) {
        const Bank& b = bank_[vcpu];
        return which == kEnable ? &b.enable : which == kPending ? &b.pending : &b.active;
    }
    const uint32_t i = word - 1;
    return which == kEnable ? &spi_enable_[i] : which == kPending ? &spi_pending_[i] : &spi_active_[i];
}

uint8_t* VirtualDistributor::priority_field(uint32_t vcpu, uint32_t irq)
{
    if (irq >= irqs_) {
        return nullptr;
    }
    return irq < kPrivate ? &bank_[vcpu].priority[irq] : &spi_priority_[irq - kPrivate];
}

bool VirtualDistributor::irq_enabled(uint32_t vcpu, uint32_t irq) const
{
    const uint32_t* w = bits(vcpu, irq / 32, kEnable);
    return w != nullptr && (*w >> (irq % 32)) & 1;
}

bool VirtualDistributor::irq_pending(uint32_t vcpu, uint32_t irq) const
{
    if (irq < 16) {
        return sgi_pending_[vcpu][irq] != 0;
    }
    const uint32_t* w = bits(vcpu, irq / 32, kPending);
    return w != nullptr && (*w >> (irq % 32)) & 1;
}

bool VirtualDistributor::irq_active(uint32_t vcpu, uint32_t irq) const
{
    const uint32_t* w = bits(vcpu, irq / 32, kActive);
    return w != nullptr && (*w >> (irq % 32)) & 1;
}

uint8_t VirtualDistributor::priority(uint32_t vcpu, uint32_t irq) const
{
    if (irq >= irqs_) {
        return 0xff;
    }
    return irq < kPrivate ? bank_[vcpu].priority[irq] : spi_priority_[irq - kPrivate];
}

uint16_t VirtualDistributor::targets(uint32_t irq) const
{
    return irq >= kPrivate && irq < irqs_ ? spi_target_[irq - kPrivate] : 0;
}

bool VirtualDistributor::deliverable(uint32_t vcpu, uint32_t irq) const
{
    return irq < irqs_ && (deliverable_mask(vcpu, irq / 32) >> (irq % 32)) & 1;
}

uint32_t VirtualDistributor::deliverable_mask(uint32_t vcpu, uint32_t word) const
{
    if (!enabled() || vcpu >= vcpus_ || word * 32 >= irqs_) {
        return 0;
    }
    if (word == 0) {
        const Bank& b = bank_[vcpu];
        return ((b.pending & 0xffff0000u) | sgi_any_[vcpu]) & b.enable;
    }
    const uint32_t i = word - 1;
    uint32_t candidates = spi_pending_[i] & spi_enable_[i];
    uint32_t mine = 0;
    while (candidates != 0) {
        const auto bit = static_cast<uint32_t>(__builtin_ctz(candidates));
        candidates &= candidates - 1;
        if ((spi_target_[32 * i + bit] >> vcpu) & 1) {
            mine |= 1u << bit;
        }
    }
    return mine;
}

int VirtualDistributor::take_sgi(uint32_t vcpu, uint32_t sgi)
{
    if (vcpu >= vcpus_ || sgi >= 16 || sgi_pending_[vcpu][sgi] == 0) {
        return -1;
    }
    const uint16_t sources = sgi_pending_[vcpu][sgi];
    const int source = __builtin_ctz(sources);
    set_sgi_sources(vcpu, sgi, static_cast<uint16_t>(sources & (sources - 1)));
    return source;
}

void VirtualDistributor::set_sgi_sources(uint32_t vcpu, uint32_t sgi, uint16_t sources)
{
    sgi_pending_[vcpu][sgi] = sources;
    const auto bit = static_cast<uint16_t>(1u << sgi);
    sgi_any_[vcpu] = static_cast<uint16_t>(sources != 0 ? sgi_any_[vcpu] | bit : sgi_any_[vcpu] & ~bit);
}

void VirtualDistributor::return_sgi(uint32_t vcpu, uint32_t sgi, uint32_t source)
{
    if (vcpu < vcpus_ && sgi < 16 && source < vcpus_) {
        set_sgi_sources(vcpu, sgi, static_cast<uint16_t>(sgi_pending_[vcpu][sgi] | 1u << source));
    }
}

void VirtualDistributor::set_pending(uint32_t vcpu, uint32_t irq, bool pending)
{
    uint32_t* w = irq >= 16 && vcpu < vcpus_ ? bits(vcpu, irq / 32, kPending) : nullptr;
    if (w != nullptr) {
        *w = pending ? *w | 1u << (irq % 32) : *w & ~(1u << (irq % 32));
    }
}

uint32_t VirtualDistributor::header_word(uint64_t offset) const
{
    const bool v3 = version_ == 3;
    if (offset == kCtlr) {
        return v3 ? ctlr_ | kCtlrAre | kCtlrDs : ctlr_;
    }
    if (offset == kTyper) {
        // CPUNumber is 3 bits; with affinity routing (GICv3) it only
        // counts PEs usable without it, and 8 stands for "8 or more".
        const uint32_t cpus = vcpus_ < kMaxVcpusV2 ? vcpus_ : kMaxVcpusV2;
        const uint32_t common = (irqs_ / 32 - 1) | (cpus - 1) << 5;
        return v3 ? common | kTyperIdBitsV3 | VirtualLpis::kGicdTyperLpis | kTyperNo1N : common;
    }
    return 0; // GICD_IIDR: no implementer claimed; GICv3's GICD_TYPER2: no extensions
}

uint32_t VirtualDistributor::read_word(uint32_t vcpu, uint64_t offset, View view) const
{
    if (in(offset, kIgroupr, 0x80)) {
        // GICv2: one group (0). GICv3: everything is Group 1, read-only.
        const uint32_t word = static_cast<uint32_t>((offset - kIgroupr) / 4);
        return view != View::kGicdV2 && shows(view, word * 32) ? 0xffffffffu : 0;
    }
    const uint32_t word = static_cast<uint32_t>((offset & 0x7f) / 4);
    if (in(offset, kIsenabler, 0x100) || in(offset, kIspendr, 0x100) || in(offset, kIsactiver, 0x100)) {
        if (!shows(view, word * 32)) {
            return 0;
        }
        const int which = offset < kIspendr ? kEnable : offset < kIsactiver ? kPending : kActive;
        const uint32_t* w = bits(vcpu, word, which);
        uint32_t value = w != nullptr ? *w : 0;
        if (which == kPending && word == 0) {
            const uint16_t* sources = sgi_pending_[vcpu];
            for (uint32_t sgi = 0; sgi < 16; sgi++) {
                if (sources[sgi] != 0) {
                    value |= 1u << sgi;
                }
            }
        }
        return value;
    }
    if (in(offset, kIcfgr, 0x100)) {
        const uint32_t index = static_cast<uint32_t>((offset - kIcfgr) / 4);
        if (!shows(view, index * 16)) {
            return 0;
        }
        return index < 2 ? bank_[vcpu].config[index] : spi_config_[index - 2];
    }
    return 0;
}

void VirtualDistributor::write_word(uint32_t vcpu, uint64_t offset, uint32_t value, View view)
{
    if (offset == kCtlr && view != View::kRedist) {
        ctlr_ = value & (view == View::kGicdV3 ? 3u : 1u); // the group enables
        return;
    }
    if (offset == kSgir && view == View::kGicdV2) {
        write_sgir(vcpu, value);
        return;
    }
    const uint32_t word = static_cast<uint32_t>((offset & 0x7f) / 4);
    if (in(offset, kIsenabler, 0x400)) {
        if (!shows(view, word * 32)) {
            return;
        }
        // Set/clear pairs: enable, pending, active.
        const uint64_t pair = (offset - kIsenabler) / 0x100;
        const bool set = ((offset - kIsenabler) & 0x80) == 0;
        uint32_t* w = bits(vcpu, word, static_cast<int>(pair));
        if (w == nullptr) {
            return;
        }
        uint32_t mask = value;
        if (word == 0) {
            // SGIs: always enabled. Pending through GICv2's SPENDSGIR/CPENDSGIR,
            // or on GICv3 through the redistributor's ISPENDR0/ICPENDR0.
            if (view == View::kRedist && pair == kPending) {
                for (uint32_t sgi = 0; sgi < 16; sgi++) {
                    if (value & (1u << sgi)) {
                        set_sgi_sources(vcpu, sgi,
                                        static_cast<uint16_t>(set ? sgi_pending_[vcpu][sgi] | 1u << vcpu : 0u));
                    }
                }
            }
            mask &= 0xffff0000u;
        }
        *w = set ? *w | mask : *w & ~mask;
        return;
    }
    if (in(offset, kIcfgr, 0x100)) {
        const uint32_t index = static_cast<uint32_t>((offset - kIcfgr) / 4);
        if (index == 0 || !shows(view, index * 16)) {
            return; // SGI configuration is fixed
        }
        // Only bit 1 of each field (edge/level) is programmable.
        uint32_t& cfg = index == 1 ? bank_[vcpu].config[1] : spi_config_[index - 2];
        cfg = value & 0xaaaaaaaau;
        return;
    }
}

void VirtualDistributor::raise_sgi(uint32_t source, uint32_t targets, uint32_t sgi)
{
    for (uint32_t t = 0; t < vcpus_; t++) {
        if (targets & (1u << t)) {
            set_sgi_sources(t, sgi, static_cast<uint16_t>(sgi_pending_[t][sgi] | 1u << source));
        }
    }
}

uint32_t VirtualDistributor::sgir_targets(uint32_t vcpu, uint32_t value) const
{
    switch ((value >> 24) & 3) { // TargetListFilter
    case 0: return (value >> 16) & 0xff & ((1u << vcpus_) - 1);
    case 1: return ((1u << vcpus_) - 1) & ~(1u << vcpu); // all but self
    case 2: return 1u << vcpu;                           // self
    default: return 0;                                   // reserved
    }
}

uint32_t VirtualDistributor::write_sgir(uint32_t vcpu, uint32_t value)
{
    if (vcpu >= vcpus_) {
        return 0;
    }
    const uint32_t targets = sgir_targets(vcpu, value);
    raise_sgi(vcpu, targets, value & 0xf);
    return targets;
}

uint32_t VirtualDistributor::sgi1r_targets(uint32_t vcpu, uint64_t value) const
{
    // ICC_SGI1R_EL1: TargetList [15:0], Aff1 [23:16], INTID [27:24],
    // Aff2 [39:32], IRM [40], RS [47:44], Aff3 [55:48].
    if (version_ != 3 || vcpu >= vcpus_) {
        return 0;
    }
    if (value & (1ull << 40)) {
        return ((1u << vcpus_) - 1) & ~(1u << vcpu); // all but self
    }
    const bool cluster0 = ((value >> 16) & 0xff) == 0 && ((value >> 32) & 0xff) == 0 && ((value >> 48) & 0xff) == 0;
    const auto range = static_cast<uint32_t>((value >> 44) & 0xf);
    // vCPUs have Aff0 < 16: a target list of another range names none.
    return cluster0 && range == 0 ? static_cast<uint32_t>(value & 0xffff) & ((1u << vcpus_) - 1) : 0;
}

uint32_t VirtualDistributor::write_sgi1r(uint32_t vcpu, uint64_t value)
{
    const uint32_t targets = sgi1r_targets(vcpu, value);
    if (targets != 0) {
        raise_sgi(vcpu, targets, static_cast<uint32_t>((value >> 24) & 0xf));
    }
    return targets;
}

/// The widths the interrupt registers allow: bytes or aligned words.
bool VirtualDistributor::accessible(uint64_t offset, unsigned size)
{
    return (size == 1 || size == 4) && offset % size == 0;
}

/// Registers of a byte per interrupt (IPRIORITYR; GICv2's ITARGETSR and
/// C/SPENDSGIR), the others a bit per interrupt in words.
bool VirtualDistributor::byte_registers(uint64_t offset, View view)
{
    const bool v2 = view == View::kGicdV2;
    return in(offset, kIpriorityr, 0x400) || (v2 && in(offset, kItargetsr, 0x400)) ||
           (v2 && in(offset, kCpendsgir, 0x20));
}

bool VirtualDistributor::interrupt_read(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t& value, View view) const
{
    if (!accessible(offset, size)) {
        return true;
    }
    if (!byte_registers(offset, view)) {
        value = size == 4 ? read_word(vcpu, offset, view) : 0;
        return true;
    }
    for (unsigned i = 0; i < size; i++) {
        const uint64_t at = offset + i;
        uint8_t byte = 0;
        if (in(at, kIpriorityr, 0x400)) {
            const auto irq = static_cast<uint32_t>(at - kIpriorityr);
            byte = shows(view, irq) ? priority(vcpu, irq) : 0;
        } else if (in(at, kItargetsr, 0x400)) {
            const auto irq = static_cast<uint32_t>(at - kItargetsr);
            // GICv2 only, whose VMs have at most 8 vCPUs: the mask fits the byte.
            byte = static_cast<uint8_t>(irq < kPrivate ? 1u << vcpu : targets(irq));
        } else {
            const uint32_t sgi = static_cast<uint32_t>((at - kCpendsgir) % 16);
            byte = static_cast<uint8_t>(sgi_pending_[vcpu][sgi]);
        }
        value |= uint64_t{byte} << (8 * i);
    }
    return true;
}

bool VirtualDistributor::interrupt_write(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t value, View view)
{
    if (!accessible(offset, size)) {
        return true;
    }
    if (!byte_registers(offset, view)) {
        if (size == 4) {
            write_word(vcpu, offset, static_cast<uint32_t>(value), view);
        }
        return true;
    }
    const uint8_t all_vcpus = static_cast<uint8_t>((1u << vcpus_) - 1);
    for (unsigned i = 0; i < size; i++) {
        const uint64_t at = offset + i;
        const auto byte = static_cast<uint8_t>(value >> (8 * i));
        if (in(at, kIpriorityr, 0x400)) {
            const auto irq = static_cast<uint32_t>(at - kIpriorityr);
            uint8_t* p = shows(view, irq) ? priority_field(vcpu, irq) : nullptr;
            if (p != nullptr) {
                *p = byte & kPriorityMask;
            }
        } else if (in(at, kItargetsr, 0x400)) {
            const auto irq = static_cast<uint32_t>(at - kItargetsr);
            if (irq >= kPrivate && irq < irqs_) {
                spi_target_[irq - kPrivate] = byte & all_vcpus; // targets that exist
            }
        } else {
            const uint32_t sgi = static_cast<uint32_t>((at - kCpendsgir) % 16);
            const uint16_t sources = sgi_pending_[vcpu][sgi];
            set_sgi_sources(vcpu, sgi,
                            at < kSpendsgir ? static_cast<uint16_t>(sources & ~byte)
                                            : static_cast<uint16_t>(sources | (byte & all_vcpus)));
        }
    }
    return true;
}

bool VirtualDistributor::read(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t& value) const
{
    value = 0;
    if (offset < kHeaderEnd && size == 4) {
        // The control and ID words, first and without the interrupt
        // registers' decode: drivers read them on their hot paths (Linux
        // polls GICD_CTLR.RWP), benchmarks time GICD_IIDR.
        value = offset % 4 == 0 ? header_word(offset) : 0;
        return true;
    }
    if (vcpu >= vcpus_ || offset >= dist_size()) {
        return true;
    }
    if (version_ == 2) {
        if (offset == kIcpidr2 && size == 4) {
            value = 0x20; // ArchRev 2
            return true;
        }
        return interrupt_read(vcpu, offset, size, value, View::kGicdV2);
    }
    if (offset == kPidr2V3 && size == 4) {
        value = 0x30; // ArchRev 3
        return true;
    }
    if (in(offset, kIrouter, 8 * kMaxIrqs) && (size == 8 || size == 4) && offset % size == 0) {
        const auto irq = static_cast<uint32_t>((offset - kIrouter) / 8);
        const uint64_t route = irq >= kPrivate && irq < irqs_ ? spi_route_[irq - kPrivate] : 0;
        value = size == 8 ? route : offset % 8 == 0 ? route & 0xffffffff : route >> 32;
        return true;
    }
    return offset < kSize ? interrupt_read(vcpu, offset, size, value, View::kGicdV3) : true;
}

bool VirtualDistributor::write(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t value)
{
    if (vcpu >= vcpus_ || offset >= dist_size()) {
        return true;
    }
    if (version_ == 2) {
        return interrupt_write(vcpu, offset, size, value, View::kGicdV2);
    }
    if (in(offset, kIrouter, 8 * kMaxIrqs) && (size == 8 || size == 4) && offset % size == 0) {
        const auto irq = static_cast<uint32_t>((offset - kIrouter) / 8);
        if (irq >= kPrivate && irq < irqs_) {
            uint64_t route = spi_route_[irq - kPrivate];
            if (size == 8) {
                route = value;
            } else if (offset % 8 == 0) {
                route = (route & ~0xffffffffull) | (value & 0xffffffff);
            } else {
                route = (route & 0xffffffff) | value << 32;
            }
            set_route(irq, route);
        }
        return true;
    }
    return offset < kSize ? interrupt_write(vcpu, offset, size, value, View::kGicdV3) : true;
}

bool VirtualDistributor::redist_read(uint32_t target, uint64_t offset, unsigned size, uint64_t& value) const
{
    value = 0;
    if (version_ != 3 || target >= vcpus_ || offset >= kRedistSize) {
        return true;
    }
    if (offset >= kGicrSgiFrame) {
        return offset - kGicrSgiFrame < kSize
                   ? interrupt_read(target, offset - kGicrSgiFrame, size, value, View::kRedist)
                   : true;
    }
    if (offset == kGicrTyper && (size == 8 || size == 4)) {
        // Affinity 0.0.0.target, Processor_Number = target, Last on the final frame.
        // PLPIS: LPIs (vgic_lpi.hpp), without DirectLPI.
        const uint64_t typer =
            uint64_t{target} << 32 | uint64_t{target} << 8 | (target + 1 == vcpus_ ? 1u << 4 : 0) | kGicrTyperPlpis;
        value = size == 8 ? typer : typer & 0xffffffff;
    } else if (offset == kGicrTyper + 4 && size == 4) {
        value = target;
    } else if (offset == kGicrWaker && size == 4) {
        value = asleep_[target] ? kWakerAsleep : 0;
    } else if (offset == kPidr2V3 && size == 4) {
        value = 0x30;
    }
    return true; // IIDR and the rest: zero (GICR_CTLR and the LPI registers are vgic_lpi.cpp's)
}

bool VirtualDistributor::redist_write(uint32_t target, uint64_t offset, unsigned size, uint64_t value)
{
    if (target >= vcpus_ || offset >= kRedistSize) {
        return true;
    }
    if (offset >= kGicrSgiFrame) {
        return offset - kGicrSgiFrame < kSize
                   ? interrupt_write(target, offset - kGicrSgiFrame, size, value, View::kRedist)
                   : true;
    }
    if (offset == kGicrWaker && size == 4) {
        asleep_[target] = (value & 2) != 0;
    }
    return true;
}
