# gpubase — build, test and install. `make check` and `make demo` install what they need first
# (Debian packages, through `make deps`), so both work on a fresh Debian 12 machine.

VERSION    := 0.1.0
PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     ?= $(PREFIX)/bin
# libgpubase-apt.so goes to $(LIBDIR)/gpubase; gpubase finds it at <its bin>/../lib/gpubase, so
# LIBDIR is BINDIR's sibling
LIBDIR     ?= $(PREFIX)/lib
DATADIR    ?= $(PREFIX)/share/gpubase
UNITDIR    ?= /lib/systemd/system
# the journal's message catalog: Debian's systemd package indexes it by itself (a dpkg trigger on
# this directory runs `journalctl --update-catalog`), so the package needs no postinst for it
CATALOGDIR ?= /usr/lib/systemd/catalog
MANDIR     ?= $(PREFIX)/share/man
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions

CC         ?= gcc
PKGS       := yaml-0.1 json-c libsystemd libcrypto libarchive libkmod libpci
WARN       := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral -Wmissing-prototypes \
              -Wstrict-prototypes -Wvla -Wno-missing-field-initializers
# includes are written from agent/ ("base/util.h") or from the top ("shim/aptshim.h")
INCFLAGS   := -Iagent -I.
BASEFLAGS  := -std=gnu17 -g -D_GNU_SOURCE -DGPUBASE_VERSION='"$(VERSION)"' $(INCFLAGS) $(WARN)
OPTFLAGS   ?= -O2
SANFLAGS   := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
PKG_CFLAGS  = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# gpubase itself links only libyaml and json-c: it opens libcrypto, libsystemd, libkmod, libpci,
# libarchive (base/dlib.h: base/crypto_load.c, host/*_load.c) and libgpubase-apt.so, the shim over
# libapt-pkg (host/aptshim_load.c), with dlopen when a command first calls them, so that status,
# plan check and --version load none. test-unit and the fuzz targets link them as before (PKG_LIBS,
# APT_LIBS).
GPUBASE_LIBS = $(shell pkg-config --libs yaml-0.1 json-c 2>/dev/null)
CHECK_LIBS  = $(shell pkg-config --libs check 2>/dev/null)

# Debian packages, in two sets (README "Dependencies"). BUILD_DEPS is all that `make demo` installs:
# the compiler and the libraries gpubase links — no test or proof tool, nothing that starts a
# service or changes how the machine boots. `make check` installs DEB_DEPS, everything its tiers call,
# and E2E_DEPS for the VM tier; tests/tools-check.py (part of check) fails when a test calls a
# command that no package in these lists provides.
BUILD_DEPS := gcc g++ make pkg-config libyaml-dev libjson-c-dev libsystemd-dev libssl-dev libapt-pkg-dev \
              libarchive-dev libkmod-dev libpci-dev pci.ids
# The tests: check (unit), jq (--json), dpkg-dev, apt-utils, gnupg (fixture repositories), zstd
# (bundles), python3 and python3-yaml (helpers), packer, ansible-core, cloud-init (the examples),
# bash-completion, groff-base, bsdextrautils and man-db (completion.sh renders the man pages: groff,
# col, man), shfmt (tools-check), shellcheck (lint), git (tests/ci: the clone in the fresh root),
# strace (apt.sh traces a converged rerun; run.sh counts a no-op rerun's fsyncs; verify.sh and run.sh
# prove files and libraries are not opened; make bench counts a no-op's fsyncs and child processes);
# debhelper, lintian and build-essential (make deb: dpkg-buildpackage through dh, then lintian;
# dpkg-checkbuilddeps always asks for build-essential, whatever debian/control says).
DEB_DEPS   := $(BUILD_DEPS) check jq dpkg-dev apt-utils gnupg zstd python3 python3-yaml packer ansible-core \
              cloud-init bash-completion groff-base bsdextrautils man-db shfmt shellcheck git strace debhelper lintian build-essential
