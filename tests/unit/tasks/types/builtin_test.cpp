// Every compiled-in type against known answers, its bad parameters, and how the long ones end
// when asked to stop or when their deadline passes.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "tasks/types/builtin_type.hpp"
#include "tasks/types/task_type.hpp"

namespace isla::tasks {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

RunContext stopped_by(const std::atomic<bool>* stop) {
  RunContext context;
  context.stop = stop;
  return context;
}

RunContext until(std::chrono::steady_clock::time_point deadline) {
  RunContext context;
  context.deadline = deadline;
  return context;
}

class Builtins : public ::testing::Test {
 protected:
  Builtins() { add_builtin_types(catalog_); }

  const TaskType& type(const char* name) {
    const auto* found = catalog_.find(name);
    if (found == nullptr) throw std::runtime_error(std::string("no type ") + name);
    return *found;
  }

  // Validates, then runs: the path a submission takes through gateway and worker.
  TaskOutcome run(const char* name, const char* params, const RunContext& context = {}) {
    const auto value = json::parse(params);
    const auto errors = type(name).validate(value);
    EXPECT_TRUE(errors.empty()) << name << " " << params << ": " << errors[0].message();
    return type(name).run(value.as_object(), context);
  }

  json::value result(const char* name, const char* params) {
    const auto outcome = run(name, params);
    EXPECT_TRUE(outcome.ok) << name << " " << params << ": " << outcome.error;
    return outcome.result;
  }

  // The one rule broken, as "field: rule".
  std::string refusal(const char* name, const char* params) {
    const auto errors = type(name).validate(json::parse(params));
    if (errors.size() != 1) return "expected one error, got " + std::to_string(errors.size());
    return errors[0].message();
  }

  TaskCatalog catalog_;
};

TEST_F(Builtins, TheCatalogueHoldsEveryBuiltinOnce) {
  std::set<std::string> names;
  for (const auto& type : catalog_.all()) names.insert(type->name());
  EXPECT_EQ(names, (std::set<std::string>{"sum", "multiply", "sort", "reverse", "sha256", "primes",
                                          "pi", "mine", "sleep"}));
  EXPECT_THROW(add_builtin_types(catalog_), std::invalid_argument);
}

TEST_F(Builtins, DescribeListsEachTypeWithLimitsAndSchema) {
  const auto described = catalog_.describe();
  const auto& types = described.at("types").as_array();
  ASSERT_EQ(types.size(), 9u);
  for (const auto& entry : types) {
    const auto& object = entry.as_object();
    EXPECT_FALSE(object.at("description").as_string().empty()) << entry;
    EXPECT_GT(object.at("limits").at("wall_ms").as_int64(), 0) << entry;
    EXPECT_FALSE(object.at("params").as_object().empty()) << entry;
  }
  const auto* primes = std::find_if(types.begin(), types.end(), [](const json::value& entry) {
    return entry.at("name") == json::value("primes");
  });
  ASSERT_NE(primes, types.end());
  EXPECT_EQ(primes->at("params").at("limit").at("max"), json::value(10'000'000));
  EXPECT_EQ(primes->at("params").at("limit").at("required"), json::value(true));
}

TEST_F(Builtins, SumAddsIntegersExactlyAndDecimalsAsDoubles) {
  EXPECT_EQ(result("sum", R"({"values": [1, 2, 3]})"), json::parse(R"({"sum": 6})"));
  EXPECT_EQ(result("sum", R"({"values": []})"), json::parse(R"({"sum": 0})"));
  EXPECT_EQ(result("sum", R"({"values": [9007199254740993, 1]})"),
            json::parse(R"({"sum": 9007199254740994})"));
  EXPECT_EQ(result("sum", R"({"values": [0.5, 0.25, 1]})"), json::parse(R"({"sum": 1.75})"));
  EXPECT_EQ(refusal("sum", R"({"values": [9223372036854775807, 1]})"),
            "values: the sum of these integers overflows a 64-bit integer (write the values as "
            "decimals, e.g. 2.0, for floating-point arithmetic)");
  EXPECT_EQ(refusal("sum", R"({"values": [1e308, 1e308]})"), "values: the sum is not finite");
  EXPECT_EQ(refusal("sum", R"({"values": "1,2"})"),
            "values: must be an array of at most 100000 numbers");
  EXPECT_EQ(refusal("sum", R"({})"), "values: is required");
  EXPECT_EQ(refusal("sum", R"({"values": [1], "extra": 2})"),
            "extra: is not a parameter of this type");
}

TEST_F(Builtins, MultiplyRefusesIntegerOverflowInsteadOfRounding) {
  EXPECT_EQ(result("multiply", R"({"values": [2, 3, 7]})"), json::parse(R"({"product": 42})"));
  EXPECT_EQ(result("multiply", R"({"values": []})"), json::parse(R"({"product": 1})"));
  EXPECT_EQ(result("multiply", R"({"values": [-4, 2.5]})"), json::parse(R"({"product": -10.0})"));
  EXPECT_EQ(result("multiply", R"({"values": [4294967296, 2147483647]})"),
            json::parse(R"({"product": 9223372032559808512})"));
  EXPECT_EQ(refusal("multiply", R"({"values": [4294967296, 4294967296]})"),
            "values: the product of these integers overflows a 64-bit integer (write the values "
            "as decimals, e.g. 2.0, for floating-point arithmetic)");
  EXPECT_EQ(result("multiply", R"({"values": [4294967296.0, 4294967296]})"),
            json::parse(R"({"product": 18446744073709551616.0})"));
  // A run that skipped validation still refuses, as a permanent failure.
  const auto outcome =
      type("multiply").run(json::parse(R"({"values": [4294967296, 4294967296]})").as_object(), {});
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.failure, FailureKind::bad_params);
}

