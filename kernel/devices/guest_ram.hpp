// The guest's RAM as a device model may reach it: every address and length
// a guest hands a device (virtqueues, the virtual ITS's tables and command
// queue, the LPI property and pending tables) is looked up here first, and
// anything not wholly in the VM's RAM gives nullptr. The VM layer
// implements it; host tests use tests/fake_ram.hpp.
#pragma once

#include <stdint.h>

class GuestRam {
public:
    /// Where Vireo reaches guest-physical [ipa, ipa + size), or nullptr
    /// when it is not all RAM of the guest (size 0: any ipa gives nullptr).
    virtual uint8_t* at(uint64_t ipa, uint64_t size) = 0;

protected:
    ~GuestRam() = default;
};
