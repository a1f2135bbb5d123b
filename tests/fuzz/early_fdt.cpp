// The console reader Vireo runs with the MMU off (platform/early_fdt.cpp):
// any blob whose header passed early_dtb_size (magic, a totalsize it
// maps); reads must stay inside totalsize and a UART found has an address.
// The input is the DTB.
#include <stdlib.h>
#include <string.h>

#include "platform/early_fdt.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size < 40 || size > (1u << 20)) {
        return 0;
    }
    const uint32_t magic = __builtin_bswap32(*reinterpret_cast<const uint32_t*>(data));
    const uint32_t total = __builtin_bswap32(*reinterpret_cast<const uint32_t*>(data + 4));
    if (magic != 0xd00dfeed || total < 40 || total > size) {
        return 0;
    }
    // Exactly totalsize bytes on the heap, so ASan sees any read past them.
    auto* dtb = static_cast<uint8_t*>(aligned_alloc(8, (total + 7) & ~7u));
    memcpy(dtb, data, total);
    const early_fdt::Console c = early_fdt::find_console(dtb);
    if (c.uart.kind != UartKind::None && (c.uart.base == 0 || c.source == ConsoleSource::None)) {
        __builtin_trap();
    }
    Range reg;
    if (c.node >= 0) {
        early_fdt::node_reg(dtb, c.node, 0, reg);
    }
    free(dtb);
    return 0;
}
