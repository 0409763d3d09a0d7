// Fuzz target for the configuration: what a user can write into
// caf-application.conf.
//
// The input is written to a config file (on tmpfs when /dev/shm is
// writable; one path per process, rewritten for each input), then parsed the
// way a program does, twice: as a program that calls `supercache::configure`
// (a fresh `caf::actor_system_config`, `supercache::declare_options`,
// `cfg.parse(argc, argv, path)` with a fixed argv, then
// `supercache::options::from(cfg)`), and as `supercache-node` (the same with
// `node::declare_options` too, then both `options::from` and
// `node::options::from`). `from` runs also after a parse error: it re-reads
// the file itself. Nothing may crash or hang, and options that a `from`
// accepts must pass `validate()`. No actor system is created.
//
// A property that does not hold aborts (also in builds with NDEBUG), which
// libFuzzer and the regression driver report as a crash.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <caf/actor_system_config.hpp>
#include <caf/error.hpp>

#include "tests/fuzz/fuzz_check.hpp"
#include <supercache/errc.hpp>
#include <supercache/options.hpp>

#include "config/node_options.hpp"

namespace {

/// Removes the config file when the process exits normally.
struct config_file {
  std::string path;

  config_file() {
    const char* dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : nullptr;
    if (dir == nullptr)
      dir = std::getenv("TMPDIR");
    if (dir == nullptr || *dir == '\0')
      dir = "/tmp";
    path = std::string{dir} + "/supercache-fuzz-config-"
           + std::to_string(getpid()) + ".conf";
  }

  ~config_file() {
    std::remove(path.c_str());
  }

  void write(const uint8_t* data, size_t size) const {
    auto fp = std::fopen(path.c_str(), "wb");
    FUZZ_CHECK(fp != nullptr);
    if (size > 0)
      FUZZ_CHECK(std::fwrite(data, 1, size, fp) == size);
    FUZZ_CHECK(std::fclose(fp) == 0);
  }
};

const config_file& file() {
  static config_file instance;
  return instance;
}

/// Parses the config file with `cfg`; a parse error is fine: `from` must
/// then report the file itself.
void parse(caf::actor_system_config& cfg) {
  char arg0[] = "fuzz_config";
  char* argv[] = {arg0, nullptr};
  static_cast<void>(cfg.parse(1, argv, file().path.c_str()));
}

/// Checks what a `from` returned: options that pass `validate()`, or an
/// `invalid_option` naming what is wrong, never a crash or another error.
template <class Options>
void check(const caf::expected<Options>& opts) {
  if (opts) {
    FUZZ_CHECK(!opts->validate());
  } else {
    FUZZ_CHECK(opts.error() == supercache::errc::invalid_option);
    FUZZ_CHECK(!supercache::render(opts.error()).empty());
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  file().write(data, size);
  {
    // A program that calls `supercache::configure`: the library's options.
    caf::actor_system_config cfg;
    supercache::declare_options(cfg);
    parse(cfg);
    check(supercache::options::from(cfg));
  }
  {
    // supercache-node: the library's options and the node's.
    caf::actor_system_config cfg;
    supercache::declare_options(cfg);
    supercache::node::declare_options(cfg);
    parse(cfg);
    check(supercache::options::from(cfg));
    check(supercache::node::options::from(cfg));
  }
  return 0;
}
