// aio/thread_pool.cpp — lesson 12: threads for blocking work (see thread_pool.hpp).
#include "aio/thread_pool.hpp"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>

namespace aio {

std::size_t thread_pool::default_size() noexcept {
    const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
    return std::min<std::size_t>(32, cores + 4);
}

thread_pool::thread_pool(std::size_t max_workers) : max_workers_(max_workers) {
    if (max_workers == 0) throw std::invalid_argument("thread_pool: max_workers must be at least 1");
}

thread_pool::~thread_pool() {
    try {
        shutdown();
    } catch (const std::logic_error& e) {
        // Destroyed by one of its own jobs: joining would wait for ourselves forever.
        std::fprintf(stderr, "aio: %s\n", e.what());
        std::terminate();
    }
}

std::size_t thread_pool::workers() const {
    std::lock_guard lock(mutex_);
    return threads_.size();
}

void thread_pool::submit(job next) {
    if (!next) throw std::invalid_argument("thread_pool::submit: empty job");
    std::unique_lock lock(mutex_);
    if (shutting_down_) throw std::runtime_error("thread_pool::submit: the pool is shut down");
    jobs_.push_back(std::move(next));
    // More jobs waiting than idle threads to take them: one more thread, if the pool has room.
    if (jobs_.size() > idle_ && threads_.size() < max_workers_) {
        try {
            threads_.emplace_back([this] { work(); });
        } catch (...) {
            if (threads_.empty()) {   // no thread will ever take the job: do not keep it
                jobs_.pop_back();
                throw;
            }   // otherwise the threads there are will get to it
        }
    }
    lock.unlock();
    wake_.notify_one();
}

// ANCHOR: work
void thread_pool::work() {
#if AIO_EXERCISE == 12
    // lesson 12, hole work: under the lock, count yourself idle and wait on wake_ until there is
    // a job or shutdown began; leave when there is no job left; otherwise take the first job,
    // and run it with the lock released. (A stub that threw here would end the program: an
    // exception may not leave a thread's function. This one leaves at once: no job ever runs.)
#else
    std::unique_lock lock(mutex_);
    for (;;) {
        ++idle_;
        wake_.wait(lock, [this] { return !jobs_.empty() || shutting_down_; });
        --idle_;
        if (jobs_.empty()) return;   // shutting down, and nothing left to run
        job next = std::move(jobs_.front());
        jobs_.pop_front();
        lock.unlock();   // the job runs while others submit and take jobs
        try {
            next();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "aio: a thread_pool job threw: %s\n", e.what());
        } catch (...) {
            std::fprintf(stderr, "aio: a thread_pool job threw a non-std::exception\n");
        }
        next = nullptr;   // what the job holds goes now, on this thread, not under the lock
        lock.lock();
    }
#endif
}
// ANCHOR_END: work

void thread_pool::shutdown() {
    std::vector<std::thread> joining;
    {
        std::lock_guard lock(mutex_);
        for (const std::thread& t : threads_)
            if (t.get_id() == std::this_thread::get_id())
                throw std::logic_error("thread_pool::shutdown: called from one of the pool's own "
                                       "jobs (a thread cannot join itself)");
        shutting_down_ = true;
        joining.swap(threads_);
    }
    wake_.notify_all();
    for (std::thread& t : joining) t.join();
}

} // namespace aio
