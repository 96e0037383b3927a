#!/usr/bin/env python3
"""The course tooling: one runtime in runtime/, every lesson generated from it.

Principles (Crafting Interpreters' model): code is written once, in runtime/. Each lesson's
snapshot (the runtime as it stands after lesson NN) and exercise (the same snapshot with the
lesson's own parts cut out) are *generated* by resolving preprocessor guards with unifdef:

    #if AIO_LESSON >= 3   ...code lesson 03 adds to an earlier file...   #endif // lesson 03
    #if AIO_EXERCISE == 3  ...stub that throws aio::not_implemented...  #else ...code... #endif

A hole is named by its stub ("lesson 03, hole NAME: hint"); several guards of one file that name
the same hole are one hole, cut and filled together (a function and its specialisation).

A runtime file says on its first line which lesson introduces it ("— lesson 03: ..."). Code
shown in a lesson's README.md is generated too, between markers:

    <!-- code: aio/event_loop.cpp#call_soon -->   the region between ANCHOR: and ANCHOR_END:
    <!-- code: aio/run.hpp -->                    a whole file
    <!-- diff: aio/coroutine.hpp -->              what this lesson changed in a file
    <!-- output: example.py -->                   what the lesson's example prints
    <!-- holes -->                                the note that names the lesson's holes

A block that holds one of the lesson's own holes shows it as the exercise has it (its stub); the
reference code of every hole is in the lesson's generated SOLUTION.md.

The Makefile calls the subcommands below; `make help` lists the user-facing targets.
"""
import argparse
import difflib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import grader   # tools/grader.py: what make check runs and shows
import trace_view   # tools/trace_view.py: the page of make trace

ROOT = Path(__file__).resolve().parent.parent
RUNTIME = ROOT / "runtime"
SRC = ROOT / "build" / "src"
WORKSPACE = ROOT / "workspace"
TIMEOUT_S = int(os.environ.get("AIO_TEST_TIMEOUT", "180"))
# The oracle for the examples: Debian's python3 (where python3-aiohttp lives), else ours.
PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
# Threads arrive in lesson 12 (to_thread, executors, call_soon_threadsafe): before it the runtime
# runs on one thread and ThreadSanitizer has nothing to watch, so the tsan build runs the suites
# of this lesson and the later ones only.
FIRST_THREADED_LESSON = 12


# ---- lessons, runtime files and holes -----------------------------------------------------------

@dataclass(frozen=True)
class Lesson:
    number: int
    dir: str            # "03-await"

    @property
    def nn(self) -> str:
        return f"{self.number:02d}"

    @property
    def path(self) -> Path:
        return ROOT / "lessons" / self.dir


def lessons() -> list[Lesson]:
    found = sorted(p.name for p in (ROOT / "lessons").iterdir()
                   if p.is_dir() and re.fullmatch(r"\d\d-[a-z0-9-]+", p.name))
    result = [Lesson(int(name[:2]), name) for name in found]
    for i, lesson in enumerate(result, start=1):
        if lesson.number != i:
            sys.exit(f"lessons/: expected lesson {i:02d}, found {lesson.dir} (no gaps allowed)")
    return result


def lesson(nn: str) -> Lesson:
    for each in lessons():
        if each.number == int(nn):
            return each
    sys.exit(f"no lesson {nn} (there are {', '.join(l.nn for l in lessons())})")


def runtime_files() -> list[tuple[Path, int]]:
    """Every file under runtime/ and the lesson that introduces it."""
    files = []
    for path in sorted(p for p in RUNTIME.rglob("*") if p.is_file()):
        first = path.read_text().split("\n", 1)[0]
        m = re.search(r"\blesson (\d\d)\b", first)
        if not m:
            sys.exit(f"{path.relative_to(ROOT)}: the first line must name its lesson ('lesson NN')")
        files.append((path, int(m.group(1))))
    return files


HOLE_GUARD = "#if AIO_EXERCISE == {}"
HOLE_TEXT = re.compile(r"lesson (\d\d), hole (\w+): (.*)")


@dataclass(frozen=True)
class Hole:
    name: str
    hint: str
    file: Path
    indices: tuple[int, ...]   # which guards of that file hold it, counting from 0


def parts(h: Hole) -> list[Hole]:
    """A hole cut in several places, as one hole per place (render_cut takes either)."""
    return [replace(h, indices=(i,)) for i in h.indices]


def stub_text(block: list[str]) -> str:
    """A stub's hint: its string literals (the not_implemented message) if it has any, else its
    comments. A stub that throws may also comment a line of its own ("never reached: ..."):
    that is a note to the reader, not part of the hint."""
    literals = ["".join(re.findall(r'"((?:[^"\\]|\\.)*)"', l)) for l in block]
    if any(literals):
        return " ".join(literals)
    return " ".join(l.split("//", 1)[1].strip() for l in block if "//" in l)


def holes(number: int) -> list[Hole]:
    """The holes of a lesson's exercise, in file order, each with its name and first hint; the
    guards of one file that name the same hole are that one hole."""
    guard = HOLE_GUARD.format(number)
    found: list[Hole] = []
    for path, _ in runtime_files():
        lines = path.read_text().split("\n")
        index = 0
        for i, line in enumerate(lines):
            if line.strip() != guard:
                continue
            block = []
            for body in lines[i + 1:]:
                if body.startswith("#else") or body.startswith("#endif"):
                    break
                block.append(body)
            # The hint is written in the stub's string literals, or in its comments.
            text = stub_text(block)
            m = HOLE_TEXT.search(" ".join(text.split()))
            if not m or int(m.group(1)) != number:
                sys.exit(f"{path.relative_to(ROOT)}:{i + 1}: a hole must say "
                         f"'lesson {number:02d}, hole NAME: hint' in its stub")
            same = next((k for k, h in enumerate(found) if h.name == m.group(2)), None)
            if same is None:
                found.append(Hole(m.group(2), m.group(3).strip(), path, (index,)))
            elif found[same].file == path:
                found[same] = replace(found[same], indices=found[same].indices + (index,))
            else:
                sys.exit(f"{path.relative_to(ROOT)}:{i + 1}: hole {m.group(2)} is already cut in "
                         f"{found[same].file.relative_to(ROOT)}: a hole's guards are in one file")
            index += 1
    return found


# ---- generating trees ---------------------------------------------------------------------------

ANCHOR = re.compile(r"^\s*// ANCHOR(_END)?: [\w-]+\s*$")


def render(path: Path, number: int, exercise: int = 0, only_hole: Hole | None = None,
           keep_anchors: bool = False) -> str:
    """A runtime file as it stands after lesson `number` (with exercise `exercise`'s holes cut)."""
    text = path.read_text()
    if only_hole is not None:
        # Fill every hole but one: their guards become false, so unifdef keeps the #else code.
        guard, seen, lines = HOLE_GUARD.format(exercise), 0, []
        for line in text.split("\n"):
            if line.strip() == guard:
                if not (path == only_hole.file and seen in only_hole.indices):
                    line = HOLE_GUARD.format(999)   # never true
                seen += 1
            lines.append(line)
        text = "\n".join(lines)
    done = subprocess.run(["unifdef", "-x2", f"-DAIO_LESSON={number}", f"-DAIO_EXERCISE={exercise}"],
                          input=text, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"unifdef failed on {path}: {done.stderr}")
    out = done.stdout
    if not keep_anchors:
        out = "".join(l for l in out.splitlines(keepends=True) if not ANCHOR.match(l))
    return out


def write_if_changed(path: Path, content: str) -> None:
    if path.exists() and path.read_text() == content:
        return   # keep the timestamp: make rebuilds only what changed
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)


def generate_tree(dst: Path, number: int, exercise: int = 0, only_hole: Hole | None = None) -> None:
    wanted = set()
    for path, introduced in runtime_files():
        if introduced > number:
            continue
        rel = path.relative_to(RUNTIME)
        content = render(path, number, exercise, only_hole)
        if "AIO_LESSON" in content or "AIO_EXERCISE" in content:
            sys.exit(f"{rel}: a guard survived generation; guards must be exactly "
                     "'#if AIO_LESSON >= N' or '#if AIO_EXERCISE == N'")
        write_if_changed(dst / rel, content)
        wanted.add(dst / rel)
    for stale in [p for p in (dst / "aio").rglob("*") if p.is_file() and p not in wanted]:
        stale.unlink()   # a file a later edit of runtime/ removed (never a learner's other files)


def tree_names(all_lessons: list[Lesson]) -> list[str]:
    """make test's trees. Not "reference": it is the last lesson's snapshot, file for file
    (generate_trees makes both from the same lesson number), so make test runs that one once."""
    names = []
    for l in all_lessons:
        names += [f"snap-{l.nn}", f"ex-{l.nn}"]
        names += [f"hole-{l.nn}-{k}" for k in range(1, len(holes(l.number)) + 1)]
    return names


def generate_trees() -> None:
    all_lessons = lessons()
    last = all_lessons[-1].number
    generate_tree(SRC / "reference", last)
    for l in all_lessons:
        generate_tree(SRC / f"snap-{l.nn}", l.number)
        generate_tree(SRC / f"ex-{l.nn}", l.number, exercise=l.number)
        for k, hole in enumerate(holes(l.number), start=1):
            generate_tree(SRC / f"hole-{l.nn}-{k}", l.number, l.number, only_hole=hole)


# ---- building and running -----------------------------------------------------------------------

@dataclass
class Build:
    mode: str = "release"
    cxx: str = "g++"

    @property
    def out(self) -> Path:
        return ROOT / "build" / f"{self.mode}-{Path(self.cxx).name}"

    def target(self, tree: str, what: str) -> str:
        return str((self.out / tree / what).relative_to(ROOT))

    def make(self, targets: list[str], quiet: bool = False, threaded: list[str] = ()) -> bool:
        jobs = str(os.cpu_count() or 2)
        cmd = ["make", "-s", "--no-print-directory", "-f", "tools/build.mk", f"-j{jobs}",
               f"MODE={self.mode}", f"CXX={self.cxx}", f"THREADED_SUITES={' '.join(threaded)}", *targets]
        done = subprocess.run(cmd, cwd=ROOT, capture_output=quiet, text=True)
        if quiet and done.returncode != 0:
            print(done.stdout[-6000:], done.stderr[-6000:], sep="\n")
        return done.returncode == 0


