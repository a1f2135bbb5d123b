// The earliest C++: runs with the MMU off (everything is Device memory, so
// only aligned accesses) and without newlib.
#include "kernel/base/early.hpp"

namespace {

void early_puts(Uart& uart, const char* text)
{
    for (; *text != '\0'; text++) {
        if (*text == '\n') {
            uart.put('\r');
        }
        uart.put(*text);
    }
}

uint32_t be32(const volatile uint32_t* p)
{
    const uint32_t v = *p;
    return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
}

} // namespace

extern "C" [[noreturn]] void early_wrong_el(uint64_t el, uint64_t dtb)
{
    Uart uart; // says nothing unless the DTB names the console
    uart.attach(early_console(dtb).uart);
    char level[] = "ELx";
    level[2] = static_cast<char>('0' + (el & 3));
    early_puts(uart, "\nVireo must be entered at EL2; found ");
    early_puts(uart, level);
    early_puts(uart, " \xe2\x80\x94 start QEMU with virtualization=on\n");
    halt();
}

uint32_t early_dtb_size(uint64_t dtb)
{
    constexpr uint32_t kFdtMagic = 0xd00dfeed;
    constexpr uint32_t kMaxSize = 2u << 20;
    if (dtb == 0 || dtb % 8 != 0) {
        return 0;
    }
    const auto* header = reinterpret_cast<const volatile uint32_t*>(dtb);
    const uint32_t size = be32(&header[1]);
    return be32(&header[0]) == kFdtMagic && size >= 40 && size <= kMaxSize ? size : 0;
}

early_fdt::Console early_console(uint64_t dtb)
{
    return early_dtb_size(dtb) != 0 ? early_fdt::find_console(reinterpret_cast<const void*>(dtb))
                                    : early_fdt::Console{};
}
