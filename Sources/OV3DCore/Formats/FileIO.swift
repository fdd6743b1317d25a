#if canImport(Glibc)
import Glibc
#endif

/// Plain POSIX file access without Foundation. Every error becomes an `OV3DError.io` naming the path.
public enum FileIO {
    /// Default ceiling for whole-file reads (4 GiB).
    public static let defaultMaxBytes = 4 << 30

    /// Reads a whole file. Throws if it is larger than `maxBytes`.
    public static func read(_ path: String, maxBytes: Int = defaultMaxBytes) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw OV3DError.io("cannot open \(path): \(errnoString())") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw OV3DError.io("cannot stat \(path): \(errnoString())") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw OV3DError.io("\(path) is not a regular file") }
        let size = Int(st.st_size)
        guard size <= maxBytes else { throw OV3DError.io("\(path) is \(size) bytes, more than the limit of \(maxBytes)") }
        var out = [UInt8](repeating: 0, count: size)
        var got = 0
        try out.withUnsafeMutableBytes { buf in
            while got < size {
                let r = Glibc.read(fd, buf.baseAddress! + got, size - got)
                if r < 0 {
                    if errno == EINTR { continue }
                    throw OV3DError.io("cannot read \(path): \(errnoString())")
                }
                if r == 0 { break }
                got += r
            }
        }
        if got < size { out.removeLast(size - got) }
        return out
    }

    /// Writes `bytes` to `path` through a temporary file and rename, so readers never see half a
    /// file and a failed write leaves the target untouched (inside `staged`, the rename waits
    /// for the whole group).
    public static func write(_ path: String, _ bytes: UnsafeRawBufferPointer) throws {
        try replace(path) { tmp in
            let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw OV3DError.io("cannot create \(path): \(errnoString())") }
            var done = 0
            while done < bytes.count {
                let r = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
                if r < 0 {
                    if errno == EINTR { continue }
                    let m = errnoString()
                    close(fd)
                    throw OV3DError.io("cannot write \(path): \(m)")
                }
                done += r
            }
            guard close(fd) == 0 else { throw OV3DError.io("cannot write \(path): \(errnoString())") }
        }
    }

    /// The one atomic-output path: `produce` writes the whole output to the temporary path it
    /// is given (beside `path`, same directory, so the rename is atomic); on success it is
    /// renamed onto `path`, on any error it is removed and `path` is left as it was. Writers
    /// that cannot write to memory (libpng) use this directly.
    public static func replace(_ path: String, _ produce: (String) throws -> Void) throws {
        let stage = currentStage()
        let tmp = path + ".tmp-ov3d-\(getpid())-\(UInt(bitPattern: Int(bitPattern: UInt(pthread_self()))))" + (stage.map { "-\($0.files.count)" } ?? "")
        do { try produce(tmp) } catch { unlink(tmp); throw error }
        if let stage { stage.files.append((tmp, path)); return }
        guard rename(tmp, path) == 0 else { let m = errnoString(); unlink(tmp); throw OV3DError.io("cannot rename to \(path): \(m)") }
    }

    /// Runs `body`, whose writes (`write`, `replace`: every writer of ov3d) go to temporary
    /// files; only when `body` succeeds are they all renamed onto their targets. A command with
    /// several outputs (superpoints' ids and PLY, fusion's features and mask) therefore leaves
    /// either all of them or none: on failure every temporary is removed and no target changes.
    public static func staged<T>(_ body: () throws -> T) throws -> T {
        let stage = Stage()
        let previous = pthread_getspecific(stageKey)
        let ref = Unmanaged.passRetained(stage)
        pthread_setspecific(stageKey, ref.toOpaque())
        defer { pthread_setspecific(stageKey, previous); ref.release() }
        let result: T
        do { result = try body() } catch {
            for f in stage.files { unlink(f.tmp) }
            throw error
        }
        for (i, f) in stage.files.enumerated() where rename(f.tmp, f.path) != 0 {
            let m = errnoString()
            for g in stage.files[i...] { unlink(g.tmp) }
            throw OV3DError.io("cannot rename to \(f.path): \(m)")
        }
        return result
    }

    final class Stage { var files: [(tmp: String, path: String)] = [] }
    private static let stageKey: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k, nil)
        return k
    }()
    private static func currentStage() -> Stage? {
        pthread_getspecific(stageKey).map { Unmanaged<Stage>.fromOpaque($0).takeUnretainedValue() }
    }

    public static func write(_ path: String, _ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write(path, $0) }
    }

    public static func write(_ path: String, text: String) throws {
        try write(path, Array(text.utf8))
    }

    /// Maps a file read-only. The mapping lives as long as the returned storage.
    public static func map(_ path: String) throws -> ByteStorage {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw OV3DError.io("cannot open \(path): \(errnoString())") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw OV3DError.io("cannot stat \(path): \(errnoString())") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw OV3DError.io("\(path) is not a regular file") }
        let size = Int(st.st_size)
        if size == 0 { return ByteStorage([]) }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw OV3DError.io("cannot map \(path): \(errnoString())")
        }
        return ByteStorage(base: UnsafeRawPointer(p), count: size, release: { munmap(p, size) })
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Whether `path` is a directory (following symlinks).
    public static func isDirectory(_ path: String) -> Bool {
        guard let d = opendir(path) else { return false }
        closedir(d)
        return true
    }

    /// The directory part of a path ("a/b/c.json" -> "a/b", "c.json" -> ".").
    public static func directory(of path: String) -> String {
        guard let i = path.lastIndex(of: "/") else { return "." }
        return i == path.startIndex ? "/" : String(path[..<i])
    }

    /// Joins a relative path onto a directory; absolute paths are returned unchanged.
    public static func join(_ dir: String, _ path: String) -> String {
        if path.hasPrefix("/") || dir.isEmpty || dir == "." { return path }
        return dir.hasSuffix("/") ? dir + path : dir + "/" + path
    }

    /// Creates `path` and any missing parents (like `mkdir -p`); an existing directory is fine.
    public static func makeDirectories(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for comp in path.split(separator: "/") where !comp.isEmpty {
            prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + comp
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw OV3DError.io("cannot create directory \(prefix): \(errnoString())")
            }
        }
    }

    /// Names of the entries of a directory (without "." and ".."), sorted.
    public static func listDirectory(_ path: String) throws -> [String] {
        guard let d = opendir(path) else { throw OV3DError.io("cannot list \(path): \(errnoString())") }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafePointer(to: e.pointee.d_name) { p in
                p.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func errnoString() -> String { String(cString: strerror(errno)) }
}
