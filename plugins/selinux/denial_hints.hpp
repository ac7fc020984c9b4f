// What policy change would stop a denial: a relabel when the target carries a generic type
// (the usual case for a backup directory created by hand), otherwise an allow rule in the
// syntax audit2allow produces, for the operator to review.
#pragma once

#include <set>
#include <string>

namespace backup_doctor::selinux {

// "allow postgresql_t default_t:dir { add_name write };"
std::string allow_rule(const std::string& source_type, const std::string& target_type,
                       const std::string& tclass, const std::set<std::string>& permissions);

// Types a file gets when nobody labeled it for a service (default_t, unlabeled_t, tmp_t,
// user_home_t...): a denial on such a target is most likely a labeling problem.
bool is_generic_file_type(const std::string& type);
bool is_file_class(const std::string& tclass);

// The type a confined domain usually may write its data to (postgresql_t -> postgresql_db_t);
// empty when not known.
std::string data_type_for_domain(const std::string& domain);

// The directory to relabel for a denied path: the path itself for a directory, its parent
// for anything else (the most specific place, as the guide's /opt/backups/database). Empty for
// a relative path (an AVC name= without its PATH record).
std::string relabel_root(const std::string& path, const std::string& tclass);

// One line for the operator about one (source, target, class) access.
std::string policy_hint(const std::string& source_type, const std::string& target_type,
                        const std::string& tclass, const std::set<std::string>& permissions,
                        const std::string& example_path);

}  // namespace backup_doctor::selinux
