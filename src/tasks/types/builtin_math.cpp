// primes (how many primes are below a limit: a sieve of Eratosthenes) and pi (N decimals by
// Machin's formula, pi = 16 atan(1/5) - 4 atan(1/239), in base-10^9 fixed point with guard
// digits, so the printed digits are exact truncations). Both poll RunContext between steps.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tasks/types/builtin_type.hpp"

namespace isla::tasks {

namespace json = boost::json;

namespace {

constexpr std::int64_t kMaxPrimesLimit = 10'000'000;
constexpr int kMaxPiDigits = 10'000;

std::optional<std::int64_t> count_primes_below(std::int64_t limit, const RunContext& context) {
  if (limit <= 2) return 0;
  std::vector<bool> composite(static_cast<std::size_t>(limit), false);
  for (std::int64_t i = 2; i * i < limit; ++i) {
    if (context.stop_requested()) return std::nullopt;
    if (composite[i]) continue;
    for (std::int64_t multiple = i * i; multiple < limit; multiple += i) composite[multiple] = true;
  }
  std::int64_t count = 0;
  for (std::int64_t n = 2; n < limit; ++n) count += composite[n] ? 0 : 1;
  return count;
}

// A non-negative fixed-point number: limbs[0] is the integer part, limbs[1…] the fraction
// in base 10^9, most significant first.
using Limbs = std::vector<std::uint32_t>;
constexpr std::uint64_t kBase = 1'000'000'000;

// In place; returns false when the quotient is zero.
bool divide(Limbs& number, std::uint32_t divisor) {
  std::uint64_t remainder = 0;
  bool nonzero = false;
  for (auto& limb : number) {
    const std::uint64_t current = remainder * kBase + limb;
    limb = static_cast<std::uint32_t>(current / divisor);
    remainder = current % divisor;
    nonzero = nonzero || limb != 0;
  }
  return nonzero;
}

void add(Limbs& into, const Limbs& other) {
  std::uint64_t carry = 0;
  for (std::size_t i = into.size(); i-- > 0;) {
    const std::uint64_t sum = into[i] + static_cast<std::uint64_t>(other[i]) + carry;
    into[i] = static_cast<std::uint32_t>(sum % kBase);
    carry = sum / kBase;
  }
}

// `into` must be at least `other`.
void subtract(Limbs& into, const Limbs& other) {
  std::int64_t borrow = 0;
  for (std::size_t i = into.size(); i-- > 0;) {
    std::int64_t difference = static_cast<std::int64_t>(into[i]) - other[i] - borrow;
    borrow = difference < 0 ? 1 : 0;
    if (difference < 0) difference += static_cast<std::int64_t>(kBase);
    into[i] = static_cast<std::uint32_t>(difference);
  }
}

// multiplier * atan(1/x) = multiplier * sum_k (-1)^k / ((2k+1) x^(2k+1)).
std::optional<Limbs> scaled_arctan_inverse(std::uint32_t multiplier, std::uint32_t x,
                                           std::size_t limbs, const RunContext& context) {
  Limbs power(limbs, 0);
  power[0] = multiplier;
  divide(power, x);
  Limbs sum = power;
  Limbs term(limbs);
  const std::uint32_t x_squared = x * x;
  for (std::uint32_t k = 1;; ++k) {
    if (k % 64 == 0 && context.stop_requested()) return std::nullopt;
    if (!divide(power, x_squared)) break;
    term = power;
    divide(term, 2 * k + 1);
    if (k % 2 == 1) {
      subtract(sum, term);
    } else {
      add(sum, term);
    }
  }
  return sum;
}

std::shared_ptr<const TaskType> primes_type() {
  BuiltinSpec spec;
  spec.name = "primes";
  spec.description = "Counts the primes below a limit";
  spec.limits.wall = std::chrono::seconds(60);
  spec.limits.cpu = std::chrono::seconds(60);
  spec.limits.memory_bytes = 64ull << 20;
  ParamField limit;
  limit.name = "limit";
  limit.type = ParamType::integer;
  limit.required = true;
  limit.min = 2;
  limit.max = static_cast<double>(kMaxPrimesLimit);
  limit.description = "count the primes p with p < limit";
  spec.schema.add(std::move(limit));
  spec.function = [](const json::object& params, const RunContext& context) {
    const auto count = count_primes_below(params.at("limit").to_number<std::int64_t>(), context);
    if (!count) return stopped_outcome(context);
    return TaskOutcome::success(json::object{{"count", *count}});
  };
  return std::make_shared<BuiltinType>(std::move(spec));
}

std::shared_ptr<const TaskType> pi_type() {
  BuiltinSpec spec;
  spec.name = "pi";
  spec.description = "pi to N decimal places (truncated), as a string \"3.14…\"";
  spec.limits.wall = std::chrono::seconds(60);
  spec.limits.cpu = std::chrono::seconds(60);
  spec.limits.memory_bytes = 16ull << 20;
  ParamField digits;
  digits.name = "digits";
  digits.type = ParamType::integer;
  digits.required = true;
  digits.min = 1;
  digits.max = kMaxPiDigits;
  digits.description = "decimal places after \"3.\"";
  spec.schema.add(std::move(digits));
  spec.function = [](const json::object& params, const RunContext& context) {
    const int digits = static_cast<int>(params.at("digits").to_number<std::int64_t>());
    const auto pi = pi_digits(digits, context);
    if (!pi) return stopped_outcome(context);
    return TaskOutcome::success(json::object{{"digits", digits}, {"pi", *pi}});
  };
  return std::make_shared<BuiltinType>(std::move(spec));
}

}  // namespace

std::optional<std::string> pi_digits(int digits, const RunContext& context) {
  // 20 guard digits absorb the truncation of every term (two per term, ~7000 terms at most).
  const std::size_t limbs = 1 + (static_cast<std::size_t>(digits) + 20 + 8) / 9;
  auto pi = scaled_arctan_inverse(16, 5, limbs, context);
  if (!pi) return std::nullopt;
  const auto correction = scaled_arctan_inverse(4, 239, limbs, context);
  if (!correction) return std::nullopt;
  subtract(*pi, *correction);
  std::string fraction;
  fraction.reserve((limbs - 1) * 9);
  for (std::size_t i = 1; i < limbs; ++i) fraction += fmt::format("{:09d}", (*pi)[i]);
  fraction.resize(static_cast<std::size_t>(digits));
  return std::to_string((*pi)[0]) + "." + fraction;
}

std::vector<std::shared_ptr<const TaskType>> math_types() {
  return {primes_type(), pi_type()};
}

}  // namespace isla::tasks