@dataclass
class Outcome:
    code: int | None        # None: timed out
    output: str             # stdout and stderr
    passed: int = 0
    failed: int = 0
    stdout: str = ""        # alone: where a reporter's XML is

    @property
    def crashed(self) -> bool:   # killed by a signal, or a sanitizer report
        # (A ThreadSanitizer report is looked for too: a TSAN_OPTIONS with exitcode=0 or
        # halt_on_error=0 lets the binary end as if nothing happened.)
        return (self.code is None or self.code < 0 or self.code > 1
                or "WARNING: ThreadSanitizer:" in self.output)


def sanitizer_env() -> dict[str, str]:
    """ThreadSanitizer stops at its first report, as AddressSanitizer does: the binary dies
    before doctest's summary, so a race is one failure and the tests after it count as nothing,
    never as passes. A TSAN_OPTIONS of the caller's comes after ours and wins."""
    return dict(os.environ, TSAN_OPTIONS=f"halt_on_error=1 {os.environ.get('TSAN_OPTIONS', '')}".strip())


def run_binary(binary: Path, args: list[str] = (), cwd: Path = ROOT) -> Outcome:
    try:
        done = subprocess.run([str(binary), *args], cwd=cwd, capture_output=True, text=True,
                              timeout=TIMEOUT_S, errors="replace", env=sanitizer_env())
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        return Outcome(None, out + f"\n*** timed out after {TIMEOUT_S} s: a lost wake-up hangs "
                                   "rather than fails ***\n")
    outcome = Outcome(done.returncode, done.stdout + done.stderr, stdout=done.stdout)
    m = re.search(r"test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed", outcome.output)
    if m:
        outcome.passed, outcome.failed = int(m.group(2)), int(m.group(3))
    return outcome


def suite_filter(dirs: list[str]) -> str:
    return "--source-file=" + ",".join(f"*tests/{d}/*" for d in dirs)


class Tally:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, ok: bool, label: str, detail: str = "", count: int = 1) -> None:
        if ok:
            self.passed += count
            print(f"  ok    {label}")
        else:
            self.failed += max(count, 1)
            print(f"  FAIL  {label}")
            if detail:
                print("\n".join("        " + l for l in detail.rstrip().split("\n")[-60:]))

    def suite(self, outcome: Outcome, label: str) -> None:
        ok = outcome.code == 0 and not outcome.crashed and outcome.failed == 0 and outcome.passed > 0
        if ok:
            self.passed += outcome.passed
            print(f"  ok    {label} ({outcome.passed} test cases)")
        else:
            self.failed += max(outcome.failed, 1)
            self.passed += outcome.passed
            print(f"  FAIL  {label} ({outcome.passed} passed, {outcome.failed} failed, "
                  f"exit {outcome.code})")
            print("\n".join("        " + l for l in outcome.output.rstrip().split("\n")[-80:]))


def programs(l: Lesson) -> list[str]:
    """A lesson's example programs: example.cpp, and capstone.cpp where there is one."""
    return [name for name in ("example", "capstone") if (l.path / f"{name}.cpp").exists()]


def binaries(l: Lesson) -> list[str]:
    """What a lesson's snapshot builds besides its test: its programs, and its server if any."""
    return programs(l) + (["server"] if (l.path / "server.cpp").exists() else [])


@contextmanager
def lesson_server(l: Lesson, b: "Build | None" = None):
    """The arguments a lesson's programs are run with. A lesson with a server.cpp (lesson 09)
    gets that server, built from the lesson's snapshot, for the length of the run: started here,
    its port read from its first line, stopped by its PID; its programs are given its URL."""
    if not (l.path / "server.cpp").exists():
        yield []
        return
    b = b or Build("release", "g++")
    generate_tree(SRC / f"snap-{l.nn}", l.number)   # (unchanged files are left alone)
    if not b.make([b.target(f"snap-{l.nn}", "server")], quiet=True):
        raise SystemExit(f"lessons/{l.dir}/server.cpp does not build")
    binary = b.out / f"snap-{l.nn}" / "server"
    server = subprocess.Popen([str(binary)], cwd=l.path, stdout=subprocess.PIPE, text=True)
    try:
        port = server.stdout.readline().strip()
        if not port.isdigit():
            raise RuntimeError(f"lessons/{l.dir}/server did not print its port")
        yield [f"http://127.0.0.1:{port}/"]
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stdout.close()


def compare_example(tally: Tally, b: "Build", l: Lesson, name: str = "example") -> None:
    binary = b.out / f"snap-{l.nn}" / name
    with lesson_server(l, b) as args:
        ours = run_binary(binary, args, cwd=l.path)
        py = l.path / f"{name}.py"
        if not py.exists():
            tally.check(ours.code == 0, f"{name} {l.nn} runs", ours.output)
            return
        theirs = subprocess.run([PYTHON, str(py), *args], cwd=l.path, capture_output=True, text=True,
                                timeout=TIMEOUT_S)
    # stdout is compared. stderr is where both report what differs in form by nature (lesson 13's
    # await chains and debug reports: asyncio's name source files and lines); shown on failure.
    same = ours.code == 0 and theirs.returncode == 0 and ours.stdout == theirs.stdout
    diff = "".join(difflib.unified_diff(theirs.stdout.splitlines(True), ours.stdout.splitlines(True),
                                        f"CPython ({name}.py)", f"aio ({name}.cpp)"))
    tally.check(same, f"{name} {l.nn} prints what CPython prints", (diff or "") + theirs.stderr + ours.output)


def cmd_test(args) -> int:
    b = Build(args.mode, args.cxx)
    all_lessons = lessons()
    # The tsan build watches the threads: the reference's suites of the lessons that have them.
    threaded = [l.dir for l in all_lessons
                if l.number >= FIRST_THREADED_LESSON and any((ROOT / "tests" / l.dir).glob("*.cpp"))]
    if args.reference_only and b.mode == "tsan" and not threaded:
        print(f"== ThreadSanitizer ({b.cxx}): no suite of lesson {FIRST_THREADED_LESSON:02d} or later "
              "(the lessons with threads) yet, nothing to run")
        print("0 passed, 0 failed")
        return 0
    generate_trees()
    if args.reference_only and b.mode == "tsan":
        targets = [b.target("reference", "test-threaded")]
    elif args.reference_only:
        targets = [b.target("reference", "test")]
    else:
        targets = [b.target(t, what) for t in tree_names(all_lessons)
                   for what in (["test", *binaries(lesson(t[5:7]))] if t.startswith("snap-") else ["test"])]
    print(f"== building {len(targets)} binaries ({b.mode}, {b.cxx})", flush=True)
    started = time.time()
    if not b.make(targets, threaded=threaded):
        print("build failed\n0 passed, 1 failed")
        return 1
    print(f"   built in {time.time() - started:.0f} s", flush=True)

    tally = Tally()
    if args.reference_only and b.mode == "tsan":
        print(f"== the whole runtime, the lessons with threads ({b.mode}, {b.cxx})")
        tally.suite(run_binary(b.out / "reference" / "test-threaded"),
                    f"reference: suites {threaded[0][:2]}..{threaded[-1][:2]} under ThreadSanitizer")
    elif args.reference_only:
        print(f"== the whole runtime ({b.mode}, {b.cxx})")
        tally.suite(run_binary(b.out / "reference" / "test"), "reference: every suite")
    else:
        for l in all_lessons:
            upto = [x.dir for x in all_lessons if x.number <= l.number]
            print(f"== lesson {l.dir}")
            tally.suite(run_binary(b.out / f"snap-{l.nn}" / "test"),
                        f"snapshot {l.nn}: suites {upto[0][:2]}..{l.nn}")
            for name in programs(l):
                compare_example(tally, b, l, name)
            ex = b.out / f"ex-{l.nn}" / "test"
            if len(upto) > 1:
                tally.suite(run_binary(ex, [suite_filter(upto[:-1])]),
                            f"exercise {l.nn} passes the earlier suites")
            own = run_binary(ex, [suite_filter([l.dir])])
            tally.check(own.failed > 0 and not own.crashed,
                        f"exercise {l.nn} compiles and fails its own suite cleanly "
                        f"({own.failed} failing)", own.output)
            table = hole_table_problems(l)
            tally.check(not table, f"the hole table names the lesson's holes and test prefixes",
                        "\n".join(table))
            for k, hole in enumerate(holes(l.number), start=1):
                alone = grader.run_tests(b.out / f"hole-{l.nn}-{k}" / "test", cwd=ROOT)
                failing = [r for r in alone.results if r.status != grader.PASSED]
                bad = [f"{r.status}: {r.name}: {' '.join(r.details[:1])}" for r in failing
                       if r.status in (grader.CRASHED, grader.HUNG)] + alone.notes
                tally.check(failing and not bad, f"hole {hole.name} alone fails {len(failing)} "
                            "test(s), cleanly", "\n".join(bad))
                uncovered = [] if table else hole_table_covers(l, hole, alone)
                tally.check(not uncovered, f"hole {hole.name} alone: each failure is named after "
                            "it or needs it", "\n".join(uncovered))
            if b.mode == "release" and b.cxx == "g++":   # what `make check` builds with
                ok, why = learner_loop_check(l, b, build_it=l.number == 1)
                tally.check(ok, f"make exercise + make check: fails with hints, passes once "
                                f"the holes are filled", why)
        stale = readme_problems()
        tally.check(not stale, "lesson READMEs show the code as generated", "\n".join(stale))
        if b.mode == "release" and b.cxx == "g++":   # the grader's own tests build as make check does
            print("== the grader (tests/course/)", flush=True)
            own = subprocess.run([sys.executable, "tools/course.py", "self-test"], cwd=ROOT,
                                 capture_output=True, text=True)
            ran = re.search(r"Ran (\d+) tests?", own.stderr)
            # Only the trace page's browser tests skip, and only where chromium is missing (not in CI).
            skipped = re.search(r"skipped=(\d+)", own.stderr)
            tally.check(own.returncode == 0, f"make check shows every failure of its self-test "
                        f"({ran.group(1) if ran else '?'} tests: readers, filing, wrong answers; "
                        f"and make trace's page, in a browser" +
                        (f": {skipped.group(1)} skipped, no chromium (make deps-browser))" if skipped else ")"),
                        own.stderr[-6000:])
        tally.check(install_check(b), "make install: a program builds with pkg-config and runs")
    print(f"{tally.passed} passed, {tally.failed} failed")
    return 0 if tally.failed == 0 else 1