TEST_F(Builtins, SortOrdersNumbersEitherWay) {
  EXPECT_EQ(result("sort", R"({"values": [3, -1, 2.5, 0, 10]})"),
            json::parse(R"({"values": [-1, 0, 2.5, 3, 10]})"));
  EXPECT_EQ(result("sort", R"({"values": [3, -1, 2.5, 0, 10], "descending": true})"),
            json::parse(R"({"values": [10, 3, 2.5, 0, -1]})"));
  EXPECT_EQ(result("sort", R"({"values": [9007199254740993, 9007199254740992]})"),
            json::parse(R"({"values": [9007199254740992, 9007199254740993]})"));
  EXPECT_EQ(result("sort", R"({"values": []})"), json::parse(R"({"values": []})"));
  EXPECT_EQ(refusal("sort", R"({"values": [1], "descending": "yes"})"),
            "descending: must be true or false");
}

TEST_F(Builtins, ReverseKeepsUtf8CharactersWhole) {
  EXPECT_EQ(result("reverse", R"({"text": "hello"})"), json::parse(R"({"text": "olleh"})"));
  EXPECT_EQ(result("reverse", R"({"text": ""})"), json::parse(R"({"text": ""})"));
  EXPECT_EQ(result("reverse", R"({"text": "añ€😀b"})"), json::parse(R"({"text": "b😀€ña"})"));
  EXPECT_EQ(refusal("reverse", R"({"text": 12})"),
            "text: must be a string of at most 1048576 bytes");
}

