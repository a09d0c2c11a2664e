#pragma once
// Two balancer pair members on a simulated network with a fake clock: datagrams are dropped,
// duplicated, delayed and reordered at random (seeded), links can be cut, members can crash
// (no goodbye) and restart on the disk they had. Each member's ServiceAddress records every
// claim and release on one shared timeline, so that a test can check who held the address at
// every simulated millisecond.
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "balancer/pair/pair_node.hpp"
#include "core/clock.hpp"
#include "core/random.hpp"
#include "durability/fault_injecting_file_system.hpp"

namespace isla::balancer::pair::testing {

inline constexpr std::string_view kSecret = "island-secret-for-pair-tests";

struct AddressEvent {
  core::SteadyTime at;
  int member = 0;
  bool claim = false;
  election::Term term = 0;
};

class RecordingAddress final : public ServiceAddress {
 public:
  RecordingAddress(int member, const core::Clock& clock, std::vector<AddressEvent>& timeline)
      : member_(member), clock_(clock), timeline_(timeline) {}
  bool claim(election::Term term) override {
    if (fail_claims_ > 0) {
      --fail_claims_;
      return false;
    }
    held_ = true;
    timeline_.push_back({clock_.now(), member_, true, term});
    return true;
  }
  void release() override {
    if (held_) timeline_.push_back({clock_.now(), member_, false, 0});
    held_ = false;
  }
  std::string describe() const override { return "vip"; }
  bool held() const { return held_; }
  void fail_next_claims(int count) { fail_claims_ = count; }

 private:
  int member_;
  const core::Clock& clock_;
  std::vector<AddressEvent>& timeline_;
  bool held_ = false;
  int fail_claims_ = 0;
};

// One store lease both members consult, answering one simulated millisecond later.
class FakeStoreLease {
 public:
  struct Pending {
    election::Term term;
    std::string holder;
    std::function<void(LeaseVerdict)> done;
  };
  static constexpr std::chrono::milliseconds kTtl{1000};
  const core::Clock* clock = nullptr;
  bool reachable = true;
  std::optional<std::pair<election::Term, std::string>> stored;
  core::SteadyTime renewed{};
  std::deque<Pending> pending;
  std::deque<std::pair<std::string, std::function<void(bool)>>> probes;  // holder, answer
  // Members that cannot reach the store while the other can (a cut between one member and
  // the store), by holder name.
  std::set<std::string> cut_off;

  bool reaches(const std::string& holder) const { return reachable && !cut_off.contains(holder); }

  void answer_all() {
    if (stored && clock->now() - renewed > kTtl) stored.reset();  // the store lease lapsed
    auto now = std::exchange(pending, {});
    for (auto& [holder, done] : std::exchange(probes, {})) done(reaches(holder));
    for (auto& request : now) {
      if (!reaches(request.holder)) {
        request.done(LeaseVerdict::unavailable);
        continue;
      }
      if (stored && stored->second != request.holder) {
        request.done(LeaseVerdict::lost);
      } else {
        stored = {request.term, request.holder};
        renewed = clock->now();
        request.done(LeaseVerdict::held);
      }
    }
  }
};

class MemberLease final : public AddressLease {
 public:
  MemberLease(FakeStoreLease& store, std::string holder)
      : store_(store), holder_(std::move(holder)) {}
  void hold(election::Term term, std::function<void(LeaseVerdict)> done) override {
    store_.pending.push_back({term, holder_, std::move(done)});
  }
  void release() override {
    if (store_.reaches(holder_) && store_.stored && store_.stored->second == holder_)
      store_.stored.reset();
  }
  void probe(std::function<void(bool)> done) override {
    store_.probes.emplace_back(holder_, std::move(done));
  }
  std::chrono::milliseconds ttl() const override { return FakeStoreLease::kTtl; }

