# gpubase — build, test and install. `make check` and `make demo` install what they need first
# (Debian packages, through `make deps`), so both work on a fresh Debian 12 machine.

VERSION    := 0.1.0
PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     ?= $(PREFIX)/bin
DATADIR    ?= $(PREFIX)/share/gpubase
UNITDIR    ?= /lib/systemd/system
MANDIR     ?= $(PREFIX)/share/man

CC         ?= gcc
PKGS       := yaml-0.1 json-c libsystemd libcrypto libarchive libkmod libpci
WARN       := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral -Wmissing-prototypes \
              -Wstrict-prototypes -Wvla -Wno-missing-field-initializers
BASEFLAGS  := -std=gnu17 -g -D_GNU_SOURCE -DGPUBASE_VERSION='"$(VERSION)"' $(WARN)
OPTFLAGS   ?= -O2
SANFLAGS   := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
PKG_CFLAGS  = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_LIBS  = $(shell pkg-config --libs check 2>/dev/null)

# Debian packages the build and every test tier need (see README "Dependencies").
DEB_DEPS   := gcc g++ make pkg-config libyaml-dev libjson-c-dev libsystemd-dev libssl-dev check jq \
              libapt-pkg-dev libarchive-dev dpkg-dev apt-utils gnupg libkmod-dev libpci-dev pci.ids
# What the e2e tier (tests/e2e) needs besides: qemu, mmdebstrap (the guest image), e2fsprogs
# (mkfs.ext4 -d, debugfs), zstd, kmod (modinfo, to check the stand-in module's vermagic), socat (the
# qemu monitor, for system_reset). The guest kernel's headers (linux-headers-<guest kver>) are
# installed by tests/e2e/run.sh once it has read that version from the guest image.
E2E_DEPS   := qemu-system-x86 qemu-utils mmdebstrap e2fsprogs zstd kmod socat

