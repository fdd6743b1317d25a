// C++ tests of the header-only wrapper's core: exceptions carry code and message; RAII moves.
#include "ov3d.hpp"
#include <cstdio>
#include <cstring>

static int passed, failed;
#define CHECK(c) do { if (c) passed++; else { failed++; std::fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); } } while (0)

static int frees;
struct fake;
static void fake_free(fake *) { frees++; }

int main() {
    ov3d::check_abi();
    CHECK(ov3d::version() == OV3D_VERSION_STRING);
    try {
        ov3d::set_num_threads(-5);
        CHECK(false);
    } catch (const ov3d::Error &e) {
        CHECK(e.code() == OV3D_ERR_INVALID_ARGUMENT);
        CHECK(std::strstr(e.what(), "thread") != nullptr);
    }
    {
        ov3d::Handle<fake, fake_free> a(reinterpret_cast<fake *>(0x10));
        ov3d::Handle<fake, fake_free> b(std::move(a));
        CHECK(!a && b);
        ov3d::Handle<fake, fake_free> c;
        c = std::move(b);
        CHECK(!b && c);
    }
    CHECK(frees == 1);
    float xyz[6] = {0, 1, 2, 3, 4, 5};
    ov3d_points v = ov3d::points_view(xyz, 2);
    CHECK(v.count == 2 && v.xyz == xyz);
    std::printf("cpp_core_test: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
