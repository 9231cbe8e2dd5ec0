// The loaders' worker threads: a batch's samples split into contiguous blocks, one per thread.
#pragma once

#include <algorithm>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace facekit {

// Runs prepare(i) for every i in [0, count) on up to `threads` threads. prepare(i) may write only
// to objects of its own sample i: never to a std::vector<bool>, whose elements are bits of shared
// words (two threads setting neighbouring flags lose one now and then). An exception must not
// leave a thread (std::terminate would end the trainer without a word): the first one each thread
// meets comes back here and is thrown as a runtime_error that begins with describe(i), the sample
// it happened on, once every thread has finished.
inline void prepare_in_threads(size_t count, size_t threads, const std::function<void(size_t)>& prepare,
                               const std::function<std::string(size_t)>& describe) {
  threads = std::max<size_t>(1, std::min(threads, count));
  std::vector<std::string> failures(threads);
  const auto block = [&](size_t t) {
    for (size_t i = count * t / threads; i < count * (t + 1) / threads; ++i) {
      try {
        prepare(i);
      } catch (const std::exception& e) {
        failures[t] = describe(i) + ": " + e.what();
        return;
      }
    }
  };
  std::vector<std::thread> workers;
  for (size_t t = 0; t < threads; ++t) workers.emplace_back(block, t);
  for (auto& w : workers) w.join();
  for (const auto& failure : failures) {
    if (!failure.empty()) throw std::runtime_error(failure);
  }
}

}  // namespace facekit
