"""The grader's own tests: `python3 tools/course.py self-test` (make test runs them).

A grader that hides a failure is worse than none. These tests give it known failures and check
that `make check` shows each one by its test's name, with its own detail, and accounts for all:

* ReadingReports: doctest's XML as the grader reads it: a failed check with both sides of its
  comparison, a leak message, an exception, a crash.
* FilingFailures: which hole a failure is filed under; blocked holes; a hole's stub in place or
  not; a screen that adds up.
* StubsAndTables: every lesson's hole table is complete; a stub is seen in place until edited.
* WrongAnswers: the scripted wrong answers of wrong_answers.py (one per hole of lesson 04, a
  crash, a leak, a hang), each built as a workspace and checked, as a learner would.
"""
import re
import sys
import unittest
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import course   # noqa: E402
import grader   # noqa: E402
from wrong_answers import LESSON, WRONG_ANSWERS   # noqa: E402

PLAIN = grader.Style(False)


def result_of(xml: str) -> grader.TestResult:
    r = grader.TestResult("t: a test", "tests/04-create-task/task_test.cpp", 1)
    grader.record(r, ET.fromstring(xml))
    return r


class ReadingReports(unittest.TestCase):
    def test_a_failed_comparison_of_logs_shows_both_orders(self):
        r = result_of("""<TestCase name="t: a test"><Expression success="false" type="CHECK"
            filename="tests/04-create-task/task_test.cpp" line="86">
            <Original>log == log_t{"a runs", "b runs"}</Original>
            <Expanded>{"b runs", "a runs"} == {"a runs", "b runs"}</Expanded></Expression>
            <OverallResultsAsserts successes="0" failures="1" test_case_success="false"/></TestCase>""")
        self.assertEqual(r.status, grader.FAILED)
        self.assertEqual(r.details[0].split("\n"), [
            'task_test.cpp:86: CHECK( log == log_t{"a runs", "b runs"} )',
            'got:      {"b runs", "a runs"}', 'expected: {"a runs", "b runs"}'])

    def test_a_leak_message_is_kept_after_the_first_failure(self):
        r = result_of("""<TestCase name="t: a test"><Expression success="false" type="CHECK"
            filename="x.cpp" line="3"><Original>v == 1</Original><Expanded>2 == 1</Expanded>
            </Expression><Message type="ERROR" filename="no_leaks.hpp" line="26">
            <Text>a coroutine frame leaked (or was freed twice)</Text></Message>
            <OverallResultsAsserts test_case_success="false"/></TestCase>""")
        self.assertEqual(r.details, ["x.cpp:3: CHECK( v == 1 )\nvalues: 2 == 1",
                                     "a coroutine frame leaked (or was freed twice)"])
        screen = "\n".join(grader.test_lines(r, PLAIN))
        self.assertIn("values: 2 == 1", screen)
        self.assertIn("a coroutine frame leaked", screen)

    def test_a_warning_is_not_a_failure(self):
        r = result_of("""<TestCase name="t: a test"><Message type="WARNING"><Text>slow</Text>
            </Message><OverallResultsAsserts test_case_success="true"/></TestCase>""")
        self.assertEqual((r.status, r.details), (grader.PASSED, []))

    def test_an_exception_and_a_crash(self):
        threw = result_of("""<TestCase name="t: a test"><Exception crash="false">lesson 04, hole
            start_task: schedule it</Exception><OverallResultsAsserts test_case_success="false"/>
            </TestCase>""")
        self.assertTrue(threw.details[0].startswith("threw: lesson 04, hole"))
        crashed = result_of("""<TestCase name="t: a test"><Exception crash="true">SIGSEGV -
            Segmentation violation signal</Exception><OverallResultsAsserts
            test_case_success="false"/></TestCase>""")
        self.assertEqual(crashed.status, grader.CRASHED)
        self.assertIn("segmentation fault", crashed.details[0])

    def test_only_a_comparison_of_sequences_is_split(self):
        self.assertIsNone(grader.split_comparison("2 == 1"))
        self.assertEqual(grader.split_comparison('{"a == b"} == {}'), ('{"a == b"}', "{}"))
        self.assertIsNone(grader.split_comparison("{1} == {2} == {3}"))


