#include "cli/log_formatter.h"

#include <time.h>

#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/log_fields.h"
#include "util/peer_text.h"

namespace tlsgate::cli {
namespace {

// Local time as "%Y-%m-%d{sep}%H:%M:%S.mmm" (plus "%z" for JSON).
std::string timestamp(spdlog::log_clock::time_point when, char sep, bool zone) {
  auto secs = std::chrono::time_point_cast<std::chrono::seconds>(when);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(when - secs).count();
  std::time_t t = spdlog::log_clock::to_time_t(secs);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%d", &tm);
  char time[32];
  std::strftime(time, sizeof time, "%H:%M:%S", &tm);
  std::string out = fmt::format("{}{}{}.{:03}", date, sep, time, millis);
  if (zone) {
    char z[8];
    std::strftime(z, sizeof z, "%z", &tm);
    out += z;
  }
  return out;
}

std::string_view level_name(spdlog::level::level_enum level) {
  auto name = spdlog::level::to_string_view(level);
  return {name.data(), name.size()};
}

}  // namespace

void LogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  std::string_view message(msg.payload.data(), msg.payload.size());
  std::string line;
  if (format_ == config::LogFormat::kJson) {
    nlohmann::ordered_json record = {{"time", timestamp(msg.time, 'T', true)},
                                     {"level", level_name(msg.level)},
                                     {"message", message}};
    if (const auto* fields = util::current_log_fields()) {
      const std::pair<const char*, std::string_view> named[] = {{"connector", fields->connector},
                                                                {"client", fields->client},
                                                                {"identity", fields->identity},
                                                                {"reason", fields->reason}};
      for (const auto& [name, value] : named) {
        if (!value.empty()) record[name] = value;
      }
    }
    line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    line = fmt::format("{} {} {}", timestamp(msg.time, ' ', false), level_name(msg.level),
                       util::escape_controls(message));
  }
  line += '\n';
  dest.append(line.data(), line.data() + line.size());
}

std::unique_ptr<spdlog::formatter> LogFormatter::clone() const {
  return std::make_unique<LogFormatter>(format_);
}

}  // namespace tlsgate::cli
