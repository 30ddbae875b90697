#include "util/versioned.h"

#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace tlsgate::util {
namespace {

TEST(Versioned, ReadersKeepTheirSnapshot) {
  Versioned<int> v(std::make_shared<const int>(1));
  auto held = v.get();
  v.publish(std::make_shared<const int>(2));
  EXPECT_EQ(*held, 1);
  EXPECT_EQ(*v.get(), 2);
  EXPECT_EQ(v.generation(), 2u);
}

TEST(Versioned, ConcurrentPublishAndRead) {
  Versioned<int> v(std::make_shared<const int>(0));
  std::thread writer([&] {
    for (int i = 1; i <= 2000; ++i) v.publish(std::make_shared<const int>(i));
  });
  int last = 0;
  for (int i = 0; i < 20000; ++i) {
    int now = *v.get();
    ASSERT_GE(now, last);  // publications are seen in order
    last = now;
  }
  writer.join();
  EXPECT_EQ(*v.get(), 2000);
}

}  // namespace
}  // namespace tlsgate::util
