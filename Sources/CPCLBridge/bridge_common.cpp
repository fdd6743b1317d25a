// PCL bridge: common entry points. PCL headers stay in .cpp files only.
#include "ov3d_pcl_bridge.h"
#include <pcl/pcl_config.h>
#include <pcl/console/print.h>

extern "C" const char *ov3d_pcl_version(void) { return PCL_VERSION_PRETTY; }

extern "C" void ov3d_pcl_set_verbosity(int level) {
    try {
        if (level < 0) level = 0;
        if (level > 5) level = 5;
        pcl::console::setVerbosityLevel(static_cast<pcl::console::VERBOSITY_LEVEL>(level));
    } catch (...) {
    }
}
