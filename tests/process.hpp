#pragma once

/// Runs a program as a child process for end-to-end tests: pipes for its
/// stdin, stdout and stderr, reading with deadlines, and a kill on scope
/// exit, so that a misbehaving child fails a test instead of hanging it.
/// Also what the node tests share: supercache-node's arguments, its JSON
/// event lines, a cache node's port.

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

namespace supercache::testing {

class process {
public:
  using clock = std::chrono::steady_clock;

  /// Starts `args[0]` with `args`; stdin is a pipe if `with_stdin`, else
  /// /dev/null.
  process(const std::vector<std::string>& args, bool with_stdin = false) {
    int in[2];
    int out[2];
    int err[2];
    // Close-on-exec: a child started later must not inherit the ends this
    // process keeps (it would hold this child's stdin open); dup2 clears the
    // flag on the child's own 0, 1 and 2.
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0
        || pipe2(err, O_CLOEXEC) != 0)
      return;
    pid_ = fork();
    if (pid_ == 0) {
      if (with_stdin) {
        dup2(in[0], 0);
      } else {
        auto null = open("/dev/null", O_RDONLY);
        dup2(null, 0);
      }
      dup2(out[1], 1);
      dup2(err[1], 2);
      for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]})
        close(fd);
      std::vector<char*> argv;
      for (auto& arg : args)
        argv.push_back(const_cast<char*>(arg.c_str()));
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    if (with_stdin)
      in_ = in[1];
    else
      close(in[1]);
    out_ = out[0];
    err_ = err[0];
  }

  process(const process&) = delete;
  process& operator=(const process&) = delete;

  ~process() {
    if (running())
      kill(SIGKILL);
    wait_for_exit(std::chrono::seconds(10));
    for (int fd : {in_, out_, err_})
      if (fd >= 0)
        close(fd);
  }

  /// Returns whether the child was started and has not been reaped.
  bool running() const {
    return pid_ > 0 && !status_;
  }

  /// Sends `sig` to the child.
  void kill(int sig) {
    if (running())
      ::kill(pid_, sig);
  }

  /// Writes `text` to the child's stdin; false once the child closed it.
  bool write(const std::string& text) {
    size_t done = 0;
    while (done < text.size()) {
      auto n = ::write(in_, text.data() + done, text.size() - done);
      if (n <= 0)
        return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }

  /// Closes the child's stdin (end of input).
  void close_stdin() {
    if (in_ >= 0)
      close(in_);
    in_ = -1;
  }

  /// Returns the next line of stdout (without '\n'), or nothing if none
  /// arrived within `timeout`.
  std::optional<std::string> read_line(clock::duration timeout) {
    auto deadline = clock::now() + timeout;
    for (;;) {
      if (auto pos = out_buf_.find('\n', out_pos_); pos != std::string::npos) {
        auto line = out_buf_.substr(out_pos_, pos - out_pos_);
        out_pos_ = pos + 1;
        return line;
      }
      if (!pump(deadline))
        return std::nullopt;
    }
  }

  /// Reads the child's output until its stderr contains `text`; false if it
  /// did not within `timeout`.
  bool wait_for_err(const std::string& text, clock::duration timeout) {
    auto deadline = clock::now() + timeout;
    while (err_buf_.find(text) == std::string::npos)
      if (clock::now() >= deadline || (!pump(deadline) && !running()))
        return err_buf_.find(text) != std::string::npos;
    return true;
  }

  /// Reads the child's output until its stderr contains `text` `times`
  /// times; false if it did not within `timeout`.
  bool wait_for_err(const std::string& text, size_t times,
                    clock::duration timeout) {
    auto count = [&] {
      size_t n = 0;
      for (auto i = err_buf_.find(text); i != std::string::npos;
           i = err_buf_.find(text, i + text.size()))
        ++n;
      return n;
    };
    auto deadline = clock::now() + timeout;
    while (count() < times)
      if (clock::now() >= deadline || (!pump(deadline) && !running()))
        return count() >= times;
    return true;
  }

  /// Waits until the child exits and returns its exit status (128 + signal
  /// if it was killed), or nothing if it still runs after `timeout`. Reads
  /// its output meanwhile.
  std::optional<int> wait_for_exit(clock::duration timeout) {
    auto deadline = clock::now() + timeout;
    while (!status_ && pid_ > 0) {
      int st = 0;
      auto res = waitpid(pid_, &st, WNOHANG);
      if (res == pid_) {
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        break;
      }
      if (clock::now() >= deadline)
        return std::nullopt;
      pump(std::min(deadline, clock::now() + std::chrono::milliseconds(20)));
    }
    // Collect what is left in the pipes.
    while (pump(clock::now() + std::chrono::milliseconds(50)))
      ; // nop
    return status_;
  }

  /// Returns the child's peak resident set size in KiB (`VmHWM` of
  /// /proc/PID/status), or nothing once it was reaped.
  std::optional<long> peak_rss_kib() const {
    if (!running())
      return std::nullopt;
    std::ifstream in{"/proc/" + std::to_string(pid_) + "/status"};
    std::string key;
    long kib = 0;
    while (in >> key)
      if (key == "VmHWM:" && in >> kib)
        return kib;
    return std::nullopt;
  }

  /// Everything the child wrote to stdout so far.
  const std::string& out() const {
    return out_buf_;
  }

  /// Everything the child wrote to stderr so far.
  const std::string& err() const {
    return err_buf_;
  }

private:
  /// Reads what is available on stdout or stderr until `deadline`; returns
  /// false if nothing came.
  bool pump(clock::time_point deadline) {
    pollfd fds[2] = {{out_, POLLIN, 0}, {err_, POLLIN, 0}};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - clock::now());
    auto ms = static_cast<int>(std::max<int64_t>(0, left.count()));
    if (poll(fds, 2, ms) <= 0)
      return false;
    bool got = false;
    char buf[4096];
    for (int i = 0; i < 2; ++i)
      if (fds[i].revents & (POLLIN | POLLHUP)) {
        auto n = read(fds[i].fd, buf, sizeof(buf));
        if (n > 0) {
          (i == 0 ? out_buf_ : err_buf_).append(buf, static_cast<size_t>(n));
          got = true;
        }
      }
    return got;
  }

  pid_t pid_ = -1;
  int in_ = -1;
  int out_ = -1;
  int err_ = -1;
  std::string out_buf_;
  size_t out_pos_ = 0;
  std::string err_buf_;
  std::optional<int> status_;
};

