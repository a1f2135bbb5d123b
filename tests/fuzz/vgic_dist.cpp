// The virtual distributor and redistributor register model
// (kernel/devices/gic/vgic_dist.cpp), GICv2 and GICv3: any sequence of
// accesses by any of the VM's vCPUs, devices raising lines, SGIs taken.
#include <bitset>

#include "kernel/devices/gic/vgic_dist.hpp"
#include "tests/fuzz/input.hpp"

namespace {

constexpr uint32_t kPrivate = VirtualDistributor::kPrivate;
constexpr uint32_t kMax = VirtualDistributor::kMaxIrqs;

/// Every interrupt a guest ever asked to enable (ISENABLER bits written),
/// per vCPU for the private ones: the model may never report more.
struct Shadow {
    std::bitset<kPrivate> private_enabled[VirtualDistributor::kMaxVcpus];
    std::bitset<kMax> spi_enabled;
};

void note_enables(Shadow& s, bool v3, bool redist, uint32_t vcpu, uint64_t offset, unsigned size, uint64_t value)
{
    // ISENABLER<n>: GICD 0x100-0x17f; GICv3 redistributor SGI frame 0x10100.
    const uint64_t base = redist ? 0x10100 : 0x100;
    if (offset < base || offset >= base + 0x80) {
        return;
    }
    for (unsigned byte = 0; byte < size; byte++) {
        const uint64_t at = offset + byte - base;
        for (unsigned bit = 0; bit < 8; bit++) {
            if (!((value >> (8 * byte + bit)) & 1)) {
                continue;
            }
            const uint64_t irq = at * 8 + bit;
            if (irq < kPrivate && (redist || !v3)) {
                s.private_enabled[vcpu].set(irq);
            } else if (irq >= kPrivate && irq < kMax && !redist) {
                s.spi_enabled.set(irq);
            }
        }
    }
}

/// Every interrupt of vCPU `v`: enabled only if ever enabled, deliverable
/// only if forwarding, enabled, pending and targeted, the fast path
/// agreeing with the rule, SPIs targeting only vCPUs that exist.
void check(const VirtualDistributor& d, const Shadow& shadow, uint32_t vcpus, uint32_t v)
{
    for (uint32_t word = 0; word * 32 < d.irqs(); word++) {
        uint32_t mask = 0;
        for (uint32_t bit = 0; bit < 32; bit++) {
            const uint32_t irq = word * 32 + bit;
            const bool enabled = d.irq_enabled(v, irq);
            if (enabled && irq >= 16) { // SGIs are always enabled
                FUZZ_CHECK(irq < kPrivate ? shadow.private_enabled[v].test(irq) : shadow.spi_enabled.test(irq));
            }
            const bool deliverable = d.deliverable(v, irq);
            if (deliverable) {
                FUZZ_CHECK(d.enabled() && enabled && d.irq_pending(v, irq));
                if (irq >= kPrivate) {
                    FUZZ_CHECK((d.targets(irq) >> v) & 1);
                }
            }
            if (irq >= kPrivate && v == 0) {
                FUZZ_CHECK((d.targets(irq) >> vcpus) == 0); // only vCPUs that exist
            }
            mask |= deliverable ? 1u << bit : 0;
        }
        FUZZ_CHECK(d.deliverable_mask(v, word) == mask); // the fast path agrees with the rule
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    FuzzInput in(data, size);
    const uint32_t version = in.flag() ? 3 : 2;
    const uint32_t vcpus = 1 + in.below(version == 3 ? 16 : 8);
    const uint32_t irqs = in.below(kMax + 64);
    static VirtualDistributor d; // large: not on the stack
    d.reset(irqs, vcpus, version);
    FUZZ_CHECK(d.irqs() % 32 == 0 && d.irqs() >= kPrivate && d.irqs() <= kMax);
    Shadow shadow;
    for (int op = 0; op < 64 && !in.done(); op++) {
        const uint8_t kind = in.u8() % 8;
        const uint32_t vcpu = in.below(vcpus);
        const unsigned width = 1u << in.below(4);
        const uint64_t offset = in.u32() & (version == 3 ? 0x1ffff : 0xfff);
        const uint64_t value = in.u64();
        uint64_t read = 0;
        switch (kind) {
        case 0:
        case 1:
            FUZZ_CHECK(d.write(vcpu, offset & 0xffff, width, value));
            note_enables(shadow, version == 3, false, vcpu, offset & 0xffff, width, value);
            break;
        case 2: FUZZ_CHECK(d.read(vcpu, offset & 0xffff, width, read)); break;
        case 3:
            FUZZ_CHECK(d.redist_write(vcpu, offset, width, value));
            if (version == 3) {
                note_enables(shadow, true, true, vcpu, offset, width, value);
            }
            break;
        case 4: FUZZ_CHECK(d.redist_read(vcpu, offset, width, read)); break;
        case 5: d.write_sgi1r(vcpu, value); break;
        case 6: d.set_pending(vcpu, static_cast<uint32_t>(value % (kMax + 8)), (value >> 32) & 1); break;
        case 7: {
            const int source = d.take_sgi(vcpu, static_cast<uint32_t>(value & 15));
            FUZZ_CHECK(source >= -1 && source < static_cast<int>(vcpus));
            if (source >= 0 && (value >> 8) & 1) {
                d.return_sgi(vcpu, static_cast<uint32_t>(value & 15), static_cast<uint32_t>(source));
            }
            break;
        }
        }
        // Invariants: one vCPU after each access, every vCPU at the end.
        check(d, shadow, vcpus, in.below(vcpus));
        FUZZ_CHECK(d.irq_pending(0, d.irqs()) == false); // nothing beyond the implemented interrupts
    }
    for (uint32_t v = 0; v < vcpus; v++) {
        check(d, shadow, vcpus, v);
    }
    return 0;
}