TEST_F(Builtins, Sha256MatchesTheStandardVectors) {
  EXPECT_EQ(result("sha256", R"({"text": "abc"})").at("sha256"),
            json::value("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  EXPECT_EQ(result("sha256", R"({"text": ""})").at("sha256"),
            json::value("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
  EXPECT_EQ(refusal("sha256", R"({})"), "text: is required");
}

TEST_F(Builtins, PrimesCountsThePrimesBelowTheLimit) {
  EXPECT_EQ(result("primes", R"({"limit": 2})"), json::parse(R"({"count": 0})"));
  EXPECT_EQ(result("primes", R"({"limit": 3})"), json::parse(R"({"count": 1})"));
  EXPECT_EQ(result("primes", R"({"limit": 11})"), json::parse(R"({"count": 4})"));
  EXPECT_EQ(result("primes", R"({"limit": 1000})"), json::parse(R"({"count": 168})"));
  EXPECT_EQ(result("primes", R"({"limit": 1000000})"), json::parse(R"({"count": 78498})"));
  EXPECT_EQ(result("primes", R"({"limit": 10000000})"), json::parse(R"({"count": 664579})"));
  EXPECT_EQ(refusal("primes", R"({"limit": 1})"), "limit: must be an integer in [2, 10000000]");
  EXPECT_EQ(refusal("primes", R"({"limit": 10000001})"),
            "limit: must be an integer in [2, 10000000]");
  EXPECT_EQ(refusal("primes", R"({"limit": 100.0})"), "limit: must be an integer in [2, 10000000]");
}

TEST_F(Builtins, PiGivesTheRequestedDecimals) {
  EXPECT_EQ(result("pi", R"({"digits": 1})"), json::parse(R"({"digits": 1, "pi": "3.1"})"));
  EXPECT_EQ(result("pi", R"({"digits": 20})").at("pi"), json::value("3.14159265358979323846"));
  EXPECT_EQ(refusal("pi", R"({"digits": 0})"), "digits: must be an integer in [1, 10000]");
  EXPECT_EQ(refusal("pi", R"({"digits": 10001})"), "digits: must be an integer in [1, 10000]");
}

TEST_F(Builtins, MineFindsTheFirstNonceWithTheZeroPrefix) {
  // Known answers computed independently (Python hashlib).
  EXPECT_EQ(result("mine", R"({"data": "isla", "difficulty": 4})"),
            json::parse(R"({"nonce": 76494, "hash":
                "0000912926f7d50d9a30960caefd5e661b6316b82e49563498fb7cbb33c9b63a"})"));
  const auto easy = result("mine", R"({"data": "", "difficulty": 1})");
  EXPECT_EQ(easy.at("hash").as_string().front(), '0');
  EXPECT_EQ(refusal("mine", R"({"data": "x", "difficulty": 8})"),
            "difficulty: must be an integer in [1, 7]");
  EXPECT_EQ(refusal("mine", R"({"data": "x", "difficulty": 0})"),
            "difficulty: must be an integer in [1, 7]");
  EXPECT_EQ(refusal("mine", R"({"difficulty": 3})"), "data: is required");
}

TEST_F(Builtins, SleepSleepsAtLeastTheTimeAsked) {
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(result("sleep", R"({"ms": 50})"), json::parse(R"({"slept_ms": 50})"));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
  EXPECT_EQ(refusal("sleep", R"({"ms": -1})"), "ms: must be an integer in [0, 600000]");
  EXPECT_EQ(refusal("sleep", R"({"ms": 600001})"), "ms: must be an integer in [0, 600000]");
}

TEST_F(Builtins, ALongRunStopsWhenAskedAndSaysCancelled) {
  std::atomic<bool> stop{false};
  TaskOutcome outcome;
  std::thread runner([&] { outcome = run("sleep", R"({"ms": 600000})", stopped_by(&stop)); });
  const auto asked = std::chrono::steady_clock::now();
  stop = true;
  runner.join();
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 10s);
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.failure, FailureKind::cancelled);
}

TEST_F(Builtins, LongRunsEndAtTheirDeadlineAsLimitWall) {
  const auto past = std::chrono::steady_clock::now() - 1ms;
  for (const char* params : {R"({"ms": 600000})"}) {
    const auto outcome = run("sleep", params, until(past));
    EXPECT_EQ(outcome.failure, FailureKind::limit_wall) << outcome.error;
  }
  EXPECT_EQ(run("primes", R"({"limit": 10000000})", until(past)).failure, FailureKind::limit_wall);
  EXPECT_EQ(run("pi", R"({"digits": 10000})", until(past)).failure, FailureKind::limit_wall);
  EXPECT_EQ(run("mine", R"({"data": "x", "difficulty": 7})", until(past)).failure,
            FailureKind::limit_wall);
}

TEST_F(Builtins, RunRechecksParameters) {
  const auto outcome = type("primes").run(json::object{{"limit", "many"}}, {});
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.failure, FailureKind::bad_params);
  EXPECT_EQ(outcome.error, "limit: must be an integer in [2, 10000000]");
}

}  // namespace
}  // namespace isla::tasks
