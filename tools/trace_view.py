#!/usr/bin/env python3
"""tools/trace_view.py — an aio trace as one offline HTML page.

    python3 tools/trace_view.py TRACE.json -o PAGE.html [--title T] [--png PICTURE.png]

TRACE.json is what a program writes when it runs with AIO_TRACE=TRACE.json (lesson 13; the format
is described at the top of runtime/aio/trace.cpp): Chrome's trace events, one a line, a process
per event loop and a thread per task. Perfetto opens such a file too; this page is for when there
is no network, or when a timeline should sit beside a lesson.

Design. The page is one file with nothing to fetch: the trace is embedded in it, as JSON in a
<script type="application/json">, and a small plain-JavaScript program written for this page
(no library) reads it and builds everything the reader sees:

* the timeline, on one <canvas>: per loop a group, its own lane ("event loop": callbacks, timers,
  epoll_wait) and a lane of its counters, then one lane per task, labelled with its name. Steps
  and waits ("awaiting ...") are slices of two colours, wake-ups are arrows from the step that
  woke a task to the task's next step; slow steps and failed or cancelled tasks are marked red.
  Mouse wheel zooms, drag pans, buttons and keys (W S A D, 0) do the same; hovering shows a
  slice's name, duration and arguments;
* a table per loop in the spirit of tokio-console: per task its busy time (its steps), idle time
  (its waits), steps, wake-ups, self-wakes and how it ended.

Python only reads the file (accepting one that a crashed program left without its closing "]")
and fills the page's template; every figure shown is computed by the page's script. So a test
can open the page in a headless browser and read the DOM (lane labels have class "lane-label"
and data-pid/data-tid, table rows class "task-row" and data-* of their figures, #summary
data-task-count...): if the script breaks, those are missing, and the test sees it.

--png PICTURE.png also takes a screenshot of the page (1280×800) with headless Chromium
(Debian's chromium: `make deps-browser`).
"""
import argparse
import html
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path


# ---- reading a trace ----------------------------------------------------------------------------

@dataclass
class Trace:
    events: list[dict]
    closed: bool = True   # False: the file lacked its closing "]" (the program crashed, or runs)
    dropped: int = 0      # lines that were not an event (a crash cut the last one short)


def read_trace(path: Path) -> Trace:
    """The events of a trace file: a JSON array, or Chrome's {"traceEvents": [...]}; an array
    without its end is read line by line, as the runtime writes one event a line."""
    text = path.read_text(errors="replace")
    try:
        data = json.loads(text)
        if isinstance(data, dict):
            data = data.get("traceEvents", [])
        return Trace([e for e in data if isinstance(e, dict)])
    except json.JSONDecodeError:
        pass
    events, dropped = [], 0
    for line in text.splitlines():
        line = line.strip().rstrip(",")
        if line in ("", "[", "]"):
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            dropped += 1
            continue
        if isinstance(event, dict):
            events.append(event)
    return Trace(events, closed=False, dropped=dropped)


@dataclass
class Summary:
    loops: int
    tasks: int
    steps: int
    duration_us: float
    failed: int
    cancelled: int
    slow: int

    def line(self) -> str:
        extra = [f"{n} {what}" for n, what in ((self.failed, "failed"), (self.cancelled, "cancelled"),
                                                (self.slow, "slow steps")) if n]
        return (f"{self.tasks} task{'s' if self.tasks != 1 else ''}, {self.steps} steps, "
                f"{duration(self.duration_us)}, {self.loops} loop{'s' if self.loops != 1 else ''}"
                + (f" ({', '.join(extra)})" if extra else ""))


def summarize(events: list[dict]) -> Summary:
    """The one-line summary `make trace` prints (the page computes its own, in JavaScript)."""
    pids, tasks, steps, failed, cancelled, slow = set(), set(), 0, 0, 0, 0
    first, last = None, None
    for e in events:
        pid, tid = e.get("pid", 0), e.get("tid", 0)
        pids.add(pid)
        if tid != 0:
            tasks.add((pid, tid))
        if "ts" in e:
            ts = float(e["ts"])
            end = ts + float(e.get("dur", 0))
            first = ts if first is None else min(first, ts)
            last = end if last is None else max(last, end)
        if e.get("ph") == "X" and e.get("name") == "step" and tid != 0:
            steps += 1
        if e.get("ph") == "X" and (e.get("args") or {}).get("slow"):
            slow += 1
        if e.get("ph") == "i":
            failed += e.get("name") == "failed"
            cancelled += e.get("name") == "cancelled"
    return Summary(len(pids), len(tasks), steps, (last - first) if first is not None else 0.0,
                   failed, cancelled, slow)


def duration(us: float) -> str:
    if us < 1000:
        return f"{us:.1f} µs"
    if us < 1_000_000:
        return f"{us / 1000:.1f} ms"
    return f"{us / 1_000_000:.2f} s"


# ---- the page -----------------------------------------------------------------------------------

def page(trace: Trace, title: str, source: str) -> str:
    data = {"source": source, "closed": trace.closed, "dropped": trace.dropped, "events": trace.events}
    # Inside <script>, a "</script" or "<!--" in a task's name would end or upset the element: no
    # "<" at all, then. In JSON it can only be inside a string, where "\u003c" is the same text.
    embedded = json.dumps(data, separators=(",", ":")).replace("<", "\\u003c")
    before, after = TEMPLATE.split("__DATA__")   # (a title holding "__DATA__" stays a title)
    return before.replace("__TITLE__", html.escape(title)) + embedded + after


