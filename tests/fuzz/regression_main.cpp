// Runs a fuzz target without libFuzzer: every file named on the command line,
// and every file below every directory named there (sorted; names starting
// with '.' are skipped), is passed once to `LLVMFuzzerTestOneInput`.
//
// Linked into the fuzz targets in the normal and the sanitizer builds, so
// that ctest replays the seed corpus and every input that once crashed. A
// failed check inside the target aborts, which fails the test.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

bool hidden(const fs::path& path) {
  auto name = path.filename().string();
  return !name.empty() && name[0] == '.';
}

/// Appends `path`, or the regular files below it, to `out`. Returns false if
/// `path` does not exist.
bool collect(const fs::path& path, std::vector<fs::path>& out) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    out.push_back(path);
    return true;
  }
  if (!fs::is_directory(path, ec))
    return false;
  std::vector<fs::path> found;
  for (auto i = fs::recursive_directory_iterator{path, ec};
       !ec && i != fs::recursive_directory_iterator{}; i.increment(ec)) {
    if (hidden(i->path())) {
      if (i->is_directory())
        i.disable_recursion_pending();
      continue;
    }
    if (i->is_regular_file())
      found.push_back(i->path());
  }
  std::sort(found.begin(), found.end());
  out.insert(out.end(), found.begin(), found.end());
  return !ec;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
    return 2;
  }
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    if (!collect(argv[i], files)) {
      std::fprintf(stderr, "%s: cannot read %s\n", argv[0], argv[i]);
      return 2;
    }
  }
  for (auto& file : files) {
    std::ifstream in{file, std::ios::binary};
    if (!in) {
      std::fprintf(stderr, "%s: cannot open %s\n", argv[0], file.c_str());
      return 2;
    }
    std::vector<char> bytes{std::istreambuf_iterator<char>{in},
                            std::istreambuf_iterator<char>{}};
    std::fprintf(stderr, "running %s (%zu bytes)\n", file.c_str(),
                 bytes.size());
    // A copy of exactly the input's size, as libFuzzer passes it, so that
    // ASan sees a read past the end.
    std::vector<uint8_t> data(bytes.begin(), bytes.end());
    static const uint8_t no_bytes = 0;
    LLVMFuzzerTestOneInput(data.empty() ? &no_bytes : data.data(),
                           data.size());
  }
  std::fprintf(stderr, "%s: %zu inputs ran without a crash\n", argv[0],
               files.size());
  return 0;
}
