//! The binary's allocator (a performance trick, quarantined here): with
//! the `fast-alloc` feature, jemalloc instead of the system allocator. The
//! billing run makes and drops millions of small groups, labels and fees;
//! glibc's malloc took about a third of its CPU time (1 M events: 7.7 s
//! of user time with glibc, 4.5 s with jemalloc, same output).

#[cfg(feature = "fast-alloc")]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
