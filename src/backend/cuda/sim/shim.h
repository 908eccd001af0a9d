// cuda-sim: runs ember's CUDA C kernels on the CPU, unchanged. Each module's `.cu` source is
// compiled by the host C++ compiler after this header, into a shared library of its own whose
// exported entry points follow the driver's launch convention (one pointer per parameter).
//
// Model. The threads of a block are fibers (user-mode stacks switched by hand) on one OS
// thread, so `__shared__` is a `static thread_local` (one copy per running block) and
// `__syncthreads` is a rendezvous of the block's live fibers; warp shuffles are a per-warp
// exchange through slots with a rendezvous of the warp's lanes. Blocks are spread over a small
// persistent pool of OS threads (`EMBER_SIM_THREADS`, the launching thread included), so blocks
// really run at once and atomics must be atomic. A partial shuffle mask, a divergent barrier or
// a deadlock becomes an error of the launch, never an abort. Under `-fsanitize=thread` the
// fibers are announced to ThreadSanitizer (races between threads of a block are reported as
// such), under `-fsanitize=address` their stacks are announced to AddressSanitizer.
#pragma once
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>
#include <pthread.h>
#include <sys/mman.h>
#if !defined(__x86_64__)
#include <ucontext.h>
#endif

#if defined(__SANITIZE_THREAD__)
#define EMBER_SIM_TSAN 1
extern "C" {
void* __tsan_get_current_fiber(void);
void* __tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void* fiber);
void __tsan_switch_to_fiber(void* fiber, unsigned flags);
void __tsan_acquire(void* addr);
void __tsan_release(void* addr);
void AnnotateIgnoreReadsBegin(const char* file, int line);
void AnnotateIgnoreReadsEnd(const char* file, int line);
void AnnotateIgnoreWritesBegin(const char* file, int line);
void AnnotateIgnoreWritesEnd(const char* file, int line);
}
// The scheduler's bookkeeping (whose fiber runs, who waits where) is shared by the fibers of a
// block without synchronisation by design; ThreadSanitizer is told to look away from it, so
// that what it reports are the kernels' own races.
struct EmberSimQuiet {
  EmberSimQuiet() { AnnotateIgnoreReadsBegin(__FILE__, __LINE__); AnnotateIgnoreWritesBegin(__FILE__, __LINE__); }
  ~EmberSimQuiet() { AnnotateIgnoreWritesEnd(__FILE__, __LINE__); AnnotateIgnoreReadsEnd(__FILE__, __LINE__); }
};
#define EMBER_SIM_QUIET EmberSimQuiet ember_sim_quiet_
#else
#define EMBER_SIM_QUIET
#endif
#if defined(__SANITIZE_ADDRESS__)
#define EMBER_SIM_ASAN 1
extern "C" {
void __sanitizer_start_switch_fiber(void** fake_stack_save, const void* bottom, size_t size);
void __sanitizer_finish_switch_fiber(void* fake_stack_save, const void** bottom_old, size_t* size_old);
}
#endif

// ---- the CUDA C vocabulary ----------------------------------------------------------------
struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __launch_bounds__(...)
#define __shared__ static thread_local
#define warpSize 32
#define EMBER_DYN_SMEM(T, name) T* name = reinterpret_cast<T*>(sim::W->dyn_smem.data())

