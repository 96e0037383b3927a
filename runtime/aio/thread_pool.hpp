// aio/thread_pool.hpp — lesson 12: threads for blocking work (concurrent.futures.ThreadPoolExecutor).
//
//     aio::thread_pool pool(4);
//     pool.submit([] { crunch(); });    // runs on one of at most 4 threads, in submission order
//
// A loop must never block: a blocking call (a file read, a DNS lookup, a long computation) would
// stop every task of the loop with it. So blocking work goes to a pool of threads, and its answer
// comes back to the loop (to_thread.hpp). This is the pool: a queue of jobs and the threads that
// take them.
//
// Design principles:
//  * Threads start on demand, as Python's: a job that finds no idle thread starts a new one,
//    up to max_workers. A pool that never gets work costs nothing.
//  * Jobs run in the order submitted, each to completion: a thread cannot be interrupted (C++
//    has no safe way to stop one, nor does Python). A cancelled to_thread simply abandons the
//    job's answer, or the job itself if no thread has taken it yet.
//  * shutdown() (and the destructor) lets the queued jobs run, then joins every thread, as
//    Python's shutdown(wait=True): no thread outlives its pool.
//
// Simplified: no futures of its own (to_thread.hpp pairs a job with its awaiter); a job that
// throws has nobody to tell, so the pool reports the exception on stderr and goes on.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace aio {

class thread_pool {
public:
    using job = std::function<void()>;

    /// min(32, cores + 4): Python's default, for work that mostly waits (files, DNS).
    static std::size_t default_size() noexcept;

    /// A pool of at most `max_workers` threads (0 is std::invalid_argument).
    explicit thread_pool(std::size_t max_workers = default_size());
    /// shutdown(): the queued jobs run, every thread is joined.
    ~thread_pool();
    thread_pool(const thread_pool&) = delete;   // its threads point at it
    thread_pool& operator=(const thread_pool&) = delete;

    /// Any thread: queues `next` for the next free thread (starting one if none is idle and the
    /// pool is not full). After shutdown() it is std::runtime_error.
    void submit(job next);

    /// Runs the jobs still queued, then joins every thread; idempotent. Not from a job of this
    /// pool (a thread cannot join itself): that is std::logic_error.
    void shutdown();

    std::size_t max_workers() const noexcept { return max_workers_; }
    /// How many threads the pool has started so far.
    std::size_t workers() const;

private:
    void work();   // a thread's life: take the next job, run it, until shutdown leaves none

    const std::size_t max_workers_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;     // a job arrived, or shutdown began
    std::deque<job> jobs_;             // guarded by mutex_, like everything below
    std::vector<std::thread> threads_;
    std::size_t idle_ = 0;             // threads waiting for a job
    bool shutting_down_ = false;
};

} // namespace aio
