// A guest's RAM for host tests and fuzz targets of device models that
// reach it through GuestRam (kernel/devices/guest_ram.hpp): a host
// buffer of `Size` bytes at guest-physical `Base`.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "kernel/devices/guest_ram.hpp"

template <uint64_t Base, uint64_t Size> class FakeRam final : public GuestRam {
public:
    std::vector<uint8_t> bytes = std::vector<uint8_t>(Size);

    uint8_t* at(uint64_t ipa, uint64_t size) override
    {
        if (size == 0 || ipa < Base || ipa - Base > Size || size > Size - (ipa - Base)) {
            return nullptr;
        }
        return bytes.data() + (ipa - Base);
    }
    template <typename T> void put(uint64_t ipa, T value) { std::memcpy(at(ipa, sizeof value), &value, sizeof value); }
    template <typename T> T get(uint64_t ipa)
    {
        T value;
        std::memcpy(&value, at(ipa, sizeof value), sizeof value);
        return value;
    }
};
