#include "kernel/devices/sysreg/sysreg_emul.hpp"

#include "kernel/devices/gic/direct.hpp"
#include "kernel/devices/gic/vgic.hpp"
#include "kernel/devices/sysreg/debug_regs.hpp"
#include "vcpu/vcpu.hpp"

namespace sysreg_emul {
namespace {

using vcpu::sysreg_encoding;

#define ID_READ(crm, op2)                                                                                              \
    case sysreg_encoding(3, 0, 0, crm, op2):                                                                           \
        asm volatile("mrs %0, S3_0_C0_C" #crm "_" #op2 : "=r"(value));                                                 \
        break;
#define ID_ROW(crm)                                                                                                    \
    ID_READ(crm, 0)                                                                                                    \
    ID_READ(crm, 1) ID_READ(crm, 2) ID_READ(crm, 3) ID_READ(crm, 4) ID_READ(crm, 5) ID_READ(crm, 6) ID_READ(crm, 7)

/// The hardware value of an ID register in the TID3 space (op0 3, op1 0, CRn 0, CRm 1-7).
uint64_t read_id(uint32_t encoding)
{
    uint64_t value = 0;
    switch (encoding) {
        ID_ROW(1)
        ID_ROW(2)
        ID_ROW(3)
        ID_ROW(4)
        ID_ROW(5)
        ID_ROW(6)
        ID_ROW(7)
    default: break;
    }
    return value;
}

constexpr uint32_t kIdAa64pfr0El1 = sysreg_encoding(3, 0, 0, 4, 0);
// Trapped to EL2 with HCR_EL2.IMO: a virtual GICv3's SGI generation.
constexpr uint32_t kIccSgi1rEl1 = sysreg_encoding(3, 0, 12, 11, 5);
constexpr uint32_t kIccAsgi1rEl1 = sysreg_encoding(3, 0, 12, 11, 6);
constexpr uint32_t kIccSgi0rEl1 = sysreg_encoding(3, 0, 12, 11, 7);

} // namespace

bool handle(Vcpu& vcpu, const vcpu::SysRegAccess& access)
{
    const uint32_t encoding = access.encoding();
    if (access.op0 == 3 && access.op1 == 0 && access.crn == 0 && access.crm >= 1) {
        if (!access.read) {
            return false; // ID registers are read-only
        }
        uint64_t value = sanitize_id(encoding, read_id(encoding));
        if (encoding == kIdAa64pfr0El1) {
            // GIC: the system-register interface exactly when the VM has a virtual GICv3.
            const bool v3 = vcpu.vgic != nullptr && vcpu.vgic->dist.version() == 3;
            value = (value & ~(0xfull << 24)) | (v3 ? 1ull << 24 : 0);
        }
        vcpu.set_reg(access.rt, value);
        return true;
    }
    if (encoding == kIccSgi1rEl1 || encoding == kIccAsgi1rEl1 || encoding == kIccSgi0rEl1) {
        if (access.read || vcpu.vgic == nullptr || vcpu.vgic->dist.version() != 3) {
            return false; // write-only; no virtual GICv3 here
        }
        if (vcpu.direct) [[unlikely]] {
            // No Group 0 and no second security state for a direct guest:
            // only its SGI1R writes send SGIs (kernel/devices/gic/direct.hpp).
            if (encoding == kIccSgi1rEl1) {
                direct::send_sgi(vcpu, vcpu.reg(access.rt));
            }
            return true;
        }
        vgic::send_sgi1r(vcpu, vcpu.reg(access.rt));
        return true;
    }
    if (access.op0 == 2) {
        // Debug registers (MDCR_EL2.TDA/TDOSA/TDRA): emulated per vCPU
        // (debug_regs.cpp); after a write the hardware follows, as this
        // vCPU is the one loaded here.
        const DebugLimits limits = debug_limits();
        if (access.read) {
            uint64_t value = 0;
            if (!debug_read(vcpu.debug, limits, encoding, value)) {
                return false;
            }
            vcpu.set_reg(access.rt, value);
            return true;
        }
        if (!debug_write(vcpu.debug, limits, encoding, vcpu.reg(access.rt))) {
            return false;
        }
        debug_load(vcpu.debug);
        return true;
    }
    return false; // PMU, implementation defined, LORegions...: UNDEFINED
}

} // namespace sysreg_emul
