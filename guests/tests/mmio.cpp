// MMIO emulation: every access width, sign extension into W and X
// registers, XZR, accesses without a syndrome (ISV=0: writeback and pairs),
// and faults the guest must get instead of the hypervisor.
#include "lib/guest.hpp"

using namespace guest;

namespace {

constexpr uint64_t kDev = 0x0a000000; // "vireo,test-device": byte i resets to 0x80 | i
constexpr uint64_t kUnmapped = 0x0b000000;

uint64_t decoded_exits() { return static_cast<uint64_t>(call(kHcExitCount, kExitMmioNeedsDecode)); }

void read_unmapped() { (void)*reinterpret_cast<volatile uint32_t*>(kUnmapped); }
void write_reserved() { *reinterpret_cast<volatile uint32_t*>(kDev + 0x100) = 1; }
// Inside the 64 KiB GICD region the DTB describes, past a GICv2 GICD's registers.
void read_gicd_frame_end() { (void)*reinterpret_cast<volatile uint32_t*>(0x08000000 + 0xfffc); }
// LORegions (HCR_EL2.TLOR traps them where FEAT_LOR is; UNDEFINED anyway
// where it is not): LORC_EL1 and LORID_EL1. (The PMU's registers, which
// these tests used, are the virtual PMU's now.)
void write_lorc() { asm volatile("msr s3_0_c10_c4_3, %0" ::"r"(uint64_t{0})); }
void read_lorid()
{
    uint64_t v;
    asm volatile("mrs %0, s3_0_c10_c4_7" : "=r"(v));
}

} // namespace

