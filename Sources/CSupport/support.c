#include "ov3d_support.h"
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define OV3D_ERROR_CAPACITY 4096

static _Thread_local char tl_error[OV3D_ERROR_CAPACITY];
static _Thread_local int32_t tl_status;

void ov3d_support_set_error(int32_t status, const char *message) {
    tl_status = status;
    if (!message) { tl_error[0] = 0; return; }
    size_t n = strlen(message);
    if (n >= OV3D_ERROR_CAPACITY) {
        n = OV3D_ERROR_CAPACITY - 1;
        /* do not cut a UTF-8 sequence in half */
        while (n > 0 && (((unsigned char)message[n]) & 0xC0) == 0x80) n--;
    }
    memcpy(tl_error, message, n);
    tl_error[n] = 0;
}

void ov3d_support_clear_error(void) { tl_status = 0; tl_error[0] = 0; }
const char *ov3d_support_last_error(void) { return tl_error; }
int32_t ov3d_support_last_status(void) { return tl_status; }

static pthread_mutex_t log_mutex = PTHREAD_MUTEX_INITIALIZER;
static ov3d_support_log_fn log_fn;
static void *log_user;
static int32_t log_min_level = 2; /* 0 debug, 1 info, 2 warn, 3 error, 4 none */

void ov3d_support_set_log(ov3d_support_log_fn fn, void *user_data, int32_t min_level) {
    pthread_mutex_lock(&log_mutex);
    log_fn = fn;
    log_user = user_data;
    log_min_level = min_level;
    pthread_mutex_unlock(&log_mutex);
}

int32_t ov3d_support_log_min_level(void) { return log_min_level; }

void ov3d_support_log(int32_t level, const char *message) {
    pthread_mutex_lock(&log_mutex);
    ov3d_support_log_fn fn = log_fn;
    void *user = log_user;
    int32_t min = log_min_level;
    pthread_mutex_unlock(&log_mutex);
    if (level < min || !message) return;
    if (fn) { fn(level, message, user); return; }
    static const char *names[] = {"debug", "info", "warn", "error"};
    fprintf(stderr, "ov3d %s: %s\n", names[level < 0 ? 0 : (level > 3 ? 3 : level)], message);
}

int ov3d_support_call_progress(ov3d_support_progress_fn fn, float fraction, const char *stage, void *user_data) {
    if (!fn) return 0;
    return fn(fraction, stage ? stage : "", user_data);
}
