// What `isla task run` makes of key=value words: read by the field's schema type, inferred
// without one, and every malformed word refused with a message naming it.
#include "app/task_params.hpp"

#include <gtest/gtest.h>

namespace isla::app {
namespace {

namespace json = boost::json;

const json::object kSchema = json::parse(R"({
  "values": {"type": "array"}, "limit": {"type": "integer"}, "ratio": {"type": "number"},
  "text": {"type": "string"}, "descending": {"type": "boolean"}, "options": {"type": "object"}
})")
                                 .as_object();

json::object built(const std::vector<std::string>& words, std::string_view params_json = "") {
  std::string error;
  auto params = build_params(params_json, words, &kSchema, &error);
  EXPECT_TRUE(params) << error;
  return params.value_or(json::object{});
}

std::string refusal(const std::vector<std::string>& words, std::string_view params_json = "") {
  std::string error;
  auto params = build_params(params_json, words, &kSchema, &error);
  EXPECT_FALSE(params) << json::serialize(*params);
  return error;
}

TEST(TaskParams, WordsAreReadByTheirFieldsType) {
  EXPECT_EQ(built({"values=1,2.5,x", "limit=1000", "ratio=0.25", "text=12", "descending=true"}),
            json::parse(R"({"values":[1,2.5,"x"],"limit":1000,"ratio":0.25,"text":"12",
                            "descending":true})"));
  EXPECT_EQ(built({"values=[1,[2]]"}), json::parse(R"({"values":[1,[2]]})"));
  EXPECT_EQ(built({"values="}), json::parse(R"({"values":[]})"));
  EXPECT_EQ(built({"text="}), json::parse(R"({"text":""})"));
  EXPECT_EQ(built({"text=a=b"}), json::parse(R"({"text":"a=b"})"));
  EXPECT_EQ(built({"ratio=3"}), json::parse(R"({"ratio":3})"));
  EXPECT_EQ(built({"options={\"a\":1}"}), json::parse(R"({"options":{"a":1}})"));
}

TEST(TaskParams, UnknownFieldsAreInferredAndColonEqualsTakesJson) {
  EXPECT_EQ(built({"n=7", "s=seven", "b=false", "l=[1]", "q=\"7\""}),
            json::parse(R"({"n":7,"s":"seven","b":false,"l":[1],"q":"\"7\""})"));
  EXPECT_EQ(built({"text:=\"quoted\"", "limit:=5"}), json::parse(R"({"text":"quoted","limit":5})"));
  std::string error;
  auto without_schema = build_params("", {"limit=5", "text=hi"}, nullptr, &error);
  ASSERT_TRUE(without_schema);
  EXPECT_EQ(*without_schema, json::parse(R"({"limit":5,"text":"hi"})"));
}

TEST(TaskParams, ParamsJsonIsTheBaseTheWordsAddTo) {
  EXPECT_EQ(built({"limit=5"}, R"({"text":"x"})"), json::parse(R"({"text":"x","limit":5})"));
  EXPECT_NE(refusal({}, "[1]").find("--params must be a JSON object"), std::string::npos);
  EXPECT_NE(refusal({}, "{").find("--params"), std::string::npos);
}

TEST(TaskParams, MalformedWordsAreRefusedWithTheirName) {
  EXPECT_EQ(refusal({"limit=ten"}), "limit: 'ten' is not an integer");
  EXPECT_EQ(refusal({"limit=1.5"}), "limit: '1.5' is not an integer");
  EXPECT_EQ(refusal({"ratio=1e999"}), "ratio: '1e999' is not a number");
  EXPECT_EQ(refusal({"descending=yes"}), "descending: 'yes' is not true or false");
  EXPECT_EQ(refusal({"values=[1"}), "values: '[1' is not a JSON array");
  EXPECT_EQ(refusal({"options=1"}), "options: '1' is not a JSON object");
  EXPECT_EQ(refusal({"limit"}), "'limit' is not key=value (or key:=JSON)");
  EXPECT_EQ(refusal({"=5"}), "'=5' has no key before '='");
  EXPECT_EQ(refusal({"limit=1", "limit=2"}), "limit is given twice");
  EXPECT_EQ(refusal({"limit:=nope"}), "limit: 'nope' is not JSON");
}

TEST(TaskParams, PercentilesAreNearestRank) {
  std::vector<std::int64_t> none;
  EXPECT_EQ(percentile(none, 50), 0);
  std::vector<std::int64_t> values;
  for (int i = 100; i >= 1; --i) values.push_back(i);
  EXPECT_EQ(percentile(values, 50), 50);
  EXPECT_EQ(percentile(values, 99), 99);
  EXPECT_EQ(percentile(values, 100), 100);
  std::vector<std::int64_t> one{7};
  EXPECT_EQ(percentile(one, 99), 7);
}

}  // namespace
}  // namespace isla::app