def info(stubs=(), needs=None, topics=None) -> grader.LessonInfo:
    needs = needs or {}
    return grader.LessonInfo("04", "04-create-task", [
        grader.Hole(name, f"aio/task.cpp:{i}", f"hint of {name}", needs.get(name, []), name in stubs)
        for i, name in enumerate(["start_task", "finish_task", "on_task_done"])], topics or {})


def result(name: str, status=grader.FAILED, details=("x.cpp:1: CHECK( a )",),
           suite="04-create-task") -> grader.TestResult:
    return grader.TestResult(name, f"tests/{suite}/t.cpp", 1, status, list(details))


class FilingFailures(unittest.TestCase):
    def screen(self, g, show_all=False) -> tuple[str, grader.Shown]:
        lines, shown = grader.report(g, PLAIN, show_all)
        return "\n".join(lines + grader.summary(g, shown, PLAIN, show_all)), shown

    def test_a_stub_message_files_a_test_under_the_stub_s_hole(self):
        stub = "threw: lesson 04, hole start_task: schedule the frame"
        run = grader.Run([result("start_task: a", details=[stub]),
                          result("finish_task: b", details=[stub]),
                          result("on_task_done: c", grader.PASSED, [])])
        g = grader.grade(info(stubs={"start_task", "finish_task"}), run)
        self.assertEqual([len(s.failures) for s in g.holes], [2, 0, 0])
        text, shown = self.screen(g)
        self.assertIn("Next: start_task", text)
        self.assertIn("start_task: a", text)
        self.assertIn("1 test of other holes that stop at this stub", text)
        self.assertEqual((shown.listed, shown.at_stub), (1, 1))

    def test_a_test_whose_needs_fail_is_blocked_and_says_by_what(self):
        run = grader.Run([result("start_task: a"), result("finish_task: b"),
                          result("on_task_done: c")])
        g = grader.grade(info(needs={"finish_task": ["start_task"],
                                     "on_task_done": ["finish_task"]}), run)
        self.assertEqual([s.status for s in g.holes], ["failing", "blocked", "blocked"])
        self.assertEqual(g.holes[2].blocked_by, ["start_task"])   # through finish_task
        text, shown = self.screen(g)
        self.assertIn("written; blocked by start_task: 1 of its 1 tests need it", text)
        self.assertEqual((shown.listed, shown.waiting), (1, 2))

    def test_filling_a_hole_changes_the_screen(self):
        run = grader.Run([result("start_task: a"), result("finish_task: b")])
        needs = {"start_task": ["finish_task"], "finish_task": ["start_task"]}
        before, _ = self.screen(grader.grade(info(stubs={"finish_task"}, needs=needs), run))
        after, _ = self.screen(grader.grade(info(needs=needs), run))
        self.assertRegex(before, r"finish_task +to do: its stub is still there")
        self.assertIn("Fix: start_task", after)   # both written, both failing: the first first
        self.assertRegex(after, r"finish_task +written; blocked by start_task: 1 of its 1 tests")

    def test_a_topic_failing_while_every_hole_s_own_tests_pass_is_listed_not_waiting(self):
        # Lesson 06: next forgets throw_in_; its tests and yield_value's pass, aclose's fail. The
        # hole guessed at fault shows no failure of its own: waiting for it would hide them.
        needs = {"start_task": ["finish_task"], "finish_task": ["start_task"]}
        run = grader.Run([result("start_task: a", grader.PASSED, []),
                          result("finish_task: b", grader.PASSED, []),
                          result("close: c", details=["t.cpp:9: CHECK( closed )"]),
                          result("close: d", details=["t.cpp:12: CHECK( log == x )"])])
        g = grader.grade(info(needs=needs, topics={"close": ["start_task", "finish_task"]}), run)
        self.assertEqual([s.status for s in g.holes], ["failing", "done", "done"])
        self.assertEqual(g.alternatives, ["finish_task"])
        text, shown = self.screen(g)
        self.assertEqual((shown.listed, shown.waiting), (2, 0))
        self.assertIn("Fix: start_task", text)
        self.assertIn("(or finish_task:", text)
        self.assertRegex(text, r"✗ close: c .*\n +t\.cpp:9: CHECK\( closed \)")

    def test_a_leak_that_names_a_hole_is_filed_there(self):
        leak = "a coroutine frame leaked; lesson 04, hole finish_task: release the reference"
        run = grader.Run([result("start_task: a", details=[leak])])
        g = grader.grade(info(), run)
        self.assertEqual([s.status for s in g.holes], ["blocked", "failing", "done"])

    def test_every_failing_test_is_accounted_for(self):
        stub = "threw: lesson 04, hole start_task: x"
        run = grader.Run([result(f"start_task: {i}") for i in range(9)] +
                         [result(f"finish_task: {i}", details=[stub]) for i in range(3)] +
                         [result("other: x"), result("on_task_done: y", grader.CRASHED),
                          result("x: earlier", suite="03-await"),
                          result("on_task_done: z", grader.PASSED, [])])
        g = grader.grade(info(needs={"on_task_done": ["finish_task"]}), run)
        text, shown = self.screen(g)
        failing = g.total - g.passed
        self.assertEqual(shown.listed + shown.at_stub + shown.waiting + shown.other_holes + shown.more, failing)
        self.assertIn("… and 3 more here", text)
        self.assertIn(f"lesson 04: 1 passed, 14 failing, 1 crashed (of {g.total}).", text)
        everything, shown_all = self.screen(g, show_all=True)
        self.assertEqual(shown_all.listed, failing)
        for r in run.results:
            if r.status != grader.PASSED:
                self.assertIn(r.name, everything)


