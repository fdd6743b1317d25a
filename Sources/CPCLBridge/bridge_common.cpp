// PCL bridge: common entry points. PCL headers stay in .cpp files only.
#include "ov3d_pcl_bridge.h"
#include <pcl/pcl_config.h>
#include <pcl/console/print.h>
#include <pcl/exceptions.h>
#include <pcl/point_cloud.h>
#include <pcl/point_types.h>

#include <cstdint>
#include <new>

#include "bridge_util.h"

extern "C" const char *ov3d_pcl_version(void) { return PCL_VERSION_PRETTY; }

extern "C" void ov3d_pcl_set_verbosity(int level) {
    try {
        if (level < 0) level = 0;
        if (level > 5) level = 5;
        pcl::console::setVerbosityLevel(static_cast<pcl::console::VERBOSITY_LEVEL>(level));
    } catch (...) {
    }
}

// Checks the catch-all of every entry (issue 17): each kind raises a real exception inside
// OV3D_BRIDGE_TRY / OV3D_BRIDGE_CATCH, the macro every PCL entry uses.
extern "C" int ov3d_pcl_exception_selftest(int kind, char *err, size_t err_cap) {
    OV3D_BRIDGE_TRY
    switch (kind) {
    case 0: {  // a real allocation failure: more bytes than any address space holds
        volatile size_t huge = SIZE_MAX / 4;
        void *p = ::operator new(huge);
        ::operator delete(p);
        return 0;
    }
    case 1: {  // PCL's own exception: 2-D access into an unorganised cloud
        pcl::PointCloud<pcl::PointXYZ> c;
        c.resize(4);
        volatile float x = c.at(1, 1).x;
        (void)x;
        return 0;
    }
    case 2:  // something that is not a std::exception at all
        throw 42;
    default:
        return ov3d_bridge::fail(err, err_cap, -1, "unknown self-test kind");
    }
    OV3D_BRIDGE_CATCH(err, err_cap)
}
