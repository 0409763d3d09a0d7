#pragma once

/// The node's input: a file or stdin read through a file descriptor, so
/// that a read error is reported rather than taken for the end of the input,
/// and a blocked read can be interrupted (on SIGINT/SIGTERM) from another
/// thread.

#include <atomic>
#include <cstddef>
#include <streambuf>
#include <string>

namespace supercache::node {

/// A read-only `std::streambuf` over a file descriptor. `interrupt()` (from
/// any thread) ends the input as if at its end, also while a read blocks.
class fd_input : public std::streambuf {
public:
  /// Opens `path`, or stdin for "-"; check `error()` before reading.
  explicit fd_input(const std::string& path);

  fd_input(const fd_input&) = delete;
  fd_input& operator=(const fd_input&) = delete;

  ~fd_input() override;

  /// Returns why the input could not be opened or read (with the system's
  /// reason, e.g. "Is a directory"), or an empty string. An empty input is
  /// no error.
  const std::string& error() const noexcept {
    return error_;
  }

  /// Ends the input: the next read returns end of input. Thread-safe and
  /// async-signal-safe.
  void interrupt() noexcept;

  /// Returns whether `interrupt()` was called.
  bool interrupted() const noexcept {
    return interrupted_.load();
  }

protected:
  int_type underflow() override;

private:
  /// Sets `error_` from `errno`.
  void fail(const char* what);

  std::string path_;
  int fd_ = -1;
  bool owns_fd_ = false;
  int wake_[2] = {-1, -1};
  std::atomic<bool> interrupted_{false};
  std::string error_;
  char buf_[65536];
};

} // namespace supercache::node
