/// A restricted unpickler for what `torch.save` writes (pickle protocol 2, plus the data opcodes of
/// protocols 3-5). It never imports or calls anything: GLOBAL/STACK_GLOBAL resolve only names on a
/// fixed allow-list (collections.OrderedDict, torch tensor/parameter rebuild functions, torch storage
/// types, `_codecs.encode`, numpy scalar/dtype reconstruction) and every other name is refused with
/// an error naming it. REDUCE/BUILD are interpreted for those names only.
///
/// TorchScript archives (`torch.jit.save`, e.g. OpenAI's CLIP `ViT-B-32.pt`) pickle their modules as
/// objects of `__torch__.*` classes. With `torchScriptObjects` such a class name is accepted as a
/// type tag only: `NEWOBJ` of it with no arguments makes an empty `PickleDict` tagged with the
/// class name and `BUILD` fills it with the attribute dict the file gives (parameters, buffers,
/// submodules, flags): the parameter tree as data. The class is never looked up, imported or
/// called; calling it with REDUCE, any other global, or a non-dict state is refused.
///
/// Bounds (hostile input): stack size, mark depth, memo size, container nesting, string lengths and
/// the bytes copied while rebuilding non-contiguous tensors (`Limits`).
public struct PickleMachine {
    public struct Limits: Sendable {
        public var maxStack = 1 << 20
        public var maxMarks = 4096
        public var maxMemo = 1 << 22
        public var maxDepth = 256
        public var maxStringBytes = 256 << 20
        public var maxRank = 32
        public init() {}
    }

    /// Resolves a persistent id (BINPERSID) to a value (a `.storage` for torch files).
    public var persistentLoad: ((PickleValue) throws -> PickleValue)?
    public var limits = Limits()
    /// Bytes that tensor rebuilding may allocate for copies (non-contiguous or misaligned views).
    public var copyBudget: Int
    /// When true, tensor rebuilds yield `.none` (a first pass that only collects persistent ids).
    public var skipTensors = false
    /// When true, `__torch__.*` objects of TorchScript archives are rebuilt as attribute dicts
    /// (see the type's documentation) and TorchScript's list builders (`torch.jit._pickle.build_*list`,
    /// `restore_type_tag`) are accepted. Off for plain `torch.save` files.
    public var torchScriptObjects = false

    /// TorchScript's pure data builders (each returns its first argument unchanged).
    static let torchScriptBuilders: Set<String> = [
        "torch.jit._pickle.build_intlist", "torch.jit._pickle.build_doublelist",
        "torch.jit._pickle.build_boollist", "torch.jit._pickle.build_tensorlist",
        "torch.jit._pickle.restore_type_tag",
    ]

    /// Whether `name` is a TorchScript class name: `__torch__.` followed by dotted Python
    /// identifiers, at most 512 bytes.
    static func isTorchScriptClass(_ name: String) -> Bool {
        guard name.hasPrefix("__torch__."), name.utf8.count <= 512 else { return false }
        var previousDot = true
        for u in name.utf8.dropFirst("__torch__.".utf8.count) {
            switch u {
            case UInt8(ascii: "."):
                if previousDot { return false }
                previousDot = true
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"):
                previousDot = false
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if previousDot { return false }
            default: return false
            }
        }
        return !previousDot
    }

    public init(copyBudget: Int = 1 << 30, persistentLoad: ((PickleValue) throws -> PickleValue)? = nil) {
        self.copyBudget = copyBudget
        self.persistentLoad = persistentLoad
    }

    /// Globals that may appear; everything else is refused.
    static let allowedGlobals: Set<String> = {
        var s: Set<String> = [
            "collections.OrderedDict",
            "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor",
            "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
            // Tensors carrying Python attributes: _rebuild_from_type_v2(rebuild_fn, type, args, state).
            // The types are tags only (calling them is refused).
            "torch._tensor._rebuild_from_type_v2", "torch.Tensor", "torch.nn.parameter.Parameter",
            "_codecs.encode",
            "numpy.dtype", "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
        ]
        for k in TorchStorageType.byName.keys { s.insert(k) }
        return s
    }()

