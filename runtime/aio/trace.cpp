// aio/trace.cpp — lesson 13: AIO_TRACE=out.json, the program's timeline for Perfetto.
//
// `AIO_TRACE=out.json ./program` writes a Chrome trace-event file (the format of
// chrome://tracing and https://ui.perfetto.dev, and of `make trace`'s offline page). Each event
// loop is a process of the trace (pid 1, 2, ...: the order the loops were made) and each task a
// thread of it (tid = the task's number, "Task-<n>"); tid 0 is the loop's own lane:
//
//   ph  on         what
//   M   any        names: "event loop 1", "event loop", "Task-2 worker"
//   X   a task     "step": one step of the task (ts, dur in µs); args.step counts them
//   X   a task     "awaiting aio::sleeper": the time between two steps, and what it waited for
//   s/f both ends  "wake": an arrow from the step that woke a task to the step it ran next
//   i   a task     "created", then "returned", "failed" or "cancelled"
//   X   the loop   a callback, a timer, or "epoll_wait": the loop asleep, waiting for I/O
//   C   the loop   "loop": counters at each step: items ready, timers pending, fds watched
//
// A step longer than slow_callback_duration() has args.slow = true (the page marks it red).
// One event per line, so that a trace is easy to grep; the file is a JSON array, closed when the
// last loop using it goes (a program that crashes leaves it unclosed, which viewers accept).
//
// Simplified: threads of the executor (lesson 12) are not drawn; a task's wait is named by the
// await it is suspended in (its type, or the primitive a lock or queue names).
#include "aio/debug.hpp"
#include "aio/detail/step_tracker.hpp"
#include "aio/inspect.hpp"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