class StubsAndTables(unittest.TestCase):
    """What the grader reads from the course itself: each lesson's hole table, and whether a
    hole's stub is still in a tree."""

    def test_every_lesson_has_a_table_that_names_its_holes_and_test_prefixes(self):
        for l in course.lessons():
            self.assertEqual(course.hole_table_problems(l), [], l.dir)

    def test_a_stub_is_seen_in_the_exercise_and_not_once_edited(self):
        l = course.lesson(LESSON)
        tree = ROOT / "build" / "self-test" / "stubs"
        course.generate_tree(tree, l.number, exercise=l.number)
        where = course.stubs(l)
        self.assertTrue(all(course.stub_state(tree, s)[0] for s in where.values()))
        stub = where["finish_task"]
        path = tree / stub.path
        lines = path.read_text().split("\n")
        first = stub.line - 1
        lines.insert(first, "    state_of(top).finished = true;   // the learner's first line")
        path.write_text("\n".join(lines))
        in_place, line = course.stub_state(tree, stub)
        self.assertFalse(in_place)
        self.assertEqual(line, stub.line)   # where the hole is, still
        self.assertTrue(course.stub_state(tree, where["start_task"])[0])
        snapshot = course.SRC / f"snap-{LESSON}"
        course.generate_tree(snapshot, l.number)
        self.assertFalse(any(course.stub_state(snapshot, s)[0] for s in where.values()))


