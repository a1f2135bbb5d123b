// Console input: bytes typed on the physical UART go to one VM's virtual
// PL011 at a time. The UART's receive interrupt is routed to the boot CPU;
// Ctrl-] then a VM number switches the input (kernel/console/switch.hpp,
// documented in README.md).
#pragma once

#include <stdint.h>

struct Platform;
class VmConsole;

namespace console_input {

/// Enables the UART's receive interrupt (boot CPU, after irq::init). Without
/// an interrupt in the DTB input is unavailable, and says so.
void init(const Platform& platform);
/// The UART's interrupt ID, or 0.
uint32_t intid();
/// The receive interrupt fired: hands every waiting byte on.
void on_interrupt();
/// The VMs are started: input goes to VM `index` first.
void start(uint32_t index);
/// Whether `console` (a VM's) has the console input.
bool has_focus(const VmConsole& console);
/// Gives the console input to VM `index` (start order, from 0), as Ctrl-] then its number does.
void give_input(uint32_t index);

} // namespace console_input
