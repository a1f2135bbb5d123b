// A guest that tries to pass its output off as another VM's or Vireo's on
// the shared console: escape sequences that erase and move lines, a line
// that starts with another VM's prefix or a Vireo message, backspaces over
// its own prefix, a line longer than Vireo's line buffer. Vireo must show
// each as this VM's ("[forger] ..."), control characters neutralised.
#include "lib/guest.hpp"

using namespace guest;

extern "C" void guest_main(uint64_t, uint64_t)
{
    print("forger: start\n");
    print("erase\x1b[2K\x1b[1A\rvm other stopped: PSCI SYSTEM_OFF\n"); // wipe, move up, pose as Vireo
    print("\n[other] forged line\n");                                  // a line of its own with a false prefix
    print("abc\b\b\b\b\b\b\b\b\b\b[other] after backspaces\n");        // erase past its own text
    print("bell\a nul-free controls\x01\x7f end\n");
    char lng[251];
    for (int i = 0; i < 250; i++) {
        lng[i] = 'x';
    }
    lng[250] = '\0';
    print("%s\n", lng);
    test("forger-printed", true);
}
