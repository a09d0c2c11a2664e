// isla-vip-probe: what the failover chaos test and bench/failover_vs_keepalived.sh measure
// with. Two modes:
//   isla-vip-probe serve PORT NAME
//       answers every TCP connection with NAME and a newline (the responder behind a
//       keepalived VIP; isla-pair-member has its own).
//   isla-vip-probe probe HOST:PORT [INTERVAL_MS] [LIMIT_MS]
//       opens a new connection every INTERVAL_MS (default 10), each given INTERVAL_MS to
//       connect and answer, and prints one JSON line when a different NAME than the first
//       answers (or LIMIT_MS, default 20000, passes), after a line "answering NAME" at the
//       first answer: the first name, the new one, the wall
//       clock (ms since the epoch) of the last answer from the first and of the first answer
//       from the new one, and the failed attempts in between.
//   isla-vip-probe http-serve PORT NAME
//   isla-vip-probe http-probe HOST:PORT [INTERVAL_MS] [LIMIT_MS]
//       the same over HTTP: the responder answers each request with 200 and NAME as the
//       body (a backend behind `isla balancer`), the probe sends GET / on each connection
//       and counts only a 200 as an answer (its body's first line is the NAME): the address
//       answers when a request through it is served, not merely when a socket accepts.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace {

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What one connection's answer names: the first line (raw), or the first line of a 200's
// body (HTTP); nullopt while incomplete or not a 200.
std::optional<std::string> named(const std::string& text, bool http) {
  if (!http) {
    const auto newline = text.find('\n');
    if (newline == std::string::npos) return std::nullopt;
    return text.substr(0, newline);
  }
  const auto body = text.find("\r\n\r\n");
  if (body == std::string::npos) return std::nullopt;
  const auto newline = text.find('\n', body + 4);
  if (newline == std::string::npos) return std::nullopt;
  if (text.rfind("HTTP/1.1 200 ", 0) != 0 && text.rfind("HTTP/1.0 200 ", 0) != 0) {
    return std::string();  // complete, but not served: not an answer
  }
  return text.substr(body + 4, newline - body - 4);
}

std::optional<std::string> ask(const sockaddr_in& target, int timeout_ms, bool http) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::optional<std::string> answer;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&target), sizeof target) == 0 ||
      errno == EINPROGRESS) {
    std::string text;
    bool asked = !http;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - std::chrono::steady_clock::now())
                            .count();
      if (left <= 0) break;
      pollfd p{fd, static_cast<short>(asked ? POLLIN : POLLOUT), 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) break;
      if (!asked) {  // connected: send the request
        static constexpr std::string_view request =
            "GET / HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n";
        if (::write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
          break;
        }
        asked = true;
        continue;
      }
      char buffer[512];
      const auto n = ::read(fd, buffer, sizeof buffer);
      if (n <= 0) break;
      text.append(buffer, static_cast<std::size_t>(n));
      if (auto name = named(text, http)) {
        if (!name->empty()) answer = std::move(name);
        break;
      }
    }
  }
  // RST rather than TIME_WAIT: thousands of probes must not run out of ports.
  linger hard{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  ::close(fd);
  return answer;
}

int serve(int port, const std::string& name, bool http) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(fd, 512) != 0) {
    std::perror("bind");
    return 1;
  }
  const auto line = name + "\n";
  const auto response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                        std::to_string(line.size()) + "\r\nConnection: close\r\n\r\n" + line;
  for (;;) {
    const int client = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    if (http) {  // read the request head (bounded in size and time), then answer and close
      std::string head;
      while (head.find("\r\n\r\n") == std::string::npos && head.size() < 8192) {
        pollfd p{client, POLLIN, 0};
        if (::poll(&p, 1, 1000) <= 0) break;
        char buffer[1024];
        const auto n = ::read(client, buffer, sizeof buffer);
        if (n <= 0) break;
        head.append(buffer, static_cast<std::size_t>(n));
      }
      [[maybe_unused]] auto written = ::write(client, response.data(), response.size());
    } else {
      [[maybe_unused]] auto written = ::write(client, line.data(), line.size());
    }
    ::close(client);
  }
}

int probe(const std::string& target_text, int interval_ms, int limit_ms, bool http) {
  const auto colon = target_text.rfind(':');
  sockaddr_in target{};
  target.sin_family = AF_INET;
  target.sin_port = htons(static_cast<std::uint16_t>(std::stoi(target_text.substr(colon + 1))));
  if (colon == std::string::npos ||
      ::inet_pton(AF_INET, target_text.substr(0, colon).c_str(), &target.sin_addr) != 1) {
    std::cerr << "probe takes IPV4:PORT\n";
    return 2;
  }
  const auto start = wall_ms();
  std::optional<std::string> first;
  std::int64_t last_first_ok = 0;
  int failures = 0;
  auto next = std::chrono::steady_clock::now();
  while (wall_ms() - start < limit_ms) {
    const auto sent = wall_ms();
    const auto answer = ask(target, interval_ms, http);
    if (answer && !first) {
      first = answer;
      std::cout << "answering " << *first << std::endl;  // the chaos test waits for this line
    }
    if (answer && *answer == *first) {
      last_first_ok = sent;
    } else if (answer) {
      std::cout << "{\"first\":\"" << *first << "\",\"new\":\"" << *answer
                << "\",\"last_first_ok_ms\":" << last_first_ok
                << ",\"first_new_ok_ms\":" << wall_ms() << ",\"failures\":" << failures << "}"
                << std::endl;
      return 0;
    } else if (first) {
      ++failures;
    }
    next += std::chrono::milliseconds(interval_ms);
    std::this_thread::sleep_until(next);
    if (std::chrono::steady_clock::now() > next) next = std::chrono::steady_clock::now();
  }
  std::cout << "{\"first\":\"" << first.value_or("")
            << "\",\"new\":null,\"last_first_ok_ms\":" << last_first_ok
            << ",\"failures\":" << failures << "}" << std::endl;
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  // A probe that gave up resets its connection: answering it must not kill the responder.
  std::signal(SIGPIPE, SIG_IGN);
  const std::string mode = argc > 1 ? argv[1] : "";
  const bool http = mode.rfind("http-", 0) == 0;
  if ((mode == "serve" || mode == "http-serve") && argc == 4) {
    return serve(std::stoi(argv[2]), argv[3], http);
  }
  if ((mode == "probe" || mode == "http-probe") && argc >= 3) {
    return probe(argv[2], argc > 3 ? std::stoi(argv[3]) : 10, argc > 4 ? std::stoi(argv[4]) : 20000,
                 http);
  }
  std::cerr << "usage: isla-vip-probe [http-]serve PORT NAME | [http-]probe IPV4:PORT "
               "[INTERVAL_MS] [LIMIT_MS]\n";
  return 2;
}
