/* Internal: PCL behind a plain C interface. Only C types cross this header; every entry point
   catches all C++ exceptions and reports them through the err buffer. Valid C (imported by Swift
   without C++ interop). */
#ifndef OV3D_PCL_BRIDGE_H
#define OV3D_PCL_BRIDGE_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

/* Error reporting convention for every bridge function: returns 0 on success or a negative
   ov3d status code (-1 invalid argument, -2 I/O, -3 format, -4 unsupported, -5 out of memory,
   -7 internal) and writes a NUL-terminated message into err (capacity err_cap) on failure. */

/* PCL's version string, e.g. "1.13.0". */
const char *ov3d_pcl_version(void);

/* Silences PCL's console output below the given level (0 always .. 5 verbose). */
void ov3d_pcl_set_verbosity(int level);

#ifdef __cplusplus
}
#endif
#endif