# The template. __TITLE__ and __DATA__ are filled in by page(); everything else is static, so
# that a page differs from another only by its trace.
TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>__TITLE__</title>
<style>
  body { font: 13px/1.4 "DejaVu Sans", sans-serif; margin: 12px 16px; color: #222; background: #fff; }
  h1 { font-size: 17px; margin: 0 0 2px; }
  h2 { font-size: 15px; margin: 18px 0 6px; }
  #summary { color: #555; }
  #note { color: #b35900; }
  #toolbar { margin: 8px 0; display: flex; gap: 6px; align-items: center; flex-wrap: wrap; }
  #toolbar button { font: inherit; padding: 1px 9px; }
  #toolbar .hint { color: #777; margin-left: 8px; }
  #timeline { display: flex; border: 1px solid #ccc; }
  #labels { position: relative; width: 230px; flex: none; border-right: 1px solid #ccc;
            background: #f7f7f7; overflow: hidden; }
  #labels div { position: absolute; left: 0; right: 0; padding: 0 6px; white-space: nowrap;
                overflow: hidden; text-overflow: ellipsis; box-sizing: border-box; }
  #labels .group-label { font-weight: bold; background: #e8e8e8; }
  #labels .counter-label { color: #777; font-style: italic; }
  #labels .flash { background: #ffe08a; }
  #canvas-box { flex: 1; min-width: 0; position: relative; }
  #canvas { display: block; cursor: grab; position: sticky; top: 0; }
  #canvas.dragging { cursor: grabbing; }
  #tooltip { position: fixed; pointer-events: none; background: #fffff0; border: 1px solid #999;
             padding: 4px 7px; font-size: 12px; max-width: 420px; box-shadow: 2px 2px 4px #0002;
             white-space: pre-wrap; z-index: 10; }
  #legend { margin: 6px 0; color: #555; display: flex; gap: 14px; flex-wrap: wrap; }
  #legend span.swatch { display: inline-block; width: 18px; height: 9px; margin-right: 4px;
                        vertical-align: middle; border: 1px solid #0003; }
  table.tasks { border-collapse: collapse; margin-bottom: 10px; }
  table.tasks th, table.tasks td { border: 1px solid #ddd; padding: 2px 8px; text-align: right; }
  table.tasks th { background: #f0f0f0; cursor: pointer; user-select: none; }
  table.tasks .name, table.tasks .ended, table.tasks .by { text-align: left; }
  table.tasks tr.task-row { cursor: pointer; }
  table.tasks tr.task-row:hover { background: #f5f9ff; }
  .bad { color: #c62828; font-weight: bold; }
  #error { background: #c62828; color: #fff; padding: 8px; margin: 8px 0; white-space: pre-wrap; }
</style>
</head>
<body>
<!-- An error in the script below shows here, and as body[data-error] for a test to read. -->
<script>
  window.addEventListener("error", function (e) {
    var box = document.getElementById("error") || document.body.appendChild(document.createElement("div"));
    box.id = "error";
    box.hidden = false;
    box.textContent = "The page's script failed: " + e.message + " (line " + e.lineno + ")";
    document.body.setAttribute("data-error", e.message);
  });
</script>
<h1 id="title">__TITLE__</h1>
<div id="summary"></div>
<div id="note"></div>
<div id="error" hidden></div>
<div id="toolbar">
  <button id="zoom-in" title="zoom in (W, +)">+</button>
  <button id="zoom-out" title="zoom out (S, -)">&minus;</button>
  <button id="pan-left" title="pan left (A, &larr;)">&larr;</button>
  <button id="pan-right" title="pan right (D, &rarr;)">&rarr;</button>
  <button id="fit" title="the whole trace (0)">fit</button>
  <label><input type="checkbox" id="show-wakes" checked> wake arrows</label>
  <span class="hint">wheel: zoom &middot; drag: pan &middot; double-click a slice: zoom to it &middot;
    click a task in the table: its lifetime</span>
</div>
<div id="timeline"><div id="labels"></div><div id="canvas-box"><canvas id="canvas"></canvas></div></div>
<div id="legend"></div>
<div id="tooltip" hidden></div>
<div id="tables"></div>
<script type="application/json" id="trace-data">__DATA__</script>
<script>
"use strict";

// ---- colours and sizes (the legend is made from this table) ------------------------------------

const COLOURS = {
  step: "#3465c9",       // a task's step: it runs
  wait: "#f0c75e",       // "awaiting ...": it is suspended
  loopItem: "#8c6bc8",   // a callback, timer or bare coroutine on the loop's lane
  idle: "#b9dfb4",       // epoll_wait: the loop asleep
  slow: "#d62728",       // a slow step (args.slow), a failed or cancelled task
  wake: "rgba(40, 40, 40, 0.55)",
  counter: "#9bb7e0",
  returned: "#2ca02c",
  created: "#888888",
};
const AXIS_H = 24, GROUP_H = 22, LANE_H = 24, COUNTER_H = 22;

// ---- the model: loops, lanes, slices, wake-ups ---------------------------------------------------
//
// A loop is a pid; each tid of it is a lane: tid 0 the loop's own, any other a task. Everything
// is built from the raw events, in one pass, then each lane's slices are sorted by time (the
// runtime writes an X event when it ends, so the file is not in time order).

function buildModel(events) {
  const loops = new Map();
  const loopOf = (pid) => {
    if (!loops.has(pid))
      loops.set(pid, { pid, name: "event loop " + pid, lanes: new Map(), counters: [] });
    return loops.get(pid);
  };
  const laneOf = (pid, tid) => {
    const loop = loopOf(pid);
    if (!loop.lanes.has(tid))
      loop.lanes.set(tid, { pid, tid, loop, name: null, sort: tid, slices: [], instants: [],
                            steps: 0, busy: 0, idle: 0, wakeups: 0, selfWakes: 0, slow: 0,
                            ended: null, createdBy: null, first: Infinity, last: -Infinity });
    return loop.lanes.get(tid);
  };
  const starts = new Map(), ends = new Map();   // wake arrows by "pid:id": ids count per loop
  let first = Infinity, last = -Infinity;
  for (const e of events) {
    const pid = e.pid ?? 0, tid = e.tid ?? 0;
    if (typeof e.ts === "number") {
      first = Math.min(first, e.ts);
      last = Math.max(last, e.ts + (e.dur || 0));
    }
    switch (e.ph) {
      case "M": {
        const args = e.args || {};
        if (e.name === "process_name") loopOf(pid).name = String(args.name);
        else if (e.name === "thread_name") laneOf(pid, tid).name = String(args.name);
        else if (e.name === "thread_sort_index") laneOf(pid, tid).sort = Number(args.sort_index);
        break;
      }
      case "X": {
        const lane = laneOf(pid, tid);
        const slice = { ts: e.ts, dur: e.dur || 0, name: String(e.name), cat: e.cat || "", args: e.args || {},
                        lane };
        lane.slices.push(slice);
        lane.first = Math.min(lane.first, slice.ts);
        lane.last = Math.max(lane.last, slice.ts + slice.dur);
        if (slice.args.slow) lane.slow++;
        if (tid !== 0 && slice.cat === "task") { lane.steps++; lane.busy += slice.dur; }
        if (tid !== 0 && slice.cat === "wait") lane.idle += slice.dur;
        break;
      }
      case "i": case "I": {
        const lane = laneOf(pid, tid);
        lane.instants.push({ ts: e.ts, name: String(e.name), args: e.args || {}, lane });
        lane.first = Math.min(lane.first, e.ts);
        lane.last = Math.max(lane.last, e.ts);
        if (["returned", "failed", "cancelled"].includes(e.name)) lane.ended = e.name;
        if (e.name === "created" && e.args && e.args.by) lane.createdBy = String(e.args.by);
        break;
      }
      case "s": starts.set(pid + ":" + e.id, { lane: laneOf(pid, tid), ts: e.ts }); break;
      case "f": ends.set(pid + ":" + e.id, { lane: laneOf(pid, tid), ts: e.ts }); break;
      case "C": loopOf(pid).counters.push({ ts: e.ts, args: e.args || {} }); break;
    }
  }
  // An arrow needs both ends; one whose other end was cut by a crash is left out.
  const flows = [];
  for (const [key, end] of ends) {
    const start = starts.get(key);
    end.lane.wakeups++;
    if (!start) continue;
    if (start.lane === end.lane) end.lane.selfWakes++;
    flows.push({ from: start.lane, ts0: start.ts, to: end.lane, ts1: end.ts });
  }
  for (const loop of loops.values()) {
    laneOf(loop.pid, 0);   // every loop has its own lane, even one that ran nothing of its own
    for (const lane of loop.lanes.values()) {
      lane.slices.sort((a, b) => a.ts - b.ts);
      lane.instants.sort((a, b) => a.ts - b.ts);
      if (lane.name === null) lane.name = lane.tid === 0 ? "event loop" : "task " + lane.tid + " (never ran)";
    }
    loop.counters.sort((a, b) => a.ts - b.ts);
    loop.tasks = [...loop.lanes.values()].filter((l) => l.tid !== 0)
                                         .sort((a, b) => a.sort - b.sort || a.tid - b.tid);
  }
  if (first === Infinity) { first = 0; last = 1; }
  return { loops: [...loops.values()].sort((a, b) => a.pid - b.pid), flows, first, last };
}

// ---- formatting ------------------------------------------------------------------------------------

function fmtDur(us) {
  const a = Math.abs(us);
  if (a === 0) return "0";
  if (a < 1) return us.toFixed(3) + " µs";
  if (a < 1000) return us.toFixed(a < 10 ? 2 : 1) + " µs";
  if (a < 1e6) return (us / 1000).toFixed(a < 1e4 ? 2 : 1) + " ms";
  return (us / 1e6).toFixed(3) + " s";
}

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

// ---- the rows of the timeline ----------------------------------------------------------------------
//
// One list of rows, top to bottom, shared by the labels (HTML, for the reader and for tests),
// the drawing and the hit-testing of the mouse, so that the three always agree.

function layout(model) {
  const rows = [];
  let y = AXIS_H;
  const add = (row, h) => { row.y = y; row.h = h; rows.push(row); y += h; };
  for (const loop of model.loops) {
    add({ kind: "group", loop }, GROUP_H);
    add({ kind: "loop", loop, lane: loop.lanes.get(0) }, LANE_H);
    add({ kind: "counters", loop }, COUNTER_H);
    for (const lane of loop.tasks) add({ kind: "task", loop, lane }, LANE_H);
  }
  for (const loop of model.loops) for (const lane of loop.lanes.values())
    lane.row = rows.find((r) => r.lane === lane);
  return { rows, height: y + 4 };
}

function buildLabels(rows, box) {
  box.textContent = "";
  box.appendChild(el("div", { class: "axis-label", style: `top:0;height:${AXIS_H}px` }));
  for (const row of rows) {
    let node;
    if (row.kind === "group") {
      node = el("div", { class: "group-label", "data-pid": row.loop.pid }, row.loop.name);
    } else if (row.kind === "counters") {
      node = el("div", { class: "counter-label", "data-pid": row.loop.pid }, "ready items");
    } else {
      const lane = row.lane;
      node = el("div", { class: "lane-label", id: `lane-${lane.pid}-${lane.tid}`, "data-pid": lane.pid,
                         "data-tid": lane.tid, "data-kind": row.kind }, lane.name);
      if (lane.ended === "failed" || lane.ended === "cancelled") node.classList.add("bad");
    }
    node.style.top = row.y + "px";
    node.style.height = row.h + "px";
    node.style.lineHeight = row.h + "px";
    node.title = node.textContent;
    box.appendChild(node);
  }
}

// ---- the view: which span of time the canvas shows ------------------------------------------------

class View {
  constructor(first, last) {
    this.first = first;
    this.last = last;
    this.fit();
  }
  fit() {
    const margin = (this.last - this.first) * 0.02 || 1;
    this.t0 = this.first - margin;
    this.t1 = this.last + margin;
  }
  get span() { return this.t1 - this.t0; }
  // Zoom by `factor` (<1: in) keeping the time under pixel x of a width w in place.
  zoom(factor, x, w) {
    const whole = (this.last - this.first) * 1.2 || 1;
    const span = Math.min(Math.max(this.span * factor, 0.5), whole);   // 0.5 µs: below, nothing to see
    const at = this.t0 + (x / w) * this.span;
    this.t0 = at - (x / w) * span;
    this.t1 = this.t0 + span;
    this.clamp();
  }
  pan(dt) { this.t0 += dt; this.t1 += dt; this.clamp(); }
  show(from, to) {
    const margin = (to - from) * 0.05 || 1;
    this.t0 = from - margin;
    this.t1 = to + margin;
    this.clamp();
  }
  // Keep some of the trace in sight: panning past its end would show an empty canvas.
  clamp() {
    const span = this.span, pad = span * 0.5;
    if (this.t0 > this.last - span + pad) { this.t0 = this.last - span + pad; this.t1 = this.t0 + span; }
    if (this.t1 < this.first + span - pad) { this.t1 = this.first + span - pad; this.t0 = this.t1 - span; }
  }
}

// The first slice of a sorted list that ends at or after t: slices of one lane never overlap,
// so their ends are sorted too, and a binary search finds where the visible ones begin.
function firstEndingAfter(slices, t) {
  let lo = 0, hi = slices.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (slices[mid].ts + slices[mid].dur < t) lo = mid + 1; else hi = mid;
  }
  return lo;
}

// ---- drawing -------------------------------------------------------------------------------------

function niceStep(span, pixels) {
  // A tick every 1, 2 or 5 × 10^k µs, about every 100 px.
  const rough = span / Math.max(pixels / 100, 1);
  const power = Math.pow(10, Math.floor(Math.log10(rough)));
  for (const m of [1, 2, 5, 10]) if (m * power >= rough) return m * power;
  return 10 * power;
}

function colourOf(slice) {
  if (slice.args.slow) return COLOURS.slow;
  if (slice.cat === "task") return COLOURS.step;
  if (slice.cat === "wait") return COLOURS.wait;
  if (slice.cat === "idle") return COLOURS.idle;
  return COLOURS.loopItem;
}

// The canvas is at most as tall as the window, and sticks to its top while the page scrolls
// past the lanes (CSS position: sticky): a canvas as tall as 5,000 lanes could not be made at
// all. So it draws the rows that are in sight, from `top` down, and its axis stays in view.
function draw(state) {
  const { canvas, model, view, rows } = state;
  const w = canvas.parentElement.clientWidth, h = Math.min(state.height, window.innerHeight);
  const top = Math.min(Math.max(-canvas.parentElement.getBoundingClientRect().top, 0), state.height - h);
  const dpr = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    canvas.style.width = w + "px";
    canvas.style.height = h + "px";
  }
  state.width = w;
  state.top = top;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, -top * dpr);   // from here on, y is the row's y on the page
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, top, w, h);
  ctx.font = '11px "DejaVu Sans", sans-serif';
  ctx.textBaseline = "middle";
  const x = (t) => ((t - view.t0) / view.span) * w;
  const shown = rows.filter((row) => row.y + row.h > top + AXIS_H && row.y < top + h);

  // Rows' backgrounds, so that lanes are told apart without labels.
  for (const row of shown) {
    ctx.fillStyle = row.kind === "group" ? "#ececec" : rows.indexOf(row) % 2 ? "#fafafa" : "#ffffff";
    ctx.fillRect(0, row.y, w, row.h);
  }

  // The time axis: ticks relative to the start of the trace, their lines down every lane.
  const step = niceStep(view.span, w);
  const ticks = [];
  for (let t = Math.ceil((view.t0 - model.first) / step) * step; model.first + t <= view.t1; t += step)
    ticks.push([t, Math.round(x(model.first + t)) + 0.5]);
  ctx.strokeStyle = "#e4e4e4";
  ctx.beginPath();
  for (const [, px] of ticks) { ctx.moveTo(px, top + AXIS_H); ctx.lineTo(px, top + h); }
  ctx.stroke();

  let drawn = 0;
  for (const row of shown) {
    if (row.kind === "counters") { drawCounters(ctx, row, x, w); continue; }
    if (!row.lane) continue;
    const slices = row.lane.slices;
    // Several slices inside one pixel are drawn once: a trace may hold 100,000 steps.
    let lastPixel = -1, lastColour = "";
    for (let i = firstEndingAfter(slices, view.t0); i < slices.length && slices[i].ts <= view.t1; i++) {
      const s = slices[i];
      const colour = colourOf(s);
      const x0 = Math.max(Math.round(x(s.ts)), -1), x1 = Math.min(Math.round(x(s.ts + s.dur)), w + 1);
      const width = Math.max(x1 - x0, 1);
      if (width === 1 && x0 === lastPixel && colour === lastColour) continue;
      lastPixel = x0;
      lastColour = colour;
      // Waits and idle time are thinner bars: the eye goes to where the work is.
      const thin = s.cat === "wait" || s.cat === "idle";
      const top = row.y + (thin ? 8 : 3), height = row.h - (thin ? 16 : 6);
      ctx.fillStyle = colour;
      ctx.fillRect(x0, top, width, height);
      drawn++;
      if (width > 50) {
        ctx.save();
        ctx.beginPath();
        ctx.rect(x0, row.y, width, row.h);
        ctx.clip();
        ctx.fillStyle = thin ? "#5a4500" : "#fff";
        if (s.cat === "idle") ctx.fillStyle = "#2f5a2a";
        ctx.fillText(s.name === "step" ? "step " + (s.args.step ?? "") : s.name, x0 + 4, row.y + row.h / 2);
        ctx.restore();
      }
      if (s.args.slow) drawTriangle(ctx, Math.max(x0, 0), row.y + 1, COLOURS.slow);
    }
    for (const mark of row.lane.instants) {
      if (mark.ts < view.t0 || mark.ts > view.t1) continue;
      drawInstant(ctx, mark, Math.round(x(mark.ts)), row);
    }
  }

  if (state.showWakes) {
    ctx.strokeStyle = COLOURS.wake;
    ctx.fillStyle = COLOURS.wake;
    ctx.lineWidth = 1;
    for (const f of model.flows) {
      if (!f.from.row || !f.to.row) continue;
      if (Math.max(f.ts0, f.ts1) < view.t0 || Math.min(f.ts0, f.ts1) > view.t1) continue;
      drawArrow(ctx, x(f.ts0), f.from.row.y + f.from.row.h / 2, x(f.ts1), f.to.row.y + f.to.row.h / 2);
    }
  }

  // The axis last, over whatever scrolled under it.
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, top, w, AXIS_H);
  ctx.strokeStyle = "#bbb";
  ctx.fillStyle = "#555";
  ctx.beginPath();
  ctx.moveTo(0, top + AXIS_H - 0.5);
  ctx.lineTo(w, top + AXIS_H - 0.5);
  for (const [t, px] of ticks) {
    ctx.moveTo(px, top + AXIS_H - 6);
    ctx.lineTo(px, top + AXIS_H);
    const label = fmtDur(t);
    if (px + 3 + ctx.measureText(label).width < w)   // a label whole, or not at all
      ctx.fillText(label, px + 3, top + AXIS_H / 2);
  }
  ctx.stroke();
  // For a test: what was drawn, and where the canvas is on the page (to find it in a screenshot).
  const box = canvas.getBoundingClientRect();
  canvas.setAttribute("data-drawn-slices", drawn);
  canvas.setAttribute("data-box", [box.left + window.scrollX, box.top + window.scrollY, box.width, box.height]
                                    .map(Math.round).join(","));
}

