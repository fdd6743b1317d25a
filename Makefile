# ov3d — top-level tasks. README lists the two commands a fresh machine needs.
#   make setup   install system packages (Debian: PCL, OpenBLAS, Eigen, zlib, libpng, cmake)
#   make build   release libov3d.so and the `ov3d` tool (bin/ov3d), Swift runtime linked in
#   make test    the whole test suite (scripts/test.sh)
#   make test-asan / test-tsan   libov3d.so and the C/C++ ABI tests under AddressSanitizer +
#                UndefinedBehaviorSanitizer / ThreadSanitizer (scripts/test-sanitizers.sh; manual)
#   make demo    build and run the end-to-end demo
#   make install PREFIX=/usr/local   lib/libov3d.so, include/ov3d.h + ov3d.hpp, bin/ov3d,
#                lib/pkgconfig/ov3d.pc, lib/cmake/ov3d/ov3dConfig.cmake (target ov3d::ov3d)
#   make wheel   a platform wheel in dist/ (libov3d.so, the tool and the non-system libraries
#                they need, bundled by auditwheel; the `ov3d` command is an entry point)
CONFIG ?= release
PREFIX ?= /usr/local
DESTDIR ?=
PYTHON ?= python3
DIST ?= dist
# The Swift runtime goes into the binaries (static), so they run without a Swift toolchain:
# -static-stdlib for the library product (SwiftPM's --static-swift-stdlib only reaches
# executables), --static-swift-stdlib for the tool.
SWIFT_STATIC ?= -Xswiftc -static-stdlib --static-swift-stdlib
SWIFT_BUILD = swift build -c $(CONFIG) $(SWIFT_STATIC)
VERSION := $(shell sed -n 's/^\#define OV3D_VERSION_STRING "\(.*\)"/\1/p' include/ov3d.h)

.PHONY: setup build test test-asan test-tsan demo clean install wheel print-bin-dir

setup:
	bash scripts/install-deps.sh

build:
	$(SWIFT_BUILD) --product ov3d
	$(SWIFT_BUILD) --product ov3d-tool
	@mkdir -p bin
	@ln -sf "$$($(SWIFT_BUILD) --show-bin-path)/ov3d-tool" bin/ov3d
	@echo "built $$($(SWIFT_BUILD) --show-bin-path)/libov3d.so and bin/ov3d"

install: build
	@b="$$($(SWIFT_BUILD) --show-bin-path)"; p="$(DESTDIR)$(PREFIX)"; set -e; \
	install -d "$$p/lib/pkgconfig" "$$p/lib/cmake/ov3d" "$$p/include" "$$p/bin"; \
	install -m 755 "$$b/libov3d.so" "$$p/lib/libov3d.so"; \
	install -m 755 "$$b/ov3d-tool" "$$p/bin/ov3d"; \
	install -m 644 include/ov3d.h bindings/cpp/ov3d.hpp "$$p/include/"; \
	for f in ov3d.pc:lib/pkgconfig ov3dConfig.cmake:lib/cmake/ov3d ov3dConfigVersion.cmake:lib/cmake/ov3d; do \
	  sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' "packaging/$${f%%:*}.in" > "$$p/$${f#*:}/$${f%%:*}"; \
	done; \
	echo "installed ov3d $(VERSION) into $$p (pkg-config: PKG_CONFIG_PATH=$$p/lib/pkgconfig; CMake: -DCMAKE_PREFIX_PATH=$$p)"

wheel: build
	bash scripts/build-wheel.sh "$$($(SWIFT_BUILD) --show-bin-path)" "$(DIST)"

print-bin-dir:
	@$(SWIFT_BUILD) --show-bin-path

test:
	bash scripts/test.sh

test-asan:
	bash scripts/test-sanitizers.sh asan

test-tsan:
	bash scripts/test-sanitizers.sh tsan

demo: build
	bash scripts/demo.sh

clean:
	rm -rf .build bin $(DIST)
