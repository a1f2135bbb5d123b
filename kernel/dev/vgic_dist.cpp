#include "kernel/dev/vgic_dist.hpp"

namespace {

// Register map (IHI 0048B table 4-1).
constexpr uint64_t kCtlr = 0x000;
constexpr uint64_t kTyper = 0x004;
constexpr uint64_t kIidr = 0x008;
constexpr uint64_t kIgroupr = 0x080;
constexpr uint64_t kIsenabler = 0x100;
constexpr uint64_t kIcenabler = 0x180;
constexpr uint64_t kIspendr = 0x200;
constexpr uint64_t kIcpendr = 0x280;
constexpr uint64_t kIsactiver = 0x300;
constexpr uint64_t kIcactiver = 0x380;
constexpr uint64_t kIpriorityr = 0x400;
constexpr uint64_t kItargetsr = 0x800;
constexpr uint64_t kIcfgr = 0xc00;
constexpr uint64_t kSgir = 0xf00;
constexpr uint64_t kCpendsgir = 0xf10;
constexpr uint64_t kSpendsgir = 0xf20;
constexpr uint64_t kIcpidr2 = 0xfe8;

enum Which { kEnable, kPending, kActive };

bool in(uint64_t offset, uint64_t base, uint64_t size) { return offset >= base && offset < base + size; }

} // namespace