extern "C" void guest_main(uint64_t, uint64_t)
{
    uint64_t v = 0;
    const uint64_t dev = kDev;
    // Zero-extending loads of each width.
    asm volatile("ldrb %w0, [%1]" : "=r"(v) : "r"(dev));
    test("ldrb", v == 0x80);
    asm volatile("ldrh %w0, [%1]" : "=r"(v) : "r"(dev));
    test("ldrh", v == 0x8180);
    asm volatile("ldr %w0, [%1]" : "=r"(v) : "r"(dev));
    test("ldr-w", v == 0x83828180);
    asm volatile("ldr %0, [%1]" : "=r"(v) : "r"(dev));
    test("ldr-x", v == 0x8786858483828180);
    // Sign-extending loads into W (upper half zero) and X registers.
    asm volatile("mov %0, #-1\n\tldrsb %w0, [%1]" : "=&r"(v) : "r"(dev));
    test("ldrsb-w", v == 0xffffff80);
    asm volatile("ldrsb %0, [%1]" : "=r"(v) : "r"(dev));
    test("ldrsb-x", v == 0xffffffffffffff80);
    asm volatile("mov %0, #-1\n\tldrsh %w0, [%1]" : "=&r"(v) : "r"(dev));
    test("ldrsh-w", v == 0xffff8180);
    asm volatile("ldrsh %0, [%1]" : "=r"(v) : "r"(dev));
    test("ldrsh-x", v == 0xffffffffffff8180);
    asm volatile("ldrsw %0, [%1]" : "=r"(v) : "r"(dev));
    test("ldrsw-x", v == 0xffffffff83828180);
    // A sign-extending load of a positive byte.
    asm volatile("strb %w1, [%2]\n\tldrsb %0, [%2]" : "=&r"(v) : "r"(uint64_t{0x7f}), "r"(dev + 8));
    test("ldrsb-positive", v == 0x7f);

    // Stores of each width, read back whole.
    asm volatile("str %1, [%2]\n\tstrb %w3, [%2]\n\tstrh %w3, [%2, #2]\n\tstr %w4, [%2, #4]\n\tldr %0, [%2]"
                 : "=&r"(v)
                 : "r"(0x1111111111111111ull), "r"(dev + 16), "r"(0xaabbull), "r"(0xccddeeffull));
    test("str-widths", v == 0xccddeeffaabb11bbull);
    // XZR as the source of a store, and as the target of a load (the load
    // is performed and discarded; nothing else may change).
    asm volatile("str xzr, [%1]\n\tldr %0, [%1]" : "=&r"(v) : "r"(dev + 24));
    test("str-xzr", v == 0);
    uint64_t sp0_before, sp0_after;
    asm volatile("mrs %0, sp_el0" : "=r"(sp0_before));
    asm volatile("ldr xzr, [%0]" ::"r"(dev + 32));
    asm volatile("mrs %0, sp_el0" : "=r"(sp0_after));
    test("ldr-xzr", sp0_before == sp0_after);

    // No syndrome (ISV=0): writeback forms and pairs, decoded from the instruction.
    const uint64_t decoded_before = decoded_exits();
    uint64_t addr = dev;
    asm volatile("ldr %0, [%1], #8" : "=r"(v), "+r"(addr));
    test("isv0-post-index-load", v == 0x8786858483828180 && addr == dev + 8);
    test("isv0-decoded-from-instruction", decoded_exits() == decoded_before + 1);
    addr = dev + 0x44;
    asm volatile("ldr %w0, [%1, #-4]!" : "=r"(v), "+r"(addr));
    test("isv0-pre-index-negative", v == 0xc3c2c1c0 && addr == dev + 0x40);
    uint64_t a = 0, b = 0;
    asm volatile("ldp %0, %1, [%2]" : "=&r"(a), "=&r"(b) : "r"(dev + 0x50));
    test("isv0-ldp", a == 0xd7d6d5d4d3d2d1d0 && b == 0xdfdedddcdbdad9d8);
    addr = dev + 0x60;
    asm volatile("stp %2, %3, [%0], #16\n\tldr %1, [%4]"
                 : "+r"(addr), "=&r"(v)
                 : "r"(1ull), "r"(2ull), "r"(dev + 0x68));
    test("isv0-stp-post-index", v == 2 && addr == dev + 0x70);
    asm volatile("ldpsw %0, %1, [%2]" : "=&r"(a), "=&r"(b) : "r"(dev + 0x80));
    test("isv0-ldpsw", a == 0xffffffff83828180 && b == 0xffffffff87868584);
    // Right after a sign-extending decode, a zero-extending one (nothing of
    // the last access may stay in the decoder's record).
    addr = dev + 0x90;
    asm volatile("ldrb %w0, [%1], #1" : "=r"(v), "+r"(addr));
    test("isv0-ldrb-after-ldpsw-zero-extends", v == 0x90 && addr == dev + 0x91);

    // Faults that belong to the guest.
    Fault f = expect_fault(read_unmapped);
    test("unmapped-ipa-data-abort", (f.esr >> 26) == 0x25 && (f.esr & 0x3f) == 0x10 && f.far == kUnmapped);
    test("gicd-frame-reads-as-zero-to-its-end",
         expect_fault(read_gicd_frame_end).esr == 0 && *reinterpret_cast<volatile uint32_t*>(0x08000000 + 0x2000) == 0);
    f = expect_fault(write_reserved);
    test("device-refusal-data-abort", (f.esr >> 26) == 0x25 && (f.esr & (1u << 6)) && f.far == kDev + 0x100);
    f = expect_fault(write_lorc);
    test("msr-trapped-register-undefined", f.esr == (1ull << 25));
    f = expect_fault(read_lorid);
    test("mrs-trapped-register-undefined", f.esr == (1ull << 25));

    // Hidden features: SVE and pointer authentication read as absent.
    uint64_t pfr0 = 0, isar1 = 0;
    asm volatile("mrs %0, id_aa64pfr0_el1" : "=r"(pfr0));
    asm volatile("mrs %0, id_aa64isar1_el1" : "=r"(isar1));
    test("id-sve-hidden", ((pfr0 >> 32) & 0xf) == 0);
    test("id-pauth-hidden", ((isar1 >> 4) & 0xff) == 0 && ((isar1 >> 24) & 0xff) == 0);

    // An SMC the VM's policy does not allow: NOT_SUPPORTED, not forwarded.
    uint64_t args[18] = {0x82000010};
    test("smc-not-allowed", smc(args).x[0] == ~0ull);
}
