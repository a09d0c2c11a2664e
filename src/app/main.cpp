#include <spdlog/spdlog.h>

#include <iostream>

#include "app/commands.hpp"
#include "app/config_file.hpp"
#include "app/env_names.hpp"
#include "app/secret_options.hpp"

int main(int argc, char** argv) {
  CLI::App app{"isla: islands of cooperating servers that build Lego figures"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("isla ") + ISLA_VERSION);
  isla::app::add_config_option(app);  // first: the subcommands inherit its fall-through
  isla::app::add_pieces_command(app);
  isla::app::add_gateway_command(app);
  isla::app::add_client_commands(app);
  isla::app::add_kv_command(app);
  isla::app::add_store_command(app);
  isla::app::add_up_command(app);
  isla::app::add_certs_command(app);
  isla::app::add_secret_commands(app);
  isla::app::add_worker_command(app);
  isla::app::add_task_command(app);
  isla::app::add_order_command(app);
  isla::app::add_balancer_command(app);
  // After every command has added its flags, wherever it did.
  isla::app::add_env_names(app);
  isla::app::hide_secret_defaults(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ExtrasError&) {
    std::cerr << "isla: " << isla::app::unexpected_arguments(app.remaining(true))
              << "\nRun with --help for more information.\n";
    return isla::app::kExitUsage;
  } catch (const CLI::ParseError& error) {
    // Help and --version exit 0; every other parse error is a usage error (exit 2).
    return app.exit(error) == 0 ? 0 : isla::app::kExitUsage;
  } catch (const std::exception& error) {
    std::cerr << "isla: " << error.what() << "\n";
    spdlog::default_logger()->flush();
    return isla::app::kExitUsage;
  }
  return 0;
}
