"""The trace page's own tests (tools/trace_view.py, `make trace`), run by `course.py self-test`.

A page whose script breaks still loads: the browser shows a title and nothing else, and no HTTP
status says so. So these tests open the page the way a reader does, in a real browser (headless
Chromium: `make deps-browser`), and check what it shows against the trace file:

* ThePage: lesson 04's example, traced by `make trace`'s own code and rendered; the DOM after the
  page's script ran has one lane per task named as the trace names it, a table row per task with
  its figures (each computed here from the JSON, independently of the page), and a screenshot of
  it is a 1280×800 PNG whose timeline shows steps and waits in their colours. A page whose script
  throws is seen as broken by the same checks; the mouse, keys and buttons move the view.
* TheCapstone: lesson 09's capstone (100 HTTP requests over 10 connections, beside its server)
  traced and loaded: a larger trace, with I/O.
* ALargeTrace: 1,500 tasks in a file left without its "]", two loops: the page still loads.
* ReadingTraces (no browser): a file cut short by a crash is read up to its last whole event.
* ThePicture (no browser): lessons/13-tracing/timeline.png was made by the trace_view.py of now.

Without chromium the browser tests are skipped with a message, except in CI (CI=true), where
they fail: CI installs it (make deps-browser), so a missing browser there is a broken set-up.
"""
import hashlib
import json
import os
import re
import struct
import sys
import tempfile
import unittest
import zlib
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import course       # noqa: E402
import trace_view   # noqa: E402

NO_BROWSER = "chromium is not installed, so the trace page's browser tests cannot run: " \
             "`make deps-browser` installs it (Debian's chromium)"
SIZE = (1280, 800)


told = False


def need_browser() -> None:
    global told
    if trace_view.chromium() is not None:
        return
    if os.environ.get("CI") == "true":
        raise AssertionError(NO_BROWSER + " (CI runs make deps-browser: the set-up is broken)")
    if not told:   # once, where a plain run shows it (unittest names a skip's reason only with -v)
        print(f"\n{NO_BROWSER}; skipped", file=sys.stderr)
        told = True
    raise unittest.SkipTest(NO_BROWSER)


# ---- what the trace file holds, computed here from the JSON ---------------------------------------

def expected_tasks(events: list[dict]) -> dict[tuple[int, int], dict]:
    """Per task (pid, tid): its name (None if the trace names it not), steps, busy µs, wake-ups
    (wake arrows ending on it), self-wakes (arrows from one of its own steps) and its end."""
    tasks: dict[tuple[int, int], dict] = {}
    starts = {}
    for e in events:
        key = (e.get("pid", 0), e.get("tid", 0))
        if key[1] != 0:
            tasks.setdefault(key, {"name": None, "steps": 0, "busy": 0.0, "wakeups": 0, "self": 0,
                                   "ended": "pending"})
        if e.get("ph") == "s":
            starts[(key[0], e["id"])] = key
    for e in events:
        key = (e.get("pid", 0), e.get("tid", 0))
        if key[1] == 0:
            continue
        task, ph = tasks[key], e.get("ph")
        if ph == "M" and e.get("name") == "thread_name":
            task["name"] = e["args"]["name"]
        elif ph == "X" and e.get("cat") == "task":
            task["steps"] += 1
            task["busy"] += e["dur"]
        elif ph == "f":
            task["wakeups"] += 1
            task["self"] += starts.get((key[0], e["id"])) == key
        elif ph == "i" and e.get("name") in ("returned", "failed", "cancelled"):
            task["ended"] = e["name"]
    return tasks


# ---- what the page shows, read from the DOM the browser dumped ------------------------------------

