// The SMMUv3 encodings against the field layouts of the spec (Arm IHI 0070):
// each expectation names the field and its bit position as the spec gives
// them, independently of how platform/smmuv3_format.hpp builds the value.
#include <gtest/gtest.h>

#include "platform/smmuv3_format.hpp"

using namespace smmuv3;

namespace {

uint64_t field(uint64_t value, unsigned high, unsigned low)
{
    const uint64_t width = high - low + 1;
    return value >> low & (width == 64 ? ~0ull : (1ull << width) - 1);
}

} // namespace

TEST(SmmuSte, AbortIsValidWithConfigZeroAndNothingElse)
{
    const Ste ste = ste_abort();
    EXPECT_EQ(field(ste.dword[0], 0, 0), 1u) << "V";
    EXPECT_EQ(field(ste.dword[0], 3, 1), 0u) << "Config 0b000: abort";
    for (unsigned i = 1; i < 8; i++) {
        EXPECT_EQ(ste.dword[i], 0u);
    }
}

TEST(SmmuSte, Stage2TranslatesWithTheVmsTablesAndVmid)
{
    Stage2 s2;
    s2.vmid = 0x1234;
    s2.table = 0x0000'0040'1234'5000ull;
    s2.ipa_bits = 40;
    s2.output_size = 4; // 44 bits
    const Ste ste = ste_stage2(s2);
    EXPECT_EQ(field(ste.dword[0], 0, 0), 1u) << "V";
    EXPECT_EQ(field(ste.dword[0], 3, 1), 6u) << "Config 0b110: stage 1 bypass, stage 2 translate";
    EXPECT_EQ(field(ste.dword[1], 45, 44), 1u) << "SHCFG: incoming";
    EXPECT_EQ(field(ste.dword[1], 29, 28), 0u) << "EATS: no ATS";
    const uint64_t d2 = ste.dword[2];
    EXPECT_EQ(field(d2, 15, 0), 0x1234u) << "S2VMID";
    EXPECT_EQ(field(d2, 37, 32), 24u) << "S2T0SZ = 64 - 40";
    EXPECT_EQ(field(d2, 39, 38), 1u) << "S2SL0: level 1";
    EXPECT_EQ(field(d2, 41, 40), 1u) << "S2IR0: write-back";
    EXPECT_EQ(field(d2, 43, 42), 1u) << "S2OR0: write-back";
    EXPECT_EQ(field(d2, 45, 44), 3u) << "S2SH0: inner shareable";
    EXPECT_EQ(field(d2, 47, 46), 0u) << "S2TG: 4 KiB";
    EXPECT_EQ(field(d2, 50, 48), 4u) << "S2PS";
    EXPECT_EQ(field(d2, 51, 51), 1u) << "S2AA64";
    EXPECT_EQ(field(d2, 52, 52), 0u) << "S2ENDI: little-endian";
    EXPECT_EQ(field(d2, 57, 57), 0u) << "S2S: faults terminate, no stall";
    EXPECT_EQ(field(d2, 58, 58), 1u) << "S2R: faults recorded";
    EXPECT_EQ(field(ste.dword[3], 51, 4) << 4, s2.table) << "S2TTB";
    for (unsigned i = 4; i < 8; i++) {
        EXPECT_EQ(ste.dword[i], 0u);
    }
}

TEST(SmmuSte, Stage2OfA32BitIpaSpace)
{
    Stage2 s2;
    s2.ipa_bits = 32;
    s2.table = 0x4000'0000;
    s2.cacheable = false;
    const Ste ste = ste_stage2(s2);
    EXPECT_EQ(field(ste.dword[2], 37, 32), 32u) << "S2T0SZ";
    EXPECT_EQ(field(ste.dword[2], 41, 40), 0u) << "S2IR0: non-cacheable";
    EXPECT_EQ(field(ste.dword[2], 43, 42), 0u) << "S2OR0: non-cacheable";
}

