#include "decoder.hpp"

#include <algorithm>
#include <string_view>

namespace backup_doctor::archive {

nlohmann::json Damage::to_json() const {
  nlohmann::json j = {
      {"kind", kind}, {"message", message}, {"compressed_offset", compressed_offset}};
  if (compressed_range_start) j["compressed_range_start"] = *compressed_range_start;
  if (uncompressed_offset) j["uncompressed_offset"] = *uncompressed_offset;
  if (member_index) j["gzip_member_index"] = *member_index;
  if (member_offset) j["gzip_member_offset"] = *member_offset;
  if (member_uncompressed_offset)
    j["gzip_member_uncompressed_offset"] = *member_uncompressed_offset;
  return j;
}

namespace {
bool starts_with(std::span<const uint8_t> data, std::string_view magic) {
  return data.size() >= magic.size() &&
         std::equal(magic.begin(), magic.end(), data.begin(),
                    [](char m, uint8_t b) { return b == static_cast<uint8_t>(m); });
}
}  // namespace

std::unique_ptr<Decoder> make_decoder(ChunkReader& reader, GzipEngine engine,
                                      size_t output_chunk_size) {
  std::span<const uint8_t> first = reader.next();
  if (starts_with(first, "\x1f\x8b") && engine == GzipEngine::isal)
    return make_gzip_decoder(reader, first, output_chunk_size);
  if (starts_with(first, std::string_view("\xfd\x37\x7a\x58\x5a\x00", 6)))  // \xfd 7zXZ \0
    return make_xz_decoder(reader, first, output_chunk_size);
  // "BZh" and the block size, 1 to 9 (hundreds of kB)
  if (starts_with(first, "BZh") && first.size() > 3 && first[3] >= '1' && first[3] <= '9')
    return make_bzip2_decoder(reader, first, output_chunk_size);
  return make_libarchive_decoder(reader, first);
}

}  // namespace backup_doctor::archive
