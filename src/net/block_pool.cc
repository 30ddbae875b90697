#include "net/block_pool.h"

#include <vector>

namespace tlsgate::net {
namespace {

struct FreeList {
  std::vector<char*> blocks;
  FreeList() { blocks.reserve(kKeptBlocks); }
  ~FreeList() { free_all(); }
  void free_all() {
    for (char* b : blocks) delete[] b;
    blocks.clear();
  }
};

FreeList& free_list() {
  thread_local FreeList list;
  return list;
}

}  // namespace

void BlockRelease::operator()(char* block) const noexcept {
  auto& list = free_list().blocks;
  if (list.size() < kKeptBlocks) {
    list.push_back(block);
  } else {
    delete[] block;
  }
}

Block take_block() {
  auto& list = free_list().blocks;
  if (list.empty()) return Block(new char[kBlockBytes]);
  char* b = list.back();
  list.pop_back();
  return Block(b);
}

void free_kept_blocks() { free_list().free_all(); }

}  // namespace tlsgate::net
