// backup-doctor: diagnoses backup systems before they fail on the day of a restore.
#include "cli.hpp"

int main(int argc, char** argv) {
  return backup_doctor::run_cli(argc, argv);
}