TEST(SmmuCommand, OpcodesAndOperandsWhereTheSpecPutsThem)
{
    const Command cfgi = cmd_cfgi_ste(0xabcd);
    EXPECT_EQ(field(cfgi.dword[0], 7, 0), 0x03u) << "CMD_CFGI_STE";
    EXPECT_EQ(field(cfgi.dword[0], 63, 32), 0xabcdu) << "StreamID";
    EXPECT_EQ(field(cfgi.dword[1], 0, 0), 1u) << "Leaf";
    const Command all = cmd_cfgi_all();
    EXPECT_EQ(field(all.dword[0], 7, 0), 0x04u) << "CMD_CFGI_ALL";
    EXPECT_EQ(field(all.dword[1], 4, 0), 31u) << "Range: all StreamIDs";
    const Command tlbi = cmd_tlbi_vmid(0x00ff);
    EXPECT_EQ(field(tlbi.dword[0], 7, 0), 0x28u) << "CMD_TLBI_S12_VMALL";
    EXPECT_EQ(field(tlbi.dword[0], 47, 32), 0xffu) << "VMID";
    EXPECT_EQ(field(cmd_tlbi_all().dword[0], 7, 0), 0x30u) << "CMD_TLBI_NSNH_ALL";
    const Command sync = cmd_sync();
    EXPECT_EQ(field(sync.dword[0], 7, 0), 0x46u) << "CMD_SYNC";
    EXPECT_EQ(field(sync.dword[0], 13, 12), 0u) << "CS: no signal, completion seen in CONS";
}

TEST(SmmuEvent, TranslationFaultRecordDecodes)
{
    Event e = {};
    e.dword[0] = 0x10 | 0x0010ull << 32;  // F_TRANSLATION, StreamID 0x10
    e.dword[1] = 1ull << 35 | 1ull << 39; // RnW (read), S2
    e.dword[2] = 0x6000'0000;             // InputAddr
    e.dword[3] = 0x6000'0000;             // IPA
    EXPECT_EQ(e.type(), 0x10u);
    EXPECT_EQ(e.stream(), 0x10u);
    EXPECT_TRUE(e.is_read());
    EXPECT_TRUE(e.at_stage2());
    EXPECT_TRUE(e.has_address());
    EXPECT_EQ(e.input_address(), 0x6000'0000u);
    EXPECT_EQ(e.ipa(), 0x6000'0000u);
    EXPECT_STREQ(event_name(e.type()), "translation fault");
    e.dword[1] = 0;
    EXPECT_FALSE(e.is_read()) << "a write";
    e.dword[0] = 0x04;
    EXPECT_FALSE(e.has_address()) << "C_BAD_STE carries no faulting address";
    EXPECT_STREQ(event_name(0x04), "bad STE");
    EXPECT_STREQ(event_name(0x13), "permission fault");
}

TEST(SmmuRegisters, BasesAndControlFields)
{
    const uint64_t q = queue_base(0x4123'4000, 8);
    EXPECT_EQ(field(q, 62, 62), 1u) << "RA/WA";
    EXPECT_EQ(field(q, 51, 5) << 5, 0x4123'4000u) << "ADDR";
    EXPECT_EQ(field(q, 4, 0), 8u) << "LOG2SIZE";
    const uint64_t st = strtab_base(0x4140'0000);
    EXPECT_EQ(field(st, 51, 6) << 6, 0x4140'0000u);
    EXPECT_EQ(field(st, 62, 62), 1u) << "RA";
    EXPECT_EQ(field(strtab_linear(16), 17, 16), 0u) << "FMT: linear";
    EXPECT_EQ(field(strtab_linear(16), 5, 0), 16u) << "LOG2SIZE";
    const uint32_t c1 = cr1(true);
    EXPECT_EQ(field(c1, 11, 10), 3u) << "TABLE_SH: inner shareable";
    EXPECT_EQ(field(c1, 9, 8), 1u) << "TABLE_OC: write-back";
    EXPECT_EQ(field(c1, 7, 6), 1u) << "TABLE_IC";
    EXPECT_EQ(field(c1, 5, 4), 3u) << "QUEUE_SH";
    EXPECT_EQ(field(c1, 3, 2), 1u) << "QUEUE_OC";
    EXPECT_EQ(field(c1, 1, 0), 1u) << "QUEUE_IC";
    EXPECT_EQ(field(kCr2, 1, 1), 1u) << "RECINVSID";
    EXPECT_EQ(field(kGbpaAbort, 20, 20), 1u);
    EXPECT_EQ(field(kGbpaUpdate, 31, 31), 1u);
    EXPECT_EQ(reg::kEventqProd, 0x100a8u) << "in page 1";
    EXPECT_EQ(queue_index(0x1ff, 8), 0xffu);
    EXPECT_EQ(queue_wrap(0x1ff, 8), 1u);
    EXPECT_EQ(cmdq_error(2u << 24), 2u) << "CERROR_ABT";
    // The IDs QEMU's SMMUv3 reports (docs: BOARDS.md): S2P, AArch64 tables, coherent.
    EXPECT_NE(0x0d44101bu & kIdr0S2p, 0u);
    EXPECT_EQ(idr0_ttf(0x0d44101b), 2u);
    EXPECT_NE(0x0d44101bu & kIdr0Cohacc, 0u);
}
