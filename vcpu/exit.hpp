// Why a guest left EL1: ESR_EL2 (with FAR_EL2, HPFAR_EL2 and, where the
// syndrome is not enough, the faulting instruction) decoded once into a
// value. Pure functions: the host unit tests call them directly.
// Arm ARM references are to DDI 0487 (J.a): D17.2.37 ESR_EL2.
#pragma once

#include <stdint.h>

namespace vcpu {

/// ESR_ELx.EC values Vireo acts on.
enum class Ec : uint8_t {
    Unknown = 0x00,
    Wfx = 0x01,
    FpSimd = 0x07,
    Hvc64 = 0x16,
    Smc64 = 0x17,
    SysReg64 = 0x18,
    Sve = 0x19,
    InstrAbortLower = 0x20,
    InstrAbortSame = 0x21,
    DataAbortLower = 0x24,
    DataAbortSame = 0x25,
};

/// One guest load or store that hit an address with no RAM behind it.
struct MmioAccess {
    uint64_t ipa = 0;
    uint8_t size = 0; // bytes per register: 1, 2, 4 or 8
    bool write = false;
    bool sign_extend = false; // LDRSB/LDRSH/LDRSW
    bool reg64 = false;       // X register (else W: the upper half is zeroed)
    bool acquire_release = false;
    uint8_t rt = 0; // 31 is XZR
    // Only from instruction decoding (ISV=0):
    bool pair = false; // LDP/STP: rt2 moves the next `size` bytes
    uint8_t rt2 = 0;
    bool writeback = false; // pre/post-index: Xn (31 = SP) += offset after the access
    uint8_t rn = 0;
    int64_t offset = 0;
};

/// A trapped MSR/MRS (EC 0x18).
struct SysRegAccess {
    uint8_t op0 = 0, op1 = 0, crn = 0, crm = 0, op2 = 0;
    uint8_t rt = 0; // 31 is XZR
    bool read = false;

    /// The (op0, op1, CRn, CRm, op2) tuple packed like the MRS encoding's bits [20:5].
    constexpr uint32_t encoding() const
    {
        return uint32_t{op0} << 14 | uint32_t{op1} << 11 | uint32_t{crn} << 7 | uint32_t{crm} << 3 | op2;
    }
};

constexpr uint32_t sysreg_encoding(unsigned op0, unsigned op1, unsigned crn, unsigned crm, unsigned op2)
{
    return op0 << 14 | op1 << 11 | crn << 7 | crm << 3 | op2;
}

enum class ExitKind : uint8_t {
    Mmio,             // decoded: emulate `mmio`
    MmioNeedsDecode,  // data abort without a valid syndrome (ISV=0): decode the instruction
    CacheMaintenance, // DC/IC by VA on an address without RAM: nothing to do, skip it
    Hvc,
    Smc,
    SysReg,
    Wfi,
    Wfe,
    FpSimdTrap, // first FP/SIMD use since this vCPU was switched in
    GuestFault, // a stage-2 fault Vireo does not emulate: inject an abort
    Undefined,  // inject UNDEFINED
    Irq,
    Fiq,
    SError,
};

/// Exits from stage-2 aborts: their Exit::ipa says where.
inline bool is_stage2_abort(ExitKind kind)
{
    return kind == ExitKind::Mmio || kind == ExitKind::MmioNeedsDecode || kind == ExitKind::CacheMaintenance ||
           kind == ExitKind::GuestFault;
}

struct Exit {
    ExitKind kind = ExitKind::Undefined;
    uint64_t esr = 0;
    uint64_t far = 0;               // guest virtual address of a data or instruction abort
    uint64_t ipa = 0;               // guest physical address of a stage-2 abort
    uint16_t imm = 0;               // HVC/SMC immediate
    bool instruction_fault = false; // GuestFault from an instruction fetch
    // A store to memory its stage 2 maps read-only (a ROM, a flash bank in
    // read-array mode), decoded as MMIO: HPFAR_EL2 need not hold the IPA for
    // a permission fault, so Vcpu::run() finds it from FAR_EL2 (AT).
    bool permission_fault = false;
    MmioAccess mmio;
    SysRegAccess sysreg;
};

inline Ec exception_class(uint64_t esr) { return static_cast<Ec>((esr >> 26) & 0x3f); }

/// The faulting IPA from HPFAR_EL2.FIPA and the page offset from FAR_EL2.
inline uint64_t fault_ipa(uint64_t hpfar, uint64_t far) { return ((hpfar >> 4) << 12) | (far & 0xfff); }

/// Decodes a synchronous exception from a lower EL (AArch64) into `out`,
/// writing every field the resulting kind uses (and no others: this is the
/// hot path, so nothing is cleared that need not be).
void decode_sync(uint64_t esr, uint64_t far, uint64_t hpfar, Exit& out);

inline Exit decode_sync(uint64_t esr, uint64_t far, uint64_t hpfar)
{
    Exit exit;
    decode_sync(esr, far, hpfar, exit);
    return exit;
}

/// Decodes a general-register load or store instruction for an abort that
/// came without a syndrome: LDR/STR (unsigned offset, unscaled, pre/post
/// index, register offset, sign-extending forms) and LDP/STP/LDPSW. Fills the
/// access fields of `out` (not ipa). False for anything else (SIMD/FP,
/// exclusives, atomics, unallocated): the caller injects an abort.
bool decode_load_store(uint32_t insn, MmioAccess& out);

/// The value a load writes to its register, from the `raw` bytes read
/// (little-endian, `size` bytes): sign- or zero-extended, W registers
/// zeroing bits [63:32].
inline uint64_t load_result(const MmioAccess& access, uint64_t raw)
{
    const unsigned bits_read = access.size * 8u;
    uint64_t value = bits_read == 64 ? raw : raw & ((1ull << bits_read) - 1);
    if (access.sign_extend && bits_read < 64 && (value >> (bits_read - 1)) & 1) {
        value |= ~0ull << bits_read;
    }
    return access.reg64 ? value : value & 0xffffffffull;
}

/// The bytes a store writes, from the register's value.
inline uint64_t store_value(const MmioAccess& access, uint64_t reg)
{
    return access.size == 8 ? reg : reg & ((1ull << (access.size * 8u)) - 1);
}

/// What a completed access does to the registers: a load's values (from
/// the `size` bytes read, `values[1]` for the second register of a pair)
/// into Rt and Rt2 (XZR: discarded), then a pre/post-index writeback to the
/// base: X0-X30 in `x`, `sp` for register 31. Pure; Vcpu::complete_mmio
/// applies it (inline: it is on every emulated access's path).
inline void complete_access(const MmioAccess& access, const uint64_t values[2], uint64_t (&x)[31], uint64_t& sp)
{
    if (!access.write) {
        if (access.rt < 31) {
            x[access.rt] = load_result(access, values[0]);
        }
        if (access.pair && access.rt2 < 31) {
            x[access.rt2] = load_result(access, values[1]);
        }
    }
    if (access.writeback) {
        uint64_t& base = access.rn == 31 ? sp : x[access.rn];
        base += static_cast<uint64_t>(access.offset);
    }
}

} // namespace vcpu