    /// Unpickles one pickle starting at `offset`; returns the value and the offset after STOP.
    public mutating func load(_ data: UnsafeRawBufferPointer, offset: Int = 0) throws -> (PickleValue, Int) {
        var pos = offset
        var stack: [PickleValue] = []
        var marks: [Int] = []
        var memo: [Int: PickleValue] = [:]
        let n = data.count

        @inline(__always) func need(_ k: Int) throws {
            guard k >= 0, k <= n - pos else { throw OV3DError.format("pickle: truncated at byte \(pos) (needs \(k) more bytes)") }
        }
        func u8() throws -> Int { try need(1); defer { pos += 1 }; return Int(data[pos]) }
        func u16() throws -> Int { try need(2); defer { pos += 2 }; return Int(data.loadUnaligned(fromByteOffset: pos, as: UInt16.self).littleEndian) }
        func u32() throws -> Int { try need(4); defer { pos += 4 }; return Int(data.loadUnaligned(fromByteOffset: pos, as: UInt32.self).littleEndian) }
        func i32() throws -> Int64 { try need(4); defer { pos += 4 }; return Int64(data.loadUnaligned(fromByteOffset: pos, as: Int32.self).littleEndian) }
        func u64len() throws -> Int {
            try need(8)
            let v = data.loadUnaligned(fromByteOffset: pos, as: UInt64.self).littleEndian
            pos += 8
            guard v <= UInt64(Int.max) else { throw OV3DError.format("pickle: length \(v) is too large") }
            return Int(v)
        }
        func raw(_ k: Int) throws -> UnsafeRawBufferPointer {
            guard k <= limits.maxStringBytes else { throw OV3DError.format("pickle: string of \(k) bytes exceeds the limit of \(limits.maxStringBytes)") }
            try need(k)
            defer { pos += k }
            return UnsafeRawBufferPointer(rebasing: data[pos..<(pos + k)])
        }
        func utf8(_ k: Int) throws -> String {
            let r = try raw(k)
            guard let s = String(validating: r.bindMemory(to: UInt8.self), as: UTF8.self) else {
                throw OV3DError.format("pickle: string at byte \(pos - k) is not valid UTF-8")
            }
            return s
        }
        func line() throws -> String {
            var end = pos
            while end < n && data[end] != 0x0A {
                end += 1
                if end - pos > 1024 { throw OV3DError.format("pickle: text line at byte \(pos) is too long") }
            }
            guard end < n else { throw OV3DError.format("pickle: truncated text line at byte \(pos)") }
            let s = try utf8(end - pos)
            pos += 1
            return s
        }
        func push(_ v: PickleValue) throws {
            guard stack.count < limits.maxStack else { throw OV3DError.format("pickle: stack exceeds \(limits.maxStack) items") }
            stack.append(v)
        }
        func pop() throws -> PickleValue {
            guard let v = stack.popLast() else { throw OV3DError.format("pickle: stack underflow at byte \(pos - 1)") }
            if let m = marks.last, stack.count < m { throw OV3DError.format("pickle: stack underflow past a mark at byte \(pos - 1)") }
            return v
        }
        func top() throws -> PickleValue {
            guard let v = stack.last, stack.count > (marks.last ?? 0) else { throw OV3DError.format("pickle: empty stack at byte \(pos - 1)") }
            return v
        }
        func popMark() throws -> [PickleValue] {
            guard let m = marks.popLast() else { throw OV3DError.format("pickle: missing MARK at byte \(pos - 1)") }
            guard m <= stack.count else { throw OV3DError.format("pickle: corrupt mark at byte \(pos - 1)") }
            let items = Array(stack[m...])
            stack.removeSubrange(m...)
            return items
        }
        func checkDepth(_ d: Int) throws {
            guard d <= limits.maxDepth else { throw OV3DError.format("pickle: nesting deeper than \(limits.maxDepth) levels") }
        }
        func tuple(_ items: [PickleValue]) throws -> PickleValue {
            let t = PickleValue.makeTuple(items)
            try checkDepth(t.depth)
            for v in items { freeze(v) }
            return t
        }
        func freeze(_ v: PickleValue) {
            switch v {
            case .list(let l): l.frozen = true
            case .dict(let d): d.frozen = true
            default: break
            }
        }
        func append(_ target: PickleValue, _ items: [PickleValue]) throws {
            guard case .list(let l) = target else {
                throw OV3DError.format("pickle: APPEND to a \(target.kindName) (only lists are supported)")
            }
            guard !l.frozen else { throw OV3DError.format("pickle: list modified after being nested (not produced by torch.save)") }
            guard l.items.count + items.count <= limits.maxStack else { throw OV3DError.format("pickle: list exceeds \(limits.maxStack) items") }
            for v in items {
                // A container can only end up inside itself by self-insertion (anything already
                // nested is frozen), so refusing that rules out reference cycles (and their leaks).
                if case .list(let c) = v, c === l { throw OV3DError.format("pickle: list appended to itself") }
                let d = v.depth + 1
                try checkDepth(d)
                l.depth = max(l.depth, d)
                freeze(v)
                l.items.append(v)
            }
        }
        func setItems(_ target: PickleValue, _ kv: [PickleValue]) throws {
            guard case .dict(let dict) = target else {
                throw OV3DError.format("pickle: SETITEM on a \(target.kindName) (only dicts are supported)")
            }
            guard kv.count % 2 == 0 else { throw OV3DError.format("pickle: SETITEMS with an odd number of items") }
            guard !dict.frozen else { throw OV3DError.format("pickle: dict modified after being nested (not produced by torch.save)") }
            guard dict.items.count + kv.count / 2 <= limits.maxStack else { throw OV3DError.format("pickle: dict exceeds \(limits.maxStack) items") }
            var i = 0
            while i < kv.count {
                let k = kv[i], v = kv[i + 1]
                switch k {
                case .string, .int, .bool, .none, .float, .bytes, .global: break
                case .tuple(_, let d) where d == 1: break
                default: throw OV3DError.format("pickle: unhashable dict key of type \(k.kindName)")
                }
                if case .dict(let c) = v, c === dict { throw OV3DError.format("pickle: dict inserted into itself") }
                let d = v.depth + 1
                try checkDepth(d)
                dict.depth = max(dict.depth, d)
                freeze(v)
                dict.set(k, v)
                i += 2
            }
        }
        func memoPut(_ idx: Int) throws {
            guard let v = stack.last else { throw OV3DError.format("pickle: PUT on an empty stack") }
            guard idx >= 0 else { throw OV3DError.format("pickle: negative memo index") }
            if memo[idx] == nil { guard memo.count < limits.maxMemo else { throw OV3DError.format("pickle: memo exceeds \(limits.maxMemo) entries") } }
            memo[idx] = v
        }
        func memoGet(_ idx: Int) throws {
            guard let v = memo[idx] else { throw OV3DError.format("pickle: GET of undefined memo entry \(idx)") }
            try push(v)
        }
        func global(_ module: String, _ name: String) throws -> PickleValue {
            let full = module + "." + name
            if torchScriptObjects && (PickleMachine.isTorchScriptClass(full) || PickleMachine.torchScriptBuilders.contains(full)) {
                return .global(full)
            }
            guard PickleMachine.allowedGlobals.contains(full) else {
                throw OV3DError.format("pickle: refusing global '\(full)': only tensors, storages and plain containers may appear in a checkpoint (ov3d never executes code from a file)")
            }
            return .global(full)
        }
        func long(_ k: Int) throws -> PickleValue {
            let r = try raw(k)
            if k == 0 { return .int(0) }
            if k <= 8 {
                var v: UInt64 = 0
                for i in 0..<k { v |= UInt64(r[i]) << (8 * UInt64(i)) }
                if k < 8, r[k - 1] & 0x80 != 0 { v |= ~UInt64(0) << (8 * UInt64(k)) }
                return .int(Int64(bitPattern: v))
            }
            return .bigInt(Array(r))
        }

        while true {
            let opPos = pos
            let op = try u8()
            switch op {
            case 0x80: // PROTO
                let v = try u8()
                guard v <= 5 else { throw OV3DError.format("pickle: unsupported protocol \(v)") }
            case 0x95: _ = try u64len() // FRAME: only a hint
            case 0x2E: // STOP
                guard let v = stack.popLast(), stack.isEmpty, marks.isEmpty else {
                    throw OV3DError.format("pickle: STOP with \(stack.count) items left on the stack")
                }
                return (v, pos)
            case 0x28: // MARK
                guard marks.count < limits.maxMarks else { throw OV3DError.format("pickle: more than \(limits.maxMarks) nested marks") }
                marks.append(stack.count)
            case 0x30: _ = try pop() // POP
            case 0x31: _ = try popMark() // POP_MARK
            case 0x32: try push(try top()) // DUP
            case 0x4E: try push(.none)
            case 0x88: try push(.bool(true))
            case 0x89: try push(.bool(false))
            case 0x4A: try push(.int(try i32())) // BININT
            case 0x4B: try push(.int(Int64(try u8()))) // BININT1
            case 0x4D: try push(.int(Int64(try u16()))) // BININT2
            case 0x8A: try push(try long(try u8())) // LONG1
            case 0x8B: // LONG4
                let k = try i32()
                guard k >= 0 else { throw OV3DError.format("pickle: negative LONG4 length") }
                try push(try long(Int(k)))
            case 0x47: // BINFLOAT (big-endian)
                try need(8)
                let bits = data.loadUnaligned(fromByteOffset: pos, as: UInt64.self).bigEndian
                pos += 8
                try push(.float(Double(bitPattern: bits)))
            case 0x58: try push(.string(try utf8(try u32()))) // BINUNICODE
            case 0x8C: try push(.string(try utf8(try u8()))) // SHORT_BINUNICODE
            case 0x8D: try push(.string(try utf8(try u64len()))) // BINUNICODE8
            case 0x54: // BINSTRING (py2 str)
                let k = try i32()
                guard k >= 0 else { throw OV3DError.format("pickle: negative BINSTRING length") }
                try push(.string(try utf8(Int(k))))
            case 0x55: try push(.string(try utf8(try u8()))) // SHORT_BINSTRING
            case 0x42: try push(.bytes(Array(try raw(try u32())))) // BINBYTES
            case 0x43: try push(.bytes(Array(try raw(try u8())))) // SHORT_BINBYTES
            case 0x8E: try push(.bytes(Array(try raw(try u64len())))) // BINBYTES8
            case 0x29: try push(.tuple([], depth: 1)) // EMPTY_TUPLE
            case 0x74: try push(try tuple(try popMark())) // TUPLE
            case 0x85: let a = try pop(); try push(try tuple([a]))
            case 0x86: let b = try pop(); let a = try pop(); try push(try tuple([a, b]))
            case 0x87: let c = try pop(); let b = try pop(); let a = try pop(); try push(try tuple([a, b, c]))
            case 0x5D, 0x8F: try push(.list(PickleList())) // EMPTY_LIST, EMPTY_SET (as a list)
            case 0x6C: // LIST
                let items = try popMark()
                let l = PickleList()
                try append(.list(l), items)
                try push(.list(l))
            case 0x91: // FROZENSET
                try push(try tuple(try popMark()))
            case 0x61: let v = try pop(); try append(try top(), [v]) // APPEND
            case 0x65, 0x90: let items = try popMark(); try append(try top(), items) // APPENDS, ADDITEMS
            case 0x7D: try push(.dict(PickleDict())) // EMPTY_DICT
            case 0x64: // DICT
                let items = try popMark()
                let d = PickleDict()
                try setItems(.dict(d), items)
                try push(.dict(d))
            case 0x73: let v = try pop(); let k = try pop(); try setItems(try top(), [k, v]) // SETITEM
            case 0x75: let items = try popMark(); try setItems(try top(), items) // SETITEMS
            case 0x71: try memoPut(try u8()) // BINPUT
            case 0x72: try memoPut(try u32()) // LONG_BINPUT
            case 0x94: try memoPut(memo.count) // MEMOIZE
            case 0x68: try memoGet(try u8()) // BINGET
            case 0x6A: try memoGet(try u32()) // LONG_BINGET
            case 0x63: // GLOBAL
                let module = try line()
                let name = try line()
                try push(try global(module, name))
            case 0x93: // STACK_GLOBAL
                let name = try pop(), module = try pop()
                guard let m = module.stringValue, let nm = name.stringValue else { throw OV3DError.format("pickle: STACK_GLOBAL needs two strings") }
                try push(try global(m, nm))
            case 0x51: // BINPERSID
                let pid = try pop()
                guard let persistentLoad else { throw OV3DError.format("pickle: persistent id in a plain pickle (not a torch checkpoint)") }
                try push(try persistentLoad(pid))
            case 0x52: // REDUCE
                let args = try pop()
                let fn = try pop()
                try push(try reduce(fn, args))
            case 0x62: // BUILD
                let state = try pop()
                let obj = try top()
                switch obj {
                case .dict(let d) where d.className != nil:
                    // A TorchScript object: its state is the attribute dict.
                    guard case .dict(let attrs) = state else {
                        throw OV3DError.format("pickle: TorchScript object \(d.className ?? "") has a custom state (\(state.kindName)), not an attribute dict: not supported")
                    }
                    guard d.items.isEmpty else { throw OV3DError.format("pickle: TorchScript object \(d.className ?? "") built twice") }
                    var kv: [PickleValue] = []
                    kv.reserveCapacity(2 * attrs.items.count)
                    for (k, v) in attrs.items {
                        guard case .string = k else { throw OV3DError.format("pickle: TorchScript object attribute name is a \(k.kindName)") }
                        kv.append(k); kv.append(v)
                    }
                    try setItems(obj, kv)
                case .dict, .numpyDtype: _ = state // OrderedDict's _metadata / dtype flags: not needed
                case .tensor where state.depth <= 2: break
                default: throw OV3DError.format("pickle: BUILD on a \(obj.kindName) is not supported")
                }
            case 0x81 where torchScriptObjects: // NEWOBJ of a TorchScript class: an empty object
                let args = try pop()
                let cls = try pop()
                guard case .global(let name) = cls, PickleMachine.isTorchScriptClass(name) else {
                    throw OV3DError.format("pickle: refusing construction of \(cls.kindName) (opcode 0x81 at byte \(opPos)): only TorchScript (__torch__.*) objects are rebuilt, as data")
                }
                guard case .tuple(let a, _) = args, a.isEmpty else {
                    throw OV3DError.format("pickle: TorchScript object \(name) constructed with arguments (not produced by torch.jit.save)")
                }
                let d = PickleDict()
                d.className = name
                try push(.dict(d))
            case 0x69, 0x6F, 0x81, 0x92: // INST, OBJ, NEWOBJ, NEWOBJ_EX
                var what = "object construction"
                if op == 0x69, let m = try? line(), let nm = try? line() { what = "'\(m).\(nm)'" }
                throw OV3DError.format("pickle: refusing \(what) (opcode 0x\(String(op, radix: 16)) at byte \(opPos)): ov3d never executes code from a file")
            case 0x82, 0x83, 0x84:
                throw OV3DError.format("pickle: refusing extension-registry global (opcode 0x\(String(op, radix: 16)) at byte \(opPos))")
            default:
                throw OV3DError.format("pickle: unsupported opcode 0x\(String(op, radix: 16)) at byte \(opPos)")
            }
        }
    }