function drawTriangle(ctx, px, top, colour) {
  ctx.fillStyle = colour;
  ctx.beginPath();
  ctx.moveTo(px - 5, top);
  ctx.lineTo(px + 5, top);
  ctx.lineTo(px, top + 7);
  ctx.closePath();
  ctx.fill();
}

function drawInstant(ctx, mark, px, row) {
  const mid = row.y + row.h / 2;
  if (mark.name === "failed" || mark.name === "cancelled") {
    // A red cross: the task ended badly. Thick enough to be seen at any zoom.
    ctx.strokeStyle = COLOURS.slow;
    ctx.lineWidth = 2.5;
    ctx.beginPath();
    ctx.moveTo(px - 5, mid - 5); ctx.lineTo(px + 5, mid + 5);
    ctx.moveTo(px + 5, mid - 5); ctx.lineTo(px - 5, mid + 5);
    ctx.stroke();
    ctx.lineWidth = 1;
  } else if (mark.name === "returned") {
    ctx.fillStyle = COLOURS.returned;
    ctx.beginPath();
    ctx.arc(px, mid, 4, 0, 2 * Math.PI);
    ctx.fill();
  } else {   // "created", or any other instant
    ctx.fillStyle = COLOURS.created;
    ctx.fillRect(px - 1, row.y + 2, 2, row.h - 4);
  }
}

