// Secret flags are recognised by name, and --help never shows their value.
#include "app/secret_options.hpp"

#include <gtest/gtest.h>

namespace isla::app {
namespace {

TEST(SecretOptions, AreRecognisedByAWordOfTheirName) {
  CLI::App app{"test"};
  std::string value;
  EXPECT_TRUE(is_secret(*app.add_option("--secret", value)));
  EXPECT_TRUE(is_secret(*app.add_option("--token", value)));
  EXPECT_TRUE(is_secret(*app.add_option("--admin-token", value)));
  EXPECT_TRUE(is_secret(*app.add_option("--db-password", value)));
  EXPECT_FALSE(is_secret(*app.add_option("--secret-file", value)));  // a path, not a secret
  EXPECT_FALSE(is_secret(*app.add_option("--token-dir", value)));
  EXPECT_FALSE(is_secret(*app.add_option("--secretary", value)));
  EXPECT_FALSE(is_secret(*app.add_option("--island", value)));
}

TEST(SecretOptions, HelpNeverShowsTheirDefault) {
  CLI::App app{"test"};
  std::string secret = "hunter2-in-code";
  std::string island = "local";
  auto* command = app.add_subcommand("gateway");
  command->add_option("--secret", secret)->capture_default_str();
  command->add_option("--island", island)->capture_default_str();
  hide_secret_defaults(app);
  const auto help = command->help();
  EXPECT_EQ(help.find("hunter2-in-code"), std::string::npos) << help;
  EXPECT_NE(help.find("=local"), std::string::npos) << help;
}

// CLI11 would print "--secrt hunter2" for a mistyped flag; its value stays unshown.
TEST(SecretOptions, UnexpectedArgumentsNeverShowAFlagsValue) {
  EXPECT_EQ(unexpected_arguments({"hunter2", "--secrt"}),
            "not expected: --secrt (and 1 argument not shown: it may be a flag's value, a "
            "secret)");
  EXPECT_EQ(unexpected_arguments({"--secrt=hunter2"}), "not expected: --secrt=...");
  EXPECT_EQ(unexpected_arguments({"extra", "more"}), "not expected: extra more");
}

}  // namespace
}  // namespace isla::app
