// The JSON Schema of a checklist file (docs/checklist.schema.json), compiled into the binary.
#pragma once

namespace backup_doctor {
const char* checklist_schema_text();
}
