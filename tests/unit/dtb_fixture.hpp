// Loads a DTB that the test build compiled from tests/dts/*.dts, or one of
// the real board DTBs scripts/setup fetched into build/deps.
#pragma once

#include <glob.h>
#include <libfdt.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

inline std::vector<char> load_dtb(const std::string& name)
{
    const std::string path = std::string(TEST_DTB_DIR) + "/" + name + ".dtb";
    std::ifstream file(path, std::ios::binary);
    EXPECT_TRUE(file.good()) << "cannot open " << path;
    return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

/// A DTB under build/deps, by a glob (the kernel version directory changes
/// with Debian point releases); the newest match if several. Empty, with a
/// test failure, if scripts/setup has not fetched it.
inline std::vector<char> load_deps_dtb(const std::string& relative)
{
    const std::string pattern = std::string(TEST_DEPS_DIR) + "/" + relative;
    glob_t matches{};
    std::string path;
    if (glob(pattern.c_str(), 0, nullptr, &matches) == 0 && matches.gl_pathc > 0) {
        path = matches.gl_pathv[matches.gl_pathc - 1]; // sorted
    }
    globfree(&matches);
    if (path.empty()) {
        ADD_FAILURE() << "no " << pattern << ": run scripts/setup";
        return {};
    }
    std::ifstream file(path, std::ios::binary);
    std::vector<char> dtb{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
    EXPECT_EQ(fdt_check_header(dtb.data()), 0) << path;
    return dtb;
}
