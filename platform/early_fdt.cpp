// Console discovery from the flattened device tree with aligned loads only
// (why: early_fdt.hpp). Structure block format: DT spec chapter 5.
#include "platform/early_fdt.hpp"

namespace early_fdt {
namespace {

constexpr uint32_t kFdtBeginNode = 1;
constexpr uint32_t kFdtEndNode = 2;
constexpr uint32_t kFdtProp = 3;
constexpr uint32_t kFdtNop = 4;
constexpr uint32_t kFdtEnd = 9;
constexpr int kMaxDepth = 16;

struct UartCompatible {
    const char* compatible;
    UartKind kind;
    uint8_t reg_shift; // default when the node has no reg-shift
    uint8_t io_width;  // default when the node has no reg-io-width
};

constexpr UartCompatible kUarts[] = {
    {"arm,pl011", UartKind::Pl011, 2, 4},
    {"snps,dw-apb-uart", UartKind::Ns16550, 0, 1},
    {"brcm,bcm2835-aux-uart", UartKind::Ns16550, 2, 4},
    {"ns16550a", UartKind::Ns16550, 0, 1},
    {"ns16550", UartKind::Ns16550, 0, 1},
};

/// Bytes in memory that is read one volatile byte at a time: a string in
/// the DTB or one of ours. Not NUL-terminated: `len` bytes.
struct Text {
    const volatile uint8_t* p = nullptr;
    uint32_t len = 0;

    uint8_t operator[](uint32_t i) const { return i < len ? p[i] : 0; }
    bool equals(const Text& other) const
    {
        if (len != other.len) {
            return false;
        }
        for (uint32_t i = 0; i < len; i++) {
            if (p[i] != other.p[i]) {
                return false;
            }
        }
        return true;
    }
    /// Up to the first `stop` byte (or all of it), and what follows it.
    Text until(uint8_t stop, Text* rest = nullptr) const
    {
        uint32_t i = 0;
        while (i < len && p[i] != stop) {
            i++;
        }
        const Text head{p, i};
        if (rest != nullptr) { // may be this very Text
            *rest = i < len ? Text{p + i + 1, len - i - 1} : Text{p + len, 0};
        }
        return head;
    }
};

Text cstr(const char* s)
{
    const auto* p = reinterpret_cast<const volatile uint8_t*>(s);
    uint32_t len = 0;
    while (p[len] != 0) {
        len++;
    }
    return {p, len};
}

uint32_t align4(uint64_t value) { return static_cast<uint32_t>((value + 3) & ~uint64_t{3}); }

struct Prop {
    Text value; // value.p is 4-byte aligned (DT spec 5.4.1)
    bool found = false;
};

class Tree {
public:
    explicit Tree(const void* fdt) : base_(static_cast<const volatile uint8_t*>(fdt))
    {
        total_ = header(1);
        struct_off_ = header(2);
        strings_off_ = header(3);
        strings_size_ = header(8);
        struct_size_ = header(5) >= 17 ? header(9) : total_ - struct_off_;
        valid_ = total_ >= 40 && struct_off_ % 4 == 0 && struct_off_ <= total_ &&
                 struct_size_ <= total_ - struct_off_ && strings_off_ <= total_ &&
                 strings_size_ <= total_ - strings_off_;
    }

    bool valid() const { return valid_; }

    /// The token at structure offset `off`, and in `next` where the next
    /// one starts; kFdtEnd for anything malformed or past the end.
    uint32_t tag(uint32_t off, uint32_t& next) const
    {
        if (off % 4 != 0 || off >= struct_size_ || struct_size_ - off < 4) {
            return kFdtEnd;
        }
        const uint32_t token = word(off);
        switch (token) {
        case kFdtBeginNode: next = align4(uint64_t{off} + 4 + name(static_cast<int>(off)).len + 1); break;
        case kFdtProp: {
            if (struct_size_ - off < 12) {
                return kFdtEnd;
            }
            // In 64 bits and checked before align4() narrows it: a length
            // near 2^32 would otherwise wrap `next` back to `off` (an
            // endless walk) or hand out a value reaching past the blob.
            const uint64_t end = uint64_t{off} + 12 + word(off + 4);
            if (end > struct_size_) {
                return kFdtEnd;
            }
            next = align4(end);
            break;
        }
        case kFdtEndNode:
        case kFdtNop: next = off + 4; break;
        default: return kFdtEnd;
        }
        return next <= struct_size_ ? token : kFdtEnd;
    }

