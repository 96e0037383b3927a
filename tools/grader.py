"""The grader: what `make check` tells a learner about their workspace (course.py calls it).

Principles (rustlings is the model: friendly, one screen, instant):

* Every test is accounted for. Each one passed, failed, crashed, hung or never ran, and the counts
  add up to the lesson's total. A failing test is shown with its own first failure right under
  its name: the check that failed and the values it saw, or the exception, or the leak. A list
  cut short says how many tests it left out.
* A crash or a hang costs one test, not the suite. doctest's XML reporter writes to a file as the
  tests run, and the grader reads that file as it grows, so it always knows which test is
  running: it names that test, stops it if it gives no result in time, and runs the tests after
  it in a fresh process.
* A failure is filed under the hole that can fix it: the hole that a stub's not_implemented
  message or a leak check names; otherwise the hole the test is named after ("start_task: ..."),
  unless that hole's test needs another that does not work. Each lesson declares what the tests
  of each hole need besides that hole (a small table at the top of its test file, which
  `make test` checks against the exercise). A stub in place does not work; among written holes,
  the fewest that explain every failure are taken to be the broken ones. A test that needs a
  broken hole is shown as blocked by it, not as a failure of its own hole.
* Filling a hole changes the screen: the grader sees whether a hole's stub is still in place,
  so a hole written but waiting for another one says so.
* Plain text, one screen. Colour only on a terminal; `ALL=1` lists every failing test.
"""
from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

# A stub's message: "lesson 04, hole start_task: schedule the frame's first step ...". A leak
# check can name a hole the same way ("...; lesson 02, hole destroy: destroy each frame ...").
HOLE_TEXT = re.compile(r"lesson (\d\d), hole (\w+): (.*)")

PASSED, FAILED, CRASHED, HUNG, NOT_RUN = "passed", "failed", "crashed", "hung", "never ran"

# How long one test may run before it counts as hung (AIO_TEST_TIMEOUT overrides it). Measured
# on a loaded machine, the slowest tests of the reference take 1.8 s (100,000 cancelled sleeps)
# and 1.5 s (lesson 09's python3 http.server); the whole suite, 6 s.
TEST_TIMEOUT_S = float(os.environ.get("AIO_TEST_TIMEOUT", "10"))
# After this many hangs the rest of the tests are not run: each hang costs a whole timeout.
MAX_HANGS = 2
# After this many crashes too: a hole that crashes every test has been seen.
MAX_CRASHES = 12


# ---- running a test binary ----------------------------------------------------------------------

@dataclass
class TestResult:
    name: str
    file: str                 # as doctest gives it: tests/04-create-task/task_test.cpp
    line: int
    status: str = NOT_RUN
    details: list[str] = field(default_factory=list)   # the failures, first first
    output: list[str] = field(default_factory=list)    # a crash's or hang's last output lines

    @property
    def topic(self) -> str:
        """What the test is named after: "start_task" for "start_task: a task starts ..."."""
        return self.name.split(":", 1)[0].strip() if ":" in self.name else ""

    @property
    def suite(self) -> str:
        """The lesson directory of its suite: "04-create-task"."""
        return Path(self.file).parent.name


@dataclass
class Run:
    results: list[TestResult]        # every test the binary lists, in the order it runs them
    notes: list[str] = field(default_factory=list)   # what went wrong outside any test

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)


def list_tests(binary: Path, args: list[str], cwd: Path) -> list[TestResult]:
    done = subprocess.run([str(binary), "--list-test-cases", "--reporters=xml", "--no-version",
                           *args], cwd=cwd, capture_output=True, text=True, timeout=60,
                          errors="replace")
    start = done.stdout.find("<doctest")
    if done.returncode != 0 or start < 0:
        raise RuntimeError(f"{binary} --list-test-cases failed (exit {done.returncode}): "
                           f"{(done.stdout + done.stderr)[-2000:]}")
    root = ET.fromstring(done.stdout[start:])
    return [TestResult(c.get("name", "?"), c.get("filename", "?"), int(c.get("line", "0")))
            for c in root.iter("TestCase")]


class XmlFollower:
    """Reads doctest's XML report while the tests write it, and says which test is running."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.parser = ET.XMLPullParser(events=("start", "end"))
        self.running: ET.Element | None = None
        self.running_since = 0.0
        self.finished: list[ET.Element] = []

    def pump(self) -> None:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except FileNotFoundError:
            return
        if not chunk:
            return
        self.offset += len(chunk)
        try:
            self.parser.feed(chunk)
            events = list(self.parser.read_events())
        except ET.ParseError:
            return   # a report cut mid-tag by a crash: what came before it is what we have
        for event, element in events:
            if element.tag != "TestCase" or element.get("skipped") == "true":
                continue
            if event == "start":
                self.running, self.running_since = element, time.monotonic()
            else:
                self.finished.append(element)
                self.running = None


SIGNALS = {signal.SIGSEGV: "SIGSEGV, a segmentation fault: memory used after it was freed?",
           signal.SIGABRT: "SIGABRT, aborted: std::terminate (an exception through noexcept?) "
                           "or a double free",
           signal.SIGBUS: "SIGBUS, a bus error", signal.SIGFPE: "SIGFPE, an arithmetic error",
           signal.SIGILL: "SIGILL, an illegal instruction (__builtin_unreachable reached?)"}


def how_it_died(code: int) -> str:
    if code < 0:
        return SIGNALS.get(-code, f"killed by signal {-code}")
    return f"the process exited with code {code} in the middle of it"


def tail(path: Path, lines: int = 5) -> list[str]:
    """The last lines a test binary printed, a line repeated shown once with its count."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return []
    out: list[list] = []
    for line in (l for l in text.rstrip().split("\n") if l.strip()):
        if out and out[-1][0] == line:
            out[-1][1] += 1
        else:
            out.append([line, 1])
    return [line if n == 1 else f"{line}   (×{n})" for line, n in out[-lines:]]


