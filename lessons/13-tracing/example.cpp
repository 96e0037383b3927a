// Lesson 13: seeing the loop — the C++ port of example.py.
//
// Three tasks wait on different things: two sleep, one waits for an event. main lists the tasks
// (all_tasks, with their names and coroutines), prints the await chain of the one that waits for
// the event, sets the event and collects the results. Then a step blocks the loop for 150 ms,
// and debug mode reports it.
//
// Run it with AIO_TRACE=trace.json to get its timeline (open the file in https://ui.perfetto.dev,
// or `make trace LESSON=13` for the offline page). stdout holds what asyncio and aio print alike;
// the await chain and debug mode's report go to stderr, where the two differ in form.
#include <aio/aio.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

aio::coroutine<std::string> fetch(std::string name, aio::duration delay) {
    co_await aio::sleep(delay);
    co_return name + ": done";
}

aio::coroutine<std::string> wait_for_go(aio::event& go) {
    co_await go.wait();
    co_return "waiter: got the signal";
}

aio::coroutine<void> block_the_loop() {
    std::this_thread::sleep_for(150ms);   // a blocking call in a coroutine: every other task waits too
    co_return;
}

aio::coroutine<void> amain() {
    aio::event go;
    auto a = aio::create_task(fetch("fetch-a", 50ms), "fetch-a");
    auto b = aio::create_task(fetch("fetch-b", 100ms), "fetch-b");
    auto w = aio::create_task(wait_for_go(go), "waiter");
    co_await aio::sleep(0s);   // let them start

    std::printf("the tasks:\n");
    std::vector<aio::any_task> tasks = aio::all_tasks();
    std::sort(tasks.begin(), tasks.end(),
              [](const aio::any_task& x, const aio::any_task& y) { return x.get_name() < y.get_name(); });
    for (const aio::any_task& t : tasks)
        std::printf("  %-8s %-12s %s\n", t.get_name().c_str(), t.coroutine_name().c_str(),
                    t.done() ? "done" : "pending");
    w.print_stack();

    go.set();
    auto [from_a, from_b, from_w] = co_await aio::gather(a, b, w);
    for (const std::string& result : {from_a, from_b, from_w}) std::printf("%s\n", result.c_str());
    std::printf("tasks left: %zu (main itself)\n", aio::all_tasks().size());

    std::printf("a step that blocks the loop for 150 ms (debug mode reports it on stderr)\n");
    co_await aio::create_task(block_the_loop(), "blocker");
    std::printf("done\n");
}

int main() {
    aio::set_debug(true);   // asyncio.run(main(), debug=True)
    aio::run(amain());
}
