#include "decoder.hpp"

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

std::unique_ptr<Decoder> make_decoder(ChunkReader& reader, GzipEngine engine,
                                      size_t output_chunk_size) {
  std::span<const uint8_t> first = reader.next();
  bool gzip = first.size() >= 2 && first[0] == 0x1f && first[1] == 0x8b;
  if (gzip && engine == GzipEngine::isal)
    return make_gzip_decoder(reader, first, output_chunk_size);
  return make_libarchive_decoder(reader, first);
}

}  // namespace backup_doctor::archive
