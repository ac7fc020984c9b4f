#include "location.hpp"

namespace backup_doctor::rsync {

Location parse_location(std::string_view arg) {
  Location loc;
  loc.path = arg;
  if (arg.rfind("rsync://", 0) == 0) {
    loc.kind = Location::Kind::daemon;
    std::string_view rest = arg.substr(8);
    size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    loc.path = slash == std::string_view::npos ? "" : std::string(rest.substr(slash + 1));
    size_t at = authority.rfind('@');
    if (at != std::string_view::npos) {
      loc.user = authority.substr(0, at);
      authority = authority.substr(at + 1);
    }
    if (!authority.empty() && authority.front() == '[') {
      size_t close = authority.find(']');
      loc.host = authority.substr(1, close == std::string_view::npos ? close : close - 1);
    } else {
      loc.host = authority.substr(0, authority.find(':'));
    }
    return loc;
  }
  // rsync: a colon before the first slash makes the argument remote.
  size_t colon;
  size_t host_start = 0;
  // user@[v6]:path — the brackets may contain colons.
  size_t bracket = arg.find('[');
  size_t first_slash = arg.find('/');
  if (bracket != std::string_view::npos && bracket < first_slash &&
      (bracket == 0 || arg[bracket - 1] == '@')) {
    size_t close = arg.find(']', bracket);
    if (close == std::string_view::npos || close + 1 >= arg.size() || arg[close + 1] != ':')
      return loc;
    colon = close + 1;
  } else {
    colon = arg.find(':');
    if (colon == std::string_view::npos ||
        (first_slash != std::string_view::npos && first_slash < colon))
      return loc;
  }
  std::string_view head = arg.substr(0, colon);
  size_t at = head.rfind('@');
  if (at != std::string_view::npos) {
    loc.user = head.substr(0, at);
    host_start = at + 1;
  }
  std::string_view host = head.substr(host_start);
  if (!host.empty() && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  loc.host = host;
  if (colon + 1 < arg.size() && arg[colon + 1] == ':') {
    loc.kind = Location::Kind::daemon;
    loc.path = arg.substr(colon + 2);
  } else {
    loc.kind = Location::Kind::ssh;
    loc.path = arg.substr(colon + 1);
  }
  if (loc.host.empty()) {  // ":path" names no host: rsync reads it as local
    loc.kind = Location::Kind::local;
    loc.path = arg;
  }
  return loc;
}

}  // namespace backup_doctor::rsync
