import Foundation

/// Memory a run needs beyond what the process has mapped, tried for before the first product.
///
/// Under an address-space limit (`ulimit -v`: RLIMIT_AS, or RLIMIT_DATA) or strict overcommit an
/// allocation can fail, and then OpenBLAS retries its buffer allocation forever
/// (`blas_memory_alloc` loops until malloc succeeds) while Swift stops the process at any other
/// failed allocation. So the estimate is mapped as one reservation (`MAP_NORESERVE`, nothing
/// touched) and released at once; if that fails, the run ends before it starts, with one line.
public enum MemoryCheck {
    /// OpenBLAS's buffer for each thread that calls it: its BUFFER_SIZE, 128 MiB in the x86-64 builds.
    public static let blasBufferBytes = 128 << 20
    /// Each thread beyond the first that runs products: its OpenBLAS buffer, a malloc arena (glibc
    /// maps twice the arena's 64 MiB to align it, then trims) and a stack (8 MiB).
    public static let extraThreadBytes = blasBufferBytes + (128 << 20) + (8 << 20)
    /// What the first thread's buffer and the rest of a run take besides activations: 64 MiB more.
    public static let firstThreadBytes = blasBufferBytes + (64 << 20)

    /// Throws unless `bytes` more can be mapped now.
    public static func require(_ bytes: Int) throws(MemoryShortfall) {
        guard bytes > 0 else { return }
        let reservation = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let reservation, reservation != MAP_FAILED else {
            throw MemoryShortfall(needed: bytes, limit: addressSpaceLimit, inUse: mappedBytes)
        }
        munmap(reservation, bytes)
    }

    /// The tighter of RLIMIT_AS and RLIMIT_DATA in bytes; nil when neither is set.
    static var addressSpaceLimit: Int? {
        [RLIMIT_AS, RLIMIT_DATA].compactMap { resource -> Int? in
            var limit = rlimit()
            // rlim_t.max is RLIM_INFINITY: no limit.
            guard getrlimit(__rlimit_resource_t(resource.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else {
                return nil
            }
            return Int(clamping: limit.rlim_cur)
        }.min()
    }

    /// The process's mapped address space now (VmSize), in bytes; 0 if unknown.
    static var mappedBytes: Int {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
            let pages = statm.split(separator: " ").first.flatMap({ Int($0) })
        else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

/// Not enough memory left to run the model, with the figures to act on.
public struct MemoryShortfall: Error, CustomStringConvertible, Equatable {
    /// Bytes the run needs beyond what is mapped; the limit in force, if one is; what is mapped.
    public let needed: Int
    public let limit: Int?
    public let inUse: Int

    public var description: String {
        let why =
            limit.map { "the limit (ulimit -v/-d) is \(mebibytes($0)) and \(mebibytes(inUse)) is in use" }
            ?? "the system refuses to map it"
        return "not enough memory to run the model: it needs about \(mebibytes(needed)) more, and \(why); "
            + "raise the limit, or use fewer --threads and --jobs"
    }

    private func mebibytes(_ bytes: Int) -> String { "\((bytes + (1 << 20) - 1) >> 20) MiB" }
}
