// The restore-space verdict, apart from the filesystem it is measured on.
#pragma once

#include <cstdint>

namespace backup_doctor::archive {

enum class Room { enough, tight, short_of };

// `short_of` when `available` is below `need`; `tight` when it is below need plus `margin`
// (a fraction: 0.1 is 10%); `enough` otherwise.
inline Room judge_room(uint64_t need, uint64_t available, double margin) {
  if (available < need) return Room::short_of;
  auto extra = static_cast<uint64_t>(static_cast<double>(need) * margin);
  if (available < need + extra) return Room::tight;
  return Room::enough;
}

}  // namespace backup_doctor::archive
