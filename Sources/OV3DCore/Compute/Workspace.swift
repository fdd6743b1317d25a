#if canImport(Glibc)
import Glibc
#endif

/// A 64-byte aligned float buffer owned by a `Workspace`.
public final class WorkBuffer: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let capacity: Int
    weak var owner: Workspace?

    init(capacity: Int) throws {
        let bytes = try Memory.bytes(Float.self, count: max(capacity, 1), what: "a work buffer of \(capacity) floats")
        let raw = try Memory.allocate(bytes: bytes, alignment: 64, what: "a work buffer of \(capacity) floats")
        pointer = raw.bindMemory(to: Float.self, capacity: max(capacity, 1))
        self.capacity = capacity
    }

    deinit {
        owner?.heldBytes -= 4 * capacity
        free(pointer)
    }
}

/// A row-major `rows × cols` float matrix living in a workspace buffer.
public struct FeatureMatrix {
    public let rows: Int
    public let cols: Int
    public let buffer: WorkBuffer
    public var data: UnsafeMutablePointer<Float> { buffer.pointer }
    public var count: Int { rows * cols }

    /// A copy of the values.
    public func toArray() -> [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }
}

/// Reusable work buffers of a session: layers take matrices and give them back, so repeated
/// forwards (and layers of one forward) reuse memory instead of allocating.
public final class Workspace {
    private var free: [WorkBuffer] = []
    /// Bytes currently held (in use or free), and the maximum reached.
    public internal(set) var heldBytes = 0
    public private(set) var peakBytes = 0
    /// Upper bound on the bytes a workspace may hold (default 16 GiB).
    public var limitBytes = 16 << 30
    /// The memory limit of work run with this workspace (a session's `max_memory_bytes`,
    /// `--max-memory`): runs whose projected peak exceeds it are refused before they allocate
    /// (`Memory.checkProjected`). nil = `OV3D_MAX_MEMORY` when set, else none.
    public var memoryLimit: Int? = nil

    /// `memoryLimit`, else `OV3D_MAX_MEMORY`, else nil.
    public func effectiveMemoryLimit() throws -> Int? {
        try Memory.limit(memoryLimit)
    }
    /// Makes the memory limit (`explicit`, else `OV3D_MAX_MEMORY`) a cap on the work buffers this
    /// workspace holds (`limitBytes`), for work with no up-front projection (training).
    public func limitWorkBuffers(_ explicit: Int?) throws {
        memoryLimit = explicit
        if let l = try effectiveMemoryLimit() { limitBytes = min(16 << 30, l) }
    }

    /// The matrix-product kernels the layers run with this workspace (`.blas` forces the
    /// OpenBLAS reference path; `.automatic` uses ov3d's vector kernels where the CPU has them).
    public var kernels: ComputeKernels = .automatic

    public init() {}

    /// A workspace whose runs are checked against `memoryLimit` (nil: `OV3D_MAX_MEMORY`, else none).
    public convenience init(memoryLimit: Int?) {
        self.init()
        self.memoryLimit = memoryLimit
    }

    /// A matrix of `rows × cols` (contents unspecified).
    public func matrix(rows: Int, cols: Int) throws -> FeatureMatrix {
        let (n, o) = rows.multipliedReportingOverflow(by: cols)
        guard !o, rows >= 0, cols >= 0 else { throw OV3DError.outOfMemory("matrix \(rows)×\(cols) is too large") }
        return FeatureMatrix(rows: rows, cols: cols, buffer: try buffer(capacity: n))
    }

    /// A buffer of at least `capacity` floats (best fit from the free list, else new).
    public func buffer(capacity: Int) throws -> WorkBuffer {
        var best = -1
        for (i, b) in free.enumerated() where b.capacity >= capacity {
            if best < 0 || b.capacity < free[best].capacity { best = i }
        }
        if best >= 0 { return free.remove(at: best) }
        guard heldBytes + 4 * capacity <= limitBytes else {
            throw OV3DError.outOfMemory("out of memory: work buffers would need \(Memory.describe(heldBytes + 4 * capacity)), more than the limit of \(Memory.describe(limitBytes)) (--max-memory / OV3D_MAX_MEMORY, or the 16 GiB workspace cap)")
        }
        let b = try WorkBuffer(capacity: capacity)
        b.owner = self
        heldBytes += 4 * capacity
        peakBytes = max(peakBytes, heldBytes)
        return b
    }

    /// Returns a matrix's buffer for reuse.
    public func recycle(_ m: FeatureMatrix) { recycle(m.buffer) }
    public func recycle(_ b: WorkBuffer) {
        if !free.contains(where: { $0 === b }) { free.append(b) }
    }

    /// Frees every pooled buffer not in use.
    public func trim() { free.removeAll() }
}
