#include "net/starttls/nats_json.h"

#include <cstdint>

namespace tlsgate::net::starttls {
namespace {

class Scanner {
 public:
  explicit Scanner(std::string_view text) : t_(text) {}

  void skip_ws() {
    while (p_ < t_.size() && (t_[p_] == ' ' || t_[p_] == '\t' || t_[p_] == '\r' || t_[p_] == '\n'))
      ++p_;
  }
  bool at_end() const { return p_ >= t_.size(); }
  char peek() const { return p_ < t_.size() ? t_[p_] : '\0'; }
  size_t pos() const { return p_; }
  bool eat(char c) {
    if (peek() != c || at_end()) return false;
    ++p_;
    return true;
  }

  // A string starting at the quote; `out` (when given) gets it decoded.
  bool string(std::string* out) {
    if (!eat('"')) return false;
    while (!at_end()) {
      char c = t_[p_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        if (out) out->push_back(c);
        continue;
      }
      if (at_end()) return false;
      char e = t_[p_++];
      char plain = 0;
      switch (e) {
        case '"':
        case '\\':
        case '/':
          plain = e;
          break;
        case 'b':
          plain = '\b';
          break;
        case 'f':
          plain = '\f';
          break;
        case 'n':
          plain = '\n';
          break;
        case 'r':
          plain = '\r';
          break;
        case 't':
          plain = '\t';
          break;
        case 'u': {
          uint32_t cp = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF && t_.substr(p_, 2) == "\\u") {
            p_ += 2;
            uint32_t low = 0;
            if (!hex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          if (out) utf8(cp, *out);
          continue;
        }
        default:
          return false;
      }
      if (out) out->push_back(plain);
    }
    return false;
  }

  bool value(int depth) {
    if (depth > kMaxNatsJsonDepth) return false;
    skip_ws();
    char c = peek();
    if (c == '"') return string(nullptr);
    if (c == '{' || c == '[') {
      const char close = c == '{' ? '}' : ']';
      ++p_;
      skip_ws();
      if (eat(close)) return true;
      while (true) {
        if (c == '{') {
          skip_ws();
          if (!string(nullptr)) return false;
          skip_ws();
          if (!eat(':')) return false;
        }
        if (!value(depth + 1)) return false;
        skip_ws();
        if (eat(close)) return true;
        if (!eat(',')) return false;
      }
    }
    if (c == '-' || (c >= '0' && c <= '9')) return number();
    for (std::string_view word : {"true", "false", "null"}) {
      if (t_.substr(p_, word.size()) == word) {
        p_ += word.size();
        return true;
      }
    }
    return false;
  }

 private:
  bool hex4(uint32_t& out) {
    if (t_.size() - p_ < 4) return false;
    out = 0;
    for (int i = 0; i < 4; ++i) {
      char h = t_[p_++];
      out <<= 4;
      if (h >= '0' && h <= '9') {
        out |= static_cast<uint32_t>(h - '0');
      } else if (h >= 'a' && h <= 'f') {
        out |= static_cast<uint32_t>(h - 'a' + 10);
      } else if (h >= 'A' && h <= 'F') {
        out |= static_cast<uint32_t>(h - 'A' + 10);
      } else {
        return false;
      }
    }
    return true;
  }

  static void utf8(uint32_t cp, std::string& out) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  bool digits() {
    size_t start = p_;
    while (p_ < t_.size() && t_[p_] >= '0' && t_[p_] <= '9') ++p_;
    return p_ > start;
  }

  bool number() {
    eat('-');
    if (!digits()) return false;
    if (eat('.') && !digits()) return false;
    if (peek() == 'e' || peek() == 'E') {
      ++p_;
      if (!eat('+')) eat('-');
      if (!digits()) return false;
    }
    return true;
  }

  std::string_view t_;
  size_t p_ = 0;
};

}  // namespace

std::optional<std::vector<JsonMember>> json_object_members(std::string_view text) {
  Scanner s(text);
  std::vector<JsonMember> out;
  s.skip_ws();
  if (!s.eat('{')) return std::nullopt;
  s.skip_ws();
  if (!s.eat('}')) {
    while (true) {
      s.skip_ws();
      JsonMember m;
      const size_t start = s.pos();
      if (!s.string(&m.key)) return std::nullopt;
      s.skip_ws();
      if (!s.eat(':')) return std::nullopt;
      s.skip_ws();
      const size_t value_start = s.pos();
      if (!s.value(1)) return std::nullopt;
      m.raw = text.substr(start, s.pos() - start);
      m.value = text.substr(value_start, s.pos() - value_start);
      out.push_back(std::move(m));
      s.skip_ws();
      if (s.eat('}')) break;
      if (!s.eat(',')) return std::nullopt;
    }
  }
  s.skip_ws();
  if (!s.at_end()) return std::nullopt;
  return out;
}

std::optional<std::string> json_string_value(std::string_view value) {
  Scanner s(value);
  std::string out;
  if (!s.string(&out) || !s.at_end()) return std::nullopt;
  return out;
}

std::string json_quote(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20) {
      out += "\\u00";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace tlsgate::net::starttls
