# Benchmarks (included by the Makefile; never part of `make check`).
# `make bench` runs test/bench/bench.sh: it measures the machine's roofline
# (bench_roofline: sgemm at BENCH_THREADS threads through libbigmodel and
# through OpenBLAS on its own kernels, and a STREAM-style triad), then, per
# kernel path of BENCH_ISA, the tables of run.sh (seed CNN, MLPs, ResNet and
# the 37M-parameter MLP with its roofline floor), bench_text.sh (LSTM,
# word2vec) and bench_gpt.sh (GPT at d 128, and at d 768 with 12 layers with
# its roofline floor). Each workload runs libbigmodel and, when
# $(PYTHON) can import torch, the same model in PyTorch, in BENCH_PAIRS
# interleaved pairs of processes; the tables give medians, the median ratio
# with its min-max and each side's spread (docs/performance.md).
#
# BENCH_THREADS (2) threads each side; BENCH_SECONDS (3) timed per run;
# BENCH_PAIRS (5); BENCH_ISA (unset: this machine's path; all; or a list of
# avx512 avx2 generic); BENCH_TABLES (models text gpt: which tables run after
# the roofline); BENCH_GPT768=0 leaves out the GPT d 768 training row (about
# 2 minutes per path); BENCH_TORCH=0 runs the library side only;
# BENCH_SUMMARY=FILE appends every row to FILE (compare two runs with
# test/bench/compare_runs.sh). A short check of the machinery:
#     make bench BENCH_SECONDS=1 BENCH_PAIRS=2 BENCH_SGEMM_SIZES=1024
# `make bench-gemm-shapes` times the own SGEMM kernels against BLAS per shape.

BENCH_THREADS ?= 2
BENCH_SECONDS ?= 3
BENCH_PAIRS ?= 5

$(BUILD)/bench/bench_models: test/bench/bench_models.c test/bench/bench_util.h examples/seed_cnn.h lib
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(CFLAGS) $(WARN) -D_POSIX_C_SOURCE=200809L -Iinclude $< -o $@ \
	    -L$(BUILD) -Wl,-rpath,'$$ORIGIN/..' -lbigmodel -lm

$(BUILD)/bench/bench_roofline: test/bench/bench_roofline.c test/bench/bench_util.h lib
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(CFLAGS) $(WARN) -D_POSIX_C_SOURCE=200809L -Iinclude $(BLAS_CFLAGS) $< \
	    -o $@ -L$(BUILD) -Wl,-rpath,'$$ORIGIN/..' -lbigmodel $(BLAS_LIBS) -lpthread -ldl

bench: $(BUILD)/bench/bench_models $(BUILD)/bench/bench_roofline
	@BENCH_THREADS=$(BENCH_THREADS) BENCH_SECONDS=$(BENCH_SECONDS) BENCH_PAIRS=$(BENCH_PAIRS) \
	    sh test/bench/bench.sh "$(BUILD)" "$(PYTHON)"

# Own SGEMM kernels against BLAS per shape (one thread), linked statically
# for the internal entry points: `make bench-gemm-shapes`.
$(BUILD)/bench/bench_gemm_shapes: test/bench/bench_gemm_shapes.c $(STLIB)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(CFLAGS) $(WARN) -D_POSIX_C_SOURCE=200809L -Iinclude -Ilib $(BLAS_CFLAGS) \
	    $< -o $@ $(STLIB) $(LIBS)

bench-gemm-shapes: $(BUILD)/bench/bench_gemm_shapes
	@env -u OPENBLAS_CORETYPE $(BUILD)/bench/bench_gemm_shapes
