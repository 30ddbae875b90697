// The input format of the harnesses that drive a state machine in chunks.
//
// A fuzzer input is one option byte, then records: a 2-byte big-endian
// header and up to (header & 0x7fff) bytes of data (fewer when the input ends
// early). The top bit of the header is a flag whose meaning the harness
// gives (feed past what the machine asked for, start TLS first, ...); a
// flagged record with no data is an event (the backend goes away, ...).
// Because a record may hold part of a message or several messages, the
// fuzzer chooses how the byte stream is split into reads. The corpus
// generator (make_corpus.cc) writes seeds with record().
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tlsgate::fuzz {

struct Record {
  bool flag = false;
  std::string_view data;
  bool event() const { return flag && data.empty(); }
};

class Records {
 public:
  Records(const uint8_t* data, size_t size) : in_(reinterpret_cast<const char*>(data), size) {}

  // The option byte (0 for an empty input).
  uint8_t options() {
    if (in_.empty()) return 0;
    auto b = static_cast<uint8_t>(in_.front());
    in_.remove_prefix(1);
    return b;
  }

  std::optional<Record> next() {
    if (in_.size() < 2) return std::nullopt;
    unsigned header =
        (static_cast<unsigned>(static_cast<uint8_t>(in_[0])) << 8) | static_cast<uint8_t>(in_[1]);
    in_.remove_prefix(2);
    size_t n = std::min<size_t>(header & 0x7fff, in_.size());
    Record r{(header & 0x8000) != 0, in_.substr(0, n)};
    in_.remove_prefix(n);
    return r;
  }

 private:
  std::string_view in_;
};

// One record as the harnesses read it (data longer than 0x7fff is cut).
inline std::string record(std::string_view data, bool flag = false) {
  size_t n = std::min<size_t>(data.size(), 0x7fff);
  unsigned header = static_cast<unsigned>(n) | (flag ? 0x8000u : 0u);
  std::string out;
  out += static_cast<char>(header >> 8);
  out += static_cast<char>(header & 0xff);
  out.append(data.substr(0, n));
  return out;
}

}  // namespace tlsgate::fuzz
