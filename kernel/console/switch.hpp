// Console input switching, as a user types it: Ctrl-] then a VM number
// (1-9, in start order) gives that VM the console input; Ctrl-] then m
// enters the monitor; Ctrl-] twice sends one Ctrl-] to the VM that has the
// input; Ctrl-] then anything else is swallowed and asks for the help
// line. Pure logic, host-tested.
#pragma once

#include <stdint.h>

class ConsoleSwitch {
public:
    static constexpr uint8_t kEscape = 0x1d; // Ctrl-]

    struct Action {
        enum Kind : uint8_t { kNone, kDeliver, kSwitch, kMonitor, kHelp } kind = kNone;
        uint8_t value = 0; // the byte to deliver, or the VM index (0-based) to switch to
    };

    Action feed(uint8_t byte)
    {
        if (!escaped_) {
            if (byte == kEscape) {
                escaped_ = true;
                return {};
            }
            return {Action::kDeliver, byte};
        }
        escaped_ = false;
        if (byte == kEscape) {
            return {Action::kDeliver, kEscape};
        }
        if (byte >= '1' && byte <= '9') {
            return {Action::kSwitch, static_cast<uint8_t>(byte - '1')};
        }
        if (byte == 'm') {
            return {Action::kMonitor, byte};
        }
        return {Action::kHelp, byte};
    }

private:
    bool escaped_ = false;
};