    /// The name of the node at `node` (unit address included).
    Text name(int node) const
    {
        const uint32_t start = struct_off_ + static_cast<uint32_t>(node) + 4;
        uint32_t len = 0;
        while (start + len < struct_off_ + struct_size_ && base_[start + len] != 0) {
            len++;
        }
        return {base_ + start, len};
    }

    Prop prop(int node, Text wanted) const
    {
        uint32_t next = 0;
        if (node < 0 || tag(static_cast<uint32_t>(node), next) != kFdtBeginNode) {
            return {};
        }
        for (uint32_t off = next;; off = next) {
            const uint32_t token = tag(off, next);
            if (token == kFdtNop) {
                continue;
            }
            if (token != kFdtProp) {
                return {}; // properties come before subnodes
            }
            const uint32_t len = word(off + 4);
            if (string(word(off + 8)).equals(wanted)) {
                return {{base_ + struct_off_ + off + 12, len}, true};
            }
        }
    }
    Prop prop(int node, const char* wanted) const { return prop(node, cstr(wanted)); }

    uint32_t cell(const Prop& p, uint32_t index) const
    {
        const uint32_t at = 4 * index;
        if (at + 4 > p.value.len) {
            return 0;
        }
        return be32(*reinterpret_cast<const volatile uint32_t*>(p.value.p + at));
    }

    uint64_t cells(const Prop& p, uint32_t index, uint32_t count) const
    {
        uint64_t value = 0;
        for (uint32_t i = 0; i < count; i++) {
            value = (value << 32) | cell(p, index + i);
        }
        return value;
    }

    uint32_t u32(int node, const char* wanted, uint32_t fallback) const
    {
        const Prop p = prop(node, wanted);
        return p.found && p.value.len == 4 ? cell(p, 0) : fallback;
    }

    /// The node a path names (DT spec 2.2.3; a component without a unit
    /// address matches `name@...`), or -1. Like libfdt, the first matching
    /// child is the one searched further.
    int find_path(Text path) const
    {
        if (path[0] != '/') {
            return -1;
        }
        Text rest{path.p + 1, path.len - 1};
        int depth = -1;
        int matched = 0; // depth of the deepest node on the path so far
        uint32_t next = 0;
        for (uint32_t off = 0;; off = next) {
            switch (tag(off, next)) {
            case kFdtBeginNode: {
                depth++;
                if (depth == matched + 1 || depth == 0) {
                    while (rest.len > 0 && rest[0] == '/') {
                        rest = {rest.p + 1, rest.len - 1};
                    }
                    if (depth > 0) {
                        Text after;
                        const Text component = rest.until('/', &after);
                        if (!name_matches(static_cast<int>(off), component)) {
                            break;
                        }
                        matched = depth;
                        rest = after;
                    }
                    if (rest.len == 0) {
                        return static_cast<int>(off);
                    }
                }
                break;
            }
            case kFdtEndNode:
                if (depth <= matched) {
                    return -1; // left the last matching node
                }
                depth--;
                break;
            case kFdtProp:
            case kFdtNop: break;
            default: return -1;
            }
        }
    }

    /// The nodes from the root down to `node` (its ancestors, then itself).
    bool lineage(int node, int (&stack)[kMaxDepth], int& depth) const
    {
        depth = 0;
        uint32_t next = 0;
        for (uint32_t off = 0;; off = next) {
            switch (tag(off, next)) {
            case kFdtBeginNode:
                if (depth == kMaxDepth) {
                    return false;
                }
                stack[depth++] = static_cast<int>(off);
                if (static_cast<int>(off) == node) {
                    return true;
                }
                break;
            case kFdtEndNode:
                if (depth == 0) {
                    return false;
                }
                depth--;
                break;
            case kFdtProp:
            case kFdtNop: break;
            default: return false;
            }
        }
    }

    /// The next node after `node` in structure order (any depth), or -1.
    int next_node(int node) const
    {
        uint32_t next = 0;
        if (node >= 0 && tag(static_cast<uint32_t>(node), next) != kFdtBeginNode) {
            return -1;
        }
        for (uint32_t off = node < 0 ? 0 : next;; off = next) {
            const uint32_t token = tag(off, next);
            if (token == kFdtBeginNode) {
                return static_cast<int>(off);
            }
            if (token != kFdtProp && token != kFdtNop && token != kFdtEndNode) {
                return -1;
            }
        }
    }

    Text blob_string(const Prop& p) const { return p.value.until(0); }

