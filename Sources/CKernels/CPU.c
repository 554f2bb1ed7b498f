// Which vector instruction sets this CPU and operating system support, and a per-thread context (see CKernels.h).
#include "CKernels.h"
#include "Internal.h"
#include <stdio.h>

static _Thread_local void *thread_context = 0;

void *gpt_thread_context(void) { return thread_context; }
void gpt_set_thread_context(void *context) { thread_context = context; }

#ifdef GPT_X86
#include <cpuid.h>

static int detect_level(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, f16c = (c >> 29) & 1;
    if (!fma || !osxsave || !avx || !f16c) return 0;
    unsigned xcr0_low, xcr0_high;
    __asm__ volatile("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
    if ((xcr0_low & 0x6) != 0x6) return 0;  // the OS saves XMM and YMM state
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    int avx2 = (b >> 5) & 1, avx512f = (b >> 16) & 1, avx512bw = (b >> 30) & 1;
    if (!avx2) return 0;
    int zmm_state = (xcr0_low & 0xE0) == 0xE0;  // opmask, upper ZMM halves, ZMM16-31
    return (avx512f && avx512bw && zmm_state) ? 3 : 2;
}

int gpt_simd_level(void) {
    static int level = -1;
    int seen = __atomic_load_n(&level, __ATOMIC_RELAXED);
    if (seen < 0) {
        seen = detect_level();
        __atomic_store_n(&level, seen, __ATOMIC_RELAXED);
    }
    return seen;
}

#ifdef __linux__
#include <sys/syscall.h>
#include <unistd.h>
#endif

// Bit 0: AVX512-BF16 (vdpbf16ps) usable; bit 1: AMX tiles with BF16 (tdpbf16ps) usable, which on Linux also needs
// the kernel's permission for the tile data state (arch_prctl ARCH_REQ_XCOMP_PERM), requested here once.
static int detect_bf16_units(void) {
    if (gpt_simd_level() < 3) return 0;
    unsigned a, b, c, d, units = 0;
    if (__get_cpuid_count(7, 1, &a, &b, &c, &d) && ((a >> 5) & 1)) units |= 1;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && ((d >> 22) & 1) && ((d >> 24) & 1)) {
        unsigned xcr0_low, xcr0_high;
        __asm__ volatile("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
        int tile_state = (xcr0_low & 0x60000) == 0x60000;  // XTILECFG and XTILEDATA
#ifdef __linux__
        // ARCH_REQ_XCOMP_PERM (0x1023) for XFEATURE_XTILEDATA (18): refused on kernels without AMX support.
        if (tile_state && syscall(SYS_arch_prctl, 0x1023, 18) == 0) units |= 2;
#else
        if (tile_state) units |= 2;
#endif
    }
    return (int)units;
}

int gpt_bf16_units(void) {
    static int units = -1;
    int seen = __atomic_load_n(&units, __ATOMIC_RELAXED);
    if (seen < 0) {
        seen = detect_bf16_units();
        __atomic_store_n(&units, seen, __ATOMIC_RELAXED);
    }
    return seen;
}

#else

int gpt_simd_level(void) { return 0; }
int gpt_bf16_units(void) { return 0; }

#endif

void gpt_line_buffer_standard_output(void) { setvbuf(stdout, NULL, _IOLBF, 0); }