def cmd_run(args) -> int:
    """The lessons' examples, each beside CPython's output. For one lesson with a workspace,
    the learner's own code runs (unless --reference)."""
    b = Build(args.mode, args.cxx)
    chosen = [lesson(args.lesson)] if args.lesson else lessons()
    own = args.lesson and not args.reference and workspace_of(chosen[0]).exists()
    generate_trees()
    tree = {l.nn: f"ws-{l.nn}" if own else f"snap-{l.nn}" for l in chosen}
    if not b.make([b.target(tree[l.nn], name) for l in chosen for name in binaries(l)], quiet=True):
        if own:
            print(f"Your workspace does not build: make check LESSON={chosen[0].nn} says why "
                  "(REFERENCE=1 runs the lesson's own code)")
        return 1
    status = 0
    for l in chosen:
        folder = workspace_of(l) if own else l.path
        for name in programs(l):
            print(f"==== lesson {l.dir}: {folder.relative_to(ROOT)}/{name}.cpp" +
                  (" with your workspace's code (REFERENCE=1: the lesson's)" if own else ""), flush=True)
            with lesson_server(l, b) as server_args:
                ours = run_binary(b.out / tree[l.nn] / name, server_args, cwd=folder)
                status |= ours.code != 0
                if not args.lesson or not (folder / f"{name}.py").exists():
                    print(ours.output, end="", flush=True)
                    continue
                theirs = subprocess.run([PYTHON, f"{name}.py", *server_args], cwd=folder,
                                        capture_output=True, text=True)
            a, c = ours.stdout.splitlines(), theirs.stdout.splitlines()   # as compare_example
            left_title = f"{'yours' if own else 'aio'} ({name}.cpp)"
            width = min(max([len(x) for x in a] + [len(left_title)]), 60)
            print(f"{left_title:<{width}} | CPython ({name}.py)")
            print(f"{'-' * width}-+-{'-' * 20}")
            for i in range(max(len(a), len(c))):
                left, right = (a[i] if i < len(a) else ""), (c[i] if i < len(c) else "")
                shown = left if len(left) <= width else left[:width - 1] + "…"   # one screen wide
                print(f"{shown:<{width}} {'|' if left == right else '≠'} {right}")
            print("same output" if a == c else "the outputs DIFFER")   # compared whole, not as shown
            ours_err = ours.output[len(ours.stdout):]   # (output is stdout, then stderr)
            for who, text in ((left_title, ours_err), (f"CPython ({name}.py)", theirs.stderr)):
                if text:   # not compared: stderr differs in form by nature (lesson 13's reports)
                    print(f"-- {who} on stderr:\n{text}", end="" if text.endswith("\n") else "\n")
            if ours.code != 0:
                print(f"({name} exited with code {ours.code}; run it alone to see all it printed: "
                      f"{(b.out / tree[l.nn] / name).relative_to(ROOT)})")
    return status


# ---- make trace: a lesson's program as a timeline (lesson 13) -----------------------------------
#
# AIO_TRACE arrives in lesson 13, so the programs of an earlier lesson are built against lesson
# 13's snapshot (they use nothing it lacks), a later lesson's against its own. Always a release
# build: the timings of a debug or sanitizer build would tell about the build, not the program.
# tools/trace_view.py turns the trace into the page.

FIRST_TRACED_LESSON = 13
TRACES = ROOT / "build" / "trace"
PICTURE = "timeline.png"   # lesson 13's picture of the page; PICTURE.txt beside it says what made it


@dataclass
class Traced:
    trace: Path
    page: Path
    code: int | None   # the program's exit code (None: it timed out)
    output: str        # what it printed


def traced_binary(l: Lesson, name: str, b: Build) -> Path | None:
    number = max(l.number, FIRST_TRACED_LESSON)
    tree = f"snap-{number:02d}"
    generate_tree(SRC / tree, number)
    if l.number >= FIRST_TRACED_LESSON:   # the tree's own lesson: build.mk has the rule
        return b.out / tree / name if b.make([b.target(tree, name)], quiet=True) else None
    if not b.make([b.target(tree, "lib.a")], quiet=True):
        return None
    # An earlier lesson's program against this tree's library: build.mk's rules build a tree's own
    # lesson's programs only, hence the one command here (rebuilt when the source or library is newer).
    lib, source = b.out / tree / "lib.a", l.path / f"{name}.cpp"
    binary = b.out / tree / f"traced-{l.nn}-{name}"
    if not binary.exists() or binary.stat().st_mtime < max(source.stat().st_mtime, lib.stat().st_mtime):
        done = subprocess.run([b.cxx, "-std=c++20", "-O2", "-Wall", "-Wextra", "-Wpedantic", f"-I{SRC / tree}",
                               str(source), str(lib), "-o", str(binary)], capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stderr[-6000:])
            return None
    return binary


def trace_program(l: Lesson, name: str, b: Build, out: Path = TRACES) -> Traced | None:
    """Runs one of a lesson's programs with AIO_TRACE=out/NN.json (a capstone: NN-capstone.json),
    beside the lesson's server if it has one, and renders out/NN.html; None if nothing was traced."""
    binary = traced_binary(l, name, b)
    if binary is None:
        print(f"lessons/{l.dir}/{name}.cpp does not build")
        return None
    stem = l.nn if name == "example" else f"{l.nn}-{name}"
    trace, page = (out / f"{stem}.json").resolve(), (out / f"{stem}.html").resolve()
    out.mkdir(parents=True, exist_ok=True)
    trace.unlink(missing_ok=True)   # an old trace must not pass for this run's
    with lesson_server(l, b) as args:
        try:
            done = subprocess.run([str(binary), *args], cwd=l.path, capture_output=True, text=True,
                                  errors="replace", timeout=TIMEOUT_S, env=dict(os.environ, AIO_TRACE=str(trace)))
            code, output = done.returncode, done.stdout + done.stderr
        except subprocess.TimeoutExpired:
            code, output = None, f"*** {name} timed out after {TIMEOUT_S} s ***\n"
    if not trace.exists():
        print(output, end="")
        print(f"{name} wrote no trace to {trace}")
        return None
    # A program that failed or crashed is traced all the same: its timeline is the one to look at.
    page.write_text(trace_view.page(trace_view.read_trace(trace), f"aio trace: lessons/{l.dir}/{name}.cpp",
                                    trace.name))
    return Traced(trace, page, code, output)


def cmd_trace(args) -> int:
    l = lesson(args.lesson)
    b = Build("release", args.cxx)
    status = 0
    for name in programs(l):
        print(f"==== lesson {l.dir}: {name}.cpp with AIO_TRACE", flush=True)
        traced = trace_program(l, name, b)
        if traced is None:
            status = 1
            continue
        print(traced.output, end="")
        if traced.code != 0:
            print(f"({name} exited with code {traced.code}; its trace is rendered all the same)")
            status = 1
        summary = trace_view.summarize(trace_view.read_trace(traced.trace).events)
        print(f"{traced.page.relative_to(ROOT)}: {summary.line()}   (open it in a browser; "
              f"the trace itself, {traced.trace.relative_to(ROOT)}, opens in Perfetto too)")
    return status


def cmd_trace_picture(args) -> int:
    """lessons/13-tracing/timeline.png: a screenshot of the page of lesson 13's example, and
    beside it the SHA-256 of the trace_view.py that drew it (the course's self-test compares)."""
    l = lesson(f"{FIRST_TRACED_LESSON:02d}")
    if trace_view.chromium() is None:
        print("the picture needs headless chromium: make deps-browser installs it")
        return 1
    traced = trace_program(l, "example", Build("release", args.cxx))
    if traced is None:
        return 1
    png = l.path / PICTURE
    trace_view.screenshot(traced.page, png)
    sha = lambda path: hashlib.sha256(path.read_bytes()).hexdigest()   # noqa: E731
    (l.path / f"{PICTURE}.txt").write_text(
        f"# {PICTURE}: made by `make trace-picture` (a screenshot of `make trace LESSON={l.nn}`'s page).\n"
        f"# make test checks that tools/trace_view.py has not changed since: if it has, run it again.\n"
        f"tools/trace_view.py sha256 {sha(ROOT / 'tools' / 'trace_view.py')}\n"
        f"{PICTURE} sha256 {sha(png)}\n")
    print(f"{png.relative_to(ROOT)}: {trace_view.summarize(trace_view.read_trace(traced.trace).events).line()}")
    return 0


# ---- generated code in the lesson texts --------------------------------------------------------
#
# A lesson's README.md is the first page a learner reads, so it never shows the code of a hole of
# its own lesson: a generated block that holds one shows it as the exercise has it (the stub), with
# a note under it. Each hole's reference code is in the lesson's SOLUTION.md (generated too, a
# warning at its top) and behind `make solution LESSON=NN HOLE=name`, which asks first.
# readme_problems() checks all three: blocks current, SOLUTION.md current, no page showing the code
# of a hole of its lesson or of a later one. (A page may show an earlier lesson's holes filled in:
# the learner of lesson NN has them, complete, in the workspace `make exercise` gives.)

BLOCK = re.compile(r"(<!-- (code|diff|output|holes)(?:: ([\w./-]+)(?:#([\w-]+))?)? -->\n)(.*?)(<!-- end -->)",
                   re.S)
HEADING = re.compile(r"^#{2,4} (.+)$", re.M)


def region(text: str, name: str, where: str) -> str:
    lines = text.split("\n")
    try:
        start = next(i for i, l in enumerate(lines) if l.strip() == f"// ANCHOR: {name}")
        end = next(i for i, l in enumerate(lines) if l.strip() == f"// ANCHOR_END: {name}")
    except StopIteration:
        raise SystemExit(f"{where}: no region '{name}' (// ANCHOR: {name} ... // ANCHOR_END: {name})")
    return "\n".join(l for l in lines[start + 1:end] if not ANCHOR.match(l)) + "\n"


_rendered: dict[tuple, str] = {}


