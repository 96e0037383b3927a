# Makefile of a lesson handout (made by `make handout LESSON=NN` in the aio repository).
#
#   make test   build your runtime with the suites of lessons 01..NN and run them
#   make run    build and run this lesson's example (compare with: python3 example.py)
#
# Needs g++ 12 (or clang++ 14) and Debian's doctest-dev. The holes to fill are the functions
# that throw aio::not_implemented in runtime/aio/; README.md is the lesson text.
CXX ?= g++
CXXFLAGS ?= -std=c++20 -O2 -g -Wall -Wextra -Wpedantic
# The runtime's sources and headers: aio/ and its folders (aio/net/, aio/http/).
RUNTIME_SRCS := $(shell find runtime/aio -name '*.cpp')
HEADERS := $(shell find runtime/aio -name '*.hpp')
TEST_SRCS := $(wildcard tests/*/*.cpp)

test: build/test
	./build/test

run: build/example
	./build/example

build/%.o: %.cpp $(HEADERS)
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) -Iruntime -Itests -c $< -o $@

build/test: $(patsubst %.cpp,build/%.o,$(RUNTIME_SRCS) $(TEST_SRCS) tests/doctest_main.cpp)
	$(CXX) $^ -o $@

build/example: $(patsubst %.cpp,build/%.o,$(RUNTIME_SRCS) example.cpp)
	$(CXX) $^ -o $@

clean:
	rm -rf build

.PHONY: test run clean
