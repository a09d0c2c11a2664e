#include "tasks/types/param_schema.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace isla::tasks {
namespace {

namespace json = boost::json;

// A field in a line: designated initializers would have to name every member under -Wextra.
struct Field {
  Field(const char* name, ParamType type) {
    field.name = name;
    field.type = type;
  }
  Field& required() {
    field.required = true;
    return *this;
  }
  Field& min(double value) {
    field.min = value;
    return *this;
  }
  Field& max(double value) {
    field.max = value;
    return *this;
  }
  Field& max_length(std::size_t value) {
    field.max_length = value;
    return *this;
  }
  Field& max_items(std::size_t value) {
    field.max_items = value;
    return *this;
  }
  Field& by_default(json::value value) {
    field.default_value = std::move(value);
    return *this;
  }
  Field& described(const char* text) {
    field.description = text;
    return *this;
  }
  operator ParamField() const { return field; }
  ParamField field;
};

ParamSchema sample_schema() {
  ParamSchema schema;
  schema.add(Field("limit", ParamType::integer)
                 .required()
                 .min(2)
                 .max(10'000'000)
                 .described("upper bound"));
  schema.add(Field("ratio", ParamType::number).min(0).max(1.5));
  schema.add(Field("text", ParamType::string).max_length(5));
  schema.add(Field("flag", ParamType::boolean).by_default(true));
  schema.add(Field("values", ParamType::array).max_items(3));
  return schema;
}

std::vector<ParamError> check(const char* text) {
  return sample_schema().validate(json::parse(text));
}

TEST(ParamSchema, AcceptsGoodParameters) {
  EXPECT_TRUE(check(R"({"limit": 2})").empty());
  EXPECT_TRUE(check(R"({"limit": 10000000, "ratio": 1.5, "text": "abcde", "flag": false,
                       "values": [1, 2.5, -3]})")
                  .empty());
  EXPECT_TRUE(check(R"({"limit": 7, "ratio": 0})").empty());
}

TEST(ParamSchema, NonObjectParametersAreOneError) {
  for (const char* text : {"[]", "3", "null", "\"limit\""}) {
    const auto errors = check(text);
    ASSERT_EQ(errors.size(), 1u) << text;
    EXPECT_EQ(errors[0].field, "params");
    EXPECT_EQ(errors[0].rule, "must be an object");
  }
}

TEST(ParamSchema, EachRuleNamesItsFieldAndRule) {
  struct Case {
    const char* params;
    const char* field;
    const char* rule;
  };
  const Case cases[] = {
      {R"({})", "limit", "is required"},
      {R"({"limit": 1})", "limit", "must be an integer in [2, 10000000]"},
      {R"({"limit": 10000001})", "limit", "must be an integer in [2, 10000000]"},
      {R"({"limit": 5.5})", "limit", "must be an integer in [2, 10000000]"},
      {R"({"limit": "5"})", "limit", "must be an integer in [2, 10000000]"},
      {R"({"limit": 18446744073709551615})", "limit", "must be an integer in [2, 10000000]"},
      {R"({"limit": 5, "ratio": 1.6})", "ratio", "must be a number in [0, 1.5]"},
      {R"({"limit": 5, "ratio": -0.1})", "ratio", "must be a number in [0, 1.5]"},
      {R"({"limit": 5, "ratio": true})", "ratio", "must be a number in [0, 1.5]"},
      {R"({"limit": 5, "text": "abcdef"})", "text", "must be a string of at most 5 bytes"},
      {R"({"limit": 5, "text": 5})", "text", "must be a string of at most 5 bytes"},
      {R"({"limit": 5, "flag": 1})", "flag", "must be true or false"},
      {R"({"limit": 5, "values": [1, 2, 3, 4]})", "values",
       "must be an array of at most 3 numbers"},
      {R"({"limit": 5, "values": [1, "2"]})", "values", "must be an array of at most 3 numbers"},
      {R"({"limit": 5, "values": {"a": 1}})", "values", "must be an array of at most 3 numbers"},
      {R"({"limit": 5, "limt": 5})", "limt", "is not a parameter of this type"},
      {R"({"limit": 5, "": 5})", "params", "holds a field with an empty name"},
  };
  for (const auto& test : cases) {
    const auto errors = check(test.params);
    ASSERT_EQ(errors.size(), 1u) << test.params;
    EXPECT_EQ(errors[0].field, test.field) << test.params;
    EXPECT_EQ(errors[0].rule, test.rule) << test.params;
  }
}

