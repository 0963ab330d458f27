#pragma once
// ThreadSanitizer cannot see the synchronisation inside libzmq (Debian ships
// it uninstrumented): a message sent on one thread and received on another
// looks unordered, and so does everything the sender wrote before sending.
// These two calls tell TSan what libzmq guarantees: a send happens before the
// receive that returns it, and before libzmq's I/O thread frees a buffer we
// handed it without copying. In any other build they compile to nothing.

#if defined(__SANITIZE_THREAD__)
#define PSEUD_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PSEUD_TSAN 1
#endif
#endif

#ifdef PSEUD_TSAN
extern "C" void __tsan_acquire(void* address);
extern "C" void __tsan_release(void* address);
#endif

namespace pseud::detail {

#ifdef PSEUD_TSAN
inline char libzmq_handoff_token;  // one process-wide token: coarse, but never misses an edge
inline void before_libzmq_send() noexcept { __tsan_release(&libzmq_handoff_token); }
inline void after_libzmq_receive() noexcept { __tsan_acquire(&libzmq_handoff_token); }
inline void before_freeing_a_sent_buffer() noexcept { __tsan_acquire(&libzmq_handoff_token); }
#else
inline void before_libzmq_send() noexcept {}
inline void after_libzmq_receive() noexcept {}
inline void before_freeing_a_sent_buffer() noexcept {}
#endif

}  // namespace pseud::detail