namespace aio::detail {

namespace {

std::string json_string(const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char code[8];
            std::snprintf(code, sizeof code, "\\u%04x", c);
            out += code;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

// One file per path for the whole process, shared by the loops that trace to it (on any
// thread). Closed ("]") each time the last of them goes, and reopened where it stopped when
// another loop comes: the file is valid JSON whenever no loop is tracing to it.
class trace_file {
public:
    static trace_file* acquire(const std::string& path) {
        std::lock_guard lock(registry_mutex());
        auto& file = registry()[path];
        if (!file) {
            std::FILE* f = std::fopen(path.c_str(), "w");
            if (f == nullptr) {
                std::fprintf(stderr, "aio: AIO_TRACE: cannot write %s; no trace\n", path.c_str());
                registry().erase(path);
                return nullptr;
            }
            file.reset(new trace_file(f));
        }
        std::lock_guard own(file->mutex_);
        if (file->users_++ == 0 && file->closed_) {
            std::fseek(file->file_, -3, SEEK_END);   // take back the closing "\n]\n"
            file->closed_ = false;
        }
        return file.get();
    }

    void release() {
        std::lock_guard lock(mutex_);
        if (--users_ > 0) return;
        std::fputs("\n]\n", file_);
        std::fflush(file_);
        closed_ = true;
    }

    void write(const std::string& event) {
        std::lock_guard lock(mutex_);
        std::fputs(events_++ == 0 ? "[\n" : ",\n", file_);
        std::fputs(event.c_str(), file_);
    }

    int next_loop_number() {
        std::lock_guard lock(mutex_);
        return ++loops_;
    }

    // µs since the file was opened, as the format wants them (fractions allowed).
    double micros(time_point t) const {
        return std::chrono::duration<double, std::micro>(t - epoch_).count();
    }

private:
    explicit trace_file(std::FILE* f) : file_(f) {}
    static std::map<std::string, std::unique_ptr<trace_file>>& registry() {
        static std::map<std::string, std::unique_ptr<trace_file>> files;
        return files;
    }
    static std::mutex& registry_mutex() {
        static std::mutex m;
        return m;
    }

    std::mutex mutex_;
    std::FILE* file_;
    time_point epoch_ = clock::now();
    std::size_t users_ = 0;
    std::size_t events_ = 0;
    int loops_ = 0;
    bool closed_ = false;
};

class trace_writer final : public step_tracker {
public:
    trace_writer(const event_loop& loop, trace_file& file)
        : loop_(loop), file_(file), pid_(file.next_loop_number()) {
        metadata(0, "process_name", "\"name\":" + json_string("event loop " + std::to_string(pid_)));
        metadata(0, "thread_name", "\"name\":\"event loop\"");
        metadata(0, "thread_sort_index", "\"sort_index\":0");
    }
    ~trace_writer() override { file_.release(); }

    void task_created(task_state& task) noexcept override {
        step_tracker::task_created(task);
        tasks_[task.id];
        const step& now = current_step();
        std::string by = now.running && now.task_id ? ",\"args\":{\"by\":" + json_string(now.task_name) + "}" : "";
        event("i", task.id, clock::now(), "\"name\":\"created\",\"s\":\"t\"" + by);
    }

    void task_finished(task_state& task) noexcept override {
        event("i", task.id, clock::now(),
              std::string("\"name\":\"") + (task.cancelled ? "cancelled" : task.failed ? "failed" : "returned") +
                  "\",\"s\":\"t\"");
        step_tracker::task_finished(task);
    }

    void await_begun(task_state& task, const cancellable& await) noexcept override {
        tasks_[task.id].awaiting = describe(await);
        step_tracker::await_begun(task, await);
    }

    void task_woken(task_state& task, std::coroutine_handle<> frame) noexcept override {
        step_tracker::task_woken(task, frame);
        const step& now = current_step();
        if (!now.running) return;   // woken between steps (I/O, aio::run): no arrow to draw
        const std::uint64_t id = ++flows_;
        tasks_[task.id].flow = id;
        event("s", now.task_id, clock::now(), "\"name\":\"wake\",\"cat\":\"wake\",\"id\":" + std::to_string(id));
    }

    void loop_waited(const event_loop& loop, time_point from, time_point to, int events) noexcept override {
        if (&loop == &loop_)
            slice(0, from, to, "\"name\":\"epoll_wait\",\"cat\":\"idle\",\"args\":{\"events\":" +
                                   std::to_string(events) + "}");
        step_tracker::loop_waited(loop, from, to, events);
    }

private:
    struct task_track {
        time_point last_end{};   // the end of its last step (0: none yet)
        std::string awaiting;    // what it awaits since then
        std::uint64_t flow = 0;  // the arrow to end at its next step
        std::uint64_t steps = 0;
        bool named = false;
    };

    void step_begun(const step& s) noexcept override {
        if (s.item.index == 0)
            event("C", 0, s.begin,
                  "\"name\":\"loop\",\"args\":{\"ready\":" + std::to_string(s.item.step_size) +
                      ",\"timers\":" + std::to_string(loop_.scheduled_timers()) +
                      ",\"fds\":" + std::to_string(loop_.watched_fds()) + "}");
        if (s.task_id != 0) task_step_begun(s);
    }
    void step_owned(const step& s) noexcept override { task_step_begun(s); }

    // ANCHOR: task_step_begun
    void task_step_begun(const step& s) {
        task_track& track = tasks_[s.task_id];
        if (!track.named) {
            const std::string coroutine = s.coroutine ? std::string(" ") + s.coroutine + "()" : "";
            metadata(s.task_id, "thread_name", "\"name\":" + json_string(s.task_name + coroutine));
            metadata(s.task_id, "thread_sort_index", "\"sort_index\":" + std::to_string(s.task_id));
            track.named = true;
        }
        if (track.last_end != time_point{})
            slice(s.task_id, track.last_end, s.begin,
                  "\"name\":" + json_string("awaiting " + (track.awaiting.empty() ? "?" : track.awaiting)) +
                      ",\"cat\":\"wait\"");
        if (track.flow != 0)
            event("f", s.task_id, s.begin,
                  "\"name\":\"wake\",\"cat\":\"wake\",\"bp\":\"e\",\"id\":" + std::to_string(track.flow));
        track.flow = 0;
        track.awaiting.clear();
    }
    // ANCHOR_END: task_step_begun

    void step_ended(const step& s) noexcept override {
        const bool slow = s.end - s.begin > slow_callback_duration();
        const std::string slow_arg = slow ? ",\"slow\":true" : "";
        if (s.task_id == 0) {
            slice(0, s.begin, s.end, "\"name\":" + json_string(loop_item_name(s)) + ",\"cat\":\"loop\"" +
                                         (slow ? ",\"args\":{\"slow\":true}" : ""));
            return;
        }
        task_track& track = tasks_[s.task_id];
        track.last_end = s.end;
        const std::uint64_t number = ++track.steps;
        slice(s.task_id, s.begin, s.end,
              "\"name\":\"step\",\"cat\":\"task\",\"args\":{\"step\":" + std::to_string(number) + slow_arg + "}");
    }

    static std::string loop_item_name(const step& s) {
        if (s.item.timer) return "timer";
        if (s.item.frame != nullptr) return "coroutine";
        return "callback";
    }

    void metadata(std::uint64_t tid, const char* name, const std::string& args) {
        file_.write("{\"ph\":\"M\",\"pid\":" + std::to_string(pid_) + ",\"tid\":" + std::to_string(tid) +
                    ",\"name\":\"" + name + "\",\"args\":{" + args + "}}");
    }
    void event(const char* ph, std::uint64_t tid, time_point ts, const std::string& rest) {
        char stamp[32];
        std::snprintf(stamp, sizeof stamp, "%.3f", file_.micros(ts));
        file_.write(std::string("{\"ph\":\"") + ph + "\",\"pid\":" + std::to_string(pid_) +
                    ",\"tid\":" + std::to_string(tid) + ",\"ts\":" + stamp + "," + rest + "}");
    }
    void slice(std::uint64_t tid, time_point from, time_point to, const std::string& rest) {
        char dur[32];
        std::snprintf(dur, sizeof dur, "%.3f", std::chrono::duration<double, std::micro>(to - from).count());
        event("X", tid, from, std::string("\"dur\":") + dur + "," + rest);
    }

    const event_loop& loop_;
    trace_file& file_;
    int pid_;
    std::uint64_t flows_ = 0;
    std::unordered_map<std::uint64_t, task_track> tasks_;   // kept to the end: a trace is finite
};

} // namespace

std::unique_ptr<step_tracker> trace_writer_if_asked(const event_loop& loop) {
    const char* path = std::getenv("AIO_TRACE");
    if (path == nullptr || *path == '\0') return nullptr;
    trace_file* file = trace_file::acquire(path);
    if (file == nullptr) return nullptr;
    return std::make_unique<trace_writer>(loop, *file);
}

} // namespace aio::detail
