#pragma once
// A figure a test measured: printed for whoever runs the suite and kept in the test's XML
// report (timing goals are reported, never asserted).
#include <gtest/gtest.h>

#include <iostream>
#include <string>

namespace isla::testing {

inline void report(const std::string& name, const std::string& value) {
  std::cout << "[ MEASURED ] " << name << ": " << value << std::endl;
  ::testing::Test::RecordProperty(name, value);
}

}  // namespace isla::testing
