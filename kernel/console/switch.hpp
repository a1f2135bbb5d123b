// Console input switching, as a user types it: Ctrl-] then a VM number (in
// start order) gives that VM the console input: one digit (1-9) while
// there are at most nine VMs, two (01-99) from ten on, so every VM can be
// reached and no number is a prefix of another. Ctrl-] then m enters the
// monitor; Ctrl-] twice sends one Ctrl-] to the VM that has the input;
// Ctrl-] then anything else is swallowed and asks for the help line. Pure
// logic, host-tested.
#pragma once

#include <stddef.h>
#include <stdint.h>

class ConsoleSwitch {
public:
    static constexpr uint8_t kEscape = 0x1d; // Ctrl-]

    struct Action {
        enum Kind : uint8_t { kNone, kDeliver, kSwitch, kMonitor, kHelp } kind = kNone;
        uint8_t value = 0; // the byte to deliver, or the VM index (0-based) to switch to
    };

    /// How many VMs there are: from ten on, VM numbers take two digits.
    void set_vm_count(size_t count) { two_digits_ = count > 9; }
    bool two_digits() const { return two_digits_; }

    Action feed(uint8_t byte)
    {
        const State state = state_;
        state_ = State::kPlain;
        const bool digit = byte >= '0' && byte <= '9';
        const auto value = static_cast<uint8_t>(byte - '0');
        switch (state) {
        case State::kPlain:
            if (byte == kEscape) {
                state_ = State::kEscaped;
                return {};
            }
            return {Action::kDeliver, byte};
        case State::kEscaped:
            if (byte == kEscape) {
                return {Action::kDeliver, kEscape};
            }
            if (digit && two_digits_) {
                tens_ = value;
                state_ = State::kTens;
                return {};
            }
            if (byte == 'm') {
                return {Action::kMonitor, byte};
            }
            return digit ? number(value) : Action{Action::kHelp, byte};
        case State::kTens:
            return digit ? number(static_cast<uint8_t>(tens_ * 10 + value)) : Action{Action::kHelp, byte};
        }
        return {};
    }

private:
    enum class State : uint8_t { kPlain, kEscaped, kTens };

    /// VM `n` (from 1); there is no VM 0.
    static Action number(uint8_t n)
    {
        return n == 0 ? Action{Action::kHelp, '0'} : Action{Action::kSwitch, static_cast<uint8_t>(n - 1)};
    }

    State state_ = State::kPlain;
    uint8_t tens_ = 0;
    bool two_digits_ = false;
};
