// Loads a DTB that the test build compiled from tests/dts/*.dts.
#pragma once

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
