// Phase 6, memory: RSS readings, the sampler that runs beside phase 3's
// producers, the figures derived from them, and the fresh `--mode=lazy`
// process that takes them for `--mode=all`.

#include "bench/phases.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <thread>

#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __GLIBC__
#  include <malloc.h>
#endif

extern char** environ;

namespace supercache::bench {

// -- RSS ----------------------------------------------------------------------

size_t current_rss_kb() {
  std::ifstream in{"/proc/self/statm"};
  size_t pages = 0;
  size_t resident = 0;
  in >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE)) / 1024;
}

size_t peak_rss_kb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<size_t>(usage.ru_maxrss);
}

void release_free_memory() {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

// -- sampling while producers run ---------------------------------------------

memory_sample sample_memory(const std::vector<std::atomic<size_t>>& progress,
                            const std::atomic<bool>& stop) {
  using namespace std::chrono_literals;
  memory_sample most;
  while (!stop.load()) {
    std::this_thread::sleep_for(5ms);
    memory_sample now;
    for (auto& x : progress)
      now.enqueued += x.load(std::memory_order_relaxed);
    now.stored = value_or(supercache::size(), size_t{0});
    now.rss_kb = current_rss_kb();
    if (now.pending() > most.pending())
      most = now;
  }
  return most;
}

json memory_figures(size_t records, size_t stored, size_t before_kb,
                    size_t done_kb, size_t after_kb, size_t stored_at_done,
                    const memory_sample& most) {
  auto per_stored = after_kb > before_kb && stored > 0
                      ? (after_kb - before_kb) * 1024.0 / stored
                      : 0.0;
  json per_pending = nullptr;
  if (most.pending() > 0) {
    // What the pending records hold beyond the records stored by then.
    auto grown = (static_cast<double>(most.rss_kb) - before_kb) * 1024.0
                 - per_stored * static_cast<double>(most.stored);
    per_pending = rounded(std::max(grown, 0.0) / most.pending(), 1);
  }
  return {{"rss_before_kb", before_kb},
          {"rss_producers_done_kb", done_kb},
          {"rss_after_flush_kb", after_kb},
          {"peak_rss_kb", peak_rss_kb()},
          {"bytes_per_stored_record", rounded(per_stored, 1)},
          {"pending_at_producers_done",
           records - std::min(records, stored_at_done)},
          {"max_pending", most.pending()},
          {"stored_at_max_pending", most.stored},
          {"rss_at_max_pending_kb", most.rss_kb},
          {"bytes_per_pending_record", per_pending}};
}

// -- the fresh process --------------------------------------------------------

int spawn_piped(const char* path, std::vector<std::string> args, pid_t& pid,
                std::string& error) {
  std::vector<char*> cargs;
  for (auto& arg : args)
    cargs.push_back(arg.data());
  cargs.push_back(nullptr);
  int fds[2];
  if (pipe(fds) != 0) {
    error = "pipe failed";
    return -1;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  posix_spawn_file_actions_addclose(&actions, fds[1]);
  auto rc = posix_spawn(&pid, path, &actions, nullptr, cargs.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    pid = 0;
    error = std::string{"cannot start "} + path + ": posix_spawn failed: "
            + std::to_string(rc);
    return -1;
  }
  return fds[0];
}

json run_child(int argc, char** argv, const std::vector<std::string>& extra) {
  std::vector<std::string> args{argv[0]};
  for (int i = 1; i < argc; ++i)
    if (std::string{argv[i]}.rfind("--mode=", 0) != 0)
      args.emplace_back(argv[i]);
  args.emplace_back("--mode=lazy");
  args.insert(args.end(), extra.begin(), extra.end());
  pid_t pid = 0;
  std::string error;
  auto fd = spawn_piped("/proc/self/exe", std::move(args), pid, error);
  if (fd < 0)
    return error;
  std::string out;
  char buf[4096];
  ssize_t got = 0;
  while ((got = read(fd, buf, sizeof(buf))) > 0)
    out.append(buf, static_cast<size_t>(got));
  close(fd);
  int status = 0;
  waitpid(pid, &status, 0);
  auto line = out.rfind("\n{");
  auto parsed = json::parse(line == std::string::npos ? std::string{}
                                                      : out.substr(line + 1),
                            nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object())
    return "no JSON line from the child";
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    parsed["child_failed"] = true;
  return parsed;
}

} // namespace supercache::bench
