#include "util.hpp"

#include <algorithm>
#include <cstring>
#include <ctime>

namespace backup_doctor::selinux {

std::string errno_text(int err) {
  return std::strerror(err);
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool has_glob_chars(std::string_view s) {
  return s.find_first_of("*?[") != std::string_view::npos;
}

}  // namespace backup_doctor::selinux