// -- supercache-node ----------------------------------------------------------

/// Returns `"x"`, for string options on the command line.
inline std::string in_quotes(const std::string& x) {
  return "\"" + x + "\"";
}

/// Arguments that run supercache-node with the shipped config file and two
/// scheduler threads, then `extra` and `more`.
inline std::vector<std::string> node_args(std::vector<std::string> extra,
                                          std::vector<std::string> more = {}) {
  std::vector<std::string> args{SUPERCACHE_NODE_PATH,
                                "--config-file=" SUPERCACHE_SOURCE_DIR
                                "/caf-application.conf",
                                "--scheduler.max-threads=2"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

/// Parses a JSON event line; fails the test if it is none.
inline nlohmann::json event(const std::optional<std::string>& line) {
  REQUIRE_MESSAGE(line, "no event line");
  auto x = nlohmann::json::parse(*line, nullptr, false);
  REQUIRE_MESSAGE(x.is_object(), *line);
  return x;
}

/// Reads the `listening` event of cache node `node`; returns its port.
inline std::string listening_port(process& node) {
  auto listening = event(node.read_line(std::chrono::seconds(30)));
  REQUIRE_MESSAGE(listening["event"] == "listening", node.err());
  return std::to_string(listening["port"].get<uint16_t>());
}

/// Arguments of a producer node that streams stdin to the cache node on
/// `port`.
inline std::vector<std::string> stdin_producer_args(const std::string& port) {
  return node_args({"--supercache.role=\"producer\"",
                    "--supercache.remote=\"127.0.0.1:" + port + "\"",
                    "--supercache.input=\"-\""});
}

/// Returns `n` NDJSON records `[i,"v"]`, i = 0 .. n-1.
inline std::string records_chunk(int n) {
  std::string result;
  for (int i = 0; i < n; ++i)
    result += "[" + std::to_string(i) + ",\"v\"]\n";
  return result;
}

/// A temporary input file with `text`, removed at the end of its scope.
struct input_file {
  explicit input_file(const std::string& text) {
    static int count = 0;
    path = std::filesystem::temp_directory_path()
           / ("supercache_input_" + std::to_string(getpid()) + "_"
              + std::to_string(++count) + ".ndjson");
    std::ofstream{path} << text;
  }

  input_file(const input_file&) = delete;
  input_file& operator=(const input_file&) = delete;

  ~input_file() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }

  std::filesystem::path path;
};

} // namespace supercache::testing
