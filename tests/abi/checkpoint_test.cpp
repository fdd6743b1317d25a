// C++ wrapper test for checkpoints (issue 4): open a committed torch fixture, read tensors and
// metadata, convert, and check that a hostile file throws ov3d::Error with a message.
#include "ov3d.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

static int failures = 0, passed = 0;
#define EXPECT(c) do { if (c) ++passed; else { ++failures; std::fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); } } while (0)

int main() {
    // Run from the package root (scripts/test.sh does), or set OV3D_ROOT.
    const char *root = std::getenv("OV3D_ROOT");
    const std::string fix = std::string(root ? root : ".") + "/Tests/Fixtures/checkpoint/";
    try {
        ov3d::Checkpoint ck(fix + "cua_o3d.pth.tar");
        EXPECT(ck.size() == 291);
        std::size_t i = ck.index("net3d.final_sd.kernel");
        EXPECT(ck.dtype(i) == "float32");
        EXPECT((ck.shape(i) == std::vector<int64_t>{6, 3200}));
        EXPECT(ck.read_f32("net3d.final.kernel").size() == 6 * 512);
        EXPECT(ck.metadata("epoch") == "50");
        bool found = true;
        ck.metadata("nope", &found);
        EXPECT(!found);
        const std::string out = "/tmp/ov3d_checkpoint_test.safetensors";
        ov3d::convert(fix + "cua_o3d.pth.tar", out, 0.02, {"wall", "floor"});
        ov3d::Checkpoint st(out);
        EXPECT(st.metadata("ov3d.heads") == "final=512,final_dinov2=1024,final_sd=3200");
        EXPECT(st.read_f32("net3d.final_sd.kernel") == ck.read_f32("net3d.final_sd.kernel"));
        std::remove(out.c_str());
    } catch (const ov3d::Error &e) {
        std::fprintf(stderr, "unexpected error: %s\n", e.what());
        ++failures;
    }
    try {
        ov3d::Checkpoint bad(fix + "malicious_os_system.pth");
        ++failures;
    } catch (const ov3d::Error &e) {
        EXPECT(e.code() == OV3D_ERR_FORMAT);
        EXPECT(std::string(e.what()).find("system") != std::string::npos);
    }
    std::printf("checkpoint_test: %d passed, %d failed\n", passed, failures);
    return failures ? 1 : 0;
}
