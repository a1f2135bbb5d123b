// Interrupt isolation between VMs without passthrough: two VMs run this
// guest at once (bootargs "tag=0" or "tag=1"). Each makes "its" SPI (40 + tag) pending and
// enabled in its own virtual distributor and waits while the other does the
// same; neither may then see the other's SPI, nor anything of the host's
// own interrupts (its UART's SPI 33, its EL2 timer's PPI 26) beyond what it
// enabled itself.
#include <stdio.h>

#include "lib/gic.hpp"
#include "lib/guest.hpp"

using namespace guest;
using namespace guest::gic;

namespace {

uint32_t spi_word(uint64_t base) { return read32(kGicd + base + 4); } // word 1: SPIs 32-63

void settle()
{
    const uint64_t start = counter();
    while (counter() - start < frequency() / 20) { // 50 ms: the other VM acts meanwhile
        call(kHcYield);
    }
}

} // namespace

extern "C" void guest_main(uint64_t, uint64_t dtb)
{
    const uint64_t tag = bootarg(dtb, "tag", 0) & 1;
    const uint32_t mine = 1u << (8 + tag);         // SPI 40 or 41
    const uint32_t theirs = 1u << (8 + (tag ^ 1)); // the other VM's
    enable_distributor();
    test("irqiso-starts-clean", spi_word(0x200) == 0 && spi_word(0x100) == 0 && spi_word(0x300) == 0);
    write32(kGicd + 0x104, mine); // ISENABLER1
    write32(kGicd + 0x204, mine); // ISPENDR1
    settle();
    const uint32_t pending = spi_word(0x200);
    const uint32_t enabled = spi_word(0x100);
    char details[64];
    snprintf(details, sizeof details, "pending 0x%x enabled 0x%x", pending, enabled);
    test("irqiso-own-spi-set", (pending & mine) && (enabled & mine), details);
    test("irqiso-other-vms-spi-invisible", !(pending & theirs) && !(enabled & theirs), details);
    test("irqiso-host-uart-spi-invisible", !(pending & (1u << 1)) && !(enabled & (1u << 1)), details);
    const uint32_t private_pending = read32(private_base() + 0x200);
    test("irqiso-host-timer-ppi-invisible",
         !(private_pending & (1u << 26)) && !(read32(private_base() + 0x100) & (1u << 26)));
    write32(kGicd + 0x284, mine); // ICPENDR1
    write32(kGicd + 0x184, mine); // ICENABLER1
    settle();
}
