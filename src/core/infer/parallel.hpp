// A minimal parallel loop over independent tasks (fits): the work is split into
// contiguous chunks, one per thread, so each chunk can warm-start along its range.
#pragma once

#include <algorithm>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace hifit {

inline int resolve_jobs(int jobs, std::size_t tasks) {
    if (jobs <= 0)
        jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    return static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(jobs),
                                                  std::max<std::size_t>(tasks, 1)));
}

// Calls body(begin, end) for `jobs` contiguous chunks of [0, n); rethrows the first
// exception after all threads have finished.
template <class Body> void parallel_chunks(std::size_t n, int jobs, Body body) {
    jobs = resolve_jobs(jobs, n);
    if (jobs <= 1) {
        body(std::size_t{0}, n);
        return;
    }
    std::exception_ptr error;
    std::mutex mutex;
    std::vector<std::thread> threads;
    for (int j = 0; j < jobs; ++j) {
        const std::size_t begin = n * j / jobs, end = n * (j + 1) / jobs;
        threads.emplace_back([&, begin, end] {
            try {
                body(begin, end);
            } catch (...) {
                std::lock_guard lock(mutex);
                if (!error) error = std::current_exception();
            }
        });
    }
    for (auto& t : threads) t.join();
    if (error) std::rethrow_exception(error);
}

} // namespace hifit
