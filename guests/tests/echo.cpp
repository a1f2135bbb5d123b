// Console input through the virtual PL011: prints 20 numbered lines a
// byte at a time through the PL011 (so two such VMs interleave on the
// console), then echoes every line typed to it ("echo-X: got 'LINE'")
// until it gets "quit". The receive interrupt is SPI 33 of its virtual GIC.
#include "lib/gic.hpp"
#include "lib/guest.hpp"
#include "lib/pl011.hpp"

using namespace guest;
using namespace guest::gic;
using namespace guest::pl011;

namespace {

char line[64];
volatile uint32_t line_length;
volatile bool line_done;
volatile uint32_t stray;
char tag;

} // namespace

extern "C" void guest_irq()
{
    const uint32_t iar = acknowledge();
    if ((iar & 0x3ff) == kSpi) {
        while (!(read32(kBase + 0x18) & (1u << 4))) { // UARTFR.RXFE
            const char c = static_cast<char>(read32(kBase + 0x00) & 0xff);
            if (c == '\r' || c == '\n') {
                line_done = line_length > 0;
            } else if (!line_done && line_length < sizeof line - 1) {
                line[line_length] = c;
                line_length = line_length + 1;
            }
        }
    } else if ((iar & 0x3ff) != kSpurious) {
        stray = iar;
    }
    end(iar);
}

extern "C" void guest_main(uint64_t, uint64_t dtb)
{
    tag = static_cast<char>('a' + (bootarg(dtb, "tag", 0) & 0xf)); // bootargs "tag=N" in the VM configuration
    for (int n = 1; n <= 20; n++) {
        put_text("echo-");
        put(tag);
        put_text(" line ");
        if (n >= 10) {
            put(static_cast<char>('0' + n / 10));
        }
        put(static_cast<char>('0' + n % 10));
        put_text(" ok\n");
    }
    enable_distributor();
    enable_cpu_interface();
    enable_spi(kSpi, 0, 0x80);
    write32(kBase + 0x38, kRxInterrupts); // UARTIMSC
    asm volatile("msr daifclr, #2");
    print("echo-%c: ready\n", tag);
    for (;;) {
        while (!line_done) {
            asm volatile("wfi");
        }
        line[line_length] = '\0';
        print("echo-%c: got '%s'\n", tag, line);
        const bool quit = line_length == 4 && line[0] == 'q' && line[1] == 'u' && line[2] == 'i' && line[3] == 't';
        line_length = 0;
        line_done = false;
        if (quit) {
            break;
        }
    }
    asm volatile("msr daifset, #2");
    test("echo-no-stray-interrupts", stray == 0);
}
