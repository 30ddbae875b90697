#include "util/log_fields.h"

namespace tlsgate::util {
namespace {

thread_local const LogFields* current = nullptr;

}  // namespace

const LogFields* current_log_fields() { return current; }

ScopedLogFields::ScopedLogFields(const LogFields& fields) : previous_(current) {
  current = &fields;
}

ScopedLogFields::~ScopedLogFields() { current = previous_; }

}  // namespace tlsgate::util
