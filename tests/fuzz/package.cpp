// The boot package reader (kernel/loader/package.cpp): whatever the bytes,
// an opened package describes blobs inside them only.
#include <cstring>

#include "kernel/loader/package.hpp"
#include "tests/fuzz/input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    Package package;
    LoadError error;
    if (!package.open(data, size, error)) {
        FUZZ_CHECK(error.message[0] != '\0'); // a refusal says why
        return 0;
    }
    FUZZ_CHECK(package.count() <= Package::kMaxEntries);
    for (size_t i = 0; i < package.count(); i++) {
        const char* name = package.name(i);
        FUZZ_CHECK(name != nullptr);
        const size_t length = strnlen(name, Package::kNameSize);
        FUZZ_CHECK(length >= 1 && length <= Package::kMaxName);
        const PackageBlob blob = package.blob(i);
        FUZZ_CHECK(blob.found());
        FUZZ_CHECK(blob.data >= data && blob.size <= size &&
                   blob.data - data <= static_cast<ptrdiff_t>(size - blob.size));
        FUZZ_CHECK((blob.data - data) % Package::kAlign == 0);
        const PackageBlob found = package.find(name);
        FUZZ_CHECK(found.data == blob.data && found.size == blob.size); // names are unique
        for (size_t j = 0; j < i; j++) {
            const PackageBlob other = package.blob(j);
            const bool apart = blob.data + blob.size <= other.data || other.data + other.size <= blob.data;
            FUZZ_CHECK(apart || blob.size == 0 || other.size == 0);
        }
    }
    FUZZ_CHECK(!package.find("").found());
    return 0;
}