namespace sim {

constexpr unsigned kMaxThreads = 1024;
constexpr size_t kStackBytes = 256 * 1024;

enum State : unsigned char { Ready, AtBlockBarrier, AtWarpBarrier, Done };

struct Fiber {
  void* sp = nullptr;
  char* stack = nullptr;  // lowest usable byte (a guard page sits below it)
  dim3 tid;
  unsigned linear = 0;
  State state = Done;
#if EMBER_SIM_TSAN
  void* tsan = nullptr;
#endif
};

struct Launch;

// One per OS thread that runs blocks: the fibers of the block it is running and their state.
struct Worker {
  std::vector<Fiber> fibers;
  Fiber* cur = nullptr;
  void* sched_sp = nullptr;
  const Launch* L = nullptr;
  dim3 bid;
  std::vector<unsigned char> dyn_smem;
  unsigned live = 0, at_block = 0;
  unsigned warps = 0;
  unsigned at_warp[kMaxThreads / 32] = {};
  unsigned warp_live[kMaxThreads / 32] = {};
  unsigned warp_mask[kMaxThreads / 32] = {};     // the mask the arriving lanes passed
  unsigned warp_arrived[kMaxThreads / 32] = {};  // which lanes arrived
  bool warp_mixed[kMaxThreads / 32] = {};        // lanes passed different masks
  unsigned long long slot[kMaxThreads / 32][32] = {};
  bool error = false;
#if EMBER_SIM_ASAN
  const void* main_bottom = nullptr;
  size_t main_size = 0;
#endif
  ~Worker();
#if EMBER_SIM_TSAN
  void* tsan_main = nullptr;
  char block_start = 0, block_end = 0, barrier_token = 0, warp_token[kMaxThreads / 32] = {};
#endif
};
inline thread_local Worker* W = nullptr;

struct Launch {
  dim3 grid, block;
  unsigned long long blocks = 0;
  unsigned smem = 0;
  void (*call)(void**) = nullptr;
  void** args = nullptr;
  std::atomic<unsigned long long> next{0};
  std::atomic<bool> failed{false};
  std::mutex err_mu;
  std::string err;
  void fail(const std::string& msg) const {
    auto* self = const_cast<Launch*>(this);
    std::lock_guard<std::mutex> g(self->err_mu);
    if (!self->failed.exchange(true)) self->err = msg;
  }
};

// ---- context switching ----------------------------------------------------------------------
#if defined(__x86_64__)
// Saves the callee-saved registers and the FP control words on the current stack, stores the
// stack pointer in *from and resumes the stack `to` (the System V ABI's callee-saved set).
extern "C" void ember_sim_switch(void** from, void* to);
asm(R"(
.text
.p2align 4
.type ember_sim_switch,@function
ember_sim_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
.size ember_sim_switch, .-ember_sim_switch
.p2align 4
.type ember_sim_trampoline,@function
ember_sim_trampoline:
  movq %rbx, %rdi
  callq *%r12
  ud2
.size ember_sim_trampoline, .-ember_sim_trampoline
)");
extern "C" void ember_sim_trampoline();

// A fresh stack whose first switch-in calls fn(arg) with a 16-byte aligned stack.
inline void* prepare_stack(char* base, size_t size, void (*fn)(void*), void* arg) {
  uintptr_t top = (reinterpret_cast<uintptr_t>(base) + size) & ~uintptr_t(15);
  uintptr_t at_trampoline = top - 16;
  auto* s = reinterpret_cast<uint64_t*>(at_trampoline - 8 * 8);
  uint32_t csr[2] = {0, 0};
  asm volatile("stmxcsr %0" : "=m"(csr[0]));
  asm volatile("fnstcw %0" : "=m"(csr[1]));
  std::memcpy(&s[0], csr, 8);
  s[1] = 0;                                             // r15
  s[2] = 0;                                             // r14
  s[3] = 0;                                             // r13
  s[4] = reinterpret_cast<uint64_t>(fn);                // r12: called by the trampoline
  s[5] = reinterpret_cast<uint64_t>(arg);               // rbx: its argument
  s[6] = 0;                                             // rbp
  s[7] = reinterpret_cast<uint64_t>(&ember_sim_trampoline);
  return s;
}
inline void raw_switch(void** from, void* to) { ember_sim_switch(from, to); }
#else
// Portable fallback: ucontext (slower: each switch saves the signal mask with a system call).
struct UCtx { ucontext_t uc; };
inline void* prepare_stack(char* base, size_t size, void (*fn)(void*), void* arg) {
  auto* c = new UCtx;  // owned by the stack slot; leaked once per slot, reused afterwards
  getcontext(&c->uc);
  c->uc.uc_stack.ss_sp = base;
  c->uc.uc_stack.ss_size = size - 64;
  c->uc.uc_link = nullptr;
  makecontext(&c->uc, reinterpret_cast<void (*)()>(fn), 1, arg);
  return c;
}
inline void raw_switch(void** from, void* to) {
  UCtx* me = static_cast<UCtx*>(*from);
  if (!me) { me = new UCtx; *from = me; }
  swapcontext(&me->uc, &static_cast<UCtx*>(to)->uc);
}
#endif

// Switches from the scheduler into fiber f, or from f back to the scheduler; `dying` marks a
// fiber that will never be resumed (its sanitizer state can be dropped).
inline void enter(Worker& w, Fiber& f) {
  w.cur = &f;
  void* to = f.sp;  // read before the switch below: afterwards TSan sees the fiber's accesses
  void** save = &w.sched_sp;
#if EMBER_SIM_ASAN
  char* bottom = f.stack;
#endif
#if EMBER_SIM_TSAN
  __tsan_switch_to_fiber(f.tsan, 1 /* no synchronisation: threads of a block are concurrent */);
#endif
#if EMBER_SIM_ASAN
  void* fake = nullptr;
  __sanitizer_start_switch_fiber(&fake, bottom, kStackBytes);
#endif
  raw_switch(save, to);
#if EMBER_SIM_ASAN
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
  w.cur = nullptr;
}

inline void leave(Worker& w, Fiber& f, bool dying) {
#if EMBER_SIM_TSAN
  __tsan_switch_to_fiber(w.tsan_main, 1);
#endif
#if EMBER_SIM_ASAN
  void* fake = nullptr;
  __sanitizer_start_switch_fiber(dying ? nullptr : &fake, w.main_bottom, w.main_size);
#else
  (void)dying;
#endif
  raw_switch(&f.sp, w.sched_sp);
#if EMBER_SIM_ASAN
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
}

// ---- barriers and warp exchange ---------------------------------------------------------------
inline void block_barrier() {
  Worker& w = *W;
  Fiber& f = *w.cur;
#if EMBER_SIM_TSAN
  __tsan_release(&w.barrier_token);
#endif
  {
    EMBER_SIM_QUIET;
    f.state = AtBlockBarrier;
    ++w.at_block;
  }
  leave(w, f, false);
#if EMBER_SIM_TSAN
  __tsan_acquire(&w.barrier_token);
#endif
}

inline void warp_barrier(unsigned warp, unsigned mask) {
  Worker& w = *W;
  Fiber& f = *w.cur;
#if EMBER_SIM_TSAN
  __tsan_release(&w.warp_token[warp]);
#endif
  {
    EMBER_SIM_QUIET;
    f.state = AtWarpBarrier;
    unsigned bit = 1u << (f.linear % 32);
    if (w.warp_arrived[warp] == 0) w.warp_mask[warp] = mask;
    else if (w.warp_mask[warp] != mask) w.warp_mixed[warp] = true;
    w.warp_arrived[warp] |= bit;
    ++w.at_warp[warp];
  }
  leave(w, f, false);
#if EMBER_SIM_TSAN
  __tsan_acquire(&w.warp_token[warp]);
#endif
}

// The lanes of warp `warp` that exist and have not exited.
inline unsigned live_mask(const Worker& w, unsigned warp) {
  EMBER_SIM_QUIET;
  unsigned m = 0;
  unsigned n = static_cast<unsigned>(w.fibers.size());
  for (unsigned l = 0; l < 32 && warp * 32 + l < n; ++l)
    if (w.fibers[warp * 32 + l].state != Done) m |= 1u << l;
  return m;
}

// Every lane of the warp publishes `v` and reads lane `src(lane)`'s value.
template <class T, class Src>
T exchange(unsigned mask, T v, Src src, const char* what) {
  static_assert(sizeof(T) <= 8, "warp exchange of a value wider than 8 bytes");
  Worker& w = *W;
  unsigned lin = w.cur->linear, warp = lin / 32, lane = lin % 32;
  (void)what;
  unsigned long long bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  w.slot[warp][lane] = bits;
  warp_barrier(warp, mask);
  int s = src(static_cast<int>(lane));
  T r = v;
  if (s >= 0 && s < 32 && (mask >> s & 1u)) {
    unsigned long long b = w.slot[warp][s];
    std::memcpy(&r, &b, sizeof(T));
  }
  warp_barrier(warp, mask);
  return r;
}

// The lanes of the warp whose predicate is true.
inline unsigned ballot(unsigned mask, int pred) {
  Worker& w = *W;
  unsigned lin = w.cur->linear, warp = lin / 32, lane = lin % 32;
  w.slot[warp][lane] = pred ? 1 : 0;
  warp_barrier(warp, mask);
  unsigned r = 0;
  for (unsigned l = 0; l < 32; ++l)
    if ((mask >> l & 1u) && w.slot[warp][l]) r |= 1u << l;
  warp_barrier(warp, mask);
  return r;
}

// ---- the block scheduler ----------------------------------------------------------------------
inline void fiber_main(void* p) {
  Worker& w = *W;
  Fiber& f = *static_cast<Fiber*>(p);
#if EMBER_SIM_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &w.main_bottom, &w.main_size);
#endif
#if EMBER_SIM_TSAN
  __tsan_acquire(&w.block_start);  // what the previous blocks on this worker did is visible
#endif
  void (*call)(void**);
  void** args;
  {
    EMBER_SIM_QUIET;
    call = w.L->call;
    args = w.L->args;
  }
  call(args);
#if EMBER_SIM_TSAN
  __tsan_release(&w.block_end);
#endif
  {
    EMBER_SIM_QUIET;
    f.state = Done;
    --w.live;
  }
  leave(w, f, true);
  __builtin_trap();  // a finished fiber is never resumed
}

inline char* new_stack() {
  size_t page = 4096;
  void* m = mmap(nullptr, kStackBytes + page, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) return nullptr;
  mprotect(m, page, PROT_NONE);  // overflowing the stack faults instead of corrupting memory
  return static_cast<char*>(m) + page;
}

inline Worker::~Worker() {
  for (Fiber& f : fibers) {
    munmap(f.stack - 4096, kStackBytes + 4096);
#if EMBER_SIM_TSAN
    __tsan_destroy_fiber(f.tsan);
#endif
  }
}

inline bool grow(Worker& w, unsigned n) {
  while (w.fibers.size() < n) {
    Fiber f;
    f.stack = new_stack();
    if (!f.stack) return false;
#if EMBER_SIM_TSAN
    f.tsan = __tsan_create_fiber(0);
#endif
    w.fibers.push_back(f);
  }
  return true;
}

inline void run_block(Worker& w, const Launch& L, unsigned long long b) {
  EMBER_SIM_QUIET;  // the scheduler only keeps the books (its fiber state is its own)
  unsigned bx = L.block.x, by = L.block.y;
  unsigned n = bx * by * L.block.z;
  w.bid = dim3(static_cast<unsigned>(b % L.grid.x), static_cast<unsigned>(b / L.grid.x % L.grid.y),
               static_cast<unsigned>(b / (static_cast<unsigned long long>(L.grid.x) * L.grid.y)));
  w.live = n;
  w.at_block = 0;
  w.warps = (n + 31) / 32;
  for (unsigned k = 0; k < w.warps; ++k) {
    w.at_warp[k] = 0;
    w.warp_live[k] = 0;
    w.warp_arrived[k] = 0;
    w.warp_mixed[k] = false;
  }
  // The fiber vector may be larger than this block; only the first n take part.
  std::vector<Fiber>& fs = w.fibers;
  for (unsigned t = 0; t < n; ++t) {
    Fiber& f = fs[t];
    f.linear = t;
    f.tid = dim3(t % bx, t / bx % by, t / (bx * by));
    f.state = Ready;
    f.sp = prepare_stack(f.stack, kStackBytes, fiber_main, &f);
  }
  for (size_t t = n; t < fs.size(); ++t) fs[t].state = Done;
#if EMBER_SIM_TSAN
  __tsan_release(&w.block_start);
#endif
  while (w.live > 0) {
    for (unsigned t = 0; t < n; ++t)
      if (fs[t].state == Ready) enter(w, fs[t]);
    if (w.live == 0) break;
    bool released = false;
    for (unsigned k = 0; k < w.warps; ++k) {
      unsigned want = 0;
      for (unsigned l = k * 32; l < n && l < k * 32 + 32; ++l) want += fs[l].state != Done;
      if (w.at_warp[k] > 0 && w.at_warp[k] == want) {
        if (w.warp_mixed[k] || w.warp_arrived[k] != w.warp_mask[k]) {
          char msg[200];
          std::snprintf(msg, sizeof msg,
                        "warp %u of block (%u,%u,%u): a shuffle/ballot/__syncwarp with mask %08x "
                        "was reached by lanes %08x%s",
                        k, w.bid.x, w.bid.y, w.bid.z, w.warp_mask[k], w.warp_arrived[k],
                        w.warp_mixed[k] ? " passing different masks" : "");
          L.fail(msg);
        }
        w.warp_arrived[k] = 0;
        w.warp_mixed[k] = false;
        for (unsigned l = k * 32; l < n && l < k * 32 + 32; ++l)
          if (fs[l].state == AtWarpBarrier) fs[l].state = Ready;
        w.at_warp[k] = 0;
        released = true;
      }
    }
    if (!released && w.at_block > 0 && w.at_block == w.live) {
      for (unsigned t = 0; t < n; ++t)
        if (fs[t].state == AtBlockBarrier) fs[t].state = Ready;
      w.at_block = 0;
      released = true;
    }
    if (!released) {
      char msg[200];
      std::snprintf(msg, sizeof msg,
                    "deadlock in block (%u,%u,%u): %u live threads, %u at __syncthreads, the rest "
                    "at a warp operation their warp did not reach together",
                    w.bid.x, w.bid.y, w.bid.z, w.live, w.at_block);
      L.fail(msg);
      break;  // the stuck fibers are abandoned; their stacks are reset for the next block
    }
  }
#if EMBER_SIM_TSAN
  __tsan_acquire(&w.block_end);
#endif
}

inline void run_blocks(Launch& L) {
  EMBER_SIM_QUIET;  // setting up the worker is bookkeeping too
  thread_local Worker worker;
  Worker& w = worker;
  W = &w;
#if EMBER_SIM_TSAN
  if (!w.tsan_main) w.tsan_main = __tsan_get_current_fiber();
#endif
  unsigned n = L.block.x * L.block.y * L.block.z;
  if (!grow(w, n)) {
    L.fail("could not map fiber stacks");
    return;
  }
  if (w.dyn_smem.size() < L.smem) w.dyn_smem.resize(L.smem);
  w.L = &L;
  for (;;) {
    unsigned long long b = L.next.fetch_add(1);
    if (b >= L.blocks || L.failed.load()) break;
    run_block(w, L, b);
  }
  w.L = nullptr;
}

// ---- the pool of OS threads -------------------------------------------------------------------
struct Pool {
  std::mutex mu;           // held by the launch that owns the helpers
  std::mutex state_mu;
  std::condition_variable wake, done;
  Launch* job = nullptr;
  unsigned long long generation = 0;
  unsigned busy = 0;
  std::vector<std::thread> helpers;
  bool started = false;

