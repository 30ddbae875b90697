#include "util/clock.h"

namespace tlsgate::util {

const SystemClock& SystemClock::instance() {
  static const SystemClock clock;
  return clock;
}

}  // namespace tlsgate::util
