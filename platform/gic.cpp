// GICv2 (Arm IHI 0048) and GICv3 (Arm IHI 0069) drivers for Vireo's own
// interrupts. All of Vireo's interrupts are Group 1 on v3 and Group 0 on
// v2 without security extensions (QEMU virt, GIC-400 seen from non-secure),
// priority 0x80, handled with EOImode 1: acknowledging drops the priority,
// deactivation is apart (so a guest can end a hardware-linked interrupt).
#include "platform/gic.hpp"

#include "platform/cpu.hpp"
#include "platform/mmio.hpp"
#include "platform/platform.hpp"

namespace gic {
namespace {

// Distributor (both versions).
constexpr uint64_t kGicdCtlr = 0x000;
constexpr uint64_t kGicdTyper = 0x004;
constexpr uint64_t kGicdIgroupr = 0x080;
constexpr uint64_t kGicdIsenabler = 0x100;
constexpr uint64_t kGicdIpriorityr = 0x400;
constexpr uint64_t kGicdItargetsr = 0x800;
constexpr uint64_t kGicdSgir = 0xf00;
constexpr uint64_t kGicdIcfgr = 0xc00;
constexpr uint64_t kGicdIrouter = 0x6000;
// GICv2 CPU interface (EOImode 1: EOIR drops priority, DIR deactivates).
constexpr uint64_t kGiccCtlr = 0x00;
constexpr uint32_t kGiccCtlrEoiMode = 1u << 9;
constexpr uint64_t kGiccDir = 0x1000;
// GICv2 virtual interface control (IHI 0048B 5.3).
constexpr uint64_t kGichHcr = 0x000;
constexpr uint64_t kGichVtr = 0x004;
constexpr uint64_t kGichVmcr = 0x008;
constexpr uint64_t kGichElrsr0 = 0x030;
constexpr uint64_t kGichApr = 0x0f0;
constexpr uint64_t kGichLr = 0x100;
constexpr uint64_t kGiccPmr = 0x04;
constexpr uint64_t kGiccIar = 0x0c;
constexpr uint64_t kGiccEoir = 0x10;
// GICv3 redistributor: RD_base frame, then the SGI_base frame 64 KiB on.
constexpr uint64_t kGicrWaker = 0x0014;
constexpr uint64_t kGicrTyper = 0x0008;
constexpr uint64_t kGicrSgiBase = 0x10000;
constexpr uint64_t kGicrFrame = 0x20000;
constexpr uint32_t kWakerProcessorSleep = 1u << 1;
constexpr uint32_t kWakerChildrenAsleep = 1u << 2;
constexpr uint64_t kTyperLast = 1ull << 4;

constexpr uint8_t kPriority = 0x80;

struct State {
    unsigned version = 0;
    uint64_t dist = 0;
    uint64_t cpu_if = 0;
    uint64_t hyp_if = 0;
    uint64_t redist[GicDesc::kMaxRedistRegions] = {};
    uint64_t redist_size[GicDesc::kMaxRedistRegions] = {};
    unsigned redist_count = 0;
    bool group0 = false; // GICv3 with GICD_CTLR.DS: Group 0 is non-secure
};
constexpr uint32_t kCtlrDs = 1u << 6;
constinit State state;

// Per-CPU: this CPU's GICv3 SGI frame; GICv2 CPU interface mask by MPIDR.
constinit uint64_t v2_target_mpidr[8] = {~0ull, ~0ull, ~0ull, ~0ull, ~0ull, ~0ull, ~0ull, ~0ull};

uint32_t rd32(uint64_t a) { return mmio::read<uint32_t>(a); }
void wr32(uint64_t a, uint32_t v) { mmio::write<uint32_t>(a, v); }

/// This CPU's redistributor, by GICR_TYPER.Affinity_Value (IHI 0069 9.11.35).
uint64_t find_redist(uint64_t mpidr)
{
    const uint64_t aff = (mpidr & 0xffffff) | ((mpidr >> 32) & 0xff) << 24;
    for (unsigned r = 0; r < state.redist_count; r++) {
        for (uint64_t frame = state.redist[r]; frame < state.redist[r] + state.redist_size[r]; frame += kGicrFrame) {
            const uint64_t typer = mmio::read<uint64_t>(frame + kGicrTyper);
            if ((typer >> 32) == aff) {
                return frame;
            }
            if (typer & kTyperLast) {
                break;
            }
        }
    }
    return 0;
}

/// A GICv2 without the Security Extensions (GICD_TYPER.SecurityExtn clear,
/// e.g. QEMU raspi4b's GIC-400) has one register view, where GICC_CTLR bit 0
/// enables Group 0 only and a Group 1 interrupt needs EnableGrp1 and AckCtl
/// to be signalled and acknowledged. Firmware written for a secure GIC
/// (TF-A's gicv2_distif_init and gicv2_pcpu_distif_init: "all interrupts
/// G1NS") leaves every interrupt in Group 1 there, so Vireo puts those it
/// uses back in Group 0. With the Security Extensions Vireo sees the
/// non-secure view (bit 0 is EnableGrp1, GICD_IGROUPR is RAZ/WI) and
/// changes nothing.
bool v2_single_security() { return (rd32(state.dist + kGicdTyper) & (1u << 10)) == 0; }

constinit uint64_t sgi_frame[VIREO_MAX_CPUS] = {};
constinit uint64_t sgi_frame_mpidr[VIREO_MAX_CPUS] = {};

/// ICC_SGI0R_EL1 and ICC_SGI1R_EL1: Aff3 [55:48], Aff2 [39:32], INTID
/// [27:24], Aff1 [23:16], TargetList [15:0]; SGI `sgi` to `mpidr` alone.
uint64_t sgi_value(uint64_t mpidr, uint32_t sgi)
{
    return ((mpidr >> 32) & 0xff) << 48 | ((mpidr >> 16) & 0xff) << 32 | uint64_t{sgi} << 24 |
           ((mpidr >> 8) & 0xff) << 16 | (1ull << (mpidr & 0xf));
}

/// The SGI frame of the CPU with affinity `mpidr`, as init_cpu() found it
/// (0 if it has not run there).
uint64_t sgi_frame_of(uint64_t mpidr)
{
    for (unsigned i = 0; i < VIREO_MAX_CPUS; i++) {
        if (sgi_frame[i] != 0 && sgi_frame_mpidr[i] == mpidr) {
            return sgi_frame[i];
        }
    }
    return 0;
}

uint64_t my_sgi_frame() { return sgi_frame_of(arch::read_mpidr() & kMpidrAffinityMask); }

} // namespace

unsigned version() { return state.version; }

uint64_t redistributor(uint64_t mpidr) { return state.version == 3 ? find_redist(mpidr) : 0; }

bool init(const GicDesc& desc)
{
    state.version = desc.version;
    state.dist = desc.dist.base;
    state.cpu_if = desc.cpu_if.base;
    state.hyp_if = desc.hyp_if.base;
    state.redist_count = static_cast<unsigned>(desc.redist_count);
    for (unsigned i = 0; i < state.redist_count; i++) {
        state.redist[i] = desc.redist[i].base;
        state.redist_size[i] = desc.redist[i].size;
    }
    if (state.version == 3) {
        // ARE, EnableGrp1. Secure firmware, if any, has set things up for
        // the non-secure side already. With one security state (DS) Group
        // 0 is ours too: EnableGrp0, for direct interrupt delivery.
        const uint32_t ctlr = rd32(state.dist + kGicdCtlr);
        state.group0 = (ctlr & kCtlrDs) != 0;
        wr32(state.dist + kGicdCtlr, ctlr | (1u << 4) | (1u << 1) | (state.group0 ? 1u : 0u));
        return state.redist_count > 0;
    }
    if (state.version == 2 && state.cpu_if != 0) {
        if (v2_single_security()) {
            // Every SPI to Group 0, which GICC_CTLR bit 0 signals as IRQ here.
            const uint32_t words = (rd32(state.dist + kGicdTyper) & 0x1f) + 1;
            for (uint32_t i = 1; i < words; i++) {
                wr32(state.dist + kGicdIgroupr + 4 * i, 0);
            }
        }
        wr32(state.dist + kGicdCtlr, 0x3); // EnableGrp0, EnableGrp1
        return true;
    }
    return false;
}

bool init_cpu(uint64_t mpidr)
{
    if (state.version == 3) {
        const uint64_t rd = find_redist(mpidr);
        if (rd == 0) {
            return false;
        }
        wr32(rd + kGicrWaker, rd32(rd + kGicrWaker) & ~kWakerProcessorSleep);
        for (unsigned i = 0; i < (1u << 20) && (rd32(rd + kGicrWaker) & kWakerChildrenAsleep); i++) {
        }
        const uint64_t sgi = rd + kGicrSgiBase;
        wr32(sgi + kGicdIgroupr, 0xffffffff); // SGIs and PPIs: Group 1
        for (unsigned i = 0; i < 32; i += 4) {
            wr32(sgi + kGicdIpriorityr + i, 0x80808080u);
        }
        for (unsigned i = 0; i < VIREO_MAX_CPUS; i++) {
            if (sgi_frame[i] == 0) {
                sgi_frame_mpidr[i] = mpidr;
                __atomic_store_n(&sgi_frame[i], sgi, __ATOMIC_RELEASE);
                break;
            }
        }
        // CPU interface through system registers (ICC_SRE_EL2: SRE, Enable).
        uint64_t sre;
        asm volatile("mrs %0, S3_4_C12_C9_5" : "=r"(sre));
        asm volatile("msr S3_4_C12_C9_5, %0\n\tisb" ::"r"(sre | 0x9));
        // Guests get the system-register interface too (ICC_SRE_EL1: SRE,
        // DFB, DIB), the only one a virtual GICv3 offers.
        asm volatile("msr S3_0_C12_C12_5, %0" ::"r"(uint64_t{7}));
        asm volatile("msr S3_0_C4_C6_0, %0" ::"r"(uint64_t{0xff}));       // ICC_PMR_EL1
        asm volatile("msr S3_0_C12_C12_4, %0" ::"r"(uint64_t{2}));        // ICC_CTLR_EL1: EOImode 1
        asm volatile("msr S3_0_C12_C12_7, %0\n\tisb" ::"r"(uint64_t{1})); // ICC_IGRPEN1_EL1
        return true;
    }
    // GICv2: this CPU's interface number is the bit set in ITARGETSR0
    // (banked); a uniprocessor GIC reads it as zero (IHI 0048 4.3.12).
    uint8_t mask = static_cast<uint8_t>(rd32(state.dist + kGicdItargetsr) & 0xff);
    if (mask == 0 && (rd32(state.dist + kGicdTyper) & 0xe0) == 0) {
        mask = 1;
    }
    for (unsigned i = 0; i < 8; i++) {
        if (mask == (1u << i)) {
            v2_target_mpidr[i] = mpidr;
        }
    }
    if (v2_single_security()) {
        wr32(state.dist + kGicdIgroupr, 0); // this CPU's SGIs and PPIs: Group 0 (see v2_single_security)
    }
    for (unsigned i = 0; i < 32; i += 4) {
        wr32(state.dist + kGicdIpriorityr + i, 0x80808080u);
    }
    wr32(state.cpu_if + kGiccPmr, 0xff);
    wr32(state.cpu_if + kGiccCtlr, 0x1 | kGiccCtlrEoiMode);
    return mask != 0;
}

uint32_t ack()
{
    if (state.version == 3) {
        uint64_t iar;
        asm volatile("mrs %0, S3_0_C12_C12_0" : "=r"(iar)); // ICC_IAR1_EL1
        return static_cast<uint32_t>(iar & 0xffffff);
    }
    return rd32(state.cpu_if + kGiccIar) & 0x3ff;
}

void priority_drop(uint32_t intid)
{
    if (state.version == 3) {
        asm volatile("msr S3_0_C12_C12_1, %0\n\tisb" ::"r"(uint64_t{intid})); // ICC_EOIR1_EL1
        return;
    }
    wr32(state.cpu_if + kGiccEoir, intid);
}

void eoi(uint32_t intid)
{
    priority_drop(intid);
    if (state.version == 3) {
        asm volatile("msr S3_0_C12_C11_1, %0\n\tisb" ::"r"(uint64_t{intid})); // ICC_DIR_EL1
        return;
    }
    wr32(state.cpu_if + kGiccDir, intid);
}

bool group0_usable() { return state.version == 3 && state.group0; }

uint32_t ack_group0()
{
    uint64_t iar;
    asm volatile("mrs %0, S3_0_C12_C8_0" : "=r"(iar)); // ICC_IAR0_EL1
    return static_cast<uint32_t>(iar & 0xffffff);
}

void eoi_group0(uint32_t intid) { asm volatile("msr S3_0_C12_C8_1, %0\n\tisb" ::"r"(uint64_t{intid})); }

void cpu_direct(bool on)
{
    constexpr uint64_t kCtlrCbpr = 1u << 0;
    constexpr uint64_t kCtlrEoiMode = 1u << 1;
    if (on) {
        asm volatile("msr S3_0_C12_C8_3, xzr");                  // ICC_BPR0_EL1: its minimum (the write rounds up)
        asm volatile("msr S3_0_C12_C12_4, %0" ::"r"(kCtlrCbpr)); // ICC_CTLR_EL1: EOImode 0, common BPR
        asm volatile("msr S3_0_C12_C12_6, %0\n\tisb" ::"r"(uint64_t{1})); // ICC_IGRPEN0_EL1
        return;
    }
    asm volatile("msr S3_0_C12_C12_6, xzr");
    // Active priorities the guest left (an interrupt it never ended, or
    // what it wrote there): none of them is Vireo's, whose Group 0
    // interrupts are all ended before the guest runs again.
    uint64_t ctlr;
    asm volatile("mrs %0, S3_0_C12_C12_4" : "=r"(ctlr)); // ICC_CTLR_EL1.PRIbits: priority bits - 1
    const uint64_t bits = ((ctlr >> 8) & 7) + 1;
    asm volatile("msr S3_0_C12_C9_0, xzr"); // ICC_AP1R0_EL1; the others exist with 6 and 7 bits
    if (bits >= 6) {
        asm volatile("msr S3_0_C12_C9_1, xzr");
    }
    if (bits >= 7) {
        asm volatile("msr S3_0_C12_C9_2, xzr\n\tmsr S3_0_C12_C9_3, xzr");
    }
    asm volatile("msr S3_0_C12_C12_4, %0" ::"r"(kCtlrEoiMode));
    asm volatile("msr S3_0_C12_C12_7, %0\n\tisb" ::"r"(uint64_t{1})); // ICC_IGRPEN1_EL1, which the guest had
}

uint64_t frame_of(uint32_t intid, uint64_t mpidr)
{
    if (intid >= 32) {
        return state.dist;
    }
    return state.version == 3 ? sgi_frame_of(mpidr) : 0;
}

void write_bit(uint64_t frame, Bit reg, uint32_t intid)
{
    if (frame != 0 && intid < 1020) {
        wr32(frame + static_cast<uint16_t>(reg) + 4 * (intid / 32), 1u << (intid % 32));
    }
}

uint32_t read_word(uint64_t frame, Bit reg, uint32_t word)
{
    return frame != 0 && word < 32 ? rd32(frame + static_cast<uint16_t>(reg) + 4 * word) : 0;
}

void set_groups(uint64_t frame, uint32_t word, uint32_t group1)
{
    if (frame != 0 && word < 32) {
        wr32(frame + kGicdIgroupr + 4 * word, group1);
    }
}

void set_priority(uint64_t frame, uint32_t intid, uint8_t priority)
{
    if (frame != 0 && intid < 1020) {
        mmio::write<uint8_t>(frame + kGicdIpriorityr + intid, priority);
    }
}

void route_spi(uint32_t intid, uint64_t mpidr)
{
    if (state.version == 3 && intid >= 32 && intid < 1020) {
        // Aff3.Aff2.Aff1.Aff0
        mmio::write<uint64_t>(state.dist + kGicdIrouter + 8 * intid, (mpidr & 0xffffff) | ((mpidr >> 32) & 0xff) << 32);
    }
}

uint8_t own_priority() { return kPriority; }

namespace v2 {
uint32_t list_registers() { return state.hyp_if != 0 ? (rd32(state.hyp_if + kGichVtr) & 0x3f) + 1 : 0; }
uint32_t read_lr(uint32_t n) { return rd32(state.hyp_if + kGichLr + 4 * n); }
void write_lr(uint32_t n, uint32_t value) { wr32(state.hyp_if + kGichLr + 4 * n, value); }
uint64_t empty_lrs() { return rd32(state.hyp_if + kGichElrsr0) | uint64_t{rd32(state.hyp_if + kGichElrsr0 + 4)} << 32; }
void write_hcr(uint32_t value) { wr32(state.hyp_if + kGichHcr, value); }
uint32_t read_vmcr() { return rd32(state.hyp_if + kGichVmcr); }
void write_vmcr(uint32_t value) { wr32(state.hyp_if + kGichVmcr, value); }
uint32_t read_apr() { return rd32(state.hyp_if + kGichApr); }
void write_apr(uint32_t value) { wr32(state.hyp_if + kGichApr, value); }
} // namespace v2

namespace v3 {
namespace {

uint64_t read_vtr()
{
    uint64_t vtr;
    asm volatile("mrs %0, S3_4_C12_C11_1" : "=r"(vtr)); // ICH_VTR_EL2
    return vtr;
}

} // namespace

uint32_t list_registers() { return state.version == 3 ? static_cast<uint32_t>(read_vtr() & 0x1f) + 1 : 0; }

uint32_t active_priority_registers()
{
    const auto preemption_bits = static_cast<uint32_t>((read_vtr() >> 26) & 7) + 1; // 5, 6 or 7
    return preemption_bits <= 5 ? 1 : preemption_bits == 6 ? 2 : 4;
}

// ICH_LR<n>_EL2: op1 4, CRn 12, CRm 12 + n / 8, op2 n % 8; the register
// number is part of the instruction, hence the switches.
uint64_t read_lr(uint32_t n)
{
    uint64_t value = 0;
    switch (n) {
    case 0: asm volatile("mrs %0, S3_4_C12_C12_0" : "=r"(value)); break;
    case 1: asm volatile("mrs %0, S3_4_C12_C12_1" : "=r"(value)); break;
    case 2: asm volatile("mrs %0, S3_4_C12_C12_2" : "=r"(value)); break;
    case 3: asm volatile("mrs %0, S3_4_C12_C12_3" : "=r"(value)); break;
    case 4: asm volatile("mrs %0, S3_4_C12_C12_4" : "=r"(value)); break;
    case 5: asm volatile("mrs %0, S3_4_C12_C12_5" : "=r"(value)); break;
    case 6: asm volatile("mrs %0, S3_4_C12_C12_6" : "=r"(value)); break;
    case 7: asm volatile("mrs %0, S3_4_C12_C12_7" : "=r"(value)); break;
    case 8: asm volatile("mrs %0, S3_4_C12_C13_0" : "=r"(value)); break;
    case 9: asm volatile("mrs %0, S3_4_C12_C13_1" : "=r"(value)); break;
    case 10: asm volatile("mrs %0, S3_4_C12_C13_2" : "=r"(value)); break;
    case 11: asm volatile("mrs %0, S3_4_C12_C13_3" : "=r"(value)); break;
    case 12: asm volatile("mrs %0, S3_4_C12_C13_4" : "=r"(value)); break;
    case 13: asm volatile("mrs %0, S3_4_C12_C13_5" : "=r"(value)); break;
    case 14: asm volatile("mrs %0, S3_4_C12_C13_6" : "=r"(value)); break;
    case 15: asm volatile("mrs %0, S3_4_C12_C13_7" : "=r"(value)); break;
    default: break;
    }
    return value;
}

void write_lr(uint32_t n, uint64_t value)
{
    switch (n) {
    case 0: asm volatile("msr S3_4_C12_C12_0, %0" ::"r"(value)); break;
    case 1: asm volatile("msr S3_4_C12_C12_1, %0" ::"r"(value)); break;
    case 2: asm volatile("msr S3_4_C12_C12_2, %0" ::"r"(value)); break;
    case 3: asm volatile("msr S3_4_C12_C12_3, %0" ::"r"(value)); break;
    case 4: asm volatile("msr S3_4_C12_C12_4, %0" ::"r"(value)); break;
    case 5: asm volatile("msr S3_4_C12_C12_5, %0" ::"r"(value)); break;
    case 6: asm volatile("msr S3_4_C12_C12_6, %0" ::"r"(value)); break;
    case 7: asm volatile("msr S3_4_C12_C12_7, %0" ::"r"(value)); break;
    case 8: asm volatile("msr S3_4_C12_C13_0, %0" ::"r"(value)); break;
    case 9: asm volatile("msr S3_4_C12_C13_1, %0" ::"r"(value)); break;
    case 10: asm volatile("msr S3_4_C12_C13_2, %0" ::"r"(value)); break;
    case 11: asm volatile("msr S3_4_C12_C13_3, %0" ::"r"(value)); break;
    case 12: asm volatile("msr S3_4_C12_C13_4, %0" ::"r"(value)); break;
    case 13: asm volatile("msr S3_4_C12_C13_5, %0" ::"r"(value)); break;
    case 14: asm volatile("msr S3_4_C12_C13_6, %0" ::"r"(value)); break;
    case 15: asm volatile("msr S3_4_C12_C13_7, %0" ::"r"(value)); break;
    default: break;
    }
}

uint64_t empty_lrs()
{
    uint64_t value;
    asm volatile("mrs %0, S3_4_C12_C11_5" : "=r"(value)); // ICH_ELRSR_EL2
    return value;
}

void write_hcr(uint32_t value) { asm volatile("msr S3_4_C12_C11_0, %0\n\tisb" ::"r"(uint64_t{value})); }

uint32_t read_vmcr()
{
    uint64_t value;
    asm volatile("mrs %0, S3_4_C12_C11_7" : "=r"(value)); // ICH_VMCR_EL2
    return static_cast<uint32_t>(value);
}

void write_vmcr(uint32_t value) { asm volatile("msr S3_4_C12_C11_7, %0" ::"r"(uint64_t{value})); }

// ICH_AP0R<n>_EL2: CRm 8, ICH_AP1R<n>_EL2: CRm 9; op2 n.
uint32_t read_apr(unsigned group, unsigned n)
{
    uint64_t value = 0;
    switch (group * 4 + n) {
    case 0: asm volatile("mrs %0, S3_4_C12_C8_0" : "=r"(value)); break;
    case 1: asm volatile("mrs %0, S3_4_C12_C8_1" : "=r"(value)); break;
    case 2: asm volatile("mrs %0, S3_4_C12_C8_2" : "=r"(value)); break;
    case 3: asm volatile("mrs %0, S3_4_C12_C8_3" : "=r"(value)); break;
    case 4: asm volatile("mrs %0, S3_4_C12_C9_0" : "=r"(value)); break;
    case 5: asm volatile("mrs %0, S3_4_C12_C9_1" : "=r"(value)); break;
    case 6: asm volatile("mrs %0, S3_4_C12_C9_2" : "=r"(value)); break;
    case 7: asm volatile("mrs %0, S3_4_C12_C9_3" : "=r"(value)); break;
    default: break;
    }
    return static_cast<uint32_t>(value);
}

void write_apr(unsigned group, unsigned n, uint32_t value)
{
    const uint64_t v = value;
    switch (group * 4 + n) {
    case 0: asm volatile("msr S3_4_C12_C8_0, %0" ::"r"(v)); break;
    case 1: asm volatile("msr S3_4_C12_C8_1, %0" ::"r"(v)); break;
    case 2: asm volatile("msr S3_4_C12_C8_2, %0" ::"r"(v)); break;
    case 3: asm volatile("msr S3_4_C12_C8_3, %0" ::"r"(v)); break;
    case 4: asm volatile("msr S3_4_C12_C9_0, %0" ::"r"(v)); break;
    case 5: asm volatile("msr S3_4_C12_C9_1, %0" ::"r"(v)); break;
    case 6: asm volatile("msr S3_4_C12_C9_2, %0" ::"r"(v)); break;
    case 7: asm volatile("msr S3_4_C12_C9_3, %0" ::"r"(v)); break;
    default: break;
    }
}

} // namespace v3

// SGIs and PPIs: GICv3 in this CPU's redistributor, GICv2 in GICD (banked per CPU).
void enable_local(uint32_t intid)
{
    write_bit(state.version == 3 ? my_sgi_frame() : state.dist, Bit::SetEnable, intid);
}

void set_active(uint32_t intid, bool active)
{
    write_bit(state.version == 3 && intid < 32 ? my_sgi_frame() : state.dist,
              active ? Bit::SetActive : Bit::ClearActive, intid);
}

void enable_spi(uint32_t intid, uint64_t mpidr, bool edge)
{
    if (intid < 32 || intid >= 1020) {
        return;
    }
    const uint32_t bit = 1u << (intid % 32);
    const uint64_t word = 4 * (intid / 32);
    mmio::write<uint8_t>(state.dist + kGicdIpriorityr + intid, kPriority);
    // ICFGR: level-sensitive (field 0b00) or edge-triggered (0b10).
    const uint64_t cfg = state.dist + kGicdIcfgr + 4 * (intid / 16);
    const uint32_t field = 3u << (2 * (intid % 16));
    wr32(cfg, (rd32(cfg) & ~field) | (edge ? 2u << (2 * (intid % 16)) : 0));
    if (state.version == 3) {
        wr32(state.dist + kGicdIgroupr + word, rd32(state.dist + kGicdIgroupr + word) | bit); // Group 1
        route_spi(intid, mpidr);
    } else {
        for (unsigned i = 0; i < 8; i++) {
            if (v2_target_mpidr[i] == mpidr) {
                mmio::write<uint8_t>(state.dist + kGicdItargetsr + intid, static_cast<uint8_t>(1u << i));
            }
        }
    }
    wr32(state.dist + kGicdIsenabler + word, bit);
}

bool spi_edge(uint32_t intid)
{
    if (intid < 32 || intid >= 1020) {
        return false;
    }
    return (rd32(state.dist + kGicdIcfgr + 4 * (intid / 16)) >> (2 * (intid % 16)) & 2) != 0;
}

void send_sgi(uint64_t mpidr, uint32_t sgi)
{
    if (state.version == 3) {
        asm volatile("dsb ishst\n\tmsr S3_0_C12_C11_5, %0\n\tisb" ::"r"(sgi_value(mpidr, sgi)));
        return;
    }
    for (unsigned i = 0; i < 8; i++) {
        if (v2_target_mpidr[i] == mpidr) {
            asm volatile("dsb ishst" ::: "memory");
            wr32(state.dist + kGicdSgir, (1u << (16 + i)) | sgi);
            return;
        }
    }
}

void send_sgi_group0(uint64_t mpidr, uint32_t sgi)
{
    asm volatile("dsb ishst\n\tmsr S3_0_C12_C11_7, %0\n\tisb" ::"r"(sgi_value(mpidr, sgi))); // ICC_SGI0R_EL1
}

} // namespace gic
