// The test firmware's C++: DTB fix-up (a PSCI node, so Vireo knows SMC
// reaches firmware) and the SMC handler. See start.S.
#include <libfdt.h>
#include <stdint.h>
#include <string.h>

#include "guests/tests/firmware/el3fw.hpp"

extern "C" {
uintptr_t __stack_chk_guard = 0x2b9a4c1d5e6f7081ull;
void __stack_chk_fail()
{
    for (;;) {
    }
}
void semihosting_exit();
}

namespace {

constexpr uint64_t kDtb = 0x40000000; // QEMU virt puts the DTB at the base of RAM for firmware
constexpr uint64_t kUart = 0x09000000;
// The boot package the test loads beside Vireo (-device loader): handed to
// Vireo as its initrd, as a boot loader would. Its size is in its header.
constexpr uint64_t kPackage = 0x48000000;
constexpr uint64_t kPackageSizeOffset = 0x10;

void puts(const char* s)
{
    for (; *s != '\0'; s++) {
        *reinterpret_cast<volatile uint32_t*>(kUart) = static_cast<uint8_t>(*s);
    }
}

} // namespace

extern "C" uint64_t firmware_main()
{
    void* fdt = reinterpret_cast<void*>(kDtb);
    if (fdt_check_header(fdt) != 0) {
        puts("el3fw: no DTB at the base of RAM\n");
        return 0;
    }
    const int size = static_cast<int>(fdt_totalsize(fdt)) + 1024;
    if (fdt_open_into(fdt, fdt, size) == 0) {
        const int node = fdt_add_subnode(fdt, 0, "psci");
        if (node >= 0) {
            fdt_setprop_string(fdt, node, "compatible", "arm,psci-1.0");
            fdt_setprop_string(fdt, node, "method", "smc");
        }
        int chosen = fdt_path_offset(fdt, "/chosen");
        if (chosen < 0) {
            chosen = fdt_add_subnode(fdt, 0, "chosen");
        }
        if (chosen >= 0 && memcmp(reinterpret_cast<const void*>(kPackage), "VIREOPKG", 8) == 0) {
            const uint64_t size = *reinterpret_cast<const uint64_t*>(kPackage + kPackageSizeOffset);
            fdt_setprop_u64(fdt, chosen, "linux,initrd-start", kPackage);
            fdt_setprop_u64(fdt, chosen, "linux,initrd-end", kPackage + size);
        } else {
            puts("el3fw: no boot package at 0x48000000\n");
        }
        fdt_pack(fdt);
    }
    puts("el3fw: entering Vireo at EL2\n");
    return kDtb;
}

extern "C" void firmware_smc(uint64_t* x)
{
    const auto fid = static_cast<uint32_t>(x[0]);
    switch (fid) {
    case 0x80000000: x[0] = 0x10001; break; // SMCCC_VERSION 1.1
    case 0x84000000: x[0] = 0x10001; break; // PSCI_VERSION 1.1
    case 0x84000008:                        // SYSTEM_OFF
    case 0x84000009:                        // SYSTEM_RESET
        puts("el3fw: SYSTEM_OFF\n");
        semihosting_exit();
        break;
    case el3fw::kSipTest: {
        uint64_t r[4];
        el3fw::sip_test_result(x, r);
        for (int i = 0; i < 4; i++) {
            x[i] = r[i];
        }
        break;
    }
    case el3fw::kSipTrap: x[0] = el3fw::kSipTrapAnswer; break;
    default: x[0] = ~0ull; break; // NOT_SUPPORTED
    }
}
