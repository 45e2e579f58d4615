// The CPU's hint that a thread is spinning on a memory location (x86 PAUSE, Arm YIELD): it
// yields the core's shared resources to a hyper-threaded sibling and saves power, which Swift
// has no spelling for.
#ifndef SPIN_HINT_H
#define SPIN_HINT_H

static inline void spin_hint(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield");
#endif
}

#endif
