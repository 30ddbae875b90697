#include "pki/revocation_index.h"

#include <charconv>
#include <cstdio>

#include <fmt/format.h>

#include "util/strings.h"

namespace tlsgate::pki {
namespace {

// Every piece, empty ones too (split_list trims and drops them).
std::vector<std::string_view> split_exact(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t end = s.find(sep, start);
    if (end == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
}

}  // namespace

std::string format_rfc3339(util::SystemTime t) {
  auto secs = std::chrono::floor<std::chrono::seconds>(t);
  auto day = std::chrono::floor<std::chrono::days>(secs);
  std::chrono::year_month_day ymd(day);
  std::chrono::hh_mm_ss hms(secs - day);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count());
}

std::optional<util::SystemTime> parse_rfc3339(std::string_view text) {
  if (text.size() != 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':' || text[19] != 'Z') {
    return std::nullopt;
  }
  auto num = [&](size_t pos, size_t len) -> std::optional<int> {
    int v = 0;
    auto [p, ec] = std::from_chars(text.data() + pos, text.data() + pos + len, v);
    if (ec != std::errc() || p != text.data() + pos + len) return std::nullopt;
    return v;
  };
  auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2),
       s = num(17, 2);
  if (!y || !mo || !d || !h || !mi || !s || *h > 23 || *mi > 59 || *s > 59) return std::nullopt;
  // SystemTime counts nanoseconds in 64 bits: years past 2262 would overflow.
  if (*y < 1970 || *y > 2200) return std::nullopt;
  std::chrono::year_month_day ymd{std::chrono::year(*y), std::chrono::month(*mo),
                                  std::chrono::day(*d)};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::sys_days(ymd) + std::chrono::hours(*h) + std::chrono::minutes(*mi) +
         std::chrono::seconds(*s);
}

util::Result<std::vector<Revocation>> parse_revocation_index(std::string_view text,
                                                             const std::string& source) {
  std::vector<Revocation> out;
  size_t line_no = 0;
  for (std::string_view line : split_exact(text, '\n')) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (util::trim(line).empty() || line.front() == '#') continue;
    auto where = source + ":" + std::to_string(line_no) + ": ";
    auto fields = split_exact(line, '\t');
    if (fields.size() != 4) {
      return util::fail(where + "expected 4 TAB-separated fields (serial, revoked at, reason, " +
                        "subject), found " + std::to_string(fields.size()) +
                        "; repair the line or restore the file from a backup");
    }
    Revocation r;
    auto serial = normalize_serial_hex(fields[0]);
    if (!serial)
      return util::fail(where + "serial \"" + std::string(fields[0]) + "\" is not hexadecimal");
    r.serial_hex = *serial;
    auto when = parse_rfc3339(fields[1]);
    if (!when) {
      return util::fail(where + "revocation time \"" + std::string(fields[1]) +
                        "\" is not an RFC 3339 UTC time like 2026-12-06T08:30:00Z");
    }
    r.revoked_at = *when;
    auto reason = parse_revocation_reason(fields[2]);
    if (!reason) return util::fail(where + reason.error().message());
    r.reason = *reason;
    r.subject = fields[3].empty() ? "-" : std::string(fields[3]);
    if (find_revocation(out, r.serial_hex) != nullptr) {
      return util::fail(where + "serial " + r.serial_hex + " is listed twice; delete one line");
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::string format_revocation_index(const std::vector<Revocation>& entries) {
  std::string out = "# tlsgate revocation index: serial\trevoked at\treason\tsubject\n";
  for (const auto& r : entries) {
    std::string subject = r.subject;
    // A TAB or newline in a subject would break the line structure.
    for (char& c : subject) {
      if (c == '\t' || c == '\n' || c == '\r') c = ' ';
    }
    out += r.serial_hex + "\t" + format_rfc3339(r.revoked_at) + "\t" +
           std::string(reason_name(r.reason)) + "\t" + (subject.empty() ? "-" : subject) + "\n";
  }
  return out;
}

const Revocation* find_revocation(const std::vector<Revocation>& entries,
                                  const std::string& serial_hex) {
  for (const auto& r : entries) {
    if (r.serial_hex == serial_hex) return &r;
  }
  return nullptr;
}

std::vector<CrlEntry> crl_entries(const std::vector<Revocation>& entries) {
  std::vector<CrlEntry> out;
  out.reserve(entries.size());
  for (const auto& r : entries) out.push_back(CrlEntry{r.serial_hex, r.revoked_at, r.reason});
  return out;
}

util::Result<uint64_t> parse_crl_number(std::string_view text, const std::string& source) {
  auto trimmed = util::trim(text);
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(trimmed.data(), trimmed.data() + trimmed.size(), v);
  if (trimmed.empty() || ec != std::errc() || p != trimmed.data() + trimmed.size()) {
    return util::fail(source + ": \"" + std::string(trimmed) +
                      "\" is not a CRL number; it must hold the last CRL number issued, in "
                      "decimal (write a number above every CRL already published)");
  }
  return v;
}

}  // namespace tlsgate::pki