def render_cut(path: Path, number: int, cut: frozenset[Hole] = frozenset(),
               keep_anchors: bool = False) -> str:
    """A runtime file as it stands after lesson `number`, with exactly the holes in `cut` (holes
    of that lesson) cut out, as the exercise has them, and every other hole filled in."""
    chosen = frozenset(i for h in cut if h.file == path for i in h.indices)
    key = (path, number, chosen, keep_anchors)
    if key not in _rendered:
        guard, seen, lines = HOLE_GUARD.format(number), 0, []
        for line in path.read_text().split("\n"):
            if line.strip() == guard:
                if seen not in chosen:
                    line = HOLE_GUARD.format(999)   # never true: the #else code stays
                seen += 1
            lines.append(line)
        done = subprocess.run(["unifdef", "-x2", f"-DAIO_LESSON={number}", f"-DAIO_EXERCISE={number}"],
                              input="\n".join(lines), capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"unifdef failed on {path}: {done.stderr}")
        out = done.stdout
        if not keep_anchors:
            out = "".join(l for l in out.splitlines(keepends=True) if not ANCHOR.match(l))
        _rendered[key] = out
    return _rendered[key]


def generated_block(l: Lesson, kind: str, file: str, name: str | None,
                    cut: frozenset[Hole] = frozenset()) -> str:
    """The body of one generated block, with the holes in `cut` shown as the exercise has them."""
    if kind == "output":   # what the lesson's example.py prints (example.cpp is tested to match)
        with lesson_server(l) as args:
            done = subprocess.run([PYTHON, file, *args], cwd=l.path, capture_output=True, text=True,
                                  timeout=TIMEOUT_S)
        return f"```text\n{done.stdout}```\n"   # stdout: what is compared (see compare_example)
    source = RUNTIME / file
    where = f"lessons/{l.dir}/README.md ({kind}: {file})"
    if not source.exists():
        raise SystemExit(f"{where}: no file runtime/{file}")
    if kind == "code":
        text = render_cut(source, l.number, cut, keep_anchors=True)
        body = region(text, name, where) if name else render_cut(source, l.number, cut)
        return f"```cpp\n{body}```\n"
    before = render(source, l.number - 1).splitlines(True) if l.number > 1 else []
    after = render_cut(source, l.number, cut).splitlines(True)
    diff = "".join(difflib.unified_diff(before, after, f"{file} (lesson {l.number - 1:02d})",
                                        f"{file} (lesson {l.nn})", n=2))
    return f"```diff\n{diff}```\n"


@dataclass
class Shown:
    """A generated code or diff block of a lesson page, and the lesson's holes it holds."""
    kind: str
    file: str
    name: str | None
    heading: str          # the title of the page's section it stands in
    holes: list[Hole]


def holes_in(l: Lesson, kind: str, file: str, name: str | None) -> list[Hole]:
    """The lesson's holes that a code or diff block holds."""
    full = generated_block(l, kind, file, name)
    return [h for h in holes(l.number) if h.file == RUNTIME / file
            and generated_block(l, kind, file, name, frozenset([h])) != full]


def shown_blocks(l: Lesson, text: str) -> list[Shown]:
    found = []
    for m in BLOCK.finditer(text):
        kind, file, name = m.group(2), m.group(3), m.group(4)
        if kind not in ("code", "diff"):
            continue
        headings = HEADING.findall(text, 0, m.start())
        heading = headings[-1].strip() if headings else ""
        found.append(Shown(kind, file, name, heading, holes_in(l, kind, file, name)))
    return found


def anchor(heading: str) -> str:
    """The fragment GitHub gives a heading: lower case, punctuation dropped, spaces as '-'."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def names_of(hs: list[Hole]) -> str:
    names = [f"`{h.name}`" for h in hs]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def wrapped(text: str, prefix: str = "> ") -> str:
    """A blockquote of `text`, wrapped at 99 columns without ever breaking a `code span`."""
    kept = re.sub(r"`[^`]*`", lambda m: m.group(0).replace(" ", "\0"), text)
    lines = textwrap.wrap(kept, width=99 - len(prefix), break_long_words=False, break_on_hyphens=False)
    return "\n".join(prefix + line.replace("\0", " ") for line in lines) + "\n"


def hole_note(l: Lesson, hs: list[Hole], solution: str | None) -> str:
    """What a page says under a block that shows holes as stubs. `solution`: the link to the
    lesson's SOLUTION.md from where the page is (None: a handout, which has no solution)."""
    one = len(hs) == 1
    text = (f"✂ {'Hole' if one else 'Holes'} {names_of(hs)} {'is' if one else 'are'} cut from this "
            "code, as in your exercise.")
    if solution:
        if one:
            where = f"[SOLUTION.md]({solution}#hole-{hs[0].name})"
        else:
            where = "SOLUTION.md (" + ", ".join(f"[`{h.name}`]({solution}#hole-{h.name})" for h in hs) + ")"
        text += (f" Write {'it' if one else 'them'} yourself first; the reference code is in {where}, "
                 f"or `make solution LESSON={l.nn} HOLE={hs[0].name if one else 'name'}`.")
    return wrapped(text)


def in_page_order(l: Lesson, text: str) -> list[Hole]:
    """The lesson's holes in the order its page first shows them (those it does not show last)."""
    blocks = shown_blocks(l, text)
    return sorted(holes(l.number), key=lambda h: next(
        (i for i, b in enumerate(blocks) if h in b.holes), len(blocks)))


def holes_note(l: Lesson, text: str, solution: str | None) -> str:
    """The note a page puts at the top of its code (<!-- holes --> ... <!-- end -->)."""
    text = ("**No spoilers below.** The code on this page is the code of your exercise: where a block "
            f"holds one of this lesson's holes ({names_of(in_page_order(l, text))}), it shows the stub, with "
            "a ✂ note under it, and the text around it says what the hole must do and why.")
    if solution:
        text += (f" The finished code of every hole is in [SOLUTION.md]({solution}), for when you have "
                 "written your own.")
    return wrapped(text)


def updated_readme(l: Lesson, solution: str | None = "SOLUTION.md") -> tuple[str, str]:
    """The lesson text, and the same with its generated blocks regenerated: a block that holds
    one of the lesson's holes shows it as the exercise has it, with a note saying so and where
    the reference code is (`solution`: the path to SOLUTION.md from the page, or None)."""
    path = l.path / "README.md"
    old = path.read_text() if path.exists() else ""
    cut = frozenset(holes(l.number))

    def block(m: re.Match) -> str:
        kind, file, name = m.group(2), m.group(3), m.group(4)
        if kind == "holes":
            return m.group(1) + holes_note(l, old, solution) + m.group(6)
        if file is None:
            raise SystemExit(f"lessons/{l.dir}/README.md: <!-- {kind} --> needs a file: <!-- {kind}: FILE -->")
        body = generated_block(l, kind, file, name, cut)
        inside = holes_in(l, kind, file, name) if kind != "output" else []
        if inside:
            body += "\n" + hole_note(l, inside, solution)
        return m.group(1) + body + m.group(6)

    return old, BLOCK.sub(block, old)


def filled_in(l: Lesson, h: Hole) -> str:
    """The function that holds a hole, from the runtime as the lesson's exercise has it, with
    that one hole filled in: the stub's lines become the reference code. (A hole cut in several
    places: each function that holds one, in file order.)"""
    cut = frozenset(holes(l.number))
    full = render_cut(h.file, l.number, cut - {h}).split("\n")
    spans: list[tuple[int, int]] = []
    for part in parts(h):
        stub = render_cut(h.file, l.number, (cut - {h}) | {part}).split("\n")
        changed = [(b1, b2) for op, _, _, b1, b2 in
                   difflib.SequenceMatcher(None, stub, full, autojunk=False).get_opcodes()
                   if op != "equal"]
        start, end = enclosing(full, changed[0][0], changed[-1][1])
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(end, spans[-1][1]))   # two places in one function
        else:
            spans.append((start, end))
    return "\n".join("\n".join(full[start:end + 1]) + "\n" for start, end in spans)


def enclosing(full: list[str], first: int, last: int) -> tuple[int, int]:
    """The lines of the function (with its comment) around the lines first..last of `full`."""

    def indent(line: str) -> int:
        return len(line) - len(line.lstrip())

    inner = min(indent(x) for x in full[first:last] if x.strip())
    start = first - 1
    while start > 0 and (not full[start].strip() or indent(full[start]) >= inner):
        start -= 1   # up to the function's first line
    outer = indent(full[start])
    while start > 0 and indent(full[start - 1]) >= outer and \
            full[start - 1].lstrip().startswith(("//", "template", "requires", "[[")):
        start -= 1   # with its comment, template and requires lines
    end = last
    while end < len(full) - 1 and (not full[end].strip() or indent(full[end]) >= inner):
        end += 1     # down to its closing brace
    return start, end


def solution_sections(l: Lesson) -> dict[str, tuple[Hole, str, str]]:
    """For each hole of the lesson, in the order the page shows them: the hole, the title of the
    page's section that shows its stub, and its reference code (the function that holds it)."""
    text = (l.path / "README.md").read_text() if (l.path / "README.md").exists() else ""
    blocks = shown_blocks(l, text)
    sections = {}
    for h in in_page_order(l, text):
        showing = [b for b in blocks if h in b.holes]
        if showing:
            b = next((b for b in showing if b.kind == "code"), showing[0])   # a diff if nothing else
            sections[h.name] = (h, b.heading, filled_in(l, h))
    return sections


def solution_text(l: Lesson) -> str:
    sections = solution_sections(l)
    out = [f"# {l.nn} — the reference code of the holes of lesson {l.nn} ({l.dir[3:]})\n",
           wrapped(
               f"**Stop: this file is the solution.** It holds the reference code of every hole of "
               f"lesson {l.nn}'s exercise. The lesson text ([README.md](README.md)) and its "
               f"[hints](README.md#hints) take you there without it, and `make check LESSON={l.nn}` "
               f"tells you when you are done. Come here afterwards, to compare, or when you are stuck "
               f"for good; `make solution LESSON={l.nn} HOLE=name` shows one hole at a time."),
           "<!-- Generated by `make readmes` from runtime/ and the lesson's README.md: do not edit. -->\n",
           "Holes: " + " · ".join(f"[`{name}`](#hole-{name})" for name in sections) + "\n"]
    for name, (h, heading, code) in sections.items():
        out.append(f"## hole `{name}`\n\nIn `{h.file.relative_to(RUNTIME)}`; the page shows its stub "
                   f"in [{heading}](README.md#{anchor(heading)}).\n\n```cpp\n{code}```\n")
    return "\n".join(out)


