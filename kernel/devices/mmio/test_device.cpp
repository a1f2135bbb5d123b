#include "kernel/devices/mmio/test_device.hpp"

bool TestDevice::read(uint32_t, uint64_t offset, unsigned size, uint64_t& value)
{
    if (offset + size > kRegisters) {
        return false;
    }
    value = 0;
    for (unsigned i = 0; i < size; i++) {
        value |= uint64_t{bytes_[offset + i]} << (8 * i);
    }
    return true;
}

bool TestDevice::write(uint32_t, uint64_t offset, unsigned size, uint64_t value)
{
    if (offset + size > kRegisters) {
        return false;
    }
    for (unsigned i = 0; i < size; i++) {
        bytes_[offset + i] = static_cast<uint8_t>(value >> (8 * i));
    }
    return true;
}
