#include "tasks/types/builtin_type.hpp"

namespace isla::tasks {

void add_builtin_types(TaskCatalog& catalog) {
  for (auto& type : arithmetic_types()) catalog.add(std::move(type));
  for (auto& type : crypto_types()) catalog.add(std::move(type));
  for (auto& type : math_types()) catalog.add(std::move(type));
  catalog.add(sleep_type());
}

}  // namespace isla::tasks
