#include "vcpu/exit.hpp"

namespace vcpu {
namespace {

constexpr uint64_t bits(uint64_t value, unsigned hi, unsigned lo) { return (value >> lo) & ((2ull << (hi - lo)) - 1); }

// Data/instruction abort ISS fields (D17.2.37, "ISS encoding for an exception from a Data Abort").
constexpr unsigned kIsv = 24;
constexpr unsigned kSse = 21;
constexpr unsigned kSf = 15;
constexpr unsigned kAr = 14;
constexpr unsigned kCm = 8;
constexpr unsigned kS1ptw = 7;
constexpr unsigned kWnR = 6;

bool is_translation_fault(uint64_t fsc) { return (fsc & 0x3c) == 0x04; } // 0b0001LL, levels 0-3
bool is_permission_fault(uint64_t fsc) { return (fsc & 0x3c) == 0x0c; }  // 0b0011LL, levels 0-3

void decode_data_abort(Exit& exit, uint64_t hpfar)
{
    const uint64_t esr = exit.esr;
    const uint64_t fsc = bits(esr, 5, 0);
    exit.ipa = fault_ipa(hpfar, exit.far);
    exit.instruction_fault = false;
    // A store to read-only memory (ROM, flash) goes to the device model
    // that owns it, if any. A fault on the guest's own page-table walk, an
    // external abort...: not an emulated device.
    // Cache maintenance that needs write permission (DC IVAC) on read-only
    // memory: the guest cannot have dirtied it, skipping loses nothing.
    exit.permission_fault = is_permission_fault(fsc) && bits(esr, kWnR, kWnR);
    if ((!is_translation_fault(fsc) && !exit.permission_fault) || bits(esr, kS1ptw, kS1ptw)) {
        exit.kind = ExitKind::GuestFault;
        return;
    }
    if (bits(esr, kCm, kCm)) {
        exit.kind = ExitKind::CacheMaintenance;
        return;
    }
    MmioAccess& mmio = exit.mmio;
    mmio.ipa = exit.ipa;
    mmio.write = bits(esr, kWnR, kWnR);
    mmio.pair = false;
    mmio.writeback = false;
    if (!bits(esr, kIsv, kIsv)) {
        exit.kind = ExitKind::MmioNeedsDecode;
        return;
    }
    mmio.size = static_cast<uint8_t>(1u << bits(esr, 23, 22));
    // The hardware reports SSE for loads narrower than 64 bits only (ISS, D19.2.49).
    mmio.sign_extend = bits(esr, kSse, kSse);
    mmio.rt = static_cast<uint8_t>(bits(esr, 20, 16));
    mmio.reg64 = bits(esr, kSf, kSf);
    mmio.acquire_release = bits(esr, kAr, kAr);
    exit.kind = ExitKind::Mmio;
}

} // namespace

void decode_sync(uint64_t esr, uint64_t far, uint64_t hpfar, Exit& exit)
{
    exit.esr = esr;
    exit.far = far;
    switch (exception_class(esr)) {
    case Ec::Wfx:
        // ISS.TI: 0 WFI, 1 WFE (2, 3: WFIT/WFET, treated alike).
        exit.kind = (esr & 1) ? ExitKind::Wfe : ExitKind::Wfi;
        return;
    case Ec::FpSimd: exit.kind = ExitKind::FpSimdTrap; return;
    case Ec::Hvc64:
        exit.kind = ExitKind::Hvc;
        exit.imm = static_cast<uint16_t>(esr & 0xffff);
        return;
    case Ec::Smc64:
        exit.kind = ExitKind::Smc;
        exit.imm = static_cast<uint16_t>(esr & 0xffff);
        return;
    case Ec::SysReg64: {
        SysRegAccess& reg = exit.sysreg;
        reg.op0 = static_cast<uint8_t>(bits(esr, 21, 20));
        reg.op2 = static_cast<uint8_t>(bits(esr, 19, 17));
        reg.op1 = static_cast<uint8_t>(bits(esr, 16, 14));
        reg.crn = static_cast<uint8_t>(bits(esr, 13, 10));
        reg.rt = static_cast<uint8_t>(bits(esr, 9, 5));
        reg.crm = static_cast<uint8_t>(bits(esr, 4, 1));
        reg.read = esr & 1;
        exit.kind = ExitKind::SysReg;
        return;
    }
    case Ec::InstrAbortLower:
        exit.kind = ExitKind::GuestFault;
        exit.instruction_fault = true;
        exit.ipa = fault_ipa(hpfar, far);
        return;
    case Ec::DataAbortLower: decode_data_abort(exit, hpfar); return;
    default:
        // EC 0x00 (unknown instruction), SVE when hidden, and everything
        // Vireo does not trap on purpose: the guest gets UNDEFINED.
        exit.kind = ExitKind::Undefined;
        return;
    }
}

bool decode_load_store(uint32_t insn, MmioAccess& out)
{
    // Nothing of an earlier access may survive: the caller reuses `out`
    // (a stale sign_extend once turned LDRB into a sign-extending load).
    const uint64_t ipa = out.ipa;
    out = MmioAccess{};
    out.ipa = ipa;
    const uint8_t rt = static_cast<uint8_t>(bits(insn, 4, 0));
    const uint8_t rn = static_cast<uint8_t>(bits(insn, 9, 5));
    const bool simd = bits(insn, 26, 26);
    if (simd) {
        return false;
    }
    // Load/store pair (C4.1.94): opc 101 V mode(2) L imm7 Rt2 Rn Rt.
    if ((insn & 0x3a000000) == 0x28000000) {
        const uint64_t opc = bits(insn, 31, 30);
        const uint64_t mode = bits(insn, 24, 23); // 00 non-temporal, 01 post, 10 offset, 11 pre
        const bool load = bits(insn, 22, 22);
        if (opc == 3 || (opc == 1 && !load)) {
            return false; // unallocated; STGP (opc 01, store) is MTE
        }
        const unsigned scale = opc == 2 ? 3 : 2;
        out.size = static_cast<uint8_t>(1u << scale);
        out.write = !load;
        out.sign_extend = opc == 1; // LDPSW
        out.reg64 = opc != 0;
        out.pair = true;
        out.rt = rt;
        out.rt2 = static_cast<uint8_t>(bits(insn, 14, 10));
        out.rn = rn;
        const int64_t imm7 = static_cast<int64_t>(bits(insn, 21, 15) << 57) >> 57;
        out.offset = imm7 * (int64_t{1} << scale);
        out.writeback = mode == 1 || mode == 3;
        return true;
    }
    // Single register (C4.1.96): size 111 V 0x opc ...
    const uint64_t size = bits(insn, 31, 30);
    const uint64_t opc = bits(insn, 23, 22);
    if ((insn & 0x3b000000) == 0x39000000) {
        // LDR/STR (immediate, unsigned offset): no writeback
    } else if ((insn & 0x3b200000) == 0x38000000) {
        const uint64_t op2 = bits(insn, 11, 10); // 00 unscaled, 01 post, 10 unprivileged, 11 pre
        out.writeback = op2 == 1 || op2 == 3;
        out.offset = static_cast<int64_t>(bits(insn, 20, 12) << 55) >> 55;
    } else if ((insn & 0x3b200c00) == 0x38200800) {
        // register offset: the address is in FAR/HPFAR, no writeback
    } else {
        return false;
    }
    out.size = static_cast<uint8_t>(1u << size);
    out.rt = rt;
    out.rn = rn;
    switch (opc) {
    case 0: // STR
        out.write = true;
        out.reg64 = size == 3;
        return true;
    case 1: // LDR, zero-extending
        out.reg64 = size == 3;
        return true;
    case 2: // LDRSB/LDRSH/LDRSW into X (size 3 here is PRFM: not a data access)
        if (size == 3) {
            return false;
        }
        out.sign_extend = true;
        out.reg64 = true;
        return true;
    default: // LDRSB/LDRSH into W
        if (size >= 2) {
            return false;
        }
        out.sign_extend = true;
        out.reg64 = false;
        return true;
    }
}

} // namespace vcpu
