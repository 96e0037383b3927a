// aio/inspect.cpp — lesson 13: all_tasks, await chains, task dumps (see inspect.hpp).
#include "aio/inspect.hpp"
#include "aio/not_implemented.hpp"

#include <cxxabi.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <typeinfo>
#include <unordered_map>

namespace aio {

namespace detail {

namespace {

// "aio::detail::sleeper" -> "aio::sleeper": the detail is not the reader's business. (Kept per
// type: a trace asks at every await, and demangling costs a microsecond.)
std::string readable_type(const std::type_info& type) {
    static thread_local std::unordered_map<const std::type_info*, std::string> known;
    if (auto found = known.find(&type); found != known.end()) return found->second;
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(type.name(), nullptr, nullptr, &status),
                                                std::free);
    std::string text = status == 0 && name ? name.get() : type.name();
    for (std::size_t at; (at = text.find("detail::")) != std::string::npos;) text.erase(at, 8);
    return known[&type] = text;
}

std::string where(const promise_base& p) {
    const coroutine_site& site = p.site_;
    if (site.function == nullptr) return "(a coroutine of unknown name)";   // not an aio::coroutine
    std::string text = site.function;
    if (site.file != nullptr) {
        const char* slash = std::strrchr(site.file, '/');
        text += " (" + std::string(slash ? slash + 1 : site.file) + ":" + std::to_string(site.line) + ")";
    }
    return text;
}

std::atomic<bool> sigquit_seen{false};

extern "C" void on_sigquit(int) {
    sigquit_seen.store(true, std::memory_order_relaxed);   // lock-free: allowed in a handler
}

} // namespace

std::string name_of(const task_state& state) {
    return state.name.empty() ? "Task-" + std::to_string(state.id) : state.name;
}

// ANCHOR: stack_of
std::string stack_of(const task_state& state) {
    const std::string name = "'" + name_of(state) + "'";
    if (state.finished)
        return "No stack for task " + name + " (" +
               (state.cancelled ? "cancelled" : state.failed ? "failed" : "finished") + ")\n";
    if (!state.owner->body_started_)
        return "Stack for task " + name + " (not started yet):\n  " + where(*state.owner) + "\n";
#if AIO_EXERCISE == 13
    throw not_implemented("lesson 13, hole stack_of: begin with \"Stack for task '<name>' (most "
                          "recent call last):\", then one line per coroutine from the task's top "
                          "(state.owner) down the awaited_child_ links, then what the innermost "
                          "one is awaiting (state.suspended_in), or \"(running, or woken and about to run)\"");
#else
    std::string text = "Stack for task " + name + " (most recent call last):\n";
    for (const promise_base* p = state.owner; p != nullptr; p = p->awaited_child_)
        text += "  " + where(*p) + "\n";
    if (const cancellable* await = state.suspended_in)
        text += "  awaiting " + describe(*await) + "\n";
    else
        text += "  (running, or woken and about to run)\n";   // nothing holds it any more
    return text;
#endif
}
// ANCHOR_END: stack_of

std::string describe(const cancellable& await) {
    std::string what = await.awaiting();
    return what.empty() ? readable_type(typeid(await)) : what;
}

bool dump_requested() noexcept {
    return sigquit_seen.load(std::memory_order_relaxed) && sigquit_seen.exchange(false);
}

void install_dump_on_sigquit() noexcept {
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction old {};
        if (::sigaction(SIGQUIT, nullptr, &old) != 0 || old.sa_handler != SIG_DFL) return;
        struct sigaction action {};
        action.sa_handler = on_sigquit;
        action.sa_flags = SA_RESTART;   // a read() in another thread goes on; epoll_wait returns
        sigemptyset(&action.sa_mask);
        ::sigaction(SIGQUIT, &action, nullptr);
    });
}

} // namespace detail

std::string any_task::coroutine_name() const {
    if (!state_ || !state_->owner->site_.function) return {};
    return state_->owner->site_.function;
}

void any_task::print_stack() const {
    std::fputs(stack().c_str(), stderr);
}

// ANCHOR: all_tasks
std::vector<any_task> all_tasks(const event_loop& loop) {
    std::vector<any_task> tasks;
    for (detail::task_state* state : detail::unfinished_tasks(&loop)) tasks.push_back(any_task(state));
    return tasks;
}
// ANCHOR_END: all_tasks

std::vector<any_task> all_tasks() {
    return all_tasks(get_running_loop());
}

std::size_t dump_tasks() {
    std::vector<detail::task_state*> tasks = detail::unfinished_tasks(nullptr);
    std::string text = "aio: " + std::to_string(tasks.size()) + " unfinished task" +
                       (tasks.size() == 1 ? "" : "s") + " on this thread\n";
    for (detail::task_state* state : tasks) text += detail::stack_of(*state);
    std::fputs(text.c_str(), stderr);
    return tasks.size();
}

} // namespace aio
