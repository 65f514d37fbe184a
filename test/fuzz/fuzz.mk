# Fuzz targets of the file parsers (included by the Makefile): every
# test/fuzz/fuzz_*.c is built with clang's libFuzzer, AddressSanitizer and
# UBSan against the library's sources compiled once into $(FUZZ_DIR)/obj
# (archives in $(FUZZ_DIR); a target links only what it uses, and the 12
# targets share the objects), and runs from the seed corpus in
# test/fuzz/corpus/<name>/. New inputs go to $(BUILD)/fuzz/corpus-<name>,
# crashes to $(BUILD)/fuzz/.
#
# What is instrumented (docs/reliability.md, "Fuzzing"): every source but
# lib/kernels/ gets ASan, UBSan and libFuzzer's coverage at -O1. The numeric
# kernels (lib/kernels/*.c: loops over pointers and sizes that their callers
# have checked) keep ASan and UBSan but get no coverage and are compiled at
# -O0: at -O1 clang took more than 10 minutes of CPU on the sanitized
# gemm_avx512.c alone, at -O0 12 s; coverage of numeric loops would only
# steer the fuzzer towards sizes, not towards new input structure. Every
# access is still checked (-O0 elides none).
#
# make fuzz       each target for FUZZ_SECONDS (CI's smoke run)
# make fuzz-long  each target for FUZZ_RUNS executions (1,000,000), printing
#                 the counts; not part of CI or make check
# Both fail when any target crashes, leaks or trips a sanitizer. With -jN,
# N targets run at a time (each on its own core, for the same time or count).

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 30
FUZZ_RUNS    ?= 1000000
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_NAMES   := $(patsubst test/fuzz/fuzz_%.c,%,$(sort $(wildcard test/fuzz/fuzz_*.c)))
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_DEFS    := -std=c11 -g -D_POSIX_C_SOURCE=200809L -DBGM_BUILDING_LIBRARY \
                -Iinclude -Ilib $(shell pkg-config --cflags openblas 2>/dev/null)
# The file parsers live in lib/{core,data,io,text}; fuzz_model needs the
# whole library (layers, ops, kernels, optimizers) and a CBLAS.
FUZZ_PARSER_OBJS := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(sort $(wildcard lib/core/*.c \
                    lib/data/*.c lib/io/*.c lib/text/*.c)))
FUZZ_ALL_OBJS  := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(LIB_SRCS))
FUZZ_KERNEL_OBJS := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(sort $(wildcard lib/kernels/*.c)))
FUZZ_BLAS_LIBS := $(shell pkg-config --libs openblas 2>/dev/null || echo -lblas)

FUZZ_OBJ_FLAGS := -O1 -fsanitize=fuzzer-no-link $(FUZZ_SAN)
$(FUZZ_KERNEL_OBJS): FUZZ_OBJ_FLAGS := -O0 $(FUZZ_SAN)

$(FUZZ_DIR)/obj/%.o: %.c $(wildcard lib/*/*.h include/*.h include/bigmodel/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_DEFS) $(FUZZ_OBJ_FLAGS) -c $< -o $@

$(FUZZ_DIR)/libbgm_parsers.a: $(FUZZ_PARSER_OBJS)
	rm -f $@
	ar rcs $@ $(FUZZ_PARSER_OBJS)

$(FUZZ_DIR)/libbgm_all.a: $(FUZZ_ALL_OBJS)
	rm -f $@
	ar rcs $@ $(FUZZ_ALL_OBJS)

$(FUZZ_DIR)/fuzz_%: test/fuzz/fuzz_%.c $(FUZZ_DIR)/libbgm_parsers.a $(wildcard test/fuzz/*.h)
	$(FUZZ_CC) $(FUZZ_DEFS) -O1 -fsanitize=fuzzer $(FUZZ_SAN) $< $(FUZZ_DIR)/libbgm_parsers.a \
	    -o $@ -lz -lm -lpthread -ldl

# The model reader and the JSON configs need the whole library.
$(FUZZ_DIR)/fuzz_model $(FUZZ_DIR)/fuzz_json: $(FUZZ_DIR)/fuzz_%: test/fuzz/fuzz_%.c $(FUZZ_DIR)/libbgm_all.a \
    $(wildcard test/fuzz/*.h)
	$(FUZZ_CC) $(FUZZ_DEFS) -O1 -fsanitize=fuzzer $(FUZZ_SAN) $< $(FUZZ_DIR)/libbgm_all.a \
	    -o $@ $(FUZZ_BLAS_LIBS) -lz -lm -lpthread -ldl

# One run per target, so that make -j runs them side by side, each as soon
# as its binary is built (the parser targets while the kernels compile).
FUZZ_LIMIT   = -max_total_time=$(FUZZ_SECONDS)
FUZZ_RUNNERS := $(FUZZ_NAMES:%=fuzz-run-%)
.PHONY: $(FUZZ_RUNNERS)

$(FUZZ_RUNNERS): fuzz-run-%: $(FUZZ_DIR)/fuzz_%
	@sh test/fuzz/run.sh "$(FUZZ_DIR)" "$(FUZZ_LIMIT)" $*

fuzz: $(FUZZ_RUNNERS)

fuzz-long: FUZZ_LIMIT = -runs=$(FUZZ_RUNS)
fuzz-long: $(FUZZ_RUNNERS)