  void start() {
    unsigned n = 2;
    if (const char* e = std::getenv("EMBER_SIM_THREADS")) n = static_cast<unsigned>(std::atoi(e));
    else n = std::thread::hardware_concurrency() ? std::thread::hardware_concurrency() : 2;
    if (n > 8) n = 8;
    for (unsigned i = 1; i < n; ++i) helpers.emplace_back([this] { loop(); });
    for (auto& h : helpers) h.detach();
    started = true;
  }
  void loop() {
    unsigned long long seen = 0;
    for (;;) {
      Launch* L;
      {
        std::unique_lock<std::mutex> g(state_mu);
        wake.wait(g, [&] { return generation != seen; });
        seen = generation;
        L = job;
        if (!L) continue;
        ++busy;
      }
      run_blocks(*L);
      {
        std::lock_guard<std::mutex> g(state_mu);
        --busy;
      }
      done.notify_all();
    }
  }
};
inline Pool& pool() {
  static Pool* p = new Pool;  // never destroyed: helpers outlive static destructors
  return *p;
}

inline int launch(const unsigned* cfg, void (*call)(void**), void** args, char* err, size_t errlen) {
  Launch L;
  L.grid = dim3(cfg[0], cfg[1], cfg[2]);
  L.block = dim3(cfg[3], cfg[4], cfg[5]);
  L.smem = cfg[6];
  L.blocks = static_cast<unsigned long long>(L.grid.x) * L.grid.y * L.grid.z;
  L.call = call;
  L.args = args;
  unsigned threads = L.block.x * L.block.y * L.block.z;
  if (L.blocks == 0 || threads == 0 || threads > kMaxThreads) {
    std::snprintf(err, errlen, "invalid launch: grid (%u,%u,%u), block (%u,%u,%u)", cfg[0], cfg[1],
                  cfg[2], cfg[3], cfg[4], cfg[5]);
    return 1;
  }
  Pool& p = pool();
  std::unique_lock<std::mutex> own(p.mu, std::try_to_lock);
  bool shared = own.owns_lock() && L.blocks > 1;
  if (shared) {
    std::lock_guard<std::mutex> g(p.state_mu);
    if (!p.started) p.start();
    p.job = &L;
    ++p.generation;
  }
  if (shared) p.wake.notify_all();
  run_blocks(L);
  if (shared) {
    std::unique_lock<std::mutex> g(p.state_mu);
    p.job = nullptr;
    p.done.wait(g, [&] { return p.busy == 0; });
  }
  if (L.failed.load()) {
    std::snprintf(err, errlen, "%s", L.err.c_str());
    return 1;
  }
  return 0;
}

// Calls kernel k with its parameters read from the driver-style pointer array.
template <class... A, size_t... I>
inline void call_with(void (*k)(A...), void** a, std::index_sequence<I...>) {
  k(*static_cast<std::remove_cv_t<std::remove_reference_t<A>>*>(a[I])...);
}
template <class... A>
inline void call(void (*k)(A...), void** a) {
  call_with(k, a, std::index_sequence_for<A...>{});
}
template <class... A>
inline int param_sizes(void (*)(A...), unsigned long long* out, int max) {
  unsigned long long s[] = {static_cast<unsigned long long>(sizeof(A))..., 0ull};
  int n = static_cast<int>(sizeof...(A));
  for (int i = 0; i < n && i < max; ++i) out[i] = s[i];
  return n;
}

}  // namespace sim

