// Console input while the terminal is busy, typed at something like a
// shell: over and over, a numbered line ("chatter-X tick N"), then a
// prompt ("chatter-X> ") left unfinished while the guest idles (WFI) for a
// few milliseconds or until input comes, then the typed bytes echoed after
// the prompt and every complete line answered ("chatter-X: got 'LINE'"),
// however many lines arrive at once, until it gets "quit". Ticks, prompt
// and echo go a byte at a time through the PL011, answers through the
// console hypercall; X comes from the bootargs' tag=N. The receive
// interrupt (SPI 33) only queues bytes for the loop.
#include "lib/gic.hpp"
#include "lib/guest.hpp"
#include "lib/pl011.hpp"

using namespace guest;
using namespace guest::gic;
using namespace guest::pl011;

namespace {

constexpr uint32_t kFrRxfe = 1u << 4;
constexpr uint64_t kIdleMs = 20; // at the prompt: how long the guest waits for input

// Typed bytes, written by the interrupt handler, read by the main loop.
constexpr uint32_t kQueue = 4096;
char queue[kQueue];
volatile uint32_t queued;   // bytes ever queued (the handler's)
volatile uint32_t taken;    // bytes ever taken (the main loop's)
volatile uint32_t overflow; // bytes that found the queue full
volatile uint32_t stray;
char tag;

void put_number(uint32_t n)
{
    char digits[10];
    int used = 0;
    do {
        digits[used++] = static_cast<char>('0' + n % 10);
        n /= 10;
    } while (n != 0);
    while (used > 0) {
        put(digits[--used]);
    }
}

uint64_t read_ctl()
{
    uint64_t ctl;
    asm volatile("mrs %0, cntv_ctl_el0" : "=r"(ctl));
    return ctl;
}

/// The next typed byte, or -1 when none waits.
int take()
{
    if (taken == queued) {
        return -1;
    }
    const char c = queue[taken % kQueue];
    taken = taken + 1;
    return static_cast<unsigned char>(c);
}

} // namespace

extern "C" void guest_irq()
{
    const uint32_t iar = acknowledge();
    if ((iar & 0x3ff) == kSpi) {
        while (!(read32(kBase + 0x18) & kFrRxfe)) { // UARTFR.RXFE
            const char c = static_cast<char>(read32(kBase + 0x00) & 0xff);
            if (queued - taken < kQueue) {
                queue[queued % kQueue] = c;
                queued = queued + 1;
            } else {
                overflow = overflow + 1;
            }
        }
    } else if ((iar & 0x3ff) == kTimer) {
        stop_timer(); // the wait at the prompt is over
    } else if ((iar & 0x3ff) != kSpurious) {
        stray = iar;
    }
    end(iar);
}

extern "C" void guest_main(uint64_t, uint64_t dtb)
{
    tag = static_cast<char>('a' + (bootarg(dtb, "tag", 0) & 0xf));
    enable_distributor();
    enable_cpu_interface();
    enable_spi(kSpi, 0, 0x80);
    write32(kBase + 0x38, kRxInterrupts); // UARTIMSC
    asm volatile("msr daifclr, #2");
    enable_private(kTimer);
    set_private_priority(kTimer, 0x80);
    print("chatter-%c: ready\n", tag);
    char line[64];
    uint32_t length = 0;
    bool quit = false;
    for (uint32_t tick = 1; !quit; tick++) {
        put_text("chatter-");
        put(tag);
        put_text(" tick ");
        put_number(tick);
        put_text("\nchatter-");
        put(tag);
        put_text("> ");
        arm_timer(frequency() * kIdleMs / 1000);
        while (taken == queued && (read_ctl() & 1) != 0) {
            asm volatile("wfi");
        }
        stop_timer();
        bool answered = false;
        for (int c = take(); c >= 0 && !quit; c = take()) {
            if (c != '\r' && c != '\n') {
                put(static_cast<char>(c)); // echoed on the prompt's line
                if (length < sizeof line - 1) {
                    line[length++] = static_cast<char>(c);
                }
                continue;
            }
            if (length == 0) {
                continue; // the \n of a \r\n
            }
            line[length] = '\0';
            put('\n');
            print("chatter-%c: got '%s'\n", tag, line);
            quit = length == 4 && line[0] == 'q' && line[1] == 'u' && line[2] == 'i' && line[3] == 't';
            length = 0;
            answered = true;
        }
        if (!answered || length > 0) {
            put('\n'); // the line with the prompt (or half a typed line) ends
        }
    }
    asm volatile("msr daifset, #2");
    test("chatter-input-queue-kept-up", overflow == 0);
    test("chatter-no-stray-interrupts", stray == 0);
}