    /// Applies an allowed callable to its argument tuple.
    private mutating func reduce(_ fn: PickleValue, _ args: PickleValue) throws -> PickleValue {
        guard case .global(let name) = fn else { throw OV3DError.format("pickle: REDUCE on a \(fn.kindName), not a function") }
        guard case .tuple(let a, _) = args else { throw OV3DError.format("pickle: REDUCE of \(name) with non-tuple arguments") }
        switch name {
        case "collections.OrderedDict":
            let d = PickleDict()
            if let items = a.first?.sequence {
                for it in items {
                    guard let kv = it.sequence, kv.count == 2 else { throw OV3DError.format("pickle: OrderedDict item is not a pair") }
                    let depth = max(kv[0].depth, kv[1].depth) + 1
                    guard depth <= limits.maxDepth else { throw OV3DError.format("pickle: nesting deeper than \(limits.maxDepth) levels") }
                    d.depth = max(d.depth, depth)
                    for v in kv {
                        if case .list(let l) = v { l.frozen = true }
                        if case .dict(let c) = v { c.frozen = true }
                    }
                    d.set(kv[0], kv[1])
                }
            }
            return .dict(d)
        case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
            guard a.count >= 4 else { throw OV3DError.format("pickle: \(name) needs (storage, offset, size, stride, ...)") }
            if skipTensors { return .none }
            return .tensor(try TorchTensorRebuild.tensor(storage: a[0], offset: a[1], size: a[2], stride: a[3],
                                                          maxRank: limits.maxRank, copyBudget: &copyBudget))
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
            if skipTensors { return .none }
            guard let t = a.first, case .tensor = t else { throw OV3DError.format("pickle: \(name) without a tensor") }
            return t
        case "torch._tensor._rebuild_from_type_v2":
            guard a.count >= 3, case .global(let f) = a[0], f.hasPrefix("torch._utils._rebuild_"),
                  case .global(let ty) = a[1], ty == "torch.Tensor" || ty == "torch.nn.parameter.Parameter",
                  case .tuple = a[2] else {
                throw OV3DError.format("pickle: _rebuild_from_type_v2 accepts only torch tensor rebuilds of torch.Tensor/Parameter")
            }
            return try reduce(a[0], a[2])  // the state (Python attributes) is ignored
        case _ where PickleMachine.torchScriptBuilders.contains(name):
            guard let first = a.first else { throw OV3DError.format("pickle: \(name) without an argument") }
            return first
        case "_codecs.encode":
            guard a.count >= 1, let s = a[0].stringValue else { throw OV3DError.format("pickle: _codecs.encode needs a string") }
            let enc = a.count > 1 ? (a[1].stringValue ?? "") : "utf-8"
            if enc == "latin1" || enc == "latin-1" {
                var out: [UInt8] = []
                out.reserveCapacity(s.unicodeScalars.count)
                for u in s.unicodeScalars {
                    guard u.value < 256 else { throw OV3DError.format("pickle: _codecs.encode latin1 of a non-latin1 string") }
                    out.append(UInt8(u.value))
                }
                return .bytes(out)
            }
            guard enc == "utf-8" || enc == "utf8" else { throw OV3DError.format("pickle: _codecs.encode with encoding '\(enc)' is not supported") }
            return .bytes(Array(s.utf8))
        case "numpy.dtype":
            guard let s = a.first?.stringValue, s.count <= 16 else { throw OV3DError.format("pickle: numpy.dtype needs a type string") }
            return .numpyDtype(s)
        case "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar":
            guard a.count == 2, case .numpyDtype(let dt) = a[0], case .bytes(let b) = a[1] else {
                throw OV3DError.format("pickle: numpy scalar needs (dtype, bytes)")
            }
            return try NumpyScalar.decode(dtype: dt, bytes: b)
        default:
            if TorchStorageType.byName[name] != nil { throw OV3DError.format("pickle: calling storage type \(name) is not supported") }
            throw OV3DError.format("pickle: refusing to call '\(name)'")
        }
    }
}

