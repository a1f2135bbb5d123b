// The Raspberry Pi 4 SD-card folder `make sdcard` writes (scripts/mksdcard,
// docs/boards.md): what the firmware reads from config.txt, that
// kernel8.img is the image, and that the boot package opens and holds what
// its VM configurations name.
#include <gtest/gtest.h>
#include <libfdt.h>

#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "kernel/loader/package.hpp"
#include "platform/early_fdt.hpp"

namespace {

const std::string kDir = TEST_SDCARD_DIR;

std::vector<char> read_file(const std::string& path)
{
    std::ifstream file(path, std::ios::binary);
    EXPECT_TRUE(file.good()) << "cannot open " << path << " (make sdcard writes it)";
    return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

std::set<std::string> config_lines()
{
    std::set<std::string> lines;
    const std::vector<char> bytes = read_file(kDir + "/config.txt");
    std::istringstream in(std::string(bytes.begin(), bytes.end()));
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line[0] != '#') {
            lines.insert(line);
        }
    }
    return lines;
}

TEST(SdCard, ConfigTxtBootsKernel8WithThePackageAndTheConsole)
{
    const std::set<std::string> lines = config_lines();
    for (const char* want : {"arm_64bit=1", "kernel=kernel8.img", "initramfs vireo.pkg followkernel",
                             "device_tree=bcm2711-rpi-4-b.dtb", "enable_uart=1", "enable_gic=1"}) {
        EXPECT_EQ(lines.count(want), 1u) << want;
    }
    const bool tfa = std::ifstream(kDir + "/bl31.bin").good();
    EXPECT_EQ(lines.count("armstub=bl31.bin"), tfa ? 1u : 0u) << "armstub only with bl31.bin (make sdcard TFA=1)";
}

TEST(SdCard, Kernel8IsTheVireoImage)
{
    const std::vector<char> kernel = read_file(kDir + "/kernel8.img");
    EXPECT_EQ(kernel, read_file(VIREO_IMAGE_PATH));
    ASSERT_GE(kernel.size(), 64u);
    EXPECT_EQ(std::string(kernel.data() + 56, 4), "ARM\x64"); // the arm64 Image magic the firmware looks for
}

TEST(SdCard, PackageOpensAndHoldsEveryEntryItsVmsName)
{
    const std::vector<char> bytes = read_file(kDir + "/vireo.pkg");
    Package package;
    LoadError error;
    ASSERT_TRUE(package.open(bytes.data(), bytes.size(), error)) << error.message;
    const PackageBlob config = package.find("config");
    ASSERT_TRUE(config.found());
    std::vector<char> dtb(config.data, config.data + config.size);
    ASSERT_EQ(fdt_check_header(dtb.data()), 0);
    int vms = 0;
    int node = 0;
    fdt_for_each_subnode(node, dtb.data(), 0)
    {
        vms++;
        for (const char* property : {"kernel", "initrd"}) {
            const char* entry = static_cast<const char*>(fdt_getprop(dtb.data(), node, property, nullptr));
            if (entry != nullptr) {
                EXPECT_TRUE(package.find(entry).found())
                    << fdt_get_name(dtb.data(), node, nullptr) << ": " << property << " = " << entry;
            }
        }
    }
    EXPECT_GE(vms, 1);
}

TEST(SdCard, DtbNamesTheMiniUartAsTheConsole)
{
    const std::vector<char> dtb = read_file(kDir + "/bcm2711-rpi-4-b.dtb");
    ASSERT_EQ(fdt_check_header(dtb.data()), 0);
    const early_fdt::Console console = early_fdt::find_console(dtb.data());
    EXPECT_EQ(console.uart.kind, UartKind::Ns16550);
    EXPECT_EQ(console.uart.base, 0xfe215040u); // GPIO 14/15 with enable_uart=1, as README.txt says
}

} // namespace