def run_tests(binary: Path, args: list[str] = (), cwd: Path | None = None,
              timeout_s: float = TEST_TIMEOUT_S, env: dict | None = None) -> Run:
    """Runs every test of a doctest binary and returns a result for each, even when one crashes
    or hangs: the process is then restarted after that test (doctest's --first)."""
    cwd = cwd or Path.cwd()
    results = list_tests(binary, list(args), cwd)
    run = Run(results)
    done = 0            # results[:done] have their outcome
    hangs = crashes = 0
    with tempfile.TemporaryDirectory(prefix="aio-check-") as tmp:
        attempt = 0
        while done < len(results):
            if hangs >= MAX_HANGS or crashes >= MAX_CRASHES:
                what = f"{hangs} hangs" if hangs >= MAX_HANGS else f"{crashes} crashes"
                for r in results[done:]:
                    r.details = [f"the grader stopped after {what}"]
                break
            attempt += 1
            report, output = Path(tmp) / f"run{attempt}.xml", Path(tmp) / f"run{attempt}.out"
            with open(output, "wb") as out:
                process = subprocess.Popen(
                    [str(binary), "--reporters=xml", f"--out={report}", "--no-version",
                     "--no-skipped-summary", f"--first={done + 1}", *args],
                    cwd=cwd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    env=env, start_new_session=True)   # its own group: a hang kills its children too
                follower = XmlFollower(report)
                hung = False
                while True:
                    try:
                        process.wait(timeout=0.2)
                        break
                    except subprocess.TimeoutExpired:
                        follower.pump()
                        if follower.running is not None and \
                                time.monotonic() - follower.running_since > timeout_s:
                            hung = True
                            os.killpg(process.pid, signal.SIGKILL)
                            process.wait()
                            break
                follower.pump()
            started_before = done
            for element in follower.finished:
                if done >= len(results):
                    break
                record(results[done], element)
                if results[done].status == CRASHED:
                    results[done].output = tail(output)
                done += 1
            if follower.running is not None and done < len(results):
                r = results[done]
                if hung:
                    r.status = HUNG
                    r.details = [f"gave no result within {timeout_s:g} s, and was stopped: a lost "
                                 "wake-up (a coroutine waits for what never comes), or an endless "
                                 "loop?"]
                    hangs += 1
                else:
                    r.status = CRASHED
                    r.details = [how_it_died(process.returncode)]
                    crashes += 1
                r.output = tail(output)
                done += 1
            elif any(r.status == CRASHED for r in results[started_before:done]):
                crashes += 1
            elif done < len(results):
                # Nothing was running, and tests are left: the binary died between tests (or
                # before the first one). Say so once, and do not try again.
                run.notes.append(f"The test binary stopped before running the last "
                                 f"{len(results) - done} tests ({how_it_died(process.returncode)}). "
                                 "Its last output:")
                run.notes += ["    " + l for l in tail(output)]
                for r in results[done:]:
                    r.details = ["the test binary stopped before it"]
                break
            elif process.returncode not in (0, 1) and not hung:
                run.notes.append(f"After its last test the test binary failed: "
                                 f"{how_it_died(process.returncode)}. Its last output:")
                run.notes += ["    " + l for l in tail(output)]
    return run


# ---- what a test's report says ------------------------------------------------------------------

def record(r: TestResult, case: ET.Element) -> None:
    """Fills in a result from its <TestCase> element of doctest's XML report."""
    details: list[str] = []
    crashed = False

    def walk(element: ET.Element, context: str) -> None:
        nonlocal crashed
        for e in element:
            if e.tag == "SubCase":
                walk(e, f"{context}{e.get('name')}: ")
            elif e.tag == "Expression" and e.get("success") == "false":
                details.append(context + expression(e))
            elif e.tag == "Message" and e.get("type") != "WARNING":
                details.append(context + info(e) + (e.findtext("Text") or "").strip())
            elif e.tag == "Exception":
                if e.get("crash") == "true":
                    crashed = True
                    details.append(context + "crashed: " + crash_text((e.text or "").strip()))
                else:
                    details.append(context + "threw: " + (e.text or "").strip())

    walk(case, "")
    results = case.find("OverallResultsAsserts")
    passed = results is not None and results.get("test_case_success") == "true"
    r.status = CRASHED if crashed else PASSED if passed else FAILED
    if crashed:   # the crash first: what came before it may be its consequence
        details.sort(key=lambda d: not d.startswith("crashed: "))
    r.details = details if details or passed else ["failed (doctest gave no detail)"]