function drawArrow(ctx, x0, y0, x1, y1) {
  // A curve that leaves the waker's lane and enters the woken one horizontally, so that
  // arrows between lanes far apart stay readable; the head points at the woken step.
  const bend = Math.max(Math.min(Math.abs(x1 - x0) / 2, 40), 12);
  ctx.beginPath();
  ctx.moveTo(x0, y0);
  ctx.bezierCurveTo(x0 + bend, y0, x1 - bend, y1, x1, y1);
  ctx.stroke();
  ctx.beginPath();
  ctx.moveTo(x1, y1);
  ctx.lineTo(x1 - 6, y1 - 3.5);
  ctx.lineTo(x1 - 6, y1 + 3.5);
  ctx.closePath();
  ctx.fill();
}

function drawCounters(ctx, row, x, w) {
  // The loop's ready queue as a step graph (timers and fds are in the tooltip).
  const counters = row.loop.counters;
  if (!counters.length) return;
  const most = Math.max(1, ...counters.map((c) => c.args.ready || 0));
  ctx.fillStyle = COLOURS.counter;
  for (let i = 0; i < counters.length; i++) {
    const c = counters[i], next = counters[i + 1];
    const x0 = Math.max(x(c.ts), 0), x1 = Math.min(next ? x(next.ts) : w, w);
    if (x1 < 0 || x0 > w) continue;
    const height = ((c.args.ready || 0) / most) * (row.h - 4);
    ctx.fillRect(Math.floor(x0), row.y + row.h - 2 - height, Math.max(Math.ceil(x1 - x0), 1), height);
  }
  ctx.fillStyle = "#777";
  ctx.fillText("max " + most, w - 48, row.y + row.h / 2);
}

