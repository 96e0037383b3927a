// aio/detail/step_tracker.hpp — lesson 13: which task does each step of the loop belong to?
//
// The base of the two observers that lesson 13 installs (the trace of AIO_TRACE, the slow-step
// watch of AIO_DEBUG). The loop tells it "I am resuming this frame"; the task hooks tell it
// which task each frame belongs to:
//
//  * a task's first step resumes its top frame, made known by task_created;
//  * a step that resume_soon scheduled resumes the frame task_woken named;
//  * any other step of a task (a cancellation, an I/O callback resuming it inline) reaches
//    end_wait before anything else, and await_ended names the task then.
//
// What is left is the loop's own: callbacks, timers, I/O readiness.
//
// Installing one puts it in front of the observers already there (make check's step trace, the
// other lesson 13 observer): it passes every call on to them. Trackers are made and destroyed
// in last-in, first-out order, on the loop's thread.
#pragma once

#include "aio/detail/loop_observer.hpp"
#include "aio/detail/task_observer.hpp"
#include "aio/event_loop.hpp"
#include "aio/task.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

namespace aio::detail {

class step_tracker : public loop_observer, public task_observer {
public:
    explicit step_tracker(const event_loop& loop) noexcept
        : loop_(loop), previous_items_(loop_observer::current), previous_tasks_(task_observer::current) {
        loop_observer::current = this;
        task_observer::current = this;
    }
    step_tracker(const step_tracker&) = delete;
    step_tracker& operator=(const step_tracker&) = delete;
    virtual ~step_tracker() {
        loop_observer::current = previous_items_;
        task_observer::current = previous_tasks_;
    }

    // Every hook is passed on to the observers installed before this one, and seen here only
    // if it concerns this tracker's loop (two loops of one thread each have their own).

    // The loop's items.
    void before(const loop_item& item) final {
        if (previous_items_) previous_items_->before(item);
        step_ = step{};
        if (item.loop != &loop_) return;
        step_.item = item;
        step_.begin = clock::now();
        step_.running = true;
        if (item.frame != nullptr) {
            if (auto found = frames_.find(item.frame); found != frames_.end()) {
                if (auto task = live_.find(found->second); task != live_.end()) own(*task->second);
                frames_.erase(found);
            }
        }
        step_begun(step_);
    }
    void after(std::size_t scheduled) final {
        if (step_.running) {
            step_.end = clock::now();
            step_.running = false;
            step_ended(step_);
        }
        if (previous_items_) previous_items_->after(scheduled);
    }

    // The tasks.
    void task_created(task_state& task) noexcept final {
        if (task.loop == &loop_) {
            live_[task.id] = &task;
            frames_[task.top.address()] = task.id;
            on_task_created(task);
        }
        if (previous_tasks_) previous_tasks_->task_created(task);
    }
    void task_finished(task_state& task) noexcept final {
        if (task.loop == &loop_) {
            on_task_finished(task);
            live_.erase(task.id);   // a frame of it still in frames_ now names no task
        }
        if (previous_tasks_) previous_tasks_->task_finished(task);
    }
    void await_begun(task_state& task, const cancellable& await) noexcept final {
        if (task.loop == &loop_) on_await_begun(task, await);
        if (previous_tasks_) previous_tasks_->await_begun(task, await);
    }
    void task_woken(task_state& task, std::coroutine_handle<> frame) noexcept final {
        if (task.loop == &loop_) {
            frames_[frame.address()] = task.id;
            on_task_woken(task);
        }
        if (previous_tasks_) previous_tasks_->task_woken(task, frame);
    }
    void await_ended(task_state& task) noexcept final {
        if (task.loop == &loop_ && step_.running && step_.task_id == 0) {
            own(task);
            step_owned(step_);
        }
        if (previous_tasks_) previous_tasks_->await_ended(task);
    }
    void loop_sleeping(const event_loop& loop) noexcept final {
        if (&loop == &loop_) on_loop_sleeping();
        if (previous_tasks_) previous_tasks_->loop_sleeping(loop);
    }
    void loop_waited(const event_loop& loop, time_point from, time_point to, int events) noexcept final {
        if (&loop == &loop_) on_loop_waited(from, to, events);
        if (previous_tasks_) previous_tasks_->loop_waited(loop, from, to, events);
    }

    // The item being run: a step of a task (task_id > 0) or of the loop itself.
    struct step {
        loop_item item{};
        time_point begin{}, end{};
        std::uint64_t task_id = 0;
        std::string task_name;   // copied: the task may be gone by the end of its step
        const char* coroutine = nullptr;   // the function of the task's top coroutine
        bool running = false;
    };

protected:
    // What a tracker of this loop may want to know: everything concerns the tracker's loop.
    virtual void on_task_created(task_state&) noexcept {}
    virtual void on_task_finished(task_state&) noexcept {}
    virtual void on_await_begun(task_state&, const cancellable&) noexcept {}
    virtual void on_task_woken(task_state&) noexcept {}   // by the step running now, if any
    virtual void on_loop_sleeping() noexcept {}
    virtual void on_loop_waited(time_point, time_point, int) noexcept {}
    virtual void step_begun(const step&) noexcept {}
    virtual void step_owned(const step&) noexcept {}   // the task was known only mid-step
    virtual void step_ended(const step&) noexcept {}
    const step& current_step() const noexcept { return step_; }

    const event_loop& loop_;

private:
    void own(const task_state& task) {
        step_.task_id = task.id;
        step_.task_name = name_of(task);
        step_.coroutine = task.owner->site_.function;
    }

    loop_observer* previous_items_;
    task_observer* previous_tasks_;
    // Frames scheduled to run, and the number of their task; the tasks alive, by number. (A
    // frame's entry outlives its task when the task ends before the frame runs: the task's
    // number then finds nothing in live_, and a new frame at that address overwrites it.)
    std::unordered_map<const void*, std::uint64_t> frames_;
    std::unordered_map<std::uint64_t, task_state*> live_;
    step step_;
};

// What a step ran, in words: "a step of task 'Task-2'", "a timer callback", "a callback".
std::string what_ran(const step_tracker::step& s);

// The observers a loop installs for its life when asked by the environment (event_loop.cpp):
// debug.cpp's for AIO_DEBUG=1 (or set_debug), trace.cpp's for AIO_TRACE=<file>. Null if not.
std::unique_ptr<step_tracker> debug_monitor_if_asked(const event_loop& loop);
std::unique_ptr<step_tracker> trace_writer_if_asked(const event_loop& loop);

} // namespace aio::detail
