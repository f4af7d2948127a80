/* CPU helpers for short spin-waits. */
#ifndef WEFT_INTERNAL_CPU_H
#define WEFT_INTERNAL_CPU_H

/* Tell the CPU we are spinning: saves power and, on x86, avoids the memory-order
 * machine clear when the awaited line changes; yields the core to a hyper-thread
 * sibling. Orders nothing. */
static inline void weft__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

#endif
