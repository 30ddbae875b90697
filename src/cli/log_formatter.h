// LogFormatter: how `tlsgate serve` writes a log record (server.log_format).
//
// Log messages carry text that peers choose: certificate subjects and
// identities, database user names, addresses of misbehaving clients. The
// formatter makes sure no such text can break a record or forge another:
//   text  "2026-12-06 01:02:03.456 info MESSAGE", with every control byte of
//         MESSAGE escaped (\n, \r, \t, \xNN), so one record is one line;
//   json  {"time":"2026-12-06T01:02:03.456+0000","level":"info","message":…}
//         built with nlohmann::json, so quotes, control bytes and invalid
//         UTF-8 (replaced by U+FFFD) stay inside their strings. A record
//         about a connection adds "connector", "client", "identity" (once
//         verified) and "reason" (of a failure) where known
//         (util/log_fields.h); the message still says them in words.
// A spdlog::formatter; spdlog calls it under the sink's lock.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/formatter.h>

#include "config/settings.h"

namespace tlsgate::cli {

class LogFormatter final : public spdlog::formatter {
 public:
  explicit LogFormatter(config::LogFormat format) : format_(format) {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;

 private:
  config::LogFormat format_;
};

}  // namespace tlsgate::cli
