// Vireo packages: named blobs in one file, and how a corrupt one is refused
// without reading outside it.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <gtest/gtest.h>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "kernel/loader/package.hpp"

namespace {

void put_le(std::vector<uint8_t>& bytes, size_t at, uint64_t value, size_t width)
{
    for (size_t i = 0; i < width; i++) {
        bytes[at + i] = static_cast<uint8_t>(value >> (8 * i));
    }
}

size_t align_up(size_t value) { return (value + Package::kAlign - 1) / Package::kAlign * Package::kAlign; }

constexpr size_t entry_at(size_t index) { return Package::kHeaderSize + index * Package::kEntrySize; }
constexpr size_t kOffsetField = Package::kNameSize;
constexpr size_t kSizeField = Package::kNameSize + 8;

/// A well-formed package laid out as scripts/mkpackage lays it out.
std::vector<uint8_t> make_package(const std::vector<std::pair<std::string, std::string>>& blobs)
{
    size_t offset = align_up(entry_at(blobs.size()));
    std::vector<size_t> offsets;
    for (const auto& blob : blobs) {
        offsets.push_back(offset);
        offset = align_up(offset + blob.second.size());
    }
    std::vector<uint8_t> bytes(offset, 0);
    memcpy(bytes.data(), "VIREOPKG", 8);
    put_le(bytes, 8, 1, 4);
    put_le(bytes, 12, blobs.size(), 4);
    put_le(bytes, 16, bytes.size(), 8);
    for (size_t i = 0; i < blobs.size(); i++) {
        memcpy(&bytes[entry_at(i)], blobs[i].first.data(), blobs[i].first.size());
        put_le(bytes, entry_at(i) + kOffsetField, offsets[i], 8);
        put_le(bytes, entry_at(i) + kSizeField, blobs[i].second.size(), 8);
        memcpy(&bytes[offsets[i]], blobs[i].second.data(), blobs[i].second.size());
    }
    return bytes;
}

std::string contents(PackageBlob blob)
{
    return blob.found() ? std::string(reinterpret_cast<const char*>(blob.data), blob.size) : "(none)";
}

/// Opens `bytes`; returns the error message ("" when it opened) and checks
/// that a refused package finds nothing.
std::string open_error(const std::vector<uint8_t>& bytes, size_t size = SIZE_MAX)
{
    Package package;
    LoadError error;
    if (package.open(bytes.data(), size == SIZE_MAX ? bytes.size() : size, error)) {
        return "";
    }
    EXPECT_EQ(package.count(), 0u);
    EXPECT_FALSE(package.find("linux").found());
    return error.message;
}

const std::vector<std::pair<std::string, std::string>> kTwo = {{"linux", "KERNEL"},
                                                               {"initramfs", std::string(5000, 'i')}};

TEST(Package, FindsEachBlobByName)
{
    const std::vector<uint8_t> bytes = make_package(kTwo);
    Package package;
    LoadError error;
    ASSERT_TRUE(package.open(bytes.data(), bytes.size(), error)) << error.message;
    EXPECT_EQ(contents(package.find("linux")), "KERNEL");
    EXPECT_EQ(contents(package.find("initramfs")), std::string(5000, 'i'));
    EXPECT_EQ(package.find("linux").data - bytes.data(), 4096) << "blobs start on 4 KiB boundaries";
    EXPECT_EQ(package.find("initramfs").data - bytes.data(), 8192);
    EXPECT_FALSE(package.find("linu").found());
    EXPECT_FALSE(package.find("config").found());
    EXPECT_FALSE(package.find(nullptr).found());
    ASSERT_EQ(package.count(), 2u);
    EXPECT_STREQ(package.name(1), "initramfs");
    EXPECT_STREQ(package.name(2), "") << "out of range";
    EXPECT_FALSE(package.blob(2).found());
}

TEST(Package, EmptyBlobsAndAnEmptyPackageAreFine)
{
    const std::vector<uint8_t> bytes = make_package({{"empty", ""}, {"config", "x"}});
    Package package;
    LoadError error;
    ASSERT_TRUE(package.open(bytes.data(), bytes.size(), error)) << error.message;
    EXPECT_TRUE(package.find("empty").found());
    EXPECT_EQ(package.find("empty").size, 0u);
    EXPECT_EQ(contents(package.find("config")), "x");
    EXPECT_EQ(open_error(make_package({})), "");
}

TEST(Package, ALoaderMayPassMoreBytesThanThePackage)
{
    std::vector<uint8_t> bytes = make_package(kTwo);
    bytes.resize(bytes.size() + 100, 0xff);
    EXPECT_EQ(open_error(bytes), "");
}

TEST(Package, NamesOf47CharactersAreTheLongest)
{
    const std::string longest(47, 'n');
    const std::vector<uint8_t> bytes = make_package({{longest, "blob"}});
    Package package;
    LoadError error;
    ASSERT_TRUE(package.open(bytes.data(), bytes.size(), error)) << error.message;
    EXPECT_EQ(contents(package.find(longest.c_str())), "blob");
    EXPECT_FALSE(package.find((longest + "n").c_str()).found()) << "a longer name is another name";
}

TEST(Package, RejectsSomethingElse)
{
    EXPECT_EQ(open_error(std::vector<uint8_t>(63, 0)),
              "not a Vireo package: 63 bytes, shorter than the 64-byte header");
    std::vector<uint8_t> bytes = make_package(kTwo);
    bytes[7] = 'X';
    EXPECT_EQ(open_error(bytes), "not a Vireo package (no VIREOPKG magic at offset 0)");
    Package package;
    LoadError error;
    EXPECT_FALSE(package.open(nullptr, 4096, error));
    EXPECT_STREQ(error.message, "not a Vireo package: 0 bytes, shorter than the 64-byte header");
}

TEST(Package, RejectsAnotherVersion)
{
    std::vector<uint8_t> bytes = make_package(kTwo);
    put_le(bytes, 8, 2, 4);
    EXPECT_EQ(open_error(bytes), "Vireo package version 2; this Vireo reads version 1");
}

TEST(Package, RejectsATruncatedPackage)
{
    const std::vector<uint8_t> bytes = make_package(kTwo);
    EXPECT_EQ(open_error(bytes, bytes.size() - 1),
              "Vireo package truncated: its header says 16384 bytes, only 16383 are there");
}

TEST(Package, RejectsAnEntryTableLongerThanThePackage)
{
    std::vector<uint8_t> bytes = make_package(kTwo);
    put_le(bytes, 12, 256, 4);
    EXPECT_EQ(open_error(bytes),
              "Vireo package's entry table (256 entries, up to 0x4040) runs past its end (16384 bytes)");
    put_le(bytes, 12, 0xffffffff, 4);
    EXPECT_EQ(open_error(bytes), "Vireo package has 4294967295 entries; at most 256 are allowed");
    put_le(bytes, 12, 2, 4);
    put_le(bytes, 16, 100, 8); // the header claims less than its own table
    EXPECT_EQ(open_error(bytes), "Vireo package's entry table (2 entries, up to 0xc0) runs past its end (100 bytes)");
}

TEST(Package, RejectsANameWithoutNul)
{
    std::vector<uint8_t> bytes = make_package(kTwo);
    memset(&bytes[entry_at(1)], 'a', Package::kNameSize);
    EXPECT_EQ(open_error(bytes), "Vireo package entry 1: name not NUL-terminated within 48 bytes");
}

TEST(Package, RejectsEmptyAndUnprintableNames)
{
    std::vector<uint8_t> bytes = make_package(kTwo);
    bytes[entry_at(0)] = 0;
    EXPECT_EQ(open_error(bytes), "Vireo package entry 0: empty name");
    bytes = make_package(kTwo);
    bytes[entry_at(1) + 4] = '\n';
    EXPECT_EQ(open_error(bytes), "Vireo package entry 1: name byte 4 is 0x0a, not printable ASCII");
}

TEST(Package, RejectsMisplacedBlobs)
{
    std::vector<uint8_t> bytes = make_package(kTwo);
    put_le(bytes, entry_at(1) + kOffsetField, 0x2001, 8);
    EXPECT_EQ(open_error(bytes), "Vireo package entry 'initramfs': offset 0x2001 is not 4 KiB-aligned");
    bytes = make_package(kTwo);
    put_le(bytes, entry_at(0) + kOffsetField, 0, 8);
    EXPECT_EQ(open_error(bytes),
              "Vireo package entry 'linux': offset 0x0 lies in the header or entry table (up to 0xc0)");
}

TEST(Package, RejectsBlobsOutsideThePackage)
{
    std::vector<uint8_t> bytes = make_package(kTwo);
    put_le(bytes, entry_at(1) + kSizeField, 8193, 8);
    EXPECT_EQ(open_error(bytes), "Vireo package entry 'initramfs': 0x2001 bytes at 0x2000 run past the package's end "
                                 "(0x4000)");
    put_le(bytes, entry_at(1) + kSizeField, UINT64_MAX, 8); // offset + size wraps around
    EXPECT_NE(open_error(bytes).find("run past the package's end"), std::string::npos);
    bytes = make_package(kTwo);
    put_le(bytes, entry_at(1) + kOffsetField, 0x5000, 8);
    EXPECT_NE(open_error(bytes).find("run past the package's end"), std::string::npos);
}

TEST(Package, RejectsOverlappingBlobs)
{
    std::vector<uint8_t> bytes = make_package(kTwo);
    put_le(bytes, entry_at(0) + kSizeField, 4097, 8); // into initramfs's first byte
    EXPECT_EQ(open_error(bytes), "Vireo package entries 'linux' and 'initramfs' overlap");
    bytes = make_package(kTwo);
    put_le(bytes, entry_at(1) + kOffsetField, 0x1000, 8); // both at 0x1000
    EXPECT_EQ(open_error(bytes), "Vireo package entries 'linux' and 'initramfs' overlap");
}

TEST(Package, RejectsDuplicateNames)
{
    const std::vector<uint8_t> bytes = make_package({{"linux", "a"}, {"initramfs", "b"}, {"linux", "c"}});
    EXPECT_EQ(open_error(bytes), "Vireo package entries 0 and 2 are both named 'linux'");
}

// --- scripts/mkpackage ---------------------------------------------------------

/// scripts/mkpackage, found from the unit tests' working directory (the
/// repository, under make) or from where the build put the test DTBs.
std::string mkpackage()
{
    for (const std::string& candidate :
         {std::string("scripts/mkpackage"), std::string(TEST_DTB_DIR) + "/../../../scripts/mkpackage"}) {
        if (std::ifstream(candidate).good()) {
            return candidate;
        }
    }
    return "";
}

void write_file(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

std::vector<uint8_t> read_file(const std::string& path)
{
    std::ifstream file(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

TEST(Mkpackage, WritesWhatThePackageReaderFinds)
{
    const std::string script = mkpackage();
    ASSERT_FALSE(script.empty()) << "scripts/mkpackage not found";
    const std::string dir = testing::TempDir();
    const std::string kernel(10000, 'k');
    write_file(dir + "vireo-kernel", kernel);
    write_file(dir + "vireo-config", "config");
    write_file(dir + "vireo-empty", "");
    const std::string out = dir + "vireo-test.pkg";
    const std::string command = script + " " + out + " linux=" + dir + "vireo-kernel config=" + dir +
                                "vireo-config empty=" + dir + "vireo-empty";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;

    const std::vector<uint8_t> bytes = read_file(out);
    EXPECT_EQ(bytes.size() % 4096, 0u);
    Package package;
    LoadError error;
    ASSERT_TRUE(package.open(bytes.data(), bytes.size(), error)) << error.message;
    ASSERT_EQ(package.count(), 3u);
    EXPECT_STREQ(package.name(0), "linux") << "entries in the order given";
    EXPECT_EQ(contents(package.find("linux")), kernel);
    EXPECT_EQ(contents(package.find("config")), "config");
    EXPECT_EQ(package.find("empty").size, 0u);
    EXPECT_EQ(bytes, make_package({{"linux", kernel}, {"config", "config"}, {"empty", ""}}))
        << "the script and the reader agree on every byte";
}

TEST(Mkpackage, RefusesBadNames)
{
    const std::string script = mkpackage();
    ASSERT_FALSE(script.empty()) << "scripts/mkpackage not found";
    const std::string dir = testing::TempDir();
    write_file(dir + "vireo-blob", "b");
    const std::string out = dir + "vireo-bad.pkg";
    const std::string blob = dir + "vireo-blob";
    for (const std::string& args :
         {"'two words=" + blob + "'", "=" + blob, std::string(48, 'n') + "=" + blob, "a=" + blob + " a=" + blob,
          "a=" + dir + "no-such-file", std::string("no-equals-sign")}) {
        const std::string command = script + " " + out + " " + args + " 2>/dev/null";
        EXPECT_NE(std::system(command.c_str()), 0) << args;
    }
}

} // namespace