# ops.sh: the Prometheus text-format parser (verify --textfile) and JSON Schema validation (--json
# outputs against packaging/schema), both for /usr/bin/python3; systemd-analyze (verify, security)
# and journalctl (the catalog) from systemd
DEB_DEPS   += python3-prometheus-client python3-jsonschema systemd
# What the e2e tier (tests/e2e) needs besides: qemu, mmdebstrap (the guest image), e2fsprogs
# (mkfs.ext4 -d, debugfs), zstd, kmod (modinfo, to check the stand-in module's vermagic; modprobe
# --show-depends, the guest initramfs's modules), socat (the qemu monitor, for system_reset), cpio
# (the guest's initramfs). The guest kernel's headers (linux-headers-<guest kver>) are
# installed by tests/e2e/run.sh once it has read that version from the guest image. make e2e-real
# (tests/e2e/real) also reads the archive's kernel list with curl and xz-utils.
E2E_DEPS   := qemu-system-x86 qemu-utils mmdebstrap e2fsprogs zstd kmod socat cpio curl xz-utils

# the layers, lowest first (includes only point down this list; `make layers` checks it)
LAYERS     := base host plan checks steps engine cmd
AGENT_SRCS := $(sort $(foreach l,$(LAYERS),$(wildcard agent/$(l)/*.c)))
SHIM_SRCS  := $(wildcard shim/*.cc)
CXX        ?= g++
CXXFLAGS_SHIM := -std=c++17 -g -fPIC -fvisibility=hidden -Wall -Wextra -Werror
APT_LIBS   := -lapt-pkg -pthread -lstdc++
UNIT_SRCS  := $(sort $(wildcard tests/unit/*.c))
DATA_FILES := $(wildcard plans/data/*.tsv)

# Proof tools (make fuzz, lint, valgrind, bench): clang + libFuzzer, cppcheck, clang-tidy, valgrind,
# GNU time, perf (bench: a cold run's split, from the scheduler's tracepoints); util-linux (mount) and python3 (an fcntl lock holder, an HTTP server) for faults.sh.
DEB_DEPS   += clang libclang-rt-14-dev cppcheck clang-tidy valgrind time linux-perf util-linux

# Three builds from the same sources: build/ (normal), build/san/ (ASan+UBSan) and build/fuzz/
# (clang, ASan+UBSan+libFuzzer coverage; only for `make fuzz`), each one call of the template
# `variant` below. Header dependencies come from the compiler (-MMD -MP, the .d files beside the
# objects); agent/checks/data.c embeds plans/data/*.tsv with .incbin, which the compiler does not
# report, so that object names them itself.
B          := build
S          := build/san
F          := build/fuzz
DEPFLAGS   := -MMD -MP

.PHONY: all deps deps-build deps-e2e print-deps tools-check check unit integration crash crash-long crash-apt san-check e2e e2e-real demo install deb clean \
        help fuzz fuzz-build fuzz-regress lint layers sizes shellcheck cppcheck clang-tidy valgrind bench

all: $(B)/gpubase

help:
	@echo "make deps | all | check | layers | unit | integration | crash | crash-long | crash-apt | e2e | e2e-real | demo | install | deb | clean"
	@echo "     fuzz [FUZZ_SECONDS=60] | fuzz-regress | lint | valgrind | bench"

# install_missing NAME,PACKAGES: apt-get install those of PACKAGES that dpkg does not have installed
# (apt-get update first; nothing at all when every one is there)
define install_missing
	@missing=""; for p in $(2); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "$(1): installing$$missing"; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	else echo "$(1): all installed"; fi
endef

deps-build:
	$(call install_missing,deps-build,$(BUILD_DEPS))

deps:
	$(call install_missing,deps,$(DEB_DEPS))

deps-e2e: deps
	$(call install_missing,deps-e2e,$(E2E_DEPS))

# the package sets, one line each (tests/ci/inside.sh reads them)
print-deps:
	@echo "build: $(sort $(BUILD_DEPS))"
	@echo "check: $(sort $(DEB_DEPS) $(E2E_DEPS))"

# variant DIR,CC,CXX,FLAGS: the pattern rules for DIR/obj/ and DIR's libgpubase.a, gpubase and
# test-unit, all built with FLAGS (optimisation and instrumentation).
define variant
$(1)/obj/%.o: %.c
	@mkdir -p $$(dir $$@)
	$(2) $$(BASEFLAGS) $(4) $$(PKG_CFLAGS) $$(CPPFLAGS) $$(CFLAGS) $$(DEPFLAGS) -c $$< -o $$@

$(1)/obj/%.o: %.cc
	@mkdir -p $$(dir $$@)
	$(3) $$(CXXFLAGS_SHIM) $(4) $$(CPPFLAGS) $$(CXXFLAGS) $$(DEPFLAGS) -c $$< -o $$@

$(1)/obj/agent/checks/data.o: $$(DATA_FILES)

$(1)/libgpubase.a: $$(AGENT_SRCS:%.c=$(1)/obj/%.o)
	@rm -f $$@
	ar rcs $$@ $$^

# the shim over libapt-pkg, loaded by gpubase from beside it (shim/aptshim_table.h); -Bsymbolic:
# its functions call each other, never a same-named one of the program
$(1)/libgpubase-apt.so: $$(SHIM_SRCS:%.cc=$(1)/obj/%.o)
	$(3) -shared $(4) -Wl,-Bsymbolic -Wl,-soname,libgpubase-apt.so -Wl,-z,defs $$^ -o $$@ -lapt-pkg -pthread $$(LDFLAGS)

$(1)/gpubase: $(1)/obj/agent/main.o $(1)/libgpubase.a | $(1)/libgpubase-apt.so
	$(2) $$(BASEFLAGS) $(4) $$^ -o $$@ $$(GPUBASE_LIBS) $$(LDFLAGS)

$(1)/test-unit: $$(UNIT_SRCS:%.c=$(1)/obj/%.o) $(1)/libgpubase.a | $(1)/libgpubase-apt.so
	$(2) $$(BASEFLAGS) $(4) $$^ -o $$@ $$(CHECK_LIBS) $$(PKG_LIBS) $$(APT_LIBS)

-include $$(wildcard $(1)/obj/*/*.d $(1)/obj/*/*/*.d)
endef

$(eval $(call variant,$(B),$(CC),$(CXX),$$(OPTFLAGS)))
$(eval $(call variant,$(S),$(CC),$(CXX),$$(SANFLAGS)))
$(eval $(call variant,$(F),$$(FUZZ_CC),$$(FUZZ_CXX),$$(FUZZFLAGS)))

$(B)/killer: tests/integration/killer.c
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(OPTFLAGS) $< -o $@

# A stand-in libnvidia-ml.so.1 for the NVML tests (copied into fixture roots by the tests).
$(B)/fixtures/libnvidia-ml.so.1: tests/fixtures/nvml/fake-nvml.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu17 -g -O2 -Wall -Wextra -Werror -fPIC -shared -Wl,-soname,libnvidia-ml.so.1 $< -o $@

# ---- tests ----
# unit: Check suites (plan loader, malformed-plan corpus, state, engine). CK_FORK=no under ASan so
# leaks are reported per process.
unit: deps $(B)/test-unit $(B)/fixtures/libnvidia-ml.so.1
	GPUBASE_TESTDATA=$(CURDIR)/tests GPUBASE_FAKE_NVML=$(CURDIR)/$(B)/fixtures/libnvidia-ml.so.1 CK_DEFAULT_TIMEOUT=120 $(B)/test-unit

# The integration suites, tests/integration/SUITE.sh, in the order they run: `make integration
# SUITES="apt verify"` runs a part. Every suite gets the same variables (GPUBASE, FAKE_NVML: the
# stand-in NVML for the suites that build GPU hosts). san-check runs them against build/san/gpubase
# with leak detection, less examples and completion (the shipped examples under their tools, and the
# shell completion and man pages).
SUITES     ?= run verify container apt report bundle confine examples completion faults hangs secrets input image ops
SAN_SUITES  = $(filter-out examples completion,$(SUITES))
FAKE_NVML  := $(CURDIR)/$(B)/fixtures/libnvidia-ml.so.1

# run_suites GPUBASE,SUITES[,MORE-VARIABLES]: each suite in turn; the first that fails stops the target
define run_suites
	@set -e; for s in $(2); do \
	  echo "$(strip $(3) GPUBASE=$(1)) FAKE_NVML=$(FAKE_NVML) tests/integration/$$s.sh"; \
	  $(3) GPUBASE=$(1) FAKE_NVML=$(FAKE_NVML) tests/integration/$$s.sh; \
	done
endef

integration: deps $(B)/gpubase $(B)/fixtures/libnvidia-ml.so.1
	$(call run_suites,$(CURDIR)/$(B)/gpubase,$(SUITES))

crash: deps $(B)/gpubase $(B)/killer
	GPUBASE=$(CURDIR)/$(B)/gpubase KILLER=$(CURDIR)/$(B)/killer ITERATIONS=$${ITERATIONS:-200} tests/integration/crash.sh

crash-long: deps $(B)/gpubase $(B)/killer
	GPUBASE=$(CURDIR)/$(B)/gpubase KILLER=$(CURDIR)/$(B)/killer ITERATIONS=$${ITERATIONS:-2000} tests/integration/crash.sh

san-check: deps $(S)/test-unit $(S)/gpubase $(B)/fixtures/libnvidia-ml.so.1 fuzz-regress
	GPUBASE_TESTDATA=$(CURDIR)/tests GPUBASE_FAKE_NVML=$(CURDIR)/$(B)/fixtures/libnvidia-ml.so.1 CK_DEFAULT_TIMEOUT=120 CK_FORK=no ASAN_OPTIONS=detect_leaks=1 $(S)/test-unit
	$(call run_suites,$(CURDIR)/$(S)/gpubase,$(SAN_SUITES),ASAN_OPTIONS=detect_leaks=1)

# check ends with the VM tier (e2e): every scenario, with the hard-reset scenario at the seeds of
# E2E_CHECK_RESET_SEEDS (`make e2e` runs E2E_RESET_SEEDS, all four reset points). It needs root and
# boots real guests: a machine where qemu cannot start one fails check, loudly.
E2E_CHECK_RESET_SEEDS ?= 1 2
check: deps layers
	$(MAKE) tools-check unit integration crash san-check
	$(MAKE) e2e E2E_RESET_SEEDS="$(E2E_CHECK_RESET_SEEDS)"
	@echo "make check: all tiers passed"

# tools-check: every command the test scripts, the examples the tests run and the Makefile's recipes
# call is provided by a package in BUILD_DEPS, DEB_DEPS or E2E_DEPS (or by every minbase). The
# guest-side scripts (tests/e2e/guest, examples/packer/scripts) run inside the VM image, whose
# packages tests/e2e/build-image.sh lists, and are not read here.
TOOLS_FILES = Makefile .ci/run $(wildcard tests/*.sh) examples/demo/demo.sh packaging/debian/build-deb.sh \
              $(filter-out tests/e2e/guest/%,$(wildcard tests/*/*.sh tests/*/*/*.sh))
tools-check: deps deps-e2e
	TOOLS_PACKAGES="$(sort $(DEB_DEPS) $(E2E_DEPS))" /usr/bin/python3 tests/tools-check.py $(TOOLS_FILES)

# crash-apt: kill -9 at >= 1000 random instants across a plan with apt steps (fixture repository,
# --root); every iteration must resume to the reference end state with dpkg's state consistent.
# Long (minutes): not part of `make check`.
crash-apt: deps $(B)/gpubase $(B)/killer
	GPUBASE=$(CURDIR)/$(B)/gpubase KILLER=$(CURDIR)/$(B)/killer KILLS=$${KILLS:-1000} tests/integration/faults.sh crash-apt

# ---- fuzzing (libFuzzer) ----
# The fuzz targets in tests/fuzz/ link the agent built a third time, with clang, ASan+UBSan and
# libFuzzer's coverage instrumentation (build/fuzz/). `make fuzz` runs each for FUZZ_SECONDS on its
# seed corpus (built from the test fixtures by tests/fuzz/seeds.sh) plus the corpus it grew in earlier
# runs (build/fuzz/work/TARGET) and every input that once crashed it (tests/fuzz/regressions/TARGET);
# crashes are saved in build/fuzz/artifacts/. `make fuzz-regress` (part of san-check) replays the seeds,
# the regressions and the grown corpus if there is one through the same targets built with gcc under
# ASan+UBSan, without libFuzzer.
FUZZ_CC      ?= clang
FUZZ_CXX     ?= clang++
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := fuzz_plan fuzz_state fuzz_daemon_json fuzz_deb fuzz_bundle fuzz_pgp fuzz_dpkg_status
FUZZFLAGS    := -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all

$(F)/bin/%: $(F)/obj/tests/fuzz/%.o $(F)/obj/tests/fuzz/fuzz_common.o $(F)/libgpubase.a
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) -fsanitize=fuzzer,address,undefined $^ -o $@ $(PKG_LIBS) $(APT_LIBS)

