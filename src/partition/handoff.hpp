#pragma once
// The hand-off rule of a partitioned catalogue: what a gateway tells a piece server to hold.
// A server holds the figures it owns, and keeps each figure it holds but no longer owns until
// every owner of that figure serves it: a figure is dropped only once its new owners have it,
// so requests always find a copy while figures move. Pure: the caller says who holds what.
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace isla::partition {

// Figure → its owners, as Placement::owners computes them.
using Owners = std::map<std::string, std::vector<std::string>, std::less<>>;
// Does this server serve this figure now (announced it, and may be sent requests)?
using Serves = std::function<bool(std::string_view server, std::string_view figure)>;

// The figures `server` is to hold, sorted: those it owns, and those of `held` (what it
// announces now) that some owner does not serve yet. A figure not in `owners` (gone from the
// catalogue) is not kept.
std::vector<std::string> figures_to_hold(std::string_view server,
                                         const std::vector<std::string>& held, const Owners& owners,
                                         const Serves& serves);

}  // namespace isla::partition
