// The dashboard's files are in the binary (admin/dashboard/assets.h): the
// page, its script and its style at their paths, with their content types,
// and nothing at any other path.
#include "admin/dashboard/assets.h"

#include <string>

#include <gtest/gtest.h>

namespace tlsgate::admin {
namespace {

TEST(DashboardAssets, RootIsThePageThatLoadsItsScriptAndStyle) {
  const Asset* page = find_asset("/");
  ASSERT_NE(page, nullptr);
  EXPECT_EQ(page->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(page->body.substr(0, 15), "<!DOCTYPE html>");
  EXPECT_NE(page->body.find(R"(<script src="/app.js" defer></script>)"), std::string_view::npos);
  EXPECT_NE(page->body.find(R"(<link rel="stylesheet" href="/style.css">)"),
            std::string_view::npos);
  EXPECT_NE(page->body.find("</html>"), std::string_view::npos);  // all of it, not a prefix
}

TEST(DashboardAssets, ScriptAndStyleAreServedWithTheirTypes) {
  const Asset* script = find_asset("/app.js");
  ASSERT_NE(script, nullptr);
  EXPECT_EQ(script->content_type, "text/javascript; charset=utf-8");
  EXPECT_NE(script->body.find("/v1/status"), std::string_view::npos);
  const Asset* style = find_asset("/style.css");
  ASSERT_NE(style, nullptr);
  EXPECT_EQ(style->content_type, "text/css; charset=utf-8");
  EXPECT_NE(style->body.find("font-variant-numeric: tabular-nums"), std::string_view::npos);
}

// CSP default-src 'self': the page may carry no inline script or style.
TEST(DashboardAssets, PageHasNoInlineScriptOrStyle) {
  const std::string_view page = find_asset("/")->body;
  EXPECT_EQ(page.find("<script>"), std::string_view::npos);
  EXPECT_EQ(page.find("<style"), std::string_view::npos);
  EXPECT_EQ(page.find(" style=\""), std::string_view::npos);
  EXPECT_EQ(page.find(" onclick="), std::string_view::npos);
  EXPECT_EQ(page.find("http://"), std::string_view::npos);
  EXPECT_EQ(page.find("https://"), std::string_view::npos);
}

TEST(DashboardAssets, NoBytesAreLostOrAdded) {
  // The generator writes bytes, not a string literal: a NUL terminator or a
  // dropped last byte would show at the end of each file.
  EXPECT_EQ(find_asset("/")->body.back(), '\n');
  EXPECT_EQ(find_asset("/app.js")->body.back(), '\n');
  EXPECT_EQ(find_asset("/style.css")->body.find('\0'), std::string_view::npos);
}

TEST(DashboardAssets, UnknownPathsAreNull) {
  EXPECT_EQ(find_asset(""), nullptr);
  EXPECT_EQ(find_asset("/index.html"), nullptr);
  EXPECT_EQ(find_asset("/app.js?v=1"), nullptr);
  EXPECT_EQ(find_asset("/../app.js"), nullptr);
  EXPECT_EQ(find_asset("app.js"), nullptr);
  EXPECT_EQ(find_asset("/v1/status"), nullptr);
  EXPECT_EQ(find_asset("/APP.JS"), nullptr);
}

}  // namespace
}  // namespace tlsgate::admin
