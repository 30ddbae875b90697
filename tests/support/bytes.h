// Byte vectors for parser tests: bytes({0x16, 0x03, 0x01}) is those three bytes.
#pragma once

#include <initializer_list>
#include <string>

namespace tlsgate::test {

inline std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

}  // namespace tlsgate::test