 private:
  FakeStoreLease& store_;
  std::string holder_;
};

struct NetworkFaults {
  double loss = 0;       // per datagram
  double duplicate = 0;  // per datagram delivered
  std::chrono::milliseconds min_delay{1};
  std::chrono::milliseconds max_delay{3};  // reordering comes from the spread
};

class PairHarness {
 public:
  explicit PairHarness(std::uint64_t seed = 1, std::uint32_t priority_a = 200,
                       std::uint32_t priority_b = 100);

  PairOptions options(int member) const;
  void set_faults(NetworkFaults faults) { faults_ = faults; }
  void set_cut(bool cut) { cut_ = cut; }
  void use_store_lease() { with_lease_ = true; }

  void start(int member);
  // The process dies: no goodbye, the address stays where the OS left it (released by the
  // next start, as a crashed process's VIP is by the real InterfaceAddress).
  void crash(int member);
  void stop(int member);  // graceful
  bool up(int member) const { return members_[member].node != nullptr; }

  // Advances the simulation by `duration` in 1 ms steps, checking after each step.
  void run_for(std::chrono::milliseconds duration);
  // Runs until `condition` holds (checked every ms) or `limit` passes; true when it held.
  template <class Condition>
  bool run_until(Condition condition, std::chrono::milliseconds limit) {
    for (std::chrono::milliseconds spent{0}; spent < limit; spent += std::chrono::milliseconds(1)) {
      if (condition()) return true;
      step();
    }
    return condition();
  }

  PairNode& node(int member) { return *members_[member].node; }
  RecordingAddress& address(int member) { return *members_[member].address; }
  durability::FaultInjectingFileSystem& disk(int member) { return *members_[member].fs; }
  bool holds(int member) const { return members_[member].address->held(); }
  int holders() const { return int(holds(0)) + int(holds(1)); }
  // The most members that held the address in the same millisecond, outside of cut links.
  int max_holders_while_connected() const { return max_holders_connected_; }
  void reset_max_holders() { max_holders_connected_ = holders(); }
  const std::vector<AddressEvent>& timeline() const { return timeline_; }
  core::FakeClock& clock() { return clock_; }
  FakeStoreLease& store() { return store_; }
  // Cuts `member` alone off the store (or restores it): its lease asks and probes go
  // unanswered while the other member's still work.
  void cut_from_store(int member, bool cut) {
    const auto holder = options(member).heartbeat.str();
    if (cut) {
      store_.cut_off.insert(holder);
    } else {
      store_.cut_off.erase(holder);
    }
  }
  std::uint64_t wall_ms() const;
  // Sends raw bytes to `member` as if from the network (forgeries, replays).
  void inject(int member, std::string bytes) {
    to_deliver_.push_back({clock_.now(), member, std::move(bytes)});
  }
  // Every datagram sent so far to `member`, for replaying.
  const std::vector<std::string>& sent_to(int member) const { return sent_to_[member]; }

 private:
  struct Member {
    std::unique_ptr<durability::FaultInjectingFileSystem> fs;
    std::unique_ptr<TermFile> terms;
    std::unique_ptr<RecordingAddress> address;
    std::unique_ptr<MemberLease> lease;
    std::unique_ptr<PairNode> node;
  };
  struct InFlight {
    core::SteadyTime at;
    int to = 0;
    std::string bytes;
  };

  void send(int from, std::string bytes);
  void step();

  core::FakeClock clock_;
  core::SteadyTime start_;
  core::SeededRandom random_;
  NetworkFaults faults_;
  bool cut_ = false;
  bool with_lease_ = false;
  std::uint32_t priorities_[2];
  Member members_[2];
  std::vector<AddressEvent> timeline_;
  std::vector<InFlight> to_deliver_;
  std::vector<std::string> sent_to_[2];
  FakeStoreLease store_;
  int max_holders_connected_ = 0;
  std::int64_t steps_ = 0;
};

}  // namespace isla::balancer::pair::testing