/// Decodes a numpy scalar from its dtype string and raw little-endian bytes.
enum NumpyScalar {
    static func decode(dtype: String, bytes b: [UInt8]) throws -> PickleValue {
        func load<T>(_ t: T.Type) throws -> T {
            guard b.count == MemoryLayout<T>.size else { throw OV3DError.format("pickle: numpy \(dtype) scalar has \(b.count) bytes") }
            return b.withUnsafeBytes { $0.loadUnaligned(as: T.self) }
        }
        switch dtype {
        case "f8": return .float(try load(Double.self))
        case "f4": return .float(Double(try load(Float.self)))
        case "f2": return .float(Double(halfToFloat(try load(UInt16.self))))
        case "i8": return .int(try load(Int64.self))
        case "i4": return .int(Int64(try load(Int32.self)))
        case "i2": return .int(Int64(try load(Int16.self)))
        case "i1": return .int(Int64(try load(Int8.self)))
        case "u1": return .int(Int64(try load(UInt8.self)))
        case "u2": return .int(Int64(try load(UInt16.self)))
        case "u4": return .int(Int64(try load(UInt32.self)))
        case "b1": return .bool(try load(UInt8.self) != 0)
        default: throw OV3DError.unsupported("pickle: numpy scalar of dtype '\(dtype)' is not supported")
        }
    }
}
