// CPU cost of the trust boundary's per-request work (issue 10's "cost in µs of CPU per
// request of signing and of verifying"), single-threaded, in ns per operation:
//
//   sign GET            RequestSigner::authorization, empty body (a proxied figure request)
//   sign POST 4 KiB     the same with a 4 KiB body (the digest is most of it)
//   verify GET          RequestVerifier::verify_head + body_matches, empty body
//   verify POST 4 KiB   the same with a 4 KiB body
//   verify_token        a client token's check (Guard::admit for a Bearer caller)
//
// and, to say where that time goes, the primitives under them. Each figure is thread CPU
// time (CLOCK_THREAD_CPUTIME_ID) over at least --ms milliseconds of work, --repeats times;
// the minimum and the median of the repeats are printed (the minimum is the least disturbed
// by the other processes on the machine, the median says how much they disturbed).
//
// Usage: auth_cost [--ms N] [--repeats N]      (defaults 200 and 5)
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "net/http_types.hpp"
#include "security/crypto.hpp"
#include "security/guard.hpp"
#include "security/island_secret.hpp"
#include "security/request_auth.hpp"
#include "security/token.hpp"

namespace {

using namespace isla;

// Keeps the compiler from dropping work whose result is otherwise unused.
volatile std::size_t g_sink = 0;

std::int64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

struct Options {
  std::int64_t min_ns = 200'000'000;
  int repeats = 5;
};

struct Figure {
  double min_ns = 0;
  double median_ns = 0;
};

// A batch runs `ops` operations and returns the CPU time spent on them alone (setup, such
// as signing the requests a verify batch checks, is excluded by the batch itself).
using Batch = std::function<std::int64_t(std::size_t ops)>;

Figure measure(const Options& options, std::size_t batch_ops, const Batch& batch) {
  batch(batch_ops);  // warm the caches, OpenSSL's algorithm fetch, the allocator
  std::vector<double> per_op;
  for (int r = 0; r < options.repeats; ++r) {
    std::int64_t spent = 0;
    std::size_t ops = 0;
    while (spent < options.min_ns) {
      spent += batch(batch_ops);
      ops += batch_ops;
    }
    per_op.push_back(static_cast<double>(spent) / static_cast<double>(ops));
  }
  std::sort(per_op.begin(), per_op.end());
  return {per_op.front(), per_op[per_op.size() / 2]};
}

// A batch of `ops` calls of `op`, timed as a whole.
Batch simple(std::function<void()> op) {
  return [op = std::move(op)](std::size_t ops) {
    const auto start = thread_cpu_ns();
    for (std::size_t i = 0; i < ops; ++i) op();
    return thread_cpu_ns() - start;
  };
}

void print(std::string_view name, const Figure& figure) {
  std::printf("%-34s %10.0f %10.0f %10.2f\n", std::string(name).c_str(), figure.min_ns,
              figure.median_ns, figure.min_ns / 1000.0);
}

net::HttpRequest request(std::string method, std::string target, std::string body) {
  net::HttpRequest out;
  out.method = std::move(method);
  out.target = std::move(target);
  out.body = std::move(body);
  return out;
}

int usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s [--ms N] [--repeats N]\n", argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) return usage(argv[0]);
    const long value = std::strtol(argv[++i], nullptr, 10);
    if (value <= 0) return usage(argv[0]);
    if (arg == "--ms") {
      options.min_ns = value * 1'000'000;
    } else if (arg == "--repeats") {
      options.repeats = static_cast<int>(value);
    } else {
      return usage(argv[0]);
    }
  }

  // The keys as a node has them: derived once from an island secret at start-up.
  const std::string secret = security::random_bytes(security::kSecretBytes);
  const std::string request_key = security::derive_key(secret, "request");
  const std::string token_key = security::derive_key(secret, "token");
  // The addresses and the request of the gateway benchmark (bench/gateway_vs_nginx.sh).
  const std::string gateway = "127.0.3.4:5235";
  const std::string pieces = "127.0.3.12:1233";
  const auto get = request("GET", "/api/figures/giraffe", "");
  const auto post = request("POST", "/internal/raft/messages", std::string(4096, 'x'));

  security::RequestSigner signer(request_key, gateway, 1'764'000'000'000);
  security::RequestVerifier verifier(request_key, pieces);

  std::printf("%-34s %10s %10s %10s\n", "operation (single thread, CPU time)", "min ns/op",
              "median", "min us/op");

  const auto sign = [&](const net::HttpRequest& r) {
    return simple([&] { g_sink = g_sink + signer.authorization(r, pieces).size(); });
  };
  print("sign GET (authorization)", measure(options, 4096, sign(get)));
  print("sign POST 4 KiB (authorization)", measure(options, 1024, sign(post)));

  // Each verified request must carry a sequence number not seen yet, so a batch first signs
  // fresh copies (untimed), then verifies them (timed).
  const auto verify = [&](const net::HttpRequest& prototype) {
    return [&, prototype](std::size_t ops) {
      std::vector<net::HttpRequest> batch(ops, prototype);
      const auto now = security::wall_clock_ms();
      for (auto& r : batch) {
        r.headers.emplace_back(std::string(security::kAuthHeader),
                               signer.authorization_at(r, pieces, now));
      }
      const auto start = thread_cpu_ns();
      for (auto& r : batch) {
        const auto verdict = verifier.verify_head(r, now);
        if (!verdict.ok || !security::RequestVerifier::body_matches(r)) {
          std::fprintf(stderr, "auth_cost: a signed request was refused (%s)\n",
                       verdict.reason.c_str());
          std::exit(1);
        }
      }
      return thread_cpu_ns() - start;
    };
  };
  print("verify GET (verify_head+body_matches)", measure(options, 2048, verify(get)));
  print("verify POST 4 KiB (same)", measure(options, 512, verify(post)));

  const auto now = security::wall_clock_ms();
  const auto token = security::mint_token(
      token_key, {"bench", security::Role::write, now, now + 3'600'000, std::string(32, 'a')});
  print("verify_token", measure(options, 4096, simple([&] {
                                  const auto claims = security::verify_token(token_key, token, now);
                                  g_sink = g_sink + claims.index();
                                })));

  std::printf("-- where the time goes\n");
  const std::string canonical = security::canonical_request(
      "GET", "/api/figures/giraffe", pieces,
      {gateway, 1'764'000'000'000, 123456, now, security::body_digest(""), ""});
  print("hmac_sha256 of the canonical GET",
        measure(options, 4096, simple([&] {
                  g_sink = g_sink + security::hmac_sha256(request_key, canonical)[0];
                })));
  const security::HmacSha256Key precomputed(request_key);
  print("HmacSha256Key::mac of the same",
        measure(options, 4096, simple([&] { g_sink = g_sink + precomputed.mac(canonical)[0]; })));
  print("sha256 of 4 KiB",
        measure(options, 1024, simple([&] { g_sink = g_sink + security::sha256(post.body)[0]; })));
  const auto header = signer.authorization_at(get, pieces, now);
  print("parse_auth_header",
        measure(options, 4096, simple([&] {
                  g_sink = g_sink + security::parse_auth_header(header)->signature.size();
                })));
  const auto fields = *security::parse_auth_header(header);
  print("canonical_request",
        measure(
            options, 4096, simple([&] {
              g_sink =
                  g_sink +
                  security::canonical_request("GET", "/api/figures/giraffe", pieces, fields).size();
            })));
  std::printf("token: %zu bytes; Isla-Auth value: %zu bytes\n", token.size(), header.size());
  return 0;
}
