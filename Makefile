# ov3d — top-level tasks. README lists the two commands a fresh machine needs.
#   make setup   install system packages (Debian: PCL, OpenBLAS, Eigen, zlib, libpng)
#   make build   release libov3d.so and the `ov3d` tool (bin/ov3d)
#   make test    the whole test suite (scripts/test.sh)
#   make demo    build and run the end-to-end demo
CONFIG ?= release

.PHONY: setup build test demo clean pkgconfig

setup:
	bash scripts/install-deps.sh

build:
	swift build -c $(CONFIG) --product ov3d
	swift build -c $(CONFIG) --product ov3d-tool
	@mkdir -p bin
	@ln -sf "$$(swift build -c $(CONFIG) --show-bin-path)/ov3d-tool" bin/ov3d
	@echo "built $$(swift build -c $(CONFIG) --show-bin-path)/libov3d.so and bin/ov3d"

pkgconfig: build
	@d="$$(swift build -c $(CONFIG) --show-bin-path)"; \
	printf 'prefix=%s\nincludedir=%s/include\nlibdir=%s\n\nName: ov3d\nDescription: open-vocabulary 3D scene understanding\nVersion: 0.1.0\nCflags: -I$${includedir} -I%s/bindings/cpp\nLibs: -L$${libdir} -lov3d -Wl,-rpath,$${libdir}\n' \
	  "$$PWD" "$$PWD" "$$d" "$$PWD" > "$$d/ov3d.pc"; echo "wrote $$d/ov3d.pc (PKG_CONFIG_PATH=$$d pkg-config --cflags --libs ov3d)"

test:
	bash scripts/test.sh

demo: build
	bash scripts/demo.sh

clean:
	rm -rf .build bin
