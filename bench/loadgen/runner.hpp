// N io_contexts, one per thread. A scenario runs in phases: each phase restarts every context,
// starts its work on them and runs them all until they are out of work.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <thread>
#include <vector>

namespace loadgen {

class Runner {
 public:
  explicit Runner(unsigned threads) {
    for (unsigned i = 0; i < threads; ++i)
      contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
  }
  unsigned size() const { return static_cast<unsigned>(contexts_.size()); }

  // spawn(i, context) starts the phase's work for thread i.
  template <class Spawn>
  void phase(Spawn&& spawn) {
    for (unsigned i = 0; i < size(); ++i) {
      contexts_[i]->restart();
      spawn(i, *contexts_[i]);
    }
    std::vector<std::thread> threads;
    for (unsigned i = 1; i < size(); ++i)
      threads.emplace_back([this, i] { contexts_[i]->run(); });
    contexts_[0]->run();
    for (auto& t : threads)
      t.join();
  }

 private:
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
};

}  // namespace loadgen