def crash_text(doctest_says: str) -> str:
    for number, text in SIGNALS.items():
        if doctest_says.startswith(signal.Signals(number).name):
            return text
    return doctest_says


def info(e: ET.Element) -> str:
    """The INFO()/CAPTURE() context of a failure, as a prefix."""
    found = [(i.text or "").strip() for i in e.findall("Info")]
    return "".join(f"[{x}] " for x in found if x)


def expression(e: ET.Element) -> str:
    """One failed check: where, what, and what it saw."""
    kind = e.get("type", "CHECK")
    where = f"{Path(e.get('filename', '?')).name}:{e.get('line')}"
    original = " ".join((e.findtext("Original") or "").split())
    threw = (e.findtext("Exception") or "").strip()
    expected_type = (e.findtext("ExpectedException") or "").strip()
    expanded = (e.findtext("Expanded") or "").strip()
    head = f"{info(e)}{where}: {kind}( {original} )"
    if "THROWS_AS" in kind:
        return head + (f"\nthrew something else: {threw}" if threw
                       else f"\ndid not throw (it should throw {expected_type})")
    if "THROWS" in kind and "NOTHROW" not in kind and not threw:
        return head + "\ndid not throw"
    if threw:
        return head + f"\nthrew: {threw}"
    if not expanded or expanded == original:
        return head
    sides = split_comparison(expanded)
    if sides:   # the tests put what they got on the left, what they expect on the right
        return head + f"\ngot:      {sides[0]}\nexpected: {sides[1]}"
    return head + f"\nvalues: {expanded}"


def split_comparison(expanded: str) -> tuple[str, str] | None:
    """("a", "b") for doctest's "a == b", when " == " occurs once outside quotes and braces."""
    depth, quoted, hits, i = 0, False, [], 0
    while i < len(expanded):
        c = expanded[i]
        if quoted:
            if c == "\\":
                i += 1
            elif c == '"':
                quoted = False
        elif c == '"':
            quoted = True
        elif c in "{([":
            depth += 1
        elif c in "})]":
            depth -= 1
        elif depth == 0 and expanded.startswith(" == ", i):
            hits.append(i)
        i += 1
    if len(hits) != 1 or not (expanded.startswith("{") or expanded.endswith("}")):
        return None   # a plain "2 == 1" reads well as it is
    return expanded[:hits[0]], expanded[hits[0] + 4:]


def named_hole(r: TestResult, hole_names: set[str], lesson_nn: str) -> str | None:
    """The hole of this lesson that a test's first failure names (a stub's message, or a leak
    check's). Only the first: a leak after a lost wake-up is the wake-up's consequence."""
    m = HOLE_TEXT.search(r.details[0]) if r.details else None
    if m and m.group(1) == lesson_nn and m.group(2) in hole_names:
        return m.group(2)
    return None


def is_stub_message(detail: str, hole: str) -> bool:
    m = HOLE_TEXT.search(detail)
    return bool(m) and m.group(2) == hole and ("threw" in detail)


# ---- filing failures under holes ----------------------------------------------------------------

@dataclass
class Hole:
    name: str
    where: str                  # workspace/04-create-task/aio/task.cpp:89
    hint: str
    needs: list[str]            # what its tests need besides it (the lesson's table), direct
    stub_in_place: bool         # the learner has not touched its stub yet


@dataclass
class LessonInfo:
    nn: str
    dir: str                    # 04-create-task
    holes: list[Hole]           # in the order to fill them (the table's)
    topics: dict[str, list[str]]   # test-name prefixes that are not holes, and what they need

    def direct_needs(self, name: str) -> set[str]:
        return set(next((h.needs for h in self.holes if h.name == name), self.topics.get(name, [])))

    def needs_of(self, name: str) -> set[str]:
        """Everything the tests named `name` need, directly or through what that needs."""
        direct = {h.name: h.needs for h in self.holes} | self.topics
        found, todo = set(), list(direct.get(name, []))
        while todo:
            n = todo.pop()
            if n not in found and n != name:
                found.add(n)
                todo += direct.get(n, [])
        return found


@dataclass
class HoleState:
    hole: Hole
    status: str                 # "done", "to do", "failing", "blocked"
    tests: int = 0              # tests named after it
    failing: int = 0            # of those, how many do not pass (wherever they are filed)
    failures: list[TestResult] = field(default_factory=list)   # failing tests filed under it
    blocked: list[TestResult] = field(default_factory=list)    # its tests that wait for others
    blocked_by: list[str] = field(default_factory=list)        # the holes its tests wait for


@dataclass
class Grade:
    info: LessonInfo
    run: Run
    holes: list[HoleState]
    others: list[TestResult]    # failing, filed under no hole of this lesson
    blocked_others: list[tuple[TestResult, list[str]]]
    alternatives: list[str] = field(default_factory=list)   # holes that would explain as well
    never_ran: list[TestResult] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.run.results)

    @property
    def passed(self) -> int:
        return self.run.count(PASSED)

    @property
    def failing(self) -> int:
        return self.total - self.passed

    def done(self) -> bool:
        return self.failing == 0 and not self.run.notes

    def holes_done(self) -> int:
        return sum(s.status == "done" for s in self.holes)


