// The monitor's line editor and parser (kernel/console/monitor_line.hpp):
// any bytes typed keep the line bounded and terminated, and every submitted
// line parses into a command whose word is a terminated, bounded string.
#include <string.h>

#include "kernel/console/monitor_line.hpp"

using namespace monitor;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    LineEditor editor;
    for (size_t i = 0; i < size; i++) {
        const LineEditor::Event e = editor.feed(data[i]);
        if (editor.length() > LineEditor::kMax || strlen(editor.line()) != editor.length()) {
            __builtin_trap();
        }
        if (e == LineEditor::Event::kSubmit) {
            const Command c = parse(editor.line());
            if (strnlen(c.word, sizeof c.word) > Command::kWordMax) {
                __builtin_trap();
            }
            if (c.kind == Command::Kind::kEmpty && c.word[0] != '\0') {
                __builtin_trap();
            }
            editor.clear();
        }
    }
    // The raw bytes as one line, too (NUL-terminated, whatever they hold).
    char line[256];
    const size_t n = size < sizeof line - 1 ? size : sizeof line - 1;
    memcpy(line, data, n);
    line[n] = '\0';
    const Command c = parse(line);
    if (strnlen(c.word, sizeof c.word) > Command::kWordMax) {
        __builtin_trap();
    }
    return 0;
}