def normalized(line: str) -> str:
    """A line of code as the spoiler check compares it: no comment, spaces collapsed, no trailing
    ';' or '{'."""
    code = line.strip()
    if code.startswith("//") or code.startswith("#"):
        return ""
    code = " ".join(re.sub(r"\s+//.*$", "", code).split())
    return code.rstrip(";{ ").strip()


def hole_secrets(number: int) -> dict[Hole, list[str]]:
    """For each hole of a lesson, the lines of its reference code that give it away: those of
    ten characters or more (normalized) that appear nowhere in the lesson's exercise."""
    public = {normalized(line) for path, introduced in runtime_files() if introduced <= number
              for line in render(path, number, number).split("\n")}
    secrets = {}
    for h in holes(number):
        full = render(h.file, number).split("\n")
        stub = render_cut(h.file, number, frozenset([h])).split("\n")
        filled = [line for op, _, _, b1, b2 in
                  difflib.SequenceMatcher(None, stub, full, autojunk=False).get_opcodes()
                  if op in ("replace", "insert") for line in full[b1:b2]]
        secrets[h] = [c for c in dict.fromkeys(map(normalized, filled)) if len(c) >= 10 and c not in public]
    return secrets


def page_code(text: str) -> tuple[set[str], list[str]]:
    """The lines of a page's code blocks (a diff's without its +/-), and its inline code spans."""
    lines, prose, fence = set(), [], None
    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            fence = line.lstrip()[3:].strip() if fence is None else None
        elif fence is None:
            prose.append(line)
        else:
            lines.add(normalized(line[1:] if fence == "diff" and line[:1] in "+- " else line))
    spans = [normalized(a or b) for a, b in re.findall(r"``(.+?)``|`([^`]+)`", "\n".join(prose), re.S)]
    return lines, [s for s in spans if s]


def spoilers(pages: dict[Lesson, str]) -> list[str]:
    """Pages that show the code of a hole of their lesson or of a later one: a line of its
    reference code as a line of a code block, or inside an inline code span."""
    problems = []
    read = {l: page_code(text) for l, text in pages.items()}
    for l in lessons():
        for hole, secret in hole_secrets(l.number).items():
            for page, (lines, spans) in read.items():
                if page.number > l.number:
                    continue
                shown = [s for s in secret if s in lines or any(s in span for span in spans)]
                if shown:
                    problems.append(f"lessons/{page.dir}/README.md shows the code of hole {hole.name} "
                                    f"(lesson {l.nn}): " + "; ".join(f"`{s}`" for s in shown[:3]) +
                                    (f" and {len(shown) - 3} more line(s)" if len(shown) > 3 else ""))
    return problems


def readme_problems() -> list[str]:
    problems, pages = [], {}
    for l in lessons():
        old, new = updated_readme(l)
        if not old:
            problems.append(f"lessons/{l.dir}/README.md is missing")
            continue
        if old != new:
            problems.append(f"lessons/{l.dir}/README.md is stale: run `make readmes`")
        pages[l] = old
        if holes(l.number) and "<!-- holes -->" not in old:
            problems.append(f"lessons/{l.dir}/README.md has no <!-- holes --> <!-- end --> note at "
                            "the top of its code, to say that its blocks show the holes as stubs")
        shown = {h for b in shown_blocks(l, old) for h in b.holes}
        for h in holes(l.number):
            if h not in shown:
                problems.append(f"lessons/{l.dir}/README.md shows hole {h.name} in no code block: "
                                "its stub belongs on the page, and its code in SOLUTION.md")
        solution = l.path / "SOLUTION.md"
        if not solution.exists() or solution.read_text() != solution_text(l):
            problems.append(f"lessons/{l.dir}/SOLUTION.md is stale or missing: run `make readmes`")
    return problems + spoilers(pages)


def cmd_readmes(args) -> int:
    if args.check:
        problems = readme_problems()
        print("\n".join(problems) or "every README and SOLUTION.md is up to date, and no page "
                                      "shows a hole's code")
        return 1 if problems else 0
    for l in lessons():
        old, new = updated_readme(l)
        if old != new:
            (l.path / "README.md").write_text(new)
            print(f"updated lessons/{l.dir}/README.md")
        solution = l.path / "SOLUTION.md"
        text = solution_text(l)
        if not solution.exists() or solution.read_text() != text:
            solution.write_text(text)
            print(f"updated lessons/{l.dir}/SOLUTION.md")
    return 0


def cmd_solution(args) -> int:
    """One hole's reference code, after a warning and a question (y/N)."""
    l = lesson(args.lesson)
    sections = solution_sections(l)
    if args.hole not in sections:
        print(("" if not args.hole else f"lesson {l.nn} has no hole {args.hole}. ") +
              f"Which hole? make solution LESSON={l.nn} HOLE=name, one of: {', '.join(sections)}")
        return 2
    print(f"This shows the reference code of hole {args.hole} of lesson {l.nn}: the answer to that "
          f"part of the exercise.\nNot there yet? The hints in lessons/{l.dir}/README.md (section "
          f"Hints) go one step at a time,\nand `make check LESSON={l.nn}` names the failing test.")
    if not args.yes:
        try:
            answer = input(f"Show the reference code of {args.hole}? [y/N] ")
        except EOFError:   # nobody to answer (stdin is not a terminal): no
            print()
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print("Not shown.")
            return 0
    h, heading, code = sections[args.hole]
    print(f"\n{h.file.relative_to(RUNTIME)}, hole {h.name} filled in (its stub is in "
          f"lessons/{l.dir}/README.md, section \"{heading}\"):\n\n{code}", end="")
    return 0


# ---- the learner's side: exercise, check, progress ---------------------------------------------

def workspace_of(l: Lesson) -> Path:
    return WORKSPACE / l.dir


def copy_lesson_files(l: Lesson, dst: Path, handout: bool = False) -> None:
    """The lesson's text (showing the code with its holes, as the exercise has it) and example.
    A workspace's text points at the lesson's SOLUTION.md; a handout has no solution in it."""
    dst.mkdir(parents=True, exist_ok=True)
    solution = None if handout else os.path.relpath(l.path / "SOLUTION.md", dst)
    (dst / "README.md").write_text(updated_readme(l, solution)[1])
    for name in ("example.cpp", "example.py"):
        if (l.path / name).exists():
            shutil.copy(l.path / name, dst / name)
    for picture in l.path.glob("*.png"):   # the pictures the text shows (lesson 13's timeline)
        shutil.copy(picture, dst / picture.name)


def make_workspace(dst: Path, l: Lesson) -> None:
    generate_tree(dst, l.number, exercise=l.number)
    copy_lesson_files(l, dst)


def learner_loop_check(l: Lesson, b: Build, build_it: bool) -> tuple[bool, str]:
    """What a learner lives through: `make exercise` gives a workspace holding the exercise's
    code, whose check fails and names a hole with its hint; once the holes hold the reference
    code, the check passes. The exercise and the snapshot are already built, so the grader runs
    on those binaries; with `build_it`, the workspace is built the way `make check` builds it."""
    trial = ROOT / "build" / "trial" / l.dir
    if trial.exists():
        shutil.rmtree(trial)
    make_workspace(trial, l)
    for path in (SRC / f"ex-{l.nn}").rglob("*"):
        if path.is_file() and (trial / path.relative_to(SRC / f"ex-{l.nn}")).read_text() != path.read_text():
            return False, f"the workspace's {path.relative_to(SRC / f'ex-{l.nn}')} differs from the exercise's"
    unsolved = grade(l, "trial") if build_it else \
        grade_binary(l, b.out / f"ex-{l.nn}" / "test", trial)
    if isinstance(unsolved, list):
        return False, "the exercise does not compile as a workspace:\n" + "\n".join(unsolved)
    lines, shown = grader.report(unsolved, grader.Style(False))
    screen = "\n".join(lines + grader.summary(unsolved, shown, grader.Style(False), False))
    if unsolved.done() or any(s.status != "to do" for s in unsolved.holes) or "Next: " not in screen:
        return False, "the unsolved exercise did not show every hole to do, and the next one:\n" + screen
    solved = grade_binary(l, b.out / f"snap-{l.nn}" / "test", SRC / f"snap-{l.nn}")
    if not solved.done() or any(s.status != "done" for s in solved.holes):
        return False, "the exercise filled with the reference code still fails:\n" + \
            "\n".join(grader.report(solved, grader.Style(False))[0])
    return True, ""


def cmd_exercise(args) -> int:
    l = lesson(args.lesson)
    dst = workspace_of(l)
    if dst.exists():
        if not args.force:
            print(f"{dst.relative_to(ROOT)} already exists, with your edits in it: nothing changed.\n"
                  f"To start lesson {l.nn} over: make exercise LESSON={l.nn} FORCE=1 "
                  "(your current copy is kept beside it as a .bak folder)")
            return 1
        backup = dst.with_name(f"{dst.name}.bak-{time.strftime('%Y%m%d-%H%M%S')}")
        dst.rename(backup)
        print(f"kept your previous attempt in {backup.relative_to(ROOT)}")
    make_workspace(dst, l)
    print(f"Your workspace for lesson {l.dir} is {dst.relative_to(ROOT)}/\n")
    print("Fill these holes, in this order (each stub fails its tests until you do):")
    where = stubs(l)
    for name in hole_table(l).order:
        more = "".join(f", {place.line}" for place in where[name].more)   # a hole cut in several places
        print(f"  - {name:24} {where[name].path}:{where[name].line}{more}")
    print(f"\nThen: make check LESSON={l.nn}, or make watch LESSON={l.nn} to check at every save "
          f"(the lesson text is {dst.relative_to(ROOT)}/README.md)")
    return 0


# ---- the hole table: what the tests of each hole need ------------------------------------------
#
# A lesson's test file opens with its holes, in the order to fill them, and what the tests named
# after each hole (or after a topic that is not a hole) need besides it:
#
#     // Holes: start_task, finish_task, on_task_done, cancel_task, child_done.
#     //   start_task needs finish_task, on_task_done.
#     //   aclose needs yield_value, next.
#     //   frame_cache, read_until need no hole.
#
# `make check` reads it to show a test as blocked while what it needs does not work; `make test`
# checks that it names exactly the lesson's holes and every test's prefix, and that whatever
# fails when one hole alone is cut is named after that hole or declares that it needs it.

