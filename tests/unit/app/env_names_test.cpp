// Every flag reads ISLA_<NAME>, unless it has a variable of its own or the name is taken.
#include "app/env_names.hpp"

#include <gtest/gtest.h>

namespace isla::app {
namespace {

TEST(EnvNames, AreTheLongNameInUpperCase) {
  EXPECT_EQ(env_name_for("data-dir"), "ISLA_DATA_DIR");
  EXPECT_EQ(env_name_for("threads"), "ISLA_THREADS");
}

TEST(EnvNames, EveryFlagGetsOneUnlessItHasOneOrItIsTaken) {
  CLI::App app{"test"};
  std::string a, b, c, d;
  auto* command = app.add_subcommand("gateway");
  auto* data_dir = command->add_option("--data-dir", a);
  auto* island = command->add_option("--island", b)->envname("ISLA_NAME_OF_ISLAND");
  auto* name = command->add_option("--name-of-island", c);  // its name is --island's variable
  auto* positional = command->add_option("key", d);
  add_env_names(app);
  EXPECT_EQ(data_dir->get_envname(), "ISLA_DATA_DIR");
  EXPECT_EQ(island->get_envname(), "ISLA_NAME_OF_ISLAND");
  EXPECT_EQ(name->get_envname(), "");
  EXPECT_EQ(positional->get_envname(), "");
  EXPECT_EQ(command->get_help_ptr()->get_envname(), "");
}

TEST(EnvNames, AreReadWhenTheFlagIsNotGiven) {
  CLI::App app{"test"};
  long threads = 0;
  app.add_subcommand("gateway")->add_option("--threads", threads);
  add_env_names(app);
  ::setenv("ISLA_THREADS", "7", 1);
  app.parse("gateway", false);
  ::unsetenv("ISLA_THREADS");
  EXPECT_EQ(threads, 7);
}

}  // namespace
}  // namespace isla::app
