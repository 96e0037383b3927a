"""Scripted wrong answers to lesson 04, the ones learners write: one per hole, and a crash, a leak
and a hang. Each is the lesson's reference code with one change; test_grader.py builds each as a
workspace would be built and checks that `make check` shows every failure it causes.

`old` must be found, once, in the file as lesson 04's snapshot has it: when the runtime changes
under it, the self-test says which answer no longer applies (fix `old`, keep the mistake).
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class WrongAnswer:
    name: str           # also its tree's: build/src/wrong-04-<name>
    mistake: str        # what the learner got wrong
    file: str           # relative to the tree
    old: str
    new: str
    blame: str | None   # the hole make check must file its failures under (None: not checked)
    screen: str         # what the screen must say besides


LESSON = "04"

WRONG_ANSWERS = [
    WrongAnswer("start_task", "start_task never schedules the task's first step",
                "aio/task.cpp", "    loop.call_soon(frame);   // first,", "    // (forgot) first,",
                blame="start_task", screen="Fix: start_task"),
    WrongAnswer("finish_task", "finish_task never marks the task finished",
                "aio/task.cpp", "    state.finished = true;\n", "",
                blame="finish_task", screen="finish_task"),
    WrongAnswer("on_task_done", "on_task_done resumes the awaiter at once, not in the next step",
                "aio/task.hpp", "        resume_soon(*awaited_.state().loop, awaiting_);",
                "        awaiting_.resume();",
                blame="on_task_done", screen='got:      {"t runs", "main resumed", "callback'),
    WrongAnswer("cancel_task", "cancel_task sets the flag but never wakes the suspended await",
                "aio/task.cpp",
                "    if (cancellable* await = std::exchange(state.suspended_in, nullptr)) await->cancel();",
                "    (void)std::exchange(state.suspended_in, nullptr);",
                blame="cancel_task", screen="Fix: cancel_task"),
    WrongAnswer("child_done", "child_done forgets that the gather retrieved a child's exception",
                "aio/gather.hpp",
                "        --unfinished_;\n        if (child.failed) {\n"
                "            child.exception_retrieved = true;   // the gather reports it, or returns it\n",
                "        --unfinished_;\n        if (child.failed) {\n",
                blame="child_done", screen="Fix: child_done"),
    WrongAnswer("crash", "finish_task does not unlink the task: aio::run walks into a freed frame",
                "aio/task.cpp", "    unlink(state);\n    state.wake_waiters();",
                "    state.wake_waiters();",
                blame=None, screen="The tests crashed in"),
    WrongAnswer("leak", "finish_task never releases the running reference: every task leaks",
                "aio/task.cpp",
                "    release_task(state);   // the running reference: the frame may be destroyed right here\n",
                "", blame="finish_task", screen="a coroutine frame leaked"),
    WrongAnswer("hang", "cancel_task waits, spinning, for a task that has not started to suspend",
                "aio/task.cpp", "    if (state.finished) return false;\n",
                "    if (state.finished) return false;\n"
                "    for (volatile int spins = 0; state.suspended_in == nullptr && !state.finished;)\n"
                "        spins = spins + 1;   // it never will: nothing else runs meanwhile\n",
                blame=None, screen="The tests hung (timed out) in"),
]
