/*
 * backup-doctor plugin ABI, the only thing a plugin and the core share.
 *
 * This header is C on purpose: a plugin built against ABI 1.x with any compiler and any C++
 * standard library must keep loading in every later 1.x core (see docs/plugin-abi.md).
 *
 * Rules that keep it stable:
 *  - Both tables below only ever grow at the end. A new slot bumps BD_ABI_MINOR; removing,
 *    reordering or retyping anything bumps BD_ABI_MAJOR. Readers use `struct_size` (and the
 *    minor) to know which slots exist; a slot past `struct_size` is treated as absent.
 *  - Strings cross as pointer + length (UTF-8, not necessarily NUL-terminated); structured data
 *    crosses as JSON text. No C++ types, no exceptions, no RTTI.
 *  - Nobody frees the other side's memory. Inputs are borrowed for the duration of the call;
 *    the host copies everything a callback receives before the callback returns.
 *  - Errors are return codes; the message goes through the per-call `error` callback, so checks
 *    running in parallel never share an error buffer.
 *
 * Each slot below says whether it is REQUIRED, who owns what it passes, and from which threads it
 * may be called, in the manner of Falco's plugin_api.h and CLAP's tags:
 *   [main-thread]    called by the host only from the thread that loaded the plugin;
 *   [check-thread]   the plugin calls it only from the thread the host entered run_check on (or
 *                    serialises its calls itself);
 *   [thread-safe]    any thread, any time during the call that received it.
 *
 * Lifecycle, as the 1.x core drives it:
 *   1. entry symbol, then describe(), in the core process [main-thread];
 *   2. create() once [main-thread]; on BD_RC_ERROR the core ignores `*instance`, never calls
 *      destroy() for it and refuses the plugin with the message given to host->error(), so a
 *      failing create() frees whatever it made itself;
 *   3. run_check() once per check, each in its own child process forked from the core after
 *      create() (the instance is a copy-on-write image of the parent's; nothing it changes comes
 *      back); the child ends when the call returns, so a check never sees a second call;
 *   4. destroy() once, in the core process, before the library is unloaded [main-thread].
 *
 * ABI history (append-only):
 *   1.0  bd_plugin_api{describe, create, destroy, run_check};
 *        bd_host_api{report, metric, log, progress, error, cancelled}.
 */
#ifndef BACKUP_DOCTOR_PLUGIN_ABI_H
#define BACKUP_DOCTOR_PLUGIN_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BD_ABI_MAJOR 1
#define BD_ABI_MINOR 0

/* The single symbol a plugin library exports. Everything else should be hidden. */
#define BD_PLUGIN_ENTRY_SYMBOL "backup_doctor_plugin_entry"
#define BD_EXPORT __attribute__((visibility("default")))

/* A borrowed UTF-8 string: `data` need not be NUL-terminated; `size` is in bytes. */
typedef struct bd_str {
  const char* data;
  size_t size;
} bd_str;

/* Return codes of plugin entry points. */
typedef int32_t bd_rc;
#define BD_RC_OK 0            /* the call did what it was asked */
#define BD_RC_ERROR 1         /* it could not; the reason was passed to host->error() */
#define BD_RC_UNKNOWN_CHECK 2 /* run_check was given a check type this plugin does not have */

/* Status of a check result, from best to worst (skipped is reported apart). */
typedef int32_t bd_status;
#define BD_STATUS_OK 0
#define BD_STATUS_WARN 1
#define BD_STATUS_FAIL 2
#define BD_STATUS_ERROR 3
#define BD_STATUS_SKIPPED 4

/* Log levels for host->log(). */
#define BD_LOG_DEBUG 0
#define BD_LOG_INFO 1
#define BD_LOG_WARN 2
#define BD_LOG_ERROR 3

/* Opaque, host-owned context of one call (create or run_check). Only ever handed back to the
 * host callbacks during that call; never stored by the plugin past it. */
typedef struct bd_call bd_call;

/*
 * Callbacks the host offers a plugin, valid during the call that received them. The host owns
 * the table and every `bd_call`; the plugin keeps neither past the call.
 * All slots of 1.0 are always present (the host fills every slot it declares).
 */
