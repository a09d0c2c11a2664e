#pragma once
// The highest election term a pair member knew, kept on disk so that after a restart (of one
// member or of both) its first term is above every term it led or obeyed before: whatever
// fences by term (the peer, the store lease) keeps obeying the newest holder.
//
// One line, "isla-pair-term <decimal term> <crc32 of the number, hex>\n", replaced whole with
// durability::write_atomically, so a crash leaves the old line or the new one. A missing file
// is a first start (term 0). A file that does not parse (edited by hand, a disk that lied) is
// reported and read as 0 too: the peer refutes a stale term at the first exchange, and the
// store lease (when used) refuses it, so nothing is lost but the optimisation.
#include <filesystem>
#include <string>

#include "durability/file_system.hpp"
#include "election/term.hpp"

namespace isla::balancer::pair {

struct LoadedTerm {
  election::Term term = 0;
  std::string problem;  // empty when the file was absent or sound
};

class TermFile {
 public:
  // An empty path keeps nothing (loopback experiments): load() gives 0, store() does nothing.
  TermFile(durability::FileSystem& fs, std::filesystem::path path);

  LoadedTerm load();
  // Durable when it returns; a term not above the one stored last is not written again.
  // Throws durability errors (the caller must not act on a term it could not keep).
  void store(election::Term term);

  const std::filesystem::path& path() const { return path_; }

 private:
  durability::FileSystem& fs_;
  std::filesystem::path path_;
  election::Term stored_ = 0;
};

std::string term_file_line(election::Term term);

}  // namespace isla::balancer::pair
