// The monitor's command line, as a user types it (kernel/console/monitor.cpp
// serves it): a bounded line editor (printable characters, backspace or
// DEL to erase, Enter to submit) and the parser of a submitted line. Pure
// logic, host-tested.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

namespace monitor {

class LineEditor {
public:
    static constexpr size_t kMax = 63; // characters; more are refused (kFull)

    enum class Event : uint8_t {
        kNone,   // ignored (a control character)
        kEcho,   // the byte was added: show it
        kErase,  // the last character went: rub it out
        kFull,   // the line is full: the byte was refused
        kSubmit, // Enter: line() is complete (clear() before the next)
    };

    Event feed(uint8_t byte)
    {
        if (byte == '\r' || byte == '\n') {
            return Event::kSubmit;
        }
        if (byte == 0x7f || byte == '\b') {
            if (length_ == 0) {
                return Event::kNone;
            }
            text_[--length_] = '\0';
            return Event::kErase;
        }
        if (byte < 0x20 || byte > 0x7e) {
            return Event::kNone;
        }
        if (length_ == kMax) {
            return Event::kFull;
        }
        text_[length_++] = static_cast<char>(byte);
        text_[length_] = '\0';
        return Event::kEcho;
    }
    const char* line() const { return text_; }
    size_t length() const { return length_; }
    void clear()
    {
        length_ = 0;
        text_[0] = '\0';
    }

private:
    char text_[kMax + 1] = {};
    size_t length_ = 0;
};

struct Command {
    enum class Kind : uint8_t {
        kEmpty,     // nothing typed
        kHelp,      // help
        kList,      // list
        kStat,      // stat [VM]
        kStatReset, // stat -r
        kStop,      // stop VM
        kRestart,   // restart VM
        kStart,     // start VM
        kNet,       // net
        kDev,       // dev VM
        kTop,       // top
        kSwitch,    // switch VM
        kColours,   // colours
        kQuit,      // q
        kUnknown,   // not a command (error names it)
        kNeedsVm,   // stop/restart/start/dev/switch without a VM (error)
        kTooMany,   // more words than the command takes (error)
    };
    static constexpr size_t kWordMax = 31;
    Kind kind = Kind::kEmpty;
    char word[kWordMax + 1] = {}; // the command word (kUnknown) or the VM named (may be empty for stat)
};

namespace detail {

inline bool space(char c) { return c == ' ' || c == '\t'; }

/// Copies the next word of `s` (at most Command::kWordMax characters, the
/// rest of a longer one dropped) into `out`; returns where parsing goes on.
inline const char* next_word(const char* s, char* out)
{
    while (space(*s)) {
        s++;
    }
    size_t n = 0;
    for (; *s != '\0' && !space(*s); s++) {
        if (n < Command::kWordMax) {
            out[n++] = *s;
        }
    }
    out[n] = '\0';
    return s;
}

} // namespace detail

inline Command parse(const char* line)
{
    using Kind = Command::Kind;
    Command c;
    char verb[Command::kWordMax + 1];
    char arg[Command::kWordMax + 1];
    char extra[Command::kWordMax + 1];
    const char* rest = detail::next_word(line, verb);
    rest = detail::next_word(rest, arg);
    detail::next_word(rest, extra);
    if (verb[0] == '\0') {
        return c;
    }
    struct Verb {
        const char* name;
        Kind kind;
        int args; // 0: none, 1: a VM, -1: an optional VM (or -r)
    };
    static const Verb kVerbs[] = {
        {"help", Kind::kHelp, 0},     {"?", Kind::kHelp, 0},          {"list", Kind::kList, 0},
        {"stat", Kind::kStat, -1},    {"stop", Kind::kStop, 1},       {"restart", Kind::kRestart, 1},
        {"start", Kind::kStart, 1},   {"q", Kind::kQuit, 0},          {"quit", Kind::kQuit, 0},
        {"net", Kind::kNet, 0},       {"dev", Kind::kDev, 1},         {"top", Kind::kTop, 0},
        {"switch", Kind::kSwitch, 1}, {"colours", Kind::kColours, 0},
    };
    for (const Verb& v : kVerbs) {
        if (strcmp(verb, v.name) != 0) {
            continue;
        }
        if ((v.args == 0 && arg[0] != '\0') || extra[0] != '\0') {
            c.kind = Kind::kTooMany;
        } else if (v.args == 1 && arg[0] == '\0') {
            c.kind = Kind::kNeedsVm;
        } else if (v.kind == Kind::kStat && strcmp(arg, "-r") == 0) {
            c.kind = Kind::kStatReset;
        } else {
            c.kind = v.kind;
        }
        // An error names the command; a command the VM it was given.
        if (c.kind == Kind::kTooMany || c.kind == Kind::kNeedsVm) {
            memcpy(c.word, verb, strlen(verb) + 1);
        } else if (c.kind != Kind::kStatReset) {
            memcpy(c.word, arg, strlen(arg) + 1);
        }
        return c;
    }
    c.kind = Kind::kUnknown;
    memcpy(c.word, verb, strlen(verb) + 1);
    return c;
}

} // namespace monitor
