#include "xml.hpp"

#include <libxml/parser.h>
#include <libxml/tree.h>

namespace backup_doctor::s3 {

namespace {
bool named(xmlNode* n, std::string_view name) {
  return n->type == XML_ELEMENT_NODE && n->name != nullptr &&
         name == reinterpret_cast<const char*>(n->name);
}
}  // namespace

std::string XmlNode::name() const {
  return node_->name ? reinterpret_cast<const char*>(node_->name) : "";
}

std::string XmlNode::text() const {
  xmlChar* content = xmlNodeGetContent(node_);
  if (content == nullptr) return {};
  std::string out(reinterpret_cast<const char*>(content));
  xmlFree(content);
  return out;
}

std::optional<XmlNode> XmlNode::child(std::string_view name) const {
  for (xmlNode* n = node_->children; n != nullptr; n = n->next)
    if (named(n, name)) return XmlNode(n);
  return std::nullopt;
}

std::vector<XmlNode> XmlNode::children(std::string_view name) const {
  std::vector<XmlNode> out;
  for (xmlNode* n = node_->children; n != nullptr; n = n->next)
    if (named(n, name)) out.emplace_back(n);
  return out;
}

std::string XmlNode::child_text(std::string_view name, std::string fallback) const {
  auto c = child(name);
  return c ? c->text() : fallback;
}

std::optional<XmlNode> XmlNode::find(std::string_view name) const {
  for (xmlNode* n = node_->children; n != nullptr; n = n->next) {
    if (n->type != XML_ELEMENT_NODE) continue;
    if (named(n, name)) return XmlNode(n);
    if (auto found = XmlNode(n).find(name)) return found;
  }
  return std::nullopt;
}

void XmlDocument::Free::operator()(_xmlDoc* doc) const {
  xmlFreeDoc(doc);
}

std::optional<XmlDocument> XmlDocument::parse(std::string_view text) {
  if (text.empty()) return std::nullopt;
  xmlDoc* doc = xmlReadMemory(text.data(), static_cast<int>(text.size()), "s3.xml", nullptr,
                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  if (doc == nullptr || xmlDocGetRootElement(doc) == nullptr) {
    if (doc) xmlFreeDoc(doc);
    return std::nullopt;
  }
  XmlDocument out;
  out.doc_ = std::shared_ptr<_xmlDoc>(doc, Free{});
  return out;
}

XmlNode XmlDocument::root() const {
  return XmlNode(xmlDocGetRootElement(doc_.get()));
}

}  // namespace backup_doctor::s3