void VirtualDistributor::reset(uint32_t irqs, uint32_t vcpus)
{
    *this = VirtualDistributor{};
    irqs_ = irqs < kPrivate ? kPrivate : irqs > kMaxIrqs ? kMaxIrqs : (irqs + 31) / 32 * 32;
    vcpus_ = vcpus == 0 ? 1 : vcpus > kMaxVcpus ? kMaxVcpus : vcpus;
    for (uint32_t v = 0; v < kMaxVcpus; v++) {
        bank_[v].enable = 0xffff;        // SGIs are always enabled
        bank_[v].config[0] = 0xaaaaaaaa; // SGIs: edge-triggered, read-only
    }
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

uint8_t* VirtualDistributor::byte_field(uint32_t vcpu, uint32_t irq, bool target)
{
    if (irq >= irqs_) {
        return nullptr;
    }
    if (irq < kPrivate) {
        return target ? nullptr : &bank_[vcpu].priority[irq];
    }
    return target ? &spi_target_[irq - kPrivate] : &spi_priority_[irq - kPrivate];
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

uint8_t VirtualDistributor::targets(uint32_t irq) const
{
    return irq >= kPrivate && irq < irqs_ ? spi_target_[irq - kPrivate] : 0;
}

bool VirtualDistributor::deliverable(uint32_t vcpu, uint32_t irq) const
{
    const bool mine = irq < kPrivate || (targets(irq) >> vcpu) & 1;
    return enabled() && mine && irq_pending(vcpu, irq) && irq_enabled(vcpu, irq);
}

int VirtualDistributor::take_sgi(uint32_t vcpu, uint32_t sgi)
{
    if (vcpu >= vcpus_ || sgi >= 16 || sgi_pending_[vcpu][sgi] == 0) {
        return -1;
    }
    const uint8_t sources = sgi_pending_[vcpu][sgi];
    const int source = __builtin_ctz(sources);
    sgi_pending_[vcpu][sgi] = static_cast<uint8_t>(sources & (sources - 1));
    return source;
}

void VirtualDistributor::return_sgi(uint32_t vcpu, uint32_t sgi, uint32_t source)
{
    if (vcpu < vcpus_ && sgi < 16 && source < vcpus_) {
        sgi_pending_[vcpu][sgi] = static_cast<uint8_t>(sgi_pending_[vcpu][sgi] | 1u << source);
    }
}

void VirtualDistributor::set_pending(uint32_t vcpu, uint32_t irq, bool pending)
{
    uint32_t* w = irq >= 16 && vcpu < vcpus_ ? bits(vcpu, irq / 32, kPending) : nullptr;
    if (w != nullptr) {
        *w = pending ? *w | 1u << (irq % 32) : *w & ~(1u << (irq % 32));
    }
}

uint32_t VirtualDistributor::read_word(uint32_t vcpu, uint64_t offset) const
{
    if (offset == kCtlr) {
        return ctlr_;
    }
    if (offset == kTyper) {
        return (irqs_ / 32 - 1) | (vcpus_ - 1) << 5;
    }
    if (offset == kIidr || in(offset, kIgroupr, 0x80)) {
        return 0; // no implementer claimed; one group
    }
    if (offset == kIcpidr2) {
        return 0x20; // ArchRev 2
    }
    const uint32_t word = static_cast<uint32_t>((offset & 0x7f) / 4);
    if (in(offset, kIsenabler, 0x100) || in(offset, kIspendr, 0x100) || in(offset, kIsactiver, 0x100)) {
        const int which = offset < kIspendr ? kEnable : offset < kIsactiver ? kPending : kActive;
        const uint32_t* w = bits(vcpu, word, which);
        uint32_t value = w != nullptr ? *w : 0;
        if (which == kPending && word == 0) {
            const uint8_t* sources = sgi_pending_[vcpu];
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
        if (index * 16 >= irqs_) {
            return 0;
        }
        return index < 2 ? bank_[vcpu].config[index] : spi_config_[index - 2];
    }
    return 0;
}

void VirtualDistributor::write_word(uint32_t vcpu, uint64_t offset, uint32_t value)
{
    if (offset == kCtlr) {
        ctlr_ = value & 1;
        return;
    }
    if (offset == kSgir) {
        write_sgir(vcpu, value);
        return;
    }
    const uint32_t word = static_cast<uint32_t>((offset & 0x7f) / 4);
    if (in(offset, kIsenabler, 0x400)) {
        // Set/clear pairs: enable, pending, active.
        const uint64_t pair = (offset - kIsenabler) / 0x100;
        const bool set = ((offset - kIsenabler) & 0x80) == 0;
        uint32_t* w = bits(vcpu, word, static_cast<int>(pair));
        if (w == nullptr) {
            return;
        }
        uint32_t mask = value;
        if (word == 0) {
            mask &= 0xffff0000u; // SGIs: always enabled; pending only through SPENDSGIR/CPENDSGIR
        }
        *w = set ? *w | mask : *w & ~mask;
        return;
    }
    if (in(offset, kIcfgr, 0x100)) {
        const uint32_t index = static_cast<uint32_t>((offset - kIcfgr) / 4);
        if (index == 0 || index * 16 >= irqs_) {
            return; // SGI configuration is fixed
        }
        // Only bit 1 of each field (edge/level) is programmable.
        uint32_t& cfg = index == 1 ? bank_[vcpu].config[1] : spi_config_[index - 2];
        cfg = value & 0xaaaaaaaau;
        return;
    }
}

void VirtualDistributor::write_sgir(uint32_t vcpu, uint32_t value)
{
    const uint32_t sgi = value & 0xf;
    const uint32_t filter = (value >> 24) & 3;
    uint32_t targets = (value >> 16) & 0xff;
    if (filter == 1) {
        targets = ((1u << vcpus_) - 1) & ~(1u << vcpu); // all but self
    } else if (filter == 2) {
        targets = 1u << vcpu; // self
    } else if (filter == 3) {
        return; // reserved
    }
    for (uint32_t t = 0; t < vcpus_; t++) {
        if (targets & (1u << t)) {
            sgi_pending_[t][sgi] = static_cast<uint8_t>(sgi_pending_[t][sgi] | 1u << vcpu);
        }
    }
}

bool VirtualDistributor::read(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t& value) const
{
    value = 0;
    if (vcpu >= vcpus_ || offset >= kSize || (size != 1 && size != 4) || offset % size != 0) {
        return true;
    }
    const bool bytes = in(offset, kIpriorityr, 0x400) || in(offset, kItargetsr, 0x400) || in(offset, kCpendsgir, 0x20);
    if (!bytes) {
        value = size == 4 ? read_word(vcpu, offset) : 0;
        return true;
    }
    for (unsigned i = 0; i < size; i++) {
        const uint64_t at = offset + i;
        uint8_t byte = 0;
        if (in(at, kIpriorityr, 0x400)) {
            const uint32_t irq = static_cast<uint32_t>(at - kIpriorityr);
            byte = irq < irqs_ ? priority(vcpu, irq) : 0;
        } else if (in(at, kItargetsr, 0x400)) {
            const uint32_t irq = static_cast<uint32_t>(at - kItargetsr);
            byte = irq < kPrivate ? static_cast<uint8_t>(1u << vcpu) : targets(irq);
        } else {
            const uint32_t sgi = static_cast<uint32_t>((at - kCpendsgir) % 16);
            byte = sgi_pending_[vcpu][sgi];
        }
        value |= uint64_t{byte} << (8 * i);
    }
    return true;
}

bool VirtualDistributor::write(uint32_t vcpu, uint64_t offset, unsigned size, uint64_t value)
{
    if (vcpu >= vcpus_ || offset >= kSize || (size != 1 && size != 4) || offset % size != 0) {
        return true;
    }
    const bool bytes = in(offset, kIpriorityr, 0x400) || in(offset, kItargetsr, 0x400) || in(offset, kCpendsgir, 0x20);
    if (!bytes) {
        if (size == 4) {
            write_word(vcpu, offset, static_cast<uint32_t>(value));
        }
        return true;
    }
    const uint8_t all_vcpus = static_cast<uint8_t>((1u << vcpus_) - 1);
    for (unsigned i = 0; i < size; i++) {
        const uint64_t at = offset + i;
        const auto byte = static_cast<uint8_t>(value >> (8 * i));
        if (in(at, kIpriorityr, 0x400)) {
            uint8_t* p = byte_field(vcpu, static_cast<uint32_t>(at - kIpriorityr), false);
            if (p != nullptr) {
                *p = byte & kPriorityMask;
            }
        } else if (in(at, kItargetsr, 0x400)) {
            uint8_t* t = byte_field(vcpu, static_cast<uint32_t>(at - kItargetsr), true);
            if (t != nullptr) {
                *t = byte & all_vcpus; // targets that exist
            }
        } else {
            const uint32_t sgi = static_cast<uint32_t>((at - kCpendsgir) % 16);
            uint8_t& sources = sgi_pending_[vcpu][sgi];
            sources = at < kSpendsgir ? static_cast<uint8_t>(sources & ~byte)
                                      : static_cast<uint8_t>(sources | (byte & all_vcpus));
        }
    }
    return true;
}
