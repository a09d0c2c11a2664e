// A test fixture run inside the sandbox: {"mode": "..."} on stdin says which misbehaviour
// or which probe of its surroundings to perform; the result goes to stdout as JSON.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

namespace json = boost::json;

namespace {

int count_entries(const char* path, bool numeric_only) {
  DIR* dir = ::opendir(path);
  if (dir == nullptr) return -1;
  int count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    if (numeric_only && name.find_first_not_of("0123456789") != std::string::npos) continue;
    ++count;
  }
  ::closedir(dir);
  return count;
}

json::object try_connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return {{"connected", false}, {"error", std::strerror(errno)}};
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  const int error = errno;
  ::close(fd);
  if (rc == 0) return {{"connected", true}};
  return {{"connected", false}, {"error", std::strerror(error)}};
}

json::object try_create(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return {{"created", false}, {"error", std::strerror(errno)}};
  ::close(fd);
  return {{"created", true}};
}

}  // namespace

int main() {
  const std::string input((std::istreambuf_iterator<char>(std::cin)), {});
  const json::value params = json::parse(input);
  const std::string mode(params.at("mode").as_string());
  if (mode == "echo") {
    std::cerr << "a line on stderr\n";
    std::cout << json::serialize(json::object{{"got", params}});
  } else if (mode == "allocate") {
    std::vector<char> block(1ull << 30, 1);  // 1 GiB
    std::cout << json::serialize(json::object{{"allocated", block.size()}});
  } else if (mode == "spin") {
    volatile std::uint64_t counter = 0;
    for (;;) counter = counter + 1;
  } else if (mode == "sleep") {
    for (;;) ::pause();
  } else if (mode == "connect") {
    std::cout << json::serialize(try_connect(static_cast<int>(params.at("port").as_int64())));
  } else if (mode == "write_root") {
    std::cout << json::serialize(json::object{
        {"root", try_create("/isla-sandbox-probe")},
        {"usr", try_create("/usr/isla-sandbox-probe")},
        {"task_dir", try_create(std::string(params.at("dir").as_string()) + "/probe-output")}});
  } else if (mode == "surroundings") {
    const auto tmp_before = count_entries("/tmp", false);
    std::cout << json::serialize(
        json::object{{"tmp_entries", tmp_before},
                     {"tmp_write", try_create("/tmp/scratch")},
                     {"processes", count_entries("/proc", true)},
                     {"home_visible", ::access("/home", F_OK) == 0},
                     {"environment_path", std::getenv("PATH") ? std::getenv("PATH") : ""},
                     {"secret_visible",
                      ::access(std::string(params.at("secret").as_string()).c_str(), F_OK) == 0}});
  } else if (mode == "fail") {
    std::cout << json::serialize(json::object{{"error", "the probe failed on purpose"}});
    return 3;
  } else if (mode == "crash") {
    std::cerr << "about to crash\n";
    std::raise(SIGSEGV);
  } else if (mode == "garbage") {
    std::cout << "this is not JSON";
  } else if (mode == "flood") {
    const std::string chunk(65536, 'x');
    for (;;) std::cout << chunk;
  }
  return 0;
}