def grade(info: LessonInfo, run: Run) -> Grade:
    names = {h.name for h in info.holes}
    order = [h.name for h in info.holes]
    failing = [r for r in run.results if r.status != PASSED]
    own = [r for r in run.results if r.suite == info.dir]
    never_ran = [r for r in failing if r.status == NOT_RUN]
    failing = [r for r in failing if r.status != NOT_RUN]
    named = {id(r): named_hole(r, names, info.nn) for r in failing}
    broken = {h.name for h in info.holes if h.stub_in_place} | {n for n in named.values() if n}
    likely, alternatives = likely_broken(info, run, broken,
                                         {id(r) for r in failing if not named[id(r)]})
    broken |= likely

    stubs = {h.name for h in info.holes if h.stub_in_place}
    # Each failing test is filed once: under the hole its message names, under its own hole if
    # that is broken, as blocked by the broken holes it needs, or among the others.
    states = {h.name: HoleState(h, "done") for h in info.holes}
    for r in own:
        if r.topic in states:
            states[r.topic].tests += 1
            states[r.topic].failing += r.status not in (PASSED, NOT_RUN)
    others, blocked_others = [], []
    for r in failing:
        topic = r.topic if r.suite == info.dir else ""
        if hole := named[id(r)]:
            states[hole].failures.append(r)
            if topic in states and topic != hole:   # its own hole waits for that one
                states[topic].blocked_by.append(hole)
            continue
        waits_for_stub = [n for n in order if n in info.direct_needs(topic) and n in stubs]
        if topic in states and topic in broken and not (waits_for_stub and topic not in stubs):
            states[topic].failures.append(r)   # (a written hole's test that needs a stub waits)
            continue
        blockers = waits_for_stub or \
            [n for n in order if n in info.direct_needs(topic) and n in broken] or \
            [n for n in order if n in info.needs_of(topic) and n in broken] if topic else []
        # A test waits only for a hole the screen shows not working: its stub, a failure that
        # names it, or failing tests of its own. A hole taken to be broken only because of tests
        # like this one (lesson 06: next forgets throw_in_, its own tests pass, aclose's fail)
        # would show "done" while they wait for it, and nothing would list them: they are its
        # failures.
        if blockers and not any(n in stubs or n in named.values() or states[n].failing
                                for n in blockers):
            states[topic if topic in states else blockers[0]].failures.append(r)
            continue
        if topic in states and blockers:
            states[topic].blocked.append(r)
            states[topic].blocked_by += blockers
        elif blockers:
            blocked_others.append((r, blockers))
        else:
            others.append(r)
    for s in states.values():
        s.blocked_by = [n for n in order if n in s.blocked_by]   # once each, in the table's order
        if s.hole.stub_in_place:
            s.status = "to do"
        elif s.failures:
            s.status = "failing"
        elif s.failing:
            s.status = "blocked"
        else:
            s.status = "done"
    return Grade(info, run, [states[n] for n in order], others, blocked_others, alternatives,
                 never_ran)


def likely_broken(info: LessonInfo, run: Run, certain: set[str],
                  unexplained: set[int]) -> tuple[set[str], list[str]]:
    """The written holes that best explain the failures nothing certain explains (a stub in
    place, or a hole named in a message, is certain), and the other holes that would explain
    them as well.

    Each hole is a hypothesis: if it were wrong, its own tests and the tests that need it could
    fail. The fewest holes that explain every failing test are taken, from those whose own tests
    fail; among as few, those that explain most failures directly (not through another hole),
    then those whose own and dependent tests fail most, then the earlier in the order to fill
    them. Holes whose tests need each other (start_task's tests await tasks that finish_task
    ends) can fit equally well: the screen then names them all."""
    own = [r for r in run.results if r.suite == info.dir]
    failing_topics = {r.topic for r in own if id(r) in unexplained}
    failing_topics = {t for t in failing_topics
                      if t not in certain and not (info.needs_of(t) & certain)}
    order = [h.name for h in info.holes]
    written = [n for n in order if n not in certain]

    def rate(topic: str) -> float:   # (a test that never ran says nothing)
        mine = [r for r in own if r.topic == topic and r.status != NOT_RUN]
        return sum(r.status != PASSED for r in mine) / len(mine) if mine else 0.0

    direct = {h.name: set(h.needs) for h in info.holes} | {t: set(n) for t, n in info.topics.items()}

    def covered(topic: str, chosen: tuple[str, ...]) -> bool:
        return topic in chosen or bool(info.needs_of(topic) & set(chosen))

    def affects(topic: str, chosen: tuple[str, ...]) -> bool:   # directly: in a cycle of needs,
        return topic in chosen or bool(direct.get(topic, set()) & set(chosen))   # all affect all

    failed = [r for r in own if id(r) in unexplained and r.topic in failing_topics]

    def score(chosen: tuple[str, ...]) -> tuple[float, float]:
        # How many of the failures they explain directly (not through another hole); then how
        # much of what they affect fails.
        direct_share = sum(affects(r.topic, chosen) for r in failed) / len(failed) if failed else 0
        affected = {r.topic for r in own if affects(r.topic, chosen)}
        broken_share = sum(rate(t) for t in affected) / len(affected) if affected else 0.0
        return round(direct_share, 9), round(broken_share, 9)

    explainable = {t for t in failing_topics if covered(t, tuple(written))}
    if not explainable:
        return set(), []
    with_failures = [n for n in written if rate(n) > 0]
    for pool in (with_failures, written):
        for size in range(1, len(pool) + 1):
            covers = [c for c in itertools.combinations(pool, size)
                      if all(covered(t, c) for t in explainable)]
            if covers:
                best = max(score(c) for c in covers)
                fitting = [c for c in covers if score(c) == best]   # in the table's order
                others = [n for c in fitting[1:] for n in c if n not in fitting[0]]
                return set(fitting[0]), list(dict.fromkeys(others))
    return set(), []