// ---- hover: what is under the mouse ------------------------------------------------------------------

function hit(state, px, py) {
  py += state.top;   // the canvas shows the rows from state.top down
  if (py < state.top + AXIS_H) return null;
  const row = state.rows.find((r) => py >= r.y && py < r.y + r.h);
  if (!row) return null;
  const t = state.view.t0 + (px / state.width) * state.view.span;
  const slack = (4 / state.width) * state.view.span;   // 4 px either side: tiny slices can be hovered
  if (row.kind === "counters") {
    const counters = row.loop.counters;
    let found = null;
    for (const c of counters) { if (c.ts <= t) found = c; else break; }
    return found && { title: "loop step", lane: row.loop.name, ts: found.ts, args: found.args };
  }
  if (!row.lane) return null;
  let best = null, bestDistance = Infinity;
  for (const mark of row.lane.instants) {
    const d = Math.abs(mark.ts - t);
    if (d <= slack && d < bestDistance) {
      best = { title: mark.name, lane: row.lane.name, ts: mark.ts, args: mark.args };
      bestDistance = d;
    }
  }
  if (best) return best;
  const slices = row.lane.slices;
  for (let i = firstEndingAfter(slices, t - slack); i < slices.length && slices[i].ts <= t + slack; i++) {
    const s = slices[i];
    const d = t < s.ts ? s.ts - t : t > s.ts + s.dur ? t - s.ts - s.dur : 0;
    if (d < bestDistance) { best = s; bestDistance = d; }
  }
  return best && { title: best.name === "step" ? "step " + (best.args.step ?? "") : best.name,
                   lane: row.lane.name, ts: best.ts, dur: best.dur, cat: best.cat, args: best.args, slice: best };
}

