// ID register sanitising, pure so the host tests can check it.
#include "kernel/devices/pmu/pmu_model.hpp"
#include "kernel/devices/sysreg/sysreg_emul.hpp"

namespace sysreg_emul {
namespace {

constexpr uint64_t field(unsigned lsb) { return 0xfull << lsb; }

constexpr uint32_t id(unsigned crm, unsigned op2) { return vcpu::sysreg_encoding(3, 0, 0, crm, op2); }

} // namespace

uint64_t sanitize_id(uint32_t encoding, uint64_t value)
{
    switch (encoding) {
    case id(4, 0): // ID_AA64PFR0_EL1: no SVE, MPAM, AMU, RME; no EL2 for the guest
        return value & ~(field(32) | field(40) | field(44) | field(52) | field(8));
    case id(4, 1): // ID_AA64PFR1_EL1: no MTE, SME, MPAM_frac, NMI, GCS, THE, MTE_frac, MTEX
        return value & ~(field(8) | field(24) | field(16) | field(36) | field(44) | field(48) | field(40) | field(52));
    case id(4, 4): // ID_AA64ZFR0_EL1 (SVE)
    case id(4, 5): // ID_AA64SMFR0_EL1 (SME)
        return 0;
    case id(5, 0): // ID_AA64DFR0_EL1: no SPE, trace, BRBE; the real debug version, breakpoints and watchpoints
        // PMUVer as far as the virtual PMU goes, without PMU snapshots (PMSS),
        // exception-based event profiling (SEBEP) or EL2's HPMN0.
        return (value & ~(field(4) | field(8) | field(16) | field(24) | field(32) | field(40) | field(44) | field(48) |
                          field(52) | field(56) | field(60))) |
               uint64_t{pmu::guest_pmuver(value)} << 8;
    case id(5, 1): // ID_AA64DFR1_EL1: nothing of it is offered
        // Its fields describe what Vireo neither switches nor emulates:
        // breakpoints, watchpoints and context comparators beyond DFR0's 16
        // (FEAT_Debugv8p9; vcpu/debug.hpp keeps at most 16), the System PMU
        // (SYSPMUID, SPMU), the fixed instruction counter (PMICNTR, beyond
        // the PMUv3p1 of DFR0.PMUVer), address breakpoint linking (ABLE,
        // ABL_CMPs), instrumentation trace (ITE), exception-based event
        // profiling (EBEP) and DPFZS. 0 for each is "not implemented".
        return 0;
    case id(6, 1): // ID_AA64ISAR1_EL1: no pointer authentication (APA, API, GPA, GPI)
        return value & ~(field(4) | field(8) | field(24) | field(28));
    case id(6, 2): // ID_AA64ISAR2_EL1: no pointer authentication (GPA3, APA3)
        return value & ~(field(8) | field(12));
    case id(7, 1): // ID_AA64MMFR1_EL1: no VHE, no LORegions (trapped), no HCRX
        return value & ~(field(8) | field(16) | field(40));
    case id(7, 2): // ID_AA64MMFR2_EL1: no nested virtualisation
        return value & ~field(24);
    case id(7, 3): // ID_AA64MMFR3_EL1: TCR2, SCTLR2, S1PIE, S1POE... are not switched
        return 0;
    default: return value;
    }
}

} // namespace sysreg_emul