class Elements(HTMLParser):
    """Every element of a page as (tag, attributes, its own text)."""
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}

    def __init__(self, text: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict, list[str]]] = []
        self.open: list[tuple[str, dict, list[str]]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        element = (tag, dict(attrs), [])
        self.found.append(element)
        if tag not in self.VOID:
            self.open.append(element)

    def handle_endtag(self, tag):
        while self.open and self.open.pop()[0] != tag:
            pass

    def handle_data(self, data):
        if self.open:
            self.open[-1][2].append(data)

    def having(self, cls: str) -> list[tuple[dict, str]]:
        return [(a, "".join(text).strip()) for _, a, text in self.found if cls in a.get("class", "").split()]

    def by_id(self, id_: str) -> dict | None:
        return next((a for _, a, _ in self.found if a.get("id") == id_), None)


def page_problems(dom: str, events: list[dict]) -> list[str]:
    """What the page shows that the trace does not say: each difference, as a sentence."""
    page, expected = Elements(dom), expected_tasks(events)
    problems = []
    body = next((a for tag, a, _ in page.found if tag == "body"), {})
    if "data-error" in body:
        problems.append(f"the page's script failed: {body['data-error']}")
    if body.get("data-ready") != "true":
        problems.append("the page's script did not finish (body has no data-ready)")
    summary = page.by_id("summary") or {}
    if summary.get("data-task-count") != str(len(expected)):
        problems.append(f"#summary says {summary.get('data-task-count')} tasks, the trace has {len(expected)}")

    lanes = {(int(a["data-pid"]), int(a["data-tid"])): text for a, text in page.having("lane-label")
             if a.get("data-kind") == "task"}
    if set(lanes) != set(expected):
        problems.append(f"task lanes {sorted(lanes)}, the trace's tasks {sorted(expected)}")
    for key, task in expected.items():
        if task["name"] is not None and lanes.get(key) != task["name"]:
            problems.append(f"lane {key} is labelled {lanes.get(key)!r}, the trace names it {task['name']!r}")
    loops = {e.get("pid", 0) for e in events}
    loop_lanes = {int(a["data-pid"]) for a, _ in page.having("lane-label") if a.get("data-kind") == "loop"}
    if loop_lanes != loops:
        problems.append(f"loop lanes for pids {sorted(loop_lanes)}, the trace's loops {sorted(loops)}")

    rows = {(int(a["data-pid"]), int(a["data-tid"])): a for a, _ in page.having("task-row")}
    if set(rows) != set(expected):
        problems.append(f"table rows {sorted(rows)}, the trace's tasks {sorted(expected)}")
    for key, task in expected.items():
        row = rows.get(key)
        if row is None:
            continue
        shown = (int(row["data-steps"]), int(row["data-wakeups"]), int(row["data-self-wakes"]), row["data-ended"])
        wanted = (task["steps"], task["wakeups"], task["self"], task["ended"])
        if shown != wanted:
            problems.append(f"row {key} shows (steps, wake-ups, self-wakes, end) {shown}, the trace {wanted}")
        if abs(float(row["data-busy-us"]) - task["busy"]) > 0.01:
            problems.append(f"row {key} shows busy {row['data-busy-us']} µs, the trace {task['busy']:.3f}")
    return problems


# ---- a PNG, read with the standard library -----------------------------------------------------------

def read_png(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and the rows of an 8-bit RGB or RGBA PNG, as RGB bytes (what Chromium writes)."""
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace:
        raise ValueError(f"{path}: a PNG of depth {depth}, colour type {colour}: not read here")
    channels = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):   # undo the row's filter (PNG spec, section 9)
            left = line[i - channels] if i >= channels else 0
            up, up_left = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else up_left)) & 255
        previous = line
        rows.append(bytes(line) if channels == 3 else bytes(b for i, b in enumerate(line) if i % 4 != 3))
    return width, height, rows


def colour(name: str) -> bytes:
    """A colour of the page's palette (COLOURS in its script), as RGB bytes."""
    m = re.search(rf'\b{name}: "#([0-9a-f]{{6}})"', trace_view.TEMPLATE)
    return bytes.fromhex(m.group(1))


# ---- the tests ---------------------------------------------------------------------------------------

class ThePage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        need_browser()
        cls.tmp = tempfile.TemporaryDirectory(prefix="aio-trace-test-")
        cls.out = Path(cls.tmp.name)
        traced = course.trace_program(course.lesson("04"), "example", course.Build(), cls.out)
        if traced is None or traced.code != 0:
            raise AssertionError("lesson 04's example did not run with AIO_TRACE" +
                                 (f":\n{traced.output}" if traced else ""))
        cls.page = traced.page
        cls.events = trace_view.read_trace(traced.trace).events
        cls.dom = trace_view.dump_dom(cls.page, SIZE)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_the_page_shows_the_tasks_of_the_trace(self):
        self.assertEqual(page_problems(self.dom, self.events), [])
        # Lesson 04's example has every ending: its tasks return, fail (fail()) and are cancelled (t3).
        ends = {t["ended"] for t in expected_tasks(self.events).values()}
        self.assertEqual(ends, {"returned", "failed", "cancelled"})

    def test_the_page_fetches_nothing(self):
        text = self.page.read_text()
        data = text.index('<script type="application/json"')
        script = text[:data] + text[text.index("</script>", data):]   # the page, without the trace it carries
        for pattern in (r"https?://", r"<script[^>]*\bsrc=", r"<link\b", r"@import", r"url\(", r"<iframe",
                        r"fetch\(", r"XMLHttpRequest"):
            self.assertIsNone(re.search(pattern, script), f"the page refers to something outside it: {pattern}")

    def test_the_screenshot_shows_the_timeline(self):
        png = self.out / "page.png"
        trace_view.screenshot(self.page, png, SIZE)
        width, height, rows = read_png(png)
        self.assertEqual((width, height), SIZE)
        self.assertGreater(len({row[i:i + 3] for row in rows for i in range(0, len(row), 3)}), 8,
                           "the screenshot is (almost) a single colour")
        # The canvas's place on the page, as its script recorded it; in it, steps and waits.
        canvas = Elements(self.dom).by_id("canvas")
        self.assertGreater(int(canvas["data-drawn-slices"]), 0)
        left, top, w, h = (int(v) for v in canvas["data-box"].split(","))
        wanted = {colour(name): name for name in ("step", "wait")}
        seen = {"step": 0, "wait": 0}
        for y in range(top, min(top + h, height)):
            row = rows[y]
            for x in range(left, min(left + w, width)):
                name = wanted.get(row[3 * x:3 * x + 3])
                if name:
                    seen[name] += 1
        self.assertGreater(seen["step"], 20, "no step drawn in the timeline")
        self.assertGreater(seen["wait"], 20, "no awaiting slice drawn in the timeline")

    def test_a_broken_script_is_seen(self):
        # The same checks on the page with an error thrown where its script starts: they must fail.
        text = self.page.read_text()
        broken = self.out / "broken.html"
        broken.write_text(text.replace('"use strict";', '"use strict"; throw new Error("broken on purpose");', 1))
        problems = page_problems(trace_view.dump_dom(broken, SIZE), self.events)
        self.assertTrue(any("broken on purpose" in p for p in problems), problems)
        self.assertTrue(any("table rows" in p for p in problems), problems)

    def test_wheel_drag_keys_buttons_and_hover(self):
        # A script added at the end of a copy of the page plays the reader's gestures on the canvas
        # and writes what the view became into the DOM.
        driver = """<script>
        (function () {
          const s = window.aioTrace, canvas = document.getElementById("canvas"), out = {};
          const r = canvas.getBoundingClientRect(), y = r.top + 40;
          out.whole = s.view.span;
          canvas.dispatchEvent(new WheelEvent("wheel", { deltaY: -400, clientX: r.left + r.width / 2, clientY: y,
                                                         bubbles: true, cancelable: true }));
          out.wheel = s.view.span;
          const t0 = s.view.t0, perPixel = s.view.span / s.width;
          canvas.dispatchEvent(new MouseEvent("mousedown", { clientX: r.left + 300, clientY: y, bubbles: true }));
          window.dispatchEvent(new MouseEvent("mousemove", { clientX: r.left + 200, clientY: y }));
          window.dispatchEvent(new MouseEvent("mouseup", {}));
          out.dragged = (s.view.t0 - t0) / perPixel;
          window.dispatchEvent(new KeyboardEvent("keydown", { key: "0" }));
          out.fit = s.view.span;
          document.getElementById("zoom-in").click();
          out.button = s.view.span;
          window.dispatchEvent(new KeyboardEvent("keydown", { key: "0" }));
          const lane = s.model.loops[0].tasks[0], step = lane.slices.find((x) => x.cat === "task");
          const px = ((step.ts + step.dur / 2 - s.view.t0) / s.view.span) * s.width;
          canvas.dispatchEvent(new MouseEvent("mousemove", { clientX: r.left + px, clientY: r.top + lane.row.y + 6,
                                                             bubbles: true }));
          const tip = document.getElementById("tooltip");
          out.tooltip = tip.hidden ? "" : tip.textContent;
          document.body.setAttribute("data-driven", JSON.stringify(out));
        })();
        </script>"""
        driven = self.out / "driven.html"
        driven.write_text(self.page.read_text().replace("</body>", driver + "</body>"))
        body = next(a for tag, a, _ in Elements(trace_view.dump_dom(driven, SIZE)).found if tag == "body")
        self.assertNotIn("data-error", body)
        out = json.loads(body["data-driven"])
        self.assertLess(out["wheel"], out["whole"] * 0.7, "the wheel did not zoom in")
        self.assertAlmostEqual(out["dragged"], 100, delta=1, msg="a drag of 100 px left did not pan 100 px")
        self.assertAlmostEqual(out["fit"], out["whole"], msg="the 0 key did not show the whole trace")
        self.assertAlmostEqual(out["button"], out["whole"] / 2, msg="the + button did not zoom in")
        self.assertIn("step 1", out["tooltip"])
        self.assertIn("duration:", out["tooltip"])


class TheCapstone(unittest.TestCase):
    def test_the_capstone_of_lesson_09_is_traced_and_shown(self):
        need_browser()
        with tempfile.TemporaryDirectory(prefix="aio-trace-test-") as tmp:
            traced = course.trace_program(course.lesson("09"), "capstone", course.Build(), Path(tmp))
            self.assertIsNotNone(traced, "lesson 09's capstone wrote no trace")
            self.assertEqual(traced.code, 0, traced.output)
            events = trace_view.read_trace(traced.trace).events
            self.assertGreaterEqual(len(expected_tasks(events)), 10, "10 workers under gather, each a task")
            self.assertEqual(page_problems(trace_view.dump_dom(traced.page, SIZE), events), [])


class ALargeTrace(unittest.TestCase):
    def test_1500_tasks_in_a_file_a_crash_left_open(self):
        # 36,000 px of lanes, more than a canvas can be tall (32,767 px): the page's canvas is as
        # tall as the window and follows the scroll. Two loops, and no closing "]".
        need_browser()
        events = [{"ph": "M", "pid": 2, "tid": 0, "name": "process_name", "args": {"name": "event loop 2"}},
                  {"ph": "X", "pid": 2, "tid": 0, "ts": 1, "dur": 5, "name": "callback", "cat": "loop"}]
        for tid in range(1, 1501):
            # (One name that would end or upset the page's <script> if the trace were pasted in raw.)
            name = f"Task-{tid} w()" if tid > 1 else '</script><!--<script> "q" & ü'
            events += [{"ph": "M", "pid": 1, "tid": tid, "name": "thread_name", "args": {"name": name}},
                       {"ph": "X", "pid": 1, "tid": tid, "ts": tid, "dur": 2, "name": "step", "cat": "task",
                        "args": {"step": 1}},
                       {"ph": "i", "pid": 1, "tid": tid, "ts": tid + 2, "name": "cancelled", "s": "t"}]
        with tempfile.TemporaryDirectory(prefix="aio-trace-test-") as tmp:
            path, page = Path(tmp) / "large.json", Path(tmp) / "large.html"
            path.write_text("[\n" + ",\n".join(json.dumps(e) for e in events) + ",\n")
            trace = trace_view.read_trace(path)
            self.assertFalse(trace.closed)
            page.write_text(trace_view.page(trace, "large", path.name))
            dom = trace_view.dump_dom(page, SIZE)
        self.assertEqual(page_problems(dom, trace.events), [])
        elements = Elements(dom)
        self.assertIn("no closing", "".join(next(t for _, a, t in elements.found if a.get("id") == "note")))
        self.assertLessEqual(int(elements.by_id("canvas")["height"]), SIZE[1])


class ReadingTraces(unittest.TestCase):
    def test_a_trace_cut_short_is_read_to_its_last_whole_event(self):
        lines = ['[', '{"ph":"M","pid":1,"tid":1,"name":"thread_name","args":{"name":"Task-1 main()"}},',
                 '{"ph":"X","pid":1,"tid":1,"ts":1.5,"dur":2,"name":"step","cat":"task","args":{"step":1}},',
                 '{"ph":"i","pid":1,"tid":1,"ts":4,"na']
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "cut.json"
            path.write_text("\n".join(lines))
            trace = trace_view.read_trace(path)
        self.assertEqual((len(trace.events), trace.closed, trace.dropped), (2, False, 1))
        self.assertEqual(trace_view.summarize(trace.events).line(), "1 task, 1 steps, 2.0 µs, 1 loop")

    def test_the_trace_cannot_end_the_page_script(self):
        # A task named "</script>" must stay data: JSON's "<\/" keeps the element whole.
        text = trace_view.page(trace_view.Trace([{"ph": "M", "pid": 1, "tid": 1, "name": "thread_name",
                                                  "args": {"name": "</script><b>x"}}]), "t", "t.json")
        self.assertEqual(text.count("</script>"), trace_view.TEMPLATE.count("</script>"))


class ThePicture(unittest.TestCase):
    def test_the_lessons_picture_was_made_by_this_trace_view(self):
        lesson = course.lesson(f"{course.FIRST_TRACED_LESSON:02d}")
        png, record = lesson.path / course.PICTURE, lesson.path / f"{course.PICTURE}.txt"
        regenerate = (f"run `make trace-picture` (it needs chromium: make deps-browser) and commit "
                      f"{png.relative_to(ROOT)} and {record.relative_to(ROOT)}")
        self.assertTrue(png.exists() and record.exists(), f"{png.relative_to(ROOT)} is missing: {regenerate}")
        said = dict(re.findall(r"^(\S+) sha256 ([0-9a-f]{64})$", record.read_text(), re.M))
        sha = lambda path: hashlib.sha256(path.read_bytes()).hexdigest()   # noqa: E731
        # (assertTrue: the message alone, not two hashes before it.)
        self.assertTrue(said.get("tools/trace_view.py") == sha(ROOT / "tools" / "trace_view.py"),
                        f"tools/trace_view.py changed since {png.relative_to(ROOT)} was made: {regenerate}")
        self.assertTrue(said.get(course.PICTURE) == sha(png),
                        f"{png.relative_to(ROOT)} is not the picture `make trace-picture` made: {regenerate}")
        width, height, _ = read_png(png)
        self.assertEqual((width, height), SIZE)


if __name__ == "__main__":
    unittest.main()
