// unmapped-mmio (docs/config.md): with "ignore" (bootargs ignore=1), an
// address with no RAM and no device reads as zero at every width and takes
// writes without an exception, while RAM, a device's refusal and what Vireo
// cannot emulate (SIMD loads) behave as without it; by default the same
// accesses abort. Ignored accesses have their own log budget: once it is
// spent, a device's refusal is still logged, naming the device and why.
#include "lib/guest.hpp"

using namespace guest;

namespace {

constexpr uint64_t kHole = 0x0a000000;         // QEMU virt's first virtio-mmio slot: nothing there in a VM
constexpr uint64_t kUntouchedRam = 0x40300000; // a 64 KiB block of RAM nothing has touched yet

bool data_abort(const Fault& f, uint64_t far) { return (f.esr >> 26) == 0x25 && f.far == far; }

void read_hole() { (void)*reinterpret_cast<volatile uint32_t*>(kHole); }
void write_hole() { *reinterpret_cast<volatile uint32_t*>(kHole) = 0x12345678; }
void simd_pair_from_hole() { asm volatile("ldp q0, q1, [%0]" ::"r"(kHole) : "v0", "v1", "memory"); }
void simd_load_from_hole() { asm volatile("ldr q0, [%0]" ::"r"(kHole) : "v0", "memory"); }
// The virtual PL011 refuses accesses that are not 32-bit aligned.
void unaligned_uart_read() { (void)*reinterpret_cast<volatile uint8_t*>(0x09000001); }

void ignoring()
{
    const uint64_t hole = kHole;
    uint64_t b = 0, h = 0, w = 0, x = 0, sb = 0;
    asm volatile("mov %0, #-1\n\tldrb %w0, [%1]" : "=&r"(b) : "r"(hole));
    asm volatile("mov %0, #-1\n\tldrh %w0, [%1]" : "=&r"(h) : "r"(hole));
    asm volatile("mov %0, #-1\n\tldr %w0, [%1]" : "=&r"(w) : "r"(hole));
    asm volatile("mov %0, #-1\n\tldr %0, [%1]" : "=&r"(x) : "r"(hole));
    asm volatile("mov %0, #-1\n\tldrsb %0, [%1]" : "=&r"(sb) : "r"(hole));
    test("hole-reads-zero-at-every-width", (b | h | w | x | sb) == 0);
    test("hole-read-no-exception", expect_fault(read_hole).esr == 0);
    test("hole-write-ignored", expect_fault(write_hole).esr == 0 && *reinterpret_cast<volatile uint32_t*>(kHole) == 0);

    // Decoded from the instruction (no syndrome): both registers, and the writeback.
    uint64_t a = ~0ull, c = ~0ull, base = hole;
    asm volatile("ldp %0, %1, [%2]" : "=&r"(a), "=&r"(c) : "r"(hole));
    test("hole-ldp-reads-zero", a == 0 && c == 0);
    asm volatile("mov %0, #-1\n\tldr %0, [%1], #16" : "=&r"(a), "+r"(base));
    test("hole-post-index-load-writes-back", a == 0 && base == hole + 16);

    // What Vireo cannot emulate still aborts.
    test("hole-simd-ldp-aborts", data_abort(expect_fault(simd_pair_from_hole), kHole));
    test("hole-simd-load-aborts", data_abort(expect_fault(simd_load_from_hole), kHole));

    // More ignored accesses than the VM logs: a device's refusal below
    // is still logged, from a budget of its own.
    for (int i = 0; i < 25; i++) {
        read_hole();
    }

    // RAM and devices as before.
    auto* ram = reinterpret_cast<volatile uint64_t*>(kUntouchedRam);
    *ram = 0x1122334455667788ull;
    test("untouched-ram-keeps-what-is-written", *ram == 0x1122334455667788ull);
    test("device-refusal-still-aborts", data_abort(expect_fault(unaligned_uart_read), 0x09000001));
}

void aborting()
{
    test("default-hole-read-aborts", data_abort(expect_fault(read_hole), kHole));
    const Fault f = expect_fault(write_hole);
    test("default-hole-write-aborts", data_abort(f, kHole) && (f.esr & (1u << 6)) != 0);
}

} // namespace

extern "C" void guest_main(uint64_t, uint64_t dtb)
{
    if (bootarg(dtb, "ignore", 0) == 1) {
        ignoring();
    } else {
        aborting();
    }
}
