// The command line: run, validate, plugins, describe, version.
#pragma once

namespace backup_doctor {

int run_cli(int argc, char** argv);

}  // namespace backup_doctor
