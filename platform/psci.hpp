// Calls into the firmware's PSCI (Arm DEN 0022) over the conduit the device
// tree names.
#pragma once

#include <stdint.h>

enum class Conduit : uint8_t { None, Smc, Hvc };

namespace psci {

// Function IDs (DEN 0022 5.1), SMC32 and SMC64 forms.
constexpr uint32_t kVersion = 0x84000000;
constexpr uint32_t kCpuSuspend32 = 0x84000001;
constexpr uint32_t kCpuSuspend64 = 0xc4000001;
constexpr uint32_t kCpuOff = 0x84000002;
constexpr uint32_t kCpuOn32 = 0x84000003;
constexpr uint32_t kCpuOn64 = 0xc4000003;
constexpr uint32_t kAffinityInfo32 = 0x84000004;
constexpr uint32_t kAffinityInfo64 = 0xc4000004;
constexpr uint32_t kMigrateInfoType = 0x84000006;
constexpr uint32_t kSystemOff = 0x84000008;
constexpr uint32_t kSystemReset = 0x84000009;
constexpr uint32_t kFeatures = 0x8400000a;

// Return codes.
constexpr int64_t kSuccess = 0;
constexpr int64_t kNotSupported = -1;
constexpr int64_t kInvalidParameters = -2;
constexpr int64_t kDenied = -3;
constexpr int64_t kAlreadyOn = -4;
constexpr int64_t kOnPending = -5;
constexpr int64_t kInternalFailure = -6;
constexpr int64_t kNotPresent = -7;
constexpr int64_t kDisabled = -8;
constexpr int64_t kInvalidAddress = -9;

/// The PSCI error's name ("ALREADY_ON", ...), or "unknown".
const char* error_name(int64_t code);

/// One SMCCC call over `conduit`; returns x0.
int64_t call(Conduit conduit, uint64_t function, uint64_t arg0 = 0, uint64_t arg1 = 0, uint64_t arg2 = 0);

} // namespace psci