# ---- the screen ---------------------------------------------------------------------------------

class Style:
    """Bold and colours on a terminal (NO_COLOR respected); plain text everywhere else."""

    def __init__(self, tty: bool) -> None:
        self.on = tty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"

    def _wrap(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.on else text

    def bold(self, t: str) -> str:
        return self._wrap("1", t)

    def red(self, t: str) -> str:
        return self._wrap("31", t)

    def green(self, t: str) -> str:
        return self._wrap("32", t)

    def yellow(self, t: str) -> str:
        return self._wrap("33", t)

    def dim(self, t: str) -> str:
        return self._wrap("2", t)


MARK = {"done": "✓", "to do": "○", "failing": "✗", "blocked": "·"}
SHOWN_PER_GROUP = 6      # failing tests listed in full per hole (ALL=1: every one)
DETAIL_WIDTH = 300       # a detail line longer than this is cut, and says so


def clip(line: str) -> str:
    if len(line) <= DETAIL_WIDTH:
        return line
    return line[:DETAIL_WIDTH] + f"… ({len(line) - DETAIL_WIDTH} more characters)"


def test_lines(r: TestResult, style: Style, stub_of: str | None = None) -> list[str]:
    """A failing test: its name, then its own first failure (and a leak found after it)."""
    mark = {CRASHED: "✗ crashed:", HUNG: "✗ hung:", NOT_RUN: "· never ran:"}.get(r.status, "✗")
    where = f"   [{r.suite}]" if r.suite else ""
    out = [f"  {style.red(mark)} {r.name}{style.dim(where)}"]
    shown = r.details[:1]
    later = [d for d in r.details[1:] if "leaked" in d or "freed twice" in d]
    if later and later[0] not in shown:
        shown.append(later[0])
    for d in shown:
        if stub_of and is_stub_message(d, stub_of):
            d = f"threw not_implemented: the stub of {stub_of} is still there"
        elif stub_of:   # "...leaked; lesson 04, hole finish_task: ...": the heading says which hole
            d = re.sub(rf"; lesson \d\d, hole {stub_of}: .*$", "", d, flags=re.M)
        for i, line in enumerate(d.split("\n")):
            out.append(("      " if i == 0 else "        ") + clip(line))
    if len(r.details) > len(shown):
        out.append(style.dim(f"        (and {len(r.details) - len(shown)} more failed "
                             f"check{'s' if len(r.details) - len(shown) > 1 else ''} in this test)"))
    for line in r.output[-5:]:
        out.append(style.dim("        | " + clip(line)))
    return out


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}{'es' if word.endswith(('sh', 'ch', 's')) else 's'}"


def hole_row(s: HoleState, width: int, style: Style) -> str:
    h = s.hole
    if s.status == "done":
        what = style.green(f"done: {plural(s.tests, 'test')} pass")
    elif s.status == "to do":
        what = f"to do: its stub is still there ({s.failing} of its {s.tests} tests fail)"
    elif s.status == "failing":
        what = style.red(plural(len(s.failures), "failing test"))
        if s.blocked:
            what += f", {len(s.blocked)} more blocked by {', '.join(s.blocked_by)}"
    else:
        what = style.yellow(f"written; blocked by {', '.join(s.blocked_by)}: {s.failing} of its "
                            f"{s.tests} tests need {'it' if len(s.blocked_by) == 1 else 'them'}")
    return f"  {MARK[s.status]} {h.name:<{width}}  {what}"


@dataclass
class Shown:
    """How the screen accounts for each failing test: they add up to all of them."""
    listed: int = 0          # by name, with their detail
    at_stub: int = 0         # counted: they stop at a stub (its hint is on the screen)
    waiting: int = 0         # counted: they wait for holes that do not work yet
    other_holes: int = 0     # counted: filed under holes the screen does not open (still to do)
    more: int = 0            # counted: past a list's limit


def focus_holes(g: Grade, show_all: bool) -> list[HoleState]:
    """The holes whose failing tests the screen lists: the failing ones, or else the first
    one still to do; with ALL=1, every hole that has failures."""
    focus = [s for s in g.holes if s.status == "failing"]
    todo = [s for s in g.holes if s.status == "to do"]
    return focus + (todo if show_all else [] if focus else todo[:1])