TABLE_HOLES = re.compile(r"^// Holes: (\w+(?:, \w+)*)\.$", re.M)
TABLE_NEEDS = re.compile(r"^//\s+(\w+) needs (\w+(?:, \w+)*)\.$", re.M)
TABLE_NO_NEEDS = re.compile(r"^//\s+(\w+(?:, \w+)*) needs? no hole\.$", re.M)
TEST_NAME = re.compile(r'^TEST_CASE\("([^"]*)"', re.M)


@dataclass
class HoleTable:
    file: Path                      # the test file that holds it
    order: list[str]                # the holes, in the order to fill them
    needs: dict[str, list[str]]     # hole or topic -> what its tests need besides it
    topics: set[str]                # every test-name prefix of the lesson's suite


def hole_table(l: Lesson) -> HoleTable:
    found, topics = [], set()
    for path in sorted((ROOT / "tests" / l.dir).glob("*.cpp")):
        text = path.read_text()
        topics |= {name.split(":", 1)[0] for name in TEST_NAME.findall(text) if ":" in name}
        header = text.split("\n#", 1)[0]   # the comment before the first #include
        if m := TABLE_HOLES.search(header):
            needs = {n: [x.strip() for x in deps.split(",")] for n, deps in TABLE_NEEDS.findall(header)}
            for names in TABLE_NO_NEEDS.findall(header):
                needs |= {n.strip(): [] for n in names.split(",")}
            found.append(HoleTable(path, [x.strip() for x in m.group(1).split(",")], needs, set()))
    if len(found) != 1:
        sys.exit(f"tests/{l.dir}/: exactly one test file must open with '// Holes: a, b.' "
                 f"(found {len(found)})")
    found[0].topics = topics
    return found[0]


def hole_table_problems(l: Lesson) -> list[str]:
    """What is wrong with a lesson's hole table, statically (make test)."""
    t, names = hole_table(l), [h.name for h in holes(l.number)]
    where = t.file.relative_to(ROOT)
    problems = []
    if sorted(t.order) != sorted(names):
        problems.append(f"{where}: '// Holes:' lists {', '.join(t.order)}; the lesson's holes are "
                        f"{', '.join(names)}")
    for name, deps in t.needs.items():
        if name not in t.topics and name not in names:
            problems.append(f"{where}: '{name} needs ...': no hole and no test is named '{name}'")
        problems += [f"{where}: '{name} needs {d}': {d} is not a hole of lesson {l.nn}"
                     for d in deps if d not in names]
    for topic in sorted(t.topics - set(names) - set(t.needs)):
        problems.append(f"{where}: tests named '{topic}: ...' name no hole: declare what they "
                        f"need ('//   {topic} needs a, b.')")
    return problems


def hole_table_covers(l: Lesson, hole: Hole, run: "grader.Run") -> list[str]:
    """With only `hole` cut, every failing test must be named after it, name it in its message,
    or need it (make test): otherwise `make check` would file that failure under a hole that
    may well be right."""
    info = lesson_info(l, None)
    names = {h.name for h in holes(l.number)}
    problems = []
    for r in run.results:
        if r.status == grader.PASSED or r.topic == hole.name:
            continue
        if grader.named_hole(r, names, l.nn) == hole.name or hole.name in info.needs_of(r.topic):
            continue
        problems.append(f"'{r.name}' fails with only {hole.name} cut, but '{r.topic}' does not "
                        f"declare 'needs {hole.name}' in {hole_table(l).file.relative_to(ROOT)}")
    return problems


# ---- where a hole's stub is, and whether it is still there -------------------------------------

@dataclass
class Stub:
    path: Path                      # relative to the tree: aio/task.cpp
    line: int                       # of the stub's first line in the exercise (1-based)
    lines: list[str]                # the stub with a line of context on each side
    more: list["Stub"] = field(default_factory=list)   # a hole cut in several places: the others


def stubs(l: Lesson) -> dict[str, Stub]:
    """Each hole's stub as the exercise has it: what `make exercise` put in the workspace."""
    cut = frozenset(holes(l.number))
    found = {}
    for h in cut:
        stub = render_cut(h.file, l.number, cut).split("\n")
        places = []
        for part in parts(h):
            full = render_cut(h.file, l.number, (cut - {h}) | (set(parts(h)) - {part})).split("\n")
            changed = [(a1, a2) for op, a1, a2, _, _ in
                       difflib.SequenceMatcher(None, stub, full, autojunk=False).get_opcodes()
                       if op != "equal"]
            first, last = changed[0][0], changed[-1][1]
            places.append(Stub(h.file.relative_to(RUNTIME), first + 1, stub[max(first - 1, 0):last + 1]))
        found[h.name] = replace(places[0], more=places[1:])
    return found


def stub_state(tree: Path, stub: Stub) -> tuple[bool, int]:
    """Is the stub untouched in this tree, and on which line is (or was) it? A hole cut in
    several places is still there while one of its stubs is, on that stub's line."""
    states = [place_state(tree, place) for place in [stub, *stub.more]]
    return next((s for s in states if s[0]), states[0])


def place_state(tree: Path, stub: Stub) -> tuple[bool, int]:
    """stub_state of one place of a stub."""
    try:
        lines = (tree / stub.path).read_text().split("\n")
    except FileNotFoundError:
        return False, stub.line
    n = len(stub.lines)
    for i in range(len(lines) - n + 1):
        if lines[i:i + n] == stub.lines:
            return True, i + 2
    before = stub.lines[0]
    near = [i for i, line in enumerate(lines) if line == before and before.strip()]
    closest = min(near, key=lambda i: abs(i + 2 - stub.line), default=None)
    return False, stub.line if closest is None else closest + 2


def lesson_info(l: Lesson, tree: Path | None) -> "grader.LessonInfo":
    """What the grader needs to know of a lesson, and of the tree it grades (None: no stub
    anywhere, as in the snapshot)."""
    table = hole_table(l)
    by_name = {h.name: h for h in holes(l.number)}
    where = stubs(l)
    shown = workspace_of(l) if tree is None else tree
    infos = []
    for name in table.order:
        in_place, line = stub_state(tree, where[name]) if tree else (False, where[name].line)
        at = f"{os.path.relpath(shown / where[name].path, ROOT)}:{line}"
        # A hole cut in several places: its other places (those still a stub, while one is).
        places = [place_state(tree, p) if tree else (False, p.line) for p in [where[name], *where[name].more]]
        if others := [str(n) for stub, n in places if n != line and (stub or not in_place)]:
            at += f" (and line{'s' if len(others) > 1 else ''} {', '.join(others)})"
        infos.append(grader.Hole(name, at, by_name[name].hint, table.needs.get(name, []), in_place))
    topics = {t: d for t, d in table.needs.items() if t not in by_name}
    return grader.LessonInfo(l.nn, l.dir, infos, topics)


# ---- checking a workspace: check, watch, progress ---------------------------------------------

def build_tree(l: Lesson, kind: str) -> tuple[bool, list[str]]:
    """Builds the test binary of a tree (ws: the learner's workspace); on failure, the first
    compiler errors."""
    b = Build()
    built = subprocess.run(["make", "--no-print-directory", "-f", "tools/build.mk",
                            f"-j{os.cpu_count() or 2}", f"MODE={b.mode}", f"CXX={b.cxx}",
                            b.target(f"{kind}-{l.nn}", "test")], cwd=ROOT, capture_output=True,
                           text=True)
    if built.returncode == 0:
        return True, []
    errors = [x for x in built.stderr.split("\n") if "error" in x][:15]
    if os.environ.get("VERBOSE"):
        return False, built.stderr.split("\n")
    return False, ["Your code does not compile yet. The first errors:", *errors,
                   f"(all of them: make check LESSON={l.nn} VERBOSE=1)" if errors else built.stderr]


def grade(l: Lesson, kind: str = "ws", tree: Path | None = None) -> "grader.Grade | list[str]":
    """Builds and runs suites 01..NN against the learner's workspace (kind "ws"), or against
    make test's own trial workspace (kind "trial", in build/trial): the grade, or the compiler's
    errors."""
    ok, errors = build_tree(l, kind)
    if not ok:
        return errors
    tree = tree or (workspace_of(l) if kind == "ws" else ROOT / "build" / "trial" / l.dir)
    return grade_binary(l, Build().out / f"{kind}-{l.nn}" / "test", tree)


def grade_binary(l: Lesson, binary: Path, tree: Path | None) -> "grader.Grade":
    return grader.grade(lesson_info(l, tree), grader.run_tests(binary, cwd=ROOT))


PROGRESS = WORKSPACE / ".progress.json"


def saved_progress() -> dict:
    try:
        return json.loads(PROGRESS.read_text())
    except (FileNotFoundError, ValueError):
        return {}


def save_progress(l: Lesson, result: "grader.Grade | list[str]") -> None:
    """What the last check of a lesson found, for `make progress` (workspace/.progress.json)."""
    state = saved_progress()
    entry = {"checked": time.time()}
    if isinstance(result, list):
        entry.update(compiles=False)
    else:
        entry.update(compiles=True, passed=result.passed, total=result.total,
                     holes={s.hole.name: s.status for s in result.holes})
    state[l.nn] = entry
    PROGRESS.parent.mkdir(exist_ok=True)
    PROGRESS.write_text(json.dumps(state, indent=1, sort_keys=True) + "\n")


def check_screen(l: Lesson, style: "grader.Style", show_all: bool,
                 trace: str | None = None) -> tuple[bool, list[str]]:
    """One check of the workspace: whether it passes, and the screen that says so. The loop's
    steps are shown for one test: the first ordering failure or hang, or the one named by
    `trace` (part of its name)."""
    result = grade(l)
    save_progress(l, result)
    if isinstance(result, list):
        return False, result
    traces = {}
    if chosen := grader.traced_test(result, trace):
        binary = Build().out / f"ws-{l.nn}" / "test"
        records = grader.trace_records(binary, chosen, result.run.results, ROOT)
        steps = grader.trace_text(records, binary, ROOT, max_lines=60 if trace else 24)
        traces[chosen.name] = [f"The loop, step by step, in this test (TRACE=... for another):",
                               *steps] if steps else ["(no loop step ran in this test)"]
    lines, shown = grader.report(result, style, show_all, traces)
    if trace and not chosen:
        lines += [f"(no test's name contains \"{trace}\": nothing to trace)", ""]
    lines += grader.summary(result, shown, style, show_all)
    if result.done():
        nxt = [x for x in lessons() if x.number == l.number + 1]
        lines[-1] += f" Next: make exercise LESSON={nxt[0].nn}" if nxt else " That was the last lesson!"
    return result.done(), lines


