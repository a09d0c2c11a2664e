#include "store/cluster_identity.hpp"

#include <gtest/gtest.h>

#include "durability/fault_injecting_file_system.hpp"

namespace isla::store {
namespace {

TEST(ClusterIdentity, EveryVoterDerivesTheSameIdWhateverTheFlagOrder) {
  const auto a = identity_for("local", {"127.0.0.2:5235", "127.0.0.1:5235", "127.0.0.3:5235"});
  const auto b = identity_for("local", {"127.0.0.3:5235", "127.0.0.1:5235", "127.0.0.2:5235"});
  EXPECT_EQ(a, b);
  EXPECT_NE(a.cluster_id, identity_for("other", a.voters).cluster_id);
  EXPECT_NE(a.cluster_id, identity_for("local", {"127.0.0.1:5235"}).cluster_id);
}

TEST(ClusterIdentity, SurvivesACrashOnceSaved) {
  durability::FaultInjectingFileSystem fs;
  const auto identity = identity_for("north", {"127.0.0.1:5235"});
  save_identity(fs, "/data/raft", identity);
  fs.crash();
  EXPECT_EQ(load_identity(fs, "/data/raft"), identity);
  EXPECT_FALSE(load_identity(fs, "/elsewhere"));
}

TEST(ClusterIdentity, DamagedFilesAreNamedNotTrusted) {
  for (const char* text :
       {"", "[]", R"({"island":"x"})", R"({"island":"x","cluster_id":"zz","voters":[]})",
        R"({"island":"x","cluster_id":"1","voters":[1]})"}) {
    EXPECT_THROW(decode_identity(text), std::invalid_argument) << text;
  }
  const auto identity = identity_for("x", {"a:1", "b:2"});
  EXPECT_EQ(decode_identity(encode_identity(identity)), identity);
}

TEST(ClusterIdentity, AnotherIslandOrOtherVotersAreRefusedWithWhatToDo) {
  const auto found = identity_for("north", {"127.0.0.1:5235", "127.0.0.2:5235", "127.0.0.3:5235"});
  EXPECT_EQ(identity_conflict(found, found, "/d"), "");
  const auto island = identity_conflict(found, identity_for("south", found.voters), "/d");
  EXPECT_NE(island.find("island 'north'"), std::string::npos) << island;
  EXPECT_NE(island.find("--island north"), std::string::npos) << island;
  const auto voters = identity_conflict(found, identity_for("north", {"127.0.0.1:5235"}), "/d");
  EXPECT_NE(voters.find("--store-voters 127.0.0.1:5235,127.0.0.2:5235,127.0.0.3:5235"),
            std::string::npos)
      << voters;
  EXPECT_NE(voters.find("remove /d"), std::string::npos) << voters;
}

TEST(ClusterIdentity, AfterMembershipChangesTheFoundingOrTheCurrentVotersAreAccepted) {
  const std::vector<std::string> founders = {"127.0.0.1:5235", "127.0.0.2:5235", "127.0.0.3:5235"};
  auto found = identity_for("north", founders);
  found.voters = {"127.0.0.1:5235", "127.0.0.2:5235", "127.0.0.4:5235"};  // one replaced
  EXPECT_EQ(identity_conflict(found, identity_for("north", founders), "/d"), "");
  EXPECT_EQ(identity_conflict(found, identity_for("north", found.voters), "/d"), "");
  const auto other = identity_conflict(found, identity_for("north", {"127.0.0.1:5235"}), "/d");
  EXPECT_NE(other.find("--store-voters 127.0.0.1:5235,127.0.0.2:5235,127.0.0.4:5235"),
            std::string::npos)
      << other;
  EXPECT_NE(identity_conflict(found, identity_for("south", founders), "/d"), "");
}

}  // namespace
}  // namespace isla::store
