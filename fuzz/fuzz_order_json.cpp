// Fuzzes what the orders service reads from outside: the API's bodies (a create, an add) and
// the records it keeps in the store (orders and their listing summaries). None may crash; a
// refusal must name its problem; an accepted add must be within the rules; a record accepted
// must survive encode -> decode, and the rules applied to it must keep it decodable.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "core/names.hpp"
#include "invariant.hpp"
#include "orders/order_json.hpp"

namespace orders = isla::orders;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const orders::OrderLimits limits;

  auto add = orders::parse_add(input, limits);
  if (const auto* error = std::get_if<orders::ApiError>(&add)) {
    if (error->message.empty()) fail("an add refused without a reason");
    if (error->status != 400 && error->status != 413) fail("an add refused with an odd status");
  } else {
    const auto& request = std::get<orders::AddRequest>(add);
    if (!isla::core::valid_figure_name(request.figure)) fail("accepted a bad figure name");
    if (request.quantity < 1 || request.quantity > limits.max_quantity) {
      fail("accepted a quantity out of range");
    }
    if (!orders::is_idempotency_key(request.key)) fail("accepted a bad idempotency key");
  }
  auto create = orders::parse_create(input);
  if (const auto* body = std::get_if<orders::CreateBody>(&create)) {
    if (!body->idempotency_key.empty() && !orders::is_idempotency_key(body->idempotency_key)) {
      fail("accepted a bad create key");
    }
  } else if (std::get<orders::ApiError>(create).message.empty()) {
    fail("a create refused without a reason");
  }

  if (auto order = orders::decode_order(input)) {
    auto again = orders::decode_order(orders::encode_order(*order));
    if (!again || !(*again == *order)) fail("an order record did not round-trip");
    const orders::AddRequest request{"owl", 1, "fuzz-key"};
    for (const auto& step : {orders::add_item(*order, request, limits, 1),
                             orders::remove_item(*order, 1, 1), orders::checkout(*order, 1)}) {
      if (step.verdict == orders::Verdict::write &&
          !orders::decode_order(orders::encode_order(step.next))) {
        fail("a rule made an order that does not decode");
      }
    }
    (void)orders::order_json(*order, 1);
  }
  if (auto summary = orders::decode_summary(input)) {
    if (orders::decode_summary(orders::encode_summary(*summary)) != summary) {
      fail("a summary did not round-trip");
    }
  }
  return 0;
}
