/* Internal C helpers for the ov3d C ABI. Not part of the public header. */
#ifndef OV3D_SUPPORT_H
#define OV3D_SUPPORT_H
#include <stddef.h>
#include <stdint.h>
#include "ov3d.h"
#ifdef __cplusplus
extern "C" {
#endif

/* Thread-local last error. The message is copied (truncated to 4095 bytes, UTF-8 safe). */
void ov3d_support_set_error(int32_t status, const char *message);
void ov3d_support_clear_error(void);
const char *ov3d_support_last_error(void);
int32_t ov3d_support_last_status(void);

/* Log callback registry (process-wide, guarded by a mutex). */
typedef void (*ov3d_support_log_fn)(int32_t level, const char *message, void *user_data);
void ov3d_support_set_log(ov3d_support_log_fn fn, void *user_data, int32_t min_level);
/* Sends a message to the callback if one is set and level >= min level; else to stderr
   when level >= the stderr threshold (warnings and errors by default). */
void ov3d_support_log(int32_t level, const char *message);
int32_t ov3d_support_log_min_level(void);

/* Calls a C progress callback: returns its result (non-zero = cancel). */
typedef int (*ov3d_support_progress_fn)(float fraction, const char *stage, void *user_data);
int ov3d_support_call_progress(ov3d_support_progress_fn fn, float fraction, const char *stage, void *user_data);

#ifdef __cplusplus
}
#endif
#endif
