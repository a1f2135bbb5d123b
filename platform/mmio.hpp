// Device register access. Volatile accesses of the exact width the device
// needs; nothing here may be merged, split or reordered by the compiler.
#pragma once

#include <stdint.h>

namespace mmio {

template <typename T> inline T read(uintptr_t addr) { return *reinterpret_cast<volatile const T*>(addr); }

template <typename T> inline void write(uintptr_t addr, T value) { *reinterpret_cast<volatile T*>(addr) = value; }

} // namespace mmio
