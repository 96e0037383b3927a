# aio — asyncio rebuilt in C++20, one lesson at a time.   `make help` lists what you can do.
#
# The build itself lives in tools/build.mk and the course logic in tools/course.py; this file is
# the front door. Every target first makes sure the tools it needs are installed (tools/deps.sh).

MODE ?= release
CXX ?= g++
LESSON ?=
PREFIX ?= /usr/local
PYTHON := python3
COURSE := $(PYTHON) tools/course.py
ifneq ($(FORCE),)
FORCE_FLAG := --force
endif
# tsan runs only the suites of the lessons with threads (tools/course.py's FIRST_THREADED_LESSON).
# -O0 with g++ only: it is g++ that stops making symmetric transfer a tail call below -O2 (the
# stack rule of lesson 03); clang++ makes it one at every level, and its -O1 (sanitize) and -O2
# (release) builds are in the matrix already.
MATRIX := release:clang++ debug:g++ sanitize:g++ sanitize:clang++ tsan:g++ tsan:clang++

FUZZ_SECONDS ?= 60

.PHONY: help run test test-matrix bench fuzz exercise check watch progress solution handout install readmes \
        compile_commands.json clean deps deps-clang deps-browser trace trace-picture

help:
	@echo "make run [LESSON=NN]      build and run every lesson's example (one: beside CPython's output;"
	@echo "                          your workspace's code if you have one, REFERENCE=1: the reference)"
	@echo "make test                 build every lesson's snapshot and exercise, run every suite"
	@echo "make test-matrix          the whole runtime's suites in debug, sanitizer and clang++ builds,"
	@echo "                          the threaded lessons' (12 on) under ThreadSanitizer"
	@echo "                          (MODE=release|debug|sanitize|tsan CXX=g++|clang++ choose one build)"
	@echo "make bench                spawn, yield, timers, http, queue, lock, timeout, to_thread beside"
	@echo "                          Boost.Asio, asyncio, uvloop (never part of test)"
	@echo "make fuzz [FUZZ_SECONDS=60]  libFuzzer over lesson 09's HTTP parsers (never part of test)"
	@echo "make trace LESSON=NN      run lesson NN's programs with AIO_TRACE: build/trace/NN.json and an"
	@echo "                          offline timeline page, build/trace/NN.html"
	@echo "make trace-picture        lessons/13-tracing/timeline.png, a screenshot of that page (chromium)"
	@echo "make exercise LESSON=NN   your own copy of lesson NN's exercise, in workspace/ (FORCE=1: start over)"
	@echo "make check LESSON=NN      grade your workspace: each hole, each failing test and why (ALL=1, TRACE=test)"
	@echo "make watch LESSON=NN      the same at every save of your workspace"
	@echo "make progress             holes done per lesson, from your last checks (FRESH=1: check again)"
	@echo "make solution LESSON=NN HOLE=name  one hole's reference code (asks first)"
	@echo "make handout LESSON=NN    a standalone starter tree of lesson NN, for a class"
	@echo "make install PREFIX=dir   headers, libaio.a and lib/pkgconfig/aio.pc"
	@echo "make readmes              regenerate the code shown in lessons/*/README.md"
	@echo "make compile_commands.json  for clangd"

deps:
	@tools/deps.sh

deps-clang:
	@tools/deps.sh clang

# Headless Chromium and a font: the trace page's browser test (tests/course/) and make trace-picture.
deps-browser:
	@tools/deps.sh browser

# With LESSON=NN and a workspace for it, your own code runs the example (REFERENCE=1: the
# lesson's reference code instead).
run: deps
	@$(COURSE) run $(LESSON) --mode $(MODE) --cxx $(CXX) $(if $(REFERENCE),--reference)

test: deps
	@$(COURSE) test --mode $(MODE) --cxx $(CXX)

# Each build of the matrix on its own line so that a failure names its build; one summary.
test-matrix: deps deps-clang
	@failed=0; for build in $(MATRIX); do \
	  $(COURSE) test --reference-only --mode $${build%%:*} --cxx $${build##*:} || failed=1; \
	done; test $$failed = 0

# The peers' packages (Boost, uvloop, aiohttp, wrk, nginx) are installed for the benchmark
# harness only: nothing else needs them.
bench: deps
	@tools/deps.sh peers || echo "(without the peers' packages: our figures alone)"
	@$(COURSE) bench

fuzz: deps deps-clang
	@$(COURSE) fuzz --seconds $(FUZZ_SECONDS)

# Lesson 13's tracing on any lesson's programs (built against lesson 13's snapshot when older):
# build/trace/NN.json, and tools/trace_view.py's page of it, build/trace/NN.html.
trace: deps
	@test -n "$(LESSON)" || { echo "which lesson? make trace LESSON=04"; exit 2; }
	@$(COURSE) trace $(LESSON) --cxx $(CXX)

# The lesson's picture of that page; make test fails while tools/trace_view.py is newer than it.
trace-picture: deps deps-browser
	@$(COURSE) trace-picture --cxx $(CXX)

exercise: deps
	@test -n "$(LESSON)" || { echo "which lesson? make exercise LESSON=01"; exit 2; }
	@$(COURSE) exercise $(LESSON) $(FORCE_FLAG)

# ALL=1 lists every failing test; TRACE=text shows the loop's steps in the test whose name has it.
CHECK_FLAGS = $(if $(ALL),--all) $(if $(TRACE),--trace '$(TRACE)')

check: deps
	@test -n "$(LESSON)" || { echo "which lesson? make check LESSON=01"; exit 2; }
	@$(COURSE) check $(LESSON) $(CHECK_FLAGS)

# make check again at every save (inotifywait from inotify-tools; without it, a poll).
watch: deps
	@test -n "$(LESSON)" || { echo "which lesson? make watch LESSON=01"; exit 2; }
	@tools/deps.sh watch || echo "(make watch will poll for changes instead)"
	@$(COURSE) watch $(LESSON) $(CHECK_FLAGS)

# From what each check saved (workspace/.progress.json); FRESH=1 checks every workspace again.
progress: deps
	@$(COURSE) progress $(if $(FRESH),--fresh)

# One hole's reference code (lessons/NN-name/SOLUTION.md has them all), after a warning and y/N.
solution: deps
	@test -n "$(LESSON)" || { echo "which lesson? make solution LESSON=01 HOLE=name"; exit 2; }
	@$(COURSE) solution $(LESSON) $(HOLE)

handout: deps
	@test -n "$(LESSON)" || { echo "which lesson? make handout LESSON=01"; exit 2; }
	@$(COURSE) handout $(LESSON)

install: deps
	@$(COURSE) install $(PREFIX)

readmes: deps
	@$(COURSE) readmes

compile_commands.json:
	@$(COURSE) compile-commands

clean:
	rm -rf build compile_commands.json
