// Compiled by tests/layers/CMakeLists.txt with config/'s include roots only:
// it must fail, because config/ sits below tls/ (DESIGN.md, Layers).
#include "config/settings.h"
#include "tls/context.h"
