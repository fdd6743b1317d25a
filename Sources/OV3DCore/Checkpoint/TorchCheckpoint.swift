/// PyTorch checkpoints without PyTorch: the zip format of torch ≥ 1.6 (`<root>/data.pkl` plus raw
/// little-endian storages `<root>/data/<key>`) and the legacy pre-1.6 stream format (a sequence of
/// pickles followed by the storages). Both are decoded by `PickleMachine`, which never runs code.
public enum TorchCheckpoint {
    public struct Options: Sendable {
        /// Check the CRC-32 of every zip entry that is read (default true).
        public var verifyCRC = true
        /// Threads for CRC checks of large storages (0 = all cores).
        public var threads = 0
        /// Bytes that may be allocated for copies of non-contiguous tensors; nil = 2 × file size + 64 MiB.
        public var copyBudget: Int? = nil
        public init() {}
    }

    /// The pickled magic number that starts a legacy (non-zip) torch file.
    static let legacyMagic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    public static func sniffLegacy(_ b: UnsafeRawBufferPointer) -> Bool {
        b.count >= legacyMagic.count && legacyMagic.indices.allSatisfy { b[$0] == legacyMagic[$0] }
    }

    /// Unpickles the object saved in a torch zip archive; tensors reference the archive's bytes.
    public static func loadZip(_ storage: ByteStorage, options: Options = Options()) throws -> PickleValue {
        var zip = try ZipArchive(storage: storage)
        zip.verifyCRC = options.verifyCRC
        let pkls = zip.entries.filter { $0.name == "data.pkl" || $0.name.hasSuffix("/data.pkl") }
        guard let pklEntry = pkls.min(by: { $0.name.count < $1.name.count }) else {
            throw OV3DError.format("torch: zip archive has no data.pkl (not a torch.save file)")
        }
        let root = String(pklEntry.name.dropLast("data.pkl".count))
        if let bo = zip.entry(named: root + "byteorder") {
            let b = try zip.contents(of: bo)
            let s = String(decoding: b.bytes, as: UTF8.self)
            guard s == "little" else { throw OV3DError.unsupported("torch: byteorder '\(s.prefix(16))' is not supported (only little-endian)") }
        }
        let pkl = try zip.contents(of: pklEntry)
        var cache: [String: PickleStorage] = [:]
        let threads = Threads.resolve(options.threads)
        var vm = PickleMachine(copyBudget: options.copyBudget ?? (2 * storage.count + (64 << 20)))
        // A TorchScript archive (torch.jit.save: OpenAI's CLIP files) pickles its modules as
        // `__torch__.*` objects: rebuilt as attribute dicts, never run. Its code/ and
        // constants.pkl are not read.
        vm.torchScriptObjects = isTorchScript(zip, root: root)
        vm.persistentLoad = { pid in
            guard let t = pid.sequence, t.count >= 5, t[0].stringValue == "storage" else {
                throw OV3DError.format("torch: unexpected persistent id \(pid.summary)")
            }
            let dtype = try TorchStorageType.dtype(t[1])
            guard let key = t[2].stringValue, !key.isEmpty, key.utf8.count <= 256 else { throw OV3DError.format("torch: storage key is not a short string") }
            guard let numel64 = t[4].intValue else { throw OV3DError.format("torch: storage '\(key)' has an invalid size") }
            let numel = try CheckedSize.int(numel64, "torch: storage '\(key)' size")
            if let s = cache[key] {
                guard s.dtype == dtype else { throw OV3DError.format("torch: storage '\(key)' is used as both \(s.dtype.rawValue) and \(dtype.rawValue)") }
                return .storage(s)
            }
            guard let e = zip.entry(named: root + "data/" + key) else { throw OV3DError.format("torch: storage '\(key)' is missing from the archive") }
            let nbytes = try CheckedSize.product(numel, dtype.size, "torch: storage '\(key)' bytes")
            guard nbytes <= e.uncompressedSize else {
                throw OV3DError.format("torch: storage '\(key)' declares \(numel) × \(dtype.size) bytes but its entry holds \(e.uncompressedSize)")
            }
            let bytes = try zip.contents(of: e, threads: threads)
            let s = PickleStorage(dtype: dtype, count: numel, bytes: bytes)
            cache[key] = s
            return .storage(s)
        }
        return try vm.load(pkl.bytes).0
    }

