// LogFields: what a log record is about, beside its message: the connector,
// the client's address, the identity its certificate proved and the reason a
// connection failed. Code that logs for a connection sets them for the span
// of the logging call (ScopedLogFields); a formatter that keeps fields apart
// (server.log_format=json) reads them with current_log_fields().
//
// A thread-local pointer carries them: spdlog's synchronous loggers format
// on the calling thread, inside the call. An asynchronous logger would format
// later, elsewhere, and see none.
#pragma once

#include <string_view>

namespace tlsgate::util {

struct LogFields {
  std::string_view connector;  // connector.<name>
  std::string_view client;     // "ip:port"
  std::string_view identity;   // only once the certificate is verified
  std::string_view reason;     // tls::reason_name() of the failure
};

// The fields of the logging call under way on this thread, or nullptr.
const LogFields* current_log_fields();

class ScopedLogFields {
 public:
  // `fields` must outlive the scope: a temporary would be gone before the
  // logging call reads it.
  explicit ScopedLogFields(const LogFields& fields);
  explicit ScopedLogFields(LogFields&&) = delete;
  ~ScopedLogFields();
  ScopedLogFields(const ScopedLogFields&) = delete;
  ScopedLogFields& operator=(const ScopedLogFields&) = delete;

 private:
  const LogFields* previous_;
};

}  // namespace tlsgate::util
