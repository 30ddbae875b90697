// The dashboard's files (index.html, app.js, style.css), compiled into the
// binary so the admin listener serves them with no file and no network at
// run time (issue 14). assets.cmake generates their definition at build time
// from the files beside this header; editing one rebuilds it.
//
// Everything returned points into static storage: valid for the life of the
// process, read-only, safe from any thread.
#pragma once

#include <string_view>

namespace tlsgate::admin {

struct Asset {
  std::string_view content_type;  // with charset, ready for Content-Type
  std::string_view body;
};

// The asset served at `path` ("/", "/app.js", "/style.css"), matched exactly
// (no query string); nullptr for any other path.
const Asset* find_asset(std::string_view path);

}  // namespace tlsgate::admin
