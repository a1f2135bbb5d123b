// Exit decoding (vcpu/exit.cpp): the syndrome decoder, the ISV=0
// instruction decoder and what a completed MMIO access does to registers.
#include <cstring>

#include "tests/fuzz/input.hpp"
#include "vcpu/exit.hpp"

using namespace vcpu;

namespace {

uint64_t mask(unsigned bytes) { return bytes == 8 ? ~0ull : (1ull << (8 * bytes)) - 1; }

bool same(const MmioAccess& a, const MmioAccess& b)
{
    return a.ipa == b.ipa && a.size == b.size && a.write == b.write && a.sign_extend == b.sign_extend &&
           a.reg64 == b.reg64 && a.acquire_release == b.acquire_release && a.rt == b.rt && a.pair == b.pair &&
           a.rt2 == b.rt2 && a.writeback == b.writeback && a.rn == b.rn && a.offset == b.offset;
}

void check_access(const MmioAccess& a)
{
    FUZZ_CHECK(a.size == 1 || a.size == 2 || a.size == 4 || a.size == 8);
    FUZZ_CHECK(a.rt <= 31 && a.rt2 <= 31 && a.rn <= 31);
}

/// What only the instruction decoder promises (a syndrome is the
/// hardware's: SSE is 0 for stores and 64-bit loads there, D19.2.49).
void check_decoded(const MmioAccess& a)
{
    check_access(a);
    FUZZ_CHECK(!(a.sign_extend && a.write));
    FUZZ_CHECK(!(a.sign_extend && a.size == 8));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    FuzzInput in(data, size);
    const uint64_t esr = in.u64() & 0xffffffffffull;
    const uint64_t far = in.u64();
    const uint64_t hpfar = in.u64();
    const uint32_t insn = in.u32();

    const Exit exit = decode_sync(esr, far, hpfar);
    FUZZ_CHECK(static_cast<unsigned>(exit.kind) <= static_cast<unsigned>(ExitKind::SError));
    if (exit.kind == ExitKind::Mmio) {
        check_access(exit.mmio);
        FUZZ_CHECK(exit.mmio.ipa == fault_ipa(hpfar, far));
        FUZZ_CHECK(!exit.mmio.pair && !exit.mmio.writeback); // a syndrome describes one register, no writeback
    }
    if (exit.kind == ExitKind::SysReg) {
        FUZZ_CHECK(exit.sysreg.rt <= 31);
    }

    // The decoder fills a reused record (Vcpu::run keeps one): whatever the
    // record held before must not change the result.
    MmioAccess a;
    const bool ok = decode_load_store(insn, a);
    MmioAccess reused;
    std::memset(&reused, 0xa5, sizeof reused);
    reused.ipa = 0x1234;
    FUZZ_CHECK(decode_load_store(insn, reused) == ok);
    if (!ok) {
        return 0;
    }
    FUZZ_CHECK(reused.ipa == 0x1234);
    reused.ipa = a.ipa;
    FUZZ_CHECK(same(reused, a));
    check_decoded(a);
    if (a.pair) {
        FUZZ_CHECK(a.size == 4 || a.size == 8);
    }

    // Loads: W registers come back with the upper half clear, sign
    // extension from the access width, zero extension otherwise.
    const uint64_t raw = in.u64() & mask(a.size);
    const uint64_t loaded = load_result(a, raw);
    const uint64_t sign_bit = 1ull << (8 * a.size - 1);
    uint64_t expected = raw;
    if (a.sign_extend && (raw & sign_bit)) {
        expected |= ~mask(a.size);
    }
    if (!a.reg64) {
        expected &= 0xffffffffu;
    }
    FUZZ_CHECK(loaded == expected);
    // Stores write exactly the register's low `size` bytes.
    const uint64_t reg = in.u64();
    FUZZ_CHECK(store_value(a, reg) == (reg & mask(a.size)));

    // Completion touches Rt (and Rt2) for a load and the base for a
    // writeback, nothing else.
    uint64_t x[31];
    for (uint64_t& r : x) {
        r = in.u64();
    }
    uint64_t before[31];
    std::memcpy(before, x, sizeof x);
    uint64_t sp = in.u64();
    const uint64_t sp_before = sp;
    const uint64_t values[2] = {raw, in.u64() & mask(a.size)};
    complete_access(a, values, x, sp);
    for (unsigned r = 0; r < 31; r++) {
        const bool loaded_here = !a.write && (r == a.rt || (a.pair && r == a.rt2));
        const bool written_back = a.writeback && r == a.rn;
        if (!loaded_here && !written_back) {
            FUZZ_CHECK(x[r] == before[r]);
        }
    }
    if (a.writeback && a.rn == 31) {
        FUZZ_CHECK(sp == sp_before + static_cast<uint64_t>(a.offset));
    } else {
        FUZZ_CHECK(sp == sp_before);
    }
    if (!a.write && a.rt < 31 && !(a.writeback && a.rn == a.rt) && !(a.pair && a.rt2 == a.rt)) {
        FUZZ_CHECK(x[a.rt] == loaded);
    }
    if (a.writeback && a.rn < 31 && (a.write || (a.rn != a.rt && !(a.pair && a.rn == a.rt2)))) {
        FUZZ_CHECK(x[a.rn] == before[a.rn] + static_cast<uint64_t>(a.offset));
    }
    return 0;
}
