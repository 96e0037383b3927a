# tools/build.mk — compiles and links the test binaries and examples of source trees.
#
# Called by tools/course.py (never by hand), after it has generated the trees:
#   make -f tools/build.mk MODE=release CXX=g++ build/release-g++/snap-03/test ...
#
# A "tree" is one copy of the runtime: build/src/snap-NN (lesson NN's snapshot), build/src/ex-NN
# (its exercise), build/src/hole-NN-K (the exercise with only hole K cut), build/src/reference
# (the whole runtime), or a learner's workspace (ws-NN). For a tree T built in mode M:
#   build/M-CXX/T/test      doctest binary: T's runtime + the suites of lessons 01..NN
#   build/M-CXX/T/example   lessons/NN-*/example.cpp built against T (a workspace's own copy)
#   build/M-CXX/T/test-threaded  T's runtime + only the suites named in THREADED_SUITES (the tsan
#                           build's: compiling the other suites under TSan would cost minutes of CI)
# Header dependencies are tracked (-MMD), so only what changed is rebuilt.

MODE ?= release
CXX ?= g++
OUT := build/$(MODE)-$(notdir $(CXX))

# No -g in release: debug info is a third of a test file's compile time (task_test.cpp, g++ 12:
# 11.3 s with -g, 7.4 s without), and make test compiles ~80 trees. Debugging is MODE=debug's job.
CXXFLAGS_release  := -O2
CXXFLAGS_debug    := -O0 -g
# The sanitizer modes keep line tables only (-g1): their reports still name file and line, and
# g++ compiles a test file a third faster than with -g (task_test.cpp under ASan: 29.8 s -> 18.9 s;
# clang++ 16.3 s -> 14.5 s). Full debug info, for gdb, is MODE=debug's.
CXXFLAGS_sanitize := -O1 -g1 -fno-omit-frame-pointer -fsanitize=address,undefined \
                     -fno-sanitize-recover=undefined
# clang 14's -fsanitize=function (part of "undefined") cannot compile coroutines: "Cannot
# represent a difference across sections". Everything else of UBSan stays on.
ifneq ($(findstring clang,$(notdir $(CXX))),)
CXXFLAGS_sanitize += -fno-sanitize=function
endif
# ThreadSanitizer for the lessons that bring threads (12 on: to_thread, executors,
# call_soon_threadsafe). It cannot be combined with ASan, hence a mode of its own; g++ 12 and
# clang++ 14 both compile the coroutines with it as is (nothing like the note above is needed).
CXXFLAGS_tsan     := -O1 -g1 -fno-omit-frame-pointer -fsanitize=thread
ifeq ($(CXXFLAGS_$(MODE)),)
$(error MODE must be release, debug, sanitize or tsan, not '$(MODE)')
endif
WARNINGS := -Wall -Wextra -Wpedantic $(if $(filter true,$(CI)),-Werror)
CXXFLAGS := -std=c++20 $(CXXFLAGS_$(MODE)) $(WARNINGS) -MMD -MP $(EXTRA_CXXFLAGS)
LDFLAGS  := $(filter -fsanitize=%,$(CXXFLAGS_$(MODE)))

# $(call compile,flags): $< to $@. In release, through tools/cached-compile: the trees of make
# test share most of their files, and an object compiled once is copied to the others.
ifeq ($(MODE),release)
compile = tools/cached-compile $@ $(CXX) $1 $<
else
compile = $(CXX) $1 -c $< -o $@
endif

LESSON_DIRS := $(sort $(notdir $(wildcard lessons/[0-9][0-9]-*)))
# number("03-await") = 3
number = $(patsubst 0%,%,$(firstword $(subst -, ,$1)))
lessons_upto = $(wordlist 1,$(call number,$1),$(LESSON_DIRS))
lesson_dir = $(filter $1-%,$(LESSON_DIRS))

# Every .cpp of a tree's runtime, in aio/ and its folders (aio/net/, aio/http/, ...); an object
# keeps the source's folder: build/M-CXX/T/lib/http/client.o.
runtime_srcs = $(sort $(shell find $1/aio -name '*.cpp' 2>/dev/null))

# tree_rules(tree, source dir, lesson dirs whose suites it runs, lesson dir of its example)
define tree_rules
$(OUT)/$1/lib/%.o: $2/aio/%.cpp
	@mkdir -p $$(@D)
	$$(Q)$$(call compile,$$(CXXFLAGS) -I$2)
