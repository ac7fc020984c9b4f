// "Did you mean ...?" for misspelled check types, parameter names, ids and profiles.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace backup_doctor {

// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo.
std::optional<std::string> nearest(std::string_view word,
                                   const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace backup_doctor
