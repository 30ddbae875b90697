// Blocks: the 65 KiB buffers a session holds only while it moves data (a
// direction's read buffer, the socket BIO's gather), from a free list per
// thread instead of a malloc(3) and free(3) of 64 KiB per message.
//
// An idle connection holds none, as before: a block goes back to the list of
// the thread that releases it as soon as it is empty. Each list keeps at most
// kKept blocks (520 KiB per worker thread); beyond that a block is freed.
// glibc served each such buffer from the heap's top and merged it back on
// free: with three of them per 1 KiB request and answer, malloc and free
// were 4 % of the gate's CPU in the ping-pong bench (bench/README.md).
#pragma once

#include <cstddef>
#include <memory>

namespace tlsgate::net {

struct BlockRelease {
  void operator()(char* block) const noexcept;
};

using Block = std::unique_ptr<char[], BlockRelease>;

inline constexpr size_t kBlockBytes = size_t{65} * 1024;
inline constexpr size_t kKeptBlocks = 8;

// A block of kBlockBytes, uninitialised.
Block take_block();

// Frees the blocks this thread's list keeps (after a spike, before the heap
// is trimmed: kept blocks would pin their pages).
void free_kept_blocks();

}  // namespace tlsgate::net
