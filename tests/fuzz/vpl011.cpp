// The virtual PL011 (kernel/devices/uart/vpl011.cpp): any accesses and
// typed bytes; the interrupt line it reports is always the masked status,
// the receiver hands out the bytes typed, in order, and no more.
#include <deque>

#include "kernel/devices/uart/vpl011.hpp"
#include "tests/fuzz/input.hpp"

namespace {

struct Line {
    bool level = false;
    size_t sent = 0;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    FuzzInput in(data, size);
    VirtualPl011 uart;
    Line line;
    uart.connect([](void* context, char) { static_cast<Line*>(context)->sent++; },
                 [](void* context, bool level) { static_cast<Line*>(context)->level = level; }, &line);
    uart.reset();
    std::deque<uint8_t> typed; // what the guest has not read yet
    for (int op = 0; op < 128 && !in.done(); op++) {
        const uint8_t kind = in.u8() % 4;
        const uint64_t offset = kind == 3 ? 0 : in.u16() & 0xfff;
        const unsigned width = 1u << in.below(4);
        uint64_t value = in.u32();
        switch (kind) {
        case 0: {
            const uint8_t byte = in.u8();
            if (uart.receive(byte)) {
                typed.push_back(byte);
            }
            FUZZ_CHECK(typed.size() <= VirtualPl011::kFifo);
            break;
        }
        case 1: {
            const size_t sent = line.sent;
            const bool ok = uart.write(0, offset, width, value);
            if (offset == 0 && ok) {
                FUZZ_CHECK(line.sent <= sent + 1); // one byte per data-register write at most
            }
            break;
        }
        case 2:
            if (offset != 0) { // the data register is case 3's, which keeps the books
                uart.read(0, offset, width, value);
            }
            break;
        case 3: { // read UARTDR: the oldest byte typed, if any
            uint64_t dr = 0;
            const bool was_empty = typed.empty();
            if (uart.read(0, 0, 4, dr) && !was_empty) {
                FUZZ_CHECK((dr & 0xff) == typed.front());
                typed.pop_front();
            }
            break;
        }
        }
        FUZZ_CHECK(line.level == uart.irq_line()); // the line follows every change
        uint64_t mis = 0;
        uart.read(0, 0x040, 4, mis); // UARTMIS
        FUZZ_CHECK((mis != 0) == uart.irq_line());
        uint64_t fr = 0;
        uart.read(0, 0x018, 4, fr); // UARTFR.RXFE: empty exactly when nothing is waiting
        FUZZ_CHECK(((fr >> 4) & 1) == typed.empty());
    }
    return 0;
}
