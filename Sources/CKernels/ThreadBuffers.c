// Each thread's scratch buffers for the kernels (packed blocks of a matrix product's operands), grown on demand,
// kept for the thread's next product and freed when the thread ends (see CKernels.h).
#include "CKernels.h"
#include "Internal.h"
#include <pthread.h>
#include <stdlib.h>

typedef struct {
    void *pointer[gpt_thread_buffer_count];
    size_t capacity[gpt_thread_buffer_count];
} thread_buffers;

/// This thread's buffers (NULL until it first asks); the key's destructor frees them as the thread exits. Without
/// it a thread that ended left its buffers behind: a server that ran each request on a thread of its own, and
/// Dispatch's workers, which exit after a few idle seconds, grew by their size every time.
static _Thread_local thread_buffers *buffers = 0;
static pthread_key_t buffers_key;
static pthread_once_t buffers_key_once = PTHREAD_ONCE_INIT;
static int buffers_key_made = 0;
static size_t live_bytes = 0;

static void free_buffers(void *value) {
    thread_buffers *owned = value;
    for (int i = 0; i < gpt_thread_buffer_count; i++) {
        __atomic_fetch_sub(&live_bytes, owned->capacity[i], __ATOMIC_RELAXED);
        free(owned->pointer[i]);
    }
    free(owned);
    buffers = 0;  // destructors run on the exiting thread: a later call there starts afresh
}

static void make_buffers_key(void) { buffers_key_made = pthread_key_create(&buffers_key, free_buffers) == 0; }

void *gpt_thread_buffer(int which, size_t bytes) {
    if (which < 0 || which >= gpt_thread_buffer_count) return 0;
    thread_buffers *own = buffers;
    if (!own) {
        pthread_once(&buffers_key_once, make_buffers_key);
        if (!buffers_key_made) return 0;
        own = calloc(1, sizeof *own);
        if (!own) return 0;
        if (pthread_setspecific(buffers_key, own) != 0) {
            free(own);
            return 0;
        }
        buffers = own;
    }
    if (own->capacity[which] < bytes) {
        size_t rounded = (bytes + 63) & ~(size_t)63;  // aligned_alloc wants a multiple of the alignment
        if (rounded < bytes) return 0;
        free(own->pointer[which]);
        __atomic_fetch_sub(&live_bytes, own->capacity[which], __ATOMIC_RELAXED);
        own->pointer[which] = aligned_alloc(64, rounded);
        own->capacity[which] = own->pointer[which] ? rounded : 0;
        __atomic_fetch_add(&live_bytes, own->capacity[which], __ATOMIC_RELAXED);
    }
    return own->pointer[which];
}

size_t gpt_thread_buffer_bytes(void) { return __atomic_load_n(&live_bytes, __ATOMIC_RELAXED); }
