// The KV API's request bodies: the documented forms parse, and each malformed shape is
// refused with a 400 that names the field (413 for a value over the limit).
#include "store/kv_json.hpp"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace isla::store {
namespace {

KvLimits small_limits() {
  KvLimits limits;
  limits.max_key_bytes = 16;
  limits.max_value_bytes = 8;
  limits.max_txn_ops = 4;
  return limits;
}

template <class T>
KvRequestError error_of(const std::variant<T, KvRequestError>& parsed) {
  if (const auto* error = std::get_if<KvRequestError>(&parsed)) return *error;
  ADD_FAILURE() << "parsed, but should have been refused";
  return {};
}

template <class T>
T value_of(std::variant<T, KvRequestError> parsed) {
  if (const auto* error = std::get_if<KvRequestError>(&parsed)) {
    ADD_FAILURE() << "refused (" << error->status << "): " << error->message;
    return {};
  }
  return std::get<T>(std::move(parsed));
}

TEST(KvJsonPut, AcceptsTheDocumentedForms) {
  auto op = value_of(parse_put("k", R"({"value":"v"})", {}));
  EXPECT_EQ(op.kind, RequestOp::Kind::put);
  EXPECT_EQ(op.key, "k");
  EXPECT_EQ(op.value, "v");
  EXPECT_EQ(op.lease, 0);

  op = value_of(parse_put("dir/ключ", R"({"value":"","lease":42})", {}));
  EXPECT_EQ(op.key, "dir/ключ");
  EXPECT_EQ(op.value, "");
  EXPECT_EQ(op.lease, 42);

  op = value_of(parse_put("k", R"({"value":"a\nb\u00e9\u0000"})", {}));
  EXPECT_EQ(op.value, std::string("a\nb\xc3\xa9\0", 6));
}

TEST(KvJsonPut, RejectsEachMalformedShapeNamingTheField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "the body is not valid JSON"},
      {"value=v", "the body is not valid JSON"},
      {R"({"value":"v")", "the body is not valid JSON"},
      {R"(["v"])", "the body must be a JSON object"},
      {R"("v")", "the body must be a JSON object"},
      {"{}", R"(the body: "value" is required)"},
      {R"({"value":1})", R"(the body: "value" must be a string)"},
      {R"({"value":null})", R"(the body: "value" must be a string)"},
      {R"({"value":"v","lease":"1"})", R"(the body: "lease" must be an integer)"},
      {R"({"value":"v","lease":1.5})", R"(the body: "lease" must be an integer)"},
      {R"({"value":"v","lease":18446744073709551615})", R"("lease" must be an integer)"},
      {R"({"value":"v","ttl":5})", R"(the body: unknown field "ttl")"},
  };
  for (const auto& [body, message] : cases) {
    const auto error = error_of(parse_put("k", body, {}));
    EXPECT_EQ(error.status, 400) << body;
    EXPECT_NE(error.message.find(message), std::string::npos)
        << body << " -> " << error.message << "\nexpected: " << message;
  }
  const auto empty_key = error_of(parse_put("", R"({"value":"v"})", {}));
  EXPECT_EQ(empty_key.status, 400);
  EXPECT_EQ(empty_key.message, "the key is empty");
}

TEST(KvJsonPut, ValuesOverTheLimitAre413) {
  const auto limits = small_limits();
  EXPECT_EQ(value_of(parse_put("k", R"({"value":"12345678"})", limits)).value, "12345678");
  const auto error = error_of(parse_put("k", R"({"value":"123456789"})", limits));
  EXPECT_EQ(error.status, 413);
  EXPECT_EQ(error.message, "the value is 9 bytes; the limit is 8");
}