typedef struct bd_host_api {
  uint32_t struct_size; /* sizeof(bd_host_api) as the host compiled it */
  uint16_t abi_major;   /* the host's BD_ABI_MAJOR */
  uint16_t abi_minor;   /* the host's BD_ABI_MINOR */

  /* 1.0 [check-thread]. Sets the check's result. Call it once per run_check; a later call
   * replaces the earlier one. `summary` is one line. `remediation` tells the operator what to do
   * (empty for ok results). `details_json` is a JSON object or empty. All copied by the host. */
  void (*report)(bd_call* call, bd_status status, bd_str summary, bd_str remediation,
                 bd_str details_json);

  /* 1.0 [check-thread]. Adds a metric to the result: `name` in snake_case without unit suffix,
   * `unit` one of "seconds", "bytes", "ratio", "percent", "count" or empty; `labels_json` a flat
   * JSON object of string values, or empty. Copied by the host. */
  void (*metric)(bd_call* call, bd_str name, double value, bd_str unit, bd_str labels_json);

  /* 1.0 [check-thread]. A log line at BD_LOG_* level. Copied by the host. During create() the
   * core writes it to its own log. */
  void (*log)(bd_call* call, int32_t level, bd_str message);

  /* 1.0 [check-thread]. Progress of a long check: `fraction` in [0,1] or negative when unknown;
   * `message` copied by the host. */
  void (*progress)(bd_call* call, double fraction, bd_str message);

  /* 1.0 [check-thread]. The reason a call is about to return BD_RC_ERROR (from create() or
   * run_check()). Copied by the host; the last call wins. */
  void (*error)(bd_call* call, bd_str message);

  /* 1.0 [thread-safe]. Non-zero once the host wants the call to stop early (timeout, Ctrl-C).
   * Plugins doing long loops should poll it and return; the core sends SIGKILL to the check's
   * whole process group at the timeout whether or not it returned. */
  int32_t (*cancelled)(bd_call* call);
} bd_host_api;

/*
 * The table a plugin exports through its entry symbol. It is static and plugin-owned: the host
 * never writes to it and never frees it.
 */
typedef struct bd_plugin_api {
  uint32_t struct_size; /* sizeof(bd_plugin_api) as the plugin compiled it */
  uint16_t abi_major;   /* BD_ABI_MAJOR the plugin was built against */
  uint16_t abi_minor;   /* BD_ABI_MINOR the plugin was built against */

  /* 1.0, REQUIRED [main-thread]. The plugin's self-description as JSON:
   *   {"name": "files", "version": "1.0.0", "summary": "...",
   *    "checks": [{"type": "files.exists", "summary": "...", "doc": "...",
   *                "params": {JSON Schema of the check's "with" object}}]}
   * Keys the host acts on: "name" (required; every check type must start with "<name>."),
   * "checks" (required; "type" required in each, "params" validated against before a run,
   * "summary" and "doc" shown by `describe`), "version" and "summary" (shown), and "error": when
   * present, the plugin could not describe itself and is refused with that text as the reason.
   * Other keys are ignored. The memory is the plugin's and stays valid until the library is
   * unloaded. Must not need create() to have run. */
  bd_str (*describe)(void);

  /* 1.0, REQUIRED [main-thread]. Makes a plugin instance; do start-up work here, not in static
   * constructors. On failure return BD_RC_ERROR after host->error(call, reason); the host then
   * ignores `*instance` and never passes it to destroy(). */
  bd_rc (*create)(const bd_host_api* host, bd_call* call, void** instance);

  /* 1.0, REQUIRED [main-thread]. Frees an instance made by a successful create(); must join
   * every thread it started. */
  void (*destroy)(void* instance);

  /* 1.0, REQUIRED. Runs one check. `check_type` is a full type name from describe()
   * ("files.exists"); `params_json` is the check's validated parameters, a JSON object. The
   * result is delivered through host->report() (and metric/log/progress). Returns BD_RC_OK when
   * a result was reported, BD_RC_UNKNOWN_CHECK or BD_RC_ERROR (after host->error()) otherwise.
   * `params_json` and `check_type` are borrowed for the call. Called in a child process of the
   * one that called create(), on that child's only thread; threads the plugin starts must end
   * before it returns. */
  bd_rc (*run_check)(void* instance, bd_str check_type, bd_str params_json, const bd_host_api* host,
                     bd_call* call);
} bd_plugin_api;

/* Signature of the entry symbol `backup_doctor_plugin_entry` [main-thread]. Must be callable any
 * number of times, do no other work, and return the same static table. */
typedef const bd_plugin_api* (*bd_plugin_entry_fn)(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* BACKUP_DOCTOR_PLUGIN_ABI_H */