TEST(ParamSchema, ReportsEveryBrokenRuleInFieldOrderThenUnknownFields) {
  const auto errors = check(R"({"zzz": 1, "text": "toolong", "ratio": 9})");
  ASSERT_EQ(errors.size(), 4u);
  EXPECT_EQ(errors[0].field, "limit");
  EXPECT_EQ(errors[1].field, "ratio");
  EXPECT_EQ(errors[2].field, "text");
  EXPECT_EQ(errors[3].field, "zzz");
  EXPECT_EQ(errors[0].message(), "limit: is required");
}

TEST(ParamSchema, UndeclaredBoundsStillCapStringsAndArrays) {
  ParamSchema schema;
  schema.add(Field("text", ParamType::string));
  schema.add(Field("values", ParamType::array).max_items(10'000'000));
  EXPECT_EQ(rule_text(*schema.find("text")), "must be a string of at most 1048576 bytes");
  EXPECT_EQ(rule_text(*schema.find("values")), "must be an array of at most 100000 numbers");
  json::object params{{"text", std::string(kMaxStringBytes + 1, 'a')}};
  EXPECT_EQ(schema.validate(params).size(), 1u);
  params["text"] = std::string(kMaxStringBytes, 'a');
  EXPECT_TRUE(schema.validate(params).empty());
  json::array items;
  items.resize(kMaxArrayItems + 1, json::value(1));
  EXPECT_EQ(schema.validate(json::object{{"values", items}}).size(), 1u);
}

TEST(ParamSchema, ALongUnknownNameIsCutShortInTheError) {
  const auto errors =
      sample_schema().validate(json::object{{"limit", 5}, {std::string(1000, 'k'), 1}});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, std::string(64, 'k') + "…");
}

TEST(ParamSchema, FillsDefaultsOnlyWhereAbsent) {
  const auto schema = sample_schema();
  const auto filled = schema.with_defaults(json::object{{"limit", 3}});
  EXPECT_EQ(filled.at("flag"), json::value(true));
  EXPECT_FALSE(filled.contains("ratio"));
  EXPECT_EQ(schema.with_defaults(json::object{{"flag", false}}).at("flag"), json::value(false));
}

TEST(ParamSchema, DescribesItselfAsJson) {
  const auto described = sample_schema().to_json();
  EXPECT_EQ(described.at("limit"), json::parse(R"({"type": "integer", "required": true, "min": 2,
      "max": 10000000, "description": "upper bound"})"));
  EXPECT_EQ(described.at("ratio").at("max"), json::value(1.5));
  EXPECT_EQ(described.at("text").at("max_length"), json::value(5));
  EXPECT_FALSE(described.at("text").as_object().contains("min"));
  EXPECT_EQ(described.at("flag").at("default"), json::value(true));
  EXPECT_EQ(described.at("values").at("type"), json::value("array"));
  EXPECT_EQ(described.at("values").at("max_items"), json::value(3));
}

TEST(ParamSchema, RefusesSchemasThatMakeNoSense) {
  ParamSchema schema;
  schema.add(Field("a", ParamType::integer));
  EXPECT_THROW(schema.add(Field("a", ParamType::integer)), std::invalid_argument);
  EXPECT_THROW(schema.add(Field("", ParamType::integer)), std::invalid_argument);
  EXPECT_THROW(schema.add(Field("b", ParamType::integer).min(5).max(4)), std::invalid_argument);
  EXPECT_THROW(schema.add(Field("c", ParamType::string).min(1)), std::invalid_argument);
  EXPECT_THROW(schema.add(Field("d", ParamType::integer).max_length(4)), std::invalid_argument);
  EXPECT_THROW(schema.add(Field("e", ParamType::integer).max(3).by_default(4)),
               std::invalid_argument);
}

TEST(ParamSchema, TypeNamesRoundTrip) {
  for (auto type : {ParamType::string, ParamType::integer, ParamType::number, ParamType::boolean,
                    ParamType::array}) {
    EXPECT_EQ(param_type_from(to_string(type)), type);
  }
  EXPECT_FALSE(param_type_from("float").has_value());
}

}  // namespace
}  // namespace isla::tasks