def cmd_check(args) -> int:
    l = lesson(args.lesson)
    if not workspace_of(l).exists():
        print(f"No workspace for lesson {l.nn} yet: make exercise LESSON={l.nn}")
        return 1
    print(f"Checking {workspace_of(l).relative_to(ROOT)} with the suites of lessons 01..{l.nn} ...",
          flush=True)
    ok, lines = check_screen(l, grader.Style(sys.stdout.isatty()), args.all, args.trace)
    print("\n".join(lines))
    return 0 if ok else 1


def changes(folder: Path, timeout_s: float | None = None) -> bool:
    """Waits until a file under `folder` is saved (inotifywait if installed, else a poll of the
    files' times twice a second); False when the timeout passed first."""
    if shutil.which("inotifywait"):
        cmd = ["inotifywait", "-qq", "-r", "-e", "close_write,moved_to,create,delete",
               "--exclude", r"(\.swp|~|\.#.*)$", str(folder)]
        if timeout_s:
            cmd[1:1] = ["-t", str(int(timeout_s))]
        code = subprocess.run(cmd).returncode
        if code == 2:
            return False
        time.sleep(0.1)   # an editor's save is several writes: let them land
        return True

    def stamp() -> list[tuple[str, float]]:
        return sorted((str(p), p.stat().st_mtime) for p in folder.rglob("*") if p.is_file())

    before, waited = stamp(), 0.0
    while timeout_s is None or waited < timeout_s:
        time.sleep(0.5)
        waited += 0.5
        if stamp() != before:
            return True
    return False


def cmd_watch(args) -> int:
    l = lesson(args.lesson)
    ws = workspace_of(l)
    if not ws.exists():
        print(f"No workspace for lesson {l.nn} yet: make exercise LESSON={l.nn}")
        return 1
    tty = sys.stdout.isatty()
    style = grader.Style(tty)
    how = "inotifywait" if shutil.which("inotifywait") else "a poll twice a second"
    try:
        while True:
            if tty:
                print("\033[2J\033[H", end="")   # a fresh screen for each check
            print(style.dim(f"{time.strftime('%H:%M:%S')}  checking {ws.relative_to(ROOT)} ..."),
                  flush=True)
            ok, lines = check_screen(l, style, args.all, args.trace)
            print("\n".join(lines))
            print(style.dim(f"\nWatching {ws.relative_to(ROOT)} ({how}): save a file to check "
                            "again. Ctrl-C stops."), flush=True)
            changes(ws)
    except KeyboardInterrupt:
        print()
        return 0


def cmd_progress(args) -> int:
    """Per lesson: holes done and tests passing, as the last check found them (FRESH=1: check
    every workspace again now)."""
    state = saved_progress()
    print(f"{'lesson':22} {'holes done':18} {'tests':10} last check")
    for l in lessons():
        ws = workspace_of(l)
        if not ws.exists():
            print(f"{l.dir:22} {'-':18} {'-':10} not started (make exercise LESSON={l.nn})")
            continue
        if args.fresh:
            save_progress(l, grade(l))
            state = saved_progress()
        entry = state.get(l.nn)
        if entry is None:
            print(f"{l.dir:22} {'?':18} {'?':10} never checked (make check LESSON={l.nn})")
            continue
        edited = max((p.stat().st_mtime for p in ws.rglob("*") if p.is_file()), default=0)
        when = ago(time.time() - entry["checked"])
        if edited > entry["checked"]:
            when += ", edited since"
        if not entry.get("compiles"):
            print(f"{l.dir:22} {'?':18} {'?':10} {when}: did not compile")
            continue
        states = list(entry["holes"].values())
        done = sum(s == "done" for s in states)
        written = sum(s in ("failing", "blocked") for s in states)
        mark = "✓ " if entry["passed"] == entry["total"] else ""
        holes_done = f"{done}/{len(states)}" + (f" (+{written} written)" if written else "")
        tests = f"{entry['passed']}/{entry['total']}"
        print(f"{l.dir:22} {holes_done:18} {tests:10} {mark}{when}")
    return 0


def ago(seconds: float) -> str:
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if unit == 'day' and n > 1 else ''} ago"
    return "just now"


def cmd_self_test(args) -> int:
    """The grader's own tests, in tests/course/: how it reads doctest's reports and files the
    failures, and scripted wrong answers to lesson 04, each of which `make check` must show by
    test name and detail (a grader that hides a failure is worse than none). Beside them,
    test_trace_view.py: make trace's page opened in headless chromium (make deps-browser)."""
    done = subprocess.run([sys.executable, "-m", "unittest", "discover", "-s", "tests/course",
                           "-t", "tests/course", *(["-v"] if args.verbose else [])], cwd=ROOT)
    return done.returncode


# ---- teachers, installers, editors --------------------------------------------------------------

def cmd_handout(args) -> int:
    l = lesson(args.lesson)
    dst = ROOT / "build" / "handout" / l.dir
    if dst.exists():
        shutil.rmtree(dst)
    generate_tree(dst / "runtime", l.number, exercise=l.number)
    (dst / "tests").mkdir(parents=True)
    for x in lessons():
        if x.number <= l.number:
            shutil.copytree(ROOT / "tests" / x.dir, dst / "tests" / x.dir)
    for extra in ["doctest_main.cpp", "support"]:
        src = ROOT / "tests" / extra
        if src.is_dir():
            shutil.copytree(src, dst / "tests" / extra)
        elif src.exists():
            shutil.copy(src, dst / "tests" / extra)
    copy_lesson_files(l, dst, handout=True)
    shutil.copy(ROOT / "tools" / "handout.mk", dst / "Makefile")
    archive = shutil.make_archive(str(dst), "gztar", dst.parent, l.dir)
    print(f"handout for lesson {l.dir}: {dst.relative_to(ROOT)}/ and {Path(archive).relative_to(ROOT)}\n"
          "It builds on its own (g++ and doctest-dev): make test, make run.")
    return 0


def install(prefix: Path, b: Build) -> bool:
    generate_tree(SRC / "reference", lessons()[-1].number)
    if not b.make([b.target("reference", "lib.a")], quiet=True):
        return False
    include = prefix / "include"
    if (include / "aio").exists():
        shutil.rmtree(include / "aio")
    for header in (SRC / "reference").rglob("*.hpp"):
        dst = include / header.relative_to(SRC / "reference")
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(header, dst)
    (prefix / "lib" / "pkgconfig").mkdir(parents=True, exist_ok=True)
    shutil.copy(b.out / "reference" / "lib.a", prefix / "lib" / "libaio.a")
    (prefix / "lib" / "pkgconfig" / "aio.pc").write_text(
        f"prefix={prefix.resolve()}\nincludedir=${{prefix}}/include\nlibdir=${{prefix}}/lib\n\n"
        "Name: aio\nDescription: asyncio rebuilt in C++20, the aio course's reference runtime\n"
        f"Version: 0.{lessons()[-1].number}.0\nCflags: -std=c++20 -I${{includedir}}\n"
        "Libs: -L${libdir} -laio\n")
    return True


def install_check(b: Build) -> bool:
    """Installs into build/install-check and builds the last example as an outside program would."""
    prefix = ROOT / "build" / "install-check"
    if not install(prefix, Build()):
        return False
    last = lessons()[-1]
    env = dict(os.environ, PKG_CONFIG_PATH=str(prefix / "lib" / "pkgconfig"))
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "aio"], env=env, capture_output=True,
                           text=True)
    exe = prefix / "example"
    built = subprocess.run(["g++", str(last.path / "example.cpp"), *flags.stdout.split(), "-o", str(exe)],
                           capture_output=True, text=True)
    if flags.returncode != 0 or built.returncode != 0:
        print(flags.stderr, built.stderr)
        return False
    with lesson_server(last, b) as args:
        return subprocess.run([str(exe), *args], cwd=last.path, capture_output=True,
                              timeout=TIMEOUT_S).returncode == 0


def cmd_install(args) -> int:
    prefix = Path(args.prefix).resolve()
    if not install(prefix, Build()):
        return 1
    print(f"installed aio into {prefix}: include/aio/, lib/libaio.a, lib/pkgconfig/aio.pc\n"
          f"  g++ prog.cpp $(PKG_CONFIG_PATH={prefix}/lib/pkgconfig pkg-config --cflags --libs aio)")
    return 0


BENCHMARKS = ["spawn", "yield", "timers", "http", "queue", "lock", "timeout", "to_thread"]
PEERS = ROOT.parent / "shared" / "peers"


def cmd_fuzz(args) -> int:
    """libFuzzer over lesson 09's parsers (tests/fuzz/http_parser_fuzz.cpp), with ASan and UBSan,
    for `seconds`; the corpus grows in build/fuzz/corpus, seeded from tests/fuzz/corpus. A crash
    leaves its input in build/fuzz/ and fails."""
    generate_tree(SRC / "reference", lessons()[-1].number)
    out = ROOT / "build" / "fuzz"
    corpus = out / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for seed in (ROOT / "tests" / "fuzz" / "corpus").iterdir():
        shutil.copy(seed, corpus / seed.name)
    binary = out / "http_parser"
    built = subprocess.run(["clang++", "-std=c++20", "-g", "-O1", "-fsanitize=fuzzer,address,undefined",
                            "-fno-sanitize=function", "-fno-sanitize-recover=undefined",
                            f"-I{SRC / 'reference'}", str(ROOT / "tests" / "fuzz" / "http_parser_fuzz.cpp"),
                            str(SRC / "reference" / "aio" / "http" / "message.cpp"), "-o", str(binary)])
    if built.returncode != 0:
        return 1
    print(f"fuzzing the HTTP parsers for {args.seconds} s (corpus: {corpus.relative_to(ROOT)})", flush=True)
    return subprocess.run([str(binary), f"-max_total_time={args.seconds}", "-max_len=4096",
                           f"-artifact_prefix={out}/", str(corpus)]).returncode