    /// Calls visit(child) for each child node of `node`, in order.
    template <typename Visit> void children(int node, Visit&& visit) const
    {
        uint32_t next = 0;
        if (node < 0 || tag(static_cast<uint32_t>(node), next) != kFdtBeginNode) {
            return;
        }
        int depth = 0;
        for (uint32_t off = next;; off = next) {
            switch (tag(off, next)) {
            case kFdtBeginNode:
                if (depth++ == 0) {
                    visit(static_cast<int>(off));
                }
                break;
            case kFdtEndNode:
                if (depth-- == 0) {
                    return; // the end of `node`
                }
                break;
            case kFdtProp:
            case kFdtNop: break;
            default: return;
            }
        }
    }

    /// The /memreserve/ entry `index` (DT spec 5.3), false past the last.
    bool memreserve(uint32_t index, Range& out) const
    {
        const uint64_t off = uint64_t{header(4)} + uint64_t{index} * 16;
        if (off % 8 != 0 || off + 16 > total_) {
            return false;
        }
        const auto word_at = [&](uint64_t at) { return be32(*reinterpret_cast<const volatile uint32_t*>(base_ + at)); };
        out = {uint64_t{word_at(off)} << 32 | word_at(off + 4), uint64_t{word_at(off + 8)} << 32 | word_at(off + 12)};
        return out.base != 0 || out.size != 0;
    }

    /// Stores `value` in the cells of `p` (one or two), big-endian.
    static void store(const Prop& p, uint64_t value)
    {
        auto* cells = reinterpret_cast<volatile uint32_t*>(const_cast<uint8_t*>(p.value.p));
        if (p.value.len == 8) {
            cells[0] = be32(static_cast<uint32_t>(value >> 32));
            cells[1] = be32(static_cast<uint32_t>(value));
        } else {
            cells[0] = be32(static_cast<uint32_t>(value));
        }
    }

private:
    static uint32_t be32(uint32_t v) { return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24); }
    uint32_t header(unsigned index) const { return be32(reinterpret_cast<const volatile uint32_t*>(base_)[index]); }
    uint32_t word(uint32_t off) const
    {
        return be32(*reinterpret_cast<const volatile uint32_t*>(base_ + struct_off_ + off));
    }

    Text string(uint32_t off) const
    {
        if (off >= strings_size_) {
            return {};
        }
        return Text{base_ + strings_off_ + off, strings_size_ - off}.until(0);
    }

    bool name_matches(int node, Text component) const
    {
        const Text full = name(node);
        if (full.equals(component)) {
            return true;
        }
        return component.until('@').len == component.len && full.until('@').equals(component);
    }