    /// Whether a torch zip archive was written by `torch.jit.save` (it has `constants.pkl` or
    /// TorchScript code next to `data.pkl`).
    public static func isTorchScript(_ zip: ZipArchive, root: String) -> Bool {
        zip.entry(named: root + "constants.pkl") != nil
            || zip.entries.contains { $0.name.hasPrefix(root + "code/__torch__") }
    }

    /// Unpickles the object of a legacy (pre-1.6) torch file: magic, protocol, sys_info, the object,
    /// the list of storage keys, then for each key an int64 element count and the raw bytes.
    public static func loadLegacy(_ storage: ByteStorage, options: Options = Options()) throws -> PickleValue {
        let b = storage.bytes
        var pos = 0
        var plain = PickleMachine()
        let (magic, p1) = try plain.load(b, offset: pos); pos = p1
        guard case .bigInt(let m) = magic, m == Array(legacyMagic[4...]) else { throw OV3DError.format("torch legacy: bad magic number") }
        let (proto, p2) = try plain.load(b, offset: pos); pos = p2
        guard proto.intValue == 1001 else { throw OV3DError.unsupported("torch legacy: protocol version \(proto.summary) is not supported (expected 1001)") }
        let (sysInfo, p3) = try plain.load(b, offset: pos); pos = p3
        if let d = sysInfo.dictValue, let le = d["little_endian"], case .bool(false) = le {
            throw OV3DError.unsupported("torch legacy: big-endian files are not supported")
        }
        // Pass 1: collect the storages the object refers to (tensors are not built yet).
        struct Ref { var dtype: DType; var count: Int }
        var refs: [String: Ref] = [:]
        var views: [(key: String, root: String, offset: Int, count: Int)] = []
        func parsePid(_ pid: PickleValue) throws -> (String, DType, Int, PickleValue) {
            guard let t = pid.sequence, t.count >= 5, t[0].stringValue == "storage" else {
                throw OV3DError.format("torch legacy: unexpected persistent id \(pid.summary)")
            }
            let dtype = try TorchStorageType.dtype(t[1])
            guard let key = t[2].stringValue, !key.isEmpty, key.utf8.count <= 256 else { throw OV3DError.format("torch legacy: storage key is not a short string") }
            guard let n = t[4].intValue else { throw OV3DError.format("torch legacy: storage '\(key)' has an invalid size") }
            return (key, dtype, try CheckedSize.int(n, "torch legacy: storage '\(key)' size"), t.count > 5 ? t[5] : .none)
        }
        var pass1 = PickleMachine()
        pass1.skipTensors = true
        pass1.persistentLoad = { pid in
            let (key, dtype, n, view) = try parsePid(pid)
            if let r = refs[key], r.dtype != dtype { throw OV3DError.format("torch legacy: storage '\(key)' used with two dtypes") }
            refs[key] = Ref(dtype: dtype, count: max(n, refs[key]?.count ?? 0))
            if let v = view.sequence, v.count == 3, let vk = v[0].stringValue, let vo = v[1].intValue, let vn = v[2].intValue {
                let what = "torch legacy: storage view '\(vk)' (offset \(vo), \(vn) elements) of '\(key)'"
                let o = try CheckedSize.int(vo, what), c = try CheckedSize.int(vn, what)
                guard try CheckedSize.sum(o, c, what) <= n else { throw OV3DError.format("\(what) runs past its \(n) elements") }
                views.append((vk, key, o, c))
            }
            return .none
        }
        let objStart = pos
        let (_, p4) = try pass1.load(b, offset: objStart); pos = p4
        let (keysValue, p5) = try plain.load(b, offset: pos); pos = p5
        guard let keys = keysValue.sequence else { throw OV3DError.format("torch legacy: storage key list missing") }
        var storages: [String: PickleStorage] = [:]
        for kv in keys {
            guard let key = kv.stringValue, let r = refs[key] else { throw OV3DError.format("torch legacy: unknown storage key \(kv.summary)") }
            guard pos + 8 <= b.count else { throw OV3DError.format("torch legacy: truncated before storage '\(key)'") }
            let n = b.loadUnaligned(fromByteOffset: pos, as: Int64.self).littleEndian
            pos += 8
            guard n >= 0, n == Int64(r.count) else { throw OV3DError.format("torch legacy: storage '\(key)' has \(n) elements, the pickle declared \(r.count)") }
            let nbytes = try CheckedSize.product(r.count, r.dtype.size, "torch legacy: storage '\(key)' bytes")
            guard nbytes <= b.count - pos else { throw OV3DError.format("torch legacy: storage '\(key)' runs past the end of the file") }
            let base = storage
            storages[key] = PickleStorage(dtype: r.dtype, count: r.count,
                                          bytes: ByteStorage(base: base.base + pos, count: nbytes, release: { withExtendedLifetime(base) {} }))
            pos += nbytes
        }
        for v in views {
            guard let rs = storages[v.root] else { throw OV3DError.format("torch legacy: view of missing storage '\(v.root)'") }
            let base = rs.bytes
            storages[v.key] = PickleStorage(dtype: rs.dtype, count: v.count,
                                            bytes: ByteStorage(base: base.base + v.offset * rs.dtype.size, count: v.count * rs.dtype.size,
                                                               release: { withExtendedLifetime(base) {} }))
        }
        // Pass 2: build the object with the storages.
        var vm = PickleMachine(copyBudget: options.copyBudget ?? (2 * storage.count + (64 << 20)))
        vm.persistentLoad = { pid in
            let (key, dtype, _, view) = try parsePid(pid)
            let k = view.sequence.flatMap { $0.first?.stringValue } ?? key
            guard let s = storages[k], s.dtype == dtype else { throw OV3DError.format("torch legacy: storage '\(k)' has no data") }
            return .storage(s)
        }
        return try vm.load(b, offset: objStart).0
    }