# the same targets without libFuzzer: gcc, ASan+UBSan, a main() that reads files
$(S)/fuzz/%: $(S)/obj/tests/fuzz/%.o $(S)/obj/tests/fuzz/fuzz_common.o $(S)/obj/tests/fuzz/standalone.o $(S)/libgpubase.a
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(SANFLAGS) $^ -o $@ $(PKG_LIBS) $(APT_LIBS)

# keep the objects of the pattern-built targets (make would delete them as intermediates)
.SECONDARY: $(patsubst %,$(F)/obj/tests/fuzz/%.o,$(FUZZ_TARGETS) fuzz_common) \
            $(patsubst %,$(S)/obj/tests/fuzz/%.o,$(FUZZ_TARGETS) fuzz_common standalone)

$(F)/corpus/.stamp: tests/fuzz/seeds.sh $(wildcard tests/fuzz/seeds/*/*) $(B)/gpubase $(B)/fixtures/libnvidia-ml.so.1
	GPUBASE=$(CURDIR)/$(B)/gpubase FAKE_NVML=$(FAKE_NVML) tests/fuzz/seeds.sh $(F)/corpus
	@touch $@

fuzz-build: $(FUZZ_TARGETS:%=$(F)/bin/%)

fuzz: deps fuzz-build $(F)/corpus/.stamp
	FUZZ_BIN=$(CURDIR)/$(F)/bin FUZZ_DIR=$(CURDIR)/$(F) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(FUZZ_TARGETS)

fuzz-regress: $(FUZZ_TARGETS:%=$(S)/fuzz/%) $(F)/corpus/.stamp
	REGRESS_BIN=$(CURDIR)/$(S)/fuzz FUZZ_DIR=$(CURDIR)/$(F) tests/fuzz/regress.sh $(FUZZ_TARGETS)

# ---- layers, static analysis and valgrind ----
# layers: no #include in agent/ or shim/ points up the order of LAYERS (shim/ ranks with host/,
# main.c above cmd/); tests/layers.sh says which include and where.
layers:
	LAYERS="$(LAYERS)" tests/layers.sh

# sizes: no file in agent/ or shim/ over 600 lines, no function over 80 (tests/sizes.sh lists them).
sizes:
	tests/sizes.sh

# cppcheck: warning, performance and portability checks (style is left to review), every finding an
# error. Suppressed, with why:
#   missingIncludeSystem  system headers are not given to cppcheck (the compilers check them)
#   resourceLeak, memleak cppcheck does not know __attribute__((cleanup)): every _cleanup_close_ fd
#                         and _cleanup_free_ pointer reads as leaked. Leaks are checked where they
#                         can be seen: ASan (make san-check) and valgrind (make valgrind)
#   readdirCalled         readdir_r is deprecated; readdir is thread-safe on distinct DIR streams
#   ctunullpointer        xstrdup/xstrndup abort instead of returning NULL; cppcheck takes a later
#                         isempty(p) (which accepts NULL) as a sign that p may be NULL
#   unusedFunction        not enabled: the step/check tables are reached through pointers
CPPCHECK_FLAGS := --enable=warning,performance,portability --std=c11 --language=c --inline-suppr \
                  --error-exitcode=1 --quiet --suppress=missingIncludeSystem --suppress=resourceLeak \
                  --suppress=memleak --suppress=readdirCalled --suppress=ctunullpointer --library=posix \
                  -D_GNU_SOURCE -D__GNUC__ -DGPUBASE_VERSION='"$(VERSION)"' -I agent -I .
CPPCHECK_CXX_FLAGS := --enable=warning,performance,portability --std=c++17 --language=c++ --inline-suppr \
                  --error-exitcode=1 --quiet --suppress=missingIncludeSystem -D__GNUC__
# clang-tidy: bugprone, cert, clang-analyzer (the static analyser), performance and portability, on
# the .c files and the headers of agent/ and shim/, less the checks that fight this code base's
# idioms (why they are noise below; how many findings each had: tests/RESULTS.md):
#   bugprone-reserved-identifier, cert-dcl37-c, cert-dcl51-cpp  _cleanup_, _printf_,
#                                         _FOO_MAX/_FOO_INVALID: systemd's idioms, which this code follows
#   bugprone-macro-parentheses            DEFINE_TRIVIAL_CLEANUP_FUNC takes a type name, which
#                                         cannot be parenthesised
#   bugprone-easily-swappable-parameters  (path, text) pairs everywhere; the names say which
#   cert-err33-c                          unchecked fprintf/fputs/snprintf to stderr or into
#                                         buffers sized for them: nothing to do if they fail
#   bugprone-implicit-widening-of-multiplication-result  size limits like 16 * 1024 * 1024
#   cert-err34-c                          sscanf("%u.%u%n") in nvml.c, whose result is checked
#   clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling  memcpy, snprintf:
#                                         it asks for Annex K (memcpy_s), which glibc does not have
# False positives of the analyser that a reader can check on the spot are marked NOLINT(check) in
# the code, with the reason beside them (it does not see across files that strv_length(NULL) is 0).
TIDY_CHECKS := -*,bugprone-*,cert-*,clang-analyzer-*,performance-*,portability-*,misc-redundant-expression,-bugprone-easily-swappable-parameters,-bugprone-reserved-identifier,-cert-dcl37-c,-cert-dcl51-cpp,-bugprone-macro-parentheses,-cert-err33-c,-cert-err34-c,-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling,-bugprone-implicit-widening-of-multiplication-result
TIDY_HEADERS := --header-filter="(agent|shim)/"
TIDY        ?= clang-tidy

lint: deps layers sizes shellcheck cppcheck clang-tidy
	@echo "make lint: layers, sizes, cppcheck and clang-tidy clean on agent/ and shim/, shellcheck on every shell script"

# shellcheck: every shell script in the repository (tests/shellcheck.sh finds them), with the
# settings of .shellcheckrc
shellcheck:
	tests/shellcheck.sh

cppcheck:
	cppcheck $(CPPCHECK_FLAGS) $(AGENT_SRCS) agent/main.c
	cppcheck $(CPPCHECK_CXX_FLAGS) $(SHIM_SRCS)

# one clang-tidy per file, as many at a time as there are CPUs (the analyser is slow)
TIDY_CFLAGS := -std=gnu17 -D_GNU_SOURCE -DGPUBASE_VERSION=\"$(VERSION)\" $(INCFLAGS) $(WARN)
clang-tidy:
	@printf '%s\n' $(AGENT_SRCS) agent/main.c | xargs -P $$(nproc) -I{} bash -c 'set -o pipefail; \
	  $(TIDY) --quiet --warnings-as-errors="*" --checks="$(TIDY_CHECKS)" $(TIDY_HEADERS) {} -- $(TIDY_CFLAGS) $(PKG_CFLAGS) 2>&1 \
	  | { grep -v "warnings\? generated\.$$" || true; }' || { echo "clang-tidy: findings above"; exit 1; }
	$(TIDY) --quiet --warnings-as-errors='*' --checks='$(TIDY_CHECKS)' $(TIDY_HEADERS) $(SHIM_SRCS) -- -std=c++17 -Ishim

# valgrind: run.sh and apt.sh's tests of libapt sessions with every gpubase run under memcheck;
# errors and definite or indirect leaks fail it (tests/valgrind.sh says how, which tests cannot hold
# under it, and which of libapt's own errors tests/valgrind-libapt.supp suppresses).
valgrind: deps $(B)/gpubase $(B)/fixtures/libnvidia-ml.so.1
	GPUBASE=$(CURDIR)/$(B)/gpubase FAKE_NVML=$(FAKE_NVML) VALGRIND_DIR=$(CURDIR)/$(B)/valgrind tests/valgrind.sh

# ---- benchmark (prints figures, never fails on speed) ----
# tests/bench/bench.sh: converged --root sandboxes of real size (this machine's dpkg status and
# package lists with the fixture repository's), built once and kept in build/bench-cache; every
# command timed in RUNS interleaved rounds (default 11). The figures go to build/bench/RESULTS.md;
# tests/bench/RESULTS.md keeps the last ones that mattered.
$(B)/bench-checkpoint: tests/bench/checkpoint.c $(B)/libgpubase.a
	$(CC) $(BASEFLAGS) $(OPTFLAGS) $(PKG_CFLAGS) $^ -o $@ $(PKG_LIBS) $(APT_LIBS)

$(B)/bench-measure: tests/bench/measure.c
	$(CC) $(BASEFLAGS) $(OPTFLAGS) $< -o $@

# libapt's floor under a cold run's own share: the same installs, nothing of gpubase's own
$(B)/bench-aptfloor: tests/bench/aptfloor.cc
	$(CXX) -std=c++17 -Wall -Wextra -Werror $(OPTFLAGS) $< -o $@ $(APT_LIBS)

bench: deps $(B)/gpubase $(B)/bench-checkpoint $(B)/bench-measure $(B)/bench-aptfloor $(B)/fixtures/libnvidia-ml.so.1
	@mkdir -p $(B)/bench
	GPUBASE=$(CURDIR)/$(B)/gpubase BENCH_CHECKPOINT=$(CURDIR)/$(B)/bench-checkpoint APT_FLOOR=$(CURDIR)/$(B)/bench-aptfloor \
	  MEASURE=$(CURDIR)/$(B)/bench-measure FAKE_NVML=$(CURDIR)/$(B)/fixtures/libnvidia-ml.so.1 \
	  BENCH_CACHE=$(CURDIR)/$(B)/bench-cache BENCH_OUT=$(CURDIR)/$(B)/bench/RESULTS.md tests/bench/bench.sh
# e2e: a real Debian 12 VM under qemu (tests/e2e/README.md): gpubase installed from its .deb,
# a real reboot through logind, resume through gpubase.service, docker restarted through sd-bus.
# Needs root (mmdebstrap, chroot, mkfs.ext4 -d); the guest image is cached in build/e2e-cache.
# E2E_SCENARIOS (default: all) and E2E_RESET_SEEDS pick a part; see tests/e2e/README.md.
E2E_RESET_SEEDS ?= 1 2 3 4
e2e: deps-e2e deb
	GPUBASE_DEB=$(CURDIR)/$(B)/gpubase_$(VERSION)_$(DEB_ARCH).deb E2E_RESET_SEEDS="$(E2E_RESET_SEEDS)" tests/e2e/run.sh

# e2e-real (opt-in, not part of check: DKMS builds the open module, minutes per kernel): the
# shipped plans/debian-12-distro.yaml with Debian's genuine nvidia-open-kernel-dkms and its
# dependencies from the archive this machine's apt sources name, on a two-kernel tree
# (gpubase --root --image), checked from outside, repaired, then booted under qemu without a GPU.
# The tree is cached in build/e2e-real-cache; E2E_REAL_PARTS picks parts (tests/e2e/README.md).
e2e-real: deps-e2e deb
	GPUBASE_DEB=$(CURDIR)/$(B)/gpubase_$(VERSION)_$(DEB_ARCH).deb tests/e2e/real/run.sh

demo: deps-build $(B)/gpubase
	GPUBASE=$(CURDIR)/$(B)/gpubase examples/demo/demo.sh

install: $(B)/gpubase $(B)/libgpubase-apt.so
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/gpubase $(DESTDIR)$(DATADIR)/plans $(DESTDIR)$(UNITDIR)
	install -m 0755 $(B)/gpubase $(DESTDIR)$(BINDIR)/gpubase
	install -m 0644 $(B)/libgpubase-apt.so $(DESTDIR)$(LIBDIR)/gpubase/libgpubase-apt.so
	install -m 0644 plans/*.yaml $(DESTDIR)$(DATADIR)/plans/
	install -d $(DESTDIR)$(DATADIR)/plans/demo
	install -m 0644 plans/demo/* $(DESTDIR)$(DATADIR)/plans/demo/
	@# every unit of packaging/systemd (NAME.in: @BINDIR@ replaced), and journal catalogs
	@set -e; for f in packaging/systemd/*; do \
	  case $$f in \
	  *.catalog) install -d $(DESTDIR)$(CATALOGDIR); install -m 0644 $$f $(DESTDIR)$(CATALOGDIR)/ ;; \
	  *.service|*.timer|*.socket|*.path|*.service.in|*.timer.in|*.socket.in|*.path.in) \
	    u=$$(basename $$f .in); echo "  unit $$u"; \
	    sed 's|@BINDIR@|$(BINDIR)|g' $$f > $(DESTDIR)$(UNITDIR)/$$u; chmod 0644 $(DESTDIR)$(UNITDIR)/$$u ;; \
	  *) echo "install: $$f is neither a unit nor a catalog" >&2; exit 1 ;; \
	  esac; \
	done
	install -d $(DESTDIR)$(DATADIR)/schema
	install -m 0644 packaging/schema/*.schema.json $(DESTDIR)$(DATADIR)/schema/
	install -d $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(COMPLETIONDIR)
	install -m 0644 packaging/gpubase-plan.5 $(DESTDIR)$(MANDIR)/man5/gpubase-plan.5
	install -m 0644 packaging/completion/gpubase.bash $(DESTDIR)$(COMPLETIONDIR)/gpubase
	install -d $(DESTDIR)$(MANDIR)/man1
	install -m 0644 packaging/gpubase.1 $(DESTDIR)$(MANDIR)/man1/gpubase.1

# deb: build/gpubase_$(VERSION)_<arch>.deb and build/gpubase-dbgsym_$(VERSION)_<arch>.deb through
# dpkg-buildpackage and debhelper (packaging/debian is debian/), lintian-clean
# (packaging/debian/build-deb.sh; the build tree and its logs stay in build/deb/).
DEB_ARCH    = $(shell dpkg-architecture -qDEB_HOST_ARCH 2>/dev/null || dpkg --print-architecture)
deb: deps
	packaging/debian/build-deb.sh $(B) $(VERSION)

clean:
	rm -rf $(B)
