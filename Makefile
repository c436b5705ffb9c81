# attnkit: build the library, the programs and the tests.
#   make            library + programs
#   make test       build and run the Criterion suite
#   make sanitize   the suite under ASan + UBSan
#   make bench-gemm SGEMM against OpenBLAS (needs libopenblas-dev)
CC      ?= gcc
OPT     ?= -O2
CFLAGS  ?= $(OPT)
ALLCFLAGS = -std=c11 -fopenmp -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L \
            -Ilib $(CFLAGS) $(EXTRA_CFLAGS)
LDLIBS  = -lz -lm
BUILD  ?= build

LIB_SRC  := $(shell find lib -name '*.c' | sort)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB      := $(BUILD)/libattnkit.a
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
TEST_BIN := $(BUILD)/run_tests
# Each train/NAME.c and infer/NAME.c is one program, bin/NAME: a thin front
# over the library (shared code belongs in lib/).
PROGS    := $(patsubst %.c,bin/%,$(notdir $(wildcard train/*.c infer/*.c)))

.PHONY: all test sanitize bench-gemm clean
all: $(LIB) $(PROGS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

bin/%: $(BUILD)/train/%.o $(LIB)
	@mkdir -p bin
	$(CC) $(ALLCFLAGS) $^ -o $@ $(LDLIBS)

bin/%: $(BUILD)/infer/%.o $(LIB)
	@mkdir -p bin
	$(CC) $(ALLCFLAGS) $^ -o $@ $(LDLIBS)

$(TEST_BIN): $(TEST_OBJ) $(LIB)
	$(CC) $(ALLCFLAGS) $(TEST_OBJ) $(LIB) -o $@ -lcriterion $(LDLIBS)

# Criterion runs each test in its own process; --jobs 2 matches the CI box.
test: $(TEST_BIN)
	OMP_NUM_THREADS=2 $(TEST_BIN) --jobs 2 $(TEST_ARGS)

sanitize:
	$(MAKE) BUILD=build-san OPT="-O1 -g -fno-omit-frame-pointer" \
	  EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all" \
	  build-san/run_tests
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  OMP_NUM_THREADS=2 build-san/run_tests --jobs 2 $(TEST_ARGS)

$(BUILD)/bench_gemm: tests/bench/bench_gemm.c $(LIB)
	$(CC) $(ALLCFLAGS) $< $(LIB) -o $@ -lopenblas $(LDLIBS)

# BENCH_ARGS="--layouts" adds the TN / NT tables; see tests/bench/bench_gemm.c.
bench-gemm: $(BUILD)/bench_gemm
	$(BUILD)/bench_gemm $(BENCH_ARGS)

clean:
	rm -rf build build-san bin

-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d)
