// Fuzz target: the SMMUv3 encodings Vireo hands the hardware
// (platform/smmuv3_format.hpp). Any stage-2 description within what Vireo
// builds (32-40 IPA bits, a 4 KiB-aligned table, any VMID and output size)
// encodes to a valid STE that translates with exactly those fields and sets
// no bit outside them (a stray bit could enable stalls, ATS or stage 1);
// commands carry their operands only in their fields; any event record,
// whatever the SMMU wrote, decodes without trouble.
#include <cstdint>

#include "platform/smmuv3_format.hpp"
#include "tests/fuzz/input.hpp"

using namespace smmuv3;

namespace {

uint64_t field(uint64_t value, unsigned high, unsigned low)
{
    const unsigned width = high - low + 1;
    return value >> low & (width == 64 ? ~0ull : (1ull << width) - 1);
}

void check_stage2(FuzzInput& in)
{
    Stage2 s2;
    s2.vmid = in.u16();
    s2.table = in.u64() & 0x000ffffffffff000ull;
    s2.ipa_bits = 32 + in.below(9);
    s2.output_size = in.below(7);
    s2.cacheable = in.flag();
    const Ste ste = ste_stage2(s2);
    FUZZ_CHECK(field(ste.dword[0], 0, 0) == 1 && field(ste.dword[0], 3, 1) == 6);
    FUZZ_CHECK((ste.dword[0] & ~0xfull) == 0); // no stage-1 context
    FUZZ_CHECK(ste.dword[1] == 1ull << 44);    // SHCFG only: no ATS, no stall control, no privilege overrides
    const uint64_t d2 = ste.dword[2];
    FUZZ_CHECK(field(d2, 15, 0) == s2.vmid);
    FUZZ_CHECK(field(d2, 37, 32) == 64 - s2.ipa_bits);
    FUZZ_CHECK(field(d2, 39, 38) == 1); // level 1 start: what PageTable builds
    FUZZ_CHECK(field(d2, 47, 46) == 0); // 4 KiB granule
    FUZZ_CHECK(field(d2, 50, 48) == s2.output_size);
    FUZZ_CHECK(field(d2, 51, 51) == 1 && field(d2, 58, 58) == 1);
    FUZZ_CHECK(field(d2, 57, 52) == 0 && field(d2, 63, 59) == 0 && field(d2, 31, 16) == 0);
    FUZZ_CHECK(ste.dword[3] == s2.table);
    for (unsigned i = 4; i < 8; i++) {
        FUZZ_CHECK(ste.dword[i] == 0);
    }
}

void check_commands(FuzzInput& in)
{
    const uint32_t sid = in.u32();
    const uint16_t vmid = in.u16();
    const Command cfgi = cmd_cfgi_ste(sid);
    FUZZ_CHECK(field(cfgi.dword[0], 7, 0) == kOpCfgiSte && field(cfgi.dword[0], 63, 32) == sid);
    FUZZ_CHECK(field(cfgi.dword[0], 31, 8) == 0 && cfgi.dword[1] == 1);
    const Command tlbi = cmd_tlbi_vmid(vmid);
    FUZZ_CHECK(field(tlbi.dword[0], 7, 0) == kOpTlbiS12Vmall && field(tlbi.dword[0], 47, 32) == vmid);
    FUZZ_CHECK(field(tlbi.dword[0], 31, 8) == 0 && field(tlbi.dword[0], 63, 48) == 0 && tlbi.dword[1] == 0);
}

void check_event(FuzzInput& in)
{
    Event e;
    for (uint64_t& d : e.dword) {
        d = in.u64();
    }
    FUZZ_CHECK(e.type() <= 0xff);
    FUZZ_CHECK(event_name(e.type()) != nullptr);
    FUZZ_CHECK((e.ipa() & 0xfff) == 0);
    FUZZ_CHECK(e.has_address() == (e.type() >= 0x10 && e.type() <= 0x13));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    FuzzInput in(data, size);
    while (!in.done()) {
        switch (in.below(3)) {
        case 0: check_stage2(in); break;
        case 1: check_commands(in); break;
        default: check_event(in); break;
        }
    }
    return 0;
}
