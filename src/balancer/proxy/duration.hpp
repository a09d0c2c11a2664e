#pragma once
// Durations as HAProxy writes them on command lines and in configs: "2s", "500ms", "1m",
// "1h", or a bare number of milliseconds. Pure.
#include <chrono>
#include <string_view>

namespace isla::balancer {

// Throws std::invalid_argument naming the text when it is not a duration from 1 ms to 1 day.
std::chrono::milliseconds parse_duration(std::string_view text);

}  // namespace isla::balancer