AGENT_SRCS := $(sort $(wildcard agent/core/*.c agent/host/*.c agent/steps/*.c agent/checks/*.c agent/cmd/*.c))
AGENT_HDRS := $(wildcard agent/*/*.h) shim/aptshim.h
SHIM_SRCS  := shim/aptshim.cc
CXX        ?= g++
CXXFLAGS_SHIM := -std=c++17 -g -fPIC -Wall -Wextra -Werror
APT_LIBS   := -lapt-pkg -pthread -lstdc++
UNIT_SRCS  := $(sort $(wildcard tests/unit/*.c))
DATA_FILES := $(wildcard plans/data/*.tsv)

# Two builds from the same sources: build/ (normal) and build/san/ (ASan+UBSan).
B          := build
S          := build/san

.PHONY: all deps deps-e2e check unit integration crash crash-long san-check e2e demo install deb clean help

all: $(B)/gpubase

help:
	@echo "make deps | all | check | unit | integration | crash | crash-long | e2e | demo | install | deb | clean"

deps:
	@missing=""; for p in $(DEB_DEPS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	else echo "deps: all installed"; fi

# the same for E2E_DEPS
deps-e2e: deps
	@missing=""; for p in $(E2E_DEPS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "deps-e2e: installing$$missing"; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	else echo "deps-e2e: all installed"; fi

$(B)/obj/%.o: %.c $(AGENT_HDRS) $(DATA_FILES)
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(OPTFLAGS) $(PKG_CFLAGS) $(CFLAGS) -c $< -o $@

$(S)/obj/%.o: %.c $(AGENT_HDRS) $(DATA_FILES)
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(SANFLAGS) $(PKG_CFLAGS) $(CFLAGS) -c $< -o $@

$(B)/obj/%.o: %.cc shim/aptshim.h
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_SHIM) $(OPTFLAGS) -c $< -o $@

$(S)/obj/%.o: %.cc shim/aptshim.h
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_SHIM) $(SANFLAGS) -c $< -o $@

$(B)/libgpubase.a: $(AGENT_SRCS:%.c=$(B)/obj/%.o) $(SHIM_SRCS:%.cc=$(B)/obj/%.o)
	@rm -f $@
	ar rcs $@ $^

$(S)/libgpubase.a: $(AGENT_SRCS:%.c=$(S)/obj/%.o) $(SHIM_SRCS:%.cc=$(S)/obj/%.o)
	@rm -f $@
	ar rcs $@ $^

$(B)/gpubase: $(B)/obj/agent/main.o $(B)/libgpubase.a
	$(CC) $(BASEFLAGS) $(OPTFLAGS) $^ -o $@ $(PKG_LIBS) $(APT_LIBS) $(LDFLAGS)

$(S)/gpubase: $(S)/obj/agent/main.o $(S)/libgpubase.a
	$(CC) $(BASEFLAGS) $(SANFLAGS) $^ -o $@ $(PKG_LIBS) $(APT_LIBS) $(LDFLAGS)

$(B)/test-unit: $(UNIT_SRCS:%.c=$(B)/obj/%.o) $(B)/libgpubase.a
	$(CC) $(BASEFLAGS) $(OPTFLAGS) $^ -o $@ $(CHECK_LIBS) $(PKG_LIBS) $(APT_LIBS)

$(S)/test-unit: $(UNIT_SRCS:%.c=$(S)/obj/%.o) $(S)/libgpubase.a
	$(CC) $(BASEFLAGS) $(SANFLAGS) $^ -o $@ $(CHECK_LIBS) $(PKG_LIBS) $(APT_LIBS)

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
	GPUBASE_TESTDATA=$(CURDIR)/tests GPUBASE_FAKE_NVML=$(CURDIR)/$(B)/fixtures/libnvidia-ml.so.1 $(B)/test-unit

integration: deps $(B)/gpubase $(B)/fixtures/libnvidia-ml.so.1
	GPUBASE=$(CURDIR)/$(B)/gpubase tests/integration/run.sh
	GPUBASE=$(CURDIR)/$(B)/gpubase FAKE_NVML=$(CURDIR)/$(B)/fixtures/libnvidia-ml.so.1 tests/integration/verify.sh

crash: deps $(B)/gpubase $(B)/killer
	GPUBASE=$(CURDIR)/$(B)/gpubase KILLER=$(CURDIR)/$(B)/killer ITERATIONS=$${ITERATIONS:-200} tests/integration/crash.sh

crash-long: deps $(B)/gpubase $(B)/killer
	GPUBASE=$(CURDIR)/$(B)/gpubase KILLER=$(CURDIR)/$(B)/killer ITERATIONS=$${ITERATIONS:-2000} tests/integration/crash.sh

san-check: deps $(S)/test-unit $(S)/gpubase $(B)/fixtures/libnvidia-ml.so.1
	GPUBASE_TESTDATA=$(CURDIR)/tests GPUBASE_FAKE_NVML=$(CURDIR)/$(B)/fixtures/libnvidia-ml.so.1 CK_FORK=no ASAN_OPTIONS=detect_leaks=1 $(S)/test-unit
	GPUBASE=$(CURDIR)/$(S)/gpubase ASAN_OPTIONS=detect_leaks=1 tests/integration/run.sh
	GPUBASE=$(CURDIR)/$(S)/gpubase FAKE_NVML=$(CURDIR)/$(B)/fixtures/libnvidia-ml.so.1 ASAN_OPTIONS=detect_leaks=1 tests/integration/verify.sh

check: deps
	$(MAKE) unit integration crash san-check e2e
	@echo "make check: all tiers passed"

# e2e: a real Debian 12 VM under qemu (tests/e2e/README.md): gpubase installed from its .deb,
# a real reboot through logind, resume through gpubase.service, docker restarted through sd-bus.
# Needs root (mmdebstrap, dpkg --root, mkfs.ext4 -d); the guest image is cached in build/e2e-cache.
e2e: deps-e2e deb
	GPUBASE_DEB=$(CURDIR)/$(B)/gpubase_$(VERSION)_$(DEB_ARCH).deb tests/e2e/run.sh

demo: deps $(B)/gpubase
	GPUBASE=$(CURDIR)/$(B)/gpubase examples/demo/demo.sh

install: $(B)/gpubase
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/plans $(DESTDIR)$(UNITDIR)
	install -m 0755 $(B)/gpubase $(DESTDIR)$(BINDIR)/gpubase
	install -m 0644 plans/*.yaml $(DESTDIR)$(DATADIR)/plans/
	install -d $(DESTDIR)$(DATADIR)/plans/demo
	install -m 0644 plans/demo/* $(DESTDIR)$(DATADIR)/plans/demo/
	sed 's|@BINDIR@|$(BINDIR)|g' packaging/systemd/gpubase.service.in > $(DESTDIR)$(UNITDIR)/gpubase.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/gpubase.service
	install -d $(DESTDIR)$(MANDIR)/man1
	install -m 0644 packaging/gpubase.1 $(DESTDIR)$(MANDIR)/man1/gpubase.1

# deb: build/gpubase_$(VERSION)_<arch>.deb from a staging tree (packaging/debian/build-deb.sh).
DEB_ARCH    = $(shell dpkg-architecture -qDEB_HOST_ARCH 2>/dev/null || dpkg --print-architecture)
DEB_STAGE  := $(B)/deb/stage
deb: deps $(B)/gpubase
	rm -rf $(DEB_STAGE)
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/$(DEB_STAGE) PREFIX=/usr UNITDIR=/lib/systemd/system
	packaging/debian/build-deb.sh $(DEB_STAGE) $(B) $(VERSION)

clean:
	rm -rf $(B)