TEST(KvJsonTxn, AcceptsTheDocumentedForm) {
  const auto txn = value_of(parse_txn(R"({
    "compare": [
      {"key": "a", "target": "value", "result": "equal", "value": "x"},
      {"key": "b", "target": "version", "result": "not_equal", "value": 0},
      {"key": "c", "target": "create_revision", "result": "less", "value": 10},
      {"key": "d", "target": "mod_revision", "result": "greater", "value": 9223372036854775807},
      {"key": "e", "target": "version", "value": 2}
    ],
    "success": [
      {"op": "put", "key": "a", "value": "y", "lease": 7},
      {"op": "get", "key": "a"},
      {"op": "range", "prefix": "dir/"},
      {"op": "delete", "key": "b"},
      {"op": "delete_range", "prefix": ""}
    ],
    "failure": [{"op": "range", "prefix": ""}]
  })",
                                      {}));
  ASSERT_EQ(txn.compares.size(), 5u);
  EXPECT_EQ(txn.compares[0].key, "a");
  EXPECT_EQ(txn.compares[0].target, Compare::Target::value);
  EXPECT_EQ(txn.compares[0].result, Compare::Result::equal);
  EXPECT_EQ(txn.compares[0].value, "x");
  EXPECT_EQ(txn.compares[1].target, Compare::Target::version);
  EXPECT_EQ(txn.compares[1].result, Compare::Result::not_equal);
  EXPECT_EQ(txn.compares[1].number, 0);
  EXPECT_EQ(txn.compares[2].target, Compare::Target::create_revision);
  EXPECT_EQ(txn.compares[2].result, Compare::Result::less);
  EXPECT_EQ(txn.compares[2].number, 10);
  EXPECT_EQ(txn.compares[3].target, Compare::Target::mod_revision);
  EXPECT_EQ(txn.compares[3].result, Compare::Result::greater);
  EXPECT_EQ(txn.compares[3].number, INT64_MAX);
  EXPECT_EQ(txn.compares[4].result, Compare::Result::equal);  // the default

  ASSERT_EQ(txn.success.size(), 5u);
  EXPECT_EQ(txn.success[0].kind, RequestOp::Kind::put);
  EXPECT_EQ(txn.success[0].value, "y");
  EXPECT_EQ(txn.success[0].lease, 7);
  EXPECT_EQ(txn.success[1].kind, RequestOp::Kind::get);
  EXPECT_EQ(txn.success[1].key, "a");
  EXPECT_EQ(txn.success[2].kind, RequestOp::Kind::range);
  EXPECT_EQ(txn.success[2].key, "dir/");
  EXPECT_EQ(txn.success[3].kind, RequestOp::Kind::del);
  EXPECT_EQ(txn.success[4].kind, RequestOp::Kind::del_range);
  EXPECT_EQ(txn.success[4].key, "");
  ASSERT_EQ(txn.failure.size(), 1u);
  EXPECT_EQ(txn.failure[0].kind, RequestOp::Kind::range);

  // Any one of the three parts is enough.
  EXPECT_EQ(value_of(parse_txn(R"({"success":[{"op":"get","key":"a"}]})", {})).success.size(), 1u);
  EXPECT_EQ(value_of(parse_txn(R"({"failure":[{"op":"delete","key":"a"}]})", {})).failure.size(),
            1u);
  EXPECT_EQ(value_of(parse_txn(R"({"compare":[{"key":"a","target":"version","value":0}]})", {}))
                .compares.size(),
            1u);
}

TEST(KvJsonTxn, RejectsEachMalformedShapeNamingTheField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "the transaction is not valid JSON"},
      {"[]", "the transaction must be a JSON object"},
      {"{}", "the transaction is empty"},
      {R"({"compare":[],"success":[]})", "the transaction is empty"},
      {R"({"compare":[],"oops":[]})", R"(the transaction: unknown field "oops")"},
      {R"({"compare":{}})", R"("compare" must be an array)"},
      {R"({"compare":[1]})", "compare[0] must be an object"},
      {R"({"compare":[{"target":"value","value":"x"}]})", R"(compare[0]: "key" is required)"},
      {R"({"compare":[{"key":1,"target":"value","value":"x"}]})",
       R"(compare[0]: "key" must be a string)"},
      {R"({"compare":[{"key":"a","value":"x"}]})", R"(compare[0]: "target" is required)"},
      {R"({"compare":[{"key":"a","target":"size","value":1}]})",
       R"(compare[0]: "target" must be one of value, version, create_revision, mod_revision)"},
      {R"({"compare":[{"key":"a","target":"version","result":"eq","value":1}]})",
       R"(compare[0]: "result" must be one of equal, not_equal, less, greater)"},
      {R"({"compare":[{"key":"a","target":"version"}]})", R"(compare[0]: "value" is required)"},
      {R"({"compare":[{"key":"a","target":"value"}]})", R"(compare[0]: "value" is required)"},
      {R"({"compare":[{"key":"a","target":"version","value":"1"}]})",
       R"(compare[0]: "value" must be an integer)"},
      {R"({"compare":[{"key":"a","target":"mod_revision","value":1.5}]})",
       R"(compare[0]: "value" must be an integer)"},
      {R"({"compare":[{"key":"a","target":"value","value":1}]})",
       R"(compare[0]: "value" must be a string)"},
      {R"({"compare":[{"key":"a","target":"value","value":"x","op":"get"}]})",
       R"(compare[0]: unknown field "op")"},
      {R"({"compare":[{"key":"","target":"version","value":0}]})", "compare[0]: the key is empty"},
      {R"({"success":{}})", R"("success" must be an array)"},
      {R"({"failure":"get"})", R"("failure" must be an array)"},
      {R"({"success":["get"]})", "success[0] must be an object"},
      {R"({"success":[{"key":"a"}]})", R"(success[0]: "op" is required)"},
      {R"({"success":[{"op":"get","key":"a"},{"op":"upsert","key":"a"}]})",
       R"(success[1]: "op" must be one of get, range, put, delete, delete_range)"},
      {R"({"success":[{"op":"get"}]})", R"(success[0]: "key" is required)"},
      {R"({"success":[{"op":"get","key":""}]})", "success[0]: the key is empty"},
      {R"({"failure":[{"op":"range","key":"a"}]})", R"(failure[0]: "prefix" is required)"},
      {R"({"failure":[{"op":"delete_range"}]})", R"(failure[0]: "prefix" is required)"},
      {R"({"success":[{"op":"put","key":"a"}]})", R"(success[0]: "value" is required)"},
      {R"({"success":[{"op":"put","key":"a","value":["v"]}]})",
       R"(success[0]: "value" must be a string)"},
      {R"({"success":[{"op":"put","key":"a","value":"v","lease":"7"}]})",
       R"(success[0]: "lease" must be an integer)"},
      {R"({"success":[{"op":"get","key":"a","ttl":1}]})", R"(success[0]: unknown field "ttl")"},
  };
  for (const auto& [body, message] : cases) {
    const auto error = error_of(parse_txn(body, {}));
    EXPECT_EQ(error.status, 400) << body;
    EXPECT_NE(error.message.find(message), std::string::npos)
        << body << " -> " << error.message << "\nexpected: " << message;
  }
}

