/* Benchmark driver: loads a plugin shared library through the plugin ABI (as the core does)
 * and runs one check, printing the result as one JSON line. Used by bench.sh when the
 * backup-doctor CLI is not built yet. Plain C against plugin_abi.h only.
 *
 *   cc -O2 -I sdk/include bench/archive/run_check.c -ldl -o run_check
 *   ./run_check build/lib/backup-doctor/plugins/backup-doctor-archive.so archive.verify '{"path":"x.tar.gz"}'
 */
#include <backup_doctor/plugin_abi.h>

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static void print_str(const char* key, bd_str s) {
  printf("\"%s\":\"", key);
  for (size_t i = 0; i < s.size; ++i) {
    unsigned char c = (unsigned char)s.data[i];
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c < 0x20) printf("\\u%04x", c);
    else putchar(c);
  }
  printf("\"");
}

static void on_report(bd_call* call, bd_status status, bd_str summary, bd_str remediation,
                      bd_str details) {
  (void)call;
  static const char* names[] = {"ok", "warn", "fail", "error", "skipped"};
  printf("{\"status\":\"%s\",", status >= 0 && status <= 4 ? names[status] : "?");
  print_str("summary", summary);
  printf(",");
  print_str("remediation", remediation);
  printf(",\"details\":%.*s}\n", details.size ? (int)details.size : 2,
         details.size ? details.data : "{}");
}
static void on_metric(bd_call* c, bd_str n, double v, bd_str u, bd_str l) {
  (void)c, (void)n, (void)v, (void)u, (void)l;
}
static void on_log(bd_call* c, int32_t level, bd_str m) {
  (void)c;
  fprintf(stderr, "log[%d] %.*s\n", level, (int)m.size, m.data);
}
static void on_progress(bd_call* c, double f, bd_str m) { (void)c, (void)f, (void)m; }
static void on_error(bd_call* c, bd_str m) {
  (void)c;
  fprintf(stderr, "error: %.*s\n", (int)m.size, m.data);
}
static int32_t on_cancelled(bd_call* c) {
  (void)c;
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s PLUGIN.so CHECK_TYPE PARAMS_JSON\n", argv[0]);
    return 2;
  }
  void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    fprintf(stderr, "%s\n", dlerror());
    return 2;
  }
  bd_plugin_entry_fn entry = (bd_plugin_entry_fn)dlsym(lib, BD_PLUGIN_ENTRY_SYMBOL);
  if (!entry) {
    fprintf(stderr, "no entry symbol\n");
    return 2;
  }
  const bd_plugin_api* api = entry();
  bd_host_api host = {sizeof(bd_host_api), BD_ABI_MAJOR, BD_ABI_MINOR, on_report, on_metric,
                      on_log, on_progress, on_error, on_cancelled};
  void* instance = NULL;
  if (api->create(&host, NULL, &instance) != BD_RC_OK) return 2;
  bd_str type = {argv[2], strlen(argv[2])};
  bd_str params = {argv[3], strlen(argv[3])};
  bd_rc rc = api->run_check(instance, type, params, &host, NULL);
  api->destroy(instance);
  return rc == BD_RC_OK ? 0 : 1;
}
