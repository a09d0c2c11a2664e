#include "balancer/pair/term_file.hpp"

#include <gtest/gtest.h>

#include "durability/atomic_file.hpp"
#include "durability/fault_injecting_file_system.hpp"

namespace isla::balancer::pair {
namespace {

TEST(TermFile, MissingIsAFirstStart) {
  durability::FaultInjectingFileSystem fs;
  fs.create_directories("/d");
  TermFile file(fs, "/d/pair.term");
  const auto loaded = file.load();
  EXPECT_EQ(loaded.term, 0u);
  EXPECT_EQ(loaded.problem, "");
}

TEST(TermFile, KeepsTheHighestTermThroughAPowerCut) {
  durability::FaultInjectingFileSystem fs(3);
  fs.create_directories("/d");
  TermFile file(fs, "/d/pair.term");
  file.store((std::uint64_t{5} << 32) | 9);
  file.store(std::uint64_t{4} << 32);  // lower: not written
  fs.crash(durability::CrashMode::kTearUnsynced);
  TermFile reopened(fs, "/d/pair.term");
  EXPECT_EQ(reopened.load().term, (std::uint64_t{5} << 32) | 9);
}

TEST(TermFile, ACrashInTheMiddleOfAWriteLeavesTheOldTerm) {
  for (std::size_t operations = 0; operations < 6; ++operations) {
    durability::FaultInjectingFileSystem fs(operations);
    fs.create_directories("/d");
    TermFile file(fs, "/d/pair.term");
    file.store(std::uint64_t{7} << 32);
    fs.crash_after_operations(operations);
    try {
      file.store(std::uint64_t{8} << 32);
    } catch (const durability::SimulatedCrash&) {
    }
    fs.crash(durability::CrashMode::kTearUnsynced);
    TermFile reopened(fs, "/d/pair.term");
    const auto loaded = reopened.load();
    EXPECT_EQ(loaded.problem, "") << operations;
    EXPECT_TRUE(loaded.term == std::uint64_t{7} << 32 || loaded.term == std::uint64_t{8} << 32)
        << operations;
  }
}

TEST(TermFile, ADamagedFileIsReportedAndReadAsZero) {
  for (const std::string& text : std::vector<std::string>{
           "", "isla-pair-term 12\n", "isla-pair-term 12 00000000\n", "isla-pair-term x1 1234\n",
           "hello\n", "isla-pair-term 99999999999999999999999 0\n",
           // the right checksum, but not the line written: a leading zero, trailing bytes
           "isla-pair-term 012 " + term_file_line(12).substr(18), term_file_line(12) + "x"}) {
    durability::FaultInjectingFileSystem fs;
    fs.create_directories("/d");
    durability::write_atomically(fs, "/d/pair.term", text);
    TermFile file(fs, "/d/pair.term");
    const auto loaded = file.load();
    EXPECT_EQ(loaded.term, 0u) << text;
    EXPECT_NE(loaded.problem, "") << text;
  }
  durability::FaultInjectingFileSystem fs;
  fs.create_directories("/d");
  durability::write_atomically(fs, "/d/pair.term", term_file_line(12));
  fs.corrupt("/d/pair.term", 15);
  TermFile file(fs, "/d/pair.term");
  EXPECT_NE(file.load().problem, "");
}

TEST(TermFile, AnEmptyPathKeepsNothing) {
  durability::FaultInjectingFileSystem fs;
  TermFile file(fs, "");
  file.store(99);
  EXPECT_EQ(file.load().term, 0u);
}

}  // namespace
}  // namespace isla::balancer::pair
