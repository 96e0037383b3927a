// aio/detail/frame_cache.hpp — lesson 09: recycling coroutine frames.
//
// Every call of a coroutine allocates its frame, and a busy server calls a few per request
// (read_until, fill_buffer, the handler, write). Frames of the same coroutine have the same
// size, and one is usually freed just before the next is allocated, so a per-thread list of
// freed frames, one list per size class, turns most allocations into popping a pointer — what
// Boost.Asio's recycling allocator does for its operations. malloc's own per-thread cache does
// much the same, only more generally (and so a little slower).
//
// Under AddressSanitizer the cache steps aside: a recycled frame is never freed, so a use of a
// dead frame would go unnoticed, and catching exactly that is what the sanitizer build is for.
//
// Simplified: classes of 64 bytes up to 1 KiB (larger frames go straight to operator new); at
// most 64 frames kept per class, so a burst of coroutines cannot pin memory for ever. A frame
// must be freed on the thread that allocated it, which is true of aio: a frame lives on its loop.
#pragma once

#include <array>
#include <cstddef>
#include <new>

namespace aio::detail {

#if defined(__SANITIZE_ADDRESS__)   // g++
inline constexpr bool recycle_frames = false;
#elif defined(__has_feature)
inline constexpr bool recycle_frames = !__has_feature(address_sanitizer);   // clang++
#else
inline constexpr bool recycle_frames = true;
#endif

class frame_cache {
public:
    static void* allocate(std::size_t size) {
        const std::size_t c = size_class(size);
        if (!recycle_frames || c >= classes) return ::operator new(size);
        free_list& list = instance().lists_[c];
        if (list.head == nullptr) return ::operator new((c + 1) * granule);
        block* b = list.head;
        list.head = b->next;
        --list.count;
        return b;
    }

    static void release(void* frame, std::size_t size) noexcept {
        const std::size_t c = size_class(size);
        if (!recycle_frames || c >= classes) return ::operator delete(frame);
        free_list& list = instance().lists_[c];
        if (list.count == max_kept) return ::operator delete(frame);
        list.head = new (frame) block{list.head};
        ++list.count;
    }

    frame_cache() = default;
    frame_cache(const frame_cache&) = delete;
    frame_cache& operator=(const frame_cache&) = delete;
    ~frame_cache() {   // the thread ends: give everything back
        for (free_list& list : lists_)
            while (block* b = list.head) {
                list.head = b->next;
                ::operator delete(b);
            }
    }

private:
    static constexpr std::size_t granule = 64, classes = 16, max_kept = 64;
    struct block {
        block* next;
    };
    struct free_list {
        block* head = nullptr;
        std::size_t count = 0;
    };

    static std::size_t size_class(std::size_t size) noexcept { return (size - 1) / granule; }
    static frame_cache& instance() noexcept {
        static thread_local frame_cache cache;
        return cache;
    }

    std::array<free_list, classes> lists_{};
};

} // namespace aio::detail
