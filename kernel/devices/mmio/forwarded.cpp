#include "kernel/devices/mmio/forwarded.hpp"

// No barriers are added around the access: the guest's own (e.g. Linux's
// writel: DMB, then the store that trapped) order its memory accesses
// against the register access, and Vireo's access comes after the trap in
// program order on the same PE, which is what those barriers order against
// (Arm ARM B2.3: barriers order by program order, across exception levels).

bool ForwardedDevice::read(uint32_t, uint64_t offset, unsigned size, uint64_t& value)
{
    const uintptr_t address = registers_ + offset;
    if (address % size != 0) {
        return false;
    }
    switch (size) {
    case 1: value = *reinterpret_cast<volatile uint8_t*>(address); return true;
    case 2: value = *reinterpret_cast<volatile uint16_t*>(address); return true;
    case 4: value = *reinterpret_cast<volatile uint32_t*>(address); return true;
    case 8: value = *reinterpret_cast<volatile uint64_t*>(address); return true;
    default: return false;
    }
}

bool ForwardedDevice::write(uint32_t, uint64_t offset, unsigned size, uint64_t value)
{
    const uintptr_t address = registers_ + offset;
    if (address % size != 0) {
        return false;
    }
    switch (size) {
    case 1: *reinterpret_cast<volatile uint8_t*>(address) = static_cast<uint8_t>(value); return true;
    case 2: *reinterpret_cast<volatile uint16_t*>(address) = static_cast<uint16_t>(value); return true;
    case 4: *reinterpret_cast<volatile uint32_t*>(address) = static_cast<uint32_t>(value); return true;
    case 8: *reinterpret_cast<volatile uint64_t*>(address) = value; return true;
    default: return false;
    }
}
