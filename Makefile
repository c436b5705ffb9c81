# attnkit: build the library, the programs and the tests.
#   make            library + programs
#   make test       build and run the Criterion suite
#   make sanitize   the suite under ASan + UBSan
#   make bench-gemm SGEMM against OpenBLAS (needs libopenblas-dev)
#   make bench      training steps of the reference models (TSV)
#   make bench-compare  the same, alternating with the PyTorch twin (PEER=dir)
#   make bench-decode   greedy decoding of eng-deu validation, ours vs the twin (CKPT=path)
SHELL   := /bin/bash
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

.PHONY: all test sanitize bench-gemm clean demo
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
	@# Criterion can count a test whose process leaks as passed: also fail on
	@# any sanitizer report in the output.
	set -o pipefail; ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  OMP_NUM_THREADS=2 build-san/run_tests --jobs 2 $(TEST_ARGS) 2>&1 | tee build-san/report.txt
	@! grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" build-san/report.txt || \
	  { echo "sanitize: reports above (build-san/report.txt)"; exit 1; }

$(BUILD)/bench_gemm: tests/bench/bench_gemm.c $(LIB)
	$(CC) $(ALLCFLAGS) $< $(LIB) -o $@ -lopenblas $(LDLIBS)

# BENCH_ARGS="--layouts" adds the TN / NT tables; see tests/bench/bench_gemm.c.
bench-gemm: $(BUILD)/bench_gemm
	$(BUILD)/bench_gemm $(BENCH_ARGS)

# Training steps (tests/bench/bench_train.c): one process per (model,
# threads), so that each peak RSS is that model's own.
# BENCH_TRAIN_ARGS="--steps 40", "--profile" or "--nice -15" (a shared box: take the
# CPUs first); BENCH_MODELS / BENCH_THREADS pick rows.
.PHONY: bench bench-compare
BENCH_MODELS  ?= t-tiny t-small r-small
BENCH_THREADS ?= 1 2
PEER ?= ../shared/peer
$(BUILD)/bench_train: tests/bench/bench_train.c $(LIB)
	$(CC) $(ALLCFLAGS) $< $(LIB) -o $@ $(LDLIBS)

bench: $(BUILD)/bench_train
	@printf 'model\tthreads\ttokens_per_s\tstep_ms_median\tpeak_rss_mib\n'
	@for m in $(BENCH_MODELS); do for t in $(BENCH_THREADS); do \
	  $(BUILD)/bench_train --model $$m --threads $$t $(BENCH_TRAIN_ARGS) || exit 1; done; done

# Ours and the twin ($(PEER)/torch_ref.py) alternately, with the load of other
# jobs seen by each run; COMPARE_ARGS="--reps 3 --nice -15" for medians on a
# shared box (tests/bench/compare.py --help).
bench-compare: $(BUILD)/bench_train
	/usr/bin/python3 tests/bench/compare.py --ours $(BUILD)/bench_train --twin $(PEER)/torch_ref.py \
	  --models "$(BENCH_MODELS)" --threads "$(BENCH_THREADS)" $(COMPARE_ARGS)

# Greedy decoding of a trained run's validation split (tests/bench/decode_bench.c)
# against the twin's greedy decoder on the same weights, alternating
# (tests/bench/decode_compare.py --help). Needs a checkpoint:
# bin/train configs/eng-deu-transformer.ini. DECODE_ARGS="--reps 3 --nice -15".
.PHONY: bench-decode
CKPT ?= runs/eng-deu-transformer/ckpt/best.ckpt
$(BUILD)/decode_bench: tests/bench/decode_bench.c $(LIB)
	$(CC) $(ALLCFLAGS) $< $(LIB) -o $@ $(LDLIBS)

bench-decode: $(BUILD)/decode_bench
	/usr/bin/python3 tests/bench/decode_compare.py --ours $(BUILD)/decode_bench --peer $(PEER) \
	  --ckpt $(CKPT) --threads "$(BENCH_THREADS)" $(DECODE_ARGS)

clean:
	rm -rf build build-san bin

-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d)

# make demo: trains configs/demo.ini (about 3 minutes on 2 cores), then
# translates a few new sentences with their attention maps and draws how the
# attention of one probe evolved over the epochs. Each demo gets a fresh run
# directory, so earlier runs are kept.
demo: all
	@set -e; run=runs/demo-$$(date +%Y%m%d-%H%M%S); \
	bin/train configs/demo.ini --run-dir $$run; \
	echo; echo "== New sentences, each with its cross-attention (rows: German output, columns: English input)"; \
	bin/infer --ckpt $$run/ckpt/best.ckpt --show-attn ascii \
	  "Who is your teacher?" "I have never seen this film." "We will go home tomorrow."; \
	echo "== How one probe's attention formed: before training, and after the last epoch"; \
	bin/attnview $$run --probe 0 --epoch 0; \
	bin/attnview $$run --probe 0 --epoch last; \
	bin/attnview $$run --probe 0 --epoch all --png $$run/evolution.png; \
	bin/attnview $$run --probe 0 --head all --epoch last --png $$run/heads.png; \
	echo; echo "Run directory: $$run"; \
	echo "  $$run/evolution.png   cross-attention of probe 0 at every epoch"; \
	echo "  $$run/heads.png       every head of the last layer, last epoch"; \
	echo "  $$run/metrics.tsv     loss, BLEU and speed per epoch"; \
	echo "  $$run/attn_stats.tsv  entropy, diagonality, AER per head and epoch"; \
	echo "Explore: bin/attnview $$run --stats   |   bin/infer --ckpt $$run/ckpt/best.ckpt --show-attn ascii"