def cmd_bench(args) -> int:
    """Builds bench/*.cpp against the whole runtime (-O2, as the peers) into build/bench/, and runs
    them beside the peers' programs (../shared/peers/run.sh) when those can run here."""
    b = Build("release", "g++")
    # The whole runtime, even the part of a lesson whose pages are not written yet (runtime/ may
    # run ahead of lessons/: queue and lock need lesson 10's headers before lessons/10-* exists).
    newest = max(introduced for _, introduced in runtime_files())
    generate_tree(SRC / "reference", max(lessons()[-1].number, newest))
    if not b.make([b.target("reference", "lib.a")], quiet=True):
        return 1
    out = ROOT / "build" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    builds = [subprocess.Popen(["g++", "-std=c++20", "-O2", "-DNDEBUG", f"-I{SRC / 'reference'}",
                                str(ROOT / "bench" / f"{w}.cpp"), str(b.out / "reference" / "lib.a"),
                                "-o", str(out / w)]) for w in BENCHMARKS]
    if any(p.wait() != 0 for p in builds):
        return 1
    peers_ready = (PEERS / "run.sh").exists() and subprocess.run(
        ["sh", "-c", "test -f /usr/include/boost/asio.hpp && /usr/bin/python3 -c 'import uvloop' "
                     "&& command -v wrk && test -x /usr/sbin/nginx"],
        capture_output=True).returncode == 0
    if not peers_ready:
        print("(the peers cannot run here: ../shared/peers/run.sh, Boost.Asio or uvloop is missing;"
              " our figures alone)")
        status = 0
        for w in [w for w in BENCHMARKS if w != "http"]:   # http needs wrk to load it: the harness's job
            done = subprocess.run(["taskset", "-c", "0", str(out / w)], capture_output=True, text=True)
            print(done.stdout.strip() or done.stderr.strip())
            status |= done.returncode
        return status | tracing_cost(b, out, int(args.runs))
    print(f"ours, Boost.Asio, asyncio and uvloop side by side, median of {args.runs} runs, pinned to cpu 0:",
          flush=True)
    status = subprocess.run([str(PEERS / "run.sh"), "--ours", str(out), "--only", ",".join(BENCHMARKS),
                             "--runs", str(args.runs)]).returncode
    return status | tracing_cost(b, out, int(args.runs))


# ---- what lesson 13's hooks cost -----------------------------------------------------------------

TRACING_WORKLOADS = ["spawn", "yield", "http"]
TRACING_BEFORE = 12   # the last lesson whose runtime has no observer hooks


def tracing_cost(b: Build, out: Path, runs: int) -> int:
    """spawn, yield and http three ways, in turns, in one run: lesson 12's runtime (no hooks at
    all), ours with tracing off (a null pointer tested at each hook), and ours with AIO_TRACE on
    (every event formatted and written to a file). The first two must not differ beyond noise."""
    if TRACING_BEFORE >= lessons()[-1].number:
        return 0
    before = ROOT / "build" / "bench-lesson12"
    before.mkdir(parents=True, exist_ok=True)
    generate_tree(SRC / f"snap-{TRACING_BEFORE:02d}", TRACING_BEFORE)
    if not b.make([b.target(f"snap-{TRACING_BEFORE:02d}", "lib.a")], quiet=True):
        return 1
    builds = [subprocess.Popen(["g++", "-std=c++20", "-O2", "-DNDEBUG", f"-I{SRC / f'snap-{TRACING_BEFORE:02d}'}",
                                str(ROOT / "bench" / f"{w}.cpp"),
                                str(b.out / f"snap-{TRACING_BEFORE:02d}" / "lib.a"), "-o", str(before / w)])
              for w in TRACING_WORKLOADS]
    if any(p.wait() != 0 for p in builds):
        return 1
    trace_file = ROOT / "build" / "bench-trace.json"
    ways = [("lesson 12 (no hooks)", before, {}), ("tracing off", out, {}),
            ("AIO_TRACE on", out, {"AIO_TRACE": str(trace_file)})]
    figures: dict[tuple[str, str], list[float]] = {}
    for _ in range(runs):
        for name, folder, env in ways:
            for w in TRACING_WORKLOADS:
                value = (http_cpu_per_request(folder / w, env) if w == "http"
                         else bench_figure(folder / w, env))
                if value is not None:
                    figures.setdefault((name, w), []).append(value)
    trace_file.unlink(missing_ok=True)
    units = {"spawn": "ns per task", "yield": "ns per yield", "http": "server CPU µs per request"}
    print(f"\nWhat lesson 13's hooks cost: median of {runs} runs, taken in turns, pinned to cpu 0")
    print("| workload | " + " | ".join(name for name, _, _ in ways) + " |")
    print("|---|" + "---|" * len(ways))
    for w in TRACING_WORKLOADS:
        cells = []
        for name, _, _ in ways:
            values = sorted(figures.get((name, w), []))
            cells.append(f"{values[len(values) // 2]:.2f}" if values else "-")
        print(f"| {w} ({units[w]}) | " + " | ".join(cells) + " |")
    return 0


def bench_figure(binary: Path, env: dict[str, str]) -> float | None:
    """The figure of a RESULT line (spawn's ns_per_task, yield's ns_per_yield)."""
    done = subprocess.run(["taskset", "-c", "0", str(binary)], capture_output=True, text=True,
                          env={**os.environ, **env})
    m = re.search(r"ns_per_\w+=([0-9.]+)", done.stdout)
    return float(m.group(1)) if m else None


def http_cpu_per_request(binary: Path, env: dict[str, str], seconds: int = 3) -> float | None:
    """The http server's CPU time per request under wrk (as ../shared/peers/run.sh loads it)."""
    if shutil.which("wrk") is None:
        return None
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(["taskset", "-c", "0", str(binary), str(port)], env={**os.environ, **env},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        ticks = lambda: sum(int(x) for x in Path(f"/proc/{server.pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13])
        before = ticks()
        load = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", "-c64", f"-d{seconds}s",
                               f"http://127.0.0.1:{port}/"], capture_output=True, text=True)
        used = ticks() - before
    finally:
        server.kill()
        server.wait()
    m = re.search(r"(\d+) requests in", load.stdout)
    return used / os.sysconf("SC_CLK_TCK") * 1e6 / int(m.group(1)) if m and int(m.group(1)) else None


def cmd_compile_commands(args) -> int:
    files = sorted([*RUNTIME.rglob("*.cpp"), *(ROOT / "tests").rglob("*.cpp"),
                    *(ROOT / "lessons").glob("*/example.cpp")])
    last = lessons()[-1].number
    entries = [{"directory": str(ROOT), "file": str(f),
                "arguments": ["g++", "-std=c++20", f"-DAIO_LESSON={last}", "-DAIO_EXERCISE=0",
                              "-Iruntime", "-Itests", "-c", str(f)]} for f in files]
    (ROOT / "compile_commands.json").write_text(json.dumps(entries, indent=1) + "\n")
    print(f"compile_commands.json: {len(entries)} files (the runtime seen as after lesson {last:02d})")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("trees", help="generate build/src/: snapshots, exercises, reference")
    t = sub.add_parser("test", help="build and run everything")
    t.add_argument("--reference-only", action="store_true", help="only the whole runtime's suites")
    r = sub.add_parser("run", help="build and run the examples")
    r.add_argument("lesson", nargs="?")
    r.add_argument("--reference", action="store_true", help="the lesson's code, not your workspace's")
    for x in (t, r):
        x.add_argument("--mode", default="release", choices=["release", "debug", "sanitize", "tsan"])
        x.add_argument("--cxx", default="g++")
    sub.add_parser("readmes", help="regenerate the code in the lesson texts").add_argument(
        "--check", action="store_true")
    e = sub.add_parser("exercise", help="create a learner's workspace")
    e.add_argument("lesson")
    e.add_argument("--force", action="store_true")
    for name, what in (("check", "grade a learner's workspace"),
                       ("watch", "grade a learner's workspace at every save")):
        c = sub.add_parser(name, help=what)
        c.add_argument("lesson")
        c.add_argument("--all", action="store_true", help="list every failing test")
        c.add_argument("--trace", help="show the loop's steps in the test whose name has this")
    sub.add_parser("progress", help="the learner's table of holes done, from the last checks").add_argument(
        "--fresh", action="store_true", help="check every workspace again first")
    sub.add_parser("self-test", help="the grader's own tests (tests/course/)").add_argument(
        "--verbose", action="store_true")
    sub.add_parser("handout", help="a standalone exercise tree for a class").add_argument("lesson")
    so = sub.add_parser("solution", help="one hole's reference code, after asking (y/N)")
    so.add_argument("lesson")
    so.add_argument("hole", nargs="?")
    so.add_argument("--yes", action="store_true", help="do not ask")
    sub.add_parser("install", help="install headers, library, pkg-config file").add_argument("prefix")
    sub.add_parser("compile-commands", help="compile_commands.json for clangd")
    sub.add_parser("bench", help="benchmarks beside the peers").add_argument("--runs", default="3")
    sub.add_parser("fuzz", help="libFuzzer over the HTTP parsers").add_argument("--seconds", default="60")
    tr = sub.add_parser("trace", help="a lesson's programs run with AIO_TRACE, as an offline HTML timeline")
    tr.add_argument("lesson")
    tp = sub.add_parser("trace-picture", help="lesson 13's timeline.png, a screenshot of its page")
    for x in (tr, tp):
        x.add_argument("--cxx", default="g++")
    args = p.parse_args()
    os.chdir(ROOT)
    if args.command == "trees":
        generate_trees()
        return 0
    return {"test": cmd_test, "run": cmd_run, "readmes": cmd_readmes, "exercise": cmd_exercise,
            "check": cmd_check, "watch": cmd_watch, "progress": cmd_progress,
            "self-test": cmd_self_test, "handout": cmd_handout,
            "solution": cmd_solution,
            "install": cmd_install, "compile-commands": cmd_compile_commands, "fuzz": cmd_fuzz,
            "bench": cmd_bench, "trace": cmd_trace, "trace-picture": cmd_trace_picture}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
