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
// Events are buffered, and written out whenever the loop goes to sleep: a program that hangs, or
// is killed while it waits, keeps its whole trace; one killed in the middle of work loses what
// it did since it last slept.
//
// Simplified: threads of the executor (lesson 12) are not drawn; a task's wait is named by the
// await it is suspended in (its type, or the primitive a lock or queue names).
#include "aio/debug.hpp"
#include "aio/detail/step_tracker.hpp"
#include "aio/inspect.hpp"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace aio::detail {

namespace {

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
            std::setvbuf(f, nullptr, _IOFBF, 1 << 20);   // fewer writes; a crash loses the last MiB
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

    void flush() {
        std::lock_guard lock(mutex_);
        std::fflush(file_);
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

// One event, as one JSON object, written into a buffer the writer reuses: tracing a million
// steps must not cost a million allocations. Keys are literals; values are escaped.
class event_text {
public:
    explicit event_text(std::string& out) : out_(out) {
        out_.clear();
        out_ += '{';
    }
    event_text& str(const char* k, std::string_view value) {
        key(k);
        out_ += '"';
        for (char c : value) {
            if (c == '"' || c == '\\') out_ += '\\';
            if (static_cast<unsigned char>(c) < 0x20) {
                char code[8];
                std::snprintf(code, sizeof code, "\\u%04x", c);
                out_ += code;
            } else {
                out_ += c;
            }
        }
        out_ += '"';
        return *this;
    }
    event_text& num(const char* k, std::uint64_t value) {
        key(k);
        char digits[24];
        out_.append(digits, std::to_chars(digits, digits + sizeof digits, value).ptr);
        return *this;
    }
    event_text& micros(const char* k, double value) {   // the format's unit, to the ns
        key(k);
        char digits[40];
        out_.append(digits, std::to_chars(digits, digits + sizeof digits, value, std::chars_format::fixed, 3).ptr);
        return *this;
    }
    event_text& yes(const char* k) {
        key(k);
        out_ += "true";
        return *this;
    }
    event_text& open(const char* k) {   // "k":{ ... close()
        key(k);
        out_ += '{';
        first_ = true;
        return *this;
    }
    event_text& close() {
        out_ += '}';
        first_ = false;
        return *this;
    }
    const std::string& text() {
        out_ += '}';
        return out_;
    }

private:
    void key(const char* k) {
        if (!first_) out_ += ',';
        first_ = false;
        out_ += '"';
        out_ += k;
        out_ += "\":";
    }
    std::string& out_;
    bool first_ = true;
};

class trace_writer final : public step_tracker {
public:
    trace_writer(const event_loop& loop, trace_file& file)
        : step_tracker(loop), file_(file), pid_(file.next_loop_number()) {
        file_.write(head("M", 0).str("name", "process_name").open("args")
                        .str("name", "event loop " + std::to_string(pid_)).close().text());
        file_.write(head("M", 0).str("name", "thread_name").open("args").str("name", "event loop").close().text());
        file_.write(head("M", 0).str("name", "thread_sort_index").open("args").num("sort_index", 0).close().text());
    }
    ~trace_writer() override { file_.release(); }

    void on_task_created(task_state& task) noexcept override {
        tasks_[task.id];
        const step& now = current_step();
        event_text& e = at("i", task.id, clock::now()).str("name", "created").str("s", "t");
        if (now.running && now.task_id) e.open("args").str("by", now.task_name).close();
        file_.write(e.text());
    }

    void on_task_finished(task_state& task) noexcept override {
        file_.write(at("i", task.id, clock::now())
                        .str("name", task.cancelled ? "cancelled" : task.failed ? "failed" : "returned")
                        .str("s", "t").text());
    }

    void on_await_begun(task_state& task, const cancellable& await) noexcept override {
        tasks_[task.id].awaiting = describe(await);
    }

    void on_task_woken(task_state& task) noexcept override {
        const step& now = current_step();
        if (!now.running) return;   // woken between steps (I/O, aio::run): no arrow to draw
        const std::uint64_t id = ++flows_;
        tasks_[task.id].flow = id;
        file_.write(at("s", now.task_id, clock::now()).str("name", "wake").str("cat", "wake").num("id", id).text());
    }

    void on_loop_sleeping() noexcept override {
        file_.flush();   // a program that hangs or is killed now keeps its trace
    }

    void on_loop_waited(time_point from, time_point to, int events) noexcept override {
        file_.write(slice(0, from, to).str("name", "epoll_wait").str("cat", "idle")
                        .open("args").num("events", static_cast<std::uint64_t>(events)).close().text());
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
            file_.write(at("C", 0, s.begin).str("name", "loop").open("args")
                            .num("ready", s.item.step_size).num("timers", loop_.scheduled_timers())
                            .num("fds", loop_.watched_fds()).close().text());
        if (s.task_id != 0) task_step_begun(s);
    }
    void step_owned(const step& s) noexcept override { task_step_begun(s); }

    // ANCHOR: task_step_begun
    void task_step_begun(const step& s) {
        task_track& track = tasks_[s.task_id];
        if (!track.named) {   // named at its first step: create_task(coro, name) names it after
            const std::string coroutine = s.coroutine ? std::string(" ") + s.coroutine + "()" : "";
            file_.write(head("M", s.task_id).str("name", "thread_name").open("args")
                            .str("name", s.task_name + coroutine).close().text());
            file_.write(head("M", s.task_id).str("name", "thread_sort_index").open("args")
                            .num("sort_index", s.task_id).close().text());
            track.named = true;
        }
#if AIO_EXERCISE == 13
        // lesson 13, hole task_step_begun: if the task ran before (track.last_end), draw the wait
        // since then as a slice named awaiting <track.awaiting>, of category wait; if a wake
        // arrow waits for this step (track.flow), end it here with an f event (binding point e,
        // that id); then clear both.
#else
        if (track.last_end != time_point{})
            file_.write(slice(s.task_id, track.last_end, s.begin)
                            .str("name", "awaiting " + (track.awaiting.empty() ? "?" : track.awaiting))
                            .str("cat", "wait").text());
        if (track.flow != 0)
            file_.write(at("f", s.task_id, s.begin).str("name", "wake").str("cat", "wake").str("bp", "e")
                            .num("id", track.flow).text());
        track.flow = 0;
        track.awaiting.clear();
#endif
    }
    // ANCHOR_END: task_step_begun

    void step_ended(const step& s) noexcept override {
        const bool slow = s.end - s.begin > slow_callback_duration();
        if (s.task_id == 0) {
            event_text& e = slice(0, s.begin, s.end).str("name", loop_item_name(s)).str("cat", "loop");
            if (slow) e.open("args").yes("slow").close();
            file_.write(e.text());
            return;
        }
        task_track& track = tasks_[s.task_id];
        track.last_end = s.end;
        event_text& e = slice(s.task_id, s.begin, s.end).str("name", "step").str("cat", "task")
                            .open("args").num("step", ++track.steps);
        if (slow) e.yes("slow");
        file_.write(e.close().text());
    }

    static const char* loop_item_name(const step& s) {
        if (s.item.timer) return "timer";
        if (s.item.frame != nullptr) return "coroutine";
        return "callback";
    }

    // The fields every event starts with; then a timestamp, then a duration for a slice.
    event_text& head(const char* ph, std::uint64_t tid) {
        text_.emplace(line_);
        return text_->str("ph", ph).num("pid", static_cast<std::uint64_t>(pid_)).num("tid", tid);
    }
    event_text& at(const char* ph, std::uint64_t tid, time_point ts) {
        return head(ph, tid).micros("ts", file_.micros(ts));
    }
    event_text& slice(std::uint64_t tid, time_point from, time_point to) {
        return at("X", tid, from).micros("dur", std::chrono::duration<double, std::micro>(to - from).count());
    }

    trace_file& file_;
    int pid_;
    std::uint64_t flows_ = 0;
    std::unordered_map<std::uint64_t, task_track> tasks_;   // kept to the end: a trace is finite
    std::string line_;                     // the event being written (its capacity is kept)
    std::optional<event_text> text_;
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