def traced_test(g: Grade, wanted: str | None = None) -> TestResult | None:
    """The test whose loop steps the screen shows: the one asked for (TRACE=part of its name),
    else the first listed failure that an ordering check or a hang made."""
    if wanted:
        return next((r for r in g.run.results if wanted in r.name), None)
    candidates = [r for s in focus_holes(g, False) for r in s.failures] + g.others
    return next((r for r in candidates if wants_trace(r)), None)


def report(g: Grade, style: Style, show_all: bool = False,
           traces: dict[str, list[str]] | None = None) -> tuple[list[str], Shown]:
    """The screen of a check (without its last line, summary()), and how it accounts for the
    failing tests. `traces`: the loop's steps to show under a test, by test name."""
    info, out, shown, traces = g.info, [], Shown(), dict(traces or {})
    title = f"Lesson {info.nn} ({info.dir[3:]}): {g.holes_done()} of {len(g.holes)} holes done · " \
            f"{g.passed} of {g.total} tests pass"
    out += [style.bold(title), ""]
    stopped = [r for r in g.run.results if r.status in (CRASHED, HUNG)]
    for r in stopped[:2]:   # the banners the lesson texts quote
        if r.status == CRASHED:
            how = next((d for d in r.details if d.startswith("crashed: ")), r.details[-1])
            out.append(style.red(f"The tests crashed in \"{r.name}\": {how.removeprefix('crashed: ')}"))
        else:
            out.append(style.red(f"The tests hung (timed out) in \"{r.name}\": a lost wake-up?"))
    if len(stopped) > 2:
        crashes = sum(r.status == CRASHED for r in stopped[2:])
        hangs = len(stopped) - 2 - crashes
        out.append(style.red("  and " + " and ".join(x for x in (
            plural(crashes, "more crash") if crashes else "", plural(hangs, "more hang") if hangs else "")
            if x) + " (ALL=1 lists every one)"))
    if stopped:
        never = g.run.count(NOT_RUN)
        out.append("  (" + (f"{plural(never, 'test')} never ran" if never else
                            "after each, the tests that followed ran in a fresh process") + ")")
        out.append("")
    width = max([len(s.hole.name) for s in g.holes] + [10])
    for s in g.holes:
        out.append(hole_row(s, width, style))
    earlier = [r for r in g.run.results if r.suite != info.dir]
    if earlier:
        bad = sum(r.status != PASSED for r in earlier)
        first, last = earlier[0].suite[:2], earlier[-1].suite[:2]
        span = "lessons " + (first if first == last else f"{first}..{last}")
        out.append(f"  {'✓' if not bad else '✗'} {span:<{width}}  " +
                   (style.green(f"{len(earlier)} tests of earlier lessons pass") if not bad
                    else style.red(f"{bad} of {len(earlier)} tests of earlier lessons fail")))
    out.append("")

    def listing(tests: list[TestResult], stub_of: str | None = None) -> None:
        limit = len(tests) if show_all else SHOWN_PER_GROUP
        for r in tests[:limit]:
            out.extend(test_lines(r, style, stub_of))
            out.extend("      " + style.dim(line) for line in traces.pop(r.name, []))
        shown.listed += min(limit, len(tests))
        if len(tests) > limit:
            out.append(f"  … and {len(tests) - limit} more here")
            shown.more += len(tests) - limit

    # The holes to work on: those failing, then the first one still to do (rustlings' "current
    # exercise"), each with its hint and its failing tests. A stub stops every test that reaches
    # it: the hole's own tests are listed, the other holes' tests counted.
    focus = focus_holes(g, show_all)
    for s in g.holes:
        if s not in focus:
            shown.other_holes += len(s.failures)
    for s in focus:
        h = s.hole
        out.append(style.bold(f"{'Fix' if s.status == 'failing' else 'Next'}: {h.name}") +
                   f" in {h.where}")
        if s.status == "failing" and g.alternatives and s is focus[0]:
            out.append(f"    (or {' or '.join(g.alternatives)}: these failures would follow from "
                       f"a mistake there too; {h.name} comes first)")
        out += wrap(h.hint, "    ")
        stopped = [] if show_all else [r for r in s.failures if r.topic != h.name and
                                       any(is_stub_message(d, h.name) for d in r.details[:1])]
        listing([r for r in s.failures if r not in stopped], stub_of=h.name)
        if stopped:
            out.append(f"  … and {plural(len(stopped), 'test')} of other holes that stop at this stub")
            shown.at_stub += len(stopped)
        if s.blocked and not show_all:
            out.append(f"  ({len(s.blocked)} more of its tests wait for {', '.join(s.blocked_by)})")
        out.append("")
    if g.never_ran and show_all:
        out.append(style.bold(plural(len(g.never_ran), "test")) + " never ran:")
        out.extend(f"  · {r.name}" + style.dim(f"   [{r.suite}]") for r in g.never_ran)
        shown.listed += len(g.never_ran)
        out.append("")
    elif g.never_ran:
        out.append(f"{plural(len(g.never_ran), 'test')} never ran ({g.never_ran[0].details[0]}: "
                   "fix that first; ALL=1 names them).")
        shown.more += len(g.never_ran)
        out.append("")
    if g.others:
        out.append(style.bold(plural(len(g.others), "other failing test")) +
                   " (they name no hole of this lesson, and what they need works):")
        listing(g.others)
        out.append("")
    waiting = [(r, s.blocked_by) for s in g.holes for r in s.blocked] + g.blocked_others
    if show_all and waiting:
        out.append(style.bold(plural(len(waiting), "test")) + " wait for holes that do not work yet:")
        for r, by in waiting:
            out += test_lines(r, style)
            out.append(style.dim(f"        (it waits for {', '.join(by)})"))
        shown.listed += len(waiting)
        out.append("")
    else:
        shown.waiting += len(waiting)
    for name, steps in traces.items():   # a trace asked for a test the lists do not show
        status = next(r.status for r in g.run.results if r.name == name)
        out += [style.bold(f"\"{name}\" ({status}):"), *("  " + style.dim(s) for s in steps), ""]
    out += g.run.notes
    return out, shown


