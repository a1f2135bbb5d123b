// The SMMUv3's in-memory formats and register fields that Vireo uses (Arm
// IHI 0070, "SMMU architecture version 3": 6.3 registers, 5.2 the Stream
// Table Entry, 4 commands, 7.3 event records). Pure: each field is named
// once here, and host tests check the encodings against the spec's layouts.
#pragma once

#include <stdint.h>

namespace smmuv3 {

// Registers (6.3), offsets in page 0 unless noted; 32-bit unless *_BASE.
namespace reg {
constexpr uint32_t kIdr0 = 0x00;
constexpr uint32_t kIdr1 = 0x04;
constexpr uint32_t kIdr5 = 0x14;
constexpr uint32_t kCr0 = 0x20;
constexpr uint32_t kCr0Ack = 0x24;
constexpr uint32_t kCr1 = 0x28;
constexpr uint32_t kCr2 = 0x2c;
constexpr uint32_t kGbpa = 0x44;
constexpr uint32_t kIrqCtrl = 0x50;
constexpr uint32_t kIrqCtrlAck = 0x54;
constexpr uint32_t kGerror = 0x60;
constexpr uint32_t kGerrorN = 0x64;
constexpr uint32_t kStrtabBase = 0x80; // 64-bit
constexpr uint32_t kStrtabBaseCfg = 0x88;
constexpr uint32_t kCmdqBase = 0x90; // 64-bit
constexpr uint32_t kCmdqProd = 0x98;
constexpr uint32_t kCmdqCons = 0x9c;
constexpr uint32_t kEventqBase = 0xa0;    // 64-bit
constexpr uint32_t kEventqProd = 0x100a8; // page 1
constexpr uint32_t kEventqCons = 0x100ac; // page 1
} // namespace reg

// IDR0 (6.3.1).
constexpr uint32_t kIdr0S2p = 1u << 0;
constexpr uint32_t kIdr0Vmid16 = 1u << 18;
constexpr uint32_t kIdr0Cohacc = 1u << 4;
constexpr uint32_t idr0_ttf(uint32_t idr0) { return idr0 >> 2 & 3; } // 2: AArch64, 3: both
constexpr uint32_t idr1_sidsize(uint32_t idr1) { return idr1 & 0x3f; }
constexpr uint32_t idr1_cmdqs(uint32_t idr1) { return idr1 >> 21 & 0x1f; }
constexpr uint32_t idr1_eventqs(uint32_t idr1) { return idr1 >> 16 & 0x1f; }
constexpr uint32_t idr5_oas(uint32_t idr5) { return idr5 & 7; } // as ID_AA64MMFR0_EL1.PARange
constexpr uint32_t kIdr5Gran4k = 1u << 4;

// CR0 (6.3.9) and IRQ_CTRL (6.3.14).
constexpr uint32_t kCr0SmmuEn = 1u << 0;
constexpr uint32_t kCr0EventqEn = 1u << 2;
constexpr uint32_t kCr0CmdqEn = 1u << 3;
constexpr uint32_t kIrqCtrlGerror = 1u << 0;
constexpr uint32_t kIrqCtrlEventq = 1u << 2;
// CR1 (6.3.11): table and queue accesses inner-shareable write-back (or
// non-cacheable for an SMMU that does not snoop the CPUs' caches).
constexpr uint32_t cr1(bool cacheable)
{
    const uint32_t cache = cacheable ? 1 : 0; // 1: write-back, 0: non-cacheable
    const uint32_t shareable = 3;             // inner shareable
    return shareable << 10 | cache << 8 | cache << 6 | shareable << 4 | cache << 2 | cache;
}
// CR2 (6.3.12): record C_BAD_STREAMID events; private TLB maintenance (the
// CPUs' broadcast TLBIs need not reach it: Vireo sends its own commands).
constexpr uint32_t kCr2 = 1u << 1 | 1u << 2;
// GBPA (6.3.15): ABORT, and Update to make a write take effect.
constexpr uint32_t kGbpaAbort = 1u << 20;
constexpr uint32_t kGbpaUpdate = 1u << 31;
// GERROR (6.3.16): the bits that mean something is wrong.
constexpr uint32_t kGerrorCmdqErr = 1u << 0;
constexpr uint32_t kGerrorEventqAbt = 1u << 2;
constexpr uint32_t kGerrorMask = 0x1fd;

// Queue base registers (6.3.25, 6.3.28): read/write-allocate hint, address, log2 of entries.
constexpr uint64_t queue_base(uint64_t pa, uint32_t log2_entries)
{
    return 1ull << 62 | (pa & 0x000fffffffffffe0ull) | log2_entries;
}
// STRTAB_BASE (6.3.23) and STRTAB_BASE_CFG (6.3.24): a linear table of 2^log2 STEs.
constexpr uint64_t strtab_base(uint64_t pa) { return 1ull << 62 | (pa & 0x000fffffffffffc0ull); }
constexpr uint32_t strtab_linear(uint32_t log2_entries) { return log2_entries; } // FMT 0: linear
/// A queue index register: the index in the low `log2` bits, then the wrap bit.
constexpr uint32_t queue_index(uint32_t value, uint32_t log2) { return value & ((1u << log2) - 1); }
constexpr uint32_t queue_wrap(uint32_t value, uint32_t log2) { return value >> log2 & 1; }
constexpr uint32_t kQueueOverflow = 1u << 31;
constexpr uint32_t cmdq_error(uint32_t cons) { return cons >> 24 & 0x7f; } // CMDQ_CONS.ERR

// The Stream Table Entry (5.2): 64 bytes.
struct Ste {
    uint64_t dword[8];
};
static_assert(sizeof(Ste) == 64);

/// Valid, Config = 0b000: every transaction of the stream is aborted (no
/// event recorded).
constexpr Ste ste_abort() { return {{1, 0, 0, 0, 0, 0, 0, 0}}; }

/// What a stream translates with: one VM's stage 2, the same tables its
/// vCPUs use (the VTCR_EL2 fields vcpu_cpu_init() sets, 4 KiB granule,
/// walks starting at level 1).
struct Stage2 {
    uint16_t vmid = 0;
    uint64_t table = 0;       // the level-1 table(s), 4 KiB aligned
    unsigned ipa_bits = 0;    // 32-40
    unsigned output_size = 0; // PS encoding (as PARange), the lower of the CPU's and the SMMU's
    bool cacheable = true;    // table walks snoop the CPUs' caches
};

/// Valid, Config = 0b110 (stage 1 bypass, stage 2 translates), AArch64
/// tables, faults recorded (S2R) and terminating (no stall).
constexpr Ste ste_stage2(const Stage2& s2)
{
    const uint64_t attr = s2.cacheable ? 1 : 0;             // S2IR0/S2OR0: write-back read/write-allocate
    const uint64_t vtcr = (64 - s2.ipa_bits)                // S2T0SZ
                          | 1ull << 6                       // S2SL0: start at level 1
                          | attr << 8                       // S2IR0
                          | attr << 10                      // S2OR0
                          | 3ull << 12                      // S2SH0: inner shareable
                          | 0ull << 14                      // S2TG: 4 KiB
                          | uint64_t{s2.output_size} << 16; // S2PS
    Ste ste = {};
    ste.dword[0] = 1 | 6ull << 1;                    // V, Config
    ste.dword[1] = 1ull << 44;                       // SHCFG: use the incoming shareability
    ste.dword[2] = s2.vmid                           // S2VMID
                   | vtcr << 32                      // the VTCR fields
                   | 1ull << 51                      // S2AA64
                   | 1ull << 58;                     // S2R: record faults
    ste.dword[3] = s2.table & 0x000ffffffffffff0ull; // S2TTB
    return ste;
}

// Commands (4.1): 16 bytes each.
struct Command {
    uint64_t dword[2];
};
constexpr uint8_t kOpCfgiSte = 0x03;
constexpr uint8_t kOpCfgiAll = 0x04;
constexpr uint8_t kOpTlbiS12Vmall = 0x28;
constexpr uint8_t kOpTlbiNsnhAll = 0x30;
constexpr uint8_t kOpSync = 0x46;

/// CMD_CFGI_STE: forget the cached copy of one STE (Leaf: only the STE itself).
constexpr Command cmd_cfgi_ste(uint32_t sid) { return {{kOpCfgiSte | uint64_t{sid} << 32, 1}}; }
/// CMD_CFGI_ALL: forget every cached configuration (Range 31: all StreamIDs).
constexpr Command cmd_cfgi_all() { return {{kOpCfgiAll, 31}}; }
/// CMD_TLBI_S12_VMALL: every TLB entry of VMID `vmid`.
constexpr Command cmd_tlbi_vmid(uint16_t vmid) { return {{kOpTlbiS12Vmall | uint64_t{vmid} << 32, 0}}; }
/// CMD_TLBI_NSNH_ALL: every non-secure, non-hypervisor TLB entry.
constexpr Command cmd_tlbi_all() { return {{kOpTlbiNsnhAll, 0}}; }
/// CMD_SYNC with no completion signal (CS = 0): completion is CONS passing it.
constexpr Command cmd_sync() { return {{kOpSync, 0}}; }

// Event records (7.3): 32 bytes.
struct Event {
    uint64_t dword[4];