    const volatile uint8_t* base_;
    uint32_t total_ = 0;
    uint32_t struct_off_ = 0;
    uint32_t struct_size_ = 0;
    uint32_t strings_off_ = 0;
    uint32_t strings_size_ = 0;
    bool valid_ = false;
};

bool reg_of(const Tree& tree, int node, int index, Range& out)
{
    int stack[kMaxDepth];
    int depth = 0;
    if (index < 0 || !tree.lineage(node, stack, depth) || depth < 2) {
        return false;
    }
    const int parent = stack[depth - 2];
    const uint32_t addr_cells = tree.u32(parent, "#address-cells", 2);
    const uint32_t size_cells = tree.u32(parent, "#size-cells", 1);
    const Prop reg = tree.prop(node, "reg");
    const uint32_t entry = addr_cells + size_cells;
    if (!reg.found || addr_cells == 0 || addr_cells > 2 || size_cells > 2 ||
        (static_cast<uint64_t>(index) + 1) * entry * 4 > reg.value.len) {
        return false;
    }
    const auto first = static_cast<uint32_t>(index) * entry;
    uint64_t addr = tree.cells(reg, first, addr_cells);
    // Up through each bus to the root, whose children's addresses are the CPU's.
    for (int level = depth - 2; level >= 1; level--) {
        const int bus = stack[level];
        const Prop ranges = tree.prop(bus, "ranges");
        if (!ranges.found) {
            return false; // no path to the CPU's address space
        }
        if (ranges.value.len == 0) {
            continue; // identity
        }
        const uint32_t child_cells = tree.u32(bus, "#address-cells", 2);
        const uint32_t parent_cells = tree.u32(stack[level - 1], "#address-cells", 2);
        const uint32_t bus_size_cells = tree.u32(bus, "#size-cells", 1);
        const uint32_t width = child_cells + parent_cells + bus_size_cells;
        if (width == 0 || width > 12) {
            return false;
        }
        bool mapped = false;
        for (uint32_t i = 0; i + width <= ranges.value.len / 4; i += width) {
            const uint64_t child = tree.cells(ranges, i, child_cells);
            const uint64_t target = tree.cells(ranges, i + child_cells, parent_cells);
            const uint64_t size = tree.cells(ranges, i + child_cells + parent_cells, bus_size_cells);
            if (addr >= child && addr - child < size) {
                addr = addr - child + target;
                mapped = true;
                break;
            }
        }
        if (!mapped) {
            return false;
        }
    }
    out = {addr, tree.cells(reg, first + addr_cells, size_cells)};
    return true;
}

bool enabled(const Tree& tree, int node)
{
    const Prop status = tree.prop(node, "status");
    if (!status.found) {
        return true;
    }
    const Text value = tree.blob_string(status);
    return value.equals(cstr("okay")) || value.equals(cstr("ok"));
}

/// The UART at `node`, if its compatible names a kind Vireo drives.
bool uart_at(const Tree& tree, int node, UartDesc& out)
{
    const Prop compatible = tree.prop(node, "compatible");
    for (Text rest = compatible.value; rest.len > 0;) {
        const Text one = rest.until(0, &rest);
        for (const UartCompatible& uart : kUarts) {
            if (!one.equals(cstr(uart.compatible))) {
                continue;
            }
            Range reg;
            if (!reg_of(tree, node, 0, reg) || reg.base == 0) {
                return false; // no UART Vireo drives sits at 0, and 0 stands for "none" (UartDesc)
            }
            out = {uart.kind, reg.base, static_cast<uint8_t>(tree.u32(node, "reg-shift", uart.reg_shift)),
                   static_cast<uint8_t>(tree.u32(node, "reg-io-width", uart.io_width)), 0};
            return true;
        }
    }
    return false;
}

/// stdout-path's node: a path, or an alias, before any ":options".
int stdout_node(const Tree& tree, Text value)
{
    const Text path = value.until(0).until(':');
    if (path[0] == '/') {
        return tree.find_path(path);
    }
    const Prop alias = tree.prop(tree.find_path(cstr("/aliases")), path);
    return alias.found ? tree.find_path(tree.blob_string(alias)) : -1;
}

bool parse_number(Text text, uint64_t& value)
{
    uint32_t i = 0;
    unsigned base = 10;
    if (text.len > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        i = 2;
    }
    if (i == text.len) {
        return false;
    }
    value = 0;
    for (; i < text.len; i++) {
        const uint8_t c = text[i];
        unsigned digit = 0;
        if (c >= '0' && c <= '9') {
            digit = c - '0';
        } else if (base == 16 && (c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
            digit = (c | 0x20) - 'a' + 10u;
        } else {
            return false;
        }
        value = value * base + digit;
    }
    return true;
}

/// earlycon=pl011,[mmio32,]ADDR or earlycon=uart8250|uart|ns16550a,[mmio|mmio32,]ADDR
/// (Linux's kernel-parameters.txt spelling). Port I/O has no meaning here.
bool parse_earlycon(Text bootargs, UartDesc& out)
{
    const Text key = cstr("earlycon=");
    for (Text rest = bootargs; rest.len > 0;) {
        const Text word = rest.until(' ', &rest);
        if (word.len <= key.len || !Text{word.p, key.len}.equals(key)) {
            continue;
        }
        Text options{word.p + key.len, word.len - key.len};
        const Text name = options.until(',', &options);
        UartDesc uart;
        if (name.equals(cstr("pl011"))) {
            uart = {UartKind::Pl011, 0, 2, 4, 0};
        } else if (name.equals(cstr("uart8250")) || name.equals(cstr("uart")) || name.equals(cstr("ns16550")) ||
                   name.equals(cstr("ns16550a"))) {
            uart = {UartKind::Ns16550, 0, 0, 1, 0};
        } else {
            return false;
        }
        Text field = options.until(',', &options);
        if (field.equals(cstr("mmio32"))) {
            uart.reg_shift = 2;
            uart.io_width = 4;
            field = options.until(',', &options);
        } else if (field.equals(cstr("mmio"))) {
            field = options.until(',', &options);
        }
        if (!parse_number(field, uart.base) || uart.base == 0) {
            return false;
        }
        out = uart;
        return true;
    }
    return false;
}

} // namespace

Console find_console(const void* fdt)
{
    const Tree tree(fdt);
    if (!tree.valid()) {
        return {};
    }
    Console found;
    const int chosen = tree.find_path(cstr("/chosen"));
    Prop stdout_path = tree.prop(chosen, "stdout-path");
    if (!stdout_path.found) {
        stdout_path = tree.prop(chosen, "linux,stdout-path");
    }
    if (stdout_path.found) {
        found.node = stdout_node(tree, stdout_path.value);
        if (found.node >= 0 && uart_at(tree, found.node, found.uart)) {
            found.source = ConsoleSource::StdoutPath;
            return found;
        }
    }
    const Prop bootargs = tree.prop(chosen, "bootargs");
    if (bootargs.found && parse_earlycon(tree.blob_string(bootargs), found.uart)) {
        found.node = -1;
        found.source = ConsoleSource::Earlycon;
        return found;
    }
    for (int node = tree.next_node(-1); node >= 0; node = tree.next_node(node)) {
        if (enabled(tree, node) && uart_at(tree, node, found.uart)) {
            found.node = node;
            found.source = ConsoleSource::FirstSerial;
            return found;
        }
    }
    return {};
}

bool node_reg(const void* fdt, int node, int index, Range& out)
{
    const Tree tree(fdt);
    return tree.valid() && reg_of(tree, node, index, out);
}

namespace {

/// linux,initrd-start/end of /chosen: one or two cells each.
bool chosen_package(const Tree& tree, Prop& start, Prop& end)
{
    const int chosen = tree.find_path(cstr("/chosen"));
    start = tree.prop(chosen, "linux,initrd-start");
    end = tree.prop(chosen, "linux,initrd-end");
    const auto cells = [](const Prop& p) { return p.found && (p.value.len == 4 || p.value.len == 8); };
    return cells(start) && cells(end);
}

bool is_memory(const Tree& tree, int node)
{
    const Prop type = tree.prop(node, "device_type");
    return type.found && tree.blob_string(type).equals(cstr("memory")) && enabled(tree, node);
}

void add_reserved(BootMemory& out, Range range)
{
    if (range.size == 0) {
        return;
    }
    if (out.reserved_count == BootMemory::kMaxReserved) {
        out.reserved_overflow = true;
        return;
    }
    out.reserved[out.reserved_count++] = range;
}

} // namespace

bool boot_memory(const void* fdt, BootMemory& out)
{
    out = BootMemory{};
    const Tree tree(fdt);
    if (!tree.valid()) {
        return false;
    }
    for (int node = tree.next_node(-1); node >= 0; node = tree.next_node(node)) {
        Range bank;
        for (int i = 0; is_memory(tree, node) && reg_of(tree, node, i, bank); i++) {
            if (bank.size != 0 && out.bank_count < BootMemory::kMaxBanks) {
                out.banks[out.bank_count++] = bank;
            }
        }
    }
    tree.children(tree.find_path(cstr("/reserved-memory")), [&](int node) {
        Range range;
        for (int i = 0; enabled(tree, node) && reg_of(tree, node, i, range); i++) {
            add_reserved(out, range);
        }
    });
    Range entry;
    for (uint32_t i = 0; tree.memreserve(i, entry); i++) {
        add_reserved(out, entry);
    }
    Prop start, end;
    if (chosen_package(tree, start, end)) {
        const uint64_t first = tree.cells(start, 0, start.value.len / 4);
        const uint64_t last = tree.cells(end, 0, end.value.len / 4);
        out.package = last > first ? Range{first, last - first} : Range{};
    }
    return out.bank_count != 0;
}

bool bootargs_word(const void* fdt, const char* word)
{
    const Tree tree(fdt);
    if (!tree.valid()) {
        return false;
    }
    const Prop bootargs = tree.prop(tree.find_path(cstr("/chosen")), "bootargs");
    for (Text rest = bootargs.found ? tree.blob_string(bootargs) : Text{}; rest.len > 0;) {
        if (rest.until(' ', &rest).equals(cstr(word))) {
            return true;
        }
    }
    return false;
}

bool set_package(void* fdt, Range package)
{
    const Tree tree(fdt);
    Prop start, end;
    if (!tree.valid() || !chosen_package(tree, start, end)) {
        return false;
    }
    if ((start.value.len == 4 || end.value.len == 4) && package.end() >> 32 != 0) {
        return false; // the cells cannot hold it
    }
    Tree::store(start, package.base);
    Tree::store(end, package.end());
    return true;
}

} // namespace early_fdt
