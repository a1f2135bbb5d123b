#include "kernel/loader/network_config.hpp"

namespace network_config {
namespace {

uint64_t fnv1a(uint64_t hash, const char* text)
{
    for (; *text != '\0'; text++) {
        hash = (hash ^ static_cast<uint8_t>(*text)) * 0x100000001b3ull;
    }
    return hash;
}

} // namespace

void mac_for(const char* vm, const char* network, uint8_t (&mac)[6])
{
    const uint64_t hash = fnv1a(fnv1a(fnv1a(0xcbf29ce484222325ull, vm), "/"), network);
    mac[0] = 0x02; // locally administered, unicast
    for (int i = 1; i < 6; i++) {
        mac[i] = static_cast<uint8_t>(hash >> (8 * (i - 1)));
    }
}

} // namespace network_config
