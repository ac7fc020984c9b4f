// S3 and STS answer in XML; libxml2 reads it. Elements are matched by local name so that the
// namespace S3 puts on its documents (or leaves out, as some compatible stores do) is irrelevant.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct _xmlDoc;
struct _xmlNode;

namespace backup_doctor::s3 {

class XmlNode {
 public:
  explicit XmlNode(_xmlNode* node) : node_(node) {}
  std::string name() const;
  std::string text() const;
  // First child element named `name`; empty when absent.
  std::optional<XmlNode> child(std::string_view name) const;
  std::vector<XmlNode> children(std::string_view name) const;
  // Text of the first child named `name`, or `fallback`.
  std::string child_text(std::string_view name, std::string fallback = {}) const;
  // First element named `name` anywhere below (depth first).
  std::optional<XmlNode> find(std::string_view name) const;

 private:
  _xmlNode* node_;
};

class XmlDocument {
 public:
  // Nothing when `text` is not well-formed XML. Never fetches anything over the network and
  // never expands external entities.
  static std::optional<XmlDocument> parse(std::string_view text);
  XmlNode root() const;

 private:
  struct Free {
    void operator()(_xmlDoc* doc) const;
  };
  std::shared_ptr<_xmlDoc> doc_;
};

}  // namespace backup_doctor::s3
