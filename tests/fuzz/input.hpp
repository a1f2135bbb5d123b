// The bytes libFuzzer hands a target, read as the values a harness needs.
// Past the end everything reads as zero, so every input is a valid one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

class FuzzInput {
public:
    FuzzInput(const uint8_t* data, size_t size) : data_(data), size_(size) {}

    uint8_t u8() { return used_ < size_ ? data_[used_++] : 0; }
    uint16_t u16() { return static_cast<uint16_t>(u8() | u8() << 8); }
    uint32_t u32() { return u16() | static_cast<uint32_t>(u16()) << 16; }
    uint64_t u64() { return u32() | static_cast<uint64_t>(u32()) << 32; }
    bool flag() { return (u8() & 1) != 0; }
    /// A value in [0, n).
    uint32_t below(uint32_t n) { return n == 0 ? 0 : u32() % n; }
    bool done() const { return used_ >= size_; }
    const uint8_t* rest() const { return data_ + used_; }
    size_t rest_size() const { return size_ - used_; }

private:
    const uint8_t* data_;
    size_t size_;
    size_t used_ = 0;
};

/// An invariant of the code under test: a broken one is a finding.
#define FUZZ_CHECK(condition)                                                                                          \
    do {                                                                                                               \
        if (!(condition)) {                                                                                            \
            std::fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #condition);                     \
            std::abort();                                                                                              \
        }                                                                                                              \
    } while (0)