$(OUT)/$1/tests/%.o: tests/%.cpp
	@mkdir -p $$(@D)
	$$(Q)$$(call compile,$$(CXXFLAGS) -I$2 -Itests)
$(OUT)/$1/lib.a: $(patsubst $2/aio/%.cpp,$(OUT)/$1/lib/%.o,$(call runtime_srcs,$2))
	@mkdir -p $$(@D)
	$$(Q)rm -f $$@ && ar rcs $$@ $$^
$(OUT)/$1/test: $(patsubst tests/%.cpp,$(OUT)/$1/tests/%.o,$(foreach l,$3,$(wildcard tests/$l/*.cpp))) \
                $(OUT)/doctest_main.o $(OUT)/$1/lib.a
	$$(Q)$$(CXX) $$^ $$(LDFLAGS) -o $$@
$(OUT)/$1/test-threaded: $(patsubst tests/%.cpp,$(OUT)/$1/tests/%.o,$(foreach l,$(THREADED_SUITES),$(wildcard tests/$l/*.cpp))) \
                         $(OUT)/doctest_main.o $(OUT)/$1/lib.a
	$$(Q)$$(CXX) $$^ $$(LDFLAGS) -o $$@
$(OUT)/$1/example: $(or $(wildcard $2/example.cpp),lessons/$4/example.cpp) $(OUT)/$1/lib.a
	$$(Q)$$(CXX) $$(CXXFLAGS) -I$2 $$< $(OUT)/$1/lib.a $$(LDFLAGS) -o $$@
$(OUT)/$1/capstone: lessons/$4/capstone.cpp $(OUT)/$1/lib.a
	$$(Q)$$(CXX) $$(CXXFLAGS) -I$2 $$< $(OUT)/$1/lib.a $$(LDFLAGS) -o $$@
$(OUT)/$1/server: lessons/$4/server.cpp $(OUT)/$1/lib.a
	$$(Q)$$(CXX) $$(CXXFLAGS) -I$2 $$< $(OUT)/$1/lib.a $$(LDFLAGS) -o $$@
endef

# Quiet by default: one short line per step; V=1 shows the whole commands.
ifeq ($(V),1)
Q :=
else
Q = @echo "  $(if $(filter %.a,$@),AR ,$(if $(filter %.o,$@),CXX,LD )) $@" && 
endif

# The source dir, suites and example of each kind of tree (see the header comment).
#   snap-NN, ex-NN: suites 01..NN;  hole-NN-K: suite NN;  reference: all;
#   ws-NN: the learner's workspace/NN-*;  trial-NN: make test's own learner run, build/trial/NN-*;
#   wrong-NN-name: suite NN against a scripted wrong answer (the grader's self-test, tests/course/)
tree_kind = $(firstword $(subst -, ,$1))
tree_lesson = $(word 2,$(subst -, ,$1))
tree_src = $(strip $(or $(if $(filter ws,$(call tree_kind,$1)),workspace/$(call lesson_dir,$(call tree_lesson,$1))),\
                $(if $(filter trial,$(call tree_kind,$1)),build/trial/$(call lesson_dir,$(call tree_lesson,$1))),\
                build/src/$1))
tree_suites = $(if $(filter reference,$1),$(LESSON_DIRS),$(if $(filter hole wrong,$(call tree_kind,$1)),$(call lesson_dir,$(call tree_lesson,$1)),$(call lessons_upto,$(call lesson_dir,$(call tree_lesson,$1)))))
tree_example = $(call lesson_dir,$(call tree_lesson,$1))

# Trees are named by the goals asked for: build/M-CXX/<tree>/<what>.
TREES := $(sort $(foreach g,$(MAKECMDGOALS),$(word 3,$(subst /, ,$g))))
$(foreach t,$(TREES),$(eval $(call tree_rules,$t,$(call tree_src,$t),$(call tree_suites,$t),$(call tree_example,$t))))

# doctest's own main() is the slowest thing to compile: once per mode and compiler. (Its trace
# listener sees only aio/detail/loop_observer.hpp, the same in every tree: runtime/'s will do.)
$(OUT)/doctest_main.o: tests/doctest_main.cpp
	@mkdir -p $(@D)
	$(Q)$(CXX) $(CXXFLAGS) -Iruntime -Itests -c $< -o $@

-include $(shell find $(OUT) -name '*.d' 2>/dev/null)
.DELETE_ON_ERROR:
