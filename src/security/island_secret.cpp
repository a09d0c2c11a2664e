#include "security/island_secret.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "security/crypto.hpp"

namespace isla::security {

namespace {

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& why) {
  throw std::runtime_error("island secret " + path.string() + ": " + why);
}

}  // namespace

void create_secret_file(const std::filesystem::path& path) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    fail(path, errno == EEXIST ? "already exists; the island's nodes share it, so it is "
                                 "never overwritten (remove it by hand to start a new island)"
                               : std::strerror(errno));
  }
  const std::string text = to_hex(random_bytes(kSecretBytes)) + "\n";
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const bool synced = written && ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) {
    std::filesystem::remove(path);
    fail(path, "could not be written");
  }
}

std::string load_secret_file(const std::filesystem::path& path, bool allow_group_read) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    fail(path, std::string(std::strerror(errno)) +
                   " (create one with `isla secret init --out FILE`, or let `isla up` do it)");
  }
  if (!S_ISREG(info.st_mode)) fail(path, "is not a regular file");
  const auto forbidden = allow_group_read ? (S_IWGRP | S_IXGRP | S_IRWXO) : (S_IRWXG | S_IRWXO);
  if ((info.st_mode & forbidden) != 0) {
    fail(path, "is readable or writable by group or others; run `chmod 600 " + path.string() +
                   "` (anyone who can read it can join and change the island)");
  }
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  std::string text = content.str();
  if (!text.empty() && text.back() == '\n') text.pop_back();
  auto secret = from_hex(text);
  if (!in || !secret || secret->size() != kSecretBytes) {
    fail(path, "does not hold 64 hex digits (" + std::to_string(kSecretBytes) +
                   " bytes); make a new one with `isla secret init`");
  }
  return *secret;
}

std::string derive_key(std::string_view secret, std::string_view purpose) {
  const auto key = hmac_sha256(secret, "isla " + std::string(purpose));
  return std::string(reinterpret_cast<const char*>(key.data()), key.size());
}

}  // namespace isla::security
