#include "kernel/mem/colour_pool.hpp"

void ColourPool::init(uint64_t set, uint32_t colours)
{
    colours_ = colours == 0 ? 1 : colours;
    set_ = colours_ >= 64 ? set : set & ((uint64_t{1} << colours_) - 1);
}

bool ColourPool::fits(size_t pages, size_t align_pages) const
{
    if (!active() || pages == 0 || align_pages == 0 || (align_pages & (align_pages - 1)) != 0 ||
        pages > uint64_t{colours_} * kPeriods) {
        return false;
    }
    // Colours repeat every colours_ pages, so the aligned starts within one
    // period (or one alignment, if larger) are all there are.
    const uint64_t span = align_pages > colours_ ? align_pages : colours_;
    for (uint64_t first = 0; first < span; first += align_pages) {
        size_t n = 0;
        while (n < pages && of_set(first + n)) {
            n++;
        }
        if (n == pages) {
            return true;
        }
    }
    return false;
}

int64_t ColourPool::find(const Chunk& chunk, size_t pages, size_t align_pages) const
{
    const uint64_t total = uint64_t{colours_} * kPeriods;
    for (uint64_t first = 0; first + pages <= total; first += align_pages) {
        size_t n = 0;
        while (n < pages && of_set(first + n) && !(chunk.used[(first + n) / 64] >> ((first + n) % 64) & 1)) {
            n++;
        }
        if (n == pages) {
            return static_cast<int64_t>(first);
        }
    }
    return -1;
}

void ColourPool::mark(Chunk& chunk, uint64_t first, size_t pages, bool used)
{
    for (uint64_t page = first; page < first + pages; page++) {
        if (used) {
            chunk.used[page / 64] |= uint64_t{1} << (page % 64);
        } else {
            chunk.used[page / 64] &= ~(uint64_t{1} << (page % 64));
        }
    }
    chunk.in_use = used ? chunk.in_use + pages : chunk.in_use - pages;
}

uint64_t ColourPool::alloc(PhysAllocator& phys, size_t pages, size_t align_pages)
{
    if (!fits(pages, align_pages)) {
        return 0;
    }
    for (size_t i = 0;; i++) {
        if (i == count_) {
            // Aligned to a period, so that the chunk's first page has colour 0.
            const uint64_t base =
                count_ < kMaxChunks ? phys.alloc(chunk_bytes(), uint64_t{colours_} * PhysAllocator::kPage) : 0;
            if (base == 0) {
                return 0;
            }
            chunks_[count_++] = Chunk{base, {}, 0};
        }
        const int64_t first = find(chunks_[i], pages, align_pages);
        if (first >= 0) {
            mark(chunks_[i], static_cast<uint64_t>(first), pages, true);
            return chunks_[i].base + static_cast<uint64_t>(first) * PhysAllocator::kPage;
        }
    }
}

const ColourPool::Chunk* ColourPool::chunk_of(uint64_t pa) const
{
    for (size_t i = 0; i < count_; i++) {
        if (pa >= chunks_[i].base && pa - chunks_[i].base < chunk_bytes()) {
            return &chunks_[i];
        }
    }
    return nullptr;
}

void ColourPool::free(PhysAllocator& phys, uint64_t pa, size_t pages)
{
    Chunk* chunk = chunk_of(pa);
    if (chunk == nullptr || pages == 0) {
        return;
    }
    mark(*chunk, (pa - chunk->base) / PhysAllocator::kPage, pages, false);
    if (chunk->in_use == 0) {
        phys.free(chunk->base, chunk_bytes());
        *chunk = chunks_[--count_];
    }
}

uint64_t ColourPool::pages_in_use() const
{
    uint64_t total = 0;
    for (size_t i = 0; i < count_; i++) {
        total += chunks_[i].in_use;
    }
    return total;
}