#define threadIdx (sim::W->cur->tid)
#define blockIdx (sim::W->bid)
#define blockDim (sim::W->L->block)
#define gridDim (sim::W->L->grid)

inline void __syncthreads() { sim::block_barrier(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) {
  sim::exchange(mask, 0, [](int l) { return l; }, "__syncwarp");
}
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void __threadfence_block() { std::atomic_thread_fence(std::memory_order_seq_cst); }

template <class T> T __shfl_sync(unsigned m, T v, int s, int w = 32) {
  return sim::exchange(m, v, [=](int l) { return l / w * w + (s % w); }, "__shfl_sync");
}
template <class T> T __shfl_down_sync(unsigned m, T v, unsigned d, int w = 32) {
  return sim::exchange(m, v, [=](int l) { int s = l + (int)d; return s < l / w * w + w ? s : l; },
                       "__shfl_down_sync");
}
template <class T> T __shfl_up_sync(unsigned m, T v, unsigned d, int w = 32) {
  return sim::exchange(m, v, [=](int l) { int s = l - (int)d; return s >= l / w * w ? s : l; },
                       "__shfl_up_sync");
}
template <class T> T __shfl_xor_sync(unsigned m, T v, int x, int w = 32) {
  return sim::exchange(m, v, [=](int l) { int s = l ^ x; return s < l / w * w + w ? s : l; },
                       "__shfl_xor_sync");
}
inline unsigned __ballot_sync(unsigned m, int pred) { return sim::ballot(m, pred); }
inline int __any_sync(unsigned m, int pred) { return __ballot_sync(m, pred) != 0; }
inline int __all_sync(unsigned m, int pred) { return __ballot_sync(m, pred) == m; }

template <class T> T atomicAdd(T* p, T v) { return std::atomic_ref<T>(*p).fetch_add(v); }
template <class T> T atomicSub(T* p, T v) { return std::atomic_ref<T>(*p).fetch_sub(v); }
template <class T> T atomicExch(T* p, T v) { return std::atomic_ref<T>(*p).exchange(v); }
template <class T> T atomicCAS(T* p, T cmp, T v) {
  std::atomic_ref<T>(*p).compare_exchange_strong(cmp, v);
  return cmp;
}
template <class T> T atomicMax(T* p, T v) {
  std::atomic_ref<T> a(*p);
  T o = a.load();
  while (o < v && !a.compare_exchange_weak(o, v)) {}
  return o;
}
template <class T> T atomicMin(T* p, T v) {
  std::atomic_ref<T> a(*p);
  T o = a.load();
  while (v < o && !a.compare_exchange_weak(o, v)) {}
  return o;
}

template <class T> inline T min(T a, T b) { return b < a ? b : a; }
template <class T> inline T max(T a, T b) { return a < b ? b : a; }
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float cospif(float x) { return static_cast<float>(std::cos(3.14159265358979323846 * x)); }
inline float sinpif(float x) { return static_cast<float>(std::sin(3.14159265358979323846 * x)); }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline float __saturatef(float x) { return x < 0.f ? 0.f : x > 1.f ? 1.f : x; }
inline int __float_as_int(float f) { int i; std::memcpy(&i, &f, 4); return i; }
inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline unsigned __float_as_uint(float f) { unsigned i; std::memcpy(&i, &f, 4); return i; }
inline float __uint_as_float(unsigned i) { float f; std::memcpy(&f, &i, 4); return f; }
inline unsigned __umulhi(unsigned a, unsigned b) {
  return static_cast<unsigned>((static_cast<unsigned long long>(a) * b) >> 32);
}
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
  return static_cast<unsigned long long>((static_cast<unsigned __int128>(a) * b) >> 64);
}
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(unsigned x) { return x ? __builtin_clz(x) : 32; }
inline int __ffs(unsigned x) { return __builtin_ffs(static_cast<int>(x)); }
template <class T> inline T __ldg(const T* p) { return *p; }

// Exported entry points (generated per kernel after the module's source).
#define EMBER_SIM_EXPORT extern "C" __attribute__((visibility("default")))
#define EMBER_SIM_ENTRY(name)                                                                 \
  EMBER_SIM_EXPORT int ember_sim_launch_##name(const unsigned* cfg, void** args, char* err,   \
                                               unsigned long errlen) {                        \
    return sim::launch(cfg, [](void** a) { sim::call(name, a); }, args, err, errlen);         \
  }                                                                                           \
  EMBER_SIM_EXPORT int ember_sim_params_##name(unsigned long long* out, int max) {            \
    return sim::param_sizes(name, out, max);                                                  \
  }
