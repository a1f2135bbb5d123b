// The bare-metal test guests built into the image (guests/tests/), chosen
// with `vireo.vms=NAME[,NAME...]` in the bootargs until VM configuration
// files exist.
#pragma once

#include <stddef.h>

struct VmSpec;

namespace builtin_guests {

/// The spec called `name`, or nullptr.
const VmSpec* find(const char* name);

/// Names of all built-in guests, for messages.
void list(char* out, size_t size);

} // namespace builtin_guests