function tooltipText(state, found) {
  const lines = [found.title, "lane: " + found.lane, "at: " + fmtDur(found.ts - state.model.first)];
  if (found.dur !== undefined) lines.push("duration: " + fmtDur(found.dur));
  if (found.cat) lines.push("category: " + found.cat);
  for (const [k, v] of Object.entries(found.args || {})) lines.push(k + ": " + JSON.stringify(v));
  return lines.join("\n");
}

// ---- the tables, one per loop ------------------------------------------------------------------------

const COLUMNS = [
  { key: "name", title: "task", cls: "name", text: (l) => l.name, sortBy: (l) => l.name },
  { key: "busy", title: "busy", text: (l) => fmtDur(l.busy), sortBy: (l) => l.busy,
    tip: "time spent running: the sum of its steps" },
  { key: "idle", title: "idle", text: (l) => fmtDur(l.idle), sortBy: (l) => l.idle,
    tip: "time spent suspended: the sum of its awaiting slices" },
  { key: "steps", title: "steps", text: (l) => String(l.steps), sortBy: (l) => l.steps },
  { key: "wakeups", title: "wake-ups", text: (l) => String(l.wakeups), sortBy: (l) => l.wakeups,
    tip: "wake arrows that end on it: wake-ups by a step or a timer (I/O wakes it between steps, without one)" },
  { key: "self", title: "self-wakes", text: (l) => String(l.selfWakes), sortBy: (l) => l.selfWakes,
    tip: "wake-ups by one of its own steps (sleep(0), a yield)" },
  { key: "ended", title: "ended", cls: "ended", text: (l) => l.ended || "still pending",
    sortBy: (l) => l.ended || "~" },
  { key: "by", title: "created by", cls: "by", text: (l) => l.createdBy || "", sortBy: (l) => l.createdBy || "" },
];

