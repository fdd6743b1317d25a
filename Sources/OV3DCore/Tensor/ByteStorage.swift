#if canImport(Glibc)
import Glibc
#endif

/// Immutable bytes shared by tensors: either owned heap memory or a read-only memory map.
/// Reference type so that many tensors (a state dict's views of one file) share one buffer.
public final class ByteStorage: @unchecked Sendable {
    public let base: UnsafeRawPointer
    public let count: Int
    private let release: (() -> Void)?

    /// Takes ownership of a copy of `bytes`.
    public init(copying bytes: UnsafeRawBufferPointer) {
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        if let src = bytes.baseAddress, bytes.count > 0 { p.copyMemory(from: src, byteCount: bytes.count) }
        base = UnsafeRawPointer(p)
        count = bytes.count
        release = { p.deallocate() }
    }

    public convenience init(_ bytes: [UInt8]) {
        self.init(copying: bytes.withUnsafeBytes { $0 })
    }

    /// Allocates `count` zeroed bytes (through `Memory.allocate`: a failure is outOfMemory
    /// naming `what`, never a trap) and lets `fill` write them once.
    public init(count: Int, what: String = "a buffer", fill: (UnsafeMutableRawBufferPointer) throws -> Void) throws {
        let p = try Memory.allocate(bytes: max(count, 1), what: what)
        p.initializeMemory(as: UInt8.self, repeating: 0, count: max(count, 1))
        do { try fill(UnsafeMutableRawBufferPointer(start: p, count: count)) } catch {
            Memory.deallocate(p)
            throw error
        }
        base = UnsafeRawPointer(p)
        self.count = count
        release = { Memory.deallocate(p) }
    }

    /// Wraps memory owned elsewhere; `release` is called once when the storage dies.
    public init(base: UnsafeRawPointer, count: Int, release: (() -> Void)?) {
        self.base = base
        self.count = count
        self.release = release
    }

    deinit { release?() }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}
