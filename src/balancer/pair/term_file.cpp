#include "balancer/pair/term_file.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <charconv>

#include "durability/atomic_file.hpp"

namespace isla::balancer::pair {

namespace {

constexpr std::string_view kMagic = "isla-pair-term ";

std::uint32_t crc_of(std::string_view digits) {
  return static_cast<std::uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(digits.data()), static_cast<uInt>(digits.size())));
}

}  // namespace

std::string term_file_line(election::Term term) {
  const auto digits = std::to_string(term);
  return fmt::format("{}{} {:08x}\n", kMagic, digits, crc_of(digits));
}

TermFile::TermFile(durability::FileSystem& fs, std::filesystem::path path)
    : fs_(fs), path_(std::move(path)) {}

LoadedTerm TermFile::load() {
  if (path_.empty()) return {};
  std::optional<std::string> text;
  try {
    text = durability::read_if_exists(fs_, path_);
  } catch (const std::exception& error) {
    return {0, fmt::format("term file {}: {}", path_.string(), error.what())};
  }
  if (!text) return {};
  const auto bad = [&](std::string_view why) {
    return LoadedTerm{0,
                      fmt::format("term file {}: {}; starting from term 0", path_.string(), why)};
  };
  std::string_view line(*text);
  if (!line.starts_with(kMagic) || !line.ends_with('\n')) return bad("not a term file");
  line.remove_prefix(kMagic.size());
  line.remove_suffix(1);
  const auto space = line.find(' ');
  if (space == std::string_view::npos) return bad("no checksum");
  const auto digits = line.substr(0, space);
  const auto checksum = line.substr(space + 1);
  election::Term term = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), term);
  if (error != std::errc() || end != digits.data() + digits.size() || digits.empty()) {
    return bad("the term is not a number");
  }
  std::uint32_t crc = 0;
  auto [crc_end, crc_error] =
      std::from_chars(checksum.data(), checksum.data() + checksum.size(), crc, 16);
  if (crc_error != std::errc() || crc_end != checksum.data() + checksum.size() ||
      crc != crc_of(digits)) {
    return bad("checksum mismatch");
  }
  // Only the line this code writes: no leading zeros, no upper-case hex, nothing extra.
  if (*text != term_file_line(term)) return bad("not in the form written");
  stored_ = term;
  return {term, {}};
}

void TermFile::store(election::Term term) {
  if (path_.empty() || term <= stored_) return;
  durability::write_atomically(fs_, path_, term_file_line(term));
  stored_ = term;
}

}  // namespace isla::balancer::pair
