#include "kernel/console/input.hpp"

#include "kernel/console/console.hpp"
#include "kernel/console/monitor.hpp"
#include "kernel/console/switch.hpp"
#include "kernel/vm/vm.hpp"
#include "platform/cpu.hpp"
#include "platform/gic.hpp"
#include "platform/platform.hpp"

namespace console_input {
namespace {

constinit Uart uart;
constinit uint32_t uart_intid = 0;
constinit ConsoleSwitch escape;
constinit uint32_t focus = 0;
constinit bool started = false;

/// How VM numbers are typed after Ctrl-]: "1-N", or "01-N" (two digits) from ten VMs on.
const char* first_number() { return escape.two_digits() ? "01" : "1"; }

void switch_to(uint32_t index)
{
    Vm* vm = vms::at(index);
    if (vm == nullptr) {
        console::print("console: there is no VM %u (%lu running)\n", index + 1, vms::count());
        return;
    }
    focus = index;
    console::print("console: input to VM %u (%s)\n", index + 1, vm->name);
}

} // namespace

void init(const Platform& platform)
{
    const UartDesc& desc = platform.uart;
    if (desc.kind == UartKind::None) {
        return;
    }
    if (desc.intid == 0 || gic::version() == 0) {
        log_info("console: the UART has no interrupt in the DTB; guests get no console input");
        return;
    }
    uart.attach(desc);
    while (uart.get() >= 0) {
        // drop whatever was typed before Vireo ran
    }
    uart_intid = desc.intid;
    gic::enable_spi(uart_intid, arch::read_mpidr() & kMpidrAffinityMask);
    uart.enable_rx_interrupt(true);
}

uint32_t intid() { return uart_intid; }

void give_input(uint32_t index) { switch_to(index); }

bool has_focus(const VmConsole& console)
{
    const Vm* vm = started ? vms::at(focus) : nullptr;
    return vm != nullptr && &vm->console == &console;
}

void start(uint32_t index)
{
    started = true;
    focus = index;
    escape.set_vm_count(vms::count());
    if (vms::count() > 1 && uart_intid != 0) {
        Vm* vm = vms::at(index);
        console::print("console: input to VM %u (%s); Ctrl-] then %s-%lu switches\n", index + 1,
                       vm != nullptr ? vm->name : "?", first_number(), vms::count());
    }
}

void on_interrupt()
{
    for (int c = uart.get(); c >= 0; c = uart.get()) {
        if (monitor::active()) {
            // Typed at the monitor; Ctrl-] leaves it.
            if (c == ConsoleSwitch::kEscape) {
                monitor::leave();
            } else {
                monitor::feed(static_cast<uint8_t>(c));
            }
            continue;
        }
        const ConsoleSwitch::Action action = escape.feed(static_cast<uint8_t>(c));
        switch (action.kind) {
        case ConsoleSwitch::Action::kDeliver:
            if (Vm* vm = started ? vms::at(focus) : nullptr; vm != nullptr) {
                vm->console.type(action.value);
            }
            break;
        case ConsoleSwitch::Action::kSwitch: switch_to(action.value); break;
        case ConsoleSwitch::Action::kMonitor: monitor::enter(); break;
        case ConsoleSwitch::Action::kHelp:
            console::print("console: Ctrl-] then %s-%lu gives that VM the input, Ctrl-] m enters the monitor; "
                           "Ctrl-] twice sends Ctrl-]\n",
                           first_number(), vms::count());
            break;
        case ConsoleSwitch::Action::kNone: break;
        }
    }
}

} // namespace console_input
