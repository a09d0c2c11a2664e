#pragma once
// The island secret: 32 random bytes every node of an island shares, kept in a file only
// its owner may read. Each use gets its own key derived from it (datagrams, requests,
// tokens), so a key leaked or misused in one place is useless in another.
#include <filesystem>
#include <string>
#include <string_view>

namespace isla::security {

inline constexpr std::size_t kSecretBytes = 32;

// Writes a new secret to `path` (mode 0600, created exclusively: an existing file is never
// overwritten, since the island's other nodes hold it). Throws naming the path on failure.
void create_secret_file(const std::filesystem::path& path);

// Reads a secret file: 64 hex digits and an optional newline. Throws std::runtime_error
// saying what is wrong and how to fix it (missing, readable by group or others, bad
// content) and never includes the file's content in the message.
//
// `allow_group_read`: a file its group may read (never write) is accepted too. That is how
// Kubernetes mounts a Secret for a pod that does not run as root: the file belongs to root
// and to the pod's fsGroup, mode 0440 at best (deploy/k8s, --secret-file-group-readable).
std::string load_secret_file(const std::filesystem::path& path, bool allow_group_read = false);

// A key for one purpose, HMAC(secret, "isla " + purpose).
std::string derive_key(std::string_view secret, std::string_view purpose);

}  // namespace isla::security
