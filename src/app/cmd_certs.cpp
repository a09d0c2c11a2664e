// isla certs init: an island's CA and its nodes' certificates, for --tls-dir.
#include <iostream>

#include "app/commands.hpp"
#include "app/server_flags.hpp"
#include "core/endpoint.hpp"
#include "net/tls_certificates.hpp"

namespace isla::app {

namespace {

struct CertsFlags {
  std::string dir;
  std::vector<std::string> hosts{"127.0.0.1"};
};

}  // namespace

void add_certs_command(CLI::App& app) {
  auto* certs = app.add_subcommand("certs", "TLS certificates of an island");
  certs->require_subcommand(1);
  auto* init = certs->add_subcommand(
      "init",
      "Create the island CA (ECDSA P-256) in --dir if it has none, and a certificate for each "
      "node address that has none");
  auto flags = std::make_shared<CertsFlags>();
  init->add_option("--dir", flags->dir, "Directory to create them in (give it to --tls-dir)")
      ->required();
  init->add_option("--hosts", flags->hosts,
                   "Node addresses (IP or name, without port), comma-separated: one "
                   "certificate each, the address as its subject alt name")
      ->delimiter(',')
      ->capture_default_str();
  init->callback([flags] {
    const auto written = net::init_certificates(flags->dir, flags->hosts);
    for (const auto& path : written) std::cout << "created " << path.string() << "\n";
    if (written.empty()) std::cout << "nothing to do: " << flags->dir << " has them all\n";
    exit_with(0);
  });
}

}  // namespace isla::app
