/* Compiles the public header alone as strict C99 (and, renamed, as C++17). */
#include "ov3d.h"
#include "ov3d.h" /* include guard */
int ov3d_header_compiles(void) { return OV3D_ABI_VERSION; }
