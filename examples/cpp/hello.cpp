// Minimal C++ host over the header-only wrapper (bindings/cpp/ov3d.hpp).
#include <ov3d.hpp>
#include <iostream>

int main() {
    try {
        ov3d::check_abi();
        std::cout << "libov3d " << ov3d::version() << "\n";
        ov3d::set_num_threads(-1);  // throws
    } catch (const ov3d::Error &e) {
        std::cout << "expected error " << e.code() << ": " << e.what() << "\n";
    }
    return 0;
}