function buildTables(state, box) {
  box.textContent = "";
  for (const loop of state.model.loops) {
    box.appendChild(el("h2", {}, "Tasks of " + loop.name + " (" + loop.tasks.length + ")"));
    const table = el("table", { class: "tasks", id: "tasks-" + loop.pid, "data-pid": loop.pid });
    const head = el("tr");
    for (const c of COLUMNS) head.appendChild(el("th", Object.assign({ class: c.cls || "" }, c.tip ? { title: c.tip } : {}), c.title));
    table.appendChild(head);
    let rows = loop.tasks.slice(), sortedBy = null;
    const fill = () => {
      while (table.rows.length > 1) table.deleteRow(1);
      for (const lane of rows) table.appendChild(taskRow(state, lane));
    };
    head.querySelectorAll("th").forEach((th, i) => th.addEventListener("click", () => {
      const c = COLUMNS[i], descending = sortedBy === c.key;   // a second click reverses
      rows.sort((a, b) => { const p = c.sortBy(a), q = c.sortBy(b); return p < q ? -1 : p > q ? 1 : 0; });
      if (descending) rows.reverse();
      sortedBy = descending ? null : c.key;
      fill();
    }));
    fill();
    box.appendChild(table);
  }
}

function taskRow(state, lane) {
  const tr = el("tr", { class: "task-row", id: `task-${lane.pid}-${lane.tid}`, "data-pid": lane.pid,
                        "data-tid": lane.tid, "data-name": lane.name, "data-steps": lane.steps,
                        "data-busy-us": lane.busy.toFixed(3), "data-idle-us": lane.idle.toFixed(3),
                        "data-wakeups": lane.wakeups, "data-self-wakes": lane.selfWakes,
                        "data-ended": lane.ended || "pending" });
  for (const c of COLUMNS) {
    const td = el("td", { class: c.cls || "" }, c.text(lane));
    if (c.key === "ended" && (lane.ended === "failed" || lane.ended === "cancelled")) td.classList.add("bad");
    if (c.key === "busy" && lane.slow) { td.classList.add("bad"); td.title = lane.slow + " slow step(s)"; }
    tr.appendChild(td);
  }
  // A click shows the task's lifetime on the timeline, and where its lane is.
  tr.addEventListener("click", () => {
    if (lane.first <= lane.last) state.view.show(lane.first, lane.last);
    state.redraw();
    const label = document.getElementById(`lane-${lane.pid}-${lane.tid}`);
    label.scrollIntoView({ block: "center" });
    label.classList.add("flash");
    setTimeout(() => label.classList.remove("flash"), 1200);
  });
  return tr;
}

function buildLegend(box) {
  const items = [["step", COLOURS.step], ["awaiting", COLOURS.wait], ["loop callback / timer", COLOURS.loopItem],
                 ["epoll_wait (idle)", COLOURS.idle], ["slow step, failed / cancelled", COLOURS.slow],
                 ["returned", COLOURS.returned], ["ready items", COLOURS.counter]];
  for (const [name, colour] of items) {
    const item = el("span");
    item.appendChild(el("span", { class: "swatch", style: "background:" + colour }));
    item.appendChild(document.createTextNode(name));
    box.appendChild(item);
  }
  box.appendChild(el("span", {}, "→ wake-up: from the step that woke a task to its next step"));
}

// ---- putting it together -------------------------------------------------------------------------

function main() {
  const data = JSON.parse(document.getElementById("trace-data").textContent);
  const model = buildModel(data.events);
  const { rows, height } = layout(model);
  const canvas = document.getElementById("canvas");
  const state = { model, rows, height, canvas, view: new View(model.first, model.last), showWakes: true,
                  width: 1, top: 0 };
  let pending = false;
  state.redraw = () => {   // at most one drawing per frame, however many events ask for one
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; draw(state); });
  };

  const tasks = model.loops.reduce((n, l) => n + l.tasks.length, 0);
  const steps = model.loops.reduce((n, l) => n + l.tasks.reduce((m, t) => m + t.steps, 0), 0);
  const summary = document.getElementById("summary");
  summary.textContent = `${data.source}: ${model.loops.length} loop(s), ${tasks} task(s), ${steps} steps, ` +
                        `${fmtDur(model.last - model.first)}, ${data.events.length} events`;
  summary.setAttribute("data-loop-count", model.loops.length);
  summary.setAttribute("data-task-count", tasks);
  summary.setAttribute("data-step-count", steps);
  summary.setAttribute("data-duration-us", (model.last - model.first).toFixed(3));
  summary.setAttribute("data-event-count", data.events.length);
  if (!data.closed)
    document.getElementById("note").textContent = "The file has no closing ']': the program crashed or was " +
      "still running" + (data.dropped ? `; ${data.dropped} cut line(s) left out` : "") + ".";

  document.getElementById("labels").style.height = height + "px";
  document.getElementById("canvas-box").style.height = height + "px";
  buildLabels(rows, document.getElementById("labels"));
  buildLegend(document.getElementById("legend"));
  buildTables(state, document.getElementById("tables"));
  draw(state);   // now, not at the next frame: a screenshot is taken as soon as the page loads
  wireInput(state);
  window.aioTrace = state;   // for the browser's console, and for the test that drives the page
  document.body.setAttribute("data-ready", "true");
}