def summary(g: Grade, shown: Shown, style: Style, show_all: bool) -> list[str]:
    """The last lines: the tally, which always adds up to the lesson's count, and how the screen
    accounts for every failing test."""
    if g.done():
        return [style.green(f"✓ lesson {g.info.nn}: all {g.total} tests pass.")]
    counts = [f"{g.passed} passed"] + [f"{g.run.count(s)} {'failing' if s == FAILED else s}"
                                       for s in (FAILED, CRASHED, HUNG, NOT_RUN) if g.run.count(s)]
    lines = [f"lesson {g.info.nn}: " + ", ".join(counts) + f" (of {g.total})."]
    if shown.at_stub or shown.waiting or shown.other_holes or shown.more:
        parts = [f"{shown.listed} listed above"]
        if shown.at_stub:
            parts.append(f"{shown.at_stub} stop at a stub")
        if shown.waiting:
            parts.append(f"{shown.waiting} wait for holes that do not work yet")
        if shown.other_holes:
            parts.append(f"{shown.other_holes} are the tests of the holes still to do")
        if shown.more:
            parts.append(f"{shown.more} more past the end of a list")
        lines.append(f"Of the {g.failing} not passing: " + ", ".join(parts) +
                     ("" if show_all else f". make check LESSON={g.info.nn} ALL=1 lists them all."))
    return lines


def wrap(text: str, indent: str, width: int = 100) -> list[str]:
    words, lines, line = text.split(), [], indent
    for w in words:
        if len(line) + len(w) + 1 > width and line.strip():
            lines.append(line.rstrip())
            line = indent
        line += w + " "
    if line.strip():
        lines.append(line.rstrip())
    return lines


# ---- the loop, step by step ---------------------------------------------------------------------
#
# For an ordering failure or a hang, the grader runs that one test again with AIO_STEP_TRACE set: the
# test support writes the loop's steps to a file (tests/support/trace.hpp says how), and this
# turns them into text. Coroutines are named by their resume function, which addr2line finds in
# the binary's debug information; a lambda by the variable it is assigned to in the test.

ORDERING = re.compile(r"\b(log|order)\s*==|==\s*log_t\b")   # CHECK( log == log_t{...} )


def wants_trace(r: TestResult) -> bool:
    """An ordering check that failed, a lost wake-up, a hang: what the loop did is the answer."""
    if r.details and HOLE_TEXT.search(r.details[0]):
        return False   # it stopped at a stub: that is the whole story
    return r.status == HUNG or any(ORDERING.search(d.split("\n", 1)[0]) or "lost wake-up" in d
                                   for d in r.details[:2])


