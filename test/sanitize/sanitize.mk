# Sanitizer runs (included by the Makefile).
#
# make check-sanitize: the library, both C runners and the Python suite built
# with AddressSanitizer + UBSan (-fno-sanitize-recover=all: the first report
# fails the run) in their own build directory, $(SAN_BUILD). The C runners run
# without fork (CK_FORK=no, as under valgrind) so LeakSanitizer checks the
# whole process at exit. The Python suite runs the ASan-built library under
# Debian's python3 with the ASan runtime preloaded and PYTHONMALLOC=malloc (so
# LeakSanitizer sees Python objects, and the library handles they hold, as
# heap blocks rather than inside pymalloc's unscanned arenas). The leak check
# runs once, at the end of the pytest session (test/python/conftest.py), not
# at exit, where the bindings leave live handles to the OS by design; leaks that CPython, NumPy
# or torch keep at exit are suppressed by test/sanitize/lsan_python.supp,
# which names only their modules and is matched against the top
# SAN_PY_FRAMES frames of each allocation, so a leak whose allocation
# happens in libbigmodel (reached through ctypes and libffi, which are not
# suppressed) is still reported.
#
# The library of $(SAN_BUILD) also serves check-allocfail (Makefile): it is
# compiled with the allocation hook (-DBGM_ALLOC_HOOK -include
# lib/core/alloc_hook.h), whose wrappers only count and pass every call on
# until test/allocfail.c arms them, so one ASan build serves both checks.
#
# make check-tsan: test/sanitize/tsan_threads.c built with ThreadSanitizer
# against a TSan build of the library ($(TSAN_BUILD)).

SAN_BUILD   ?= build/asan
TSAN_BUILD  ?= build/tsan
SAN_FLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
TSAN_FLAGS  := -fsanitize=thread -fno-omit-frame-pointer
SAN_CC      := $(firstword $(CC)) $(SAN_FLAGS)
SAN_MAKE     = $(MAKE) --no-print-directory BUILD=$(SAN_BUILD) CC="$(SAN_CC)" CFLAGS="-O1 -g" \
               LIB_EXTRA="-DBGM_ALLOC_HOOK -include lib/core/alloc_hook.h"
TSAN_CC     := $(firstword $(CC)) $(TSAN_FLAGS)
SAN_PY_FRAMES ?= 6
SAN_ASAN_OPTIONS := detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1
SAN_UBSAN_OPTIONS := print_stacktrace=1:halt_on_error=1
SAN_SUPP := $(CURDIR)/test/sanitize

.PHONY: check-sanitize check-sanitize-c check-sanitize-python check-tsan

check-sanitize: check-sanitize-c check-sanitize-python

san-build:
	@$(SAN_MAKE) $(SAN_BUILD)/test/runner $(SAN_BUILD)/test/internal_runner

check-sanitize-c: san-build
	@for r in runner internal_runner; do \
	    echo "== $$r under ASan + UBSan"; \
	    CK_FORK=no ASAN_OPTIONS=$(SAN_ASAN_OPTIONS) UBSAN_OPTIONS=$(SAN_UBSAN_OPTIONS) \
	        $(SAN_BUILD)/test/$$r || exit 1; \
	done

check-sanitize-python: san-build
	@echo "== Python suite under ASan + UBSan (libasan preloaded)"
	@LD_PRELOAD="$$($(firstword $(CC)) -print-file-name=libasan.so) $$($(firstword $(CC)) -print-file-name=libubsan.so)" \
	    ASAN_OPTIONS=$(SAN_ASAN_OPTIONS):detect_stack_use_after_return=0:strict_string_checks=0:check_initialization_order=0:malloc_context_size=$(SAN_PY_FRAMES):leak_check_at_exit=0 \
	    UBSAN_OPTIONS=$(SAN_UBSAN_OPTIONS) \
	    LSAN_OPTIONS=suppressions=$(SAN_SUPP)/lsan_python.supp:print_suppressions=0 \
	    PYTHONMALLOC=malloc BIGMODEL_SANITIZE=1 sh test/run_pytest.sh "$(PYTHON)" "$(SAN_BUILD)"

check-tsan:
	@$(MAKE) --no-print-directory BUILD=$(TSAN_BUILD) CC="$(TSAN_CC)" CFLAGS="-O1 -g" lib
	@mkdir -p $(TSAN_BUILD)/test
	$(TSAN_CC) -std=c11 -O1 -g $(WARN) -D_POSIX_C_SOURCE=200809L -Iinclude \
	    test/sanitize/tsan_threads.c -o $(TSAN_BUILD)/test/tsan_threads \
	    -L$(TSAN_BUILD) -Wl,-rpath,'$$ORIGIN/..' -lbigmodel -lm -lpthread
	TSAN_OPTIONS=halt_on_error=1:exitcode=66:second_deadlock_stack=1 \
	    $(TSAN_BUILD)/test/tsan_threads