function wireInput(state) {
  const { canvas, view } = state;
  const tooltip = document.getElementById("tooltip");
  const zoomAtCentre = (factor) => { view.zoom(factor, state.width / 2, state.width); state.redraw(); };
  const panBy = (fraction) => { view.pan(view.span * fraction); state.redraw(); };
  document.getElementById("zoom-in").onclick = () => zoomAtCentre(0.5);
  document.getElementById("zoom-out").onclick = () => zoomAtCentre(2);
  document.getElementById("pan-left").onclick = () => panBy(-0.25);
  document.getElementById("pan-right").onclick = () => panBy(0.25);
  document.getElementById("fit").onclick = () => { view.fit(); state.redraw(); };
  document.getElementById("show-wakes").onchange = (e) => { state.showWakes = e.target.checked; state.redraw(); };

  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();   // the wheel zooms the timeline, not the page (the labels still scroll it)
    if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
      view.pan(((e.deltaX || e.deltaY) / state.width) * view.span);
    } else {
      view.zoom(Math.pow(1.0015, e.deltaY), e.offsetX, state.width);
    }
    state.redraw();
  }, { passive: false });

  let drag = null;
  canvas.addEventListener("mousedown", (e) => {
    e.preventDefault();   // a drag pans; it selects no text
    drag = { x: e.clientX, t0: view.t0 };
    canvas.classList.add("dragging");
  });
  window.addEventListener("mouseup", () => { drag = null; canvas.classList.remove("dragging"); });
  window.addEventListener("mousemove", (e) => {
    if (!drag) return;
    view.pan(drag.t0 - view.t0 - ((e.clientX - drag.x) / state.width) * view.span);
    state.redraw();
  });

  canvas.addEventListener("mousemove", (e) => {
    const found = drag ? null : hit(state, e.offsetX, e.offsetY);
    if (!found) { tooltip.hidden = true; return; }
    tooltip.textContent = tooltipText(state, found);
    tooltip.hidden = false;
    // Beside the mouse, but inside the window.
    const left = Math.min(e.clientX + 14, window.innerWidth - tooltip.offsetWidth - 8);
    const top = Math.min(e.clientY + 14, window.innerHeight - tooltip.offsetHeight - 8);
    tooltip.style.left = left + "px";
    tooltip.style.top = top + "px";
  });
  canvas.addEventListener("mouseleave", () => { tooltip.hidden = true; });
  canvas.addEventListener("dblclick", (e) => {
    const found = hit(state, e.offsetX, e.offsetY);
    if (found && found.slice) { view.show(found.slice.ts, found.slice.ts + found.slice.dur); state.redraw(); }
  });

  window.addEventListener("keydown", (e) => {
    if (e.target.tagName === "INPUT" || e.ctrlKey || e.metaKey || e.altKey) return;
    const keys = { w: () => zoomAtCentre(0.7), "+": () => zoomAtCentre(0.7), "=": () => zoomAtCentre(0.7),
                   s: () => zoomAtCentre(1 / 0.7), "-": () => zoomAtCentre(1 / 0.7),
                   a: () => panBy(-0.15), ArrowLeft: () => panBy(-0.15),
                   d: () => panBy(0.15), ArrowRight: () => panBy(0.15),
                   "0": () => { view.fit(); state.redraw(); } };
    const action = keys[e.key.length === 1 ? e.key.toLowerCase() : e.key];
    if (action) { action(); e.preventDefault(); }
  });
  window.addEventListener("resize", state.redraw);
  window.addEventListener("scroll", state.redraw);   // the canvas shows the rows in sight
}

main();
</script>
</body>
</html>
"""


# ---- a picture of the page, with headless Chromium ----------------------------------------------

def chromium() -> str | None:
    """Debian's chromium (make deps-browser), or another Chrome-like browser on the PATH."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def headless(args: list[str], timeout_s: float = 60) -> subprocess.CompletedProcess:
    """Runs the browser headless, with a throwaway profile. --no-sandbox: the sandbox cannot start
    as root (as CI runs); the page is our own file, with nothing to fetch."""
    browser = chromium()
    if browser is None:
        raise FileNotFoundError("chromium is not installed (make deps-browser installs it)")
    with tempfile.TemporaryDirectory(prefix="aio-chromium-") as profile:
        return subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                               "--no-first-run", f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=timeout_s)


def screenshot(page_path: Path, png: Path, size: tuple[int, int] = (1280, 800)) -> None:
    done = headless([f"--screenshot={png.resolve()}", f"--window-size={size[0]},{size[1]}",
                     page_path.resolve().as_uri()])
    if done.returncode != 0 or not png.exists():
        raise RuntimeError(f"chromium made no screenshot of {page_path}:\n{done.stderr[-2000:]}")


def dump_dom(page_path: Path, size: tuple[int, int] = (1280, 800)) -> str:
    """The page's DOM once its scripts have run, as HTML."""
    done = headless(["--dump-dom", f"--window-size={size[0]},{size[1]}", page_path.resolve().as_uri()])
    if done.returncode != 0:
        raise RuntimeError(f"chromium could not load {page_path}:\n{done.stderr[-2000:]}")
    return done.stdout


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("trace", type=Path, help="the trace file (AIO_TRACE=...)")
    p.add_argument("-o", "--output", type=Path, required=True, help="the HTML page to write")
    p.add_argument("--title", help="the page's title (default: the trace's file name)")
    p.add_argument("--png", type=Path, help="also a 1280×800 screenshot of the page (headless chromium)")
    args = p.parse_args()
    try:
        trace = read_trace(args.trace)
    except OSError as e:
        print(f"trace_view: {e}", file=sys.stderr)
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(page(trace, args.title or f"aio trace: {args.trace.name}", args.trace.name))
    print(f"{args.output}: {summarize(trace.events).line()}")
    if args.png:
        try:
            screenshot(args.output, args.png)
        except (OSError, RuntimeError) as e:
            print(f"trace_view: {e}", file=sys.stderr)
            return 1
        print(f"{args.png}: a screenshot of it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