def trace_records(binary: Path, r: TestResult, results: list[TestResult], cwd: Path,
                  timeout_s: float | None = None) -> list[str]:
    """Runs test `r` alone with the trace on; the trace's lines. (A test that hung is given two
    seconds: what the loop did before it stopped is what counts.)"""
    timeout_s = timeout_s or (2.0 if r.status == HUNG else TEST_TIMEOUT_S)
    position = next(i for i, x in enumerate(results) if x is r) + 1
    with tempfile.TemporaryDirectory(prefix="aio-trace-") as tmp:
        path = Path(tmp) / "trace"
        env = dict(os.environ, AIO_STEP_TRACE=str(path))
        process = subprocess.Popen([str(binary), f"--first={position}", f"--last={position}",
                                    "--reporters=console", "--no-version"],
                                   cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        try:
            return path.read_text(errors="replace").split("\n")
        except FileNotFoundError:
            return []


def symbols(binary: Path, offsets: list[str]) -> dict[str, tuple[str, str]]:
    """addr2line's function and file:line for each offset (empty where it has no answer)."""
    if not offsets:
        return {}
    try:
        done = subprocess.run(["addr2line", "-f", "-C", "-e", str(binary), *offsets],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    lines = done.stdout.split("\n")
    return {o: (lines[2 * i], lines[2 * i + 1]) for i, o in enumerate(offsets) if 2 * i + 1 < len(lines)}


def coroutine_name(function: str, where: str, cwd: Path) -> str:
    """square, main, aio::run's driver...: what a learner calls that coroutine."""
    if not function or function == "??":
        return "a coroutine"
    function = re.sub(r" \[clone [^\]]*\]| \(\.\w+\)$", "", function)
    for noise in ("(anonymous namespace)::", "aio::detail::", "aio_test::"):
        function = function.replace(noise, "")
    if "{lambda" in function:
        # A lambda: the name it is given in the test's source, `auto main = [](...)`.
        file, _, line = where.partition(":")
        try:
            source = (cwd / file).read_text().split("\n") if not Path(file).is_absolute() else \
                Path(file).read_text().split("\n")
            for text in reversed(source[max(int(line.split()[0]) - 3, 0):int(line.split()[0])]):
                if m := re.search(r"(\w+)\s*=\s*\[", text):
                    return m.group(1)
        except (OSError, ValueError, IndexError):
            pass
        return f"a lambda ({Path(file).name}:{line.split()[0] if line else '?'})"
    depth, cut = 0, len(function)
    for i, c in enumerate(function):   # the name before its parameter list
        if c == "<":
            depth += 1
        elif c == ">":
            depth -= 1
        elif c == "(" and depth == 0 and not function[:i].endswith("operator"):
            cut = i
            break
    return re.sub(r"<.*>", "<…>", function[:cut])


def demangled_types(names: list[str]) -> dict[str, str]:
    """typeid names, as C++ writes them (c++filt -t); a name it cannot read stays as it is."""
    if not names:
        return {}
    try:
        done = subprocess.run(["c++filt", "-t", *names], capture_output=True, text=True, timeout=30)
        return dict(zip(names, done.stdout.split("\n")))
    except (OSError, subprocess.TimeoutExpired):
        return {n: n for n in names}


AIO_RUN = "main (aio::run's first callback)"


def callback_name(type_name: str, cwd: Path) -> str:
    """What a callback is, from its type: a lambda is named after the function it is written in."""
    if not type_name or type_name in ("-", "v"):
        return "a callback"
    if "DOCTEST_ANON_FUNC" in type_name:
        return "a callback of the test"
    enclosing = type_name.rsplit("::{lambda", 1)[0]
    name = coroutine_name(enclosing, "", cwd)
    if name.startswith("aio::run"):
        return AIO_RUN
    if "wait_for_events" in name:
        return "an fd callback (I/O)"
    return f"a callback from {name}"


def trace_text(records: list[str], binary: Path, cwd: Path, max_lines: int = 40) -> list[str]:
    """The trace as a learner reads it: each step, what ran in it, who had scheduled it, and
    what the test logged meanwhile."""
    items = [line.split(" ") for line in records if line.startswith("R ")]
    names = symbols(binary, sorted({i[4] for i in items if len(i) > 4 and i[4] != "0"}))
    types = demangled_types(sorted({i[6] for i in items if len(i) > 6 and i[6] != "-"}))
    label: dict[str, str] = {}          # frame -> what we call it
    seen_names: dict[str, int] = {}
    who: dict[str, str] = {}            # step.index -> what ran there
    out: list[str] = []
    last_time = None
    for line in records:
        kind, _, rest = line.partition(" ")
        if kind == "S":
            step, _, now = rest.partition(" ")
            stamp = ""
            if now.lstrip("-").isdigit():
                t = int(now)
                if last_time is not None and t - last_time >= 1_000_000:   # a millisecond or more
                    gap = (t - last_time) / 1e9
                    stamp = f"  (the clock moved {gap:g} s)" if gap >= 1 else \
                        f"  (the clock moved {gap * 1000:.0f} ms)"
                last_time = t
            out.append(f"step {step}{stamp}")
        elif kind == "R":
            fields = rest.split(" ")
            if len(fields) < 5:
                continue
            runner, what, frame, fn, by = fields[:5]
            if what == "coroutine":
                base = coroutine_name(*names.get(fn, ("", "")), cwd)
                if label.get(frame, "").split("#")[0] != base:   # a new coroutine (frames are reused)
                    seen_names[base] = seen_names.get(base, 0) + 1
                    label[frame] = base if seen_names[base] == 1 else f"{base}#{seen_names[base]}"
                name = label[frame]
                verb = "woken by"
                who[runner] = name
            else:
                name = callback_name(types.get(fields[5], fields[5]) if len(fields) > 5 else "", cwd)
                who[runner] = "main" if name == AIO_RUN else name
                verb = "queued by"
            source = {"start": "the loop's start", "outside": "the loop, between steps (I/O, "
                      "aio::run's clean-up)"}.get(by, who.get(by, "an earlier step"))
            if what == "timer":   # (the loop queues a timer when it falls due)
                out.append(f"  {name:<30} a timer that fell due")
                continue
            if by == "start" and what != "coroutine":
                verb, source = "queued before the loop ran", ""
            out.append(f"  {name:<30} {verb} {source}".rstrip())
        elif kind == "L":
            out.append(f"      log \"{rest}\"")
        elif kind == "F":
            out.append(f"  ✗ a check failed here: {Path(rest).name}")
        elif kind == "X":
            out.append(f"  … and {rest} more items (the trace stops at 2000)")
    if len(out) > max_lines:   # the start, and the end where it went wrong
        head, tail_ = out[:max_lines // 3], out[-(max_lines - max_lines // 3 - 1):]
        out = head + [f"  … {len(out) - len(head) - len(tail_)} lines (TRACE= shows more) …"] + tail_
    return out