TEST(KvJsonTxn, LimitsOnPartsKeysAndValues) {
  const auto limits = small_limits();
  const auto parts = error_of(parse_txn(R"({
    "compare": [{"key":"a","target":"version","value":0}, {"key":"b","target":"version","value":0}],
    "success": [{"op":"get","key":"a"}, {"op":"get","key":"b"}],
    "failure": [{"op":"get","key":"c"}]})",
                                        limits));
  EXPECT_EQ(parts.status, 400);
  EXPECT_EQ(parts.message, "the transaction has 5 parts; the limit is 4");

  const auto value =
      error_of(parse_txn(R"({"success":[{"op":"put","key":"a","value":"123456789"}]})", limits));
  EXPECT_EQ(value.status, 413);
  EXPECT_EQ(value.message, "the value is 9 bytes; the limit is 8");

  const auto key =
      error_of(parse_txn(R"({"success":[{"op":"get","key":"12345678901234567"}]})", limits));
  EXPECT_EQ(key.status, 400);
  EXPECT_EQ(key.message, "success[0]: the key is 17 bytes; the limit is 16");
}

TEST(KvJsonCheckKey, LengthLimit) {
  const auto limits = small_limits();
  EXPECT_FALSE(check_key("a", limits));
  EXPECT_FALSE(check_key(std::string(16, 'k'), limits));
  const auto error = check_key(std::string(17, 'k'), limits);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->status, 400);
  EXPECT_EQ(error->message, "the key is 17 bytes; the limit is 16");
  ASSERT_TRUE(check_key("", limits));
  EXPECT_EQ(check_key("", limits)->message, "the key is empty");
  // Bytes, not characters: five two-byte letters are ten bytes.
  EXPECT_FALSE(check_key("ключи", limits));
  EXPECT_TRUE(check_key("ключиключи", limits));
}

TEST(KvJsonCheckKey, MustBeValidUtf8) {
  for (const std::string key : {"dir/ключ", "😀", "a b/c%d", "\x7f"}) {
    EXPECT_FALSE(check_key(key, {})) << key;
  }
  const std::vector<std::string> invalid = {
      "\xff",              // never a UTF-8 byte
      "a\x80",             // a continuation without a lead
      "\xe2\x82",          // cut short
      "\xc0\xaf",          // overlong '/'
      "\xe0\x80\xaf",      // overlong, three bytes
      "\xed\xa0\x80",      // a UTF-16 surrogate
      "\xf4\x90\x80\x80",  // beyond U+10FFFF
  };
  for (const auto& key : invalid) {
    const auto error = check_key(key, {});
    ASSERT_TRUE(error) << ::testing::PrintToString(key);
    EXPECT_EQ(error->status, 400);
    EXPECT_EQ(error->message, "the key is not valid UTF-8");
  }
}

TEST(KvJson, ResponsesCarryEveryField) {
  const KeyValue kv{"k", "v", 2, 5, 3, 9};
  EXPECT_EQ(
      boost::json::serialize(to_json(kv)),
      R"({"key":"k","value":"v","create_revision":2,"mod_revision":5,"version":3,"lease":9})");
  Event event{Event::Type::del, KeyValue{"k", "", 0, 6, 0, 0}};
  const auto event_json = to_json(event);
  EXPECT_EQ(event_json.at("type").as_string(), "delete");
  EXPECT_EQ(event_json.at("kv").at("mod_revision").as_int64(), 6);

  TxnResult result;
  result.succeeded = false;
  result.revision = 8;
  result.results = {{{kv}, 0}, {{}, 2}};
  const auto body = to_json(result);
  EXPECT_FALSE(body.at("succeeded").as_bool());
  EXPECT_EQ(body.at("revision").as_int64(), 8);
  ASSERT_EQ(body.at("results").as_array().size(), 2u);
  EXPECT_EQ(body.at("results").as_array()[0].at("kvs").as_array()[0].at("key").as_string(), "k");
  EXPECT_EQ(body.at("results").as_array()[1].at("deleted").as_int64(), 2);
}

}  // namespace
}  // namespace isla::store
