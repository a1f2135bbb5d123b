#include "platform/psci.hpp"

namespace psci {

const char* error_name(int64_t code)
{
    switch (code) {
    case kSuccess: return "SUCCESS";
    case kNotSupported: return "NOT_SUPPORTED";
    case kInvalidParameters: return "INVALID_PARAMETERS";
    case kDenied: return "DENIED";
    case kAlreadyOn: return "ALREADY_ON";
    case kOnPending: return "ON_PENDING";
    case kInternalFailure: return "INTERNAL_FAILURE";
    case kNotPresent: return "NOT_PRESENT";
    case kDisabled: return "DISABLED";
    case kInvalidAddress: return "INVALID_ADDRESS";
    default: return "unknown";
    }
}

#if defined(__aarch64__)
// SMCCC: arguments in x0-x3, result in x0; x4-x17 may be clobbered.
#define VIREO_SMCCC_CALL(insn)                                                                                         \
    asm volatile(insn                                                                                                  \
                 : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)                                                              \
                 :                                                                                                     \
                 : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17",         \
                   "memory")

int64_t call(Conduit conduit, uint64_t function, uint64_t arg0, uint64_t arg1, uint64_t arg2)
{
    register uint64_t x0 asm("x0") = function;
    register uint64_t x1 asm("x1") = arg0;
    register uint64_t x2 asm("x2") = arg1;
    register uint64_t x3 asm("x3") = arg2;
    switch (conduit) {
    case Conduit::Smc: VIREO_SMCCC_CALL("smc #0"); break;
    case Conduit::Hvc: VIREO_SMCCC_CALL("hvc #0"); break;
    case Conduit::None: return kNotSupported;
    }
    return static_cast<int64_t>(x0);
}
#undef VIREO_SMCCC_CALL
#endif

} // namespace psci