class WrongAnswers(unittest.TestCase):
    """Each scripted wrong answer, built and checked the way `make check` does."""

    @classmethod
    def setUpClass(cls):
        cls.lesson = course.lesson(LESSON)
        cls.build = course.Build()
        snapshot = course.SRC / f"snap-{LESSON}"
        course.generate_tree(snapshot, cls.lesson.number)
        for w in WRONG_ANSWERS:   # the snapshot with one change (unchanged files keep their time)
            tree = course.SRC / f"wrong-{LESSON}-{w.name}"
            for path in (p for p in snapshot.rglob("*") if p.is_file()):
                text = path.read_text()
                if path.relative_to(snapshot) == Path(w.file):
                    if text.count(w.old) != 1:
                        raise AssertionError(f"wrong answer {w.name}: its `old` is no longer in "
                                             f"{w.file} (tests/course/wrong_answers.py)")
                    text = text.replace(w.old, w.new)
                course.write_if_changed(tree / path.relative_to(snapshot), text)
        targets = [cls.build.target(f"wrong-{LESSON}-{w.name}", "test") for w in WRONG_ANSWERS]
        if not cls.build.make(targets, quiet=True):
            raise AssertionError("the wrong answers do not build")

    def check(self, w):
        binary = self.build.out / f"wrong-{LESSON}-{w.name}" / "test"
        tree = course.SRC / f"wrong-{LESSON}-{w.name}"
        run = grader.run_tests(binary, cwd=ROOT, timeout_s=3)
        g = grader.grade(course.lesson_info(self.lesson, tree), run)
        traced = grader.traced_test(g)
        traces = {}
        if traced:
            steps = grader.trace_text(grader.trace_records(binary, traced, run.results, ROOT, 3),
                                      binary, ROOT)
            traces[traced.name] = ["The loop, step by step, in this test:", *steps]
        lines, shown = grader.report(g, PLAIN, False, traces)
        screen = "\n".join(lines + grader.summary(g, shown, PLAIN, False))
        everything, shown_all = grader.report(g, PLAIN, True, traces)
        everything = "\n".join(everything)
        failing = [r for r in run.results if r.status != grader.PASSED]
        why = f"\n--- the screen of wrong answer {w.name} ({w.mistake}):\n{screen}"

        self.assertTrue(failing, "this wrong answer fails no test" + why)
        self.assertIn(w.screen, screen, why)
        if traced and traced.status != grader.HUNG:   # the steps, the test's log among them
            self.assertIn("The loop, step by step", screen, why)
            self.assertRegex(screen, r"\n +log \"", why)
        self.assertEqual(len(run.results), len(grader.list_tests(binary, [], ROOT)))
        self.assertIn(f"(of {len(run.results)})", screen, "the tally is of every test" + why)
        self.assertEqual(shown.listed + shown.at_stub + shown.waiting + shown.other_holes + shown.more, len(failing),
                         "every failing test is listed or counted" + why)
        self.assertEqual(len(re.findall(r"^  [✗·] .*   \[\d\d-[\w-]+\]$", screen, re.M)), shown.listed,
                         why)
        self.assertEqual(shown_all.listed, len(failing))
        for r in failing:   # with ALL=1: each by name, its own first detail right under it
            at = everything.index(f" {r.name}")
            if r.status == grader.NOT_RUN:
                continue   # (named; why is said once)
            detail = re.sub(r"; lesson \d\d, hole \w+: .*", "", r.details[0].split("\n")[0])[:60]
            if grader.is_stub_message(detail, w.blame or ""):
                detail = "threw not_implemented"
            self.assertIn(detail, everything[at:at + 400 + len(r.name)],
                          f"'{r.name}' is not followed by its detail" + why)
        if w.blame:   # filed under the hole at fault, or under one that fits as well, named
            failing_holes = [s.hole.name for s in g.holes if s.status == "failing"]
            self.assertEqual(len(failing_holes), 1, "failures filed under holes that are right" + why)
            self.assertIn(w.blame, failing_holes + g.alternatives, why)
            if w.blame != failing_holes[0]:
                self.assertIn(f"(or {' or '.join(g.alternatives)}:", screen, why)
        return g, screen


def wrong_answer_test(w):
    def test(self):
        self.check(w)
    test.__doc__ = w.mistake
    return test


for _w in WRONG_ANSWERS:
    setattr(WrongAnswers, f"test_{_w.name}", wrong_answer_test(_w))


if __name__ == "__main__":
    unittest.main()