    /// Finds the state dict inside an unpickled checkpoint: the object itself when it maps names to
    /// tensors, else its `state_dict` (or `model_state_dict`, `model`, `net`, `state`) entry. Other
    /// top-level scalars (epoch, best_iou, ...) become metadata; containers are summarised.
    public static func stateDict(from root: PickleValue, format: String) throws -> StateDict {
        guard let top = root.dictValue else {
            throw OV3DError.format("torch: the checkpoint holds a \(root.kindName), not a dict of tensors")
        }
        var sd = StateDict()
        var container = top
        var containerKey: String? = nil
        for k in ["state_dict", "model_state_dict", "model", "net", "state"] {
            if let d = top[k]?.dictValue, hasTensor(d) { container = d; containerKey = k; break }
        }
        sd.setMetadata("ov3d.source_format", top.className == nil ? format : "torchscript")
        if let cls = top.className { sd.setMetadata("ov3d.torchscript.class", cls) }
        if let containerKey {
            for (k, v) in top.items {
                guard let name = k.stringValue, name != containerKey else { continue }
                switch v {
                case .int, .float, .string, .bool, .bigInt, .none: sd.setMetadata(name, v.summary)
                case .dict(let d) where name == "optimizer":
                    let n = d["state"]?.dictValue?.items.count ?? 0
                    sd.setMetadata(name, "skipped (optimizer state for \(n) parameters)")
                default: sd.setMetadata(name, "skipped \(v.summary)")
                }
            }
        }
        var budget = 1 << 20
        try collect(container, prefix: "", into: &sd, depth: 0, budget: &budget)
        guard sd.count > 0 else {
            let keys = top.items.compactMap { $0.key.stringValue }.prefix(20).joined(separator: ", ")
            throw OV3DError.format("torch: no tensors found in the checkpoint (top-level keys: \(keys))")
        }
        return sd
    }

    /// True if `d` or one of its direct sub-dicts holds a tensor (at most 100,000 entries looked at).
    private static func hasTensor(_ d: PickleDict) -> Bool {
        var budget = 100_000
        for (_, v) in d.items {
            budget -= 1
            if budget < 0 { return false }
            switch v {
            case .tensor: return true
            case .dict(let c):
                for (_, w) in c.items {
                    budget -= 1
                    if budget < 0 { return false }
                    if case .tensor = w { return true }
                }
            default: break
            }
        }
        return false
    }

    /// Collects tensors of nested dicts ("a.b.c" keys), at most 8 levels and `budget` visited
    /// entries (a shared sub-dict referenced many times cannot blow up the walk).
    private static func collect(_ d: PickleDict, prefix: String, into sd: inout StateDict, depth: Int, budget: inout Int) throws {
        guard depth < 8 else { return }
        for (k, v) in d.items {
            budget -= 1
            guard budget >= 0 else { throw OV3DError.format("torch: the checkpoint's dicts hold more than \(1 << 20) entries") }
            let name: String
            switch k {
            case .string(let s): name = s
            case .int(let i): name = String(i)
            default: continue
            }
            switch v {
            case .tensor(let t): sd.set(prefix + name, t)
            case .dict(let c): try collect(c, prefix: prefix + name + ".", into: &sd, depth: depth + 1, budget: &budget)
            default: break
            }
        }
    }
}