    uint32_t type() const { return static_cast<uint32_t>(dword[0] & 0xff); }
    uint32_t stream() const { return static_cast<uint32_t>(dword[0] >> 32); }
    bool is_read() const { return (dword[1] >> 35 & 1) != 0; }   // RnW
    bool at_stage2() const { return (dword[1] >> 39 & 1) != 0; } // S2
    uint64_t input_address() const { return dword[2]; }
    uint64_t ipa() const { return dword[3] & 0x000ffffffffff000ull; }
    /// Whether the record is a translation-related fault with an address (F_TRANSLATION .. F_PERMISSION).
    bool has_address() const { return type() >= 0x10 && type() <= 0x13; }
};

/// The event's name as the spec gives it, in words.
constexpr const char* event_name(uint32_t type)
{
    switch (type) {
    case 0x01: return "unsupported upstream transaction";
    case 0x02: return "bad StreamID";
    case 0x03: return "STE fetch abort";
    case 0x04: return "bad STE";
    case 0x06: return "stream disabled";
    case 0x07: return "translation forbidden";
    case 0x0b: return "table walk external abort";
    case 0x10: return "translation fault";
    case 0x11: return "address size fault";
    case 0x12: return "access flag fault";
    case 0x13: return "permission fault";
    case 0x20: return "TLB conflict";
    case 0x21: return "configuration conflict";
    default: return "event";
    }
}

} // namespace smmuv3
