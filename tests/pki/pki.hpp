#pragma once

/// The test PKI of tests/pki/make-pki.sh: made once per test process in a
/// temporary directory, removed at its exit.

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include <doctest/doctest.h>

namespace supercache::testing {

class pki_dir {
public:
  pki_dir() {
    path_ = std::filesystem::temp_directory_path()
            / ("supercache_pki_" + std::to_string(getpid()));
    auto cmd = "bash '" SUPERCACHE_SOURCE_DIR "/tests/pki/make-pki.sh' '"
               + path_.string() + "' >/dev/null";
    ok_ = std::system(cmd.c_str()) == 0;
  }

  ~pki_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  /// Returns the path of `name` (e.g. `ca.pem`) in the PKI.
  std::string file(const std::string& name) const {
    return (path_ / name).string();
  }

  bool ok() const {
    return ok_;
  }

private:
  std::filesystem::path path_;
  bool ok_ = false;
};

/// Returns the PKI of this process; fails the test if it cannot be made.
inline const pki_dir& pki() {
  static pki_dir dir;
  REQUIRE_MESSAGE(dir.ok(), "tests/pki/make-pki.sh failed");
  return dir;
}

/// Returns supercache-node's `--openssl.*` arguments for the certificate
/// `name` of the PKI (cache, producer, stranger) and the CA `ca` (ca,
/// stranger-ca).
inline std::vector<std::string> tls_args(const std::string& name,
                                         const std::string& ca = "ca") {
  auto& dir = pki();
  auto arg = [](const char* key, const std::string& path) {
    return std::string{"--openssl."} + key + "=\"" + path + "\"";
  };
  return {arg("certificate", dir.file(name + ".pem")),
          arg("key", dir.file(name + ".key")),
          arg("cafile", dir.file(ca + ".pem"))};
}

} // namespace supercache::testing
