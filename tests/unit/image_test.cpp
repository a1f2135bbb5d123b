// The product image: small, and nothing of the test guests in it.
#include <fstream>
#include <gtest/gtest.h>
#include <iterator>
#include <string>

#include "boot/layout.h"

namespace {

std::string read_image()
{
    std::ifstream file(VIREO_IMAGE_PATH, std::ios::binary);
    EXPECT_TRUE(file.good()) << VIREO_IMAGE_PATH << " is missing: make builds it";
    return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

TEST(ProductImage, FitsItsSizeLimit)
{
    const std::string image = read_image();
    ASSERT_FALSE(image.empty());
    EXPECT_LE(image.size(), size_t{VIREO_IMAGE_LIMIT})
        << VIREO_IMAGE_PATH << " is " << image.size() << " bytes; the limit (boot/layout.h) is " << VIREO_IMAGE_LIMIT;
}

TEST(ProductImage, HoldsNoTestGuest)
{
    const std::string image = read_image();
    ASSERT_FALSE(image.empty());
    // What every test guest prints (guests/tests/lib/guest.cpp), and their
    // configurations' names: none of it belongs in the product.
    for (const char* marker : {"TEST %s: PASS", "guest: %d test%s failed", "vireo.vms", "memcheck"}) {
        EXPECT_EQ(image.find(marker), std::string::npos) << "\"" << marker << "\" is in " << VIREO_IMAGE_PATH;
    }
    EXPECT_NE(image.find("Vireo hypervisor"), std::string::npos) << "the check reads the real image";
}

} // namespace
