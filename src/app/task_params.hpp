#pragma once
// What `isla task run` and `isla task batch` make of their arguments: task parameters from
// `--params JSON` and `key=value` words, and the latency percentiles of a batch's summary.
//
// A `key=value` word is read by the type of the field in the type's schema
// (GET /api/task-types):
//   string   the text as it is ("text=12" is the string "12")
//   integer  a whole number; number: any finite number
//   boolean  true or false
//   array    a JSON array ("values=[1,2]"), or comma-separated items ("values=1,2,3", each
//            item a number when it reads as one, true/false, else a string); empty is []
//   object   JSON
// A field the schema does not know (or without a schema) is JSON when the text is a JSON
// number, true, false, null, array or object, and a string otherwise. `key:=JSON` always
// takes JSON. `--params` gives an object the words then add to (a word may not repeat a key).
#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace isla::app {

// The value of one word's text for a field of schema type `type` ("" when unknown); nullopt
// with `error` set when the text is not of that type.
std::optional<boost::json::value> param_value(std::string_view text, std::string_view type,
                                              std::string* error);

// The parameters of `params_json` (empty: {}) and `words`; `schema` is the type's "params"
// object (null: none known). nullopt with `error` saying which word is wrong and why.
std::optional<boost::json::object> build_params(std::string_view params_json,
                                                const std::vector<std::string>& words,
                                                const boost::json::object* schema,
                                                std::string* error);

// The nearest-rank percentile `p` (0 < p <= 100) of `values`; 0 for none. Sorts `values`.
std::int64_t percentile(std::vector<std::int64_t>& values, double p);

}  // namespace isla::app
