// SharedSnapshot: readers on other threads always get a whole value, never an older one than
// they saw before, while a writer replaces it (run under ThreadSanitizer by make test-tsan).
#include "core/shared_snapshot.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace isla::core {
namespace {

struct Version {
  int number = 0;
  std::vector<int> copies;  // every element equals number: a torn value would show
};

TEST(SharedSnapshot, ReadersSeeWholeValuesThatOnlyMoveForward) {
  SharedSnapshot<const Version> snapshot(std::make_shared<const Version>());
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      int last = 0;
      while (!done) {
        const auto seen = snapshot.load();
        for (const int copy : seen->copies) {
          if (copy != seen->number) ++bad;
        }
        if (seen->number < last) ++bad;
        last = seen->number;
      }
    });
  }
  for (int n = 1; n <= 2000; ++n) {
    snapshot.store(std::make_shared<const Version>(Version{n, std::vector<int>(16, n)}));
  }
  done = true;
  for (auto& reader : readers) reader.join();
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(snapshot.load()->number, 2000);
}

}  // namespace
}  // namespace isla::core
